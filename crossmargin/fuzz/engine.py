"""Engines the liquidation machine runs on: one interface, two implementations.

The machine and the `World` talk to an engine only through this interface (the one `RevmChain` already has), so a
rule or an invariant is written once and runs in process (pyrevm, ~1,600 steps/s) or against a real node:

    call(to, data, sender=, value=, gas=, static=) -> bytes   a view (static) or a transaction; a revert raises
                                                             `Revert` with the decoded reason
    deploy(contract, *args, sender=) / at(contract, address) contract handles (`handle.fn(*args, sender=...)`)
    snapshot() -> id, revert(id)                             `id` stays valid after a revert (revert again at will)
    warp(seconds), timestamp                                 time moves only when told to
    last_events                                              decoded events of the last transaction
    set_balance(address, wei), chain_id, eoa

`NodeChain` implements it over JSON-RPC for anvil, Hardhat and forks of either: senders are impersonated
(`anvil_impersonateAccount` / `hardhat_impersonateAccount`) and funded with `*_setBalance`, a transaction is an
`eth_call` (its return value or revert reason: a reverting transaction is not sent, as revm leaves no trace of
one) followed by `eth_sendTransaction` at the engine's clock (`evm_setNextBlockTimestamp`: every block of a step
has the timestamp the machine predicts with), `warp` mines an empty block later (`evm_mine`), snapshots are
`evm_snapshot` / `evm_revert` (re-taken after each revert, since a node consumes a snapshot id when reverting
to it). A node that refuses two blocks with the same timestamp (Hardhat without `allowBlocksWithSameTimestamp`)
gets one second per block instead; predictions at a second's boundary can then be off by one.
"""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from eth_utils import to_checksum_address

from crossmargin.chain.artifacts import Artifact
from crossmargin.chain.revm import RevmChain, RevmContract, RevmError, RevmRevert, _Params, _revert_reason

Revert = RevmRevert          # what a reverting call raises, on every engine
TX_GAS = 8_000_000           # gas of a node transaction (the largest, a 4-position bid, uses ~400k)
DEPLOY_GAS = 12_000_000
FUNDING = 10**24             # wei given to every impersonated sender


class Engine(Protocol):
    chain_id: int
    eoa: str

    def call(self, to: str, data: bytes = b"", *, sender: str | None = None, value: int = 0,
             gas: int | None = None, static: bool = False) -> bytes: ...

    def deploy(self, contract, *args, sender: str | None = None) -> RevmContract: ...

    def at(self, contract, address: str) -> RevmContract: ...

    def snapshot(self) -> int: ...

    def revert(self, snapshot: int) -> None: ...

    def warp(self, seconds: int) -> None: ...

    @property
    def timestamp(self) -> int: ...

    @property
    def last_events(self) -> list[tuple[str, dict]]: ...

    def set_balance(self, address: str, wei: int) -> None: ...


class NodeError(RuntimeError):
    """The node refused a control call (or is not a dev node)."""


class NodeChain:
    """The engine interface over a node's JSON-RPC (one kept-alive HTTP connection)."""

    def __init__(self, uri: str, timeout: float = 60.0):
        self.uri = uri
        parsed = urlparse(uri)
        self._host, self._port = parsed.hostname or "127.0.0.1", parsed.port or 8545
        self._path = parsed.path or "/"
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._id = 0
        self.rpc_calls = 0
        version = str(self.rpc("web3_clientVersion"))
        self.client = "hardhat" if "hardhat" in version.lower() else "anvil"
        self.chain_id = int(self.rpc("eth_chainId"), 16)
        dev = self.rpc("eth_accounts")
        self.eoa = to_checksum_address(dev[0]) if dev else None
        self._clock = self.latest_timestamp()
        self._strict = False                        # the node refuses equal block timestamps
        self._senders: set[str] = set()
        self._snapshots: list[tuple[int, str, int]] = []   # (our id, node id, clock), innermost last
        self._next_snapshot = 0
        self._last_logs: list = []
        self._contracts: dict[str, RevmContract] = {}
        self._events: dict = {}
        self.last_gas_used = 0

    # -- JSON-RPC --------------------------------------------------------------------------------------------
    def _request(self, method: str, params: list) -> dict:
        self._id += 1
        self.rpc_calls += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        for attempt in range(2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            try:
                self._conn.request("POST", self._path, body, {"Content-Type": "application/json"})
                return json.loads(self._conn.getresponse().read())
            except (http.client.HTTPException, ConnectionError, OSError):
                self._conn.close()
                self._conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def rpc(self, method: str, *params):
        reply = self._request(method, list(params))
        if "error" in reply:
            raise NodeError(f"{method}: {reply['error'].get('message', reply['error'])}")
        return reply["result"]

    def _ns(self, method: str) -> str:
        """`anvil_x` or `hardhat_x` (anvil answers both, Hardhat only its own)."""
        return f"{self.client}_{method}"

    def latest_timestamp(self) -> int:
        return int(self.rpc("eth_getBlockByNumber", "latest", False)["timestamp"], 16)

    # -- accounts --------------------------------------------------------------------------------------------
    def set_balance(self, address: str, wei: int) -> None:
        self.rpc(self._ns("setBalance"), to_checksum_address(str(address)), hex(wei))

    def _sender(self, sender: str | None) -> str:
        sender = to_checksum_address(str(getattr(sender, "address", sender) or self.eoa))
        if sender not in self._senders:
            self.rpc(self._ns("impersonateAccount"), sender)
            balance = int(self.rpc("eth_getBalance", sender, "latest"), 16)
            if balance < FUNDING // 10:
                self.set_balance(sender, FUNDING)
            self._senders.add(sender)
        return sender

    def set_code(self, address: str, code: bytes) -> None:
        self.rpc(self._ns("setCode"), to_checksum_address(address), "0x" + code.hex())

    def get_code(self, address: str) -> bytes:
        return bytes.fromhex(self.rpc("eth_getCode", to_checksum_address(address), "latest")[2:])

    # -- contracts -------------------------------------------------------------------------------------------
    def deploy(self, contract, *args, sender: str | None = None, value: int = 0, gas: int | None = None):
        art = RevmChain._artifact(contract)
        ctor = next((e for e in art.abi if e["type"] == "constructor"), {"inputs": []})
        code = art.bytecode + _Params(ctor["inputs"]).encode(args)
        receipt = self._send({"from": self._sender(sender), "data": "0x" + code.hex(), "value": hex(value),
                              "gas": hex(gas or DEPLOY_GAS)})
        return self.at(art, receipt["contractAddress"])

    def at(self, contract: str | Path | Artifact, address: str) -> RevmContract:
        handle = RevmContract(self, RevmChain._artifact(contract), address)  # type: ignore[arg-type]
        self._contracts[handle.address.lower()] = handle
        for topic, event in handle._events.items():
            self._events.setdefault(topic, event)
        return handle

    def call(self, to: str, data: bytes = b"", *, sender: str | None = None, value: int = 0,
             gas: int | None = None, static: bool = False) -> bytes:
        to = getattr(to, "address", to)
        frm = self._sender(sender) if not static else to_checksum_address(
            str(getattr(sender, "address", sender) or self.eoa or "0x" + "00" * 20))
        tx = {"from": frm, "to": to, "data": "0x" + data.hex(), "value": hex(value), "gas": hex(gas or TX_GAS)}
        reply = self._request("eth_call", [tx, "latest"])
        if "error" in reply:
            if not static:
                self._last_logs = []
            raise self._failure(reply["error"])
        out = bytes.fromhex(reply["result"][2:])
        if static:
            return out
        receipt = self._send(tx)
        if int(receipt["status"], 16) != 1:   # passed as a call, failed as a transaction: say so
            raise RevmRevert("reverted as a transaction (not as a call)", gas_used=self.last_gas_used)
        return out

    def _failure(self, error: dict) -> RevmError:
        data = error.get("data")
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x"):
            raw = bytes.fromhex(data[2:])
            return RevmRevert(_revert_reason(raw), raw)
        message = str(error.get("message", error))
        if "revert" in message.lower():
            return RevmRevert(message.split("reverted with reason string ")[-1].strip("'"))
        return RevmError(message)

    def _send(self, tx: dict) -> dict:
        """Mine `tx` in its own block at the clock's timestamp; returns its receipt."""
        self._stamp()
        tx_hash = self.rpc("eth_sendTransaction", tx)
        receipt = None
        for i in range(10_000):
            receipt = self.rpc("eth_getTransactionReceipt", tx_hash)
            if receipt:
                break
            time.sleep(0 if i < 5 else 0.001)
        if not receipt:
            raise NodeError(f"transaction {tx_hash} was not mined (is the node automining?)")
        self.last_gas_used = int(receipt["gasUsed"], 16)
        self._last_logs = receipt["logs"]
        return receipt

    def _stamp(self) -> None:
        """The next block at the clock (or one second later on a node that refuses equal timestamps)."""
        if self._strict:
            self._clock += 1
        try:
            self.rpc("evm_setNextBlockTimestamp", hex(self._clock))
        except NodeError:
            self._strict = True
            self._clock = max(self._clock, self.latest_timestamp()) + 1
            self.rpc("evm_setNextBlockTimestamp", hex(self._clock))

    # -- events ----------------------------------------------------------------------------------------------
    @property
    def last_events(self) -> list[tuple[str, dict]]:
        out = []
        for log in self._last_logs:
            topics = [bytes.fromhex(t[2:]) for t in log["topics"]]
            data = bytes.fromhex(log["data"][2:])
            contract = self._contracts.get(log["address"].lower())
            topic0 = topics[0] if topics else b""
            event = (contract and contract._events.get(topic0)) or self._events.get(topic0)
            if event is None:
                out.append(("<unknown>", {"address": log["address"], "topics": topics, "data": data}))
            else:
                out.append(event.decode(topics, data))
        return out

    # -- time ------------------------------------------------------------------------------------------------
    @property
    def timestamp(self) -> int:
        return self._clock

    def warp(self, seconds: int) -> None:
        """Move the clock and mine an empty block there (views read the new time at once)."""
        self._clock += seconds
        self.rpc("evm_setNextBlockTimestamp", hex(self._clock))
        self.rpc("evm_mine")

    # -- snapshots -------------------------------------------------------------------------------------------
    def snapshot(self) -> int:
        self._next_snapshot += 1
        self._snapshots.append((self._next_snapshot, self.rpc("evm_snapshot"), self._clock))
        return self._next_snapshot

    def revert(self, snapshot: int) -> None:
        """Back to `snapshot` (later ones are dropped); `snapshot` itself stays valid."""
        self._unwind(snapshot)
        self._snapshots.append((snapshot, self.rpc("evm_snapshot"), self._clock))

    def _unwind(self, snapshot: int) -> None:
        index = next((i for i, (s, _, _) in enumerate(self._snapshots) if s == snapshot), None)
        if index is None:
            raise ValueError(f"unknown snapshot {snapshot} (dropped by a revert to an earlier one?)")
        _, node_id, clock = self._snapshots[index]
        del self._snapshots[index:]
        if not self.rpc("evm_revert", node_id):
            raise NodeError(f"the node refused evm_revert({node_id})")
        self._clock = clock
        self._last_logs = []

    def release(self, snapshot: int) -> None:
        """Return to `snapshot` and forget it (the node as it was before we took it)."""
        self._unwind(snapshot)
