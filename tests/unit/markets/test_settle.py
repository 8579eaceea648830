"""settle: dated instruments record their settlement price once, after expiry, from an OK oracle price."""

import boa

from .conftest import DAY, WAD


def test_settle_after_expiry_once(mk, listed, eth_feed, last_event, errors):
    boa.env.time_travel(seconds=30 * DAY)
    eth_feed.set_answer(3210 * 10**8)
    assert mk.settle(listed.future) == 3210 * WAD
    log = last_event(mk, "InstrumentSettled")
    assert (log.id, log.settlement_price) == (listed.future, 3210 * WAD)
    assert mk.instrument(listed.future).settlement_price == 3210 * WAD
    eth_feed.set_answer(1 * 10**8)
    with boa.reverts(errors.ALREADY_SETTLED):
        mk.settle(listed.future)
    assert mk.settle(listed.call) == WAD  # each dated instrument settles on its own
    assert mk.instrument(listed.future).settlement_price == 3210 * WAD


def test_settle_before_expiry_reverts(mk, listed, errors):
    boa.env.time_travel(seconds=30 * DAY - 1)
    with boa.reverts(errors.NOT_EXPIRED):
        mk.settle(listed.put)


def test_settle_needs_ok_oracle(mk, listed, errors):
    boa.env.time_travel(seconds=30 * DAY)  # feed last updated 30 days ago: STALE
    with boa.reverts(errors.ORACLE_NOT_OK):
        mk.settle(listed.future)


def test_settle_rejects_perps_and_unknown(mk, listed, errors):
    with boa.reverts(errors.NOT_DATED):
        mk.settle(listed.perp)
    with boa.reverts(errors.UNKNOWN_INSTRUMENT):
        mk.settle(42)
