"""crossmargin.model.pricing: Black-76 against scipy's textbook formula, closed forms and its own derivatives."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from crossmargin.model.pricing import (
    MIN_SIGMA_SQRT_T,
    YEAR_SECONDS,
    OptionGreeks,
    black76_greeks,
    black76_price,
    year_fraction,
)


def textbook(is_call, F, K, T, sigma, r=0.0):
    """The formula as printed: D·(F·N(d1) - K·N(d2)) and D·(K·N(-d2) - F·N(-d1)), scipy.stats.norm."""
    v = sigma * math.sqrt(T)
    d1 = (math.log(F / K) + 0.5 * v * v) / v
    d2 = d1 - v
    D = math.exp(-r * T)
    if is_call:
        return D * (F * norm.cdf(d1) - K * norm.cdf(d2))
    return D * (K * norm.cdf(-d2) - F * norm.cdf(-d1))


@st.composite
def options(draw):
    """(is_call, F, K, T_years, sigma, r) on the contract's test grid: K/F in [0.2, 5], 1 hour .. 2 years."""
    F = 10 ** draw(st.floats(-2, 6))
    K = F * math.exp(draw(st.floats(math.log(0.2), math.log(5))))
    T = draw(st.floats(3600 / YEAR_SECONDS, 2.0))
    sigma = draw(st.floats(0.05, 3.0))
    r = draw(st.sampled_from([0.0, 0.0, 0.03, -0.01]))
    return draw(st.booleans()), F, K, T, sigma, r


# ---------------------------------------------------------------- against scipy and closed forms


@settings(max_examples=100, deadline=None)
@given(opt=options())
def test_matches_scipy_textbook_formula(opt):
    is_call, F, K, T, sigma, r = opt
    # The textbook subtracts two numbers up to F: its own rounding is ~1e-16·(F + K).
    assert abs(black76_price(*opt) - textbook(*opt)) <= 1e-14 * (F + K)


@settings(max_examples=100, deadline=None)
@given(opt=options())
def test_put_call_parity(opt):
    _, F, K, T, sigma, r = opt
    c = black76_price(True, F, K, T, sigma, r)
    p = black76_price(False, F, K, T, sigma, r)
    assert abs((c - p) - math.exp(-r * T) * (F - K)) <= 1e-14 * (F + K)


@settings(max_examples=100, deadline=None)
@given(opt=options())
def test_no_arbitrage_bounds(opt):
    is_call, F, K, T, sigma, r = opt
    D = math.exp(-r * T)
    price = black76_price(*opt)
    intrinsic = max(F - K, 0.0) if is_call else max(K - F, 0.0)
    assert D * intrinsic * (1 - 1e-15) <= price <= D * (F if is_call else K) * (1 + 1e-15)


@pytest.mark.parametrize("F, T, sigma, r", [(2000.0, 30 / 365, 0.8, 0.0), (1.0, 2.0, 3.0, 0.05), (60000.0, 1 / 8760, 0.05, 0.0)])
def test_at_the_money_closed_forms(F, T, sigma, r):
    v = sigma * math.sqrt(T)
    D = math.exp(-r * T)
    atm = D * F * (2 * norm.cdf(v / 2) - 1)
    g = black76_greeks(True, F, F, T, sigma, r)
    assert black76_price(False, F, F, T, sigma, r) == pytest.approx(atm, rel=1e-13)
    assert g.price == pytest.approx(atm, rel=1e-13)
    assert g.delta == pytest.approx(D * norm.cdf(v / 2), rel=1e-13)
    assert g.gamma == pytest.approx(D * norm.pdf(v / 2) / (F * v), rel=1e-13)
    assert g.vega == pytest.approx(D * F * norm.pdf(v / 2) * math.sqrt(T), rel=1e-13)
    theta = r * atm - D * F * norm.pdf(v / 2) * sigma / (2 * math.sqrt(T))
    assert g.theta == pytest.approx(theta, rel=1e-12)


def test_limits():
    F = 100.0
    assert black76_price(True, F, 1e-9, 1.0, 0.5) == pytest.approx(F - 1e-9, rel=1e-14)  # strike -> 0: F - K
    assert black76_price(True, F, 100.0, 1.0, 40.0) == pytest.approx(F, rel=1e-12)     # vol -> inf: the forward
    assert black76_price(False, F, 100.0, 1.0, 40.0) == pytest.approx(100.0, rel=1e-12)
    assert 0.0 <= black76_price(True, F, 1e6, 1.0, 0.5) < 1e-70                        # far out: nothing
    assert black76_price(True, F, 50.0, 1.0, 0.5, 0.05) == pytest.approx(
        math.exp(-0.05) * 50.0 + black76_price(False, F, 50.0, 1.0, 0.5, 0.05), rel=1e-14
    )


def test_deep_out_of_the_money_keeps_relative_accuracy():
    # A 10-sigma put: the textbook K·N(-d2) - F·N(-d1) of two tiny numbers is accurate; intrinsic + TV must be too.
    F, K, T, sigma = 100.0, 40.0, 0.25, 0.18
    ref = textbook(False, F, K, T, sigma)
    assert 0 < ref < 1e-20
    assert black76_price(False, F, K, T, sigma) == pytest.approx(ref, rel=1e-9)
    # and the in-the-money call gets the same tiny time value on top of its intrinsic value
    assert black76_price(True, F, K, T, sigma) - (F - K) == pytest.approx(ref, abs=1e-13)


# ---------------------------------------------------------------- edges


@pytest.mark.parametrize("T", [0.0, -1.0, 1e-30])
def test_expired_or_no_time_value_is_intrinsic(T):
    for is_call, K in [(True, 90.0), (True, 110.0), (False, 90.0), (False, 110.0), (True, 100.0)]:
        intrinsic = max(100.0 - K, 0.0) if is_call else max(K - 100.0, 0.0)
        assert black76_price(is_call, 100.0, K, T, 0.8) == intrinsic
        g = black76_greeks(is_call, 100.0, K, T, 0.8)
        itm = 100.0 > K if is_call else 100.0 < K
        assert g.delta == ((1.0 if is_call else -1.0) if itm else 0.0)
        assert (g.gamma, g.vega, g.theta) == (0.0, 0.0, 0.0)


def test_tiny_total_vol_threshold_matches_the_contract():
    T = 1.0
    assert black76_price(True, 100.0, 100.0, T, MIN_SIGMA_SQRT_T * 0.99) == 0.0
    assert black76_price(True, 100.0, 100.0, T, MIN_SIGMA_SQRT_T * 1.01) > 0.0


def test_zero_strike_and_zero_spot_raise():
    with pytest.raises(ValueError, match="zero strike"):
        black76_price(True, 100.0, 0.0, 1.0, 0.5)
    with pytest.raises(ValueError, match="zero spot"):
        black76_greeks(False, 0.0, 100.0, 1.0, 0.5)
    with pytest.raises(ValueError, match="zero strike"):
        black76_price(True, np.array([100.0, 90.0]), np.array([100.0, 0.0]), 1.0, 0.5)


# ---------------------------------------------------------------- vectorisation


def test_vectorised_over_arrays_and_scalar_in_scalar_out():
    F = np.linspace(50, 150, 11)
    prices = black76_price(True, F, 100.0, 0.5, 0.6)
    assert isinstance(prices, np.ndarray) and prices.shape == (11,)
    assert all(prices[i] == black76_price(True, float(F[i]), 100.0, 0.5, 0.6) for i in range(11))
    assert isinstance(black76_price(True, 100.0, 100.0, 0.5, 0.6), float)
    mixed = black76_price(np.array([True, False]), 100.0, np.array([[90.0], [110.0]]), 0.5, 0.6)
    assert mixed.shape == (2, 2)
    assert mixed[1, 0] == black76_price(True, 100.0, 110.0, 0.5, 0.6)
    g = black76_greeks(np.array([True, False]), 100.0, 100.0, np.array([0.0, 0.5]), 0.6)
    assert isinstance(g, OptionGreeks) and g.delta.shape == (2,)
    assert g.delta[0] == 0.0 and g.gamma[0] == 0.0 and g.gamma[1] > 0


def test_year_fraction_is_the_contracts_year():
    assert year_fraction(YEAR_SECONDS) == 1.0
    assert YEAR_SECONDS == 365 * 86400


# ---------------------------------------------------------------- Greeks: units and derivatives


@settings(max_examples=60, deadline=None)
@given(opt=options())
def test_greeks_are_derivatives_of_the_price(opt):
    is_call, F, K, T, sigma, r = opt
    g = black76_greeks(*opt)
    v = sigma * math.sqrt(T)
    p = lambda F_=F, T_=T, s_=sigma: black76_price(is_call, F_, K, T_, s_, r)  # noqa: E731
    h = F * v * 1e-3
    noise = 1e-15 * (F + K)  # double rounding of one price
    assert (p(F_=F + h) - p(F_=F - h)) / (2 * h) == pytest.approx(g.delta, abs=1e-6 + noise / h)
    gamma_fd = (p(F_=F + h) - 2 * p() + p(F_=F - h)) / (h * h)
    assert gamma_fd == pytest.approx(g.gamma, rel=1e-3, abs=1e-6 / (F * v) + 4 * noise / (h * h))
    ds = sigma * 1e-4  # vega is per 1.00 of vol
    assert (p(s_=sigma + ds) - p(s_=sigma - ds)) / (2 * ds) == pytest.approx(g.vega, rel=1e-5, abs=1e-9 * F)
    dt = T * 1e-4      # theta is dV/dt per year: minus the derivative in time to expiry
    theta_fd = -(p(T_=T + dt) - p(T_=T - dt)) / (2 * dt)
    assert theta_fd == pytest.approx(g.theta, rel=1e-5, abs=1e-9 * F)
    assert g.price == black76_price(*opt)
