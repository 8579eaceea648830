"""Vol feeder (`crossmargin agent vol --prices FILE`): posts forecast vols to the VolOracle, within its limits.

Each block, per underlying of the deployment that the forecast covers:
    target   the forecast (`crossmargin.sim.vol`: GARCH(1,1)-t or EWMA at the price file's last close, matched to
             the risk horizon and annualised), floored at the underlying's `vol_floor` and `--floor`
    limits   read from the VolOracle's views at run time, never hard-coded: `vol_range(uid, 0)` is the range an
             update would accept now (the bounds and the per-time rate limit: at most ×hour_factor against the
             value an hour ago, ×day_factor against a day ago), `params_of` gives the bounds, the heartbeat and
             the hour factor; `read_limits` is the one reader, `clamp` the one rule
    posted   clamp(target, limits): the target inside that range; sent when it differs from the current value by
             more than `--min-change` (relative) or the current value is older than `--refresh` seconds
             (heartbeat / 2 by default)
A target beyond the rate limit is reached over the following hours (the range widens as the anchors roll);
`steps_left` counts the hourly moves still needed. Restart-safe: nothing is kept locally;
the current value and its age are read from the chain every block, and a pending update per underlying blocks
the next one until it settles. Without a signer, or with `--dry-run`, it logs what it would send.

Sources of the forecast:
    --prices FILE   daily closes: GARCH(1,1)-t or EWMA at the file's last close (computed once at start)
    (no file)       the chain's own oracle history: the primary AggregatorV3 feed of each underlying (the router's
                    `feed_of`), its rounds walked back from `latestRoundData` over `--lookback` seconds (at most
                    `--max-rounds`; across proxy phases, as `crossmargin.chain.rounds` does), and
                    `crossmargin.sim.vol.rounds_vol`: a time-weighted EWMA of the variance rate (half-life
                    `--half-life`) seeded at the underlying's reference vol at the window's start. Recomputed every
                    block (rounds are read once and cached: a written round never changes), so a crash shows in
                    the target within the block that reports it; deterministic given the chain (restart-safe)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from crossmargin.bots.core import BotError, GasPolicy, Loop, Sender, guard
from crossmargin.bots.reads import Deployment
from crossmargin.sim.vol import decide   # the send rule, shared with the simulator

WAD = 10**18
OK = 0


@dataclass(frozen=True)
class VolLimits:
    """What the VolOracle accepts for one underlying now: WAD integers (the contract's own), seconds, a ratio."""

    min_vol: int
    max_vol: int
    lo: int               # smallest vol an update accepts now (bounds and rate limit)
    hi: int               # largest
    heartbeat: int
    hour_factor: float    # largest ratio to the value an hour ago

    @property
    def known(self) -> bool:
        return self.max_vol > 0


def read_limits(vol_oracle, uid: int) -> VolLimits:
    """The limits of underlying `uid`, from the contract's `params_of` and `vol_range` views (the one place they
    are read)."""
    p = guard(lambda: vol_oracle.functions.params_of(uid).call())
    if int(p[1]) == 0:
        return VolLimits(0, 0, 0, 0, 0, 1.0)
    lo, hi = guard(lambda: vol_oracle.functions.vol_range(uid, 0).call())
    return VolLimits(int(p[0]), int(p[1]), int(lo), int(hi), int(p[2]), int(p[4]) / WAD)


def clamp(target_wad: int, limits: VolLimits) -> int:
    """The WAD to post: `target_wad` inside the range the oracle accepts now. The one place the feeder applies the
    oracle's limits (the range is the contract's, in its integers: what is inside it is accepted)."""
    return min(max(target_wad, limits.lo), limits.hi)


@dataclass
class VolConfig:
    prices: Path | None = None        # daily closes (None: the chain's own oracle rounds)
    method: str = "garch"             # garch | ewma
    floor: float = 0.0                # an extra floor on every underlying (annualised)
    min_change: float = 0.01          # relative change below which nothing is sent (unless the value is old)
    refresh: int | None = None        # seconds after which the current value is re-posted (default heartbeat / 2)
    refit_days: int = 30
    half_life: int = 86_400           # chain source: the rounds EWMA's half-life, seconds
    lookback: int = 7 * 86_400        # chain source: rounds read back this far, seconds
    max_rounds: int = 2_000           # chain source: at most this many rounds per underlying

    def __post_init__(self) -> None:
        if self.method not in ("garch", "ewma"):
            raise BotError(f"--method must be garch or ewma, got {self.method!r}")
        if self.min_change < 0 or self.floor < 0:
            raise BotError("--min-change and --floor must be >= 0")
        if self.half_life <= 0 or self.lookback <= 0 or self.max_rounds < 2:
            raise BotError("--half-life and --lookback must be > 0 s, --max-rounds >= 2")


AGGREGATOR_ABI = [
    {"name": "latestRoundData", "type": "function", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": n, "type": t} for n, t in (("roundId", "uint80"), ("answer", "int256"),
                 ("startedAt", "uint256"), ("updatedAt", "uint256"), ("answeredInRound", "uint80"))]},
    {"name": "getRoundData", "type": "function", "stateMutability": "view",
     "inputs": [{"name": "_roundId", "type": "uint80"}],
     "outputs": [{"name": n, "type": t} for n, t in (("roundId", "uint80"), ("answer", "int256"),
                 ("startedAt", "uint256"), ("updatedAt", "uint256"), ("answeredInRound", "uint80"))]},
]


def round_history(get_round, latest_id: int, since: int, max_rounds: int) -> list[tuple[int, int]]:
    """(updatedAt, answer) of a feed's rounds, oldest first: walking back from `latest_id` while rounds exist,
    until the first one at or before `since` (kept: it is the price when the window opened) or `max_rounds`.
    `get_round(id)` returns (answer, updatedAt) or None (no such round). Proxy phases (id = phase << 64 | n) are
    crossed to the previous phase's last round (`crossmargin.chain.rounds`). Unusable answers (<= 0) are
    skipped."""
    from crossmargin.chain.rounds import AGGREGATOR_MASK, PHASE_SHIFT, _last_round_of_phase

    out: list[tuple[int, int]] = []
    rid = latest_id
    while rid is not None and len(out) < max_rounds:
        got = get_round(rid)
        if got is None:
            break
        answer, at = got
        if answer > 0 and at > 0:
            out.append((at, answer))
            if at <= since:
                break
        if rid & AGGREGATOR_MASK > 1:
            rid -= 1
        else:
            phase = rid >> PHASE_SHIFT
            rid = _last_round_of_phase(lambda i: (get_round(i) or (0, None))[1], phase - 1) if phase > 0 else None
    return sorted(out)


@dataclass
class VolState:
    posts: int = 0
    steps_left: dict = field(default_factory=dict)   # symbol -> updates still needed to reach the target
    rounds: dict = field(default_factory=dict)       # chain source: symbol -> rounds in the estimate


class VolFeeder:
    """The bot (handlers for `crossmargin.bots.core.Loop`)."""

    name = "vol"

    def __init__(self, w3, signer, gas: GasPolicy, dry_run: bool, config: VolConfig):
        self.w3, self.signer, self.gas, self.dry_run, self.config = w3, signer, gas, dry_run, config
        self.state = VolState()
        self.outcomes = {"ok": 0, "reverted": 0, "dropped": 0}

    # -- handlers ----------------------------------------------------------------------------------------
    def start(self, loop: Loop) -> None:
        from crossmargin.sim.history import load_prices
        from crossmargin.sim.vol import forecast_vols

        self.dep = Deployment.load(self.w3)
        self.vo = self.dep.contract("VolOracle")
        self.sender = Sender(self.w3, self.signer, self.dep.manifest.chain_id, self.gas,
                             dry_run=self.dry_run or self.signer is None,
                             sim_from=self.signer.address if self.signer else None, log=loop.log)
        if self.signer is not None and not self.dry_run:
            role = guard(lambda: self.vo.functions.FEEDER_ROLE().call())
            if not guard(lambda: self.vo.functions.hasRole(role, self.signer.address).call()):
                raise BotError(f"{self.signer.address} lacks FEEDER_ROLE on the VolOracle ({self.vo.address})")
        self.targets = {}
        if self.config.prices is None:
            self._start_chain_source(loop)
            return
        try:
            prices = load_prices(self.config.prices)
        except (OSError, ValueError) as exc:
            raise BotError(f"--prices: {exc}") from None
        params = self.dep.params
        symbols = [u for u in params.symbols if u in prices.symbols]
        if not symbols:
            raise BotError(f"the price file has none of {', '.join(params.symbols)}")
        f = forecast_vols(prices.only(symbols), params.risk.horizon_days, refit_days=self.config.refit_days,
                          with_garch=self.config.method == "garch")
        for j, u in enumerate(symbols):
            x = f.vol(self.config.method)[-1, j]
            if x == x:  # not NaN
                floor = max(params.underlying(u).vol_floor, self.config.floor)
                self.targets[u] = max(float(x), floor)
        loop.log({"event": "started", "vol_oracle": self.vo.address, "method": self.config.method,
                  "as_of": str(prices.dates[-1]), "targets": {u: round(v, 6) for u, v in self.targets.items()},
                  "dry_run": self.sender.dry_run, "signer": self.signer.address if self.signer else None})

    # -- the chain's own history ----------------------------------------------------------------------------
    def _start_chain_source(self, loop: Loop) -> None:
        router = self.dep.contract("OracleRouter")
        self.feeds, self.rounds = {}, {}
        for u in self.dep.params.underlyings:
            primary = guard(lambda u=u: router.functions.feed_of(u.id).call())[0]
            if int(primary, 16) == 0:
                continue
            self.feeds[u.symbol] = self.w3.eth.contract(address=primary, abi=AGGREGATOR_ABI)
            self.rounds[u.symbol] = {}
        if not self.feeds:
            raise BotError("no underlying of the deployment has a price feed")
        loop.log({"event": "started", "vol_oracle": self.vo.address, "method": "rounds-ewma",
                  "source": {u: f.address for u, f in self.feeds.items()}, "half_life": self.config.half_life,
                  "lookback": self.config.lookback, "dry_run": self.sender.dry_run,
                  "signer": self.signer.address if self.signer else None})

    def _get_round(self, symbol: str, rid: int):
        cache = self.rounds[symbol]
        if rid not in cache:
            try:
                _, answer, _, at, _ = self.feeds[symbol].functions.getRoundData(rid).call()
                cache[rid] = (int(answer), int(at)) if int(at) else None
            except Exception:  # noqa: BLE001 -- a revert: the round does not exist
                return None   # not cached: it may be written later
        return cache[rid]

    def _chain_targets(self, now: int) -> dict:
        """Per underlying: the rounds EWMA over the lookback (module docstring), floored; absent without rounds."""
        from crossmargin.sim.vol import rounds_vol

        out, history = {}, {}
        for u, feed in self.feeds.items():
            latest = int(guard(lambda feed=feed: feed.functions.latestRoundData().call())[0])
            rows = round_history(lambda rid, u=u: self._get_round(u, rid), latest, now - self.config.lookback,
                                 self.config.max_rounds)
            if not rows:
                continue
            und = self.dep.params.underlying(u)
            x = rounds_vol([t for t, _ in rows], [a for _, a in rows], und.vol, self.config.half_life)
            out[u] = max(x, und.vol_floor, self.config.floor)
            history[u] = len(rows)
        self.state.rounds = history
        return out

    def on_reconnect(self, loop: Loop) -> None:
        lost = self.sender.forget_pending()
        loop.log({"event": "resynced", "lost_txs": len(lost)})

    def on_block(self, loop: Loop, block) -> dict:
        head, now = int(block["number"]), int(block["timestamp"])
        self.sender.settle(head, self.outcomes)
        record, sent = {}, 0
        if self.config.prices is None:
            self.targets = self._chain_targets(now)
        for u, uid, target in self._posted():
            limits = read_limits(self.vo, uid)
            if not limits.known:
                record[u] = None
                continue
            cur_wad, _status = guard(lambda uid=uid: self.vo.functions.vol(uid).call())
            cur_wad = int(cur_wad)
            updated = int(guard(lambda uid=uid: self.vo.functions.last_update(uid).call()))
            current = cur_wad / WAD
            target_wad = int(target * WAD)
            goal = min(max(target_wad, limits.min_vol), limits.max_vol)   # where we want to end (inside the bounds)
            post = clamp(target_wad, limits)
            record[u] = round(current, 6)
            refresh = self.config.refresh or max(1, limits.heartbeat // 2)
            wad = decide(cur_wad, post, now - updated, refresh, self.config.min_change, limits.min_vol,
                         limits.max_vol)
            self.state.steps_left[u] = _steps(current, goal / WAD, limits.hour_factor)
            if wad is None or self.sender.busy(("vol", uid)):
                continue
            self.sender.send(self.vo, "set_vol", [uid, wad], "vol", key=("vol", uid), head=head,
                             meta={"underlying": u, "from": current, "to": wad / WAD, "target": target})
            sent += 1
        self.state.posts += sent
        out = {"vols": record, "posts": self.state.posts, "sent": sent, "steps_left": dict(self.state.steps_left)}
        if self.config.prices is None:
            out |= {"targets": {u: round(v, 6) for u, v in self.targets.items()}, "rounds": dict(self.state.rounds)}
        return out

    def _posted(self) -> list[tuple[str, int, float]]:
        """(symbol, VolOracle id, target) of every id posted: the underlyings with a target (an ERC-4626 share
        price id has no vol: its shares are margined in the asset's book)."""
        p = self.dep.params
        return [(u, p.underlying(u).id, t) for u, t in self.targets.items()]

    def stop(self, loop: Loop) -> dict:
        return {"posts": self.state.posts, "sent": self.sender.sent if self.sender else 0, **self.outcomes,
                "targets": {u: round(v, 4) for u, v in self.targets.items()}}


def _steps(current: float, goal: float, factor: float) -> int:
    """Hourly moves of at most ×`factor` (or ÷) from `current` to `goal` (0 if there is nothing to do; 1 for a
    first value, which is free within the bounds)."""
    if current <= 0:
        return 1
    if abs(goal - current) <= 1e-12 * current:
        return 0
    if factor <= 1:
        return 1
    return max(1, math.ceil(abs(math.log(goal / current)) / math.log(factor) - 1e-9))
