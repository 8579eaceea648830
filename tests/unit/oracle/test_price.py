"""OracleRouter.price / prices: normalisation, freshness, round completeness, deviation.

The views never revert on bad feed data: they return STALE. Only an unknown id reverts."""

import boa
import pytest

WAD = 10**18
OK, DEGRADED, STALE = 0, 1, 2
ZERO = "0x0000000000000000000000000000000000000000"


def now():
    return boa.env.evm.patch.timestamp


def single(router, admin, feed, uid=7, heartbeat=3600):
    with boa.env.prank(admin):
        router.set_feed(uid, feed.address, ZERO, heartbeat, 0, 0)
    return uid


def test_fresh_agreeing_feeds_are_ok(eth_router):
    assert eth_router.price(1) == (2000 * WAD, OK)
    assert eth_router.prices(1) == (2000 * WAD, 2000 * WAD, OK)


@pytest.mark.parametrize("decimals, answer, expected", [
    (0, 3, 3 * WAD),
    (6, 1_500_000, 15 * WAD // 10),
    (8, 2000 * 10**8 + 1, 2000 * WAD + 10**10),
    (18, 123, 123),
    (20, 2000 * 10**20 + 99, 2000 * WAD),  # truncates below 1 wei
    (36, 5 * 10**36, 5 * WAD),
])
def test_decimals_normalised_to_wad(router, admin, make_feed, decimals, answer, expected):
    uid = single(router, admin, make_feed(decimals, answer))
    assert router.price(uid) == (expected, OK)


def test_unknown_uid_reverts(eth_router, errors):
    with boa.reverts(errors.UNKNOWN_UNDERLYING):
        eth_router.price(2)
    with boa.reverts(errors.UNKNOWN_UNDERLYING):
        eth_router.prices(0)


def test_stale_after_heartbeat(router, admin, make_feed):
    feed = make_feed(8, 2000 * 10**8)
    uid = single(router, admin, feed, heartbeat=3600)
    boa.env.time_travel(seconds=3600)
    assert router.price(uid) == (2000 * WAD, OK)  # exactly the heartbeat is still fresh
    boa.env.time_travel(seconds=1)
    assert router.price(uid) == (2000 * WAD, STALE)  # the old price is returned with STALE
    feed.set_answer(2100 * 10**8)
    assert router.price(uid) == (2100 * WAD, OK)


@pytest.mark.parametrize("answer", [0, -1, -(2**255)])
def test_answer_not_positive_is_stale(router, admin, make_feed, answer):
    feed = make_feed(8, 2000 * 10**8)
    uid = single(router, admin, feed)
    feed.set_answer(answer)
    assert router.price(uid) == (0, STALE)


def test_updated_at_zero_is_stale(router, admin, make_feed):
    feed = make_feed(8, 2000 * 10**8)
    uid = single(router, admin, feed)
    feed.set_round_data(5, 2000 * 10**8, now(), 0, 5)
    assert router.price(uid)[1] == STALE


def test_round_not_complete_is_stale(router, admin, make_feed):
    feed = make_feed(8, 2000 * 10**8)
    uid = single(router, admin, feed)
    feed.set_round_data(5, 2000 * 10**8, now(), now(), 4)  # answeredInRound < roundId
    assert router.price(uid) == (2000 * WAD, STALE)
    feed.set_round_data(5, 2000 * 10**8, now(), now(), 5)
    assert router.price(uid) == (2000 * WAD, OK)
    feed.set_round_data(5, 2000 * 10**8, now(), now(), 6)  # carried over from a later round: fine
    assert router.price(uid) == (2000 * WAD, OK)


def test_updated_in_the_future_is_stale(router, admin, make_feed):
    feed = make_feed(8, 2000 * 10**8)
    uid = single(router, admin, feed)
    feed.set_round_data(5, 2000 * 10**8, now(), now() + 60, 5)
    assert router.price(uid)[1] == STALE


def test_reverting_feed_is_stale_not_a_revert(router, admin, make_feed):
    feed = make_feed(8, 2000 * 10**8)
    uid = single(router, admin, feed)
    feed.set_reverts(True)
    assert router.price(uid) == (0, STALE)
    assert router.prices(uid) == (0, 0, STALE)


def test_secondary_without_latest_round_data_is_degraded(router, admin, make_feed, make_token):
    """A contract with `decimals()` but no `latestRoundData()` (here a token) reads as unusable."""
    feed = make_feed(8, 2000 * 10**8)
    with boa.env.prank(admin):
        router.set_feed(7, feed.address, make_token(18).address, 60, 60, WAD // 50)
    assert router.prices(7) == (2000 * WAD, 0, DEGRADED)


def test_primary_without_latest_round_data_is_stale(router, admin, make_token):
    uid = single(router, admin, make_token(8))
    assert router.price(uid) == (0, STALE)


def test_answer_too_large_to_scale_is_stale(router, admin, make_feed):
    feed = make_feed(0, 1)
    uid = single(router, admin, feed)
    feed.set_answer(2**255 - 1)
    assert router.price(uid) == (0, STALE)


def test_deviation_beyond_bound_is_degraded(eth_router, secondary):
    secondary.set_answer(2041 * WAD)  # 2.05 % above the primary
    assert eth_router.price(1) == (2000 * WAD, DEGRADED)
    assert eth_router.prices(1) == (2000 * WAD, 2041 * WAD, DEGRADED)
    secondary.set_answer(1959 * WAD)  # 2.05 % below
    assert eth_router.price(1)[1] == DEGRADED


def test_deviation_at_bound_is_ok(eth_router, secondary):
    secondary.set_answer(2040 * WAD)  # exactly 2 %
    assert eth_router.price(1) == (2000 * WAD, OK)
    secondary.set_answer(1960 * WAD)
    assert eth_router.prices(1) == (2000 * WAD, 1960 * WAD, OK)


def test_stale_secondary_is_degraded(eth_router, primary, secondary, cfg):
    boa.env.time_travel(seconds=cfg.HEARTBEAT_SECONDARY + 1)
    primary.set_answer(2000 * 10**8)
    assert eth_router.prices(1) == (2000 * WAD, 0, DEGRADED)
    secondary.set_answer(0)
    assert eth_router.prices(1) == (2000 * WAD, 0, DEGRADED)


def test_stale_primary_with_fresh_secondary_is_stale(eth_router, primary, secondary, cfg):
    boa.env.time_travel(seconds=cfg.HEARTBEAT_PRIMARY + 1)
    secondary.set_answer(2010 * WAD)
    assert eth_router.prices(1) == (2000 * WAD, 2010 * WAD, STALE)
    assert eth_router.price(1) == (2000 * WAD, STALE)


def test_each_feed_has_its_own_heartbeat(eth_router, primary, cfg):
    boa.env.time_travel(seconds=cfg.HEARTBEAT_PRIMARY + 1)
    primary.set_answer(2000 * 10**8)
    assert eth_router.prices(1) == (2000 * WAD, 2000 * WAD, OK)  # secondary still within 7200 s
