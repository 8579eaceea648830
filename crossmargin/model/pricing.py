"""Black-76 in numpy/scipy: the reference for `contracts/lib/black76.vy`, same formulas and conventions.

Conventions (shared with the contract)
    F         forward; the margin engine passes the index price (forward = spot)
    K         strike
    T_years   time to expiry in years of 365 days (the contract takes seconds: T_years = seconds / YEAR_SECONDS)
    sigma     annualised implied vol (0.8 = 80 %)
    r         continuously compounded rate; prices are discounted by exp(-r·T) (r = 0 unless a rate is set)

Every option is intrinsic value + time value, and the time value (the same for the call and the put) is
priced as the out-of-the-money option: a call with spot a = min(F, K) and strike b = max(F, K). Both terms
a·N(d1*) and b·N(d2*) are then small tail probabilities, so deep in- or out-of-the-money prices keep their
relative accuracy (no F·N(d1) - K·N(d2) cancellation of two numbers near F), and put-call parity holds
exactly. Edges, as on chain: T <= 0 or σ·sqrt(T) < 1e-9 gives the intrinsic value (delta 0 or ±discount,
gamma = vega = theta = 0); F == 0 or K == 0 raises ValueError("zero spot" / "zero strike").

Units of the Greeks: delta per unit of F; gamma per unit of F per unit of F; vega per 1.00 of vol (the value
change for +100 vol points, linearised: divide by 100 for "per vol point"); theta per year of calendar time
(dV/dt, negative for a long option at r = 0; divide by 365 for "per day").
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import ndtr

YEAR_SECONDS = 31_536_000  # 365 days, the contract's YEAR
MIN_SIGMA_SQRT_T = 1e-9    # below this total vol the option is worth its intrinsic value

_INV_SQRT_2PI = 0.3989422804014327


class OptionGreeks(NamedTuple):
    """Price and Greeks of one option on one unit of the underlying (see the module docstring for units)."""

    price: float | np.ndarray
    delta: float | np.ndarray  # per unit of F
    gamma: float | np.ndarray  # per unit of F, per unit of F
    vega: float | np.ndarray   # per 1.00 of vol
    theta: float | np.ndarray  # per year, dV/dt


def year_fraction(seconds) -> float | np.ndarray:
    """Seconds to years of 365 days (the contract's T / YEAR)."""
    return np.asarray(seconds, dtype=float) / YEAR_SECONDS


def black76_price(is_call, F, K, T_years, sigma, r=0.0):
    """Black-76 price of a European option on one unit of the underlying, discounted by exp(-r·T).

    Vectorised: every argument broadcasts (is_call may be an array of bools). Returns a float when every
    argument is a scalar, an ndarray otherwise. Raises ValueError("zero spot") / ("zero strike") for F == 0
    or K == 0, like the contract.
    """
    return _black76(is_call, F, K, T_years, sigma, r, greeks=False).price


def black76_greeks(is_call, F, K, T_years, sigma, r=0.0) -> OptionGreeks:
    """Price, delta, gamma, vega (per 1.00 vol) and theta (per year, dV/dt) of a European option.

    delta = e^{-rT}·N(d1) (call) or e^{-rT}·(N(d1) - 1) (put); gamma = e^{-rT}·φ(d1) / (F·σ·sqrt T);
    vega = e^{-rT}·F·φ(d1)·sqrt T; theta = r·V - e^{-rT}·F·φ(d1)·σ / (2·sqrt T).
    Expired or σ·sqrt(T) < 1e-9: the intrinsic value, delta ±e^{-rT} in the money (0 otherwise), the rest 0.
    Vectorised like `black76_price`.
    """
    return _black76(is_call, F, K, T_years, sigma, r, greeks=True)


def _black76(is_call, F, K, T_years, sigma, r, greeks: bool) -> OptionGreeks:
    scalar = all(np.ndim(x) == 0 for x in (is_call, F, K, T_years, sigma, r))
    is_call, F, K, T, sigma, r = np.broadcast_arrays(
        np.asarray(is_call, dtype=bool), *(np.asarray(x, dtype=float) for x in (F, K, T_years, sigma, r))
    )
    if np.any(F == 0):
        raise ValueError("zero spot")
    if np.any(K == 0):
        raise ValueError("zero strike")
    if np.any(F < 0) or np.any(K < 0) or np.any(sigma < 0):
        raise ValueError("negative spot, strike or vol")

    Tp = np.maximum(T, 0.0)
    sqrt_t = np.sqrt(Tp)
    v = sigma * sqrt_t                      # total vol σ·sqrt(T)
    live = v >= MIN_SIGMA_SQRT_T            # else: intrinsic value only
    disc = np.exp(-r * Tp)
    intrinsic = np.where(is_call, np.maximum(F - K, 0.0), np.maximum(K - F, 0.0))

    # Time value = the out-of-the-money call with spot a = min(F, K), strike b = max(F, K).
    a, b = np.minimum(F, K), np.maximum(F, K)
    vs = np.where(live, v, 1.0)             # placeholder where dead, masked below
    ell = np.log(F / K)
    g = np.abs(ell) / vs                    # |ln(F/K)| / v
    d1s, d2s = 0.5 * vs - g, -0.5 * vs - g  # d1*, d2* of the out-of-the-money call
    with np.errstate(invalid="ignore"):
        tv = np.where(live, np.maximum(a * ndtr(d1s) - b * ndtr(d2s), 0.0), 0.0)
    price = disc * (intrinsic + tv)
    if not greeks:
        return OptionGreeks(_out(price, scalar), None, None, None, None)

    d1 = ell / vs + 0.5 * vs
    nd1 = np.where(F > K, 1.0 - ndtr(-d1), ndtr(d1))  # the accurate side of N(d1)
    phi1 = _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1)
    itm = np.where(is_call, F > K, F < K).astype(float)
    delta = np.where(live, disc * np.where(is_call, nd1, nd1 - 1.0), np.where(is_call, 1.0, -1.0) * itm * disc)
    gamma = np.where(live, disc * phi1 / (F * vs), 0.0)
    vega = np.where(live, disc * F * phi1 * sqrt_t, 0.0)
    theta = np.where(live, r * price - disc * F * phi1 * sigma / (2.0 * np.where(live, sqrt_t, 1.0)), 0.0)
    return OptionGreeks(*(_out(x, scalar) for x in (price, delta, gamma, vega, theta)))


def _out(x: np.ndarray, scalar: bool):
    return float(x) if scalar else x
