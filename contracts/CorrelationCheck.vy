# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title crossmargin CorrelationCheck
@custom:contract-name CorrelationCheck
@license MIT
@notice The pure checks of a correlation matrix (signed WAD) for the
        RiskEngine's `set_correlation`: its shape, then whether it is positive
        semi-definite. A separate, stateless contract (the engine's constructor
        fixes its address) so the LDLᵀ factorisation and the shape loops do not
        occupy the engine's EIP-170 budget; the engine reverts "correlation not
        semi-definite" when `validate` answers false.
@dev Tolerance, rounding and overflow reasoning: `lib/psd.vy` (accepted when
     the smallest eigenvalue λ >= -9e-12, rejected when λ <= -1e-11). The
     shape is checked first: `_is_psd`'s unchecked arithmetic relies on
     |ρ_ij| <= 1.
"""

from .lib import constants
from .lib import errors
from .lib import psd


# @dev WAD as a signed integer (ρ_ii).
SWAD: constant(int256) = 10**18


@external
@pure
def validate(
    _uids: DynArray[uint256, constants.MAX_UNDERLYINGS],
    _rho: DynArray[DynArray[int256, constants.MAX_UNDERLYINGS], constants.MAX_UNDERLYINGS],
) -> bool:
    """
    @notice Check a correlation matrix's shape and whether it is positive semi-definite.
    @dev Reverts "bad correlation" unless ρ is square with one row per id, the ids are distinct, the diagonal is
         1, ρ is symmetric and |ρ_ij| <= 1. Then `psd._is_psd`: true when λ_min >= -9e-12, false when
         λ_min <= -1e-11. Whether the ids are listed is the engine's check (it holds the listing).
    @param _uids Underlying id of each row.
    @param _rho Correlation matrix (signed WAD), n x n, n <= MAX_UNDERLYINGS.
    @return True if ρ is positive semi-definite (within the tolerance).
    """
    n: uint256 = len(_uids)
    assert len(_rho) == n, errors.BAD_CORRELATION
    for i: uint256 in range(n, bound=constants.MAX_UNDERLYINGS):
        assert len(_rho[i]) == n and _rho[i][i] == SWAD, errors.BAD_CORRELATION
        for j: uint256 in range(i + 1, n, bound=constants.MAX_UNDERLYINGS):
            r: int256 = _rho[i][j]
            assert _uids[i] != _uids[j], errors.BAD_CORRELATION
            assert r == _rho[j][i] and r <= SWAD and r >= -SWAD, errors.BAD_CORRELATION
    return psd._is_psd(_rho)
