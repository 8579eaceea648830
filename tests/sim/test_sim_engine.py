"""The vectorised engine against `crossmargin.model.margin`: the same numbers, to the last bit.

`MarginArrays.health` sums position by position in market order, as the model does for an account whose
positions are in market order (`BookSet.account(i)`), so equality is exact. For an account with its positions
in another order only the floating-point summation order differs.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from crossmargin.model.margin import isolated_requirements, mark_value, requirements
from crossmargin.model.portfolio import MarketState
from crossmargin.sim.books import from_accounts, random_books
from crossmargin.sim.engine import MarginArrays
from crossmargin.sim.paths import GBMConfig, gbm_paths
from crossmargin.sim.stress import SCENARIOS
from tests.sim.conftest import P, S0
from tests.strategies import accounts, market_states

FIELDS = ("equity_im", "equity_mm", "im", "mm", "scenario", "addons")


def assert_equal_to_model(books, health, state, rows):
    for i in rows:
        r = requirements(books.account(i), state, P)
        got = {f: float(getattr(health, f)[i]) for f in FIELDS}
        want = {f: getattr(r, f) for f in FIELDS}
        assert got == want, (i, books.strategy[i])
        assert bool(health.liquidatable[i]) == r.liquidatable


def test_engine_requirement_at_start_equals_model_exactly(funded):
    cross, iso, h_cross, h_iso = funded
    assert_equal_to_model(cross, h_cross, S0, range(len(cross)))


def test_isolated_subaccounts_equal_isolated_requirements_exactly(funded):
    cross, iso, _, h_iso = funded
    unfunded = random_books(P, 300, np.random.default_rng(np.random.SeedSequence(11).spawn(2)[0]), S0)
    sub = MarginArrays(unfunded.isolated()).health(S0)   # requirements do not depend on cash
    for i in range(len(cross)):
        items = isolated_requirements(cross.account(i), S0, P).items
        mine = iso.owner == i
        assert [r.im for _, r in items] == sub.im[mine].tolist() == h_iso.im[mine].tolist()
        assert [r.scenario for _, r in items] == h_iso.scenario[mine].tolist()


@pytest.mark.parametrize("key, step", [("2020-03-12", 26), ("luna", 176), ("ftx", 100), ("2024-08-05", 78),
                                       ("2024-08-05", 120)])
def test_engine_equals_model_along_stress_paths(funded, key, step):
    cross, _, _, _ = funded
    state = SCENARIOS[key].path(P).state(step)
    assert_equal_to_model(cross, MarginArrays(cross).health(state), state, range(0, len(cross), 3))


def test_engine_equals_model_after_an_option_expires(funded):
    """Past the 7-day expiry options are worth their intrinsic value (and the vol shock is capped)."""
    cross, _, _, _ = funded
    path = gbm_paths(P, 1, seed=3, config=GBMConfig(days=8))[0]
    state = path.state(path.steps)
    assert state.now > P.market("ETH-C-3000-7D").expiry
    assert_equal_to_model(cross, MarginArrays(cross).health(state), state, range(len(cross)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(account=accounts(P), state=market_states(P))
def test_engine_equals_model_on_any_account(account, state):
    books = from_accounts(P, [account])
    h = MarginArrays(books).health(state)
    exact = requirements(books.account(0), state, P)              # positions in market order: bit-equal
    assert {f: float(getattr(h, f)[0]) for f in FIELDS} == {f: getattr(exact, f) for f in FIELDS}
    given_order = requirements(account, state, P)                  # any order: summation order only
    for f in FIELDS:
        assert float(getattr(h, f)[0]) == pytest.approx(getattr(given_order, f), rel=1e-12, abs=1e-6)


def test_mark_value_equals_model_exactly(funded):
    """V (the Liquidation contract's mark value, no haircuts): `MarginArrays.mark_value` = model `mark_value`."""
    cross, _, _, _ = funded
    state = SCENARIOS["ftx"].path(P).state(100)
    got = MarginArrays(cross).mark_value(state)
    assert [float(g) for g in got] == [mark_value(cross.account(i), state, P) for i in range(len(cross))]


def test_cross_requirement_le_sum_of_isolated_on_every_simulated_book(funded):
    """DESIGN §5: cross scenario requirement <= Σ isolated scenario requirements of the same positions."""
    cross, iso, h_cross, h_iso = funded
    for state, hc, hi in [(S0, h_cross, h_iso)] + [
            (s, MarginArrays(cross).health(s), MarginArrays(iso).health(s))
            for s in (SCENARIOS["2020-03-12"].path(P).state(26), SCENARIOS["ftx"].path(P).state(100))]:
        iso_sum = np.bincount(iso.owner, weights=hi.scenario, minlength=len(cross))
        assert np.all(hc.scenario <= iso_sum * (1 + 1e-12) + 1e-9)
        assert np.all((0 <= hc.mm) & (hc.mm <= hc.im))


def test_funded_books_start_at_their_buffer_above_im(funded):
    cross, iso, h_cross, h_iso = funded
    for books, h in ((cross, h_cross), (iso, h_iso)):
        assert np.all(h.equity_im >= books.buffer * h.im * (1 - 1e-12))
        assert np.all(books.cash >= 0)
        assert not h.liquidatable.any()


def test_book_families_are_all_present_and_valid(funded):
    cross, iso, _, _ = funded
    assert set(cross.kind) == {"basis", "option seller", "directional", "hedged"}
    assert len(iso) > len(cross)
    for i in range(len(cross)):
        acct = cross.account(i)
        assert 1 <= len(acct.positions) <= P.risk.max_positions
        assert all(abs(p.size) <= p.spec.max_position for p in acct.positions)
