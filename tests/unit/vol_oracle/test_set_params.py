"""VolOracle.set_params: admin only, bounds validated."""

import boa

WAD = 10**18


def test_set_params_stores_bounds(vol_oracle, admin, last_event):
    with boa.env.prank(admin):
        vol_oracle.set_params(2, WAD // 10, 3 * WAD, WAD // 4, 600)
    log = last_event(vol_oracle, "ParamsSet")
    assert (log.uid, log.min_vol, log.max_vol, log.max_step_wad, log.heartbeat) == (2, WAD // 10, 3 * WAD, WAD // 4, 600)
    assert tuple(vol_oracle.params_of(2)) == (WAD // 10, 3 * WAD, WAD // 4, 600)


def test_unknown_params_are_empty(vol_oracle):
    assert tuple(vol_oracle.params_of(9)) == (0, 0, 0, 0)


def test_set_params_requires_admin(vol_oracle, feeder, alice, errors):
    for who in (alice, feeder):
        with boa.env.prank(who), boa.reverts(errors.MISSING_ROLE):
            vol_oracle.set_params(1, WAD // 10, WAD, WAD // 5, 60)


def test_set_params_bad_inputs(vol_oracle, admin, errors):
    with boa.env.prank(admin):
        with boa.reverts(errors.ZERO_ID):
            vol_oracle.set_params(0, WAD // 10, WAD, WAD // 5, 60)
        with boa.reverts(errors.BAD_VOL_BOUNDS):
            vol_oracle.set_params(1, 0, WAD, WAD // 5, 60)
        with boa.reverts(errors.BAD_VOL_BOUNDS):
            vol_oracle.set_params(1, WAD, WAD - 1, WAD // 5, 60)
        with boa.reverts(errors.BAD_STEP):
            vol_oracle.set_params(1, WAD // 10, WAD, 0, 60)
        with boa.reverts(errors.BAD_STEP):
            vol_oracle.set_params(1, WAD // 10, WAD, WAD + 1, 60)
        with boa.reverts(errors.BAD_HEARTBEAT):
            vol_oracle.set_params(1, WAD // 10, WAD, WAD // 5, 0)
        vol_oracle.set_params(1, WAD, WAD, WAD, 1)  # degenerate but valid: a fixed vol


def test_feeder_role_id(vol_oracle, roles, feeder):
    assert vol_oracle.FEEDER_ROLE() == roles.FEEDER
    assert vol_oracle.hasRole(roles.FEEDER, feeder)
