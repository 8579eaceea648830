"""RiskEngine.set_bounds: admin only, once, and only bounds that imply the model's safety constraints."""

import boa
import pytest

from tests.differential.strategies_chain import BOUND_FIELDS

WAD = 10**18
FIELD_MAX = 2**64 - 1


def replace(bounds, **changes):
    """The bounds tuple with some (lo, hi) pairs replaced by name."""
    out = list(bounds)
    for name, pair in changes.items():
        out[BOUND_FIELDS.index(name)] = pair
    return tuple(out)


def test_admin_only(world, fresh_engine, setup, errors):
    with boa.reverts(errors.MISSING_ROLE):
        fresh_engine.set_bounds(setup.bounds, sender=world.risk_manager)


def test_stores_and_logs(world, fresh_engine, setup, last_event):
    fresh_engine.set_bounds(setup.bounds, sender=world.admin)
    assert last_event(fresh_engine, "BoundsSet").admin == world.admin
    assert tuple(tuple(b) for b in fresh_engine.bounds()) == setup.bounds


def test_only_once(world, engine, setup, errors):
    with boa.reverts(errors.BOUNDS_ALREADY_SET):
        engine.set_bounds(setup.bounds, sender=world.admin)


@pytest.mark.parametrize("name", BOUND_FIELDS)
def test_rejects_lo_above_hi(world, fresh_engine, setup, errors, name):
    lo, hi = setup.bounds[BOUND_FIELDS.index(name)]
    with boa.reverts(errors.BAD_BOUNDS):
        fresh_engine.set_bounds(replace(setup.bounds, **{name: (hi + 1, hi)}), sender=world.admin)


@pytest.mark.parametrize("name", ["z", "vol_up", "haircut_slope", "concentration", "rate"])
def test_rejects_hi_beyond_packed_field(world, fresh_engine, setup, errors, name):
    with boa.reverts(errors.BAD_BOUNDS):
        fresh_engine.set_bounds(replace(setup.bounds, **{name: (0, FIELD_MAX + 1)}), sender=world.admin)


@pytest.mark.parametrize("changes", [
    pytest.param({"im_factor": (WAD - 1, 3 * WAD)}, id="im_factor below 1 (MM <= IM)"),
    pytest.param({"shock_min": (0, WAD // 10)}, id="shock_min zero"),
    pytest.param({"shock_min": (WAD // 50, WAD // 4), "shock_max": (WAD // 5, WAD // 2)}, id="shock_min max above shock_max min"),
    pytest.param({"shock_max": (WAD // 5, WAD)}, id="shock_max reaches 1"),
    pytest.param({"vol_down": (0, WAD // 2), "vol_shock_cap": (WAD, 2 * WAD)}, id="vol_down x cap reaches 1"),
    pytest.param({"vol_shock_cap": (WAD - 1, 3 * WAD)}, id="vol_shock_cap below 1"),
    pytest.param({"basis_rate": (0, WAD // 50 + 1)}, id="basis_rate above shock_min"),
    pytest.param({"corr_kappa": (0, WAD + 1)}, id="kappa above 1"),
    pytest.param({"horizon_seconds": (0, 86400)}, id="zero horizon"),
    pytest.param({"vol_t_ref_seconds": (0, 86400)}, id="zero T_ref"),
    pytest.param({"haircut_base_mm": (0, WAD + 1)}, id="mm haircut above 1"),
    pytest.param({"haircut_base_im": (0, WAD + 1)}, id="im haircut above 1"),
])
def test_rejects_unsafe_bounds(world, fresh_engine, setup, errors, changes):
    with boa.reverts(errors.BAD_BOUNDS):
        fresh_engine.set_bounds(replace(setup.bounds, **changes), sender=world.admin)


def test_accepts_edge_of_safe_bounds(world, fresh_engine, setup):
    """Equalities the constraints allow: shock_min max == shock_max min, basis max == shock_min min."""
    bounds = replace(setup.bounds, shock_min=(WAD // 50, WAD // 5), shock_max=(WAD // 5, WAD - 1),
                     basis_rate=(0, WAD // 50), im_factor=(WAD, WAD), corr_kappa=(0, WAD))
    fresh_engine.set_bounds(bounds, sender=world.admin)
    assert tuple(tuple(b) for b in fresh_engine.bounds()) == bounds
