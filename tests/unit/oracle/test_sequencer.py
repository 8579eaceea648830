"""OracleRouter L2 sequencer uptime check: answer 0 = up, 1 = down; STALE while down or inside
the grace period after it came back up."""

import boa

WAD = 10**18
OK, DEGRADED, STALE = 0, 1, 2


def now():
    return boa.env.evm.patch.timestamp


def test_up_past_grace_is_ok(eth_router, sequencer):
    assert eth_router.sequencer_up()
    assert eth_router.price(1) == (2000 * WAD, OK)


def test_sequencer_down_is_stale(eth_router, sequencer):
    sequencer.set_answer(1)
    assert not eth_router.sequencer_up()
    assert eth_router.price(1) == (2000 * WAD, STALE)
    assert eth_router.prices(1) == (2000 * WAD, 2000 * WAD, STALE)


def test_inside_grace_period_is_stale(eth_router, sequencer, primary, secondary):
    sequencer.set_answer(0)  # just came back up: startedAt = now
    assert eth_router.price(1)[1] == STALE
    boa.env.time_travel(seconds=3600)
    primary.set_answer(2000 * 10**8)
    secondary.set_answer(2000 * WAD)
    assert eth_router.price(1)[1] == STALE  # startedAt + grace must be < now
    boa.env.time_travel(seconds=1)
    assert eth_router.price(1) == (2000 * WAD, OK)


def test_started_at_zero_counts_as_down(eth_router, sequencer):
    sequencer.set_round_data(2, 0, 0, now(), 2)
    assert eth_router.price(1)[1] == STALE


def test_reverting_sequencer_feed_is_stale(eth_router, sequencer):
    sequencer.set_reverts(True)
    assert eth_router.price(1)[1] == STALE


def test_sequencer_down_beats_degraded(eth_router, sequencer, secondary):
    secondary.set_answer(3000 * WAD)
    assert eth_router.price(1)[1] == DEGRADED
    sequencer.set_answer(1)
    assert eth_router.price(1)[1] == STALE


def test_removing_the_sequencer_means_l1(eth_router, sequencer, admin):
    sequencer.set_answer(1)
    with boa.env.prank(admin):
        eth_router.set_sequencer("0x0000000000000000000000000000000000000000", 0)
    assert eth_router.sequencer_up()
    assert eth_router.price(1)[1] == OK


def test_custom_grace_period(eth_router, sequencer, admin):
    sequencer.set_answer(0)
    with boa.env.prank(admin):
        eth_router.set_sequencer(sequencer.address, 10)
    boa.env.time_travel(seconds=11)
    assert eth_router.sequencer_up()
