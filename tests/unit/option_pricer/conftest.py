"""OptionPricer unit fixtures (titanoboa): the pricer alone, its numpy mirror, and a RiskEngine stack with options.

`pricer` is a fresh OptionPricer (stateless, so one per module is enough). `reference(grid, legs)` computes what
`scenario_values` returns with the model's own functions (`crossmargin.model.margin`: `vol_shocks`, `scenario_grid`;
Black-76 from `crossmargin.model.pricing`), in floats. `world` is a `RiskWorld` on titanoboa built from WIDE
(DEFAULT + futures + an option chain per underlying), its RiskEngine wired to an OptionPricer.
"""

from __future__ import annotations

from dataclasses import dataclass

import boa
import numpy as np
import pytest

from crossmargin.model.margin import vol_shocks
from crossmargin.model.pricing import YEAR_SECONDS, black76_greeks, black76_price
from crossmargin.model.params import to_wad
from tests.differential.strategies_chain import WIDE, RiskWorld
from tests.unit.conftest import CONTRACTS

WAD = 10**18
DAY = 86_400
NOW = 1_750_000_000
RISK = WIDE.risk


@pytest.fixture(scope="module")
def pricer():
    return boa.load_partial(str(CONTRACTS / "OptionPricer.vy")).deploy()


@pytest.fixture(autouse=True)
def _rollback():
    with boa.env.anchor():
        yield


def grid(spot: float, shock: float, now: int = NOW, risk=RISK) -> tuple:
    """A `Grid` for `scenario_values` from floats (the risk parameters of WIDE unless given)."""
    vol_up, vol_down, cap, rate = (to_wad(x) for x in (risk.vol_up, risk.vol_down, risk.vol_shock_cap, risk.rate))
    return (to_wad(spot), to_wad(shock), vol_up, vol_down, cap, int(round(risk.vol_t_ref_days * DAY)), rate, now)


def leg(is_call: bool, strike: float, days: float, vol: float, size: float, now: int = NOW) -> tuple:
    """An `OptionLeg`: expiry `days` after `now` (negative = already expired)."""
    return (is_call, to_wad(strike), now + int(round(days * DAY)), to_wad(vol), to_wad(size))


@dataclass
class Expected:
    value: float
    pnl: np.ndarray          # (27,)
    delta: float
    gamma: float
    vega: float
    theta: float
    slack: float             # Σ |size|·2·ERR over the legs and grid spots (the directed rounding's reach)


def reference(g: tuple, legs: list[tuple], risk=RISK) -> Expected:
    """What `scenario_values(g, legs)` computes, in floats with the model's functions."""
    spot, shock, now, rate = g[0] / WAD, g[1] / WAD, g[7], g[6] / WAD
    moves = np.arange(-4, 5) / 4 * shock
    value = delta = gamma = vega = theta = slack = 0.0
    pnl = np.zeros((3, 9))
    for is_call, strike, expiry, vol, size in legs:
        K, sigma, n = strike / WAD, vol / WAD, size / WAD
        T = (expiry - now) / YEAR_SECONDS
        g0 = black76_greeks(is_call, spot, K, T, sigma, rate)
        vols = sigma * vol_shocks(T, risk)[:, None]
        pnl += n * (black76_price(is_call, spot * (1 + moves)[None, :], K, T, vols, rate) - g0.price)
        value += n * g0.price
        delta, gamma, vega, theta = delta + n * g0.delta, gamma + n * g0.gamma, vega + n * g0.vega, theta + n * g0.theta
        slack += abs(n) * 2 * ((spot * (1 + shock) + K) * 1e-13 + 40e-18)
    return Expected(value, pnl.reshape(-1), delta, gamma, vega, theta, slack)


@pytest.fixture(scope="module")
def world():
    return RiskWorld.boa(WIDE)
