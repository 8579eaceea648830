"""The deployment file (`deployments/<chain_id>.json` unless `--deployment FILE` / CROSSMARGIN_DEPLOYMENT names
another): addresses, block, parameters of one deployment, and what identifies the chain it lives on.

A deployment is identified by chain id *and* genesis block hash (two dev nodes share chain id 31337, never a
genesis), and records the RPC endpoint and network it was deployed through. Before a command uses one, `verify`
checks the node is that chain and the recorded contracts have code there, and says exactly what is wrong.

For third-party tools (cast, ethers, a subgraph) the file also carries, per contract, its ABI (by contract name,
under `abis`), the creation transaction hash and block (`deployed`), the compiler version and the git commit.

Written after every step of a deploy (`complete: false` until the last), so a failed deploy resumes where it
stopped instead of deploying twice.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from crossmargin.paths import deployments_dir

DEPLOYMENT_ENV = "CROSSMARGIN_DEPLOYMENT"


class ManifestError(RuntimeError):
    """No usable deployment: missing, unreadable, incomplete, or written for another chain."""


def _shown(path: Path) -> str:
    """The path as the user would type it (relative to the working directory when inside it)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass
class Manifest:
    chain_id: int
    network: str
    params_name: str = "default"
    params_file: str = ""  # absolute path of the parameter file, when `deploy --params` named a file, not a set
    deployer: str = ""
    start_block: int = 0
    complete: bool = False
    contracts: dict[str, str] = field(default_factory=dict)  # name -> address (tokens: "token:USDC")
    steps_done: list[str] = field(default_factory=list)  # configuration steps already sent
    parameters: dict = field(default_factory=dict)  # the on-chain parameter values, for readers
    # identity of the chain (checked before use) and provenance (for third-party tools)
    genesis_hash: str = ""
    rpc: str = ""
    compiler: str = ""
    git_commit: str = ""
    deployed: dict[str, dict] = field(default_factory=dict)  # key -> {contract, tx_hash, block} (ours only)
    abis: dict[str, list] = field(default_factory=dict)  # contract name -> ABI
    path: Path | None = field(default=None, repr=False, compare=False)  # where it lives (not written)

    # -- where -----------------------------------------------------------------------------------------
    @staticmethod
    def path_for(chain_id: int, folder: Path | None = None, explicit: str | Path | None = None) -> Path:
        """`explicit` (--deployment), else CROSSMARGIN_DEPLOYMENT, else `<folder>/<chain_id>.json`."""
        chosen = explicit or os.environ.get(DEPLOYMENT_ENV)
        if chosen:
            return Path(chosen)
        folder = folder or deployments_dir()
        return folder / f"{chain_id}.json"

    @property
    def params_ref(self) -> str:
        """What `load_params` reloads this deployment's parameters from: its file, else its set's name."""
        return self.params_file or self.params_name

    @property
    def shown(self) -> str:
        return _shown(self.path or self.path_for(self.chain_id))

    # -- read / write ----------------------------------------------------------------------------------
    def save(self, folder: Path | None = None) -> Path:
        path = self.path or self.path_for(self.chain_id, folder)
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {k: v for k, v in asdict(self).items() if k != "path"}
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        tmp.replace(path)  # atomic: a crash never leaves half a manifest
        return path

    @classmethod
    def read(cls, path: Path) -> "Manifest":
        """Parse a deployment file; every way it can be unreadable is one line naming the file."""
        shown = _shown(path)
        try:
            data = json.loads(path.read_text())
        except OSError as exc:
            raise ManifestError(f"cannot read {shown}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise ManifestError(f"{shown} is not valid JSON (line {getattr(exc, 'lineno', '?')}): "
                                "restore it or redeploy with `crossmargin deploy --fresh`") from None
        known = {f.name for f in fields(cls)} - {"path"}
        if not isinstance(data, dict) or not {"chain_id", "network", "contracts"} <= data.keys():
            raise ManifestError(f"{shown} is not a crossmargin deployment file "
                                "(expected the JSON object `crossmargin deploy` writes)")
        try:
            manifest = cls(**{k: v for k, v in data.items() if k in known})
            manifest.chain_id = int(manifest.chain_id)
        except (TypeError, ValueError):
            raise ManifestError(f"{shown} is not a crossmargin deployment file (bad chain_id)") from None
        if not isinstance(manifest.contracts, dict):
            raise ManifestError(f"{shown} is not a crossmargin deployment file (contracts is not a mapping)")
        manifest.path = path
        return manifest

    @classmethod
    def load(cls, chain_id: int, folder: Path | None = None, require_complete: bool = True,
             path: str | Path | None = None) -> "Manifest":
        path = cls.path_for(chain_id, folder, path)
        if not path.exists():
            raise ManifestError(f"no deployment for chain {chain_id} ({_shown(path)}): run `crossmargin deploy` first")
        manifest = cls.read(path)
        if manifest.chain_id != chain_id:
            raise ManifestError(f"{_shown(path)} was written for chain {manifest.chain_id}; this node is chain "
                                f"{chain_id}")
        if require_complete and not manifest.complete:
            raise ManifestError(f"deployment in {_shown(path)} is incomplete: run `crossmargin deploy` to resume")
        return manifest

    @classmethod
    def load_or_new(cls, chain_id: int, network: str, folder: Path | None = None,
                    path: str | Path | None = None) -> "Manifest":
        target = cls.path_for(chain_id, folder, path)
        if target.exists():
            return cls.load(chain_id, folder, require_complete=False, path=target)
        return cls(chain_id=chain_id, network=network, path=target)

    # -- identity --------------------------------------------------------------------------------------
    def identity_problem(self, web3) -> str | None:
        """Why this deployment is not usable on the node behind `web3` (None: it is)."""
        shown = self.shown
        cid = int(web3.eth.chain_id)
        if cid != self.chain_id:
            return f"{shown} was written for chain {self.chain_id}; this node is chain {cid}"
        if self.genesis_hash:
            genesis = genesis_hash(web3)
            if genesis.lower() != self.genesis_hash.lower():
                return (f"{shown} was written for a chain whose genesis is {self.genesis_hash}; this node's is "
                        f"{genesis} (another node with the same chain id: pass --deployment FILE for it, or "
                        f"`crossmargin deploy --fresh` to replace this file)")
        for key, address in self.contracts.items():
            if len(web3.eth.get_code(address)) == 0:
                where = f" ({self.rpc})" if self.rpc else ""
                return (f"{shown}: {key} at {address} has no code on this node: the chain{where} was reset or "
                        f"stopped since the deploy; redeploy with `crossmargin deploy --fresh`")
        return None

    def verify(self, web3) -> "Manifest":
        problem = self.identity_problem(web3)
        if problem:
            raise ManifestError(problem)
        return self

    # -- lookups ---------------------------------------------------------------------------------------
    def address(self, name: str) -> str:
        try:
            return self.contracts[name]
        except KeyError:
            raise ManifestError(f"deployment on chain {self.chain_id} has no {name}") from None

    def token(self, symbol: str) -> str:
        return self.address(f"token:{symbol}")


def genesis_hash(web3) -> str:
    block = web3.eth.get_block(0)
    value = block["hash"]
    return "0x" + bytes(value).hex() if isinstance(value, (bytes, bytearray)) else str(value)


def provenance() -> dict:
    """Compiler version and git commit (with `-dirty` when the tree has changes) of this checkout."""
    import subprocess

    from crossmargin.paths import ROOT

    try:
        import vyper

        compiler = f"vyper {vyper.__version__}"
    except Exception:  # noqa: BLE001
        compiler = "vyper"
    commit = ""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=5).stdout.strip()
        if commit and subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                                     capture_output=True, text=True, timeout=5).stdout.strip():
            commit += "-dirty"
    except (OSError, subprocess.SubprocessError):
        pass
    return {"compiler": compiler, "git_commit": commit}
