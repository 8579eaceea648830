"""VolOracle.set_params: admin only, bounds and factors validated."""

import boa
import pytest

from tests.unit.vol_oracle.conftest import vol_args

WAD = 10**18


def test_set_params_stores_bounds(vol_oracle, admin, last_event):
    with boa.env.prank(admin):
        vol_oracle.set_params(2, WAD // 10, 3 * WAD, 600, 3 * WAD // 2, 3 * WAD, 9 * WAD)
    log = last_event(vol_oracle, "ParamsSet")
    assert (log.uid, log.min_vol, log.max_vol, log.heartbeat, log.stale_factor, log.hour_factor, log.day_factor) == (
        2, WAD // 10, 3 * WAD, 600, 3 * WAD // 2, 3 * WAD, 9 * WAD)
    assert tuple(vol_oracle.params_of(2)) == (WAD // 10, 3 * WAD, 600, 3 * WAD // 2, 3 * WAD, 9 * WAD)


def test_unknown_params_are_empty(vol_oracle):
    assert tuple(vol_oracle.params_of(9)) == (0, 0, 0, 0, 0, 0)


def test_set_params_requires_admin(vol_oracle, feeder, alice, errors, eth_params):
    for who in (alice, feeder):
        with boa.env.prank(who), boa.reverts(errors.MISSING_ROLE):
            vol_oracle.set_params(1, *vol_args(eth_params))


@pytest.mark.parametrize("over, reason", [
    ({"min": 0}, "BAD_VOL_BOUNDS"),
    ({"min": WAD, "max": WAD - 1}, "BAD_VOL_BOUNDS"),
    ({"heartbeat": 0}, "BAD_HEARTBEAT"),
    ({"stale": WAD - 1}, "BAD_VOL_FACTOR"),            # a stale value may not read lower
    ({"stale": 2 * WAD + 1}, "BAD_VOL_FACTOR"),
    ({"hour": WAD}, "BAD_VOL_FACTOR"),                 # the vol could never move
    ({"hour": 4 * WAD + 1, "day": 16 * WAD}, "BAD_VOL_FACTOR"),
    ({"hour": 2 * WAD, "day": 2 * WAD - 1}, "BAD_VOL_FACTOR"),   # a day allows at least an hour's move
    ({"day": 16 * WAD + 1}, "BAD_VOL_FACTOR"),
])
def test_set_params_bad_inputs(vol_oracle, admin, errors, eth_params, over, reason):
    with boa.env.prank(admin), boa.reverts(getattr(errors, reason)):
        vol_oracle.set_params(1, *vol_args(eth_params, **over))


def test_set_params_extremes_are_valid(vol_oracle, admin, errors):
    with boa.env.prank(admin):
        with boa.reverts(errors.ZERO_ID):
            vol_oracle.set_params(0, WAD, WAD, 1, WAD, 2 * WAD, 2 * WAD)
        vol_oracle.set_params(1, WAD, WAD, 1, WAD, 4 * WAD, 16 * WAD)  # a fixed vol, widest limits
        vol_oracle.set_params(1, WAD, WAD, 1, 2 * WAD, WAD + 1, WAD + 1)   # narrowest limits


def test_feeder_role_id(vol_oracle, roles, feeder):
    assert vol_oracle.FEEDER_ROLE() == roles.FEEDER
    assert vol_oracle.hasRole(roles.FEEDER, feeder)
