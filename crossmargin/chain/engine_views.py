"""RiskEngine views rebuilt off chain (the engine's `greeks` and `shock_size` views were dropped to make room in its
24,576 bytes; `Lens.greeks` keeps the Greeks on chain).

    rows = greeks_from_breakdown(engine.requirement_breakdown(account))   # [(uid, delta, delta_usd, gamma, vega, theta)]
    s = shock_of(engine.risk_params(), sigma_wad)                         # the margin views' s_u, same rounding

Greeks: delta counts positions (options at size x Black-76 delta) and linked collateral at its full balance in units
of the underlying (ERC-4626 shares at the guarded rate); delta_usd = floor(delta x spot / WAD).
"""

from __future__ import annotations

import math

WAD = 10**18
YEAR = 31_536_000
# UnderlyingRisk field positions (RiskEngine struct order)
UNDERLYING, SPOT, NET_DELTA, COLLATERAL, GAMMA, VEGA, THETA = 0, 1, 7, 8, 19, 20, 21


def greeks_from_breakdown(books) -> list[tuple[int, int, int, int, int, int]]:
    """(underlying, delta, delta_usd, gamma, vega, theta) per book, in the breakdown's order."""
    out = []
    for b in books:
        b = list(b)
        delta = int(b[NET_DELTA]) + int(b[COLLATERAL])
        out.append((int(b[UNDERLYING]), delta, delta * int(b[SPOT]) // WAD, int(b[GAMMA]), int(b[VEGA]),
                    int(b[THETA])))
    return out


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def shock_of(risk_params, sigma: int) -> int:
    """The engine's `_shock_size`: s = clamp(ceil(coef x sigma / WAD), shock_min, shock_max) with the coefficient
    it caches in `set_risk_params`, coef = ceil(z x ceil(sqrt(ceil(H x WAD^2 / YEAR))) / WAD) (WAD integers)."""
    z, horizon, shock_min, shock_max = (int(x) for x in list(risk_params)[:4])
    x = _ceil_div(horizon * WAD * WAD, YEAR)
    r = math.isqrt(x)
    r += r * r < x
    coef = _ceil_div(z * r, WAD)
    return min(max(_ceil_div(coef * int(sigma), WAD), shock_min), shock_max)
