"""Governance queueing (the `Timelock` contract): calldata for a privileged call, and the queue read back.

Every change of a risk parameter, bound, correlation, haircut, listing, cap, feed or role goes through the
Timelock after deploy (TECH_SPEC "Timelock"): a proposer queues `(target, calldata)`, anyone holding
EXECUTOR_ROLE executes it once `eta` has passed (for GRACE_PERIOD), the guardian may cancel it meanwhile, and may
`tighten` a short list of safety settings at once. This module is engine-agnostic: it encodes calls from a
contract's ABI (the compiled artifact, as every engine uses) and names the operation states.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_utils import keccak

# Default delay of a fresh deploy (the contract bounds it to [MIN_DELAY, MAX_DELAY] = [12 h, 30 days]).
TIMELOCK_DELAY_SECONDS = 86_400
STATES = {0: "none", 1: "queued", 2: "executed", 3: "cancelled"}
ADMIN_ROLE = b"\x00" * 32
TIMELOCK_ROLES = {name: keccak(text=name) for name in ("PROPOSER_ROLE", "EXECUTOR_ROLE", "CANCELLER_ROLE",
                                                       "GUARDIAN_ROLE")}


def _type(param: dict) -> str:
    kind = param["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(_type(c) for c in param["components"]) + ")" + kind[len("tuple"):]
    return kind


def _plain(value: Any) -> Any:
    """Contracts as their address, tuples and lists element by element."""
    if hasattr(value, "address"):
        return value.address
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def calldata(abi: list[dict], fn: str, *args) -> bytes:
    """Selector + ABI-encoded arguments of `fn` (picked by name and argument count) from a contract ABI."""
    for entry in abi:
        if entry.get("type") == "function" and entry["name"] == fn and len(entry["inputs"]) == len(args):
            types = [_type(p) for p in entry["inputs"]]
            selector = keccak(text=f"{fn}({','.join(types)})")[:4]
            return selector + encode(types, [_plain(a) for a in args])
    raise ValueError(f"no function {fn} taking {len(args)} arguments in this ABI")


def selector(abi: list[dict], fn: str) -> bytes:
    """The 4-byte selector of `fn` (first overload)."""
    for entry in abi:
        if entry.get("type") == "function" and entry["name"] == fn:
            return keccak(text=f"{fn}({','.join(_type(p) for p in entry['inputs'])})")[:4]
    raise ValueError(f"no function {fn} in this ABI")


def describe(abi_by_address: dict[str, tuple[str, list[dict]]], target: str, data: bytes) -> str:
    """`Contract.function(args)` for a queued call, from the known contracts' ABIs (raw hex otherwise)."""
    from eth_abi import decode

    name, abi = abi_by_address.get(target.lower(), (None, None))
    if abi is None:
        return f"{target} 0x{data.hex()}"
    for entry in abi:
        if entry.get("type") != "function":
            continue
        types = [_type(p) for p in entry["inputs"]]
        if keccak(text=f"{entry['name']}({','.join(types)})")[:4] == data[:4]:
            try:
                values = decode(types, data[4:])
            except Exception:
                break
            return f"{name}.{entry['name']}{_short(values)}"
    return f"{name} 0x{data.hex()}"


def _short(values) -> str:
    def one(v):
        if isinstance(v, bytes):
            return "0x" + v.hex()[:16]
        if isinstance(v, (list, tuple)):
            return "(" + ", ".join(one(x) for x in v) + ")"
        return str(v)
    return "(" + ", ".join(one(v) for v in values) + ")"


@dataclass
class Operation:
    """One queued call as the chain and its `Queued` event describe it."""

    id: int
    target: str
    data: bytes
    eta: int
    state: str
    proposer: str = ""

    def ready(self, now: int, grace: int) -> bool:
        return self.state == "queued" and self.eta <= now <= self.eta + grace
