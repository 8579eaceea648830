# pragma version ~=0.4.3
"""
@title crossmargin standard normal distribution
@custom:contract-name normal
@license MIT
@notice Standard normal pdf φ, cdf N and Mills ratio M in WAD. Stateless:
        import with `from . import normal`.
@dev Method. Everything goes through the Mills ratio M(x) = (1 - N(x)) / φ(x),
     x >= 0, which is smooth, positive, decreasing, M(0) = sqrt(pi/2),
     M(x) ~ 1/x. Then 1 - N(x) = φ(x)·M(x) for x >= 0 and N(x) = φ(-x)·M(-x)
     for x < 0: both tails keep their relative accuracy (no 1 - N cancellation),
     which is what Black-76 needs for out-of-the-money prices.
       - 0 <= x < 5: M(x) = P6(x) / Q7(x), a (6, 7) minimax rational in x;
       - 5 <= x < 1e12: M(x) = P4(z) / (x · Q5(z)), z = 1/x², a (4, 5) minimax
         rational in z (the asymptotic shape M ~ 1/x is exact);
       - x >= 1e12: M(x) = 1/x (relative error < 1e-24).
     The coefficients were fitted by a relative-error Remez exchange in 80-digit
     arithmetic (mpmath); the fits equioscillate at 5.9e-15 (first piece) and
     1.3e-15 (second piece). They are stored as integers scaled by 1e36 and
     evaluated by Horner's rule in uint256 with 1e36 intermediate precision;
     every coefficient is positive, so no signed arithmetic is needed.
     φ(x) = exp(-x²/2 - ln sqrt(2 pi)) with snekmate's `_wad_exp`.
     Measured against scipy (tests/unit/lib/test_normal.py; 20,001-point grid):
     max |N_chain - N| = 2.9e-15 over |x| <= 10 (at x = 0, the fit's
     endpoint; the brief asks 1e-7); max relative error of M on [0, 1e4]
     5.9e-15, and at most 2 wei absolute beyond.
     Clamp: |x| >= 10 gives cdf 0 or 1 and pdf 0 (true values < 8e-23).
     N(x) + N(-x) == 1e18 exactly for x != 0 (both share one tail).
     Gas (py-evm, net of the call): pdf ~0.65k (one snekmate `_wad_exp`),
     Mills ratio ~0.5k, cdf ~1.4k.
"""

from snekmate.utils import math

from . import fixed_point


# @dev Fixed-point unit.
WAD: constant(uint256) = 10**18
# @dev Scale of the rational coefficients and of Horner's intermediate sums.
COEFF_SCALE: constant(uint256) = 10**36
# @dev |x| at and beyond which the cdf is clamped to 0 / 1 and the pdf to 0.
X_MAX: constant(uint256) = 10 * 10**18
# @dev ln(sqrt(2 pi)) in WAD (0.918938533204672741780...).
LN_SQRT_2PI: constant(int256) = 918_938_533_204_672_742
# @dev Start of the second (asymptotic-variable) piece of the Mills ratio.
MILLS_SPLIT: constant(uint256) = 5 * 10**18
# @dev From here on M(x) = 1/x to 1e-24 relative (and x² would near 2**256).
MILLS_INVERSE: constant(uint256) = 10**30

# @dev Mills ratio on [0, 5): numerator P6(x) (coefficient of x^k, scaled 1e36).
MID_P0: constant(uint256) = 1_253_314_137_315_507_620_967_444_730_915_307_704
MID_P1: constant(uint256) = 1_314_190_708_145_487_270_230_292_224_296_478_978
MID_P2: constant(uint256) = 688_371_231_935_320_695_064_606_075_128_089_704
MID_P3: constant(uint256) = 216_019_474_353_267_010_202_712_374_733_416_511
MID_P4: constant(uint256) = 42_261_138_704_396_909_859_058_591_644_206_956
MID_P5: constant(uint256) = 4_867_183_764_060_776_517_325_378_612_652_167
MID_P6: constant(uint256) = 259_577_060_613_617_352_268_568_093_942_033
# @dev Mills ratio on [0, 5): denominator Q7(x) (coefficient of x^k, scaled 1e36).
MID_Q0: constant(uint256) = 1_000_000_000_000_000_000_000_000_000_000_000_000
MID_Q1: constant(uint256) = 1_846_457_036_783_712_706_374_678_530_403_731_921
MID_Q2: constant(uint256) = 1_522_500_339_871_057_518_305_686_083_131_315_166
MID_Q3: constant(uint256) = 729_871_120_576_973_835_907_718_404_189_887_163
MID_Q4: constant(uint256) = 220_908_757_675_541_749_221_915_104_815_964_682
MID_Q5: constant(uint256) = 42_519_262_492_319_435_737_716_573_947_569_124
MID_Q6: constant(uint256) = 4_867_245_143_854_120_275_838_649_212_888_906
MID_Q7: constant(uint256) = 259_575_811_165_072_879_266_692_914_201_079
# @dev x·M(x) on [5, 1e12): numerator P4(z), z = 1/x² (coefficient of z^k, scaled 1e36).
TAIL_P0: constant(uint256) = 999_999_999_999_998_741_366_336_055_609_294_266
TAIL_P1: constant(uint256) = 34_486_477_195_724_856_670_386_727_433_164_295_599
TAIL_P2: constant(uint256) = 356_445_894_160_395_864_312_672_885_868_252_998_026
TAIL_P3: constant(uint256) = 1_213_193_252_972_582_286_132_124_977_686_366_996_047
TAIL_P4: constant(uint256) = 974_728_485_689_038_722_623_375_623_307_557_790_968
# @dev x·M(x) on [5, 1e12): denominator Q5(z) (coefficient of z^k, scaled 1e36).
TAIL_Q0: constant(uint256) = 1_000_000_000_000_000_000_000_000_000_000_000_000
TAIL_Q1: constant(uint256) = 35_486_477_195_716_545_288_304_867_606_288_848_755
TAIL_Q2: constant(uint256) = 388_932_371_365_052_987_912_443_406_344_580_670_168
TAIL_Q3: constant(uint256) = 1_510_666_189_007_326_786_923_049_858_358_972_008_681
TAIL_Q4: constant(uint256) = 1_745_895_531_935_086_879_234_052_457_378_831_924_479
TAIL_Q5: constant(uint256) = 266_696_128_053_105_516_057_956_328_375_548_000_092


@internal
@pure
def _pdf(x: int256) -> uint256:
    """
    @notice Standard normal density φ(x) in WAD.
    @param x A signed WAD.
    @return uint256 φ(x) in WAD (0 for |x| >= 10).
    """
    return self._pdf_abs(fixed_point._abs(x))


@internal
@pure
def _pdf_abs(x: uint256) -> uint256:
    """
    @notice Standard normal density of a magnitude, φ(x) = φ(-x), in WAD.
    @dev exp(-x²/2 - ln sqrt(2 pi)) in one `_wad_exp`; x²/2 is floored, so the
         result errs up by at most one part in 1e18. It reaches 0 at x ~ 9.003
         (below 1 wei).
    @param x A WAD magnitude.
    @return uint256 φ(x) in WAD (0 for x >= 10).
    """
    if x >= X_MAX:
        return 0
    # dev: x < 1e19, so x * x < 1e38 fits and the quotient < 5e19 converts to int256.
    half_sq: int256 = convert(unsafe_div(unsafe_mul(x, x), 2 * WAD), int256)
    # dev: -half_sq - LN_SQRT_2PI > -51e18: no overflow; exp of it is in [0, 0.4e18],
    # dev: non-negative, so the conversion to uint256 cannot fail.
    return convert(math._wad_exp(unsafe_sub(unsafe_sub(0, half_sq), LN_SQRT_2PI)), uint256)


@internal
@pure
def _cdf(x: int256) -> uint256:
    """
    @notice Standard normal cumulative distribution N(x) in WAD.
    @dev 1 - φ(x)M(x) for x >= 0, φ(x)M(-x) for x < 0; clamped to 0 / 1 beyond
         |x| >= 10. Absolute error <= 2e-18 (see the header).
    @param x A signed WAD.
    @return uint256 N(x) in WAD, in [0, 1e18].
    """
    a: uint256 = fixed_point._abs(x)
    if a >= X_MAX:
        return WAD if x > 0 else 0
    # dev: φ(a) <= 0.399e18 and M(a) <= 1.254e18: the product < 5.1e35 fits; the tail is <= ~0.5e18.
    tail: uint256 = unsafe_div(unsafe_mul(self._pdf_abs(a), self._mills(a)), WAD)
    if x < 0:
        return tail
    if tail >= WAD:
        return 0
    # dev: tail < WAD just checked.
    return unsafe_sub(WAD, tail)


@internal
@pure
def _mills(x: uint256) -> uint256:
    """
    @notice Mills ratio M(x) = (1 - N(x)) / φ(x) of a non-negative WAD, in WAD.
    @dev Piecewise minimax rationals (see the header); relative error <= 6e-15
         plus the final floor to a wei. Rounded down.
    @param x A WAD magnitude.
    @return uint256 M(x) in WAD (M(0) = 1.2533e18, decreasing, ~1e36 / x).
    """
    p: uint256 = 0
    q: uint256 = 0
    if x < MILLS_SPLIT:
        # dev: x < 5e18 and every coefficient is positive and < 2e36, so the
        # dev: partial sums are bounded by P6(5) < 1e38 and Q7(5) < 6e38; each
        # dev: product sum * x < 3e57 < 2**256: no overflow.
        p = unsafe_add(unsafe_div(unsafe_mul(MID_P6, x), WAD), MID_P5)
        p = unsafe_add(unsafe_div(unsafe_mul(p, x), WAD), MID_P4)
        p = unsafe_add(unsafe_div(unsafe_mul(p, x), WAD), MID_P3)
        p = unsafe_add(unsafe_div(unsafe_mul(p, x), WAD), MID_P2)
        p = unsafe_add(unsafe_div(unsafe_mul(p, x), WAD), MID_P1)
        p = unsafe_add(unsafe_div(unsafe_mul(p, x), WAD), MID_P0)
        q = unsafe_add(unsafe_div(unsafe_mul(MID_Q7, x), WAD), MID_Q6)
        q = unsafe_add(unsafe_div(unsafe_mul(q, x), WAD), MID_Q5)
        q = unsafe_add(unsafe_div(unsafe_mul(q, x), WAD), MID_Q4)
        q = unsafe_add(unsafe_div(unsafe_mul(q, x), WAD), MID_Q3)
        q = unsafe_add(unsafe_div(unsafe_mul(q, x), WAD), MID_Q2)
        q = unsafe_add(unsafe_div(unsafe_mul(q, x), WAD), MID_Q1)
        q = unsafe_add(unsafe_div(unsafe_mul(q, x), WAD), MID_Q0)
        # dev: p < 1e38 so p * WAD < 1e56; q >= MID_Q0 > 0.
        return unsafe_div(unsafe_mul(p, WAD), q)
    if x >= MILLS_INVERSE:
        # dev: x >= 1e30 > 0.
        return unsafe_div(WAD * WAD, x)
    # dev: 5e18 <= x < 1e30, so x * x < 1e60 and z = 1/x² in WAD is in (1e-6, 4e16].
    z: uint256 = unsafe_div(WAD * WAD * WAD, unsafe_mul(x, x))
    # dev: z <= 4e16 and the coefficients are positive and < 2e39: every partial
    # dev: sum is < 2e39 and every product sum * z < 1e56: no overflow.
    p = unsafe_add(unsafe_div(unsafe_mul(TAIL_P4, z), WAD), TAIL_P3)
    p = unsafe_add(unsafe_div(unsafe_mul(p, z), WAD), TAIL_P2)
    p = unsafe_add(unsafe_div(unsafe_mul(p, z), WAD), TAIL_P1)
    p = unsafe_add(unsafe_div(unsafe_mul(p, z), WAD), TAIL_P0)
    q = unsafe_add(unsafe_div(unsafe_mul(TAIL_Q5, z), WAD), TAIL_Q4)
    q = unsafe_add(unsafe_div(unsafe_mul(q, z), WAD), TAIL_Q3)
    q = unsafe_add(unsafe_div(unsafe_mul(q, z), WAD), TAIL_Q2)
    q = unsafe_add(unsafe_div(unsafe_mul(q, z), WAD), TAIL_Q1)
    q = unsafe_add(unsafe_div(unsafe_mul(q, z), WAD), TAIL_Q0)
    # dev: p, q < 4e36; p * 1e36 < 4e72 and q * x < 4e66 (q >= 1e36, x >= 5e18 > 0).
    return unsafe_div(unsafe_mul(p, COEFF_SCALE), unsafe_mul(q, x))
