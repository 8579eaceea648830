"""RiskEngine views rebuilt off chain (the engine's `greeks`, `risk_params` and `shock_size` views were dropped to
make room in its 24,576 bytes; `Lens.greeks` keeps the Greeks on chain).

    rows = greeks_from_breakdown(engine.requirement_breakdown(account))   # [(uid, delta, delta_usd, gamma, vega, theta)]
    params = risk_params_of(engine.risk_words())                         # RiskParams order (deploy.RISK_PARAMS_ORDER)
    s = shock_of(engine.risk_words(), sigma_wad)                          # the margin views' s_u, same rounding

Greeks: delta counts positions (options at size x Black-76 delta) and linked collateral at its full balance in units
of the underlying (ERC-4626 shares at the guarded rate); delta_usd = floor(delta x spot / WAD).
"""

from __future__ import annotations

WAD = 10**18
FIELD = 2**64 - 1
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


def _field(word: int, i: int) -> int:
    return (int(word) >> (64 * i)) & FIELD


def risk_params_of(words) -> tuple[int, ...]:
    """The 14 RiskParams (deploy.RISK_PARAMS_ORDER) from the engine's four packed words `risk_words()`:
    [shock_coef, shock_min, shock_max, im_factor], [basis_rate, corr_kappa, short_option_rate, basis_vol],
    [vol_up, vol_down, vol_shock_cap, vol_t_ref_seconds], [z, horizon_seconds, rate, 0]."""
    w0, w1, w2, w3 = words
    return (_field(w3, 0), _field(w3, 1), _field(w0, 1), _field(w0, 2), _field(w2, 0), _field(w2, 1), _field(w2, 2),
            _field(w2, 3), _field(w0, 3), _field(w1, 0), _field(w1, 2), _field(w1, 1), _field(w3, 2), _field(w1, 3))


def shock_of(words, sigma: int) -> int:
    """s = clamp(ceil(shock_coef x sigma / WAD), shock_min, shock_max): the engine's `_shock_size` (WAD)."""
    w0 = int(words[0])
    s = (_field(w0, 0) * int(sigma) + WAD - 1) // WAD
    return min(max(s, _field(w0, 1)), _field(w0, 2))
