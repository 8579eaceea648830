"""Real crash replays: daily closes joined by Brownian bridges, the vol the feeder would have posted, and the
simulation's books walked along them (`crossmargin replay`).

Path between two closes (per underlying u, `steps_per_day` = n steps, day d → d + 1, log prices):

    x_k = (1 - k/n)·ln P_d + (k/n)·ln P_{d+1} + σ_u,d·sqrt(Δ)·(B_k - (k/n)·B_n),   B_k = Σ_{i<=k} ε_i,  Δ = 1/(365 n)

with ε correlated across underlyings by the parameters' ρ (Cholesky) and σ_u,d the day's forecast vol (GARCH or
EWMA at the close of day d, annualised: no look-ahead). At k = 0 and k = n the path is the close itself (exactly:
the closes are written, not recomputed); optionally a wick of `jump` day-sigmas at each day's lowest inner step. Prices
are rebased so every underlying starts at the parameter set's
reference price (the books are opened there; the model is homogeneous in price at fixed notional).

Oracle vol along the path: the vol feeder of `crossmargin agent vol` runs at every step with the day's forecast as
its target (`crossmargin.sim.paths.feeder_vol`: the bot's own rule, `crossmargin.sim.vol.decide`, against a model
of the VolOracle's windows, `VolOracleModel`: ×/÷ `vol_hour_factor` of the hour window's anchor, `vol_day_factor` of
the day window's, inside [min_vol, max_vol]), starting at the first day's forecast. Books are opened and funded with that vol (the random books of
`crossmargin simulate`), and walked (`crossmargin.sim.engine.walk`) with the Liquidation contract's full bid by
default (`crossmargin.sim.engine._auction_walk`): the flag fee at the auction's start, Dutch-auction discount d(t),
partial bids capped at f_max (the fraction that restores IM; whole portfolios when small or deep under water),
insurance-fund fee, insolvent accounts costing the fund -V + MM·d, the bid at the step of the breach (a keeper
bidding at once, like the demo's) unless a delay is given; perps pay funding (`FundingModel`: a constant premium,
by default 1.25e-5 an hour, the major venues' 0.01 % per 8 h, plus an optional term in the trailing day's return).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from crossmargin.model.params import Params
from crossmargin.sim.history import Prices
from crossmargin.sim.paths import PricePath, cholesky, feeder_vol

HOURS = 24
DEFAULT_PREMIUM = 1.25e-5   # perp premium per (hourly) funding period: 0.01 % per 8 h, the major venues' base rate
# Named replays (issue 13): (first day, last day) of the window, and a title
NAMED = {
    "2020-03-12": ("2020-03-10", "2020-03-16", "COVID crash (Black Thursday)"),
    "2021-05-19": ("2021-05-16", "2021-05-24", "May 2021 sell-off"),
    "2022-05-luna": ("2022-05-05", "2022-05-14", "LUNA / UST collapse"),
    "2022-06-3ac": ("2022-06-10", "2022-06-20", "Celsius / 3AC"),
    "2022-11-ftx": ("2022-11-06", "2022-11-12", "FTX collapse"),
}


def bridge(log_a: np.ndarray, log_b: np.ndarray, sigma_step: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """(n + 1, U) log prices from log_a to log_b (both (U,)), noise `eps` (n, U) scaled by `sigma_step` (U,)."""
    n = eps.shape[0]
    k = np.arange(n + 1)[:, None] / n
    B = np.vstack([np.zeros((1, eps.shape[1])), np.cumsum(eps, axis=0)])
    return (1 - k) * log_a[None, :] + k * log_b[None, :] + sigma_step[None, :] * (B - k * B[-1:])


def bridge_path(params: Params, prices: Prices, vols: np.ndarray, start: str, end: str, steps_per_day: int = HOURS,
                seed: int = 0, name: str | None = None, jump: float = 0.0) -> PricePath:
    """The replay of `prices` from `start` to `end` (closes of both days included) on `params`' underlyings.

    `vols` (T, U) annualised forecasts in `params.symbols` order, aligned with `prices.dates`. `jump` > 0 adds a
    wick at each day's worst point: at the inner step where the bridge of the first underlying is lowest, every
    underlying u is marked down by exp(-jump·σ_u,d·sqrt(1/365)) (`jump` day-sigmas of its forecast) for that one
    step, the path resuming on its bridge after it (the closes stay exact; a liquidation cascade's wick).
    """
    if steps_per_day < 1:
        raise ValueError(f"steps_per_day must be >= 1, got {steps_per_day}")
    if jump < 0 or (jump > 0 and steps_per_day < 2):
        raise ValueError(f"a jump needs jump >= 0 and at least 2 steps a day, got {jump}, {steps_per_day}")
    dates = prices.dates
    i0 = int(np.searchsorted(dates, np.datetime64(start, "D")))
    i1 = int(np.searchsorted(dates, np.datetime64(end, "D")))
    if i0 >= len(dates) or i1 >= len(dates) or dates[i0] != np.datetime64(start, "D") or \
            dates[i1] != np.datetime64(end, "D") or i1 <= i0:
        raise ValueError(f"--from {start} --to {end}: both must be days of the file ({dates[0]} .. {dates[-1]}), "
                         "--to after --from")
    symbols = params.symbols
    close = np.column_stack([prices.column(u) if u in prices.symbols else np.full(len(dates), np.nan) for u in symbols])
    window = close[i0:i1 + 1].copy()
    vols = vols.copy()
    missing = [j for j in range(len(symbols)) if np.isnan(window[:, j]).any() or np.isnan(vols[i0:i1 + 1, j]).any()]
    notes = []
    if missing:
        # an underlying without history in the window follows a proxy: the base asset's log moves (and vol) scaled
        # by the ratio of reference vols, like the stylised replays (`crossmargin.sim.stress`)
        base = next((j for j in range(len(symbols)) if j not in missing and symbols[j] == "ETH"),
                    next((j for j in range(len(symbols)) if j not in missing), None))
        if base is None:
            raise ValueError(f"no price or vol forecast for any underlying over {start} .. {end} (GARCH needs a year "
                             "of closes before the window; EWMA 30 days)")
        for j in missing:
            scale = params.underlyings[j].vol / params.underlyings[base].vol
            window[:, j] = np.exp(scale * np.log(window[:, base] / window[0, base]))
            vols[i0:i1 + 1, j] = vols[i0:i1 + 1, base] * scale
            notes.append(f"{symbols[j]}: no history, {symbols[base]} log moves x {scale:.2f}")
    ref = np.array([params.underlying(u).price for u in symbols])
    levels = window / window[0] * ref[None, :]          # rebased closes: the path's exact anchors
    days, n, U = i1 - i0, steps_per_day, len(symbols)
    rng = np.random.default_rng(seed)
    A = cholesky(params.rho)
    dt = 1.0 / (365.0 * n)
    spot = np.empty((days * n + 1, U))
    target = np.empty_like(spot)
    logs = np.log(levels)
    for d in range(days):
        eps = rng.standard_normal((n, U)) @ A.T
        seg = np.exp(bridge(logs[d], logs[d + 1], vols[i0 + d] * np.sqrt(dt), eps))
        seg[0], seg[-1] = levels[d], levels[d + 1]      # the closes, exactly
        if jump > 0:                                    # the wick at the day's worst inner point
            k = 1 + int(np.argmin(seg[1:-1, 0]))
            seg[k] = seg[k] * np.exp(-jump * vols[i0 + d] * np.sqrt(1.0 / 365.0))
        spot[d * n:(d + 1) * n + 1] = seg
        target[d * n:(d + 1) * n] = vols[i0 + d]
    target[-1] = vols[i1]
    times = np.arange(days * n + 1) * (86_400 // n if 86_400 % n == 0 else 86_400 / n)
    vol = feeder_vol(target, np.asarray(times, dtype=float), params.oracle, start=target[0])
    wick = f", a {jump:g}-sigma wick at each day's low" if jump > 0 else ""
    return PricePath(name or f"{start}..{end}", symbols, np.asarray(times, dtype=float), spot, vol, stylised=False,
                     title=f"replay {start} .. {end} ({n} steps a day, Brownian bridges between daily closes{wick})",
                     sources=f"{prices.source}: daily closes {start} .. {end}" + "".join(f"; {x}" for x in notes))


def replay(params: Params, prices: Prices, vols: np.ndarray, start: str, end: str, books: int = 1000, seed: int = 0,
           steps_per_day: int = HOURS, insurance: float = 0.001, liquidation=None, key: str | None = None,
           funding=None, jump: float = 0.0):
    """Walk `books` random books (cross and isolated) along the replay; a `simulate.ScenarioResult` and the path."""
    from crossmargin.model.portfolio import MarketState
    from crossmargin.sim.engine import LiquidationModel, MarginArrays, walk
    from crossmargin.sim.simulate import ScenarioResult, _stats, build_books

    path = bridge_path(params, prices, vols, start, end, steps_per_day, seed, key, jump)
    # books open at the replay's start: reference prices (the path is rebased there), the oracle's vol then
    opened = params.replace(underlyings=tuple(dataclasses.replace(u, vol=float(path.vol[0, j]))
                                              for j, u in enumerate(params.underlyings))).listed(0)
    started = time.perf_counter()
    cross, iso, h_cross, h_iso = build_books(opened, books, seed)
    spot0 = np.array([MarketState.from_params(opened).spot[u] for u in opened.symbols])
    fund = insurance * float(cross.gross_notional(spot0).sum())
    from crossmargin.sim.engine import FundingModel

    liq = liquidation or LiquidationModel(delay_steps=0, schedule=opened.liquidation,
                                          funding=funding or FundingModel(premium=DEFAULT_PREMIUM))
    walks = {mode: [walk(MarginArrays(b), path, liq, fund, h)]
             for mode, b, h in (("cross", cross, h_cross), ("isolated", iso, h_iso))}
    result = ScenarioResult(
        key=key or path.name, title=path.title, stylised=False, sources=path.sources, paths=1, steps=path.steps,
        hours=float(path.times[-1] / 3600), trough={u: float(path.trough()[i]) for i, u in enumerate(opened.symbols)},
        insurance_fund=fund, cross=_stats(walks["cross"], cross), isolated=_stats(walks["isolated"], iso))
    return result, path, time.perf_counter() - started
