"""OracleRouter fixtures: ETH (uid 1) with an 8-decimal primary and an 18-decimal secondary."""

from types import SimpleNamespace

import boa
import pytest

WAD = 10**18
HEARTBEAT_PRIMARY = 3600
HEARTBEAT_SECONDARY = 7200
MAX_DEVIATION = 2 * WAD // 100  # 2 %


@pytest.fixture(scope="session")
def cfg():
    """The ETH feed configuration, for tests that need its numbers."""
    return SimpleNamespace(
        HEARTBEAT_PRIMARY=HEARTBEAT_PRIMARY, HEARTBEAT_SECONDARY=HEARTBEAT_SECONDARY, MAX_DEVIATION=MAX_DEVIATION
    )


@pytest.fixture
def primary(make_feed):
    return make_feed(8, 2000 * 10**8)


@pytest.fixture
def secondary(make_feed):
    return make_feed(18, 2000 * WAD)


@pytest.fixture
def eth_router(router, admin, primary, secondary):
    with boa.env.prank(admin):
        router.set_feed(1, primary.address, secondary.address, HEARTBEAT_PRIMARY, HEARTBEAT_SECONDARY, MAX_DEVIATION)
    return router


@pytest.fixture
def sequencer(make_feed, router, admin):
    """An L2 sequencer uptime feed that came up 2 hours ago, wired with the default 1 h grace."""
    feed = make_feed(0, 0)
    now = boa.env.evm.patch.timestamp
    feed.set_round_data(1, 0, now - 7200, now - 7200, 1)
    with boa.env.prank(admin):
        router.set_sequencer(feed.address, 3600)
    return feed
