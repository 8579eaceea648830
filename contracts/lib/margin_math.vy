# pragma version ~=0.4.3
"""
@title crossmargin margin arithmetic
@custom:contract-name margin_math
@license MIT
@notice Directed rounding for the RiskEngine's signed WAD quantities, a rounded-up
        integer square root, and 64-bit field packing of risk parameters.
        Stateless: import with `from .lib import margin_math`.
@dev The direction is in the name, as in `fixed_point`: `_down` is the floor
     (towards -inf), `_up` the ceiling (towards +inf), for negative numbers too
     (the EVM's `sdiv` truncates towards zero, which is neither). The RiskEngine
     rounds equity `_down` and requirements `_up`.
"""


# @dev WAD as a signed integer.
SWAD: constant(int256) = 10**18
# @dev Width of one packed field.
FIELD_BITS: constant(uint256) = 64
# @dev Largest value a packed field holds (2**64 - 1 ~ 18.4 WAD).
FIELD_MAX: constant(uint256) = 2**64 - 1


@internal
@pure
def _sdiv_down(_x: int256, _d: int256) -> int256:
    """
    @notice floor(x / d) for a positive divisor.
    @param _x Signed numerator.
    @param _d Positive divisor.
    @return int256 The largest integer <= x / d.
    """
    q: int256 = _x // _d
    if _x < 0 and q * _d != _x:
        # dev: q > min_value(int256) because d > 1 here, so q - 1 cannot underflow
        return unsafe_sub(q, 1)
    return q


@internal
@pure
def _sdiv_up(_x: int256, _d: int256) -> int256:
    """
    @notice ceil(x / d) for a positive divisor.
    @param _x Signed numerator.
    @param _d Positive divisor.
    @return int256 The smallest integer >= x / d.
    """
    q: int256 = _x // _d
    if _x > 0 and q * _d != _x:
        # dev: q < max_value(int256) because d > 1 here, so q + 1 cannot overflow
        return unsafe_add(q, 1)
    return q


@internal
@pure
def _smul_wad_up(_x: int256, _y: int256) -> int256:
    """
    @notice ceil(x * y / WAD) for |y| <= WAD without forming x * y.
    @dev x = q·WAD + r with |r| < WAD (r has the sign of x); q·y is exact, so
         ceil(x·y / WAD) = q·y + ceil(r·y / WAD). Lets the engine multiply
         products of two WAD amounts (1e36-scaled, up to ~1e60) by a
         correlation or κ without overflowing.
    @param _x Signed amount (any scale).
    @param _y Signed WAD factor, |y| <= WAD.
    @return int256 The rounded-up product.
    """
    q: int256 = _x // SWAD
    r: int256 = _x - q * SWAD
    return q * _y + self._sdiv_up(r * _y, SWAD)


@internal
@pure
def _sqrt_up(_x: uint256) -> uint256:
    """
    @notice ceil(sqrt(x)).
    @param _x Radicand.
    @return uint256 The smallest r with r * r >= x.
    """
    r: uint256 = isqrt(_x)
    if r * r < _x:
        return r + 1
    return r


@internal
@pure
def _abs(_x: int256) -> uint256:
    """
    @notice |x| as an unsigned integer.
    @param _x Signed value (> min_value(int256)).
    @return uint256 |x|.
    """
    if _x < 0:
        return convert(-_x, uint256)
    return convert(_x, uint256)


@internal
@pure
def _pack(_a: uint256, _b: uint256, _c: uint256, _d: uint256) -> uint256:
    """
    @notice Four 64-bit fields in one word, `_a` lowest.
    @dev Callers bound every field by FIELD_MAX first (setters check bounds).
    @param _a Field 0.
    @param _b Field 1.
    @param _c Field 2.
    @param _d Field 3.
    @return uint256 The packed word.
    """
    assert max(max(_a, _b), max(_c, _d)) <= FIELD_MAX  # dev: packed field overflow
    return _a | (_b << FIELD_BITS) | (_c << (2 * FIELD_BITS)) | (_d << (3 * FIELD_BITS))


@internal
@pure
def _field(_word: uint256, _i: uint256) -> uint256:
    """
    @notice Field `_i` (0..3) of a packed word.
    @param _word Packed word.
    @param _i Field index.
    @return uint256 The field's value.
    """
    return (_word >> (_i * FIELD_BITS)) & FIELD_MAX
