"""VolOracle.set_vol and vol: feeder role, bounds, bounded relative step, heartbeat."""

import boa
import pytest

WAD = 10**18
OK, STALE = 0, 2


def test_first_value_is_free_within_bounds(eth_vol, feeder, eth_params, last_event):
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, 4 * WAD)  # far from anything: no current value yet
    log = last_event(eth_vol, "VolSet")
    assert (log.uid, log.vol, log.feeder) == (1, 4 * WAD, feeder)
    assert eth_vol.vol(1) == (4 * WAD, OK)
    assert eth_vol.last_update(1) == boa.env.evm.patch.timestamp


def test_never_set_is_stale(eth_vol):
    assert eth_vol.vol(1) == (0, STALE)


def test_unknown_uid(eth_vol, feeder, errors):
    with boa.reverts(errors.UNKNOWN_UNDERLYING):
        eth_vol.vol(2)
    with boa.env.prank(feeder), boa.reverts(errors.UNKNOWN_UNDERLYING):
        eth_vol.set_vol(2, WAD)


def test_non_feeder_reverts(eth_vol, admin, alice, errors):
    for who in (admin, alice):
        with boa.env.prank(who), boa.reverts(errors.MISSING_ROLE):
            eth_vol.set_vol(1, WAD)


def test_revoked_feeder_reverts(eth_vol, admin, feeder, roles, errors):
    with boa.env.prank(admin):
        eth_vol.revokeRole(roles.FEEDER, feeder)
    with boa.env.prank(feeder), boa.reverts(errors.MISSING_ROLE):
        eth_vol.set_vol(1, WAD)


@pytest.mark.parametrize("vol", [0, 5 * WAD // 100 - 1, 5 * WAD + 1])
def test_out_of_bounds_reverts(eth_vol, feeder, errors, vol):
    with boa.env.prank(feeder), boa.reverts(errors.VOL_OUT_OF_BOUNDS):
        eth_vol.set_vol(1, vol)


def test_bounds_are_inclusive(eth_vol, admin, feeder, eth_params):
    with boa.env.prank(admin):
        eth_vol.set_params(1, eth_params.MIN, eth_params.MAX, WAD, eth_params.HEARTBEAT)  # 100 % step
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, eth_params.MIN)
        assert eth_vol.vol(1)[0] == eth_params.MIN
    with boa.env.prank(admin):
        eth_vol.set_params(1, eth_params.MIN, eth_params.MIN * 2, WAD, eth_params.HEARTBEAT)
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, eth_params.MIN * 2)  # the new max, exactly +100 %
    assert eth_vol.vol(1)[0] == eth_params.MIN * 2


@pytest.mark.parametrize("nxt, ok", [
    (12 * WAD // 10, True),        # +20 %: at the bound
    (8 * WAD // 10, True),         # -20 %: at the bound
    (12 * WAD // 10 + 1, False),   # just above
    (8 * WAD // 10 - 1, False),    # just below
    (WAD, True),                   # unchanged
])
def test_step_is_bounded_relative_to_current(eth_vol, feeder, errors, nxt, ok):
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, WAD)
        if ok:
            eth_vol.set_vol(1, nxt)
            assert eth_vol.vol(1)[0] == nxt
        else:
            with boa.reverts(errors.VOL_STEP_TOO_LARGE):
                eth_vol.set_vol(1, nxt)


def test_steps_compound(eth_vol, feeder):
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, WAD)
        eth_vol.set_vol(1, 12 * WAD // 10)
        eth_vol.set_vol(1, 144 * WAD // 100)  # +20 % of 1.2
    assert eth_vol.vol(1)[0] == 144 * WAD // 100


def test_heartbeat(eth_vol, feeder, eth_params):
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, WAD)
    boa.env.time_travel(seconds=eth_params.HEARTBEAT)
    assert eth_vol.vol(1) == (WAD, OK)
    boa.env.time_travel(seconds=1)
    assert eth_vol.vol(1) == (WAD, STALE)  # value still returned, with STALE
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, WAD)  # a refresh is an update like any other
    assert eth_vol.vol(1) == (WAD, OK)


def test_narrowed_bounds_free_the_next_update(eth_vol, admin, feeder, eth_params, errors):
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, 4 * WAD)
    with boa.env.prank(admin):
        eth_vol.set_params(1, eth_params.MIN, 2 * WAD, eth_params.STEP, eth_params.HEARTBEAT)
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, WAD)  # 4.0 is outside [0.05, 2.0]: no step bound from it
        with boa.reverts(errors.VOL_STEP_TOO_LARGE):
            eth_vol.set_vol(1, 2 * WAD)  # 1.0 is inside: bounded again
    assert eth_vol.vol(1)[0] == WAD
