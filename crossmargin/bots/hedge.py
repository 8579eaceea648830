"""Hedge orchestrator (`crossmargin agent hedge --max-delta 25000`).

Reads the operated account's aggregate Greeks (`RiskEngine.greeks`: delta per underlying, positions plus linked
collateral) every block. When |delta| (USD) of an underlying exceeds `max_delta`, it takes the opposite side on
that underlying's PERP from the maker's signed quotes, sized to bring delta back to `target_delta`. Every fill
is simulated first and the Clearinghouse enforces IM; a hedge the margin does not allow is halved (up to three
times) and otherwise skipped. Vega: reported against `max_vega` once option positions carry it; there is no
option market to hedge it with through perps, so the agent warns and leaves it.
"""

from __future__ import annotations

from dataclasses import dataclass

from crossmargin.bots.base import AccountBot, BotOptions, round_size
from web3.exceptions import ContractLogicError

from crossmargin.bots.core import Loop, guard, revert_reason
from crossmargin.bots.reads import STALE
from crossmargin.chain.engine_views import greeks_from_breakdown

WAD = 10**18


@dataclass
class HedgeConfig:
    max_delta: float = 25_000.0      # USD of delta per underlying before hedging
    target_delta: float = 0.0        # USD of delta a hedge aims at
    max_vega: float | None = None    # USD per vol point (1.00) before warning
    halvings: int = 3                # smaller tries when the margin refuses a hedge


class Hedger(AccountBot):
    name = "hedge"

    def __init__(self, w3, signer, options: BotOptions, config: HedgeConfig):
        super().__init__(w3, signer, options)
        self.config = config
        self.hedges = 0
        self.hedged_usd = 0.0
        self.warned_vega: set[int] = set()
        self.unavailable: str | None = None

    def on_block(self, loop: Loop, block) -> dict:
        head, now = int(block["number"]), int(block["timestamp"])
        self.settle(head)
        try:
            greeks = greeks_from_breakdown(guard(lambda: self.dep.risk.functions.requirement_breakdown(self.account).call()))
        except (ContractLogicError, ValueError) as exc:  # e.g. an instrument the engine cannot price yet
            reason = revert_reason(exc)
            if reason != self.unavailable:
                self.unavailable = reason
                loop.log({"event": "greeks_unavailable", "reason": reason})
            return {"account": self.account, "greeks": "unavailable"}
        self.unavailable = None
        prices = self.dep.prices()
        deltas = {}
        worst = 0.0
        record = {"account": self.account, "hedges": self.hedges, "hedged_usd": round(self.hedged_usd, 2)}
        for g in greeks:
            uid, delta, delta_usd, vega = int(g[0]), int(g[1]), int(g[2]) / WAD, int(g[4]) / WAD
            sym = self.dep.params.underlying(uid).symbol
            deltas[sym] = round(delta_usd, 2)
            worst = max(worst, abs(delta_usd))
            if self.config.max_vega is not None and abs(vega) > self.config.max_vega and uid not in self.warned_vega:
                self.warned_vega.add(uid)
                loop.log({"event": "vega_over_limit", "underlying": sym, "vega": vega,
                          "note": "no option market to hedge vega through perps: left as is"})
            if abs(delta_usd) <= self.config.max_delta or self.sender.pending:
                continue
            price, status = prices[uid]
            perp = self.dep.perp(uid)
            if perp is None or (status == STALE and price == 0):
                continue
            self._hedge(perp.id, sym, delta_usd, price, now, head)
        return {**record, "delta_usd": deltas, "max_abs_delta_usd": round(worst, 2),
                "pending": len(self.sender.pending)}

    def _hedge(self, perp_id: int, sym: str, delta_usd: float, price: int, now: int, head: int) -> None:
        size = round_size(int((self.config.target_delta - delta_usd) / (price / WAD) * WAD))
        for _ in range(self.config.halvings + 1):
            if size == 0:
                return
            done, _ = self.taker.take(perp_id, size, price, now, head, "hedge",
                                      meta={"underlying": sym, "delta_usd": round(delta_usd, 2)})
            if done:
                self.hedges += 1
                self.hedged_usd += abs(done) * price / WAD / WAD
                return
            size = round_size(size // 2)  # no quote took it: the margin (or the book) refused; try smaller


__all__ = ["Hedger", "HedgeConfig", "BotOptions"]
