"""The `simulate` run: reproducible by seed, its totals are the model's, its accounting adds up."""

import json

import numpy as np
import pytest

from crossmargin.model.margin import isolated_requirements, requirements
from crossmargin.model.params import load_params
from crossmargin.sim.simulate import SCENARIO_KEYS, SimConfig, build_books, simulate
from tests.sim.conftest import P, S0

SMALL = SimConfig(books=80, paths=2, seed=3)
RESULT = simulate(load_params("default"), SMALL)


def _numbers(result):
    d = result.to_dict()
    d.pop("seconds")
    return d


def test_simulation_is_reproducible_by_seed():
    again = simulate(load_params("default"), SMALL)
    assert _numbers(again) == _numbers(RESULT)
    other = simulate(load_params("default"), SimConfig(books=80, paths=2, seed=4))
    assert _numbers(other) != _numbers(RESULT)


def test_result_is_json_and_covers_every_scenario():
    d = json.loads(json.dumps(RESULT.to_dict()))
    assert [s["key"] for s in d["scenarios"]] == list(SCENARIO_KEYS)
    for s in d["scenarios"]:
        assert s["stylised"] == (s["key"] != "gbm")
        assert s["paths"] == (2 if s["key"] == "gbm" else 1)


def test_capital_totals_are_the_models():
    cross, _, _, _ = build_books(P, 80, seed=3)
    pop = RESULT.population
    want_cross = sum(requirements(cross.account(i), S0, P).im for i in range(80))
    want_iso = sum(isolated_requirements(cross.account(i), S0, P).im for i in range(80))
    assert pop.capital_cross == pytest.approx(want_cross, rel=1e-12)
    assert pop.capital_isolated == pytest.approx(want_iso, rel=1e-12)
    assert pop.capital_cross < pop.capital_isolated and pop.scenario_cross_le_isolated
    assert sum(k["books"] for k in pop.by_kind.values()) == 80


def test_accounting_adds_up():
    for s in RESULT.scenarios:
        assert s.insurance_fund == pytest.approx(SMALL.insurance * RESULT.population.gross_notional)
        for m in (s.cross, s.isolated):
            assert m.bad_debt == pytest.approx(m.insurance_used + m.uncovered, abs=1e-6)
            assert m.insurance_used <= s.insurance_fund + 1e-6
            assert 0 <= m.books_hit <= m.liquidations <= m.accounts
            assert m.books_hit <= RESULT.population.books
            assert sum(k["books_hit"] for k in m.by_kind.values()) == pytest.approx(m.books_hit)
        assert s.cross.accounts == 80 and s.isolated.accounts == RESULT.population.subaccounts


def test_stress_lows_are_reported():
    lows = {s.key: s.trough for s in RESULT.scenarios}
    assert lows["2020-03-12"]["ETH"] == pytest.approx(-0.43) and lows["ftx"]["SOL"] == pytest.approx(-0.65)


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="unknown scenario"):
        SimConfig(scenarios=("1929",))
    with pytest.raises(ValueError):
        SimConfig(books=0)
