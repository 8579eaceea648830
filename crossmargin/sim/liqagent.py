"""The band agent with and without the liquidation forecast, replayed on real history
(`crossmargin report band-forecast`).

Both agents follow the on-chain band agent (`crossmargin.bots.band`): they run every hour on the account they
operate, deposit settlement cash from a reserve, reduce every position by a fraction when the reserve is short,
and withdraw surplus cash above the band. What triggers a top-up differs:

    plain      ratio = E_im / IM below `low` (1.3): deposit up to `target` (1.6) · IM; reserve short: reduce by
               (1 - E_after / (target·IM)) · 1.1
    forecast   P(liquidation within 24 h) > p (1 %, `crossmargin.sim.liqprob`: FHS tails, the oracle's forecast vol,
               full revaluation): deposit the cash that brings P to p / 2 (the paths' smallest cushions tell it
               exactly, `LiqProb.topup`); reserve short: reduce by 1.1 · (T - D) / (T + E_mm) (the needed cushion
               E_mm + T scales with the position sizes). It acts before the MM breach, on what may happen, not
               on how far the ratio has fallen
    both       ratio above `high` (2.2): withdraw the surplus cash down to `target` · IM; the forecast agent
               withdraws no more than keeps P <= p / 2 (`LiqProb.spare`)

The replay: the named windows of `crossmargin replay` (2021-05-19 and 2022-06 by default): daily closes joined by
hourly Brownian bridges at the forecast vol, the oracle vol the feeder would have posted (EWMA forecast through the
VolOracle's rate limit); random books (the simulation's four families) opened at the window's start, funded to
their owner's buffer, each given a reserve of one initial IM. A book is liquidated at the first hour with
E_mm < MM (the agent acts after the hour's prices, so a breach inside one hour cannot be prevented). Reductions
cost `spread` of the notional reduced. Results per agent: liquidations, capital (deposits, withdrawals, the
average and peak capital posted), actions (deposits + withdrawals + reductions).

Every (window, book) pair is one task of a sweep (`crossmargin.sim.sweep`), seeded by (seed, window, book).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from crossmargin.model.margin import requirements
from crossmargin.model.params import Params
from crossmargin.model.portfolio import Account, MarketState, Position
from crossmargin.sim.liqprob import ShockModel, liquidation_probability

WINDOWS = ("2021-05-19", "2022-06-3ac")


@dataclass(frozen=True)
class Policy:
    kind: str = "plain"           # "plain" | "forecast"
    target: float = 1.6
    low: float = 1.3
    high: float = 2.2
    max_pliq: float = 0.01        # forecast: keep P(liq, 24 h) below this
    reduce_buffer: float = 1.1
    min_usd: float = 10.0
    spread: float = 0.0005        # cost of a reduction, fraction of the notional reduced
    every: int = 2                # forecast: hours between two forecasts
    feeder_aware: bool = True     # forecast: the vol feeder's next daily post (of today's move so far) is foreseen
    paths: int = 512
    steps: int = 24


@dataclass(frozen=True)
class AgentRun:
    liquidated_h: int             # hour of the MM breach, -1 if none
    deposited: float
    withdrawn: float
    reductions: int
    deposits: int
    withdrawals: int
    capital_avg: float            # time-average of the capital posted (initial equity + deposits - withdrawals)
    capital_peak: float
    forecasts: int = 0
    p_max: float = 0.0            # forecast agent: the largest P(liq, 24 h) it saw

    @property
    def actions(self) -> int:
        return self.reductions + self.deposits + self.withdrawals


def reduce(account: Account, fraction: float, state: MarketState, params: Params, spread: float) -> Account:
    """Every position cut by `fraction` at the state's prices (PnL realised into cash, `spread` of the notional
    paid); linked collateral is kept."""
    from crossmargin.model.margin import option_price

    cash = account.cash
    positions = []
    for pos in account.resolved(params).positions:
        u = pos.spec.underlying
        S = state.spot[u]
        cut = pos.size * fraction
        if pos.spec.is_linear:
            cash += cut * S - pos.cost * fraction
        else:
            cash += cut * float(option_price(pos.spec, S, state.vol[u], state.now, params.risk.rate))
        cash -= spread * abs(cut) * S
        if pos.size - cut != 0:
            positions.append(Position(pos.spec, pos.size - cut, pos.cost * (1 - fraction)))
    return dataclasses.replace(account, cash=cash, positions=tuple(positions))


def run_agent(policy: Policy, account: Account, reserve: float, path, params: Params, model: ShockModel | None,
              seed: int = 0) -> AgentRun:
    """One account walked along `path` (a `crossmargin.sim.paths.PricePath`, hourly) with its agent acting every
    hour (module docstring)."""
    equity0 = requirements(account, path.state(0), params).equity_mm
    capital = equity0
    capitals = []
    dep = wd = 0.0
    n_dep = n_wd = n_red = forecasts = 0
    p_max = 0.0
    liquidated = -1
    for t in range(1, path.steps + 1):
        state = path.state(t)
        r = requirements(account, state, params)
        if r.equity_mm < r.mm:
            liquidated = t
            capitals.append(capital)
            break
        ratio = r.equity_im / r.im if r.im > 0 else float("inf")
        cash_in = 0.0
        fraction = 0.0
        withdraw = 0.0
        if policy.kind == "plain":
            if ratio < policy.low:
                need = policy.target * r.im - r.equity_im
                cash_in = min(need, reserve)
                if need - cash_in > policy.min_usd:
                    fraction = min(1.0, max(0.0, 1 - (r.equity_im + cash_in) / (policy.target * r.im))
                                   * policy.reduce_buffer)
            elif ratio > policy.high:
                withdraw = min(r.equity_im - policy.target * r.im, max(account.cash, 0.0))
        elif r.im > 0 and (t - 1) % policy.every == 0:
            lp = liquidation_probability(account, state, params, model, paths=policy.paths, horizons_h=(24.0,),
                                         steps=(policy.steps,), seed=seed * 10_007 + t, target=policy.max_pliq / 2,
                                         pending=_pending(path, t, model) if policy.feeder_aware else None)
            forecasts += 1
            p_max = max(p_max, lp.p[0])
            if lp.p[0] > policy.max_pliq:
                need = lp.topup[0]
                cash_in = min(need, reserve)
                if need - cash_in > policy.min_usd:
                    fraction = min(1.0, policy.reduce_buffer * (need - cash_in) / (need + max(r.equity_mm, 0.0)))
            elif ratio > policy.high:
                withdraw = min(r.equity_im - policy.target * r.im, max(account.cash, 0.0), max(lp.spare[0], 0.0))
        if cash_in >= policy.min_usd:
            account = dataclasses.replace(account, cash=account.cash + cash_in)
            reserve -= cash_in
            dep += cash_in
            capital += cash_in
            n_dep += 1
        if fraction > 0:
            account = reduce(account, fraction, state, params, policy.spread)
            n_red += 1
        if withdraw >= policy.min_usd:
            account = dataclasses.replace(account, cash=account.cash - withdraw)
            reserve += withdraw
            wd += withdraw
            capital -= withdraw
            n_wd += 1
        capitals.append(capital)
    caps = np.array(capitals or [capital])
    return AgentRun(liquidated, dep, wd, n_red, n_dep, n_wd, float(caps.mean()), float(caps.max()), forecasts, p_max)


def _pending(path, t: int, model: ShockModel):
    """The feeder posts once a day (at the closes, every 24 steps of the replay): its next post adds
    a·(r_sofar² - f·v) for today's move so far (`liqprob.oracle_vol_path`), in 24 - h hours."""
    from crossmargin.model.params import DAYS_PER_YEAR

    h = t % 24
    if h == 0:
        return None
    v = path.vol[t] ** 2 / DAYS_PER_YEAR
    r = np.log(path.spot[t] / path.spot[t - h])
    return model.vol_response * (r * r - h / 24 * v), float(24 - h)


@dataclass(frozen=True)
class ReplayTask:
    window: str
    book: int
    params: Params        # listed, opened at the window's start vols
    path: object          # PricePath
    account: Account
    reserve: float
    policies: tuple
    model: ShockModel
    seed: int


def replay_task(task: ReplayTask) -> dict:
    """Both agents on one book of one window: {policy kind: AgentRun as a dict}."""
    out = {"window": task.window, "book": task.book}
    for pol in task.policies:
        run = run_agent(pol, task.account, task.reserve, task.path, task.params, task.model,
                        seed=task.seed * 1009 + task.book)
        out[pol.kind] = {**dataclasses.asdict(run), "actions": run.actions}
    return out


def replay_tasks(params: Params, prices=None, windows=WINDOWS, books: int = 24, seed: int = 0,
                 policies=(Policy("plain"), Policy("forecast")), model: ShockModel | None = None) -> list[ReplayTask]:
    """One task per (window, book): the window's bridged path and a random funded book (module docstring)."""
    from crossmargin.sim.backtest import book_vols
    from crossmargin.sim.history import load_prices
    from crossmargin.sim.liqprob import shock_model
    from crossmargin.sim.replay import NAMED, bridge_path
    from crossmargin.sim.simulate import build_books
    from crossmargin.sim.vol import forecast_vols

    prices = prices or load_prices()
    listed = params.listed(0)
    f = forecast_vols(prices.only([u for u in params.symbols if u in prices.symbols]), params.risk.horizon_days,
                      with_garch=False)
    vols = book_vols(listed, prices, "ewma", f)
    model = model or shock_model(params, "fhs")
    tasks = []
    for w in windows:
        if w not in NAMED:
            raise ValueError(f"unknown window {w!r} (have: {', '.join(NAMED)})")
        start, end, _ = NAMED[w]
        path = bridge_path(listed, prices, vols, start, end, 24, seed, w)
        opened = listed.replace(underlyings=tuple(dataclasses.replace(u, vol=float(path.vol[0, j]))
                                                  for j, u in enumerate(listed.underlyings)))
        cross, _, h, _ = build_books(opened, books, seed)
        for b in range(books):
            tasks.append(ReplayTask(w, b, opened, path, cross.account(b), float(h.im[b]), tuple(policies), model,
                                    seed))
    return tasks


def summarise(results: list[dict], kinds=("plain", "forecast")) -> dict:
    """Per window and agent: liquidations, capital, actions (sums over books; capital averages summed)."""
    out = {}
    for w in dict.fromkeys(r["window"] for r in results):
        rows = [r for r in results if r["window"] == w]
        out[w] = {}
        for k in kinds:
            runs = [r[k] for r in rows if k in r]
            out[w][k] = {
                "books": len(runs),
                "liquidations": sum(x["liquidated_h"] >= 0 for x in runs),
                "deposited": sum(x["deposited"] for x in runs), "withdrawn": sum(x["withdrawn"] for x in runs),
                "capital_avg": sum(x["capital_avg"] for x in runs),
                "capital_peak": sum(x["capital_peak"] for x in runs),
                "actions": sum(x["actions"] for x in runs), "deposits": sum(x["deposits"] for x in runs),
                "withdrawals": sum(x["withdrawals"] for x in runs), "reductions": sum(x["reductions"] for x in runs),
                "liquidated_books": [r["book"] for r in rows if r[k]["liquidated_h"] >= 0],
            }
    return out
