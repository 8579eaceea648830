"""Isolated subaccounts trade only the instrument they are bound to (either side of the fill)."""

import boa

from .conftest import ETH_PRICE, MAKER_KEY, TAKER_KEY, WAD


def test_isolated_maker_trading_another_instrument(inst, trade, new_account, taker_acct, errors):
    isolated = new_account(MAKER_KEY, isolated_instrument=inst.future)
    with boa.reverts(errors.WRONG_INSTRUMENT):
        trade(isolated, taker_acct, inst.perp, WAD, ETH_PRICE)
    trade(isolated, taker_acct, inst.future, WAD, ETH_PRICE)


def test_isolated_taker_trading_another_instrument(ch, inst, trade, new_account, maker_acct, errors):
    isolated = new_account(TAKER_KEY, isolated_instrument=inst.perp)
    with boa.reverts(errors.WRONG_INSTRUMENT):
        trade(maker_acct, isolated, inst.btc_perp, WAD, 60_000 * WAD)
    trade(maker_acct, isolated, inst.perp, WAD, ETH_PRICE)
    assert ch.position(isolated, inst.perp).size == -WAD
