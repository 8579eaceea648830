"""Share-rate poker (`crossmargin agent shares`): keeps each ERC-4626 share feed's accepted rate fresh.

The OracleRouter credits a share vault's rate rise at most `max_rise_per_day` above the last accepted rate r0
(TECH_SPEC "ERC-4626 share feeds"): cap = r0 + r0·max_rise_per_day·(now − t0)/day. Genuine yield needs no poke (the
cap grows with time), but the headroom (cap − r0)/r0 grows with the time since the last poke, and a donation up to
it is credited at once: only an attacker profits from a stale r0. Each block, per share vault of the deployment
(`[[share_vaults]]`), the bot reads `share_feed_of` / `share_rate` and sends `update_share_rate(uid)` (anyone may)
when
    age      now − t0 ≥ `--interval` seconds, or
    headroom (cap − r0)/r0 > `--max-headroom`
and the live rate is usable. It does not poke a DEGRADED feed (a fall beyond `max_drop`: a poke would lock the fall
in as r0, and a manipulated dip then recovers only at max_rise_per_day) unless `--accept-drops`; it logs `degraded`
once per episode instead. A reverting vault (live 0) is skipped (a poke changes nothing). One pending poke per vault.

Failure policy: `crossmargin.bots.run` (the deployment check is `AccountBot.ready`'s). Without a signer, or with
`--dry-run`, it logs what it would send.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crossmargin.bots.base import AccountBot, BotOptions
from crossmargin.bots.core import BotError, GasPolicy, Loop, Sender, guard
from crossmargin.bots.reads import Deployment
from crossmargin.model.share_rate import DAY, DEGRADED, STALE

WAD = 10**18
STATUS = {0: "OK", 1: "DEGRADED", 2: "STALE"}


@dataclass
class ShareConfig:
    interval: int = 6 * 3600          # poke when the accepted rate is older than this (seconds)
    max_headroom: float = 0.0002      # ... or when (cap - r0) / r0 exceeds this (2 bp: ~5 h at 0.1 %/day)
    accept_drops: bool = False        # poke a DEGRADED feed too (accepts the fall as the new r0)

    def __post_init__(self) -> None:
        if self.interval <= 0 or self.max_headroom < 0:
            raise BotError("--interval must be > 0 seconds and --max-headroom >= 0")


@dataclass(frozen=True)
class Guard:
    """One share feed as read now (rates WAD asset tokens per share token)."""

    r0: int
    t0: int
    max_rise: int
    live: int
    used: int
    status: int

    def cap(self, now: int) -> int:
        return self.r0 + self.r0 * self.max_rise // WAD * max(now - self.t0, 0) // DAY

    def headroom(self, now: int) -> float:
        return (self.cap(now) - self.r0) / self.r0 if self.r0 else 0.0


def should_poke(g: Guard, now: int, config: ShareConfig) -> str | None:
    """Why to poke now (`age`, `headroom`), or None. The one rule (tests call it)."""
    if g.live == 0 or g.status == STALE:
        return None
    if g.status == DEGRADED and not config.accept_drops:
        return None
    if now - g.t0 >= config.interval:
        return "age"
    if g.headroom(now) > config.max_headroom:
        return "headroom"
    return None


def read_guard(router, uid: int) -> Guard:
    f = guard(lambda: router.functions.share_feed_of(uid).call())
    live, used, status = guard(lambda: router.functions.share_rate(uid).call())
    return Guard(int(f[6]), int(f[7]), int(f[4]), int(live), int(used), int(status))


@dataclass
class ShareState:
    pokes: int = 0
    degraded: set = field(default_factory=set)    # symbols in a DEGRADED episode already logged


class SharePoker:
    """The bot (handlers for `crossmargin.bots.core.Loop`)."""

    name = "shares"
    checks_deployment = True
    ALIVE_EVERY = 1
    ready = AccountBot.ready   # the bots' deployment check and redeploy pick-up (it restarts through `start`)

    def __init__(self, w3, signer, gas: GasPolicy, dry_run: bool, config: ShareConfig):
        self.w3, self.signer, self.gas, self.dry_run, self.config = w3, signer, gas, dry_run, config
        self.options = BotOptions()       # what `AccountBot.ready` reads (no account)
        self.account = None
        self._alive_at = self._waiting_since = None
        self.state = ShareState()
        self.outcomes = {"ok": 0, "reverted": 0, "dropped": 0}
        self.sender: Sender | None = None

    def start(self, loop: Loop) -> None:
        self.dep = Deployment.load(self.w3)
        self.router = self.dep.contract("OracleRouter")
        self.vaults = {v.symbol: v.uid for v in self.dep.params.share_vaults}
        if not self.vaults:
            raise BotError(f"the deployment ({self.dep.manifest.params_name} parameters) lists no share vaults")
        self.sender = Sender(self.w3, self.signer, self.dep.manifest.chain_id, self.gas,
                             dry_run=self.dry_run or self.signer is None,
                             sim_from=self.signer.address if self.signer else None, log=loop.log)
        loop.log({"event": "started", "router": self.router.address, "vaults": self.vaults,
                  "interval": self.config.interval, "max_headroom": self.config.max_headroom,
                  "accept_drops": self.config.accept_drops, "dry_run": self.sender.dry_run,
                  "signer": self.signer.address if self.signer else None})

    def on_reconnect(self, loop: Loop) -> None:
        self._alive_at = None
        lost = self.sender.forget_pending()
        loop.log({"event": "resynced", "lost_txs": len(lost)})

    def on_block(self, loop: Loop, block) -> dict:
        head, now = int(block["number"]), int(block["timestamp"])
        self.sender.settle(head, self.outcomes)
        rows, sent = {}, 0
        for symbol, uid in self.vaults.items():
            g = read_guard(self.router, uid)
            rows[symbol] = {"r0": g.r0 / WAD, "age": now - g.t0, "live": g.live / WAD, "used": g.used / WAD,
                            "headroom": round(g.headroom(now), 8), "status": STATUS[g.status]}
            if g.status == DEGRADED and not self.config.accept_drops:
                if symbol not in self.state.degraded:
                    self.state.degraded.add(symbol)
                    loop.log({"event": "degraded", "vault": symbol, "r0": g.r0 / WAD, "live": g.live / WAD,
                              "note": "not poked: a poke would accept the fall (--accept-drops)"})
                continue
            self.state.degraded.discard(symbol)
            why = should_poke(g, now, self.config)
            if why is None or self.sender.busy(("poke", uid)):
                continue
            self.sender.send(self.router, "update_share_rate", [uid], "poke", key=("poke", uid), head=head,
                             meta={"vault": symbol, "why": why, "r0": g.r0 / WAD, "to": g.used / WAD,
                                   "age": now - g.t0, "headroom": round(g.headroom(now), 8)})
            sent += 1
        self.state.pokes += sent
        return {"vaults": rows, "pokes": self.state.pokes, "sent": sent}

    def stop(self, loop: Loop) -> dict:
        return {"pokes": self.state.pokes, "sent": self.sender.sent if self.sender else 0, **self.outcomes}
