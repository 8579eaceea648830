"""Liquidation.start_auctions: a keeper's batch of starts after a crash (issue 18): every account that may be
started is, with the same fee, state and event as `start_auction`; the others are skipped, never reverting the
batch (a lost race costs no revert)."""

from __future__ import annotations

import pytest

from crossmargin.chain.revm import RevmRevert
from crossmargin.fuzz.world import WAD

from .conftest import E


def _healthy(world, cast):
    world.deposit(cast.other, "USDC", world.units("USDC", 1_000_000))
    world.trade(cast.maker, cast.other, "ETH-PERP", -10 * WAD, 3000 * WAD)
    return cast.other.account


def test_starts_the_liquidatable_and_skips_the_rest(world, cast, underwater, health):
    account = underwater()
    healthy = _healthy(world, cast)
    eq_im, eq_mm, im, mm, _ = world.margin(account)
    value = world.liquidation.mark_value(account)
    cash_victim, cash_keeper = world.vault.cash_of(account), world.vault.cash_of(cast.keeper.account)
    asked = [0, 1, cast.keeper.account, healthy, account, account]  # reserved, own, healthy, then a duplicate
    started = world.liquidation.start_auctions(asked, cast.keeper.account, sender=cast.keeper.address)
    assert started == 1
    fee = min(mm * 5 * 10**15 // WAD, 500 * WAD, value)
    assert world.liquidation.auction(account) == (world.now, False, True, world.now + 3600,
                                                  world.liquidation.params_version(), False)
    assert world.liquidation.auction(healthy)[2] is False
    assert world.vault.cash_of(account) == cash_victim - fee
    assert world.vault.cash_of(cast.keeper.account) == cash_keeper + fee, "the fees credited once"
    events = dict(world.chain.last_events)
    assert events["AuctionStarted"]["account"] == account and events["AuctionStarted"]["flag_fee"] == fee


def test_a_lost_race_is_skipped_not_reverted(world, cast, underwater):
    account = underwater()
    world.liquidation.start_auction(account, cast.other.account, sender=cast.other.address)
    cash_keeper = world.vault.cash_of(cast.keeper.account)
    assert world.liquidation.start_auctions([account], cast.keeper.account, sender=cast.keeper.address) == 0
    assert world.vault.cash_of(cast.keeper.account) == cash_keeper


def test_an_expired_auction_is_restarted_without_a_second_fee(world, cast, underwater):
    account = underwater()
    world.liquidation.start_auction(account, cast.other.account, sender=cast.other.address)
    world.warp(3601)
    world.set_price("ETH", 2750 * WAD)  # fresh rounds after the warp
    cash = world.vault.cash_of(account)
    assert world.liquidation.start_auctions([account], cast.keeper.account, sender=cast.keeper.address) == 1
    assert world.liquidation.auction(account)[0] == world.now
    assert world.vault.cash_of(account) == cash


def test_sequencer_down_skips_every_account(world, cast, underwater, sequencer_down):
    account = underwater()
    sequencer_down()
    assert world.liquidation.start_auctions([account], cast.keeper.account, sender=cast.keeper.address) == 0
    assert world.liquidation.auction(account)[2] is False


def test_degraded_needs_both_prices_as_the_single_start(world, cast, underwater):
    account = underwater()
    world.set_price("ETH", 2750 * WAD, secondary=2900 * WAD)
    assert world.liquidation.start_auctions([account], cast.keeper.account, sender=cast.keeper.address) == 0
    world.set_price("ETH", 2750 * WAD, secondary=2700 * WAD)
    assert world.liquidation.start_auctions([account], cast.keeper.account, sender=cast.keeper.address) == 1


def test_only_an_operator_of_the_starter_account(world, cast, underwater):
    account = underwater()
    with pytest.raises(RevmRevert, match=E.NOT_AUTHORIZED):
        world.liquidation.start_auctions([account], cast.keeper.account, sender=cast.other.address)
