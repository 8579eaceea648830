"""Markets stores an instrument in three words and a perp's funding in two: what goes in comes back out,
values that do not fit revert with "value out of range", and the margin engine's views read only what they need."""

import boa

from .conftest import CAP, DAY, ETH_PRICE, WAD

PERP, FUTURE = 1, 2


def test_fields_round_trip_and_active_toggle(mk, admin):
    expiry = boa.env.timestamp + 7 * DAY
    with boa.env.prank(admin):
        call = mk.list_option(2, True, 2**128 - 1, expiry, 7 * WAD, 3 * WAD)
        mk.set_active(call, False)
    assert tuple(mk.instrument(call)) == (3, 2, 2**128 - 1, expiry, 0, 7 * WAD, 3 * WAD, False)
    with boa.env.prank(admin):
        mk.set_active(call, True)
        mk.set_caps(call, 2**200, 5 * WAD)                 # 2**128 - 1 and above: no cap
    assert tuple(mk.instrument(call)) == (3, 2, 2**128 - 1, expiry, 0, 2**256 - 1, 5 * WAD, True)


def test_values_that_do_not_fit_revert(mk, admin, errors):
    now = boa.env.timestamp
    with boa.env.prank(admin):
        with boa.reverts(errors.OUT_OF_RANGE):
            mk.list_future(1, 2**64, CAP, CAP)
        with boa.reverts(errors.OUT_OF_RANGE):
            mk.list_option(1, False, 2**128, now + DAY, CAP, CAP)
    assert mk.instrument_count() == 0                         # nothing listed


def test_margin_terms_reads_the_settlement_only_after_expiry(mk, listed, eth_feed):
    terms = mk.margin_terms(listed.future)
    assert tuple(terms) == (FUTURE, 1, 0, listed.expiry, 0, 0, 0, True)     # caps are not read
    boa.env.time_travel(seconds=listed.expiry - boa.env.timestamp)
    eth_feed.set_answer(3100 * 10**8)                         # the round current at expiry
    boa.env.time_travel(seconds=60)
    eth_feed.set_answer(3200 * 10**8)                         # the next one closes it
    mk.settle(listed.future, eth_feed.latest_round() - 1)
    assert mk.margin_terms(listed.future)[4] == 3100 * WAD
    assert tuple(mk.margin_terms(listed.perp))[:5] == (PERP, 1, 0, 0, 0)


def test_funding_index_at_the_router_price_is_funding_index(mk, listed, record, eth_feed):
    record(listed.perp, ETH_PRICE + 30 * WAD, 1000 * WAD)      # mark above the index: the index rises
    boa.env.time_travel(seconds=7200)
    eth_feed.set_answer(3000 * 10**8)
    index = mk.funding_index(listed.perp)
    assert index > 0 and mk.funding_index_at(listed.perp, ETH_PRICE, True) == index
    assert mk.funding_index_at(listed.perp, ETH_PRICE, False) == mk.funding_state(listed.perp).cumulative
