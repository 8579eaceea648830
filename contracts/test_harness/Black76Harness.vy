# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title Black76Harness
@custom:contract-name Black76Harness
@license MIT
@notice Test and gas-benchmark harness: external wrappers of the option-math
        modules (fixed_point, normal, black76). Never deployed in production.
@dev `scenario_grid` shows how the margin engine shares the per-(strike,
     expiry) work (one ln, one sqrt) across a spot × vol scenario grid.
"""

from ..lib import black76
from ..lib import fixed_point
from ..lib import normal


# @dev Fixed-point unit.
WAD: constant(uint256) = 10**18
# @dev Fixed-point unit, signed.
SWAD: constant(int256) = 10**18

# ---------------------------------------------------------------- fixed_point


@external
@pure
def wad_mul_down(x: uint256, y: uint256) -> uint256:
    """
    @notice fixed_point._wad_mul_down.
    @param x A WAD factor.
    @param y A WAD factor.
    @return uint256 floor(x * y / WAD).
    """
    return fixed_point._wad_mul_down(x, y)


@external
@pure
def wad_mul_up(x: uint256, y: uint256) -> uint256:
    """
    @notice fixed_point._wad_mul_up.
    @param x A WAD factor.
    @param y A WAD factor.
    @return uint256 ceil(x * y / WAD).
    """
    return fixed_point._wad_mul_up(x, y)


@external
@pure
def wad_div_down(x: uint256, y: uint256) -> uint256:
    """
    @notice fixed_point._wad_div_down.
    @param x A WAD numerator.
    @param y A WAD denominator.
    @return uint256 floor(x * WAD / y).
    """
    return fixed_point._wad_div_down(x, y)


@external
@pure
def wad_div_up(x: uint256, y: uint256) -> uint256:
    """
    @notice fixed_point._wad_div_up.
    @param x A WAD numerator.
    @param y A WAD denominator.
    @return uint256 ceil(x * WAD / y).
    """
    return fixed_point._wad_div_up(x, y)


@external
@pure
def swad_mul(x: int256, y: int256) -> int256:
    """
    @notice fixed_point._swad_mul.
    @param x A signed WAD factor.
    @param y A signed WAD factor.
    @return int256 trunc(x * y / WAD).
    """
    return fixed_point._swad_mul(x, y)


@external
@pure
def swad_div(x: int256, y: int256) -> int256:
    """
    @notice fixed_point._swad_div.
    @param x A signed WAD numerator.
    @param y A signed WAD denominator.
    @return int256 trunc(x * WAD / y).
    """
    return fixed_point._swad_div(x, y)


@external
@pure
def abs_(x: int256) -> uint256:
    """
    @notice fixed_point._abs.
    @param x A signed integer.
    @return uint256 |x|.
    """
    return fixed_point._abs(x)


@external
@pure
def wad_sqrt_down(x: uint256) -> uint256:
    """
    @notice fixed_point._wad_sqrt_down.
    @param x A WAD value.
    @return uint256 floor(sqrt(x)) in WAD.
    """
    return fixed_point._wad_sqrt_down(x)


@external
@pure
def wad_ln(x: uint256) -> int256:
    """
    @notice fixed_point._wad_ln.
    @param x A WAD value (> 0).
    @return int256 ln(x) in WAD.
    """
    return fixed_point._wad_ln(x)


@external
@pure
def wad_exp(x: int256) -> uint256:
    """
    @notice fixed_point._wad_exp.
    @param x A signed WAD.
    @return uint256 exp(x) in WAD.
    """
    return fixed_point._wad_exp(x)


# ---------------------------------------------------------------- normal


@external
@pure
def pdf(x: int256) -> uint256:
    """
    @notice normal._pdf.
    @param x A signed WAD.
    @return uint256 φ(x) in WAD.
    """
    return normal._pdf(x)


@external
@pure
def cdf(x: int256) -> uint256:
    """
    @notice normal._cdf.
    @param x A signed WAD.
    @return uint256 N(x) in WAD.
    """
    return normal._cdf(x)


@external
@pure
def mills(x: uint256) -> uint256:
    """
    @notice normal._mills.
    @param x A WAD magnitude.
    @return uint256 (1 - N(x)) / φ(x) in WAD.
    """
    return normal._mills(x)


# ---------------------------------------------------------------- black76


@external
@pure
def price(is_call: bool, forward: uint256, strike: uint256, t: uint256, sigma: uint256) -> uint256:
    """
    @notice black76._price with r = 0, rounded down.
    @param is_call True for a call.
    @param forward Forward (WAD).
    @param strike Strike (WAD).
    @param t Time to expiry (seconds).
    @param sigma Annualised vol (WAD).
    @return uint256 Price (WAD).
    """
    return black76._price(is_call, forward, strike, t, sigma)


@external
@pure
def price_r(
    is_call: bool, forward: uint256, strike: uint256, t: uint256, sigma: uint256, rate: int256, round_up: bool
) -> uint256:
    """
    @notice black76._price with a rate and a rounding direction.
    @param is_call True for a call.
    @param forward Forward (WAD).
    @param strike Strike (WAD).
    @param t Time to expiry (seconds).
    @param sigma Annualised vol (WAD).
    @param rate Continuously compounded annual rate (signed WAD).
    @param round_up Rounding direction.
    @return uint256 Price (WAD).
    """
    return black76._price(is_call, forward, strike, t, sigma, rate, round_up)


@external
@pure
def price_from_d(
    is_call: bool,
    forward: uint256,
    strike: uint256,
    d1: int256,
    sigma_sqrt_t: uint256,
    discount: uint256,
    round_up: bool,
) -> uint256:
    """
    @notice black76._price_from_d.
    @param is_call True for a call.
    @param forward Forward (WAD).
    @param strike Strike (WAD).
    @param d1 d1 (signed WAD).
    @param sigma_sqrt_t Total vol (WAD).
    @param discount Discount factor (WAD).
    @param round_up Rounding direction.
    @return uint256 Price (WAD).
    """
    return black76._price_from_d(is_call, forward, strike, d1, sigma_sqrt_t, discount, round_up)


@external
@pure
def greeks(
    is_call: bool, forward: uint256, strike: uint256, t: uint256, sigma: uint256, rate: int256
) -> (uint256, int256, uint256, uint256, int256):
    """
    @notice black76._greeks.
    @param is_call True for a call.
    @param forward Forward (WAD).
    @param strike Strike (WAD).
    @param t Time to expiry (seconds).
    @param sigma Annualised vol (WAD).
    @param rate Continuously compounded annual rate (signed WAD).
    @return uint256 Price.
    @return int256 Delta.
    @return uint256 Gamma.
    @return uint256 Vega (per 1.00 vol).
    @return int256 Theta (per year).
    """
    return black76._greeks(is_call, forward, strike, t, sigma, rate)


@external
@pure
def time_value(forward: uint256, strike: uint256, t: uint256, sigma: uint256) -> uint256:
    """
    @notice The unrounded time value black76._time_value (no directed margin),
            for error measurements.
    @param forward Forward (WAD).
    @param strike Strike (WAD).
    @param t Time to expiry (seconds).
    @param sigma Annualised vol (WAD; σ·sqrt(T) must be > 0, the price functions use it from 1e-9).
    @return uint256 TV (WAD).
    """
    v: uint256 = black76._sigma_sqrt_t(sigma, t)
    h: uint256 = v // 2
    d1: int256 = black76._d1(black76._log_moneyness(forward, strike), v)
    return black76._time_value(min(forward, strike), fixed_point._abs(d1 - convert(h, int256)), h)


@external
@pure
def sigma_sqrt_t(sigma: uint256, t: uint256) -> uint256:
    """
    @notice black76._sigma_sqrt_t.
    @param sigma Annualised vol (WAD).
    @param t Seconds.
    @return uint256 σ·sqrt(T / YEAR) (WAD).
    """
    return black76._sigma_sqrt_t(sigma, t)


@external
@pure
def discount(rate: int256, t: uint256) -> uint256:
    """
    @notice black76._discount.
    @param rate Annual rate (signed WAD).
    @param t Seconds.
    @return uint256 exp(-rT) (WAD).
    """
    return black76._discount(rate, t)


@external
@pure
def log_moneyness(forward: uint256, strike: uint256) -> int256:
    """
    @notice black76._log_moneyness.
    @param forward Forward (WAD).
    @param strike Strike (WAD).
    @return int256 ln(F/K) (WAD).
    """
    return black76._log_moneyness(forward, strike)


@external
@pure
def d1_d2(forward: uint256, strike: uint256, sigma_sqrt_t: uint256) -> (int256, int256):
    """
    @notice black76._d1_d2.
    @param forward Forward (WAD).
    @param strike Strike (WAD).
    @param sigma_sqrt_t Total vol (WAD).
    @return int256 d1.
    @return int256 d2.
    """
    return black76._d1_d2(forward, strike, sigma_sqrt_t)


@external
@pure
def scenario_grid(
    is_call: bool,
    forward: uint256,
    strike: uint256,
    t: uint256,
    sigma: uint256,
    moves: DynArray[int256, 9],
    vol_factors: DynArray[uint256, 3],
) -> DynArray[uint256, 27]:
    """
    @notice Revalue one option over spot moves × vol factors, sharing work as
            the margin engine does: one ln(F/K) and one v per vol factor; ln(1 + m)
            per move (shared by all options of an underlying in the engine).
    @param is_call True for a call.
    @param forward Forward (WAD).
    @param strike Strike (WAD).
    @param t Time to expiry (seconds, > 0).
    @param sigma Annualised vol (WAD).
    @param moves Relative spot moves m (signed WAD, > -1).
    @param vol_factors Vol multipliers (WAD, 1e18 = flat).
    @return DynArray[uint256, 27] Prices, vol-major (rounded down, r = 0).
    """
    base: int256 = black76._log_moneyness(forward, strike)
    shifts: DynArray[int256, 9] = []
    spots: DynArray[uint256, 9] = []
    for m: int256 in moves:
        shifts.append(fixed_point._wad_ln(convert(SWAD + m, uint256)))
        spots.append(convert(convert(forward, int256) * (SWAD + m) // SWAD, uint256))
    out: DynArray[uint256, 27] = []
    for f: uint256 in vol_factors:
        v: uint256 = black76._sigma_sqrt_t(sigma, t) * f // WAD
        for i: uint256 in range(len(moves), bound=9):
            out.append(
                black76._price_from_d(is_call, spots[i], strike, black76._d1(base + shifts[i], v), v, WAD, False)
            )
    return out


@external
@pure
def baseline(is_call: bool, forward: uint256, strike: uint256, t: uint256, sigma: uint256) -> uint256:
    """
    @notice Same ABI shape as `price`, no work: the call overhead to subtract in gas benchmarks.
    @param is_call Unused.
    @param forward Returned.
    @param strike Unused.
    @param t Unused.
    @param sigma Unused.
    @return uint256 forward.
    """
    return forward
