"""Compiled contracts, shared by every engine (Ape/anvil, titanoboa, pyrevm): compiled once per source change.

Compilation uses the pip-installed Vyper (no compiler download exists here) with the contracts folder and
site-packages (snekmate) on the search path; results are cached under `.build/crossmargin/` keyed by a hash of
every `.vy`/`.vyi` source, so a change in a shared module recompiles its users.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from crossmargin.paths import BUILD, CONTRACTS


@dataclass(frozen=True)
class Artifact:
    """One compiled contract: what a deployer or an in-process EVM needs."""

    name: str
    abi: list
    bytecode: bytes  # init code
    runtime: bytes  # deployed code (EIP-170 limit applies to this)

    @property
    def runtime_size(self) -> int:
        return len(self.runtime)


def source_path(name: str) -> Path:
    """Path of contract `name` (e.g. "Vault", "mocks/MockERC20")."""
    path = CONTRACTS / f"{name}.vy"
    if not path.exists():
        raise FileNotFoundError(f"no contract {name!r} in {CONTRACTS}")
    return path


def _sources_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(CONTRACTS.rglob("*.vy*")):
        digest.update(str(path.relative_to(CONTRACTS)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _compile(path: Path) -> dict:
    from vyper.cli.vyper_compile import compile_files

    search = [str(CONTRACTS.parent)] + [p for p in sys.path if p and Path(p).is_dir()]
    out = compile_files([str(path)], ["abi", "bytecode", "bytecode_runtime"], paths=search)
    return next(iter(out.values()))


def _write_atomic(path: Path, text: str) -> None:
    """Parallel test workers compile the same contracts: a reader never sees a half-written cache file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@lru_cache(maxsize=None)
def _load(name: str, digest: str) -> Artifact:
    cache = BUILD / digest / f"{name.replace('/', '__')}.json"
    if cache.exists():
        data = json.loads(cache.read_text())
    else:
        data = _compile(source_path(name))
        _write_atomic(cache, json.dumps(data))
    return Artifact(
        name=name.split("/")[-1],
        abi=data["abi"],
        bytecode=bytes.fromhex(data["bytecode"].removeprefix("0x")),
        runtime=bytes.fromhex(data["bytecode_runtime"].removeprefix("0x")),
    )


def artifact(name: str) -> Artifact:
    """The compiled `name` (cached on disk and in memory; recompiled when any source changed)."""
    return _load(name, _sources_digest())


def production_contracts() -> list[str]:
    """Every deployable contract (not modules, mocks or test harnesses)."""
    return sorted(p.stem for p in CONTRACTS.glob("*.vy"))


def artifact_from_path(path: str | Path) -> Artifact:
    """The compiled `.vy` file at `path` (outside `contracts/`: test contracts, benchmarks).

    Searched for imports: the file's folder, the repository root (`contracts.lib...`) and site-packages
    (vyper adds `sys.path` itself). Cached like `artifact`, keyed by the file and every contract source.
    """
    path = Path(path).resolve()
    digest = hashlib.sha256(path.read_bytes() + _sources_digest().encode()).hexdigest()[:16]
    return _load_path(str(path), digest)


@lru_cache(maxsize=None)
def _load_path(path: str, digest: str) -> Artifact:
    from vyper.cli.vyper_compile import compile_files

    source = Path(path)
    cache = BUILD / "paths" / f"{source.stem}-{digest}.json"
    if cache.exists():
        data = json.loads(cache.read_text())
    else:
        search = [str(source.parent), str(CONTRACTS.parent)]
        out = compile_files([path], ["abi", "bytecode", "bytecode_runtime"], paths=search)
        data = next(iter(out.values()))
        _write_atomic(cache, json.dumps(data))
    return Artifact(
        name=source.stem,
        abi=data["abi"],
        bytecode=bytes.fromhex(data["bytecode"].removeprefix("0x")),
        runtime=bytes.fromhex(data["bytecode_runtime"].removeprefix("0x")),
    )
