"""The deployment manifest `deployments/<chain_id>.json`: addresses, block, parameters of one deployment.

Written after every step of a deploy (`complete: false` until the last), so a failed deploy resumes where it
stopped instead of deploying twice.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from crossmargin.paths import deployments_dir


class ManifestError(RuntimeError):
    """No (complete) deployment for this chain."""


@dataclass
class Manifest:
    chain_id: int
    network: str
    params_name: str = "default"
    deployer: str = ""
    start_block: int = 0
    complete: bool = False
    contracts: dict[str, str] = field(default_factory=dict)  # name -> address (tokens: "token:USDC")
    steps_done: list[str] = field(default_factory=list)  # configuration steps already sent
    parameters: dict = field(default_factory=dict)  # the on-chain parameter values, for readers

    @staticmethod
    def path_for(chain_id: int, folder: Path | None = None) -> Path:
        folder = folder or deployments_dir()
        return folder / f"{chain_id}.json"

    def save(self, folder: Path | None = None) -> Path:
        path = self.path_for(self.chain_id, folder)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True))
        tmp.replace(path)  # atomic: a crash never leaves half a manifest
        return path

    @classmethod
    def load(cls, chain_id: int, folder: Path | None = None, require_complete: bool = True) -> "Manifest":
        path = cls.path_for(chain_id, folder)
        if not path.exists():
            raise ManifestError(f"no deployment for chain {chain_id} ({path.name}): run `crossmargin deploy` first")
        manifest = cls(**json.loads(path.read_text()))
        if require_complete and not manifest.complete:
            raise ManifestError(f"deployment on chain {chain_id} is incomplete: run `crossmargin deploy` to resume")
        return manifest

    @classmethod
    def load_or_new(cls, chain_id: int, network: str, folder: Path | None = None) -> "Manifest":
        path = cls.path_for(chain_id, folder)
        if path.exists():
            return cls.load(chain_id, folder, require_complete=False)
        return cls(chain_id=chain_id, network=network)

    def address(self, name: str) -> str:
        try:
            return self.contracts[name]
        except KeyError:
            raise ManifestError(f"deployment on chain {self.chain_id} has no {name}") from None

    def token(self, symbol: str) -> str:
        return self.address(f"token:{symbol}")
