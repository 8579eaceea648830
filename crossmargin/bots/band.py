"""Collateral-band agent (`crossmargin agent band --target 1.6 --low 1.3 --high 2.2`).

Keeps `ratio = equity_im / IM` of the account it operates inside [low, high]:
- below `low`: deposits settlement cash from its reserve wallet (the signer's) to bring the ratio back to
  `target`; when the reserve cannot cover it, reduces every position by the fraction that restores `target`
  (pure reductions, taken from the maker's quotes: always allowed, even with stale prices);
- above `high` (prices OK): withdraws the surplus down to `target`.
Its own actions never bring the account towards liquidation: a withdrawal stops at `target` (> low > 1, and
the Vault re-checks IM), a reduction only shrinks positions. One action at a time: it waits for the last one
to settle before it reads the ratio again.

Forecast policy (`--max-pliq p`, e.g. 0.01): "keep P(liquidation within 24 h) below p". Every `pliq_every` blocks
the agent reads its account into the margin model and computes P by Monte Carlo (`crossmargin.sim.liqprob`:
filtered historical simulation on the shipped history, the VolOracle's vols, full revaluation). Above p it deposits the
cash that brings P to p / 2 (exact on the simulated paths: `LiqProb.topup`), and reduces every position by
1.1 · (T - D) / (T + E_mm) when the reserve D is short of the need T. It acts before the MM breach, on what may
happen within a day, instead of on how far the ratio has already fallen (the `low` trigger is off). Withdrawals
above `high` stay, capped so that P stays below p / 2 (`LiqProb.spare`). Replayed on real history against the
plain agent by `crossmargin report band-forecast` (`crossmargin.sim.liqagent`).
"""

from __future__ import annotations

from dataclasses import dataclass

from crossmargin.bots.base import AccountBot, BotOptions, round_size
from crossmargin.bots.core import BotError, Loop, Skipped, guard
from crossmargin.bots.reads import FAILED, OK, STALE

WAD = 10**18


@dataclass
class BandConfig:
    target: float = 1.6
    low: float = 1.3
    high: float = 2.2
    asset: str = "USDC"          # the settlement asset (cash: no haircut, so 1 USD deposited is 1 USD of equity)
    min_usd: float = 10.0        # smaller moves are not worth a transaction
    reduce_buffer: float = 1.1   # reduce a bit more than the estimate (spread, fees)
    max_pliq: float | None = None  # forecast policy: keep P(liquidation, 24 h) below this (None: plain band)
    pliq_every: int = 10         # blocks between two forecasts
    pliq_paths: int = 2048

    def __post_init__(self) -> None:
        if not 1.0 < self.low < self.target < self.high:
            raise BotError(f"need 1 < low < target < high, got low {self.low}, target {self.target}, high {self.high}")
        if self.max_pliq is not None and not 0 < self.max_pliq < 1:
            raise BotError(f"--max-pliq must be a probability in (0, 1), got {self.max_pliq}")


class BandAgent(AccountBot):
    name = "band"

    def __init__(self, w3, signer, options: BotOptions, config: BandConfig):
        super().__init__(w3, signer, options)
        self.config = config
        self.deposited = self.withdrawn = 0.0
        self.reductions = 0
        self.min_ratio = float("inf")
        self.max_ratio = 0.0
        self.forecast = None      # the last LiqProb (forecast policy)
        self.forecast_block = None
        self.model = None

    def on_start(self, loop: Loop) -> None:
        c = self.dep.params.collateral(self.config.asset.upper())
        if not c.settlement:
            raise BotError(f"{c.symbol} is not the settlement asset: the band agent moves cash")
        self.token = self.dep.token(c.symbol)
        self.scale = 10 ** (18 - c.decimals)
        self.wallet = self.signer.address if self.signer else self.sender.sim_from

    def on_block(self, loop: Loop, block) -> dict:
        head = int(block["number"])
        self.settle(head)
        h = self.health()
        ratio = h.ratio
        record = {"account": self.account, "ratio": round(min(ratio, 1e9), 4), "status": h.status,
                  "equity_im": round(h.usd("equity_im"), 2), "im": round(h.usd("im"), 2),
                  "deposited": round(self.deposited, 2), "withdrawn": round(self.withdrawn, 2),
                  "reductions": self.reductions, "action": None}
        if h.im > 0:
            self.min_ratio, self.max_ratio = min(self.min_ratio, ratio), max(self.max_ratio, ratio)
        if self.sender.pending:
            return {**record, "action": "waiting"}
        if h.status == FAILED or h.im == 0:
            return record
        c = self.config
        if c.max_pliq is not None:
            return self._forecast_policy(h, head, record)
        if ratio < c.low:
            record["action"] = self._top_up(h, head)
        elif ratio > c.high and h.status == OK:
            record["action"] = self._withdraw(h, head)
        return record

    # -- forecast policy ---------------------------------------------------------------------------------
    def _forecast_policy(self, h, head: int, record: dict) -> dict:
        c = self.config
        if self.forecast_block is None or head - self.forecast_block >= c.pliq_every:
            from crossmargin.sim.liqprob import chain_account, liquidation_probability, shock_model

            if self.model is None:
                self.model = shock_model(self.dep.listed, "fhs")
            account, state, _ = chain_account(self.dep, self.account)
            self.forecast = liquidation_probability(account, state, self.dep.listed, self.model, paths=c.pliq_paths,
                                                    horizons_h=(24.0,), steps=(96,), seed=head,
                                                    target=c.max_pliq / 2)
            self.forecast_block = head
        lp = self.forecast
        record["p_liq_24h"] = round(lp.p[0], 4)
        if lp.p[0] > c.max_pliq and self.forecast_block == head:
            need = int(lp.topup[0] * WAD)
            record["action"] = self._top_up(h, head, need=need, fraction_of=lambda short: min(
                1.0, c.reduce_buffer * short / (need + max(h.equity_mm, 0))))
        elif h.ratio > c.high and h.status == OK:
            record["action"] = self._withdraw(h, head, cap=max(0, int(lp.spare[0] * WAD)))
        return record

    # -- below the band ----------------------------------------------------------------------------------
    def _top_up(self, h, head: int, need: int | None = None, fraction_of=None) -> str:
        if need is None:
            need = int(self.config.target * h.im) - h.equity_im        # WAD USD to reach the target
        reserve = guard(lambda: self.token.functions.balanceOf(self.wallet).call()) * self.scale
        amount = min(need, reserve)
        actions = []
        if amount >= self.config.min_usd * WAD:
            units = -(-amount // self.scale)  # up: a deposit may overshoot by < 1 unit, never undershoot
            units = min(units, reserve // self.scale)
            # exactly what is deposited is approved (never an unlimited allowance): approve in one block, deposit
            # in the next (a deposit simulated before its approval is mined would revert)
            allowance = guard(lambda: self.token.functions.allowance(self.wallet, self.dep.vault.address).call())
            try:
                if allowance * self.scale >= self.config.min_usd * WAD:
                    units = min(units, allowance)
                    self.sender.send(self.dep.vault, "deposit", [self.account, self.token.address, units], "deposit",
                                     key="deposit", head=head, meta={"usd": units * self.scale / WAD})
                    actions.append("deposit")
                elif not self.sender.dry_run:
                    self.sender.send(self.token, "approve", [self.dep.vault.address, units], "approve",
                                     key="approve", head=head)
                    actions.append("approve")
            except Skipped as exc:
                self.sender.log({"event": "skip", "purpose": "deposit", "reason": str(exc)})
        if need - amount > self.config.min_usd * WAD:  # the reserve is short: reduce risk for the rest
            equity_after = h.equity_im + amount
            fraction = fraction_of(need - amount) if fraction_of else \
                min(1.0, max(0.0, 1 - equity_after / (self.config.target * h.im)) * self.config.reduce_buffer)
            if self._reduce(fraction, head):
                actions.append(f"reduce {fraction:.3f}")
        return "+".join(actions) or "blocked"

    def _reduce(self, fraction: float, head: int) -> bool:
        if fraction <= 0:
            return False
        prices = self.dep.prices()
        now = int(guard(lambda: self.w3.eth.get_block("latest"))["timestamp"])
        sent = False
        for iid, size in self.positions().items():
            spec = self.dep.listed.market(iid)
            uid = self.dep.params.underlying(spec.underlying).id
            price, status = prices[uid]
            if status == STALE and price == 0:
                continue
            cut = round_size(int(size * fraction))
            if cut == 0:
                continue
            done, _ = self.taker.take(iid, -cut, price, now, head, "reduce", meta={"fraction": round(fraction, 4)})
            sent = sent or done != 0
        if sent:
            self.reductions += 1
        return sent

    # -- above the band ----------------------------------------------------------------------------------
    def _withdraw(self, h, head: int, cap: int | None = None) -> str:
        surplus = h.equity_im - int(self.config.target * h.im)
        if cap is not None:  # forecast policy: no more than keeps P(liq, 24 h) below max_pliq / 2
            surplus = min(surplus, cap)
        cash = guard(lambda: self.dep.vault.functions.cash_of(self.account).call())
        amount = min(surplus, max(0, cash))
        units = amount // self.scale  # down: never below the target
        if units * self.scale < self.config.min_usd * WAD:
            return "surplus not in cash"
        try:
            self.sender.send(self.dep.vault, "withdraw", [self.account, self.token.address, units, self.wallet],
                             "withdraw", key="withdraw", head=head, meta={"usd": units * self.scale / WAD})
        except Skipped as exc:
            self.sender.log({"event": "skip", "purpose": "withdraw", "reason": str(exc)})
            return "withdraw skipped"
        return "withdraw"

    def on_outcome(self, outcome) -> None:
        if outcome.status != "ok":
            return
        usd = float(outcome.pending.meta.get("usd", 0.0))
        if outcome.pending.purpose == "deposit":
            self.deposited += usd
        elif outcome.pending.purpose == "withdraw":
            self.withdrawn += usd

    def stop(self, loop: Loop) -> dict:
        return {**super().stop(loop), "deposited": round(self.deposited, 2), "withdrawn": round(self.withdrawn, 2),
                "reductions": self.reductions,
                "min_ratio": None if self.min_ratio == float("inf") else round(self.min_ratio, 4),
                "max_ratio": round(self.max_ratio, 4)}


__all__ = ["BandAgent", "BandConfig", "BotOptions"]
