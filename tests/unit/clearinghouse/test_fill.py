"""fill: the happy path, partial fills, and every order-level revert (expired, cancelled, overfill, replay, ...)."""

import boa

from crossmargin.chain.orders import order_hash

from .conftest import ETH_PRICE, MAKER_KEY, OPERATOR_KEY, STRANGER_KEY, TAKER_KEY, WAD


def test_fill_opens_both_positions(ch, vault, inst, make_order, fill, maker_acct, taker_acct, last_event):
    order = make_order()
    h = fill(order)
    log = last_event(ch, "Fill")
    changes = [e for e in ch.get_logs() if type(e).__name__ == "PositionChanged"]
    assert h == order_hash(order, boa.env.evm.patch.chain_id, ch.address) == ch.order_hash(order.as_tuple())
    assert (log.order_hash, log.maker, log.taker, log.instrument, log.maker_is_buy, log.size, log.price) == (
        h, maker_acct, taker_acct, inst.perp, True, 10 * WAD, ETH_PRICE
    )
    assert tuple(ch.position(maker_acct, inst.perp)) == (inst.perp, 10 * WAD, 30_000 * WAD, 0)
    assert tuple(ch.position(taker_acct, inst.perp)) == (inst.perp, -10 * WAD, -30_000 * WAD, 0)
    assert [tuple(p) for p in ch.positions_of(maker_acct)] == [(inst.perp, 10 * WAD, 30_000 * WAD, 0)]
    assert ch.open_interest(inst.perp) == 10 * WAD and ch.filled(h) == 10 * WAD
    assert vault.cash_of(maker_acct) == vault.cash_of(taker_acct) == 1_000_000 * WAD  # no fee, nothing realised
    assert [(e.account, e.size, e.cost, e.cash_delta) for e in changes] == [
        (maker_acct, 10 * WAD, 30_000 * WAD, 0),
        (taker_acct, -10 * WAD, -30_000 * WAD, 0),
    ]


def test_maker_sells(ch, inst, make_order, fill, maker_acct, taker_acct):
    fill(make_order(is_buy=False, size=3 * WAD))
    assert ch.position(maker_acct, inst.perp).size == -3 * WAD
    assert ch.position(taker_acct, inst.perp).size == 3 * WAD
    assert ch.open_interest(inst.perp) == 3 * WAD


def test_flat_position_view_is_empty(ch, inst, maker_acct):
    assert tuple(ch.position(maker_acct, inst.perp)) == (0, 0, 0, 0) and ch.positions_of(maker_acct) == []


def test_partial_fills_then_overfill(ch, make_order, fill, errors):
    order = make_order(size=10 * WAD)
    h = fill(order, size=4 * WAD)
    fill(order, size=6 * WAD)
    assert ch.filled(h) == 10 * WAD
    with boa.reverts(errors.OVERFILL):
        fill(order, size=1)


def test_partial_overfill_reverts(make_order, fill, errors):
    order = make_order(size=10 * WAD)
    fill(order, size=7 * WAD)
    with boa.reverts(errors.OVERFILL):
        fill(order, size=3 * WAD + 1)
    fill(order, size=3 * WAD)


def test_replayed_order_reverts(ch, make_order, fill, errors):
    order = make_order()
    fill(order)
    with boa.reverts(errors.OVERFILL):  # the same signed order again: nothing left to fill
        fill(order)


def test_zero_fill_reverts(make_order, fill, errors):
    with boa.reverts(errors.ZERO_AMOUNT):
        fill(make_order(), size=0)


def test_expiry_is_inclusive_then_expired(make_order, fill, errors):
    order = make_order(expiry=boa.env.timestamp + 10, size=2 * WAD)
    boa.env.time_travel(seconds=10)
    fill(order, size=WAD)
    boa.env.time_travel(seconds=1)
    with boa.reverts(errors.ORDER_EXPIRED):
        fill(order, size=WAD)


def test_cancelled_order_reverts(ch, vault, make_order, fill, maker_acct, errors, last_event):
    order = make_order(nonce=7)
    fill(order, size=WAD)
    with boa.env.prank(MAKER_KEY.address):
        ch.cancel(maker_acct, 7)
        log = last_event(ch, "OrderCancelled")
    assert (log.account, log.nonce, log.caller) == (maker_acct, 7, MAKER_KEY.address)
    assert ch.is_cancelled(maker_acct, 7)
    with boa.reverts(errors.ORDER_CANCELLED):
        fill(order, size=WAD)
    fill(make_order(nonce=8), size=WAD)  # other nonces live on


def test_cancel_by_operator_only(ch, vault, maker_acct, errors):
    with boa.env.prank(STRANGER_KEY.address), boa.reverts(errors.NOT_AUTHORIZED):
        ch.cancel(maker_acct, 1)
    with boa.env.prank(MAKER_KEY.address):
        vault.set_operator(OPERATOR_KEY.address, True)
    with boa.env.prank(OPERATOR_KEY.address):
        ch.cancel(maker_acct, 1)
    assert ch.is_cancelled(maker_acct, 1)
    with boa.env.prank(MAKER_KEY.address), boa.reverts(errors.NOT_AUTHORIZED):
        ch.cancel(999, 1)  # unknown account


def test_taker_must_be_authorized(ch, vault, make_order, fill, taker_acct, errors):
    with boa.reverts(errors.NOT_AUTHORIZED):
        fill(make_order(), sender=STRANGER_KEY.address)
    with boa.env.prank(TAKER_KEY.address):
        vault.set_operator(OPERATOR_KEY.address, True)
    fill(make_order(), sender=OPERATOR_KEY.address)  # an approved operator may take for the account
    assert ch.position(taker_acct, make_order().instrument).size == -10 * WAD


def test_self_trade_reverts(make_order, fill, maker_acct, errors):
    with boa.reverts(errors.SAME_ACCOUNT):
        fill(make_order(), taker_account=maker_acct, sender=MAKER_KEY.address)


def test_fee_rate_above_bound_reverts(ch, make_order, fill, errors):
    assert ch.max_fee_rate() == 10**16
    with boa.reverts(errors.FEE_TOO_HIGH):
        fill(make_order(fee_rate=10**16 + 1))


def test_zero_notional_reverts(make_order, fill, errors):
    with boa.reverts(errors.ZERO_NOTIONAL):
        fill(make_order(size=1, limit_price=ETH_PRICE // 10**4))  # 1 wei * 0.3 USD rounds to 0


def test_fees_to_fee_account(ch, vault, make_order, fill, maker_acct, taker_acct, risk_manager, last_event):
    with boa.env.prank(risk_manager):
        ch.set_taker_fee_rate(5 * 10**14)  # 5 bp
    order = make_order(fee_rate=10**15, size=3 * WAD, limit_price=ETH_PRICE + 1)  # 10 bp; notional 9,000 + 3 wei
    fill(order)
    notional = 3 * (ETH_PRICE + 1)
    maker_fee = -(-notional * 10**15 // WAD)  # rounded up
    taker_fee = -(-notional * 5 * 10**14 // WAD)
    log = last_event(ch, "Fill")
    assert (log.maker_fee, log.taker_fee) == (maker_fee, taker_fee)
    assert maker_fee == 9 * WAD + 1 and taker_fee == 45 * WAD // 10 + 1  # the 3 wei round the fees up
    assert vault.cash_of(maker_acct) == 1_000_000 * WAD - maker_fee
    assert vault.cash_of(taker_acct) == 1_000_000 * WAD - taker_fee
    assert vault.cash_of(2) == maker_fee + taker_fee


def test_unknown_halted_and_expired_instruments(ch, markets, admin, inst, make_order, fill, errors):
    with boa.reverts(errors.UNKNOWN_INSTRUMENT):
        fill(make_order(instrument=77))
    with boa.env.prank(admin):
        markets.set_active(inst.perp, False)
    with boa.reverts(errors.INSTRUMENT_INACTIVE):
        fill(make_order())
    boa.env.time_travel(seconds=inst.expiry - boa.env.timestamp)
    with boa.reverts(errors.INSTRUMENT_EXPIRED):
        fill(make_order(instrument=inst.future, expiry=inst.expiry + 3600))


def test_price_outside_limit_band(make_order, fill, errors):
    fill(make_order(limit_price=ETH_PRICE * 11 // 10, nonce=1))  # +10 %: the band's edge
    with boa.reverts(errors.PRICE_OUTSIDE_BAND):
        fill(make_order(limit_price=ETH_PRICE * 11 // 10 + 1, nonce=2))
    with boa.reverts(errors.PRICE_OUTSIDE_BAND):
        fill(make_order(limit_price=ETH_PRICE * 9 // 10 - 1, nonce=3))
