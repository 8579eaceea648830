"""In-process EVM for heavy loops: our compiled contracts run by revm (pyrevm 0.3.7) instead of py-evm.

Why: titanoboa (py-evm) executes ~1.5-3M gas/s, so one 80k-gas margin check costs ~50 ms and a fuzz campaign of
100k calls takes hours. revm runs the same bytecode (`crossmargin.chain.artifacts`) in the same process.
Measured by `python benchmarks/engine_speed.py` (2 cores shared with other jobs, so ranges over runs; the ratio
is taken within one run): compute loop 370-760M gas/s against titanoboa's 1.5-2.9M (230-285x); a trivial view
15-30 µs per call through this harness (5-10 µs of it pyrevm itself, titanoboa 170-340 µs: ~10x); a trivial
transaction 25-55 µs (titanoboa ~1 ms: 15-20x). Use titanoboa for unit tests (tracebacks, pranks, coverage) and
this harness where the call count matters: stateful fuzzing, differential tests over many portfolios.

    chain = RevmChain()
    alice, bob = chain.accounts(2)                 # funded EOAs; `alice.key` signs EIP-712 orders
    probe = chain.deploy("mocks/MockERC20", "T", "T", 6, sender=alice)   # or an Artifact, or a .vy path
    probe.mint(bob, 10, sender=alice)              # a transaction: returns the decoded return value
    probe.balanceOf(bob)                           # a view (static call): structs -> tuples, arrays -> lists
    chain.last_events                              # [("Transfer", {...})] of the last transaction
    with pytest.raises(RevmRevert, match="cap exceeded"): ...
    with chain.anchor(): ...                       # or: snap = chain.snapshot(); ...; chain.revert(snap)

pyrevm 0.3.7 behaviours this module hides (canary tests in tests/unit/harness/test_revm.py pin the first five):
- a failed call raises a bare RuntimeError("Revert { gas_used: N, output: 0x.. }" / "Halt { reason: .. }"):
  parsed here into RevmRevert (decoded reason) and RevmHalt.
- transient storage (EIP-1153) survives between message_calls: cleared here after each transaction.
- `EVM.commit()` at depth 0 underflows the journal depth and every later call halts with CallTooDeep: never used.
- `EVM.revert(checkpoint)` unwinds one journal depth only, and accepts a stale checkpoint (which then rolls the
  state back to genesis): snapshots live on a stack here and are unwound one at a time.
- `EVM.set_balance` is not journaled: balances set by `set_balance` / `accounts` survive `revert`.
- `spec_id` is ignored (any string is accepted; PUSH0, MCOPY, TSTORE run under "FRONTIER"): always latest rules.
- the journal is never flushed: memory grows ~0.4-1.1 kB per call, freed by reverting to an earlier snapshot,
  so a fuzz loop that reverts to a base snapshot per example stays flat.
- calls do not bump the sender's nonce (deploys do); gas used is the receipt's (21,000 intrinsic included).
Unlike titanoboa, each call here is its own transaction: transient storage and warm/cold access sets start
fresh (titanoboa keeps both across calls, vyperlang/titanoboa#218), so gas figures match a node's, not boa's.
"""

from __future__ import annotations

import re
from collections import defaultdict
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import pyrevm
from eth_abi.decoding import ContextFramesBytesIO, TupleDecoder
from eth_abi.encoding import TupleEncoder
from eth_abi.registry import registry
from eth_keys import keys
from eth_utils import keccak, to_checksum_address

from crossmargin.chain.artifacts import Artifact, artifact, artifact_from_path

GENESIS_TIMESTAMP = 1_750_000_000  # fixed, so runs replay exactly
BLOCK_TIME = 12  # seconds per block for warp/mine (as titanoboa's time_travel)
GAS_LIMIT = 30_000_000  # per transaction unless `gas=` says otherwise: a gas bomb fails here as on a node
ETHER = 10**18

_REVERT = re.compile(r"Revert \{ gas_used: (\d+), output: 0x([0-9a-fA-F]*) \}")
_HALT = re.compile(r"Halt \{ reason: (.+), gas_used: (\d+) \}")
_ERROR_STRING = keccak(text="Error(string)")[:4]
_PANIC = keccak(text="Panic(uint256)")[:4]


class RevmError(Exception):
    """revm refused the transaction itself (value above the balance, gas below intrinsic, ...)."""


class RevmRevert(RevmError):
    """The call reverted. `reason`: the `Error(string)` text (Vyper's assert/raise reason), "Panic(0x..)",
    "0x.." custom error data, or "" for a bare revert. `str(exc)` is the reason, so
    `pytest.raises(RevmRevert, match="cap exceeded")` works, and so does `crossmargin.chain.errors.explain`."""

    def __init__(self, reason: str, data: bytes = b"", gas_used: int = 0, message: str | None = None):
        super().__init__(message or reason or "reverted without a reason")
        self.reason = self.revert_message = reason
        self.data = data
        self.gas_used = gas_used


class RevmHalt(RevmRevert):
    """Exceptional halt (out of gas, invalid opcode, call depth, write in a static call): `reason` is revm's name."""

    def __init__(self, reason: str, gas_used: int):
        super().__init__(reason, gas_used=gas_used, message=f"halted: {reason} after {gas_used} gas")


class RevmAccount(str):
    """A checksummed address (usable wherever one is expected) that also carries its private key."""

    key: bytes

    def __new__(cls, key: bytes) -> RevmAccount:
        account = super().__new__(cls, keys.PrivateKey(key).public_key.to_checksum_address())
        account.key = key
        return account


def _type(param: dict) -> str:
    """ABI type of a parameter with tuples spelled out: "(uint256,int256,address)[]"."""
    kind = param["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(_type(c) for c in param["components"]) + ")" + kind[len("tuple"):]
    return kind


def _walk(param: dict, value: Any, leaf) -> Any:
    """Rebuild `value` along its ABI type: arrays as lists, structs as tuples, `leaf(type, v)` at the leaves."""
    kind = param["type"]
    if kind.endswith("]"):
        inner = {**param, "type": kind[: kind.rindex("[")]}
        return [_walk(inner, v, leaf) for v in value]
    if kind == "tuple":
        return tuple(_walk(c, v, leaf) for c, v in zip(param["components"], value))
    return leaf(kind, value)


def _to_abi(kind: str, value: Any) -> Any:
    return getattr(value, "address", value) if kind == "address" else value  # contracts as their address


_checksum = lru_cache(maxsize=4096)(to_checksum_address)  # eth-abi decodes addresses in lowercase


def _from_abi(kind: str, value: Any) -> Any:
    return _checksum(value) if kind == "address" else value


def _revert_reason(data: bytes) -> str:
    if data[:4] == _ERROR_STRING:
        try:
            return TupleDecoder(decoders=[registry.get_decoder("string")])(ContextFramesBytesIO(data[4:]))[0]
        except Exception:  # malformed: fall through to the raw bytes
            pass
    if data[:4] == _PANIC and len(data) == 36:
        return f"Panic(0x{int.from_bytes(data[4:], 'big'):02x})"
    return "0x" + data.hex() if data else ""


class _Params:
    """Encoder/decoder for one list of ABI parameters, built once."""

    def __init__(self, params: list[dict]):
        self.params = params
        types = [_type(p) for p in params]
        self.signature = "(" + ",".join(types) + ")"
        self._encoder = TupleEncoder(encoders=[registry.get_encoder(t) for t in types])
        self._decoder = TupleDecoder(decoders=[registry.get_decoder(t, strict=False) for t in types])

    def encode(self, values) -> bytes:
        return self._encoder([_walk(p, v, _to_abi) for p, v in zip(self.params, values)])

    def decode(self, data: bytes) -> list:
        values = self._decoder(ContextFramesBytesIO(data))
        return [_walk(p, v, _from_abi) for p, v in zip(self.params, values)]


class _Function:
    """One ABI function name; overloads (Vyper default arguments) are picked by the number of arguments."""

    def __init__(self, contract: RevmContract, name: str, entries: list[dict]):
        self._contract, self._name = contract, name
        self._overloads = {}
        for entry in entries:
            inputs = _Params(entry["inputs"])
            selector = keccak(text=name + inputs.signature)[:4]
            static = entry["stateMutability"] in ("view", "pure")
            self._overloads[len(entry["inputs"])] = (selector, inputs, _Params(entry["outputs"]), static)

    def __call__(self, *args, sender: str | None = None, value: int = 0, gas: int | None = None) -> Any:
        try:
            selector, inputs, outputs, static = self._overloads[len(args)]
        except KeyError:
            raise TypeError(f"{self._name}() takes {sorted(self._overloads)} arguments, not {len(args)}") from None
        out = self._contract._chain.call(
            self._contract.address, selector + inputs.encode(args),
            sender=sender, value=value, gas=gas, static=static,
        )
        if not outputs.params:
            return None
        values = outputs.decode(out)
        return values[0] if len(values) == 1 else tuple(values)


class _Event:
    def __init__(self, entry: dict):
        self.name = entry["name"]
        self.topic = keccak(text=self.name + _Params(entry["inputs"]).signature)
        self.data = _Params([p for p in entry["inputs"] if not p["indexed"]])
        self.indexed = []  # (name, decoder); None for dynamic types, whose topic is their hash
        for param in (p for p in entry["inputs"] if p["indexed"]):
            kind = _type(param)
            dynamic = kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("(")
            self.indexed.append((param["name"], None if dynamic else _Params([param])))

    def decode(self, topics: list[bytes], data: bytes) -> tuple[str, dict]:
        args = {name: params.decode(topic)[0] if params else topic
                for (name, params), topic in zip(self.indexed, topics[1:])}
        args.update(zip((p["name"] for p in self.data.params), self.data.decode(data)))
        return self.name, args


class RevmContract:
    """A deployed contract: one attribute per ABI function (`c.deposit(1, token, 10, sender=a)`)."""

    def __init__(self, chain: RevmChain, art: Artifact, address: str):
        self._chain, self._name, self._abi = chain, art.name, art.abi
        self.address = to_checksum_address(address)
        grouped = defaultdict(list)
        for entry in art.abi:
            if entry["type"] == "function":
                grouped[entry["name"]].append(entry)
        self._functions = {name: _Function(self, name, entries) for name, entries in grouped.items()}
        events = (_Event(e) for e in art.abi if e["type"] == "event" and not e.get("anonymous"))
        self._events = {event.topic: event for event in events}

    def __getattr__(self, name: str) -> _Function:
        try:
            return self.__dict__["_functions"][name]
        except KeyError:
            raise AttributeError(f"{self.__dict__.get('_name')} has no function {name!r}") from None

    def __repr__(self) -> str:
        return f"<{self._name} at {self.address}>"


class RevmChain:
    """One in-process chain: accounts, deploys, calls (each its own transaction), time, snapshots."""

    def __init__(self, *, chain_id: int = 1, timestamp: int = GENESIS_TIMESTAMP, gas_limit: int = GAS_LIMIT):
        self.chain_id, self.gas_limit = chain_id, gas_limit
        self.evm = pyrevm.EVM(env=pyrevm.Env(cfg=pyrevm.CfgEnv(chain_id=chain_id)))
        self._clock = (1, timestamp)  # block number, timestamp of the next transaction
        self._set_block()
        self.last_gas_used = 0  # gas of the last call or deploy (views too), as a receipt counts it
        self._last_logs: list = []  # raw logs of the last transaction (views are not transactions)
        self._contracts: dict[str, RevmContract] = {}  # lowercase address -> contract, to decode its logs
        self._events: dict[bytes, _Event] = {}  # topic0 -> event, for logs of contracts deployed elsewhere
        self._snapshots: list[tuple[int, Any, tuple[int, int]]] = []  # (id, checkpoint, block), innermost last
        self._next_snapshot = self._n_accounts = 0
        self.eoa = self.accounts(1)[0]  # default sender

    # accounts and balances
    def accounts(self, n: int, balance: int = 10**6 * ETHER) -> list[RevmAccount]:
        """`n` new EOAs from deterministic keys, each funded with `balance` wei."""
        out = []
        for _ in range(n):
            self._n_accounts += 1
            account = RevmAccount(keccak(b"crossmargin.revm account %d" % self._n_accounts))
            self.evm.set_balance(account, balance)
            out.append(account)
        return out

    def get_balance(self, address: str) -> int:
        return self.evm.get_balance(getattr(address, "address", address))

    def set_balance(self, address: str, wei: int) -> None:
        """Not journaled by pyrevm: `revert` does not undo it."""
        self.evm.set_balance(getattr(address, "address", address), wei)

    # contracts
    def deploy(self, contract: str | Path | Artifact, *args, sender: str | None = None, value: int = 0,
               gas: int | None = None) -> RevmContract:
        """Deploy `contract`: a name under contracts/ ("Vault", "mocks/MockERC20"), a .vy path or an Artifact."""
        art = self._artifact(contract)
        ctor = next((e for e in art.abi if e["type"] == "constructor"), {"inputs": []})
        code = art.bytecode + _Params(ctor["inputs"]).encode(args)
        address = self._run(self.evm.deploy, getattr(sender, "address", sender) or self.eoa, code,
                            value=value, gas=gas or self.gas_limit)
        return self.at(art, address)

    def at(self, contract: str | Path | Artifact, address: str) -> RevmContract:
        """A handle on `contract` already at `address` (made by a factory or a previous deploy)."""
        handle = RevmContract(self, self._artifact(contract), address)
        self._contracts[handle.address.lower()] = handle
        for topic, event in handle._events.items():
            self._events.setdefault(topic, event)
        return handle

    @staticmethod
    def _artifact(contract: str | Path | Artifact) -> Artifact:
        if isinstance(contract, Artifact):
            return contract
        if isinstance(contract, Path) or str(contract).endswith(".vy"):
            return artifact_from_path(contract)
        return artifact(contract)

    def call(self, to: str, data: bytes = b"", *, sender: str | None = None, value: int = 0,
             gas: int | None = None, static: bool = False) -> bytes:
        """Raw call; `static=True` is an eth_call (no state change, not a transaction)."""
        sender = getattr(sender, "address", sender) or self.eoa
        return bytes(self._run(self.evm.message_call, sender, getattr(to, "address", to), data, value=value,
                               gas=gas or self.gas_limit, is_static=static))

    def _run(self, method, *args, is_static: bool = False, **kwargs):
        try:
            out = method(*args, is_static=is_static, **kwargs)
        except RuntimeError as exc:
            if not is_static:
                self._last_logs = []
            raise self._failure(str(exc)) from None
        result = self.evm.result
        self.last_gas_used = result.gas_used
        if not is_static:
            self._last_logs = result.logs
            self.evm.reset_transient_storage()  # EIP-1153: transient storage lives for one transaction
        return out

    def _failure(self, message: str) -> RevmError:
        if match := _REVERT.search(message):
            self.last_gas_used = int(match[1])
            data = bytes.fromhex(match[2])
            return RevmRevert(_revert_reason(data), data, self.last_gas_used)
        if match := _HALT.search(message):
            self.last_gas_used = int(match[2])
            return RevmHalt(match[1], self.last_gas_used)
        return RevmError(message)

    # events
    @property
    def last_events(self) -> list[tuple[str, dict]]:
        """Events of the last transaction, decoded: [(name, {arg: value})], in emission order."""
        return [self._decode(log) for log in self._last_logs]

    def _decode(self, log) -> tuple[str, dict]:
        topics, data = log.data
        contract = self._contracts.get(log.address.lower())
        topic0 = bytes(topics[0]) if topics else b""
        event = (contract and contract._events.get(topic0)) or self._events.get(topic0)
        if event is None:
            return "<unknown>", {"address": log.address, "topics": [bytes(t) for t in topics], "data": bytes(data)}
        return event.decode([bytes(t) for t in topics], bytes(data))

    # time
    @property
    def block_number(self) -> int:
        return self._clock[0]

    @property
    def timestamp(self) -> int:
        return self._clock[1]

    def warp(self, seconds: int) -> None:
        """Move time forward by `seconds` (and the block number by seconds // BLOCK_TIME)."""
        self._set_block((self.block_number + seconds // BLOCK_TIME, self.timestamp + seconds))

    def mine(self, blocks: int = 1) -> None:
        """Move the block number forward by `blocks` (and time by blocks * BLOCK_TIME)."""
        self._set_block((self.block_number + blocks, self.timestamp + blocks * BLOCK_TIME))

    def _set_block(self, clock: tuple[int, int] | None = None) -> None:
        self._clock = clock or self._clock
        number, timestamp = self._clock
        self.evm.set_block_env(pyrevm.BlockEnv(number=number, timestamp=timestamp, gas_limit=self.gas_limit))

    # snapshots
    def snapshot(self) -> int:
        """Mark the current state (storage, code, nonces, logs, block number and time); an id for `revert`."""
        self._next_snapshot += 1
        self._snapshots.append((self._next_snapshot, self.evm.snapshot(), self._clock))
        return self._next_snapshot

    def revert(self, snapshot: int) -> None:
        """Return to `snapshot`. Later snapshots are dropped; `snapshot` itself stays valid (revert again at will)."""
        self._unwind(snapshot)
        self._snapshots.append((snapshot, self.evm.snapshot(), self._clock))

    def _unwind(self, snapshot: int) -> None:
        if all(snap != snapshot for snap, _, _ in self._snapshots):
            raise ValueError(f"unknown snapshot {snapshot} (dropped by a revert to an earlier one?)")
        while True:  # one journal depth per checkpoint, innermost first (see the module docstring)
            snap, checkpoint, clock = self._snapshots.pop()
            self.evm.revert(checkpoint)
            if snap == snapshot:
                break
        self._set_block(clock)
        self._last_logs = []

    @contextmanager
    def anchor(self) -> Iterator[None]:
        """Run the body, then put every state change (and the clock) back."""
        snapshot = self.snapshot()
        try:
            yield
        finally:
            self._unwind(snapshot)
