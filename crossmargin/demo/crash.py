"""The demo's crash: ETH −35 % in one hour with its implied vol doubling, BTC and SOL falling with it.

Stylised on the shape of 2020-03-12 and 2022-11 (a steep first leg, a bounce, a second leg), in 5-minute
steps. The demo posts only the prices: the vol feeder (`crossmargin agent vol`, run by the demo without a price
file) forecasts from these oracle rounds and posts within the VolOracle's rate limit. `CrashStep.vols` is the
stylised vol path of the shape (vols following the drawdown up to ×`VOL_MULTIPLIER`, within ×/÷ `vol_hour_factor`
of the start): the stylised reference, no longer posted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STEP_SECONDS = 300
# Fraction of the total move reached at each 5-minute step (12 steps = 1 hour): steep, bounce, second leg.
SHAPE = np.array([0.10, 0.25, 0.42, 0.55, 0.50, 0.58, 0.70, 0.82, 0.90, 0.96, 1.00, 1.00])
MOVES = {"ETH": -0.35, "BTC": -0.25, "SOL": -0.40}   # total move per underlying
VOL_MULTIPLIER = {"ETH": 2.0, "BTC": 1.8, "SOL": 1.9}  # implied vol at the end / at the start


@dataclass(frozen=True)
class CrashStep:
    index: int
    seconds: int                 # since the start of the crash
    prices: dict[str, float]
    vols: dict[str, float]


def crash_path(start_prices: dict[str, float], start_vols: dict[str, float], hour_factor: float) -> list[CrashStep]:
    """Prices and vols at each step; vols rise with the drawdown, within ×/÷ `hour_factor` of the start (the
    VolOracle's hourly rate limit: the crash fits in one window)."""
    steps: list[CrashStep] = []
    vols = dict(start_vols)
    for i, frac in enumerate(SHAPE):
        prices = {u: round(p * (1 + MOVES.get(u, 0.0) * frac), 2) for u, p in start_prices.items()}
        target = {u: start_vols[u] * (1 + (VOL_MULTIPLIER.get(u, 1.0) - 1) * frac) for u in start_vols}
        vols = {u: round(min(max(target[u], start_vols[u] / hour_factor), start_vols[u] * hour_factor) * 0.9999
                         if target[u] > start_vols[u] else max(target[u], start_vols[u] / hour_factor * 1.0001), 4)
                for u in vols}
        steps.append(CrashStep(i + 1, (i + 1) * STEP_SECONDS, prices, vols))
    return steps
