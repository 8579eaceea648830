"""RiskEngine.set_risk_params: risk manager only, bounds first, every field inside its bound."""

import math

import boa
import pytest

from crossmargin.chain.engine_views import shock_of
from tests.differential.strategies_chain import RISK_FIELDS, risk_tuple
from tests.unit.risk_engine.conftest import P

WAD = 10**18
YEAR = 31_536_000


def replace(risk, **changes):
    out = list(risk)
    for name, value in changes.items():
        out[RISK_FIELDS.index(name)] = value
    return tuple(out)


def test_risk_manager_only(world, engine, setup, errors):
    with boa.reverts(errors.MISSING_ROLE):
        engine.set_risk_params(setup.risk, sender=world.admin)   # admin without the role
    with boa.reverts(errors.MISSING_ROLE):
        engine.set_risk_params(setup.risk, sender=world.user)


def test_needs_bounds(world, fresh_engine, setup, roles, errors):
    fresh_engine.grantRole(roles.RISK_MANAGER, world.risk_manager, sender=world.admin)
    with boa.reverts(errors.BOUNDS_NOT_SET):
        fresh_engine.set_risk_params(setup.risk, sender=world.risk_manager)


def test_roundtrip_and_event(world, engine, setup, last_event):
    engine.set_risk_params(setup.risk, sender=world.risk_manager)
    assert tuple(last_event(engine, "RiskParamsSet").params) == setup.risk
    assert tuple(engine.risk_params()) == setup.risk


@pytest.mark.parametrize("name", RISK_FIELDS)
def test_rejects_each_field_outside_its_bound(world, engine, setup, errors, name):
    lo, hi = setup.bounds[RISK_FIELDS.index(name)]
    if lo > 0:
        with boa.reverts(errors.OUT_OF_BOUNDS):
            engine.set_risk_params(replace(setup.risk, **{name: lo - 1}), sender=world.risk_manager)
    with boa.reverts(errors.OUT_OF_BOUNDS):
        engine.set_risk_params(replace(setup.risk, **{name: hi + 1}), sender=world.risk_manager)


@pytest.mark.parametrize("name", RISK_FIELDS)
def test_accepts_each_field_at_its_bounds(world, engine, setup, name):
    lo, hi = setup.bounds[RISK_FIELDS.index(name)]
    for value in (lo, hi):
        risk = replace(setup.risk, **{name: value})
        if name == "shock_min":
            risk = replace(risk, shock_max=max(value, risk[RISK_FIELDS.index("shock_max")]))
        engine.set_risk_params(risk, sender=world.risk_manager)
        assert tuple(engine.risk_params()) == risk


@pytest.mark.parametrize("sigma", [0.0, 0.1, 0.6, 1.0, 2.0, 5.0])
def test_shock_size_matches_model_and_rounds_up(engine, sigma):
    from crossmargin.model.margin import shock_size

    got = shock_of(engine.risk_params(), int(sigma * WAD))
    want = shock_size(sigma, P.risk)
    assert abs(got / WAD - want) < 1e-15
    exact = min(0.5, max(0.05, 3 * sigma * math.sqrt(86400 / YEAR)))
    assert got >= int(exact * WAD) - 1   # never below the exact shock (float slack of the reference)


def test_higher_z_raises_the_shock(world, engine, setup):
    before = shock_of(engine.risk_params(), 6 * WAD // 10)
    engine.set_risk_params(risk_tuple(P.with_risk(z=4.0)), sender=world.risk_manager)
    assert shock_of(engine.risk_params(), 6 * WAD // 10) > before
