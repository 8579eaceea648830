"""Liquidation.bid on insolvent portfolios (V <= 0): the insurance fund, then the loss index."""

from __future__ import annotations

import pytest

from crossmargin.chain.revm import RevmRevert
from crossmargin.fuzz.world import WAD

from .conftest import E


@pytest.fixture
def insolvent(world, cast, underwater, start):
    account = underwater(price=2400)
    start(account)
    world.warp(600)
    world.refresh()
    return account


def _shortfall(world, account):
    v = world.liquidation.mark_value(account)
    mm = world.margin(account)[3]
    d = world.liquidation.discount(account)
    assert v < 0
    return v, -v + mm * d // WAD


def test_only_the_whole_portfolio(world, cast, insolvent):
    with pytest.raises(RevmRevert, match=E.FULL_BID_ONLY):
        world.liquidation.bid(insolvent, cast.keeper.account, WAD - 1, 2**200, sender=cast.keeper.address)


def test_the_fund_pays_the_shortfall(world, cast, insolvent):
    v, need = _shortfall(world, insolvent)
    fund = world.vault.cash_of(1)
    assert fund > need
    keeper_value = world.liquidation.mark_value(cast.keeper.account)
    payment, cap = world.liquidation.quote(insolvent, WAD)
    assert (payment, cap) == (-need, WAD)
    assert world.liquidation.bid(insolvent, cast.keeper.account, WAD, payment, sender=cast.keeper.address) == -need
    events = world.chain.last_events
    assert dict(events)["BadDebt"] == {"account": insolvent, "bidder_account": cast.keeper.account, "shortfall": need,
                                       "fund_paid": need, "socialized": 0, "absorbed": 0}
    assert ("AuctionClosed", {"account": insolvent, "reason": 2}) in events
    assert world.vault.cash_of(1) == fund - need
    assert world.liquidation.mark_value(insolvent) == 0 and world.clearing.positions_of(insolvent) == []
    assert world.liquidation.mark_value(cast.keeper.account) - keeper_value == need + v, "the keeper earns MM·d"
    assert world.liquidation.losses() == (need, 0, 0)


def test_an_exhausted_fund_socialises_the_rest(world, cast, insolvent):
    v, need = _shortfall(world, insolvent)
    usdc = world.tokens["USDC"].address
    left = 5_000 * WAD
    drain = (world.vault.cash_of(1) - left) // 10**12
    world.vault.withdraw(1, usdc, drain, world.admin, sender=world.admin)
    fund = world.vault.cash_of(1)
    rest = need - fund
    assert rest > 0
    maker_cash = world.vault.cash_of(cast.maker.account)
    pool = world.vault.total_positive_cash() - fund - world.vault.cash_of(insolvent)  # what the loss index spreads on

    world.liquidation.bid(insolvent, cast.keeper.account, WAD, 0, sender=cast.keeper.address)
    events = dict(world.chain.last_events)
    assert events["BadDebt"]["fund_paid"] == fund and events["BadDebt"]["socialized"] == rest
    assert events["BadDebt"]["absorbed"] == rest
    assert events["LossSocialized"]["amount_wad"] == rest and events["LossSocialized"]["absorbed_wad"] == rest
    assert world.vault.cash_of(1) == 0
    # the maker, a positive cash holder, bears its pro-rata share of the rest (the emptied account and the
    # drained fund bear none; the pool is exact up to the account's funding, settled in the bid)
    share = maker_cash - world.vault.cash_of(cast.maker.account)
    assert abs(share - maker_cash * rest // pool) <= share // 10**5
    assert world.liquidation.losses() == (fund, rest, 0)
