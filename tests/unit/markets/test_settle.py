"""settle(id, round_hint): a dated instrument records, once, the price of the primary feed's round current at expiry,
proven on chain by OracleRouter.price_at (the round's updatedAt <= expiry < the next round's); the admin's
current-price fallback (hint 0) opens only after the settlement grace."""

import boa

from crossmargin.chain.rounds import RoundNotFound, feed_round_at, round_at

from .conftest import DAY, WAD

HOUR = 3600


def _round_at_expiry(listed, eth_feed, price: int = 3210, after: int = 3500):
    """A round at 3,210 ten minutes before expiry, then one at 3,500 after it: the hint is the first."""
    boa.env.time_travel(seconds=listed.expiry - 600 - boa.env.timestamp)
    eth_feed.set_answer(price * 10**8)
    hint = eth_feed.latest_round()
    boa.env.time_travel(seconds=1200)
    eth_feed.set_answer(after * 10**8)
    return hint


def test_settle_at_the_round_current_at_expiry_once(mk, listed, eth_feed, last_event, errors):
    hint = _round_at_expiry(listed, eth_feed)
    boa.env.time_travel(seconds=2 * DAY)  # settled late: still the price at expiry
    eth_feed.set_answer(4000 * 10**8)
    assert mk.settle(listed.future, hint) == 3210 * WAD
    log = last_event(mk, "InstrumentSettled")
    assert (log.id, log.settlement_price, log.round_id) == (listed.future, 3210 * WAD, hint)
    assert mk.instrument(listed.future).settlement_price == 3210 * WAD
    with boa.reverts(errors.ALREADY_SETTLED):
        mk.settle(listed.future, hint)
    assert mk.settle(listed.call, hint) == 3210 * WAD  # each dated instrument settles on its own


def test_a_wrong_hint_reverts(mk, listed, eth_feed, errors):
    hint = _round_at_expiry(listed, eth_feed)
    with boa.reverts(errors.BAD_ROUND_HINT):
        mk.settle(listed.future, hint + 1)  # updated after expiry
    with boa.reverts(errors.BAD_ROUND_HINT):
        mk.settle(listed.future, hint - 1)  # its next round is also before expiry
    with boa.reverts(errors.BAD_ROUND_HINT):
        mk.settle(listed.future, 999)  # no such round


def test_the_round_must_be_closed(mk, listed, eth_feed, errors):
    boa.env.time_travel(seconds=listed.expiry - 600 - boa.env.timestamp)
    eth_feed.set_answer(3210 * 10**8)
    boa.env.time_travel(seconds=1200)
    with boa.reverts(errors.ROUND_NOT_CLOSED):  # no next round yet: nothing proves the answer was still current
        mk.settle(listed.future, eth_feed.latest_round())


def test_a_round_stale_at_expiry_settles_at_the_next(mk, listed, eth_feed):
    # the feed's heartbeat is one day: a round two days before expiry was stale at expiry
    boa.env.time_travel(seconds=listed.expiry - 2 * DAY - boa.env.timestamp)
    eth_feed.set_answer(3210 * 10**8)
    hint = eth_feed.latest_round()
    boa.env.time_travel(seconds=3 * DAY)
    eth_feed.set_answer(3333 * 10**8)  # the first answer after expiry
    assert mk.settle(listed.future, hint) == 3333 * WAD


def test_a_non_positive_answer_at_expiry_settles_at_the_next(mk, listed, eth_feed, errors):
    hint = _round_at_expiry(listed, eth_feed, price=0)
    assert mk.settle(listed.future, hint) == 3500 * WAD


def test_no_usable_round(mk, listed, eth_feed, errors):
    hint = _round_at_expiry(listed, eth_feed, price=0, after=-1)
    with boa.reverts(errors.NO_USABLE_ROUND):
        mk.settle(listed.future, hint)


def test_rounds_across_a_phase_change(mk, listed, eth_feed):
    boa.env.time_travel(seconds=listed.expiry - 600 - boa.env.timestamp)
    eth_feed.set_answer(3210 * 10**8)
    last_of_phase = eth_feed.latest_round()
    boa.env.time_travel(seconds=1200)
    eth_feed.start_phase(3500 * 10**8)  # a new aggregator behind the proxy: ids (1 << 64) | n
    eth_feed.set_answer(3600 * 10**8)
    assert eth_feed.latest_round() == (1 << 64) | 2
    assert feed_round_at(eth_feed, listed.expiry) == last_of_phase
    assert mk.settle(listed.future, last_of_phase) == 3210 * WAD


def test_fallback_is_the_admins_after_the_grace(mk, listed, eth_feed, admin, alice, errors):
    boa.env.time_travel(seconds=listed.expiry - boa.env.timestamp)
    eth_feed.set_answer(3100 * 10**8)
    with boa.env.prank(admin), boa.reverts(errors.GRACE_NOT_OVER):
        mk.settle(listed.future, 0)
    boa.env.time_travel(seconds=DAY)
    eth_feed.set_answer(3400 * 10**8)
    with boa.env.prank(alice), boa.reverts(errors.ROUND_HINT_REQUIRED):
        mk.settle(listed.future, 0)  # not for the holders: they would pick the time
    with boa.env.prank(admin):
        assert mk.settle(listed.future, 0) == 3400 * WAD


def test_fallback_needs_ok_oracle(mk, listed, admin, errors):
    boa.env.time_travel(seconds=30 * DAY + DAY)  # the feed was last updated 31 days ago: STALE
    with boa.env.prank(admin), boa.reverts(errors.ORACLE_NOT_OK):
        mk.settle(listed.future, 0)


def test_set_settlement_grace(mk, admin, alice, errors, last_event):
    assert mk.settlement_grace() == DAY
    with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
        mk.set_settlement_grace(2 * DAY)
    with boa.env.prank(admin):
        for bad in (HOUR - 1, 30 * DAY + 1):
            with boa.reverts(errors.BAD_SETTLEMENT_GRACE):
                mk.set_settlement_grace(bad)
        mk.set_settlement_grace(2 * DAY)
        assert last_event(mk, "SettlementGraceSet").grace == 2 * DAY
    assert mk.settlement_grace() == 2 * DAY


def test_settle_before_expiry_reverts(mk, listed, errors):
    boa.env.time_travel(seconds=30 * DAY - 1)
    with boa.reverts(errors.NOT_EXPIRED):
        mk.settle(listed.put, 1)


def test_settle_rejects_perps_and_unknown(mk, listed, errors):
    with boa.reverts(errors.NOT_DATED):
        mk.settle(listed.perp, 1)
    with boa.reverts(errors.UNKNOWN_INSTRUMENT):
        mk.settle(42, 1)


def test_round_at_walks_back_and_reports_missing_rounds():
    rounds = {1: 100, 2: 200, 3: 300, (1 << 64) | 1: 350, (1 << 64) | 2: 400}
    get = rounds.get
    latest = (1 << 64) | 2
    assert round_at(get, latest, 250) == 2
    assert round_at(get, latest, 300) == 3  # updatedAt == time: current
    assert round_at(get, latest, 349) == 3  # the last round of phase 0
    assert round_at(get, latest, 399) == (1 << 64) | 1
    for t in (99, 400):  # before the history; no round after the latest yet
        try:
            round_at(get, latest, t)
        except RoundNotFound:
            continue
        raise AssertionError(f"round_at found a round for {t}")
