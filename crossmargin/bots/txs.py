"""The keeper's transaction path: gas limits sized to the call, one nonce manager per signer, fee bumps that
replace, and a bounded amount of gas in flight (issue 18).

`TxSender` is the `Sender` of crossmargin.bots.core with these rules:

- gas limit = estimate · `gas_margin` + `gas_pad`, never above `min(block gas limit, max_gas)` (15M); a call
  whose estimate cannot fit raises `TooBig` (the keeper then bids a smaller fraction: nothing is sent that no
  block can hold);
- per head, the gas limits sent stay within `block_share` of the block's gas limit, and the gas limits of all
  unmined transactions within `inflight_blocks` blocks' worth and `max_in_flight` transactions: beyond, `Full`
  stops the round (the rest waits for the next block, re-planned on fresher state);
- nonces: one local counter per signer, taken in order; it is resynced from the node only when nothing of ours
  is in flight, or after a nonce error;
- a transaction not mined `bump_after` blocks after it was (re)sent is re-signed with the same nonce and both
  fees raised by `bump` (12.5 %: EIP-1559 replacement needs +10 % of each), up to the fee cap; a transaction
  the node forgot (evicted, lost) is re-broadcast the same way. A transaction is therefore never declared
  dropped while its nonce is unused: it is mined (`ok` / `reverted`), or its nonce went to another transaction
  of the same key (`dropped`: someone else used the key);
- `cancel(p)` replaces a pending transaction that no longer makes sense by a 21,000-gas transfer to self.

Simulations (`simulate_many`) run against `sim_block` ("latest"; "pending" on a node that builds it cheaply: anvil
re-executes its whole pool for every such call, ~0.1 s under a crash). The keeper reads the pool itself instead
(`Keeper._rival_intents`).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Hashable

from crossmargin.bots.core import GWEI, GasCapped, GasPolicy, NodeDown, Outcome, Pending, RawRPC, Sender, Skipped, \
    WouldRevert, _jsonable, guard


def sim_gas(ok: bool, value) -> int | WouldRevert:
    """The gas of one `eth_createAccessList` / `eth_estimateGas` reply, or why it reverts."""
    if not ok:
        return WouldRevert(str(value))
    if isinstance(value, dict):
        if value.get("error"):
            return WouldRevert(str(value["error"]).removeprefix("execution reverted: "))
        return int(value["gasUsed"], 16)
    return int(value, 16)


def sign_1559(private_key: bytes, tx: dict) -> tuple[str, str]:
    """(raw, hash) of an EIP-1559 transaction signed with `private_key`: the same bytes as eth-account's
    `sign_transaction` (it validates and re-serialises each field, and eth-keys' pure-Python backend derives the
    public key and multiplies k·G bit by bit: ~15 ms a transaction, the keeper's largest client cost when it
    sends 50 bids and 50 fee bumps in a block); here ~1.5 ms (`sign_hash`)."""
    import rlp
    from eth_hash.auto import keccak

    data = tx.get("data") or "0x"
    fields = [int(tx["chainId"]), int(tx["nonce"]), int(tx["maxPriorityFeePerGas"]), int(tx["maxFeePerGas"]),
              int(tx["gas"]), bytes.fromhex(str(tx["to"]).removeprefix("0x")), int(tx.get("value", 0)),
              bytes.fromhex(data.removeprefix("0x")) if isinstance(data, str) else bytes(data), []]
    v, r, s = sign_hash(keccak(b"\x02" + rlp.encode(fields)), bytes(private_key))
    raw = b"\x02" + rlp.encode(fields + [v, r, s])
    return "0x" + raw.hex(), "0x" + keccak(raw).hex()


_G_TABLE: list[list[tuple[int, int]]] = []  # _G_TABLE[i][j] = j·16^i·G (affine), j = 1..15


def _g_table() -> list[list[tuple[int, int]]]:
    from eth_keys.backends.native.ecdsa import G
    from eth_keys.backends.native.jacobian import fast_add, fast_multiply

    if not _G_TABLE:
        base = G
        for _ in range(64):
            row = [base]
            for _ in range(14):
                row.append(fast_add(row[-1], base))
            _G_TABLE.append(row)
            base = fast_multiply(base, 16)
    return _G_TABLE


def _mul_g(k: int) -> tuple[int, int]:
    """k·G (affine) from a table of 4-bit windows: at most 64 mixed additions instead of 256 doublings and ~128
    additions (the table costs ~1,000 additions once)."""
    from eth_keys.backends.native.jacobian import P, from_jacobian, jacobian_add

    table = _g_table()
    acc = (0, 0, 1)
    i = 0
    while k:
        j = k & 15
        if j:
            x, y = table[i][j - 1]
            acc = jacobian_add(acc, (x, y, 1)) if acc[1] else (x, y, 1)
        k >>= 4
        i += 1
    return from_jacobian(acc) if acc[1] else (0, 0)


def sign_hash(msg_hash: bytes, private_key: bytes) -> tuple[int, int, int]:
    """(v, r, s) of eth-keys' `ecdsa_raw_sign` (RFC 6979 nonce, low s, v the recovery parity), with k·G from a
    fixed-base table; the same integers (tested against eth-keys)."""
    from eth_keys.backends.native.ecdsa import N, deterministic_generate_k

    z = int.from_bytes(msg_hash, "big")
    k = deterministic_generate_k((z % N).to_bytes(32, "big"), private_key)
    r, y = _mul_g(k)
    s_raw = pow(k, -1, N) * (z + r * int.from_bytes(private_key, "big")) % N
    v = (y % 2) ^ (0 if s_raw * 2 < N else 1)
    return v, r, (s_raw if s_raw * 2 < N else N - s_raw)


_ENCODERS: dict[tuple[str, str], tuple[bytes, list[str]] | None] = {}


def encode_call(contract, fn: str, args) -> str:
    """Calldata of `contract.fn(*args)`, as `contract.encode_abi(fn, args=args)` gives it, from a cached selector
    and argument types (web3's path re-resolves the ABI, re-hashes the signature and re-validates every
    argument: ~2-5 ms a call, 10-25 ms under load, the keeper's largest client cost after signing). An overloaded
    name, or arguments eth-abi refuses as given (a struct as a dict), take web3's path."""
    key = (contract.address, fn)
    if key not in _ENCODERS:
        from eth_utils import function_abi_to_4byte_selector

        from crossmargin.bots.core import _abi_type

        items = [x for x in contract.abi if x.get("type") == "function" and x.get("name") == fn]
        _ENCODERS[key] = (function_abi_to_4byte_selector(items[0]), [_abi_type(i) for i in items[0]["inputs"]]) \
            if len(items) == 1 else None
    enc = _ENCODERS[key]
    if enc is not None:
        from eth_abi import encode

        try:
            return "0x" + (enc[0] + encode(enc[1], list(args))).hex()
        except Exception:  # noqa: BLE001 - web3 converts more input shapes
            pass
    return contract.encode_abi(fn, args=list(args))


def call_params(contract, fn: str, args, block="latest") -> list:
    """`eth_call` params of `contract.fn(*args)` (core.call_params with `encode_call`)."""
    return [{"to": contract.address, "data": encode_call(contract, fn, args)},
            block if isinstance(block, str) else hex(block)]


_DECODERS: dict[tuple[str, str], tuple[list[str], bool]] = {}


def decode_call(contract, fn: str, result: str):
    """core.decode_result with the output types cached (a single output comes back bare)."""
    from eth_abi import decode

    key = (contract.address, fn)
    if key not in _DECODERS:
        from crossmargin.bots.core import _abi_type

        abi = next(x for x in contract.abi if x.get("type") == "function" and x["name"] == fn)
        types = [_abi_type(o) for o in abi["outputs"]]
        _DECODERS[key] = (types, len(types) == 1)
    types, single = _DECODERS[key]
    values = decode(types, bytes.fromhex(result.removeprefix("0x")))
    return values[0] if single else values


class TooBig(Skipped):
    """The call's gas cannot fit the per-transaction cap: split it (a smaller fraction), never send it."""


class Full(Skipped):
    """This signer's gas budget for the block (or in flight) is used: the rest waits for the next block."""


@dataclass
class TxPolicy:
    gas_margin: float = 1.2          # gas limit = estimate · margin + pad
    gas_pad: int = 50_000
    max_gas: int = 15_000_000        # per transaction, also never above the block's gas limit
    block_share: float = 0.9         # gas limits sent per head, as a share of the block gas limit
    inflight_blocks: float = 1.5     # gas limits of all unmined transactions, in blocks
    max_in_flight: int = 64          # unmined transactions
    bump_after: int = 2              # blocks without inclusion before the fees are bumped
    bump: float = 0.125              # both fees x (1 + bump) per replacement (EIP-1559: >= +10 %)
    urgent_tip: float = 2.0          # priority fee multiple of `urgent` sends (starts: ahead of bids in a block)


@dataclass
class Flight(Pending):
    """A pending transaction and every signed version of it (same nonce)."""

    hashes: list[str] = field(default_factory=list)
    last_sent_block: int = 0
    bumps: int = 0
    gas_limit: int = 0


class TxSender(Sender):
    def __init__(self, w3, signer, chain_id: int, policy: GasPolicy, *, dry_run: bool = False,
                 sim_from: str | None = None, log=lambda rec: None, tx: TxPolicy | None = None,
                 sim_block: str = "latest"):
        super().__init__(w3, signer, chain_id, policy, dry_run=dry_run, sim_from=sim_from, log=log)
        self.txp = tx or TxPolicy()
        self.sim_block = sim_block
        self.block_gas_limit = 30_000_000
        self.head: int | None = None
        self.head_gas = 0          # gas limits sent at this head
        self.bumped = self.replaced = self.too_big = self.full = 0
        self.rpc_calls = 0         # JSON-RPC requests made by this sender (for the loop's RPC count)
        self.access_lists = True   # simulate with eth_createAccessList (one execution) while the node has it
        self._queue: list | None = None  # signed, not yet broadcast (inside `batching`)
        _g_table()  # the signing table (~0.1 s) now, not in the first round of a crash

    # -- per block -----------------------------------------------------------------------------------------
    def begin_block(self, block) -> None:
        """The keeper's new head: block gas limit and base fee from the block it already has (no extra RPC)."""
        self.head = int(block["number"])
        self.head_gas = 0
        if block.get("gasLimit"):
            self.block_gas_limit = int(block["gasLimit"])
        if block.get("baseFeePerGas") is not None:
            self._base_fee = (time.monotonic(), int(block["baseFeePerGas"]))
            self._fee_head = self.head

    def base_fee(self, max_age: float = 0.3) -> int:
        """The head's base fee (`begin_block`): fees of one round are priced on the block it planned on (no
        `eth_getBlock` per transaction); before the first head, or for a caller outside a round, the node's."""
        if self.head is not None and self._base_fee is not None and getattr(self, "_fee_head", None) == self.head:
            return self._base_fee[1]
        return super().base_fee(max_age)

    @property
    def cap(self) -> int:
        return min(self.txp.max_gas, self.block_gas_limit)

    def gas_limit(self, estimate: int) -> int:
        """The limit for a call estimated at `estimate`; `TooBig` when even the bare estimate cannot fit."""
        want = int(estimate * self.txp.gas_margin) + self.txp.gas_pad
        if want <= self.cap:
            return want
        if estimate + self.txp.gas_pad // 2 <= self.cap:
            return self.cap
        self.too_big += 1
        raise TooBig(f"gas estimate {estimate:,} above the {self.cap:,} cap")

    def inflight_gas(self) -> int:
        return sum(getattr(p, "gas_limit", 0) for p in self.pending.values())

    def room(self) -> int:
        """Gas this signer may still send at this head (the first transaction of a head may take the whole cap
        when nothing else is in flight: a batch bigger than the block's share is never stuck)."""
        if len(self.pending) >= self.txp.max_in_flight:
            return 0
        block = int(self.block_gas_limit * self.txp.block_share) - self.head_gas
        flight = int(self.block_gas_limit * self.txp.inflight_blocks) - self.inflight_gas()
        if self.head_gas == 0 and not self.pending:
            return self.cap
        return max(0, min(block, flight))

    # -- simulation ----------------------------------------------------------------------------------------
    def simulate_many(self, rpc: RawRPC, txs: list[tuple[str, str]]) -> list[int | WouldRevert]:
        """Gas used by many calls `(to, data)` from our address at `sim_block`, in one batch: one execution each
        (`eth_createAccessList` reports the gas used; `eth_estimateGas` binary-searches, ~4x the work), the
        limit then adds its margin (`gas_limit`). A node without it: `eth_estimateGas`."""
        frm = {"from": self.sim_from} if self.sim_from else {}
        method = "eth_createAccessList" if self.access_lists else "eth_estimateGas"
        results = rpc.batch([(method, [{"to": to, "data": data, **frm}, self.sim_block]) for to, data in txs])
        out: list[int | WouldRevert] = []
        for ok, value in results:
            gas = sim_gas(ok, value)
            if isinstance(gas, WouldRevert):
                text = gas.reason.lower()
                if self.access_lists and ("not supported" in text or "method not found" in text
                                          or "does not exist" in text):
                    self.access_lists = False
                    return self.simulate_many(rpc, txs)
                self.simulated_reverts += 1
            out.append(gas)
        return out

    # -- sending -------------------------------------------------------------------------------------------
    def send(self, contract, fn: str, args: list, purpose: str, key: Hashable = None, meta: dict | None = None,
             head: int = 0, gas: int | None = None, urgent: bool = False) -> Pending | None:
        """As `Sender.send`, with the gas limit of `gas_limit`, the block budget of `room` and, when `urgent`,
        `urgent_tip` times the priority fee (within the fee cap): a block takes transactions by tip, so the
        round's auction starts, which start the Dutch clock, go ahead of every keeper's pending bids."""
        data = encode_call(contract, fn, args)
        to = contract.address
        estimate = self.simulate(to, data) if gas is None else gas
        limit = self.gas_limit(estimate)
        if limit > self.room():
            self.full += 1
            raise Full(f"gas budget: {limit:,} above the {self.room():,} left")
        try:
            fees = self.policy.fees(self.base_fee())
        except GasCapped:
            self.capped += 1
            raise
        if urgent and self.txp.urgent_tip > 1:
            extra = int(fees["maxPriorityFeePerGas"] * (self.txp.urgent_tip - 1))
            if fees["maxFeePerGas"] + extra <= int(self.policy.max_fee_gwei * GWEI):
                fees = {"maxFeePerGas": fees["maxFeePerGas"] + extra,
                        "maxPriorityFeePerGas": fees["maxPriorityFeePerGas"] + extra}
        record = {"event": "would_send" if self.dry_run else "send", "purpose": purpose, "to": to, "fn": fn,
                  "args": [_jsonable(a) for a in args], "gas": estimate, "gas_limit": limit,
                  "max_fee_gwei": round(fees["maxFeePerGas"] / GWEI, 3), **(meta or {})}
        if self.dry_run:
            self.log(record)
            return None
        tx = {"to": to, "data": data, "value": 0, "gas": limit, "chainId": self.chain_id, "type": 2, **fees}
        if self._queue is not None:  # batching: signed now, sent by `flush` in one request
            if not self.pending and not self._queue:
                self.nonces.next = None
            nonce = self.nonces.take()
            raw, h = self._raw({**tx, "nonce": nonce})
            pending = Flight(h, nonce, purpose, key, head, {**tx, "nonce": nonce}, meta or {}, hashes=[h],
                             last_sent_block=head, gas_limit=limit)
            self.pending[h] = pending
            self._queue.append((pending, raw, record))
        else:
            pending = self._sign_and_send(tx, purpose, key, meta or {}, head)
            record.update(hash=pending.hash, nonce=pending.nonce)
            self.log(record)
        self.head_gas += limit
        return pending

    @contextmanager
    def batching(self):
        """Sends inside are signed at once and broadcast together by `flush` (one HTTP request for a round of
        bids instead of one each); `flush` runs on exit."""
        self._queue = [] if self._queue is None else self._queue
        try:
            yield self
        finally:
            self.flush()
            self._queue = None

    def flush(self) -> None:
        """Broadcast the queued transactions in one JSON-RPC batch, in nonce order. One the node refuses (other
        than "already known") leaves a nonce gap: it is filled at once by a 21,000-gas transfer to self."""
        queue, self._queue = (self._queue or []), ([] if self._queue is not None else None)
        if not queue:
            return
        self.rpc = self.rpc or RawRPC(self.w3.provider.endpoint_uri)
        try:
            replies = self.rpc.batch([("eth_sendRawTransaction", [raw]) for _, raw, _ in queue])
        except NodeDown:
            self.nonces.next = None
            raise
        resync = False
        for (p, raw, record), (ok, result) in zip(queue, replies):
            text = str(result).lower()
            if ok or "already known" in text:
                self.sent += 1
                record.update(hash=p.hash, nonce=p.nonce)
                self.log(record)
                continue
            self.pending.pop(p.hash, None)
            self.log({"event": "skip", "purpose": p.purpose, "nonce": p.nonce, "reason": str(result)[:200],
                      **{k: v for k, v in p.meta.items() if k == "account"}})
            if "nonce too low" in text:
                resync = True
                continue
            fees = self.bumped_fees(p.tx) or {k: p.tx[k] for k in ("maxFeePerGas", "maxPriorityFeePerGas")}
            filler = {"to": self.signer.address, "data": "0x", "value": 0, "gas": 21_000, "chainId": self.chain_id,
                      "type": 2, "nonce": p.nonce, **fees}
            f_raw, f_hash = self._raw(filler)
            ok_f, res_f = self._broadcast(f_raw)
            if ok_f:
                self.pending[f_hash] = Flight(f_hash, p.nonce, "cancel", ("cancel", p.nonce), p.sent_block, filler,
                                              {}, hashes=[f_hash], last_sent_block=p.sent_block, gas_limit=21_000)
            else:
                resync = True
        if resync:
            self.nonces.next = None

    def _raw(self, tx: dict) -> tuple[str, str]:
        if tx.get("type") == 2 and not tx.get("accessList"):
            return sign_1559(bytes(self.signer.key), tx)
        signed = self.signer.sign_transaction(tx)
        raw = "0x" + bytes(signed.raw_transaction).hex().removeprefix("0x")
        return raw, "0x" + bytes(signed.hash).hex().removeprefix("0x")

    def _broadcast(self, raw: str) -> tuple[bool, str]:
        self.rpc = self.rpc or RawRPC(self.w3.provider.endpoint_uri)
        self.rpc_calls += 1
        [(ok, result)] = self.rpc.batch([("eth_sendRawTransaction", [raw])])
        return ok, result

    def _sign_and_send(self, tx: dict, purpose: str, key: Hashable, meta: dict, head: int) -> Pending:
        if not self.pending:
            self.nonces.next = None  # nothing of ours in flight: the node's count is the truth
        for attempt in (1, 2):
            nonce = self.nonces.take()
            raw, h = self._raw({**tx, "nonce": nonce})
            try:
                ok, result = self._broadcast(raw)
            except NodeDown:
                self.nonces.next = None
                raise
            if not ok and "already known" in str(result).lower():
                ok, result = True, h
            if not ok:
                text = str(result).lower()
                if ("nonce" in text or "underpriced" in text) and attempt == 1:
                    self.nonces.resync()  # our count was off (another user of the key, a lost node)
                    continue
                self.nonces.release(nonce)
                raise WouldRevert(str(result))
            p = Flight(result, nonce, purpose, key, head, {**tx, "nonce": nonce}, meta, hashes=[result],
                       last_sent_block=head, gas_limit=int(tx["gas"]))
            self.pending[p.hash] = p
            self.sent += 1
            return p
        raise AssertionError("unreachable")

    def _replace(self, p: Flight, head: int, tx: dict, why: str) -> bool:
        return self._replace_many([(p, tx, why)], head)[0]

    def _replace_many(self, items: list[tuple[Flight, dict, str]], head: int) -> list[bool]:
        """Re-sign and re-broadcast `(pending, tx, why)` in one JSON-RPC batch (a crash bumps tens a block)."""
        if not items:
            return []
        signed = [self._raw(tx) for _, tx, _ in items]
        self.rpc = self.rpc or RawRPC(self.w3.provider.endpoint_uri)
        self.rpc_calls += 1
        replies = self.rpc.batch([("eth_sendRawTransaction", [raw]) for raw, _ in signed])
        return [self._replaced(p, head, tx, why, h, ok, result)
                for (p, tx, why), (_, h), (ok, result) in zip(items, signed, replies)]

    def _replaced(self, p: Flight, head: int, tx: dict, why: str, h: str, ok: bool, result) -> bool:
        text = str(result).lower()
        if ok or "already known" in text:
            p.tx = tx
            if h not in p.hashes:
                p.hashes.append(h)
            p.last_sent_block = head
            self.log({"event": why, "purpose": p.purpose, "nonce": p.nonce, "hash": h, "bumps": p.bumps,
                      "max_fee_gwei": round(tx["maxFeePerGas"] / GWEI, 3),
                      "tip_gwei": round(tx["maxPriorityFeePerGas"] / GWEI, 3)})
            return True
        if "nonce too low" in text:
            return False  # mined meanwhile: the next poll settles it
        self.log({"event": "replace_refused", "purpose": p.purpose, "nonce": p.nonce, "reason": str(result)[:200]})
        return False

    def bumped_fees(self, tx: dict) -> dict | None:
        """Both fees +`bump` (at least the market's now); None when that would pass the fee cap."""
        cap = int(self.policy.max_fee_gwei * GWEI)
        up = 1 + self.txp.bump
        market = self.policy.fees(self.base_fee()) if self.base_fee() + int(self.policy.priority_gwei * GWEI) <= cap \
            else {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}
        tip = max(int(tx["maxPriorityFeePerGas"] * up) + 1, market["maxPriorityFeePerGas"])
        fee = max(int(tx["maxFeePerGas"] * up) + 1, market["maxFeePerGas"], tip)
        if fee > cap:
            return None
        return {"maxFeePerGas": fee, "maxPriorityFeePerGas": tip}

    def cancel(self, p: Flight, head: int) -> bool:
        """Replace `p` by a transfer of 0 to self (21,000 gas) at bumped fees: its nonce is used, its call is not."""
        fees = self.bumped_fees(p.tx)
        if fees is None:
            return False
        tx = {"to": self.signer.address, "data": "0x", "value": 0, "gas": 21_000, "chainId": self.chain_id,
              "type": 2, "nonce": p.nonce, **fees}
        p.bumps += 1
        if self._replace(p, head, tx, "cancel"):
            p.purpose, p.gas_limit = "cancel", 21_000
            return True
        return False

    # -- following -----------------------------------------------------------------------------------------
    def poll(self, head: int) -> list[Outcome]:
        """One batch: a receipt per signed version of every pending transaction and the mined nonce count.
        Mined: `ok` / `reverted`. Nonce used by something else: `dropped`. Still waiting `bump_after` blocks
        since last sent (or unknown to the node): re-signed with bumped fees, same nonce."""
        if not self.pending:
            return []
        self.rpc = self.rpc or RawRPC(self.w3.provider.endpoint_uri)
        items = list(self.pending.values())
        # the mined count first: a nonce below it was mined before the receipts are read (no false "dropped")
        calls = [("eth_getTransactionCount", [self.signer.address, "latest"])]
        calls += [("eth_getTransactionReceipt", [h]) for p in items for h in self._versions(p.hash, p)]
        replies = self.rpc.batch(calls)
        self.rpc_calls += 1
        ok_count, count = replies[0]
        mined_count = int(count, 16) if ok_count else None
        done: list[Outcome] = []
        i = 1
        stuck: list[Flight] = []
        taken: list[Flight] = []
        for p in items:
            hashes = self._versions(p.hash, p)
            receipt = next((r for ok, r in replies[i:i + len(hashes)] if ok and r), None)
            i += len(hashes)
            if receipt is not None:
                del self.pending[p.hash]
                done.append(self._settled(p, receipt))
            elif mined_count is not None and p.nonce < mined_count:
                taken.append(p)  # mined, or its nonce went to another transaction: confirmed below
            elif head - getattr(p, "last_sent_block", p.sent_block) >= self.txp.bump_after or head < p.sent_block:
                stuck.append(p)
        if taken:  # a node may count a mined nonce a moment before it serves the receipt: ask again
            time.sleep(0.1)
            again = self.rpc.batch([("eth_getTransactionReceipt", [h]) for p in taken
                                    for h in self._versions(p.hash, p)])
            j = 0
            for p in taken:
                hashes = self._versions(p.hash, p)
                receipt = next((r for ok, r in again[j:j + len(hashes)] if ok and r), None)
                j += len(hashes)
                del self.pending[p.hash]
                if receipt is None:  # its nonce went to a transaction that is not one of its versions
                    self.dropped += 1
                    self.log({"event": "nonce_taken", "purpose": p.purpose, "nonce": p.nonce, "hashes": hashes})
                    done.append(Outcome(p, "dropped"))
                    continue
                done.append(self._settled(p, receipt))
        replace = []
        for p in sorted(stuck, key=lambda p: p.nonce):
            fees = self.bumped_fees(p.tx)
            if fees is None:
                # at the fee cap: re-broadcast as is (a node that forgot it learns it again)
                replace.append((p, dict(p.tx), "rebroadcast"))
                continue
            p.bumps += 1
            replace.append((p, {**p.tx, **fees}, "bump"))
        for (p, _, why), ok in zip(replace, self._replace_many(replace, head)):
            if ok and why == "bump":
                self.bumped += 1
        return done

    def _versions(self, h: str, p: Pending) -> list[str]:
        """After the node restarted a transaction is lost only if it knows none of its fee-bumped versions."""
        return getattr(p, "hashes", [h])
