"""VolOracle.set_vol and vol: feeder role, bounds, rate limit per unit of time, heartbeat and staleness mark-up."""

import boa
import pytest

from tests.unit.vol_oracle.conftest import vol_args

WAD = 10**18
OK, STALE = 0, 2
HOUR, DAY = 3600, 86400


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
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, eth_params.MIN)
        assert eth_vol.vol(1)[0] == eth_params.MIN
    with boa.env.prank(admin):
        eth_vol.set_params(1, *vol_args(eth_params, max=eth_params.MIN * 2))
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, eth_params.MIN * 2)  # the new max, exactly ×2 (the hour factor)
    assert eth_vol.vol(1)[0] == eth_params.MIN * 2


@pytest.mark.parametrize("nxt, ok", [
    (2 * WAD, True),               # ×2: at the hour bound
    (WAD // 2, True),              # ÷2: at the bound
    (2 * WAD + 1, False),          # just above
    (WAD // 2 - 1, False),         # just below
    (WAD, True),                   # unchanged
])
def test_the_hour_window_bounds_every_update_relative_to_its_anchor(eth_vol, feeder, errors, nxt, ok):
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, WAD)
        if ok:
            eth_vol.set_vol(1, nxt)
            assert eth_vol.vol(1)[0] == nxt
        else:
            with boa.reverts(errors.VOL_RATE_LIMITED):
                eth_vol.set_vol(1, nxt)


def test_ten_chained_updates_in_one_block_cannot_compound(eth_vol, feeder, errors):
    """Issue 11 §2: ten calls each within the old 25 % per-call cap took ETH vol from 0.6 to 5.0 in one block.
    Every update of a window is measured against the same anchor: the chain stops at ×2."""
    v = 6 * WAD // 10
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, v)
        boa.env.time_travel(seconds=2 * DAY)       # an old value: both windows reopen at the next update
        reached, failed_at = v, None
        for i in range(10):
            nxt = reached * 5 // 4
            try:
                eth_vol.set_vol(1, nxt)
                reached = nxt
            except Exception:
                failed_at = i
                break
    print(f"\nchained +25 % updates in one block: 0.6 -> {reached / WAD:.4f}, stopped at call {failed_at}")
    assert failed_at == 3 and reached <= 12 * WAD // 10
    assert eth_vol.vol(1)[0] == reached
    with boa.env.prank(feeder), boa.reverts(errors.VOL_RATE_LIMITED):
        eth_vol.set_vol(1, 5 * WAD)


def test_a_genuine_doubling_posts_in_one_update_within_the_hour(eth_vol, feeder):
    """A crash: the feeder posted 0.6 a minute ago; vol doubles now. One update posts 1.2 at once."""
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, 6 * WAD // 10)
        boa.env.time_travel(seconds=60)
        eth_vol.set_vol(1, 12 * WAD // 10)
    assert eth_vol.vol(1) == (12 * WAD // 10, OK)


def test_a_doubling_after_earlier_moves_waits_at_most_for_the_window_to_reopen(eth_vol, feeder, errors):
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, 6 * WAD // 10)           # the hour window opens at 0.6
        boa.env.time_travel(seconds=600)
        eth_vol.set_vol(1, WAD)                     # the feeder follows a rise to 1.0
        boa.env.time_travel(seconds=600)
        with boa.reverts(errors.VOL_RATE_LIMITED):
            eth_vol.set_vol(1, 2 * WAD)             # 1.0 -> 2.0 is ×3.3 of the window's anchor
        assert eth_vol.vol_range(1, 0) == (3 * WAD // 10, 12 * WAD // 10)
        boa.env.time_travel(seconds=HOUR - 1200)    # an hour after the window opened
        assert eth_vol.vol_range(1, 0) == (WAD // 2, 2 * WAD)
        eth_vol.set_vol(1, 2 * WAD)                 # one update: the new window's anchor is 1.0
    assert eth_vol.vol(1)[0] == 2 * WAD


def test_the_day_window_bounds_a_day_of_hourly_moves(eth_vol, feeder, errors):
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, WAD // 2)                # both windows open at 0.5
        boa.env.time_travel(seconds=HOUR)
        eth_vol.set_vol(1, WAD)                     # ×2 (hour window reopened at 0.5)
        boa.env.time_travel(seconds=HOUR)
        eth_vol.set_vol(1, 2 * WAD)                 # ×2 again: ×4 of the day anchor
        boa.env.time_travel(seconds=HOUR)
        with boa.reverts(errors.VOL_RATE_LIMITED):
            eth_vol.set_vol(1, 2 * WAD + 1)         # within the hour window, beyond ×4 of the day's 0.5
        boa.env.time_travel(seconds=DAY)
        eth_vol.set_vol(1, 4 * WAD)                 # a new day: anchors at 2.0
    assert eth_vol.vol(1)[0] == 4 * WAD


def test_vol_range_matches_what_set_vol_accepts(eth_vol, feeder, errors):
    assert eth_vol.vol_range(1, 0) == (5 * WAD // 100, 5 * WAD)    # nothing set: the bounds
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, 3 * WAD // 10)
        lo, hi = eth_vol.vol_range(1, 0)
        assert (lo, hi) == (15 * WAD // 100, 6 * WAD // 10)
        for bad in (lo - 1, hi + 1):
            with boa.reverts(errors.VOL_RATE_LIMITED):
                eth_vol.set_vol(1, bad)
        eth_vol.set_vol(1, lo)
        eth_vol.set_vol(1, hi)


def test_heartbeat_and_the_staleness_mark_up(eth_vol, feeder, eth_params):
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, WAD)
    boa.env.time_travel(seconds=eth_params.HEARTBEAT)
    assert eth_vol.vol(1) == (WAD, OK)
    boa.env.time_travel(seconds=1)
    assert eth_vol.vol(1) == (5 * WAD // 4, STALE)  # a missed update reads 25 % higher, with STALE
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, WAD)  # a refresh is an update like any other
    assert eth_vol.vol(1) == (WAD, OK)


def test_the_mark_up_is_capped_at_max_vol(eth_vol, feeder, eth_params):
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, 9 * WAD // 2)
    boa.env.time_travel(seconds=eth_params.HEARTBEAT + 1)
    assert eth_vol.vol(1) == (eth_params.MAX, STALE)


def test_narrowed_bounds_free_the_next_update(eth_vol, admin, feeder, eth_params, errors):
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, 4 * WAD)
    with boa.env.prank(admin):
        eth_vol.set_params(1, *vol_args(eth_params, max=2 * WAD))
    with boa.env.prank(feeder):
        eth_vol.set_vol(1, WAD // 10)  # 4.0 is outside [0.05, 2.0]: no rate limit from it, windows reopen
        with boa.reverts(errors.VOL_RATE_LIMITED):
            eth_vol.set_vol(1, WAD)  # 0.1 is inside: limited again
    assert eth_vol.vol(1)[0] == WAD // 10
