"""`OptionPricer.greeks` (value and Greeks without the grid, for bots) and `price` (one option): the same numbers
as `scenario_values` and the black76 library, with the rounding direction of each."""

from __future__ import annotations

import boa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossmargin.model.pricing import YEAR_SECONDS, black76_price
from tests.unit.option_pricer.conftest import NOW, WAD, grid, leg
from tests.unit.option_pricer.test_scenario_values import batches

SETTINGS = dict(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                         HealthCheck.function_scoped_fixture])


@given(batches())
@settings(**SETTINGS)
def test_greeks_equal_scenario_values(pricer, batch):
    spot, shock, legs = batch
    value, _, delta, gamma, vega, theta, _ = pricer.scenario_values(grid(spot, shock), legs)
    assert pricer.greeks(grid(spot, shock)[0], 0, NOW, legs) == (value, delta, gamma, vega, theta)


@given(st.booleans(), st.integers(1, 10**6), st.integers(1, 10**6), st.integers(0, 2 * YEAR_SECONDS),
       st.integers(5, 300))
@settings(**SETTINGS)
def test_price_brackets_the_reference(pricer, is_call, spot_cents, strike_cents, t, vol_pct):
    spot, strike, sigma = spot_cents * 10**16, strike_cents * 10**16, vol_pct * 10**16
    down = pricer.price(is_call, spot, strike, t, sigma, 0, False)
    up = pricer.price(is_call, spot, strike, t, sigma, 0, True)
    ref = black76_price(is_call, spot / WAD, strike / WAD, t / YEAR_SECONDS, sigma / WAD)
    err = 2 * ((spot + strike) // 10**13 + 16)
    assert down <= up <= down + err
    noise = 1e-15 * (spot + strike) / WAD
    assert down / WAD <= ref + noise and up / WAD >= ref - noise


def test_price_is_intrinsic_when_expired(pricer):
    assert pricer.price(True, 3100 * WAD, 3000 * WAD, 0, WAD, 0, False) == 100 * WAD
    assert pricer.price(False, 3100 * WAD, 3000 * WAD, 0, WAD, 0, True) == 0


def test_greeks_of_a_long_call(pricer):
    value, delta, gamma, vega, theta = pricer.greeks(3000 * WAD, 0, NOW, [leg(True, 3000.0, 30, 0.6, 1.0)])
    assert value > 0 and 0.5 * WAD < delta < 0.6 * WAD and gamma > 0 and vega > 0 and theta < 0


def test_greeks_reverts_on_zero_strike(pricer):
    with boa.reverts("zero strike"):
        pricer.greeks(3000 * WAD, 0, NOW, [(True, 0, NOW + 1, WAD, WAD)])
