"""Dated instruments: options move the premium at fill (cost 0); after `Markets.settle`, touching an account
closes its futures (size * settle - cost) and options (size * intrinsic) to cash; expired instruments do not trade."""

import boa

from .conftest import ETH_PRICE, WAD

START = 1_000_000 * WAD


def _at_expiry(inst, eth_feed, answer: int) -> int:
    """A round with `answer` at expiry, closed by a second one a second later; the first's id (the settle hint)."""
    boa.env.time_travel(seconds=inst.expiry - boa.env.timestamp)
    eth_feed.set_answer(answer)
    boa.env.time_travel(seconds=1)
    eth_feed.set_answer(answer)
    return eth_feed.latest_round() - 1


def _expire(inst, eth_feed, markets, price_usd):
    hint = _at_expiry(inst, eth_feed, price_usd * 10**8)
    for i in (inst.future, inst.call, inst.put):
        markets.settle(i, hint)


def test_option_premium_moves_at_fill(ch, vault, inst, trade, maker_acct, taker_acct):
    trade(maker_acct, taker_acct, inst.call, 2 * WAD, 100 * WAD)  # maker buys 2 calls at 100
    trade(maker_acct, taker_acct, inst.put, -WAD, 50 * WAD)  # maker writes 1 put at 50
    assert tuple(ch.position(maker_acct, inst.call))[1:] == (2 * WAD, 0, 0)
    assert tuple(ch.position(taker_acct, inst.put))[1:] == (WAD, 0, 0)
    assert vault.cash_of(maker_acct) == START - 200 * WAD + 50 * WAD
    assert vault.cash_of(taker_acct) == START + 200 * WAD - 50 * WAD
    trade(maker_acct, taker_acct, inst.call, -WAD, 120 * WAD)  # closing an option: premium again, cost stays 0
    assert tuple(ch.position(maker_acct, inst.call))[1:3] == (WAD, 0)
    assert vault.cash_of(maker_acct) == START - 30 * WAD


def test_future_settles_on_touch(ch, vault, markets, inst, trade, maker_acct, taker_acct, eth_feed, last_event):
    trade(maker_acct, taker_acct, inst.future, 2 * WAD, 3000 * WAD)
    _expire(inst, eth_feed, markets, 3100)
    assert ch.settle_account(maker_acct) == 200 * WAD
    log = last_event(ch, "PositionSettled")
    assert (log.account, log.instrument, log.size, log.settlement_price, log.pnl) == (
        maker_acct, inst.future, 2 * WAD, 3100 * WAD, 200 * WAD
    )
    assert ch.positions_of(maker_acct) == [] and ch.open_interest(inst.future) == 0
    # the short is closed by its next fill (any instrument)
    trade(maker_acct, taker_acct, inst.perp, WAD, ETH_PRICE)
    assert [p.instrument for p in ch.positions_of(taker_acct)] == [inst.perp]
    assert vault.cash_of(taker_acct) == START - 200 * WAD
    assert vault.cash_of(maker_acct) == START + 200 * WAD


def test_options_settle_on_touch(ch, vault, markets, inst, trade, maker_acct, taker_acct, eth_feed):
    trade(maker_acct, taker_acct, inst.call, 2 * WAD, 100 * WAD)
    trade(maker_acct, taker_acct, inst.put, 3 * WAD, 80 * WAD)
    _expire(inst, eth_feed, markets, 3150)  # call pays 150 per unit, put expires worthless
    ch.settle_account(maker_acct)
    ch.settle_account(taker_acct)
    assert ch.positions_of(maker_acct) == ch.positions_of(taker_acct) == []
    assert ch.open_interest(inst.call) == ch.open_interest(inst.put) == 0
    premium = 200 * WAD + 240 * WAD
    assert vault.cash_of(maker_acct) == START - premium + 300 * WAD
    assert vault.cash_of(taker_acct) == START + premium - 300 * WAD


def test_put_in_the_money(ch, vault, markets, inst, trade, maker_acct, taker_acct, eth_feed):
    trade(maker_acct, taker_acct, inst.put, -WAD, 80 * WAD)  # maker writes a put
    _expire(inst, eth_feed, markets, 2900)
    ch.settle_account(maker_acct)
    assert vault.cash_of(maker_acct) == START + 80 * WAD - 100 * WAD


def test_expired_unsettled_positions_stay(ch, vault, inst, trade, maker_acct, taker_acct, eth_feed, errors):
    trade(maker_acct, taker_acct, inst.future, 2 * WAD, 3000 * WAD)
    boa.env.time_travel(seconds=inst.expiry - boa.env.timestamp)
    eth_feed.set_answer(3100 * 10**8)
    assert ch.settle_account(maker_acct) == 0  # no settlement price yet
    assert ch.position(maker_acct, inst.future).size == 2 * WAD
    with boa.reverts(errors.INSTRUMENT_EXPIRED):
        trade(maker_acct, taker_acct, inst.future, -2 * WAD, 3100 * WAD)


def test_settlement_rounds_against_the_account(ch, vault, markets, inst, trade, maker_acct, taker_acct, eth_feed):
    size = WAD // 3
    trade(maker_acct, taker_acct, inst.call, size, 100 * WAD)
    premium = size * 100
    markets.settle(inst.call, _at_expiry(inst, eth_feed, 310_050_000_000))  # 3,100.50: intrinsic 100.5
    ch.settle_account(maker_acct)
    ch.settle_account(taker_acct)
    payoff = size * (100 * WAD + WAD // 2)  # / WAD, inexact
    assert payoff % WAD != 0
    assert vault.cash_of(maker_acct) == START - premium + payoff // WAD  # the long receives rounded down
    assert vault.cash_of(taker_acct) == START + premium - (payoff // WAD + 1)  # the short pays rounded up
