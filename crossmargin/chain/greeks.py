"""Aggregate Greeks per underlying from `RiskEngine.requirement_breakdown` (the engine's `greeks` view moved to the
Lens for bytes; this is the same arithmetic off chain, for callers without a Lens: World tests, the hedger, the CLI).

    rows = greeks_from_breakdown(engine.requirement_breakdown(account))   # [(uid, delta, delta_usd, gamma, vega, theta)]

Delta counts positions (options at size x Black-76 delta) and linked collateral at its full balance in units of the
underlying (ERC-4626 shares at the guarded rate); delta_usd = floor(delta x spot / WAD). `Lens.greeks` returns the
same tuples.
"""

from __future__ import annotations

WAD = 10**18
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
