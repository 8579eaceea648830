"""Liquidation.start_auction: who may flag whom, at which prices, and the flag fee."""

from __future__ import annotations

import pytest

from crossmargin.chain.revm import RevmRevert
from crossmargin.fuzz.world import WAD

from .conftest import E


def test_opens_an_auction_on_a_liquidatable_account(world, cast, underwater, health):
    account = underwater()
    assert health(account) < 0
    eq_im, eq_mm, im, mm, _ = world.margin(account)
    value = world.liquidation.mark_value(account)
    cash_victim, cash_keeper = world.vault.cash_of(account), world.vault.cash_of(cast.keeper.account)

    assert world.liquidation.start_auction(account, cast.keeper.account, sender=cast.keeper.address) is True
    events = dict(world.chain.last_events)
    fee = min(mm * 5 * 10**15 // WAD, 500 * WAD, value)
    assert events["AuctionStarted"] == {
        "account": account, "starter_account": cast.keeper.account, "caller": cast.keeper.address,
        "flag_fee": fee, "equity_mm": eq_mm, "mm": mm, "value": value, "insolvent": False}
    version = world.liquidation.params_version()
    assert world.liquidation.auction(account) == (world.now, False, True, world.now + 3600, version, False)
    assert world.vault.cash_of(account) == cash_victim - fee
    assert world.vault.cash_of(cast.keeper.account) == cash_keeper + fee


def test_flag_fee_is_capped(world, cast, underwater):
    account = underwater(size_eth=2000, cash_usd=1_000_000)
    mm = world.margin(account)[3]
    assert mm * 5 * 10**15 // WAD > 500 * WAD
    world.liquidation.start_auction(account, cast.keeper.account, sender=cast.keeper.address)
    assert dict(world.chain.last_events)["AuctionStarted"]["flag_fee"] == 500 * WAD


def test_an_insolvent_account_pays_no_flag_fee(world, cast, underwater):
    account = underwater(price=2400)
    assert world.liquidation.mark_value(account) < 0
    cash = world.vault.cash_of(account)
    world.liquidation.start_auction(account, cast.keeper.account, sender=cast.keeper.address)
    started = dict(world.chain.last_events)["AuctionStarted"]
    assert started["flag_fee"] == 0 and started["insolvent"] is True
    assert world.vault.cash_of(account) == cash
    assert world.liquidation.auction(account)[1] is True


@pytest.mark.parametrize("price", [3000, 2800])  # healthy; between MM and IM
def test_a_healthy_account_cannot_be_flagged(world, cast, underwater, health, price):
    account = underwater(price=price)
    assert health(account) >= 0
    with pytest.raises(RevmRevert, match=E.NOT_LIQUIDATABLE):
        world.liquidation.start_auction(account, cast.keeper.account, sender=cast.keeper.address)


@pytest.mark.parametrize("account", [0, 1, 2])
def test_reserved_accounts_cannot_be_flagged(world, cast, account):
    with pytest.raises(RevmRevert, match=E.RESERVED_ACCOUNT):
        world.liquidation.start_auction(account, cast.keeper.account, sender=cast.keeper.address)


def test_the_starter_account_must_be_the_callers(world, cast, underwater):
    account = underwater()
    with pytest.raises(RevmRevert, match=E.NOT_AUTHORIZED):
        world.liquidation.start_auction(account, cast.keeper.account, sender=cast.other.address)
    with pytest.raises(RevmRevert, match=E.SAME_ACCOUNT):
        world.liquidation.start_auction(account, account, sender=cast.victim.address)


def test_one_auction_at_a_time(world, cast, underwater, start):
    account = underwater()
    start(account)
    with pytest.raises(RevmRevert, match=E.AUCTION_ACTIVE):
        world.liquidation.start_auction(account, cast.other.account, sender=cast.other.address)


def test_a_stale_price_does_not_block_the_auction(world, cast, underwater, stale):
    """Liquidation mode: the position is valued at its worst scenario instead of blocking."""
    account = underwater()
    stale("ETH")
    assert world.margin(account)[4] == 2
    world.liquidation.start_auction(account, cast.keeper.account, sender=cast.keeper.address)
    assert world.liquidation.auction(account)[2] is True


def test_no_auction_while_the_sequencer_is_down(world, cast, underwater, sequencer_down):
    account = underwater()
    sequencer_down()
    with pytest.raises(RevmRevert, match=E.STALE_ORACLE):
        world.liquidation.start_auction(account, cast.keeper.account, sender=cast.keeper.address)


def test_a_healthy_account_with_a_stale_price_is_not_liquidatable_by_the_penalty_alone(world, cast, stale):
    """A long perp far above MM: its worst-scenario penalty K_u does not make it liquidatable."""
    maker, owner = cast.maker, cast.other
    world.deposit(owner, "USDC", world.units("USDC", 1_000_000))
    world.trade(maker, owner, "ETH-PERP", -10 * WAD, 3000 * WAD)
    stale("ETH")
    with pytest.raises(RevmRevert, match=E.NOT_LIQUIDATABLE):
        world.liquidation.start_auction(owner.account, cast.keeper.account, sender=cast.keeper.address)


def test_degraded_prices_need_the_account_liquidatable_at_both(world, cast, underwater):
    account = underwater()
    world.set_price("ETH", 2750 * WAD, secondary=2900 * WAD)   # healthy at the secondary price
    assert world.margin(account)[4] == 1
    with pytest.raises(RevmRevert, match=E.NOT_LIQUIDATABLE):
        world.liquidation.start_auction(account, cast.keeper.account, sender=cast.keeper.address)
    world.set_price("ETH", 2750 * WAD, secondary=2700 * WAD)   # liquidatable at both
    world.liquidation.start_auction(account, cast.keeper.account, sender=cast.keeper.address)
    assert world.liquidation.auction(account)[2] is True
