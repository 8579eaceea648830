"""`OptionPricer.scenario_values`: value, 27 scenario PnLs and Greeks of a batch, against the model's numpy
Black-76 (`reference`), and the rounding direction (value down, PnL down: never above the exact numbers beyond
the model's float noise)."""

from __future__ import annotations

import dataclasses

import boa
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.strategies import decimals
from tests.unit.option_pricer.conftest import NOW, RISK, WAD, grid, leg, reference

SETTINGS = dict(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.function_scoped_fixture])


def _wad_floats(words) -> np.ndarray:
    """WAD integers as floats, each by Python's correctly rounded int / int: the same integer always gives the same
    float (an int64 array divides by converting first, two roundings: 1 ulp off an equal word of an object array)."""
    return np.array(words, dtype=object) / WAD


def _unpack(out) -> tuple:
    value, pnl, delta, gamma, vega, theta, _term = out
    return value / WAD, _wad_floats(pnl), delta / WAD, gamma / WAD, vega / WAD, theta / WAD


def reference_term(g, legs, risk=RISK) -> tuple[np.ndarray, float]:
    """The term row from the model, legs grouped by expiry: Σ_expiry min over rows of the expiry's PnL (and the
    summed slack)."""
    groups: dict[int, np.ndarray] = {}
    slack = 0.0
    for x in legs:
        e = reference(g, [x], risk)
        groups[x[2]] = groups.get(x[2], 0.0) + e.pnl.reshape(3, 9)
        slack += e.slack
    term = sum((p.min(axis=0) for p in groups.values()), np.zeros(9))
    return term, slack


@st.composite
def batches(draw, max_legs: int = 6):
    """(spot, shock, legs): strikes 0.5-2x spot, expiries from expired to 400 days, vols 5-300 %."""
    spot = draw(decimals(1.0, 100_000.0, 2))
    shock = draw(decimals(0.02, 0.5, 6))
    legs = []
    for _ in range(draw(st.integers(1, max_legs))):
        days = draw(st.one_of(st.sampled_from([-1.0, 1 / 24, 1.0, 7.0, 30.0, 365.0]), decimals(0.01, 400.0, 2)))
        size = draw(st.sampled_from([1, -1])) * draw(decimals(0.0001, 1000.0, 4))
        legs.append(leg(draw(st.booleans()), draw(decimals(0.5 * spot, 2.0 * spot, 2)), days,
                        draw(decimals(0.05, 3.0, 4)), size))
    return spot, shock, legs


def check(pricer, g, legs, risk=RISK):
    out = pricer.scenario_values(g, legs)
    value, pnl, delta, gamma, vega, theta = _unpack(out)
    e = reference(g, legs, risk)
    units = sum(abs(x[4]) for x in legs) / WAD
    notional = sum(abs(x[4]) / WAD * (g[0] / WAD + x[1] / WAD) for x in legs)
    noise = 1e-14 * notional + 1e-15            # the model's float noise
    # value: long legs down, short legs up -> never above the model's value
    assert e.value - e.slack - noise <= value <= e.value + noise
    # PnL: every scenario at or below the model's, by at most the directed margin (+ the floors)
    assert np.all(pnl <= e.pnl + noise), (pnl - e.pnl).max()
    assert np.all(pnl >= e.pnl - e.slack - noise - 1e-17), (e.pnl - pnl).max()
    # term row: each expiry at the worst of its rows, at or below every row, within the same margins
    term = _wad_floats(out[6])
    want, slack = reference_term(g, [x for x in legs if x[4] != 0], risk)
    assert np.all(term <= pnl.reshape(3, 9).min(axis=0))
    assert np.all(term <= want + noise) and np.all(term >= want - slack - noise - 1e-17), (term - want)
    # Greeks: black76 per unit within 1e-12 (delta) and 1e-10 relative (gamma, vega, theta) of scipy
    assert abs(delta - e.delta) <= 1e-12 * units + 1e-17 * len(legs) + 1e-9 * abs(e.delta)
    # theta's carry term r·V uses the price rounded down: off by up to r·ERR per unit
    carry = g[6] / WAD * e.slack
    for got, want, name in ((gamma, e.gamma, "gamma"), (vega, e.vega, "vega"), (theta, e.theta, "theta")):
        gross = _gross(g, legs, name)
        extra = carry if name == "theta" else 0.0
        assert abs(got - want) <= 1e-9 * gross + 1e-15 * notional + 1e-17 * len(legs) + extra, name


def _gross(g, legs, name) -> float:
    """Σ |size · greek| of the legs (the scale of the Greeks' error)."""
    from crossmargin.model.pricing import YEAR_SECONDS, black76_greeks

    out = 0.0
    for is_call, strike, expiry, vol, size in legs:
        T = (expiry - g[7]) / YEAR_SECONDS
        greeks = black76_greeks(is_call, g[0] / WAD, strike / WAD, T, vol / WAD, g[6] / WAD)
        out += abs(size / WAD * getattr(greeks, name))
    return out


@given(batches())
@settings(**SETTINGS)
# a term row word equal to its column's worst PnL that an int64 array made 1 ulp larger (see `_wad_floats`)
@example(batch=(70.96, 0.02, [(False, 35_490 * 10**15, 1_751_111_104, 14_271 * 10**14, 11_759_200 * 10**15)]))
def test_scenario_values_match_model(pricer, batch):
    spot, shock, legs = batch
    check(pricer, grid(spot, shock), legs)


@given(batches(max_legs=3), decimals(0.001, 0.2, 3))
@settings(**{**SETTINGS, "max_examples": 40})
def test_scenario_values_match_model_with_rate(pricer, batch, rate):
    spot, shock, legs = batch
    risk = dataclasses.replace(RISK, rate=rate)
    check(pricer, grid(spot, shock, risk=risk), legs, risk)


@pytest.mark.parametrize("days", [1, 7, 30, 180])
def test_vol_shocks_grow_for_short_expiries(pricer, days):
    """μ = min(cap, sqrt(T_ref / T)): T_ref = 30 days, cap 3 -> μ = 3 (1 day), sqrt(30/7), 1, sqrt(1/6)."""
    g = grid(3000.0, 0.1)
    legs = [leg(True, 3000.0, days, 0.6, 1.0)]
    check(pricer, g, legs)
    pnl = _unpack(pricer.scenario_values(g, legs))[1].reshape(3, 9)
    assert pnl[0, 4] < 0 < pnl[2, 4]          # at m = 0: vol down loses, vol up gains (long)


def test_flat_point_is_the_current_value(pricer):
    """pnl at (flat vol, m = 0) is 0 up to the directed margin: value now up, value in the scenario down."""
    g = grid(3000.0, 0.1)
    legs = [leg(True, 3000.0, 30, 0.6, 2.0), leg(False, 2500.0, 7, 0.6, -3.0)]
    pnl = pricer.scenario_values(g, legs)[1]
    assert -reference(g, legs).slack * WAD <= pnl[13] <= 0


def test_expired_legs_are_intrinsic_in_every_vol_row(pricer):
    g = grid(3000.0, 0.1)
    legs = [leg(True, 2900.0, -1, 0.6, 2.0), leg(False, 3100.0, -1 / 24, 0.6, -1.5)]
    value, pnl, delta, gamma, vega, theta, term = pricer.scenario_values(g, legs)
    # exact: 2·100 - 1.5·100 now; F_k = 3000·(1 + (k-4)/40)
    assert value == 50 * WAD
    spots = [3000 * WAD * (40 + k - 4) // 40 for k in range(9)]
    now = 2 * 100 * WAD - 3 * 100 * WAD // 2
    want = [2 * max(F - 2900 * WAD, 0) - 3 * max(3100 * WAD - F, 0) // 2 - now for F in spots]
    assert list(pnl[:9]) == want and list(pnl[9:18]) == want and list(pnl[18:]) == want
    assert list(term) == want   # two expired expiries: every row the same
    assert delta == 2 * WAD + 3 * WAD // 2 and (gamma, vega, theta) == (0, 0, 0)


def test_zero_sizes_and_empty_batches(pricer):
    g = grid(3000.0, 0.1)
    empty = pricer.scenario_values(g, [])
    assert empty == (0, [0] * 27, 0, 0, 0, 0, [0] * 9)
    assert pricer.scenario_values(g, [leg(True, 3000.0, 30, 0.6, 0.0)]) == empty


def test_zero_strike_reverts_and_zero_spot_is_all_zeros(pricer):
    with boa.reverts("zero strike"):
        pricer.scenario_values(grid(3000.0, 0.1), [(True, 0, NOW + 86_400, WAD, WAD)])
    # S = 0 comes from a feed answering <= 0, a book the engine reports STALE: no revert (issue 10 §7)
    zero_spot = (0,) + grid(3000.0, 0.1)[1:]
    legs = [leg(True, 3000.0, 1, 0.6, 1.0), leg(False, 3000.0, -1, 0.6, -2.0)]   # a live call, an expired put
    assert pricer.scenario_values(zero_spot, legs) == (0, [0] * 27, 0, 0, 0, 0, [0] * 9)


def test_at_most_32_legs(pricer):
    legs = [leg(True, 3000.0 + i, 30, 0.6, 1.0) for i in range(32)]
    assert pricer.scenario_values(grid(3000.0, 0.1), legs)[0] > 0
    with pytest.raises(Exception):
        pricer.scenario_values(grid(3000.0, 0.1), legs + [legs[0]])
