"""OracleRouter configuration: set_feed, set_sequencer, feed_of; admin only."""

import boa

WAD = 10**18
ZERO = "0x0000000000000000000000000000000000000000"


def test_set_feed_stores_config(router, admin, primary, secondary, last_event, cfg):
    with boa.env.prank(admin):
        router.set_feed(1, primary.address, secondary.address, cfg.HEARTBEAT_PRIMARY, cfg.HEARTBEAT_SECONDARY, cfg.MAX_DEVIATION)
    log = last_event(router, "FeedSet")
    assert (log.uid, log.primary, log.secondary, log.max_deviation_wad) == (1, primary.address, secondary.address, cfg.MAX_DEVIATION)
    assert tuple(router.feed_of(1)) == (
        primary.address, secondary.address, cfg.HEARTBEAT_PRIMARY, cfg.HEARTBEAT_SECONDARY, cfg.MAX_DEVIATION, 8, 18)


def test_set_feed_without_secondary_ignores_its_params(router, admin, primary):
    with boa.env.prank(admin):
        router.set_feed(2, primary.address, ZERO, 60, 999, 5)
    assert tuple(router.feed_of(2)) == (primary.address, ZERO, 60, 0, 0, 8, 0)


def test_set_feed_replaces(eth_router, admin, make_feed):
    other = make_feed(6, 1900 * 10**6)
    with boa.env.prank(admin):
        eth_router.set_feed(1, other.address, ZERO, 100, 0, 0)
    assert eth_router.feed_of(1).primary == other.address
    assert eth_router.price(1) == (1900 * WAD, 0)


def test_unknown_feed_is_empty(router):
    assert tuple(router.feed_of(5)) == (ZERO, ZERO, 0, 0, 0, 0, 0)


def test_set_feed_requires_admin(router, alice, primary, errors):
    with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
        router.set_feed(1, primary.address, ZERO, 60, 0, 0)


def test_set_feed_bad_inputs(router, admin, primary, secondary, make_feed, errors, cfg):
    with boa.env.prank(admin):
        with boa.reverts(errors.ZERO_ID):
            router.set_feed(0, primary.address, ZERO, 60, 0, 0)
        with boa.reverts(errors.EMPTY_ADDRESS):
            router.set_feed(1, ZERO, ZERO, 60, 0, 0)
        with boa.reverts(errors.BAD_HEARTBEAT):
            router.set_feed(1, primary.address, ZERO, 0, 0, 0)
        with boa.reverts(errors.BAD_HEARTBEAT):
            router.set_feed(1, primary.address, secondary.address, 60, 0, cfg.MAX_DEVIATION)
        with boa.reverts(errors.BAD_DEVIATION):
            router.set_feed(1, primary.address, secondary.address, 60, 60, 0)
        with boa.reverts(errors.BAD_DEVIATION):
            router.set_feed(1, primary.address, secondary.address, 60, 60, WAD + 1)
        with boa.reverts(errors.BAD_FEED_DECIMALS):
            router.set_feed(1, make_feed(37, 1).address, ZERO, 60, 0, 0)
        with boa.reverts(errors.BAD_FEED_DECIMALS):
            router.set_feed(1, primary.address, make_feed(37, 1).address, 60, 60, cfg.MAX_DEVIATION)


def test_set_sequencer(router, admin, make_feed, last_event):
    assert router.sequencer() == ZERO
    assert router.grace_period() == 3600  # default
    feed = make_feed(0, 0)
    with boa.env.prank(admin):
        router.set_sequencer(feed.address, 1800)
    log = last_event(router, "SequencerSet")
    assert (log.feed, log.grace_period) == (feed.address, 1800)
    assert router.sequencer() == feed.address and router.grace_period() == 1800


def test_set_sequencer_bad_inputs(router, admin, alice, make_feed, errors):
    feed = make_feed(0, 0)
    with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
        router.set_sequencer(feed.address, 3600)
    with boa.env.prank(admin), boa.reverts(errors.BAD_GRACE_PERIOD):
        router.set_sequencer(feed.address, 0)


def test_roles_exported(router, admin, alice, roles):
    assert router.hasRole(roles.ADMIN, admin)
    with boa.env.prank(admin):
        router.grantRole(roles.ADMIN, alice)
    assert router.hasRole(roles.ADMIN, alice)
