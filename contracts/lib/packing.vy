# pragma version ~=0.4.3
"""
@title crossmargin storage word packing
@custom:contract-name packing
@license MIT
@notice Bit fields of one storage word, for the structs that the margin engine
        reads on every check (instruments, positions): Vyper gives every struct
        member its own slot, and a cold slot costs 2,100 gas, so a struct read
        once per position per transaction is stored in as few words as its
        fields fit. Stateless: import with `from .lib import packing`.
@dev Unsigned fields are bounded by the writer (`_fit` reverts with "value out
     of range"); signed fields are two's complement (`_int_bits` / `_int_of`),
     range-checked the same way.
"""

from . import errors


# @dev Largest 8-, 32-, 64- and 128-bit values: the masks of fields that hot unpackers read inline (an
#      internal call to `_get` costs ~120 gas, and a margin check unpacks several words per position).
U8_MAX: constant(uint256) = 2**8 - 1
U32_MAX: constant(uint256) = 2**32 - 1
U64_MAX: constant(uint256) = 2**64 - 1
U128_MAX: constant(uint256) = 2**128 - 1
# @dev Mask of an address in the low 160 bits (`_address_of`).
U160_MAX: constant(uint256) = 2**160 - 1


@internal
@pure
def _get(_word: uint256, _shift: uint256, _bits: uint256) -> uint256:
    """
    @notice The `_bits`-wide field at bit `_shift` of `_word`.
    @param _word Packed word.
    @param _shift Lowest bit of the field.
    @param _bits Width.
    @return uint256 The field.
    """
    return (_word >> _shift) & ((1 << _bits) - 1)


@internal
@pure
def _address_of(_word: uint256) -> address:
    """
    @notice The address in the low 160 bits of `_word`.
    @param _word Packed word.
    @return address The address.
    """
    return convert(convert(_word & U160_MAX, uint160), address)


@internal
@pure
def _fit(_value: uint256, _bits: uint256) -> uint256:
    """
    @notice `_value`, reverting unless it fits in `_bits` bits.
    @param _value Field value.
    @param _bits Width.
    @return uint256 The value.
    """
    assert _value < (1 << _bits), errors.OUT_OF_RANGE
    return _value


@internal
@pure
def _int_bits(_value: int256, _bits: uint256) -> uint256:
    """
    @notice The `_bits`-wide two's complement of `_value`, reverting unless
            -2**(bits-1) <= value < 2**(bits-1).
    @param _value Signed value.
    @param _bits Width (< 256).
    @return uint256 The field.
    """
    half: int256 = convert(1 << (_bits - 1), int256)
    assert _value >= -half and _value < half, errors.OUT_OF_RANGE
    return convert(convert(_value, bytes32), uint256) & ((1 << _bits) - 1)


@internal
@pure
def _int_of(_field: uint256, _bits: uint256) -> int256:
    """
    @notice The signed value of a `_bits`-wide two's complement field.
    @param _field The field (< 2**bits).
    @param _bits Width (< 256).
    @return int256 Its value.
    """
    if _field >> (_bits - 1) == 0:
        return convert(_field, int256)
    return convert(_field, int256) - convert(1 << _bits, int256)
