# pragma version ~=0.4.3
"""
@title crossmargin positive semi-definiteness of a correlation matrix
@custom:contract-name psd
@license MIT
@notice Whether a correlation matrix (signed WAD) is positive semi-definite,
        with a fixed-point LDLᵀ factorisation. Stateless: import with
        `from .lib import psd`.
@dev Tolerance (TECH_SPEC, RiskEngine): with λ the smallest eigenvalue of ρ,
     `_is_psd` is true when λ >= -9e-12 and false when λ <= -1e-11 (a gap
     of 1e-12 between them). `crossmargin.model.params.validate_correlation`
     requires λ >= -1e-12 (PSD_TOLERANCE), so every matrix it accepts passes
     here, with 8e-12 to spare for the WAD rounding of the entries (<= 4e-18)
     and numpy's eigenvalue error (~1e-15).
"""

from . import constants


# @dev σ: ρ is tested as M = ρ + σ·I (1e-11 in WAD).
SHIFT: constant(int256) = 10**7
# @dev δ: the smallest pivot of M accepted (1e-12 in WAD).
MIN_PIVOT: constant(int256) = 10**6
# @dev M's diagonal: ρ_ii = 1 plus the shift.
DIAGONAL: constant(int256) = 10**18 + SHIFT


@internal
@pure
def _is_psd(
    _rho: DynArray[DynArray[int256, constants.MAX_UNDERLYINGS], constants.MAX_UNDERLYINGS]
) -> bool:
    """
    @notice Whether ρ is positive semi-definite up to 1e-11: true when its
            smallest eigenvalue λ >= -9e-12, false when λ <= -1e-11.
    @dev The caller checks that ρ is square, with a unit diagonal (not
         read), symmetric (only the strict lower triangle is read) and
         |ρ_ij| <= 1: the unchecked arithmetic below relies on the last one.
         Square-root free LDLᵀ of M = ρ + σ·I, row by row, kept as R = L·D
         (r_ij = L_ij·d_j), so no L entry is ever formed:
           r_ij = ρ_ij - Σ_{k<j} r_ik·r_jk / d_k      (j < i)
           d_i  = 1 + σ - Σ_{k<i} r_ik² / d_k
         Accepted when every pivot d_i >= δ.
         Why the shift: pivot d_i is the minimum of xᵀMx over x with x_i = 1
         and x_k = 0 for k > i, so d_i >= λ_min(M), but a slightly negative
         λ_min(ρ) can show as a pivot far below it when an earlier pivot is
         tiny (x is then long): with ρ_12 = 1 - 1e-9, λ_min(ρ) = -1e-12 can
         give an unshifted pivot of -7.5e-4. Any pivot tolerance is then either
         unsound or rejects what `validate_correlation` accepts. Shifted, M is
         positive definite with λ_min(M) = λ + σ, pivots are bounded below by
         it, and the test reads as an eigenvalue bound:
         - λ >= δ - σ = -9e-12: λ_min(M) >= δ, so every pivot is >= δ;
         - every pivot >= δ > 0: M is positive definite, so λ > -σ = -1e-11.
         Rank-deficient ρ (ρ_uv = ±1, J) have λ = 0: pivots >= σ, accepted.
         Rounding: each step is one integer division, so the computed R and D
         are the exact factors of M + E with |E_ij| <= 8 wei, which moves λ by
         at most 64 wei (6.4e-17): nothing next to the 1e-12 gaps above.
         No overflow (why the `unsafe_*` calls are safe): the running pivot
         starts at 1 + σ, only decreases, and is checked >= δ after each
         subtraction, so every stored r_ik has r_ik² / d_k <= 1 + σ with
         δ <= d_k <= 1 + σ: |r_ik| <= 1 + σ and each term |r_ik·r_jk / d_k|
         <= 1 + σ (products < 1.1e36). Then |x| < 8.1 (WAD), x² < 6.6e37, the
         pivot stays above -1e32, and every divisor is >= δ > 0. An indefinite
         ρ returns false at the first running pivot below δ, before any of
         this can grow. Gas: ~34k for n = 8, ~3.5k for n = 3.
    @param _rho The correlation matrix (signed WAD), n x n, n <= MAX_UNDERLYINGS.
    @return bool True if ρ passes.
    """
    n: uint256 = len(_rho)
    r: int256[constants.MAX_UNDERLYINGS][constants.MAX_UNDERLYINGS] = empty(
        int256[constants.MAX_UNDERLYINGS][constants.MAX_UNDERLYINGS]
    )
    d: int256[constants.MAX_UNDERLYINGS] = empty(int256[constants.MAX_UNDERLYINGS])
    for i: uint256 in range(n, bound=constants.MAX_UNDERLYINGS):
        pivot: int256 = DIAGONAL
        for j: uint256 in range(i, bound=constants.MAX_UNDERLYINGS):
            x: int256 = _rho[i][j]
            for k: uint256 in range(j, bound=constants.MAX_UNDERLYINGS):
                # dev: |r_ik|, |r_jk| <= 1 + σ and d_k >= δ > 0 (see above), so no overflow and no zero divisor
                x = unsafe_sub(x, unsafe_div(unsafe_mul(r[i][k], r[j][k]), d[k]))
            r[i][j] = x
            # dev: rounded up (x² >= 0, d_j >= δ > 0): the pivot errs low; |x| <= 8·(1 + σ), x² < 1e38
            pivot = unsafe_sub(pivot, unsafe_div(unsafe_add(unsafe_mul(x, x), d[j] - 1), d[j]))
            if pivot < MIN_PIVOT:
                return False
        d[i] = pivot
    return True
