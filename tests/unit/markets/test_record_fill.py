"""record_fill: the Clearinghouse's per-fill check (tradable, price band) and accrual."""

import boa

from .conftest import DAY, ETH_PRICE, WAD


def test_returns_instrument_and_index(mk, listed, record):
    inst, index = record(listed.future, 3100 * WAD)
    assert tuple(inst)[:4] == (2, 1, 0, listed.expiry) and index == 0
    inst, _ = record(listed.call, 100 * WAD)
    assert inst.strike == ETH_PRICE


def test_clearing_role_only(mk, listed, alice, errors):
    with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
        mk.record_fill(listed.perp, ETH_PRICE, WAD)


def test_unknown_inactive_expired_zero_price(mk, listed, record, admin, errors):
    with boa.reverts(errors.UNKNOWN_INSTRUMENT):
        record(99, ETH_PRICE)
    with boa.reverts(errors.ZERO_PRICE):
        record(listed.perp, 0)
    with boa.env.prank(admin):
        mk.set_active(listed.perp, False)
    with boa.reverts(errors.INSTRUMENT_INACTIVE):
        record(listed.perp, ETH_PRICE)
    boa.env.time_travel(seconds=30 * DAY)  # exactly at expiry: no longer tradable
    with boa.reverts(errors.INSTRUMENT_EXPIRED):
        record(listed.future, ETH_PRICE)
    with boa.reverts(errors.INSTRUMENT_EXPIRED):
        record(listed.call, WAD)


def test_linear_price_band(mk, listed, record, risk_manager, errors):
    record(listed.perp, 3300 * WAD)  # +10 %: on the band
    record(listed.future, 2700 * WAD)  # -10 %
    with boa.reverts(errors.PRICE_OUTSIDE_BAND):
        record(listed.perp, 3300 * WAD + 1)
    with boa.reverts(errors.PRICE_OUTSIDE_BAND):
        record(listed.future, 2700 * WAD - 1)
    with boa.env.prank(risk_manager):
        mk.set_price_band(0)
    record(listed.perp, ETH_PRICE)
    with boa.reverts(errors.PRICE_OUTSIDE_BAND):
        record(listed.perp, ETH_PRICE + 1)


def test_option_premium_bounds(mk, listed, record, errors):
    record(listed.call, ETH_PRICE)  # a call is worth at most the forward
    with boa.reverts(errors.PRICE_OUTSIDE_BAND):
        record(listed.call, ETH_PRICE + 1)
    record(listed.put, ETH_PRICE)  # a put at most its strike (3,000 here)
    with boa.reverts(errors.PRICE_OUTSIDE_BAND):
        record(listed.put, ETH_PRICE + 1)


def test_band_not_checked_when_oracle_degraded(mk, listed, record, priced_router, admin, eth_feed, make_feed):
    secondary = make_feed(8, 3500 * 10**8)  # 16.7 % away: DEGRADED
    with boa.env.prank(admin):
        priced_router.set_feed(1, eth_feed.address, secondary.address, 86_400, 86_400, 2 * 10**16)
    assert priced_router.price(1)[1] == 1
    record(listed.perp, 4000 * WAD)  # passes: the Clearinghouse allows only risk-reducing trades meanwhile
    assert mk.mark_price(listed.perp) == 0  # and the mark does not move
