"""normal.vy: pdf, cdf and Mills ratio in WAD against scipy (double precision, ~1e-16).

The brief asks |N_chain - N| <= 1e-7 over |x| <= 10; the implementation is measured at ~3e-15, so the
tests hold it to 1e-14 (a regression in the rational coefficients shows up immediately) and report the
measured maximum.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import erfcx, ndtr

WAD = 10**18
X_MAX = 10 * WAD
CDF_TOL = 1e-14        # measured 2.9e-15 (the brief's bound is 1e-7)
MILLS_REL_TOL = 1e-14  # measured 5.9e-15 (the Remez equioscillation level of the first piece)


def mills_ref(x):
    """Mills ratio (1 - N(x)) / φ(x) = sqrt(pi/2) · erfcx(x / sqrt 2), relative accuracy ~1e-16."""
    return np.sqrt(np.pi / 2) * erfcx(np.asarray(x, dtype=float) / np.sqrt(2))


def pdf_ref(x):
    return np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)


wad_x = st.integers(-X_MAX, X_MAX)


def test_cdf_max_error_on_grid(b76):
    xs = np.linspace(-10, 10, 2001)
    errs = [abs(b76.cdf(int(round(x * WAD))) / WAD - ndtr(round(x * WAD) / WAD)) for x in xs]
    worst = max(errs)
    assert worst <= CDF_TOL, f"max |N_chain - N| = {worst:.3e}"


@settings(max_examples=100, deadline=None)
@given(x=wad_x)
def test_cdf_matches_scipy(b76, x):
    assert abs(b76.cdf(x) / WAD - ndtr(x / WAD)) <= CDF_TOL


@settings(max_examples=50, deadline=None)
@given(x=st.integers(1, X_MAX))
def test_cdf_symmetry_is_exact(b76, x):
    # N(x) = 1 - φ(x)M(x) and N(-x) = φ(x)M(x) share the tail: they add up to one to the wei.
    assert b76.cdf(x) + b76.cdf(-x) == WAD


def test_cdf_is_monotone(b76):
    values = [b76.cdf(x) for x in range(-9 * WAD, 9 * WAD + 1, WAD // 16)]
    assert all(a <= b for a, b in zip(values, values[1:]))


@pytest.mark.parametrize("x", [X_MAX, X_MAX + 1, 50 * WAD, 10**40, 2**255 - 1])
def test_cdf_clamps_beyond_ten(b76, x):
    assert b76.cdf(x) == WAD
    assert b76.cdf(-x) == 0
    assert b76.pdf(x) == 0
    assert b76.pdf(-x) == 0


def test_cdf_at_zero(b76):
    assert abs(b76.cdf(0) - WAD // 2) <= 3_000  # 3e-15: the fit's error at x = 0


@settings(max_examples=100, deadline=None)
@given(x=wad_x)
def test_pdf_matches_scipy(b76, x):
    ref = pdf_ref(x / WAD)
    # One exp: relative 1e-17 near the centre, at worst a couple of wei absolute in the tails.
    assert abs(b76.pdf(x) / WAD - ref) <= 2e-18 + 1e-15 * ref


def test_pdf_is_even(b76):
    for x in (0, 1, WAD // 3, 2 * WAD, 7 * WAD):
        assert b76.pdf(x) == b76.pdf(-x)


def test_mills_relative_error_on_grid(b76):
    worst = 0.0
    for x in np.concatenate([np.linspace(0, 12, 1201), np.geomspace(12, 1e4, 100)]):
        xw = int(round(x * WAD))
        worst = max(worst, abs(b76.mills(xw) / WAD / mills_ref(xw / WAD) - 1))
    assert worst <= MILLS_REL_TOL, f"max relative error of M = {worst:.3e}"
    # Far out M ~ 1/x falls below a WAD's resolution: a couple of wei absolute.
    for x in np.geomspace(1e4, 1e15, 50):
        xw = int(round(x * WAD))
        assert abs(b76.mills(xw) - mills_ref(xw / WAD) * WAD) <= 2


@settings(max_examples=100, deadline=None)
@given(x=st.integers(0, 40 * WAD))
def test_mills_matches_erfcx(b76, x):
    ref = mills_ref(x / WAD)
    assert abs(b76.mills(x) / WAD / ref - 1) <= MILLS_REL_TOL


@pytest.mark.parametrize("x", [0, 5 * WAD - 1, 5 * WAD, 10**30 - 1, 10**30, 10**40, 2**200])
def test_mills_piece_boundaries_and_huge_arguments(b76, x):
    got = b76.mills(x)
    ref = mills_ref(x / WAD) * WAD
    assert abs(got - ref) <= max(2, 1e-14 * ref)


def test_mills_is_decreasing_across_pieces(b76):
    xs = [x * WAD // 64 for x in range(0, 64 * 12)] + [5 * WAD - 1, 5 * WAD, 5 * WAD + 1]
    xs.sort()
    values = [b76.mills(x) for x in xs]
    assert all(a >= b for a, b in zip(values, values[1:]))
