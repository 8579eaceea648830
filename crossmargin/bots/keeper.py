"""Liquidation keeper (`crossmargin keeper run`, `ape run keeper`).

Every new block:
1. index: `eth_getLogs` from the last processed block adds every account an event touched (`AccountIndex`);
   a head below the last processed block or a different hash there (node reset, reorg) rebuilds it;
2. settle: outcomes of its transactions (a revert because another keeper was faster — `auction active` on a
   start, `no auction` on a bid or a close — is a lost race; any other revert is counted under its reason;
   either way the account backs off; nothing is retried blindly); unmined ones are fee-bumped (`txs.TxSender`);
3. scan: health of its accounts through the Lens in liquidation mode (`Lens.health_for_liquidation`: what the
   Liquidation contract judges; a stale feed penalises instead of hiding the account), in batches;
4. act, within this signer's gas budget for the block (`txs.TxPolicy`), in priority order:
   - starts first (they start the Dutch clock), largest MM shortfall first, batched: `start_auctions` of up
     to `start_batch` accounts per transaction (the contract skips an account another keeper started: a lost
     race costs nothing);
   - bids on open auctions, insolvent and largest shortfall first: the largest fraction it may take if
     `value − payment − gas − unwind cost ≥ min_profit` (else wait: the discount grows every block),
     simulated at the pending block (a rival's bid in the pool makes it revert there: not sent), with
     `max_cost` as slippage guard and a gas limit sized to its own estimate (a bid that cannot fit the cap is
     split: half the fraction); only as many bids are planned as the block's remaining gas can take;
   - `start_auction` restarts an expired auction; `refresh_loss` records an auction that went under water
     since it opened (its loss then holds withdrawals: a public service); `close_auction` ends an auction whose
     account is no longer below MM;
5. unwind: positions it received are closed against the market maker's quotes.

Sharding (`--shard i/n`): account `a` belongs to shard `a mod n`. Each keeper scans its own accounts every
block and the others every `takeover_blocks` blocks. For a foreign account, a keeper of rank
`r = (i − a) mod n` acts only after the condition (liquidatable, or auction open) persisted `r · takeover_blocks`
blocks: a live owner has acted long before, a dead one is replaced by exactly one successor at a time, so
shards never double-bid and no account is left behind. Once a keeper had to take over an account of shard j
while its own rank for j is 1 (it is j's first successor), it treats shard j as dead and serves all of j's
accounts at once (rank 0) for `dead_blocks` blocks, unless shard j's keeper is seen acting again (a start or a
bid by it on a shard-j account): the load of a killed keeper moves to its successor within
`takeover_blocks` blocks, and back when it restarts.

State lives in one `KeeperState`; the loop (crossmargin.bots.core) handles node restarts and SIGINT.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from crossmargin.bots.base import AccountBot, BotOptions
from crossmargin.bots.core import BotError, GasCapped, Loop, RawRPC, Skipped, WouldRevert, guard
from crossmargin.bots.liquidation import LiquidationAdapter
from crossmargin.bots.reads import FAILED, STALE, AccountIndex, Health, HealthReader
from crossmargin.bots.txs import Full, TooBig, TxPolicy, TxSender, encode_call
from crossmargin.chain.errors import reasons

LOST_START = reasons()["AUCTION_ACTIVE"]   # another keeper started the auction first
LOST_BID = reasons()["NO_AUCTION"]         # another bid closed the auction first (or another keeper's close)
EXPIRED = reasons()["AUCTION_EXPIRED"]     # the auction outlived its max age: restart it
# bid simulations failing for these reasons fail whatever the fraction: no smaller retry
NOT_FRACTION = {EXPIRED, reasons()["NOT_LIQUIDATABLE"], reasons()["NO_AUCTION"], reasons()["STALE_ORACLE"]}

WAD = 10**18
ETH = 1  # underlying id that prices gas (the chain's native coin on the dev chains and mainnet)


@dataclass
class KeeperConfig:
    shard: int = 0
    shards: int = 1
    takeover_blocks: int = 3          # how long a foreign account waits per rank before this keeper steps in
    batch: int = 250                  # accounts per Lens call
    min_profit: float = 0.0           # USD, after gas and unwind cost
    unwind_cost: float = 0.003        # cost of closing what a bid brings (fraction of notional) when the book is empty
    unwind: bool = True               # close received positions against the maker
    min_own_ratio: float = 1.05       # no new bid when the keeper's own equity/IM is below this
    position_gas: int = 60_000        # extra bid gas per instrument another in-flight bid brings first
    start_batch: int = 32             # accounts per `start_auctions` transaction
    dead_blocks: int = 20             # how long a shard whose account we had to take over counts as dead
    refresh_losses: bool = True       # `refresh_loss` on auctions that went under water since they opened
    watch_pool: bool = True           # skip accounts a rival's pending transaction already acts on (txpool_content)
    plan_budget_ms: int = 1200        # no new bid planning once the loop has run this long (the rest: next block)
    screen_batch: int = 64            # auctions screened (reads only) per JSON-RPC batch before bids are simulated
    full_scan_blocks: int = 5         # rescan accounts near MM at least this often (and all when a price moved)
    near_ratio: float = 1.5           # "near": last seen equity_mm below this multiple of MM
    idle_scan_blocks: int = 30        # rescan every account, near or not, at least this often
    max_loss_usd: float = 0.0         # bid an auction at its maximum discount at up to this loss (0: never)
    tx: TxPolicy = field(default_factory=TxPolicy)
    backoff_blocks: int = 2           # after a failure; doubles per consecutive failure (max 64)
    close_auctions: bool = True       # end auctions of accounts no longer below MM (no reward: gas only)
    state_file: Path | None = None    # resume the index after a keeper restart

    def __post_init__(self) -> None:
        if self.shards < 1 or not 0 <= self.shard < self.shards:
            raise BotError(f"--shard must be i/n with 0 <= i < n, got {self.shard}/{self.shards}")


def parse_shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise BotError(f"--shard must look like 0/2, got {text!r}") from None
    KeeperConfig(shard=i, shards=n)
    return i, n


@dataclass
class KeeperState:
    """Everything the keeper remembers between blocks."""

    last_block: int | None = None
    last_hash: str | None = None
    health: dict[int, Health] = field(default_factory=dict)           # last row seen per account
    since: dict[tuple[str, int], int] = field(default_factory=dict)   # (phase, account) -> first block seen
    backoff: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)  # -> (until block, failures)
    started: int = 0
    closed: int = 0
    bids: int = 0
    liquidations: int = 0
    lost_races: int = 0
    failures: dict[str, int] = field(default_factory=dict)            # other reverts, by reason
    profit_usd: float = 0.0
    gas_usd: float = 0.0
    unwinds: int = 0
    resets: int = 0
    alive_at: int | None = None                                       # head of the last deployment check
    dead: dict[int, int] = field(default_factory=dict)                # shard -> counted dead until this block
    refreshed: dict[int, int] = field(default_factory=dict)           # account -> V (WAD) at our last refresh
    wait_until: dict[int, int] = field(default_factory=dict)          # account -> block to re-plan its bid
    refreshes: int = 0

    def clear_chain_view(self) -> None:
        self.alive_at = None
        self.health.clear()
        self.since.clear()
        self.backoff.clear()
        self.dead.clear()
        self.wait_until.clear()


class Keeper(AccountBot):
    name = "keeper"
    checks_deployment = False  # on_block checks it itself (`_redeployed` also resets the keeper's state)

    def __init__(self, w3, signer, options: BotOptions, config: KeeperConfig):
        super().__init__(w3, signer, options)
        self.config = config
        self.state = KeeperState()

    # -- lifecycle ---------------------------------------------------------------------------------------
    def on_start(self, loop: Loop) -> None:
        old = self.sender
        self.sender = TxSender(self.w3, self.signer, old.chain_id, self.options.gas, dry_run=self.options.dry_run,
                               sim_from=old.sim_from, log=loop.log, tx=self.config.tx)
        self.taker.sender = self.sender
        self._web3_calls = 0
        self._count_web3()
        self._wait_hint: dict[int, int] = {}
        self._timing = {"plan": 0.0, "send": 0.0}
        self._ramp = None
        self._t_loop = time.monotonic()
        self._block_time = 2.0
        self._last_ts: int | None = None
        self._scan_prices: dict | None = None
        self._last_full = self._last_all = -10**9
        self.liq = LiquidationAdapter(self.dep)
        self.reader = HealthReader(self.dep, batch=self.config.batch, liquidation_mode=True)
        self.index = AccountIndex(self.dep)
        self.taker_fee = int(guard(lambda: self.dep.clearinghouse.functions.taker_fee_rate().call())) / WAD
        self.rpc = RawRPC(self.w3.provider.endpoint_uri)
        if getattr(self, "_pool", None) is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(4, thread_name_prefix="bid-plan")
        self._load_state()
        if not self.liq.available:
            loop.log({"event": "note", "note": "deployment has no Liquidation contract: watching only"})
        if self.dep.lens is None:
            loop.log({"event": "note", "note": "deployment has no Lens: one eth_call per account"})
        loop.log({"event": "keeper", "shard": f"{self.config.shard}/{self.config.shards}",
                  "liquidation": self.liq.address, "index_from": self.index.last_block + 1,
                  "health": self.reader.fn, "batched_starts": self.liq.batched_starts})

    def on_reconnect(self, loop: Loop) -> None:
        super().on_reconnect(loop)
        self.state.backoff.clear()  # the world may have moved on while we were away

    def stop(self, loop: Loop) -> dict:
        self._save_state()
        s, tx = self.state, self.sender
        return {**super().stop(loop), "shard": f"{self.config.shard}/{self.config.shards}",
                "accounts": len(self.index.accounts), "started": s.started, "closed": s.closed, "bids": s.bids,
                "liquidations": s.liquidations, "lost_races": s.lost_races, "failures": sum(s.failures.values()),
                "failure_reasons": dict(s.failures), "unwinds": s.unwinds, "refreshes": s.refreshes,
                "bumped": getattr(tx, "bumped", 0), "too_big": getattr(tx, "too_big", 0),
                "profit_usd": round(s.profit_usd, 2), "gas_usd": round(s.gas_usd, 4), "last_block": s.last_block}

    # -- the loop body -------------------------------------------------------------------------------------
    def on_block(self, loop: Loop, block) -> dict:
        head, now = int(block["number"]), int(block["timestamp"])
        s = self.state
        self._t_loop = time.monotonic()
        rpc0 = self._rpc_count()
        if self._chain_moved_back(loop, head):
            self._reset(loop)
        if s.alive_at is None or head - s.alive_at >= 20:  # re-checked after a reset and every 20 blocks
            if not self._alive() and not self._redeployed(loop):
                return {"waiting": "deployment not on chain"}
            s = self.state
            s.alive_at = head
        self.sender.begin_block(block)
        if self._last_ts is not None and s.last_block is not None and head > s.last_block and now > self._last_ts:
            self._block_time = 0.8 * self._block_time + 0.2 * (now - self._last_ts) / (head - s.last_block)
        self._last_ts = now
        changed = self.index.sync(head)
        self._watch_peers(changed, head)
        t_settle = time.monotonic()
        self._settle(head)
        t0 = time.monotonic()
        accounts = self._plan(head, changed)
        rows = self.reader.scan(accounts)
        scan_ms = (time.monotonic() - t0) * 1000
        own = next((h for h in rows if h.account == self.account), None) or self.health()
        counts = {"liquidatable": 0, "in_auction": 0, "stale": 0, "failed": 0, "deferred": 0}
        starts, bids, closes = [], [], []
        for h in rows:
            s.health[h.account] = h
            if h.account == self.account:
                continue
            phase = _phase(h)
            if h.status == FAILED:
                counts["failed"] += 1
                continue
            if phase is None:
                s.since.pop(("start", h.account), None)
                s.since.pop(("bid", h.account), None)
                s.since.pop(("close", h.account), None)
                s.since.pop(("auction", h.account), None)
                s.wait_until.pop(h.account, None)
                continue
            counts["liquidatable" if phase == "start" else "in_auction"] += 1
            if h.status == STALE:  # liquidation mode: no usable price at all (sequencer down): wait
                counts["stale"] += 1
                continue
            if self._waiting((phase, h.account), head):
                continue
            if phase == "bid":  # its turn is decided once the bid is worth making (see `_bid`)
                bids.append(h)
                continue
            first = s.since.setdefault((phase, h.account), head)
            if not self._my_turn(h.account, first, head):
                counts["deferred"] += 1
                continue
            (closes if phase == "close" else starts).append(h)
        sent = {"started": 0, "bids": 0, "closed": 0, "unwinds": 0, "refreshed": 0, "capped": False,
                "restarts": [], "refresh": []}
        if starts or bids:  # the pending block: what rival keepers already sent for these accounts waits for them
            rivals = self._rival_intents()
            if rivals:
                counts["rival_pending"] = sum(1 for h in starts + bids if h.account in rivals)
                starts = [h for h in starts if h.account not in rivals]
                bids = [h for h in bids if h.account not in rivals]
        t_act = time.monotonic()
        if self.liq.available:
            with self.sender.batching():
                self._act(starts, bids, closes, own, head, now, sent, counts)
        elif starts or bids:
            loop.log({"event": "would_liquidate", "accounts": [h.account for h in starts + bids][:50],
                      "note": "no Liquidation contract"})
        act_ms = (time.monotonic() - t_act) * 1000
        timing = {f"{k}_ms": round(v * 1000, 1) for k, v in self._timing.items()}
        self._timing = {"plan": 0.0, "send": 0.0}
        if self.config.unwind and not sent["capped"]:
            sent["unwinds"] = self._unwind(head, now)
        s.last_block, s.last_hash = head, _hex(block["hash"])
        if head % 20 == 0:
            self._save_state()
        from crossmargin.sim.liqprob import keeper_column  # issue 14: P(liq, 24 h), computed off the loop
        forecast = keeper_column(self.dep, rows, self.__dict__.setdefault("_liqprob", {}))
        return {"shard": f"{self.config.shard}/{self.config.shards}", "accounts": len(self.index.accounts),
                "scanned": len(rows), "scan_ms": round(scan_ms, 1), "settle_ms": round((t0 - t_settle) * 1000, 1),
                "act_ms": round(act_ms, 1), **timing, **counts,
                "started": sent["started"], "bids": sent["bids"], "closed": sent["closed"],
                "refreshed": sent["refreshed"], "unwinds": sent["unwinds"],
                "gas_capped": sent["capped"], "liquidations": s.liquidations, "lost_races": s.lost_races,
                "failures": sum(s.failures.values()),
                "profit_usd": round(s.profit_usd, 2), "gas_usd": round(s.gas_usd, 4),
                "own_ratio": round(min(own.ratio, 1e9), 4),
                "pending": len(self.sender.pending), "inflight_gas": self.sender.inflight_gas(),
                "bumped": self.sender.bumped, "dead_shards": sorted(s.dead), "rpc": self._rpc_count() - rpc0,
                **forecast}

    def _act(self, starts, bids, closes, own, head: int, now: int, sent: dict, counts: dict) -> None:
        """Starts, bids, restarts, refreshes, closes: in that order, until the gas budget stops the round."""
        sent["capped"] = self._start(sorted(starts, key=lambda h: -h.mm_shortfall), head, sent)
        if not sent["capped"] and own.ratio >= self.config.min_own_ratio:
            sent["capped"] = self._bid(self._bid_order(bids), head, now, sent, counts)
        if not sent["capped"] and sent["restarts"]:  # expired auctions found by the bid simulations
            sent["capped"] = self._restart(sent["restarts"], head, sent)
        refresh = [h for h in sent["refresh"] if not self.sender.busy(("bid", h.account))]
        if not sent["capped"] and refresh:  # those no bid of ours takes this block
            sent["capped"] = self._refresh(refresh, head, sent)
        if not sent["capped"] and self.config.close_auctions:
            sent["capped"] = self._close(closes, head, sent)

    def _rpc_count(self) -> int:
        """HTTP requests to the node so far: web3's (counted by `_count_web3`) and the raw JSON-RPC batches of
        the keeper, the reader and the sender (a batch is one request)."""
        raws = (self.rpc, getattr(self.reader, "_rpc", None), self.sender.rpc)
        return self._web3_calls + sum(r.requests for r in raws if r is not None)

    def _count_web3(self) -> None:
        provider = self.w3.provider
        if getattr(provider, "_keeper_counted", False):
            return
        inner = provider.make_request

        def counted(method, params):
            self._web3_calls += 1
            return inner(method, params)

        provider.make_request = counted
        provider._keeper_counted = True

    # -- scanning plan and shards --------------------------------------------------------------------------
    def _owner(self, account: int) -> int:
        return account % self.config.shards

    def _rank(self, account: int, head: int | None = None) -> int:
        owner = self._owner(account)
        rank = (self.config.shard - owner) % self.config.shards
        if rank == 1 and head is not None and self.state.dead.get(owner, -1) >= head:
            return 0  # we are the first successor of a shard seen dead: its accounts are ours for now
        return rank

    def _my_turn(self, account: int, first_seen: int, head: int) -> bool:
        rank = self._rank(account, head)
        if rank == 0:
            return True
        if head - first_seen < rank * self.config.takeover_blocks:
            return False
        if rank == 1:  # its owner let the condition persist past its takeover delay: count that shard dead
            owner = self._owner(account)
            if self.state.dead.get(owner, -1) < head and self.sender is not None:
                self.sender.log({"event": "shard_dead", "shard": owner, "account": account, "until":
                                 head + self.config.dead_blocks})
            self.state.dead[owner] = head + self.config.dead_blocks
        return True

    def _watch_peers(self, changed: set[int], head: int) -> None:
        """A shard counted dead that acts again (a start or a bid by its keeper on one of its accounts, seen in
        this block's events) gets its accounts back."""
        if not self.state.dead or self.config.shards < 2 or not self.liq.available:
            return
        try:
            logs = guard(lambda: self.w3.eth.get_logs({"address": self.liq.address, "fromBlock": head,
                                                       "toBlock": head}))
        except Exception:  # noqa: BLE001 - best effort
            return
        for log in logs:
            topics = log["topics"]
            if len(topics) < 3:
                continue
            account = int.from_bytes(bytes(topics[1]), "big")
            actor = int.from_bytes(bytes(topics[2]), "big")
            owner = self._owner(account)
            if owner in self.state.dead and actor != self.account:
                # an AuctionStarted / Bid on a shard-`owner` account by another keeper than us: it is alive (only
                # its owner acts on it before us: we are its first successor)
                self.state.dead.pop(owner, None)
                self.sender.log({"event": "shard_alive", "shard": owner, "account": account})

    def _plan(self, head: int, changed: set[int] = frozenset()) -> list[int]:
        """A full scan when a price moved (or every `idle_scan_blocks` blocks): own accounts, foreign ones every
        `takeover_blocks` blocks; every `full_scan_blocks` blocks the same among accounts near MM only (last seen
        equity_mm < `near_ratio` × MM: what time alone moves between events and price moves, funding, a vol post
        or its staleness mark-up (+25 %), cannot take a farther account below MM); else only what may have
        changed: accounts an event touched, and those liquidatable or in auction (to act, and to time a
        takeover). At N = 2,000 a scan of every account takes ~1.3 s on a loaded 2-core machine."""
        s, every, cfg = self.state, max(1, self.config.takeover_blocks), self.config
        watched = {a for (_, a) in s.since} | set(s.wait_until)
        prices = self._prices_now()
        moved = prices != self._scan_prices or head - self._last_all >= cfg.idle_scan_blocks
        # a bid waiting for its discount is re-planned at once when its inputs moved: a price, or an event on it
        if prices != self._scan_prices:
            s.wait_until.clear()
        for a in changed:
            s.wait_until.pop(a, None)
        if moved or head - self._last_full >= cfg.full_scan_blocks:
            self._scan_prices, self._last_full = prices, head
            if moved:
                self._last_all = head

            def near(a: int) -> bool:
                h = s.health.get(a)
                return moved or h is None or h.in_auction or h.status in (STALE, FAILED) \
                    or h.equity_mm * 10**6 < h.mm * int(cfg.near_ratio * 10**6)

            out = [a for a in self.index.accounts
                   if ((self._rank(a, head) == 0 or head % every == 0) and near(a)) or a in watched
                   or (a in s.health and s.health[a].in_auction)]
        else:
            out = sorted(set(changed) | watched | {a for a, h in s.health.items() if h.in_auction or h.liquidatable})
        if self.account not in out:
            out.append(self.account)
        return out

    def _alive(self) -> bool:
        """`Deployment.alive` in one JSON-RPC batch (each contract names its neighbour)."""
        from crossmargin.bots.txs import call_params

        dep = self.dep
        links = [(n, fn, o) for n, fn, o in (("Vault", "margin_checker", "RiskEngine"),
                                             ("Clearinghouse", "risk_engine", "RiskEngine"),
                                             ("RiskEngine", "positions", "Clearinghouse"),
                                             ("Liquidation", "risk_engine", "RiskEngine"),
                                             ("Lens", "risk_engine", "RiskEngine")) if dep.has(n) and dep.has(o)]
        try:
            replies = self.rpc.batch([("eth_call", call_params(dep.contract(n), fn, [])) for n, fn, _ in links])
        except Exception:  # noqa: BLE001 - NodeDown is raised again by the slow path
            return dep.alive()
        for (_, _, other), (ok, data) in zip(links, replies):
            if not ok or len(data) < 66 or "0x" + data[-40:].lower() != dep.manifest.address(other).lower():
                return False
        return True

    def _positions(self) -> dict[int, int]:
        """`positions()` of the keeper's account in one raw call (web3's contract call: ~40 ms under load)."""
        from crossmargin.bots.txs import call_params, decode_call

        ch = self.dep.clearinghouse
        [(ok, data)] = self.rpc.batch([("eth_call", call_params(ch, "positions_of", [self.account]))])
        if not ok:
            return self.positions()
        return {int(r[0]): int(r[1]) for r in decode_call(ch, "positions_of", data) if int(r[1]) != 0}

    def _prices_now(self) -> dict:
        """{underlying id: (price, status)} from the OracleRouter in one JSON-RPC batch (None: unreadable)."""
        from crossmargin.bots.txs import call_params, decode_call as decode_result

        router = self.dep.router
        ids = [u.id for u in self.dep.params.underlyings]
        out = {}
        for uid, (ok, data) in zip(ids, self.rpc.batch([("eth_call", call_params(router, "price", [uid]))
                                                        for uid in ids])):
            out[uid] = tuple(int(x) for x in decode_result(router, "price", data)) if ok else None
        self._price_cache = out
        return out

    def _waiting(self, key: tuple[str, int], head: int) -> bool:
        if key[0] == "start" and key[1] in self._starting():
            return True
        if self.sender.busy(key):
            return True
        until = self.state.backoff.get(key)
        return until is not None and head < until[0]

    def _starting(self) -> set[int]:
        out: set[int] = set()
        for p in self.sender.pending.values():
            if p.purpose == "start_auctions":
                out.update(p.meta.get("accounts", ()))
        return out

    def _fail(self, key: tuple[str, int], head: int) -> None:
        failures = self.state.backoff.get(key, (0, 0))[1] + 1
        self.state.backoff[key] = (head + min(64, self.config.backoff_blocks * 2 ** (failures - 1)), failures)

    def _rival_intents(self) -> set[int]:
        """Accounts that another sender's transaction in the node's pool already starts, bids on or closes
        (`txpool_content`: the pending block's Liquidation calls; a node without it: nothing known). Acting on
        them too would only lose the race: the keeper waits a block and looks again."""
        if not self.config.watch_pool:
            return set()
        try:
            [(ok, pool)] = self.rpc.batch([("txpool_content", [])])
        except Exception:  # noqa: BLE001 - best effort
            return set()
        if not ok or not isinstance(pool, dict):
            self.config.watch_pool = False  # not offered by this node: never asked again
            return set()
        me = (self.sender.address or "").lower()
        target = (self.liq.address or "").lower()
        sel = self._selectors()
        out: set[int] = set()
        for section in ("pending", "queued"):
            for sender, txs in (pool.get(section) or {}).items():
                if sender.lower() == me:
                    continue
                for tx in txs.values():
                    if str(tx.get("to") or "").lower() != target:
                        continue
                    data = str(tx.get("input") or tx.get("data") or "")
                    fn = sel.get(data[:10])
                    if fn == "start_auctions":
                        n = int(data[10 + 128:10 + 192], 16) if len(data) >= 202 else 0
                        out.update(int(data[202 + 64 * i:266 + 64 * i], 16) for i in range(min(n, 64)))
                    elif fn is not None and len(data) >= 74:
                        out.add(int(data[10:74], 16))
        return out

    def _selectors(self) -> dict[str, str]:
        if getattr(self, "_sel", None) is None:
            from eth_utils import function_abi_to_4byte_selector

            self._sel = {"0x" + function_abi_to_4byte_selector(x).hex(): x["name"] for x in self.liq.contract.abi
                         if x.get("type") == "function" and x["name"] in
                         ("start_auction", "start_auctions", "bid", "close_auction")}
        return self._sel

    def _bid_order(self, rows: list[Health]) -> list[Health]:
        """Largest expected bad debt first (under water: the lowest E_mm), then the largest MM shortfall, by
        powers of 2; inside such a bucket a per-keeper salt orders the accounts, so competing keepers do not all
        walk the same list in the same order."""
        salt = (self.account or 0) * 0x9E3779B1

        def key(h: Health):
            under = h.equity_mm < 0
            # buckets of similar urgency (under water first, then shortfall within a factor of 2), shuffled
            # per keeper inside a bucket: competing keepers start on different accounts
            size = abs(h.equity_mm) if under else max(h.mm_shortfall, 1)
            return (0 if under else 1, -size.bit_length(), ((h.account * 2654435761) ^ salt) & 0xFFFFFFFF)

        return sorted(rows, key=key)

    # -- actions -------------------------------------------------------------------------------------------
    def _start(self, rows: list[Health], head: int, sent: dict) -> bool:
        """Open auctions: `start_auctions` of up to `start_batch` accounts per transaction (each batch simulated
        at the pending block), else one `start_auction` each. Returns True when the gas budget stops the round."""
        if not rows:
            return False
        if not self.liq.batched_starts:
            calls = [self.liq.start_call(h.account, self.account) for h in rows]
            return self._send_batch(rows, calls, "start_auction", "start", "started", head, sent,
                                    lambda h: {"account": h.account,
                                               "mm_shortfall_usd": round(h.mm_shortfall / WAD, 2)})
        size = max(1, self.config.start_batch)
        chunks = [rows[i:i + size] for i in range(0, len(rows), size)]
        while chunks:
            # simulate up to 8 chunks in one batch; split ones come back to the queue
            todo, chunks = chunks[:8], chunks[8:]
            sims = self.sender.simulate_many(self.rpc, [
                (self.liq.address, encode_call(self.liq.contract, *self.liq.starts_call([h.account for h in c],
                                                                                          self.account)))
                for c in todo])
            for chunk, gas in zip(todo, sims):
                accounts = [h.account for h in chunk]
                try:
                    if isinstance(gas, WouldRevert):
                        # a batch skips what it cannot start: it reverts only out of gas (the node's call cap,
                        # the block's limit) or for the starter (authorisation): split until that is clear
                        raise TooBig(gas.reason) if len(chunk) > 1 else gas
                    fn, args = self.liq.starts_call(accounts, self.account)
                    self.sender.send(self.liq.contract, fn, args, "start_auctions", key=("starts", accounts[0]),
                                     head=head, gas=gas, meta={"accounts": accounts, "n": len(accounts)},
                                     urgent=True)
                except TooBig:
                    if len(chunk) > 1:  # split it
                        half = len(chunk) // 2
                        chunks.extend([chunk[:half], chunk[half:]])
                        continue
                    self._fail(("start", accounts[0]), head)
                    continue
                except (Full, GasCapped) as exc:
                    self.sender.log({"event": "gas_capped", "reason": str(exc)})
                    return True
                except Skipped as exc:
                    for a in accounts:
                        self._fail(("start", a), head)
                    self.sender.log({"event": "skip", "purpose": "start_auctions", "accounts": accounts,
                                     "reason": str(exc)})
                    continue
                sent["started"] += len(accounts)
        self.sender.flush()  # starts go out first: they start the Dutch clock
        return False

    def _restart(self, rows: list[Health], head: int, sent: dict) -> bool:
        if self.liq.batched_starts:
            return self._start(rows, head, sent)
        calls = [self.liq.start_call(h.account, self.account) for h in rows]
        return self._send_batch(rows, calls, "start_auction", "start", "started", head, sent,
                                lambda h: {"account": h.account})

    def _refresh(self, rows: list[Health], head: int, sent: dict) -> bool:
        calls = [self.liq.refresh_call(h.account) for h in rows]
        return self._send_batch(rows, calls, "refresh_loss", "refresh", "refreshed", head, sent,
                                lambda h: {"account": h.account,
                                           "value_usd": round(self.liq.last_value.get(h.account, 0) / WAD, 2)})

    def _send_batch(self, rows: list[Health], calls: list, purpose: str, tag: str, counter: str, head: int,
                    sent: dict, meta) -> bool:
        """Simulate `calls` (one per row) in one batch, then send each that would not revert, in order (nonces);
        a skip backs its (tag, account) off. Returns True when the gas budget stops the round."""
        if not rows:
            return False
        sims = self.sender.simulate_many(self.rpc, [(self.liq.address, encode_call(self.liq.contract, fn, args))
                                                    for fn, args in calls])
        for h, (fn, args), gas in zip(rows, calls, sims):
            try:
                if isinstance(gas, WouldRevert):
                    raise gas
                self.sender.send(self.liq.contract, fn, args, purpose, key=(tag, h.account), head=head,
                                 gas=gas, meta=meta(h))
            except (Full, GasCapped) as exc:
                self.sender.log({"event": "gas_capped", "reason": str(exc)})
                return True
            except Skipped as exc:
                self._fail((tag, h.account), head)
                self.sender.log({"event": "skip", "purpose": purpose, "account": h.account, "reason": str(exc)})
                continue
            sent[counter] += 1
        return False

    def _bid(self, rows: list[Health], head: int, now: int, sent: dict, counts: dict) -> bool:
        """Bid on open auctions that are worth it now, as many as the block's remaining gas takes. A foreign
        shard's account counts its takeover delay from the first block its bid was worth making (its owner runs
        the same rule, so it bid then if alive)."""
        s = self.state
        rows = [h for h in rows if s.wait_until.get(h.account, -1) <= head and self._may_plan(h.account, head)]
        if not rows:
            return False
        prices = {k: v for k, v in (getattr(self, "_price_cache", None) or self.dep.prices()).items() if v}
        eth_usd = prices.get(ETH, (0, 0))[0] / WAD
        try:
            fee = self.options.gas.fees(self.sender.base_fee())["maxFeePerGas"]
        except GasCapped as exc:
            self.sender.log({"event": "gas_capped", "reason": str(exc)})
            return True
        held = set(self._positions())
        inflight = {i for p in self.sender.pending.values() if p.purpose == "bid"
                    for i in p.meta.get("instruments", ())}

        def plan_one(h: Health):
            try:
                return h, self._plan_bid(h, prices, eth_usd, fee, now), None
            except WouldRevert as exc:
                return h, None, exc

        # plan only what the budget can take (a bid costs ~0.6M gas): the rest is planned next block, fresher;
        # auctions are screened first (reads only, `screen_batch` a batch): only a bid that may be worth making
        # now is simulated, the others wait for their discount without costing the node a bid's execution
        typical = max(400_000, getattr(self, "_bid_gas", 600_000))
        queue: list[Health] = []
        while rows or queue:
            room = self.sender.room()
            if room < typical:
                return True
            if (time.monotonic() - self._t_loop) * 1000 > self.config.plan_budget_ms:
                self.sender.log({"event": "plan_budget", "left": len(rows) + len(queue)})
                return False  # the loop keeps up with the chain: the rest is planned next block
            waiting: list = []
            if not queue:
                chunk, rows = rows[:self.config.screen_batch], rows[self.config.screen_batch:]
                t = time.monotonic()
                queue, waiting = self._screen(chunk, prices, eth_usd, fee, now)
                self._timing["plan"] += time.monotonic() - t
            take = max(1, min(len(queue), room // typical + 2, 16))
            batch, queue = queue[:take], queue[take:]
            if self.config.watch_pool and sent["bids"]:  # rivals sent meanwhile: leave them their accounts
                rivals = self._rival_intents()
                batch = [h for h in batch if h.account not in rivals]
            t = time.monotonic()
            planned = iter(waiting + list(self._pool.map(plan_one, batch) if len(batch) > 1
                                          else map(plan_one, batch)))
            self._timing["plan"] += time.monotonic() - t
            while True:
                item = next(planned, None)
                if item is None:
                    break
                h, plan, error = item
                key = ("bid", h.account)
                auction = self.liq.last_auction.get(h.account)
                value = self.liq.last_value.get(h.account)
                if (self.config.refresh_losses and auction is not None and value is not None and value <= 0
                        and auction.live(now) and self._refresh_due(h.account, auction, value, h)):
                    sent["refresh"].append(h)
                if error is not None and error.reason == EXPIRED:
                    sent["restarts"].append(h)  # the auction outlived its max age: restart it at d_start
                    continue
                if error is not None:
                    self._fail(key, head)
                    self.sender.log({"event": "skip", "purpose": "bid", "account": h.account, "reason": error.reason})
                    continue
                if plan is None:
                    s.since.pop(key, None)
                    # not worth it yet: look again when the growing discount may have made it so
                    s.wait_until[h.account] = head + self._wait_hint.pop(h.account, 2)
                    continue
                first = s.since.setdefault(key, head)
                if not self._my_turn(h.account, first, head):
                    counts["deferred"] += 1
                    continue
                quote, gas, profit, instruments = plan
                # the bid re-checks the bidder's margin over every instrument it holds once it is mined: one an
                # earlier in-flight bid brings first (and this one does not) adds a position to that check
                gas += self.config.position_gas * len(inflight - held - set(instruments))
                fn, args = self.liq.bid_call(h.account, self.account, quote.fraction, _max_cost(quote.payment))
                t = time.monotonic()
                try:
                    self.sender.send(self.liq.contract, fn, args, "bid", key=key, head=head, gas=gas,
                                     meta={"account": h.account, "fraction": round(quote.fraction / WAD, 4),
                                           "payment_usd": round(quote.payment / WAD, 2),
                                           "discount": round(quote.discount / WAD, 4),
                                           "expected_profit_usd": round(profit, 2),
                                           "instruments": sorted(instruments)})
                except TooBig:
                    self._fail(key, head)
                    continue
                except (Full, GasCapped) as exc:
                    self.sender.log({"event": "gas_capped", "reason": str(exc)})
                    return True
                except Skipped as exc:
                    self._fail(key, head)
                    self.sender.log({"event": "skip", "purpose": "bid", "account": h.account, "reason": str(exc)})
                    continue
                self._timing["send"] += time.monotonic() - t
                inflight |= set(instruments)
                self._bid_gas = gas
                sent["bids"] += 1
            t = time.monotonic()
            self.sender.flush()  # this plan batch's bids go out now, not after the whole round
            self._timing["send"] += time.monotonic() - t
        return False

    def _screen(self, rows: list[Health], prices: dict, eth_usd: float, fee: int, now: int) -> tuple[list, list]:
        """(rows to plan in full, `(row, None, None)` items of those that wait): one batch of reads for all rows;
        a bid whose profit at a low gas guess (half the last bid's) is below `min_profit` while its auction is
        live and short of its maximum discount waits the blocks its deficit needs (`_blocks_to_profit`), one
        with nothing to bid on 2 blocks; everything else (worth it, expired, at d_max, unreadable) is planned."""
        got = self.liq.screen(self.rpc, [h.account for h in rows])
        gas_usd = max(150_000, getattr(self, "_bid_gas", 600_000) // 2) * fee / 1e18 * eth_usd
        plan, waiting = [], []
        for h in rows:
            if h.account not in got:
                plan.append(h)
                continue
            quote, positions = got[h.account]
            if quote is None:
                waiting.append((h, None, None))
                continue
            auction = self.liq.last_auction.get(h.account)
            unwind_usd = self._unwind_usd(positions, prices, now) * quote.fraction / WAD
            profit = quote.gross_profit / WAD - gas_usd - unwind_usd
            if profit >= self.config.min_profit or auction is None or not auction.live(now) \
                    or self._at_max_discount(h.account, now):
                plan.append(h)
                continue
            self._wait_hint[h.account] = self._blocks_to_profit(h, quote, self.config.min_profit - profit, now)
            waiting.append((h, None, None))
        return plan, waiting

    def _at_max_discount(self, account: int, now: int) -> bool:
        """The auction's discount reached d_max (its ramp is over): waiting no longer raises the profit."""
        if self._ramp is None:
            d0, d1, t, *_ = guard(lambda: self.liq.contract.functions.params().call())
            self._ramp = (int(d0), int(d1), max(1, int(t)))
        auction = self.liq.last_auction.get(account)
        return auction is not None and auction.active and now - auction.start >= self._ramp[2]

    def _blocks_to_profit(self, h: Health, quote, deficit_usd: float, now: int) -> int:
        """Blocks until the growth of the bid's gross profit covers `deficit_usd`, at least 1, at most 30 (30 when
        it never does within 30 blocks): the discount's growth (f·V·Δd solvent, MM·Δd insolvent, until d_max) plus,
        on a sliver, its escalation reward's (issue 18: `LiquidationAdapter.reward_at`, from escalation_delay after
        the auction's start, ramping over T)."""
        if self._ramp is None:
            d0, d1, t, *_ = guard(lambda: self.liq.contract.functions.params().call())
            self._ramp = (int(d0), int(d1), max(1, int(t)))
        d0, d1, t = self._ramp
        auction = self.liq.last_auction.get(h.account)
        start = auction.start if auction is not None else now   # unknown: as if its ramp had just begun
        base = quote.value if quote.value > 0 else h.mm

        def gross(at: float) -> float:   # WAD USD: what waiting until `at` adds is gross(at) - gross(now)
            d = d0 + (d1 - d0) * min(max(at - start, 0), t) / t
            reward = self.liq.reward_at(h.account, auction, h.mm, quote.value, at) if auction is not None else 0.0
            return base * d / WAD + reward

        g0, need = gross(now), max(deficit_usd, 0.0) * WAD
        for k in range(1, 31):
            if gross(now + k * self._block_time) - g0 >= need:
                return k
        return 30

    def _may_plan(self, account: int, head: int) -> bool:
        """A foreign shard's auction is planned (quotes, simulation) only once it has been open for this
        keeper's takeover delay: its live owner bids it before that; the takeover delay proper then counts from
        the first block the bid was worth making (see `_bid`)."""
        rank = self._rank(account, head)
        if rank == 0:
            return True
        first = self.state.since.setdefault(("auction", account), head)
        return head - first >= rank * self.config.takeover_blocks

    def _refresh_due(self, account: int, auction, value: int, h: Health) -> bool:
        """An auction under water now whose recorded loss is short: opened solvent (not flagged insolvent), or
        its V fell by more than 1 % of MM since our last refresh."""
        if self.sender.busy(("refresh", account)):
            return False
        last = self.state.refreshed.get(account)
        if not auction.insolvent:
            return last is None or value < last
        if last is None:  # opened under water: its loss was booked at about this V; refresh once it grows
            self.state.refreshed[account] = value
            return False
        return last - value > h.mm // 100

    def _plan_bid(self, h: Health, prices: dict, eth_usd: float, fee: int, now: int):
        """(quote, gas, expected profit USD, instruments) for the largest fraction this keeper can carry, or
        None to wait.

        Profit = value received − payment − gas − unwind cost; the bid is simulated from the keeper's account at
        the pending block (its own IM may not carry the whole fraction, or the gas may not fit the cap: halve,
        up to three times). One JSON-RPC batch per try."""
        fraction, last_reason = WAD, "bid does not simulate"
        for _ in range(4):
            quote, positions, gas = self.liq.plan(self.rpc, h.account, self.account, fraction, self.sender.sim_from)
            if quote is None:
                return None  # not below MM: nothing to bid on (the next scan closes the auction)
            too_big = False
            if not isinstance(gas, WouldRevert):
                try:
                    self.sender.gas_limit(gas)
                except TooBig as exc:
                    gas, too_big = WouldRevert(str(exc)), True
            if isinstance(gas, WouldRevert):
                last_reason = gas.reason
                if quote.fraction < 2 * 10**12 or (gas.reason in NOT_FRACTION and not too_big) \
                        or (too_big and quote.value <= 0):
                    break
                fraction = quote.fraction // 2
                continue
            gas_usd = gas * fee / 1e18 * eth_usd
            unwind_usd = self._unwind_usd(positions, prices, now) * quote.fraction / WAD
            profit = quote.gross_profit / WAD - gas_usd - unwind_usd
            if profit < self.config.min_profit:
                if self._at_max_discount(h.account, now) and profit >= -self.config.max_loss_usd > -float("inf") \
                        and self.config.max_loss_usd > 0:
                    # escalation: unprofitable at the maximum discount, it will not get better: clear it at a
                    # bounded loss (the operator's public service, like `close_auction`)
                    self.sender.log({"event": "stranded_bid", "account": h.account, "expected_loss_usd":
                                     round(-profit, 2), "value_usd": round(quote.value / WAD, 2)})
                    return quote, gas, profit, [int(r[0]) for r in positions if int(r[1]) != 0]
                if self._at_max_discount(h.account, now):
                    self.sender.log({"event": "unbiddable", "account": h.account, "value_usd":
                                     round(quote.value / WAD, 2), "gross_usd": round(quote.gross_profit / WAD, 2),
                                     "unwind_usd": round(unwind_usd, 2), "gas_usd": round(gas_usd, 2)})
                self._wait_hint[h.account] = self._blocks_to_profit(h, quote, self.config.min_profit - profit, now)
                return None  # not yet: the discount grows with time
            return quote, gas, profit, [int(r[0]) for r in positions if int(r[1]) != 0]
        raise WouldRevert(last_reason)

    def _close(self, rows: list[Health], head: int, sent: dict) -> bool:
        """End auctions whose account is no longer below MM (simulated first: a revert is skipped)."""
        calls = [self.liq.close_call(h.account) for h in rows]
        return self._send_batch(rows, calls, "close_auction", "close", "closed", head, sent,
                                lambda h: {"account": h.account})

    def _unwind_usd(self, positions, prices: dict, now: int) -> float:
        """USD it would cost to close these positions against the maker now: per position, the best quote's
        distance from the index plus the taker fee (`unwind_cost` where the book is empty)."""
        total = 0.0
        for r in positions:
            iid, size = int(r[0]), int(r[1])
            if size == 0:
                continue
            spec = self.dep.listed.market(iid)
            index = prices.get(self.dep.params.underlying(spec.underlying).id, (0, 0))[0]
            if index == 0:
                continue
            rate = self.config.unwind_cost
            quotes = self.book.quotes(iid, taker_buys=size < 0, now=now)  # a long lot is sold into the bids
            if quotes:
                rate = abs(quotes[0].price - index) / index + self.taker_fee
            total += abs(size) / WAD * index / WAD * rate
        return total

    def _unwind(self, head: int, now: int) -> int:
        sent = 0
        positions = self.positions()
        if not positions:
            return 0
        prices = self.dep.prices()
        for iid, size in positions.items():
            spec = self.dep.listed.market(iid)
            price, status = prices[self.dep.params.underlying(spec.underlying).id]
            if status == STALE or any(p.purpose == "unwind" and p.meta.get("instrument") == iid
                                      for p in self.sender.pending.values()):
                continue  # one unwind per instrument in flight: positions_of does not see pending fills
            done, pendings = self.taker.take(iid, -size, price, now, head, "unwind", meta={"instrument_name": spec.name})
            if done:
                sent += 1
                self.state.unwinds += 1
        return sent

    # -- outcomes, resets, persistence --------------------------------------------------------------------
    def _settle(self, head: int) -> None:
        s = self.state
        eth_usd = None
        for o in self.settle(head):
            p = o.pending
            if o.gas_cost_wei:
                if eth_usd is None:  # the last loop's prices (one batch), else the router's
                    cached = (getattr(self, "_price_cache", None) or {}).get(ETH)
                    eth_usd = (cached or self.dep.prices().get(ETH, (0, 0)))[0] / WAD
                s.gas_usd += o.gas_cost_wei / 1e18 * eth_usd
            if p.purpose == "start_auction":
                if o.status == "ok":
                    s.started += 1
                else:
                    self._count_revert(o, LOST_START)
                    self._fail(p.key, head)
            elif p.purpose == "start_auctions":
                if o.status == "ok":
                    s.started += int(p.meta.get("n", 0))  # asked: accounts another keeper started are skipped
                else:
                    self._count_revert(o, LOST_START)
                    for a in p.meta.get("accounts", ()):
                        self._fail(("start", a), head)
            elif p.purpose == "refresh_loss":
                if o.status == "ok":
                    s.refreshes += 1
                    account = int(p.meta.get("account", 0))
                    s.refreshed[account] = self.liq.last_value.get(account, 0)
                else:
                    self._count_revert(o, LOST_BID)
                    self._fail(p.key, head)
            elif p.purpose == "close_auction":
                if o.status == "ok":
                    s.closed += 1
                else:
                    self._count_revert(o, LOST_BID)
                    self._fail(p.key, head)
            elif p.purpose == "bid":
                s.bids += 1
                if o.status == "ok":
                    s.liquidations += 1
                    s.profit_usd += float(p.meta.get("expected_profit_usd", 0.0))
                    s.backoff.pop(p.key, None)
                else:
                    self._count_revert(o, LOST_BID)
                    self._fail(p.key, head)

    def _count_revert(self, o, lost: str) -> None:
        """A revert with `lost` as reason is a race another keeper won; others are failures, by reason."""
        if o.status != "reverted":
            return
        if o.reason == lost:
            self.state.lost_races += 1
        else:
            reason = o.reason or "unknown"
            self.state.failures[reason] = self.state.failures.get(reason, 0) + 1

    def _chain_moved_back(self, loop: Loop, head: int) -> bool:
        s = self.state
        if s.last_block is None:
            return False
        if head < s.last_block:
            return True
        [(ok, known)] = self.rpc.batch([("eth_getBlockByNumber", [hex(s.last_block), False])])  # NodeDown: reconnect
        if not ok or not known:  # block not found: the chain was replaced
            return True
        return str(known["hash"]).removeprefix("0x") != str(s.last_hash).removeprefix("0x")

    def _reset(self, loop: Loop) -> None:
        self.state.resets += 1
        loop.log({"event": "chain_reset", "last_block": self.state.last_block})
        self.index.reset()
        self.state.clear_chain_view()
        self.state.last_block = self.state.last_hash = None
        self.sender.forget_pending()

    def _redeployed(self, loop: Loop) -> bool:
        """The chain lost our deployment (a dev node restarted empty): pick up a new one from the manifest once
        `crossmargin deploy` wrote it (a fork re-deploy), and start over on it."""
        from crossmargin.bots.reads import Deployment

        try:
            fresh = Deployment.load(self.w3)
        except BotError:
            return False
        if not fresh.alive():
            return False
        loop.log({"event": "redeployed", "vault": fresh.manifest.address("Vault")})
        self.account = self.options.account_id
        self.state = KeeperState()
        self.start(loop)
        return True

    def _load_state(self) -> None:
        path = self.config.state_file
        if path is None or not Path(path).exists():
            return
        try:
            data = json.loads(Path(path).read_text())
        except ValueError:
            return
        if data.get("vault") != self.dep.manifest.address("Vault"):
            return
        try:
            known = guard(lambda: self.w3.eth.get_block(int(data["last_block"])))
        except Exception:  # noqa: BLE001 - the chain does not have that block any more
            return
        if _hex(known["hash"]) != data.get("last_hash"):
            return
        self.index.accounts = {int(a): int(b) for a, b in data["accounts"].items()}
        self.index.last_block = int(data["last_block"])
        self.state.last_block, self.state.last_hash = int(data["last_block"]), data["last_hash"]

    def _save_state(self) -> None:
        path = self.config.state_file
        if path is None or self.state.last_block is None:
            return
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"vault": self.dep.manifest.address("Vault"), "last_block": self.state.last_block,
                                   "last_hash": self.state.last_hash,
                                   "accounts": {str(a): b for a, b in self.index.accounts.items()}}))
        tmp.replace(path)


def _phase(h: Health) -> str | None:
    """What the keeper does with this row: `bid` on an open auction of a liquidatable account (or restart it
    once expired, see `_bid`), `close` an open auction whose account is no longer below MM (bids on it revert),
    `start` one on a liquidatable account, nothing otherwise (healthy accounts are never touched)."""
    if h.in_auction:
        return "bid" if h.liquidatable else "close"
    return "start" if h.liquidatable else None


def _max_cost(payment: int) -> int:
    """The bid's slippage guard: the quoted payment plus 0.5 % and 1 USD (prices may tick before inclusion)."""
    return payment + abs(payment) // 200 + WAD


def _hex(value) -> str:
    return value.hex() if isinstance(value, (bytes, bytearray)) else str(value)
