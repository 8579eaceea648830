"""VolOracle term points: set_term_vol and vol_at with fallback to ATM."""

import boa

WAD = 10**18
OK, STALE = 0, 2
DAY = 86400


def now():
    return boa.env.evm.patch.timestamp


def test_vol_at_falls_back_to_atm(eth_vol, feeder):
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, WAD)
    assert eth_vol.vol_at(1, now() + 7 * DAY) == (WAD, OK)


def test_term_point_is_used_for_its_expiry(eth_vol, feeder, last_event):
    expiry = now() + 7 * DAY
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, WAD)
        eth_vol.set_term_vol(1, expiry, 3 * WAD // 2)
    log = last_event(eth_vol, "TermVolSet")
    assert (log.uid, log.expiry, log.vol, log.feeder) == (1, expiry, 3 * WAD // 2, feeder)
    assert eth_vol.vol_at(1, expiry) == (3 * WAD // 2, OK)
    assert eth_vol.vol_at(1, expiry + 1) == (WAD, OK)  # another expiry: ATM
    assert eth_vol.vol(1) == (WAD, OK)  # ATM untouched


def test_term_point_without_atm(eth_vol, feeder):
    expiry = now() + DAY
    with boa.env.prank(feeder):
        eth_vol.set_term_vol(1, expiry, 2 * WAD)
    assert eth_vol.vol_at(1, expiry) == (2 * WAD, OK)
    assert eth_vol.vol(1) == (0, STALE)


def test_expired_term_point_falls_back_to_atm(eth_vol, feeder):
    expiry = now() + 100
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, WAD)
        eth_vol.set_term_vol(1, expiry, 2 * WAD)
    boa.env.time_travel(seconds=100)
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, WAD)
    assert eth_vol.vol_at(1, expiry) == (WAD, OK)


def test_term_point_goes_stale(eth_vol, feeder, eth_params):
    expiry = now() + 7 * DAY
    with boa.env.prank(feeder):
        eth_vol.set_term_vol(1, expiry, 2 * WAD)
    boa.env.time_travel(seconds=eth_params.HEARTBEAT + 1)
    assert eth_vol.vol_at(1, expiry) == (5 * WAD // 2, STALE)   # marked up by the staleness factor 1.25


def test_term_rate_limit_is_relative_to_the_point(eth_vol, feeder, errors):
    expiry = now() + 7 * DAY
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, WAD)
        eth_vol.set_term_vol(1, expiry, 2 * WAD)  # first value of the point: free
        eth_vol.set_term_vol(1, expiry, 4 * WAD)  # ×2 of the point's anchor
        with boa.reverts(errors.VOL_RATE_LIMITED):
            eth_vol.set_term_vol(1, expiry, 4 * WAD + 1)
        with boa.reverts(errors.VOL_RATE_LIMITED):
            eth_vol.set_term_vol(1, expiry, WAD - 1)
        assert eth_vol.vol_range(1, expiry) == (WAD, 4 * WAD)


def test_term_bad_inputs(eth_vol, feeder, alice, errors):
    with boa.env.prank(feeder):
        with boa.reverts(errors.EXPIRY_PASSED):
            eth_vol.set_term_vol(1, now(), WAD)
        with boa.reverts(errors.UNKNOWN_UNDERLYING):
            eth_vol.set_term_vol(2, now() + DAY, WAD)
        with boa.reverts(errors.VOL_OUT_OF_BOUNDS):
            eth_vol.set_term_vol(1, now() + DAY, 6 * WAD)
    with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
        eth_vol.set_term_vol(1, now() + DAY, WAD)
    with boa.reverts(errors.UNKNOWN_UNDERLYING):
        eth_vol.vol_at(2, now() + DAY)
