"""What every bot shares: the node connection, the signer, a nonce manager and sender, metrics, and the loop.

A bot is a small object with handlers; the `Loop` calls them and files what they return:

    class Bot:
        name = "keeper"
        def start(self, loop): ...            # once connected: load the deployment, sync from events
        def on_block(self, loop, block): ...  # every new head; returns the loop's metrics (a dict)
        def on_reconnect(self, loop): ...     # after the node came back: resync nonces and state
        def stop(self, loop): ...             # on SIGINT / SIGTERM; returns the final summary

Hot paths use web3 directly (one `eth_call` per Lens batch, `eth_getLogs` for the index); transactions are
signed locally with eth-account. Without a signer (or with `--dry-run`) the `Sender` simulates each transaction
and logs what it would have sent instead of sending it.

Failure model, handled here once for every bot:
- node down or restarted: every RPC error of the transport raises `NodeDown`; the loop waits with backoff,
  reconnects, calls `on_reconnect` and goes on from the last processed block (bots re-read state from chain);
- nonces: one local counter per key, resynced from the node's pending count at start, after a reconnect and
  after any nonce error; a transaction lost with the node frees its nonce for the next one (no gap), and a
  nonce is never given to two different transactions;
- reverts: a transaction is simulated (`eth_estimateGas`) before it is signed, so a predictable revert costs
  nothing; one that reverts on chain (another keeper was faster) is reported to the bot, which backs off;
- gas: EIP-1559 fees capped by `max_fee_gwei`; above the cap nothing is sent (`GasCapped`) until fees fall.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Hashable, TextIO

from eth_account import Account
from eth_account.signers.local import LocalAccount

KEY_ENV = "CROSSMARGIN_PRIVATE_KEY"
DEV_CHAIN_IDS = {31337, 31338, 1337}
TEST_MNEMONIC = "test test test test test test test test test test test junk"  # anvil's and Ape's dev accounts
GWEI = 10**9


class BotError(RuntimeError):
    """A bot cannot run (bad option, no deployment, account not operable): one line for the user."""


class NodeDown(RuntimeError):
    """The node did not answer (stopped, restarting, unreachable)."""


class Skipped(RuntimeError):
    """A transaction that was not sent: predicted revert, gas above the cap."""


class WouldRevert(Skipped):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class GasCapped(Skipped):
    pass


# ---------------------------------------------------------------------------------------------------------
# connection
# ---------------------------------------------------------------------------------------------------------

def transport_errors() -> tuple[type[BaseException], ...]:
    import requests

    return (requests.exceptions.ConnectionError, requests.exceptions.Timeout, ConnectionError, TimeoutError)


def web3_for(uri: str, timeout: float = 10.0):
    """A plain web3 client (no middleware, no Ape) on an HTTP JSON-RPC endpoint."""
    from web3 import Web3

    return Web3(Web3.HTTPProvider(uri, request_kwargs={"timeout": timeout}))


def guard(fn: Callable[[], Any]) -> Any:
    """Run one RPC-using step; transport failures become `NodeDown`."""
    try:
        return fn()
    except transport_errors() as exc:
        raise NodeDown(str(exc).splitlines()[0][:200]) from None


class RawRPC:
    """JSON-RPC batches on a keep-alive HTTP session per thread: the keeper's hot reads (quotes, simulations)
    in one round trip. web3's contract-call path costs ~4 ms of client time per call; this costs one request.

    `batch([(method, params), ...])` returns `(ok, result)` pairs in order; a failed call gives
    `(False, reason)` (the revert reason when there is one). Transport failures raise `NodeDown`."""

    def __init__(self, uri: str, timeout: float = 10.0):
        self.uri, self.timeout = uri, timeout
        self._local = threading.local()
        self.requests = 0  # HTTP requests made (one per batch)

    def _session(self):
        session = getattr(self._local, "session", None)
        if session is None:
            import requests

            session = self._local.session = requests.Session()
        return session

    def batch(self, calls: list[tuple[str, list]]) -> list[tuple[bool, Any]]:
        if not calls:
            return []
        body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        self.requests += 1
        replies = guard(lambda: self._session().post(self.uri, json=body, timeout=self.timeout).json())
        if isinstance(replies, dict):  # the node refused the whole batch
            raise NodeDown(str(replies.get("error", replies))[:200])
        out: list[tuple[bool, Any]] = [(False, "no reply")] * len(calls)
        for r in replies:
            if "error" in r:
                out[r["id"]] = (False, revert_reason(Exception(str(r["error"].get("message", r["error"])))))
            else:
                out[r["id"]] = (True, r["result"])
        return out


def call_params(contract, fn: str, args: list, sender: str | None = None, block="latest") -> list:
    """`eth_call` params of a contract function (for `RawRPC.batch`)."""
    tx = {"to": contract.address, "data": contract.encode_abi(fn, args=args)}
    if sender:
        tx["from"] = sender
    return [tx, block if isinstance(block, str) else hex(block)]


def decode_result(contract, fn: str, result: str):
    """Decode a raw `eth_call` result of `contract.fn` (a single output comes back bare)."""
    from eth_abi import decode

    abi = next(x for x in contract.abi if x.get("type") == "function" and x["name"] == fn)
    types = [_abi_type(o) for o in abi["outputs"]]
    values = decode(types, bytes.fromhex(result.removeprefix("0x")))
    return values[0] if len(values) == 1 else values


def _abi_type(o: dict) -> str:
    if o["type"].startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in o["components"]) + ")" + o["type"][5:]
    return o["type"]


def revert_reason(exc: BaseException) -> str:
    """`execution reverted: auction active` -> `auction active` (any web3 error: its first line)."""
    text = str(getattr(exc, "message", None) or exc).strip()
    for prefix in ("execution reverted: ", "execution reverted", "('execution reverted: "):
        if prefix in text:
            text = text.split(prefix, 1)[1]
            break
    text = (text.splitlines() or [""])[0]
    for quote in ("'", '"'):  # str() of an exception with (message, data) args
        text = text.split(quote)[0] if not text.startswith(quote) else text
    return text.strip(" '\")(,") or "reverted"


# ---------------------------------------------------------------------------------------------------------
# signer
# ---------------------------------------------------------------------------------------------------------

def dev_key(index: int) -> LocalAccount:
    """Dev-chain account `index` of the standard test mnemonic (anvil's funded accounts)."""
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(TEST_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def load_signer(account: str | None, chain_id: int) -> LocalAccount | None:
    """The bot's key: `--account TEST::i` (dev chains), `--account ALIAS` (Ape keystore, passphrase from
    APE_ACCOUNTS_<alias>_PASSPHRASE, or asked once on a terminal), or CROSSMARGIN_PRIVATE_KEY. None: no signer
    (the runner then refuses to start unless --dry-run). One loader for the CLI and the bots
    (`crossmargin.chain.signers`)."""
    from crossmargin.chain.signers import SignerError, resolve_key

    try:
        key = resolve_key(account, chain_id in DEV_CHAIN_IDS)
    except SignerError as exc:
        raise BotError(str(exc)) from None
    return Account.from_key(key) if key is not None else None


# ---------------------------------------------------------------------------------------------------------
# nonces and transactions
# ---------------------------------------------------------------------------------------------------------

class NonceManager:
    """One local counter per key. `take()` hands out consecutive nonces; `resync()` reads the node's pending
    count (start, reconnect, nonce errors, dropped transactions); `release(n)` returns the last nonce when its
    transaction never reached the node."""

    def __init__(self, w3, address: str):
        self.w3, self.address = w3, address
        self.next: int | None = None

    def resync(self) -> int:
        self.next = guard(lambda: self.w3.eth.get_transaction_count(self.address, "pending"))
        return self.next

    def take(self) -> int:
        if self.next is None:
            self.resync()
        n = self.next
        self.next += 1
        return n

    def release(self, nonce: int) -> None:
        if self.next is not None and nonce == self.next - 1:
            self.next = nonce


@dataclass
class GasPolicy:
    """EIP-1559 fees: tip `priority_gwei`, max fee `2·base + tip` capped at `max_fee_gwei`."""

    max_fee_gwei: float = 100.0
    priority_gwei: float = 1.0
    gas_margin: float = 1.25  # gas limit = estimate · margin

    def fees(self, base_fee: int) -> dict:
        cap = int(self.max_fee_gwei * GWEI)
        tip = int(self.priority_gwei * GWEI)
        if base_fee + tip > cap:
            raise GasCapped(f"base fee {base_fee / GWEI:.2f} gwei + tip above the {self.max_fee_gwei:g} gwei cap")
        return {"maxFeePerGas": min(cap, 2 * base_fee + tip), "maxPriorityFeePerGas": tip}


@dataclass
class Pending:
    """A transaction sent and not yet settled."""

    hash: str
    nonce: int
    purpose: str
    key: Hashable
    sent_block: int
    tx: dict
    meta: dict = field(default_factory=dict)
    sent_at: float = field(default_factory=time.monotonic)


@dataclass
class Outcome:
    """What became of a sent transaction: `ok`, `reverted` (mined, status 0) or `dropped` (gone with the node)."""

    pending: Pending
    status: str
    block: int | None = None
    gas_used: int = 0
    gas_cost_wei: int = 0
    reason: str | None = None       # why it reverted (replayed on the state after its block)


class Sender:
    """Simulate, sign, send and follow transactions of one key.

    `send(contract, fn, args, purpose, key)`: simulates (a revert raises `WouldRevert`, nothing is signed),
    checks the fee cap (`GasCapped`), then signs with the next nonce and sends; in dry-run it logs the call
    instead (`would_send`). `poll(head)` returns the outcomes of sent transactions that settled. `key` names the
    intent (e.g. ("bid", 17)): while one is pending, `busy(key)` is True, so a bot never sends it twice.
    """

    def __init__(self, w3, signer: LocalAccount | None, chain_id: int, policy: GasPolicy, *, dry_run: bool = False,
                 sim_from: str | None = None, log: Callable[[dict], None] = lambda rec: None,
                 drop_after_blocks: int = 20):
        self.w3, self.signer, self.chain_id, self.policy = w3, signer, chain_id, policy
        self.dry_run = dry_run or signer is None
        self.sim_from = sim_from or (signer.address if signer else None)
        self.log = log
        self.drop_after = drop_after_blocks
        self.nonces = NonceManager(w3, signer.address) if signer else None
        self.pending: dict[str, Pending] = {}
        self.rpc: RawRPC | None = None  # raw JSON-RPC for sends (set lazily)
        self._base_fee: tuple[float, int] | None = None
        self.sent = self.reverted = self.dropped = self.simulated_reverts = self.capped = 0

    @property
    def address(self) -> str | None:
        return self.signer.address if self.signer else self.sim_from

    def busy(self, key: Hashable) -> bool:
        return any(p.key == key for p in self.pending.values())

    def simulate_many(self, rpc: "RawRPC", txs: list[tuple[str, str]]) -> list[int | WouldRevert]:
        """Gas estimates of many calls `(to, data)` from our address in one batch; a revert comes back as a
        `WouldRevert` in its place."""
        results = rpc.batch([("eth_estimateGas", [{"to": to, "data": data, **({"from": self.sim_from}
                                                                               if self.sim_from else {})}])
                             for to, data in txs])
        out: list[int | WouldRevert] = []
        for ok, value in results:
            if ok:
                out.append(int(value, 16))
            else:
                self.simulated_reverts += 1
                out.append(WouldRevert(value))
        return out

    def simulate(self, to: str, data: str, value: int = 0) -> int:
        """Gas estimate of the call from our address; raises `WouldRevert` with the reason."""
        from web3.exceptions import ContractLogicError, Web3RPCError

        tx = {"to": to, "data": data, "value": value}
        if self.sim_from:
            tx["from"] = self.sim_from
        try:
            return guard(lambda: self.w3.eth.estimate_gas(tx))
        except (ContractLogicError, Web3RPCError, ValueError) as exc:
            self.simulated_reverts += 1
            raise WouldRevert(revert_reason(exc)) from None

    def base_fee(self, max_age: float = 0.3) -> int:
        """The latest block's base fee (cached briefly: a loop sends many transactions against one head)."""
        now = time.monotonic()
        if self._base_fee is None or now - self._base_fee[0] > max_age:
            fee = guard(lambda: self.w3.eth.get_block("latest").get("baseFeePerGas", 0)) or 0
            self._base_fee = (now, int(fee))
        return self._base_fee[1]

    def send(self, contract, fn: str, args: list, purpose: str, key: Hashable = None, meta: dict | None = None,
             head: int = 0, gas: int | None = None) -> Pending | None:
        data = contract.encode_abi(fn, args=args)
        to = contract.address
        estimate = self.simulate(to, data) if gas is None else gas
        base_fee = self.base_fee()
        try:
            fees = self.policy.fees(base_fee)
        except GasCapped:
            self.capped += 1
            raise
        record = {"event": "would_send" if self.dry_run else "send", "purpose": purpose, "to": to, "fn": fn,
                  "args": [_jsonable(a) for a in args], "gas": estimate,
                  "max_fee_gwei": round(fees["maxFeePerGas"] / GWEI, 3), **(meta or {})}
        if self.dry_run:
            self.log(record)
            return None
        tx = {"to": to, "data": data, "value": 0, "gas": int(estimate * self.policy.gas_margin) + 10_000,
              "chainId": self.chain_id, "type": 2, **fees}
        pending = self._sign_and_send(tx, purpose, key, meta or {}, head)
        record.update(hash=pending.hash, nonce=pending.nonce)
        self.log(record)
        return pending

    def _sign_and_send(self, tx: dict, purpose: str, key: Hashable, meta: dict, head: int) -> Pending:
        rpc = self.rpc or RawRPC(self.w3.provider.endpoint_uri)
        self.rpc = rpc
        for attempt in (1, 2):
            nonce = self.nonces.take()
            signed = self.signer.sign_transaction({**tx, "nonce": nonce})
            raw = "0x" + bytes(signed.raw_transaction).hex().removeprefix("0x")
            try:
                [(ok, result)] = rpc.batch([("eth_sendRawTransaction", [raw])])
            except NodeDown:
                self.nonces.next = None  # unknown whether the node got it: resync on the next take
                raise
            if not ok:
                if "nonce" in str(result).lower() and attempt == 1:  # someone else used the key, or the node forgot us
                    self.nonces.resync()
                    continue
                self.nonces.release(nonce)
                raise WouldRevert(str(result))
            pending = Pending(result, nonce, purpose, key, head, {**tx, "nonce": nonce}, meta)
            self.pending[pending.hash] = pending
            self.sent += 1
            return pending
        raise AssertionError("unreachable")

    def settle(self, head: int, outcomes: dict[str, int], on_outcome=None) -> list[Outcome]:
        """`poll`, each outcome counted in `outcomes` (by status), handed to `on_outcome` and logged: the one
        receipt step of every bot."""
        done = self.poll(head)
        for o in done:
            outcomes[o.status] += 1
            if on_outcome is not None:
                on_outcome(o)
            self.log({"event": "tx", "purpose": o.pending.purpose, "status": o.status, "block": o.block,
                      "nonce": o.pending.nonce, "gas_used": o.gas_used, **({"reason": o.reason} if o.reason else {})})
        return done

    def poll(self, head: int) -> list[Outcome]:
        """Settle what was mined (one batch of receipts); declare dropped what the node no longer knows after
        `drop_after` blocks (or after the chain went back below the block it was sent at)."""
        if not self.pending:
            return []
        self.rpc = self.rpc or RawRPC(self.w3.provider.endpoint_uri)
        items = list(self.pending.items())
        receipts = self.rpc.batch([("eth_getTransactionReceipt", [h]) for h, _ in items])
        done: list[Outcome] = []
        old = []
        for (h, p), (ok, r) in zip(items, receipts):
            if ok and r:
                del self.pending[h]
                done.append(self._settled(p, r))
            elif head - p.sent_block >= self.drop_after or head < p.sent_block:
                old.append((h, p))
        if old:
            known = self.rpc.batch([("eth_getTransactionByHash", [h]) for h, _ in old])
            for (h, p), (ok, tx) in zip(old, known):
                if ok and tx:
                    continue  # still in the pool
                del self.pending[h]
                done.append(Outcome(p, "dropped"))
                self.dropped += 1
                self.nonces.next = None
        return done

    def _settled(self, p: Pending, receipt: dict) -> Outcome:
        """The outcome a mined receipt gives (a revert is counted and its reason replayed at its block)."""
        status = "ok" if int(receipt["status"], 16) == 1 else "reverted"
        gas_used = int(receipt["gasUsed"], 16)
        out = Outcome(p, status, int(receipt["blockNumber"], 16), gas_used,
                      gas_used * int(receipt.get("effectiveGasPrice") or "0x0", 16))
        if status == "reverted":
            self.reverted += 1
            out.reason = self._why(p, out.block)
        return out

    def _why(self, p: Pending, block: int) -> str:
        """Replay a reverted transaction on the state its block left (whoever got there first is in it)."""
        from web3.exceptions import ContractLogicError, Web3RPCError

        try:
            guard(lambda: self.w3.eth.call({"from": self.address, "to": p.tx["to"], "data": p.tx["data"]}, block))
        except (ContractLogicError, Web3RPCError, ValueError) as exc:
            return revert_reason(exc)
        return "reverted (passes now)"

    def forget_pending(self) -> list[Pending]:
        """After the node restarted: transactions it did not keep are gone; their nonces are free again."""
        from web3.exceptions import TransactionNotFound

        def known(h: str) -> bool:
            try:
                return guard(lambda: self.w3.eth.get_transaction(h)) is not None
            except TransactionNotFound:
                return False

        lost = [self.pending.pop(h) for h, p in list(self.pending.items())
                if not any(known(v) for v in self._versions(h, p))]
        if self.nonces is not None:
            self.nonces.resync()
        self.dropped += len(lost)
        return lost

    def _versions(self, h: str, p: Pending) -> list[str]:
        """Every hash a pending transaction was sent under (one here; `TxSender` re-signs fee bumps)."""
        return [h]


def _jsonable(value):
    """Call arguments for a log line: bytes as hex, tuples (structs) as lists."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------------------------------

class Metrics:
    """Every loop's metrics and every event as one JSON line (`stream` and/or `path`), and a live rich view;
    `sink` also receives every record (an in-process driver such as the demo reads them there)."""

    def __init__(self, bot: str, stream: TextIO | None = None, path: Path | None = None, live: bool = False,
                 columns: tuple[str, ...] = (), sink: Callable[[dict], None] | None = None):
        self.bot, self.stream, self.live_on, self.columns, self.sink = bot, stream, live, columns, sink
        self.file = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.file = open(path, "a", buffering=1)
        self.last: dict = {}
        self.events: deque[dict] = deque(maxlen=8)
        self._live = None

    def __enter__(self) -> "Metrics":
        if self.live_on:
            from rich.live import Live

            self._live = Live(self._render(), refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.__exit__(*exc)
        if self.file:
            self.file.close()

    def emit(self, record: dict) -> None:
        record = {"ts": round(time.time(), 3), "bot": self.bot, **record}
        line = json.dumps(record, default=str, separators=(",", ":"))
        if self.stream is not None:
            self.stream.write(line + "\n")
            self.stream.flush()
        if self.file is not None:
            self.file.write(line + "\n")
        if self.sink is not None:
            self.sink(record)
        if record.get("event") == "loop":
            self.last = record
        else:
            self.events.append(record)
        if self._live is not None:
            self._live.update(self._render())

    def _render(self):
        from rich.console import Group
        from rich.table import Table

        cols = self.columns or tuple(k for k in self.last if k not in ("ts", "bot", "event"))
        t = Table(title=f"{self.bot}: block {self.last.get('block', '-')}", title_justify="left", show_header=False)
        per_row = 3
        for _ in range(per_row):
            t.add_column(style="dim")
            t.add_column(justify="right")
        cells = [(c, _fmt(self.last.get(c, "-"))) for c in cols if c != "block"]
        for i in range(0, len(cells), per_row):
            row = [x for pair in cells[i:i + per_row] for x in pair]
            t.add_row(*(row + [""] * (2 * per_row - len(row))))
        ev = Table(title="recent", title_justify="left", show_header=False)
        ev.add_column("event")
        for e in self.events:
            ev.add_row(" ".join(f"{k}={_fmt(v)}" for k, v in e.items() if k not in ("ts", "bot")))
        return Group(t, ev)


def _where(exc: BaseException) -> str:
    """file:line of the innermost frame of ours in a traceback (for an error line without the traceback)."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "crossmargin" in f.filename]
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""


def _fmt(v) -> str:
    if isinstance(v, float):
        return "inf" if v >= 1e9 else f"{v:,.2f}"
    return str(v)


# ---------------------------------------------------------------------------------------------------------
# the loop
# ---------------------------------------------------------------------------------------------------------

class Loop:
    """Follow new heads and call the bot's handlers; survive node restarts; stop cleanly on SIGINT/SIGTERM.

    `max_blocks` / `max_seconds` end the run on their own (tests, benchmarks); `poll` is the head-polling period.
    Only the newest head is handled when several arrived at once (bots cover the skipped range themselves, e.g.
    `eth_getLogs` from their last processed block).

    `run()` is `step()` repeated until stopped, then `finish()`. An in-process driver (the demo) calls `step()`
    itself whenever it wants the bot to look at the chain, and `finish()` at the end.
    """

    def __init__(self, bot, w3, metrics: Metrics, *, poll: float = 0.25, max_blocks: int | None = None,
                 max_seconds: float | None = None):
        self.bot, self.w3, self.metrics, self.poll = bot, w3, metrics, poll
        self.max_blocks, self.max_seconds = max_blocks, max_seconds
        self.stop_event = threading.Event()
        self.last_head: int | None = None
        self.started = False
        self.blocks = 0
        self.errors = 0
        self.errors_in_row = 0  # failing blocks since the last good one (CROSSMARGIN_BOT_MAX_ERRORS ends the bot)
        self.max_errors_in_row = int(os.environ.get("CROSSMARGIN_BOT_MAX_ERRORS", "30"))
        self.reconnects = 0
        self.signal: str | None = None
        self.began = time.monotonic()

    def log(self, record: dict) -> None:
        self.metrics.emit(record)

    def stop(self, *_: Any) -> None:
        self.stop_event.set()

    def _signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def handler(signum, frame):  # only flags: writing a log line here could re-enter a write in progress
            self.signal = signal.Signals(signum).name
            self.stop()
            signal.signal(signum, signal.SIG_DFL)  # a second one ends the process at once

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)

    def _wait_for_node(self) -> None:
        delay = 0.25
        down_since = time.monotonic()
        self.log({"event": "node_down"})
        while not self.stop_event.is_set():
            try:
                guard(lambda: self.w3.eth.chain_id)
                self.reconnects += 1
                self.log({"event": "node_up", "down_s": round(time.monotonic() - down_since, 2)})
                return
            except NodeDown:
                self.stop_event.wait(delay)
                delay = min(delay * 2, 2.0)

    def _error(self, exc: BaseException) -> None:
        self.errors += 1
        self.errors_in_row += 1
        first = str(exc).splitlines()[0][:300] if str(exc) else ""
        self.log({"event": "error", "error": f"{type(exc).__name__}: {first}", "where": _where(exc)})
        if os.environ.get("CROSSMARGIN_DEBUG"):
            import traceback

            traceback.print_exception(exc, file=sys.stderr)
        if self.max_errors_in_row and self.errors_in_row >= self.max_errors_in_row:
            raise BotError(f"{self.errors_in_row} failures in a row (CROSSMARGIN_BOT_MAX_ERRORS), the last: "
                           f"{type(exc).__name__}: {first}")

    def step(self) -> dict | None:
        """Start the bot on first use, then handle the newest head if it is new: returns the loop record, or
        None when the head was handled already. A failing `on_block` is logged as an `error` record and counted
        (one bad iteration must not end a keeper); `NodeDown` and `BotError` propagate."""
        if not self.started:
            self.bot.start(self)
            self.started = True
        head = guard(lambda: self.w3.eth.block_number)
        if head == self.last_head:
            return None
        block = guard(lambda: self.w3.eth.get_block(head))
        ready = getattr(self.bot, "ready", None)  # the deployment is on chain (else: wait for a redeploy)
        if ready is not None and not ready(self, head):
            self.last_head = head
            return {"event": "waiting", "block": head}
        t0 = time.monotonic()
        try:
            record = self.bot.on_block(self, block) or {}
        except (NodeDown, BotError):
            raise
        except Exception as exc:  # noqa: BLE001 - see the docstring
            self._error(exc)
            return {"event": "error", "block": head}
        self.errors_in_row = 0
        self.last_head = head
        self.blocks += 1
        loop_record = {"event": "loop", "block": head, "loop_ms": round((time.monotonic() - t0) * 1000, 1),
                       "lag_s": round(max(0.0, time.time() - block["timestamp"]), 2), **record}
        self.log(loop_record)
        return loop_record

    def run(self) -> dict:
        self._signals()
        while not self.stop_event.is_set():
            try:
                record = self.step()
                if record is None:
                    self.stop_event.wait(self.poll)
                elif record["event"] == "error":
                    self.stop_event.wait(min(2.0, 0.25 * self.errors))
            except NodeDown:
                self._wait_for_node()
                if self.started and not self.stop_event.is_set():
                    try:
                        self.bot.on_reconnect(self)
                    except NodeDown:
                        continue
            except BotError:
                raise
            except Exception as exc:  # noqa: BLE001 - e.g. a failing start on a node still coming up
                self._error(exc)
                self.stop_event.wait(min(2.0, 0.25 * self.errors))
            if self.max_blocks is not None and self.blocks >= self.max_blocks:
                break
            if self.max_seconds is not None and time.monotonic() - self.began >= self.max_seconds:
                break
        if self.signal:
            self.log({"event": "signal", "signal": self.signal})
        return self.finish()

    def finish(self) -> dict:
        """Stop the bot (its `stop` handler, e.g. the maker withdraws its quotes) and log the final summary."""
        summary = {}
        if self.started:
            try:
                summary = self.bot.stop(self) or {}
            except Exception as exc:  # noqa: BLE001 - stopping must not fail on a dead node
                summary = {"stop_error": str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}
        summary = {"event": "stopped", "blocks": self.blocks, "errors": self.errors, "reconnects": self.reconnects,
                   "seconds": round(time.monotonic() - self.began, 2), **summary}
        self.log(summary)
        return summary
