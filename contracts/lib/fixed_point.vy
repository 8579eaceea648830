# pragma version ~=0.4.3
"""
@title crossmargin fixed-point helpers
@custom:contract-name fixed_point
@license MIT
@notice WAD (1e18) arithmetic with the rounding direction in the name: `_down`
        rounds towards zero (floor for the unsigned helpers), `_up` rounds away
        from zero (ceil); `_mul_div_*` work in 512 bits (snekmate `_mul_div`).
        The signed helpers truncate towards zero, like the EVM's `sdiv`.
        Stateless: import with `from . import fixed_point`.
@dev Every helper reverts on overflow (checked arithmetic) except where an
     `unsafe_*` call carries a comment proving it cannot overflow. ln and exp
     wrap snekmate's `_wad_ln` / `_wad_exp` (Remco Bloemen's rational
     approximations, a few wei of error) behind unsigned types.
"""

from snekmate.utils import math


# @dev The fixed-point unit: 1.0 == WAD.
WAD: constant(uint256) = 10**18
# @dev WAD as a signed integer.
SWAD: constant(int256) = 10**18


@internal
@pure
def _wad_mul_down(x: uint256, y: uint256) -> uint256:
    """
    @notice x * y in WAD, rounded down.
    @param x A WAD factor.
    @param y A WAD factor.
    @return uint256 floor(x * y / WAD).
    """
    return x * y // WAD


@internal
@pure
def _wad_mul_up(x: uint256, y: uint256) -> uint256:
    """
    @notice x * y in WAD, rounded up.
    @param x A WAD factor.
    @param y A WAD factor.
    @return uint256 ceil(x * y / WAD).
    """
    p: uint256 = x * y
    if p == 0:
        return 0
    # dev: p >= 1, so p - 1 cannot underflow and the quotient + 1 <= p cannot overflow.
    return unsafe_add(unsafe_div(unsafe_sub(p, 1), WAD), 1)


@internal
@pure
def _wad_div_down(x: uint256, y: uint256) -> uint256:
    """
    @notice x / y in WAD, rounded down.
    @param x A WAD numerator.
    @param y A WAD denominator (non-zero).
    @return uint256 floor(x * WAD / y).
    """
    return x * WAD // y


@internal
@pure
def _wad_div_up(x: uint256, y: uint256) -> uint256:
    """
    @notice x / y in WAD, rounded up.
    @param x A WAD numerator.
    @param y A WAD denominator (non-zero).
    @return uint256 ceil(x * WAD / y).
    """
    return math._mul_div(x, WAD, y, True)


@internal
@pure
def _mul_div_down(x: uint256, y: uint256, d: uint256) -> uint256:
    """
    @notice x * y / d in 512-bit precision, rounded down.
    @param x A factor.
    @param y A factor.
    @param d The divisor (non-zero).
    @return uint256 floor(x * y / d).
    """
    return math._mul_div(x, y, d, False)


@internal
@pure
def _mul_div_up(x: uint256, y: uint256, d: uint256) -> uint256:
    """
    @notice x * y / d in 512-bit precision, rounded up.
    @param x A factor.
    @param y A factor.
    @param d The divisor (non-zero).
    @return uint256 ceil(x * y / d).
    """
    return math._mul_div(x, y, d, True)


@internal
@pure
def _swad_mul(x: int256, y: int256) -> int256:
    """
    @notice x * y in signed WAD, truncated towards zero.
    @param x A signed WAD factor.
    @param y A signed WAD factor.
    @return int256 trunc(x * y / WAD).
    """
    return x * y // SWAD


@internal
@pure
def _swad_div(x: int256, y: int256) -> int256:
    """
    @notice x / y in signed WAD, truncated towards zero.
    @param x A signed WAD numerator.
    @param y A signed WAD denominator (non-zero).
    @return int256 trunc(x * WAD / y).
    """
    return x * SWAD // y


@internal
@pure
def _abs(x: int256) -> uint256:
    """
    @notice |x| as an unsigned integer (defined for min_value(int256) too).
    @param x A signed integer.
    @return uint256 The magnitude of x.
    """
    if x >= 0:
        return convert(x, uint256)
    # dev: two's complement negation on 256 bits; 0 - x as uint256 is exactly |x| for every x < 0.
    return unsafe_sub(0, convert(convert(x, bytes32), uint256))


@internal
@pure
def _wad_sqrt_down(x: uint256) -> uint256:
    """
    @notice sqrt(x) of a WAD, rounded down (Vyper's `isqrt` of x * WAD).
    @param x A WAD value, x < 2**256 / 1e18.
    @return uint256 floor(sqrt(x) * WAD) with x read as a WAD.
    """
    return isqrt(x * WAD)


@internal
@pure
def _wad_ln(x: uint256) -> int256:
    """
    @notice Natural logarithm of a WAD.
    @dev snekmate `_wad_ln` (error of a few wei, ~1.3k gas).
    @param x A WAD value, 0 < x < 2**255.
    @return int256 ln(x) in WAD.
    """
    assert x != 0  # dev: ln(0) is -infinity
    return math._wad_ln(convert(x, int256))


@internal
@pure
def _wad_exp(x: int256) -> uint256:
    """
    @notice Natural exponential of a signed WAD.
    @dev snekmate `_wad_exp` (~0.6k gas): 0 for x <= -41.45 (below 1 wei), reverts for x >= 135.3.
    @param x A signed WAD exponent.
    @return uint256 exp(x) in WAD.
    """
    return convert(math._wad_exp(x), uint256)
