# pragma version ~=0.4.3
"""
@title crossmargin Black-76 option pricing
@custom:contract-name black76
@license MIT
@notice European call and put prices and Greeks on a forward F (the margin
        engine passes the index price: forward = spot), strike K, time to
        expiry T in seconds (365-day year), annualised vol σ and an optional
        continuously compounded rate r (discount exp(-rT), 0 by default).
        All amounts WAD. Stateless: import with `from . import black76`.
@dev Glossary.
       v      total vol σ·sqrt(T / YEAR) ("sigma_sqrt_t")
       ℓ      log-moneyness ln(F/K)
       d1, d2 (ℓ + v²/2)/v and d1 - v (the textbook ones)
       h, g   v/2 and |ℓ|/v = |d1 - h|: the price depends on F, K, h, g only
       a, b   min(F, K), max(F, K)
       TV     time value = price - intrinsic, the same for the call and the put
     Method. Every option is intrinsic + TV, and TV is the price of the
     out-of-the-money option, a call with spot a and strike b:
       d1* = h - g <= h,   d2* = -h - g < 0,   w = a·φ(d1*) = F·φ(d1) = K·φ(d2)
       d1* <= 0:  TV = w·(M(-d1*) - M(-d2*))
       d1* >  0:  TV = a - w·(M(d1*) + M(-d2*))
     with M the Mills ratio (normal.vy). One exp and two Mills ratios, never a
     difference of two probabilities close to 1, so deep in- or out-of-the-money
     prices keep their accuracy and put-call parity holds to the wei
     (C - P = F - K exactly at r = 0, since both share TV).
     Sharing across scenarios. A scenario grid revalues each option at spots
     F·(1 + m) and vols σ·(1 + s). Then ℓ = ln(F/K) + ln(1 + m): the margin
     engine computes `_log_moneyness(F, K)` once per option, ln(1 + m) once
     per underlying, v once per (expiry, vol scenario), and per scenario calls
     `_d1(ℓ, v)` and `_price_from_d` (no ln, no sqrt: one exp, two Mills ratios).
     Rounding. Error budget of the unrounded TV: a·6e-15 from the Mills ratio
     fit, a few 1e-18·a from the WAD exp / products, b·~1e-17 from ln(F/K) and
     d1 (TV moves by at most b·Δℓ): under a·1e-14 + b·1e-17 + 5 wei; measured
     max |TV - reference| = 2.2e-15·(F + K) (tests/unit/lib/test_black76.py).
     The price functions widen TV by ERR = (F + K) // 1e13 + 16 wei (>= 45x the
     measured error) in the requested direction and clamp it to [0, a], so
     `round_up=False` <= exact price <= `round_up=True`: value long positions
     (assets) rounded down, short positions (liabilities) and requirements
     rounded up. The discount product rounds the same way. The Greeks are
     truncated best estimates.
     Edges. T == 0 or v < 1e-9 (MIN_SIGMA_SQRT_T): intrinsic value (rounded up:
     plus ceil(a·v/2) >= the time value; exactly intrinsic at v = 0), delta 0
     or ±discount, gamma = vega = theta = 0. F == 0 or K == 0 revert
     ZERO_SPOT / ZERO_STRIKE. Deep ITM / OTM: φ(d1*) underflows beyond
     |d1*| ~ 9; TV is then 0 (or a) and the Greeks are delta 0 / ±discount,
     theta r·V. No overflow for F, K <= 1e40, σ <= 100 (1e20), T <= 1e10 s.
     Gas (py-evm, net of the call, r = 0): `_price` ~6.2k, `_price_from_d`
     ~3.3k (one exp, two Mills ratios), `_greeks` ~11k (benchmarks/black76_gas.py).
"""

from . import fixed_point
from . import normal


# @dev Seconds per year (365 days): T_years = T_seconds / YEAR.
YEAR: constant(uint256) = 31_536_000
# @dev Fixed-point unit.
WAD: constant(uint256) = 10**18
# @dev Below this total vol σ·sqrt(T) (1e-9) the option is worth its intrinsic value.
MIN_SIGMA_SQRT_T: constant(uint256) = 10**9
# @dev Directed-rounding margin per WAD of F + K (1e-13, >= 45x the measured error).
PRICE_ERR_PER_WAD: constant(uint256) = 10**5
# @dev Directed-rounding margin in wei on top of PRICE_ERR_PER_WAD (WAD truncations).
PRICE_ERR_WEI: constant(uint256) = 16

# @dev Revert reasons (to move into errors.vy; same one-line format).
ZERO_SPOT: constant(String[32]) = "zero spot"
ZERO_STRIKE: constant(String[32]) = "zero strike"


@internal
@pure
def _price(
    _is_call: bool,
    _forward: uint256,
    _strike: uint256,
    _t: uint256,
    _sigma: uint256,
    _rate: int256 = 0,
    _round_up: bool = False,
) -> uint256:
    """
    @notice Black-76 price of one option on one unit of the underlying.
    @dev Rounded down by default (the value of a long position); pass
         `_round_up=True` for liabilities and requirements (see the header).
         Reverts "zero spot" / "zero strike" (checked by the callees).
    @param _is_call True for a call, False for a put.
    @param _forward Forward F (WAD, > 0); the index price when r = 0.
    @param _strike Strike K (WAD, > 0).
    @param _t Time to expiry in seconds (0 = expired: intrinsic value).
    @param _sigma Annualised vol (WAD, 1e18 = 100 %).
    @param _rate Continuously compounded annual rate (signed WAD), default 0.
    @param _round_up Direction of the rounding margin, default down.
    @return uint256 The option price in WAD.
    """
    v: uint256 = self._sigma_sqrt_t(_sigma, _t)
    d1: int256 = 0
    if v >= MIN_SIGMA_SQRT_T:
        d1 = self._d1(self._log_moneyness(_forward, _strike), v)
    return self._price_from_d(
        _is_call, _forward, _strike, d1, v, self._discount(_rate, _t), _round_up
    )


@internal
@pure
def _price_from_d(
    _is_call: bool,
    _forward: uint256,
    _strike: uint256,
    _d1: int256,
    _sigma_sqrt_t: uint256,
    _discount: uint256,
    _round_up: bool,
) -> uint256:
    """
    @notice Price from a precomputed d1 and total vol: the per-scenario part.
    @dev `_d1` must come from `_d1(ln(F/K), v)` with the same v (it is ignored
         when v < MIN_SIGMA_SQRT_T). No ln and no sqrt here: one exp and two
         Mills ratios (~3.3k gas).
    @param _is_call True for a call, False for a put.
    @param _forward Forward F (WAD, > 0).
    @param _strike Strike K (WAD, > 0).
    @param _d1 d1 (signed WAD).
    @param _sigma_sqrt_t Total vol v = σ·sqrt(T / YEAR) (WAD).
    @param _discount Discount factor exp(-rT) (WAD; 1e18 when r = 0).
    @param _round_up Direction of the rounding margin.
    @return uint256 The option price in WAD.
    """
    assert _forward != 0, ZERO_SPOT
    assert _strike != 0, ZERO_STRIKE
    # a = min(F, K); intrinsic = (F - K)+ for a call, (K - F)+ for a put.
    a: uint256 = _forward
    intrinsic: uint256 = 0
    if _forward > _strike:
        a = _strike
        if _is_call:
            # dev: F > K checked.
            intrinsic = unsafe_sub(_forward, _strike)
    elif not _is_call:
        # dev: K >= F checked.
        intrinsic = unsafe_sub(_strike, _forward)

    tv: uint256 = 0
    if _sigma_sqrt_t >= MIN_SIGMA_SQRT_T:
        h: uint256 = _sigma_sqrt_t >> 1
        # g = |d1 - h| = |ln(F/K)| / v.
        dh: int256 = _d1 - convert(h, int256)
        g: uint256 = convert(dh, uint256) if dh >= 0 else convert(-dh, uint256)
        tv = self._time_value(a, g, h)
        # Directed margin err = (F + K) // 1e13 + 16 wei >= (F + K)·1e-13 + 15 wei; TV stays in [0, a].
        err: uint256 = (_forward + _strike) // (WAD // PRICE_ERR_PER_WAD) + PRICE_ERR_WEI
        if _round_up:
            tv = min(tv + err, a)
        elif tv > err:
            # dev: tv > err checked.
            tv = unsafe_sub(tv, err)
        else:
            tv = 0
    elif _round_up:
        # TV was not computed: bound it by a·v / 2 >= a·v / sqrt(2 pi) >= TV (0 when v == 0).
        tv = fixed_point._mul_div_up(a, _sigma_sqrt_t, 2 * WAD)

    if _discount == WAD:
        return intrinsic + tv
    if _round_up:
        return fixed_point._wad_mul_up(intrinsic + tv, _discount)
    return fixed_point._wad_mul_down(intrinsic + tv, _discount)


@internal
@pure
def _greeks(
    _is_call: bool, _forward: uint256, _strike: uint256, _t: uint256, _sigma: uint256, _rate: int256 = 0
) -> (uint256, int256, uint256, uint256, int256):
    """
    @notice Price and Greeks of one option on one unit of the underlying.
    @dev Units: delta per unit of F (WAD, signed); gamma per unit of F per unit
         of F (WAD); vega per 1.00 of vol (WAD: value change for +100 vol
         points, linearised); theta per year of calendar time (signed WAD,
         dV/dt = r·V - e^{-rT}·F·φ(d1)·σ / (2 sqrt T)). The price equals
         `_price(..., round_up=False)`; the Greeks are truncated. Off the hot
         path (views for bots): reuses `_price_from_d` and evaluates φ and one
         Mills ratio again (~11k gas).
         Expired or v < 1e-9: delta 0 or ±discount (in the money), the rest 0.
         φ(d1) below 1 wei: delta 0 or ±discount, gamma = vega = 0, theta = r·V.
    @param _is_call True for a call, False for a put.
    @param _forward Forward F (WAD, > 0).
    @param _strike Strike K (WAD, > 0).
    @param _t Time to expiry in seconds.
    @param _sigma Annualised vol (WAD).
    @param _rate Continuously compounded annual rate (signed WAD), default 0.
    @return uint256 Price (WAD).
    @return int256 Delta (WAD).
    @return uint256 Gamma (WAD).
    @return uint256 Vega (WAD).
    @return int256 Theta per year (WAD).
    """
    disc: uint256 = self._discount(_rate, _t)
    v: uint256 = self._sigma_sqrt_t(_sigma, _t)
    if v < MIN_SIGMA_SQRT_T:
        delta: int256 = 0
        if _is_call and _forward > _strike:
            delta = convert(disc, int256)
        elif not _is_call and _forward < _strike:
            delta = -convert(disc, int256)
        return self._price_from_d(_is_call, _forward, _strike, 0, v, disc, False), delta, 0, 0, 0

    d1: int256 = self._d1(self._log_moneyness(_forward, _strike), v)
    price: uint256 = self._price_from_d(_is_call, _forward, _strike, d1, v, disc, False)
    # The pieces of the time value (see the header): x = |d1*|, w = a·φ(d1*) = F·φ(d1).
    h: uint256 = v >> 1
    g: uint256 = fixed_point._abs(d1 - convert(h, int256))
    x: uint256 = g - h if g >= h else h - g
    w: uint256 = min(_forward, _strike) * normal._pdf_abs(x) // WAD
    carry: int256 = 0
    if _rate != 0:
        carry = fixed_point._swad_mul(_rate, convert(price, int256))
    if w == 0:
        # φ(d1) underflowed: delta is 0 or ±discount, gamma = vega = 0, theta = r·V.
        nd: uint256 = WAD if (_forward > _strike or g < h) else 0
        flat: int256 = convert(nd * disc // WAD, int256)
        if not _is_call:
            flat -= convert(disc, int256)
        return price, flat, 0, 0, carry

    # N(d1), the undiscounted call delta: 1 - N(d2*) = 1 - w·M(g + h) / F if F > K (d1 = -d2*),
    # else N(d1*) = w·M(-d1*) / F (d1* <= 0) or 1 - w·M(d1*) / F (d1* > 0).
    nd1: uint256 = 0
    if _forward > _strike:
        nd1 = WAD - min(fixed_point._mul_div_down(w, normal._mills(g + h), _forward), WAD)
    elif g >= h:
        nd1 = min(fixed_point._mul_div_down(w, normal._mills(x), _forward), WAD)
    else:
        nd1 = WAD - min(fixed_point._mul_div_down(w, normal._mills(x), _forward), WAD)
    delta: int256 = convert(nd1 * disc // WAD, int256)
    if not _is_call:
        delta -= convert(disc, int256)

    # gamma = e^{-rT}·φ(d1) / (F·v), vega = e^{-rT}·w·sqrt(T), time decay = e^{-rT}·w·σ / (2 sqrt(T)).
    wd: uint256 = w * disc // WAD
    # e^{-rT}·φ(d1) at 1e36 precision first, so deep tails keep their digits.
    phi36: uint256 = fixed_point._mul_div_down(wd, WAD * WAD, _forward)
    gamma: uint256 = fixed_point._mul_div_down(phi36, WAD, _forward * v)
    sqrt_t: uint256 = isqrt(_t * WAD * WAD // YEAR)
    vega: uint256 = wd * sqrt_t // WAD
    theta: int256 = carry - convert(fixed_point._mul_div_down(wd, _sigma, 2 * sqrt_t), int256)
    return price, delta, gamma, vega, theta


@internal
@pure
def _sigma_sqrt_t(_sigma: uint256, _t: uint256) -> uint256:
    """
    @notice Total vol v = σ·sqrt(T / YEAR), rounded down.
    @param _sigma Annualised vol (WAD).
    @param _t Time to expiry in seconds.
    @return uint256 v in WAD.
    """
    return isqrt(_sigma * _sigma * _t // YEAR)


@internal
@pure
def _discount(_rate: int256, _t: uint256) -> uint256:
    """
    @notice Discount factor exp(-r·T / YEAR).
    @param _rate Continuously compounded annual rate (signed WAD).
    @param _t Time to expiry in seconds.
    @return uint256 The discount factor in WAD (exactly 1e18 when r or T is 0).
    """
    if _rate == 0 or _t == 0:
        return WAD
    return fixed_point._wad_exp(-(_rate * convert(_t, int256) // convert(YEAR, int256)))


@internal
@pure
def _log_moneyness(_forward: uint256, _strike: uint256) -> int256:
    """
    @notice ln(F/K) in WAD.
    @dev The ratio is taken as max/min >= 1 so its WAD truncation costs at most
         1e-18 relative, whichever way the option is in the money.
    @param _forward Forward F (WAD, > 0).
    @param _strike Strike K (WAD, > 0).
    @return int256 ln(F/K) in WAD.
    """
    assert _forward != 0, ZERO_SPOT
    assert _strike != 0, ZERO_STRIKE
    if _forward >= _strike:
        return fixed_point._wad_ln(_forward * WAD // _strike)
    return -fixed_point._wad_ln(_strike * WAD // _forward)


@internal
@pure
def _d1(_log_fk: int256, _sigma_sqrt_t: uint256) -> int256:
    """
    @notice d1 = ln(F/K) / v + v/2 from a (possibly shifted) log-moneyness.
    @dev v/2 is floored (h = v // 2), the same h `_price_from_d` subtracts.
    @param _log_fk ln(F/K) in WAD, e.g. `_log_moneyness(F, K) + ln(1 + m)`.
    @param _sigma_sqrt_t Total vol v (WAD, > 0).
    @return int256 d1 in WAD.
    """
    return _log_fk * convert(WAD, int256) // convert(_sigma_sqrt_t, int256) + convert(_sigma_sqrt_t // 2, int256)


@internal
@pure
def _d1_d2(_forward: uint256, _strike: uint256, _sigma_sqrt_t: uint256) -> (int256, int256):
    """
    @notice The textbook d1 = (ln(F/K) + v²/2) / v and d2 = d1 - v.
    @param _forward Forward F (WAD, > 0).
    @param _strike Strike K (WAD, > 0).
    @param _sigma_sqrt_t Total vol v (WAD, > 0).
    @return int256 d1 in WAD.
    @return int256 d2 in WAD.
    """
    d1: int256 = self._d1(self._log_moneyness(_forward, _strike), _sigma_sqrt_t)
    return d1, d1 - convert(_sigma_sqrt_t, int256)


@internal
@pure
def _time_value(_a: uint256, _g: uint256, _h: uint256) -> uint256:
    """
    @notice Time value of the out-of-the-money option (a call on a struck at b), unrounded.
    @dev d1* = h - g, d2* = -h - g, w = a·φ(d1*):
           d1* <= 0: TV = w·(M(-d1*) - M(-d2*)),  d1* > 0: TV = a - w·(M(d1*) + M(-d2*)).
         Once φ(d1*) underflows (|d1*| >~ 9) TV is 0 (d1* < 0) or a (d1* > 0)
         without evaluating M. `_price_from_d` applies the directed margin.
    @param _a min(F, K) (WAD).
    @param _g |ln(F/K)| / v (WAD).
    @param _h v / 2 (WAD).
    @return uint256 TV in WAD, in [0, a].
    """
    x: uint256 = 0
    if _g >= _h:
        # dev: _g >= _h checked.
        x = unsafe_sub(_g, _h)
    else:
        # dev: _h > _g checked.
        x = unsafe_sub(_h, _g)
    phi: uint256 = normal._pdf_abs(x)
    if phi == 0:
        return 0 if _g >= _h else _a
    w: uint256 = _a * phi // WAD
    m_lo: uint256 = normal._mills(x)
    m_hi: uint256 = normal._mills(_g + _h)
    if _g >= _h:
        # M is decreasing and x <= g + h, so m_lo >= m_hi up to a wei of rounding.
        if m_lo <= m_hi:
            return 0
        # dev: m_lo > m_hi checked.
        return w * unsafe_sub(m_lo, m_hi) // WAD
    s: uint256 = w * (m_lo + m_hi) // WAD
    if s >= _a:
        return 0
    # dev: s < _a checked.
    return unsafe_sub(_a, s)
