"""Mango Markets, 11 October 2022: the attacker bought MNGO perps from a second account of its own, pushed the
thin MNGO spot markets (and so the oracle) up ~10x for minutes, and borrowed ~$115M against the unrealised
profit, leaving the protocol with the bad debt when the price fell back.

What stops each step here:
- margin never uses a price made by the protocol's own trades: wash trades between two own accounts at the
  edge of the price band move the perp's mark (funding), not anyone's equity, and a fill outside the band
  reverts;
- an isolated spike on one feed disagrees with the secondary feed: the price is DEGRADED, which blocks
  withdrawals and new risk outright;
- even a spike both feeds agree on only lets unrealised profit out down to initial margin, never beyond: the
  withdrawal that would cross IM reverts, the one that stops at IM goes through.
"""

from __future__ import annotations

import pytest

from crossmargin.chain.revm import RevmRevert
from tests.e2e.helpers import E, WAD, usd

OK, DEGRADED = 0, 1


def test_wash_trades_at_the_band_edge_create_no_equity(world):
    buyer, seller = world.traders[1], world.traders[2]          # two accounts of the same attacker
    for t in (buyer, seller):
        world.deposit(t, "USDC", usd(world, 100_000))
    perp = world.instruments["ETH-PERP"]
    mark_before = world.markets.mark_price(perp)

    world.trade(seller, buyer, "ETH-PERP", -100 * WAD, 3300 * WAD)   # +10 % over the 3,000 index: the band edge
    with pytest.raises(RevmRevert, match=E["PRICE_OUTSIDE_BAND"]):
        world.trade(seller, buyer, "ETH-PERP", -100 * WAD, 3400 * WAD)

    assert world.markets.mark_price(perp) != mark_before, "the fills moved the perp's mark (funding only)"
    eq_buyer = world.margin(buyer.account)[1]
    eq_seller = world.margin(seller.account)[1]
    assert eq_buyer == 70_000 * WAD and eq_seller == 130_000 * WAD, "both valued at the 3,000 index"
    assert eq_buyer + eq_seller == 200_000 * WAD, "nothing created: what one account shows, the other lost"


def test_a_spike_on_one_feed_blocks_withdrawals_and_new_risk(world):
    maker, attacker = world.traders[0], world.traders[1]
    world.deposit(attacker, "USDC", usd(world, 100_000))
    world.trade(maker, attacker, "ETH-PERP", -100 * WAD, 3000 * WAD)

    world.set_price("ETH", 6000 * WAD, secondary=3000 * WAD)   # the manipulated primary; the secondary disagrees
    eq_im, eq_mm, im, mm, status = world.margin(attacker.account)
    assert status == DEGRADED
    assert eq_im - im > 250_000 * WAD, "on paper, 300k of unrealised profit"

    with pytest.raises(RevmRevert, match=E["BELOW_INITIAL_MARGIN"]):
        world.withdraw(attacker, "USDC", usd(world, 1))
    with pytest.raises(RevmRevert, match=E["DEGRADED_ORACLE"]):
        world.trade(maker, attacker, "ETH-PERP", -WAD, 6000 * WAD)


def test_profit_from_a_spike_both_feeds_show_leaves_only_down_to_initial_margin(world):
    maker, attacker = world.traders[0], world.traders[1]
    world.deposit(attacker, "USDC", usd(world, 100_000))
    world.trade(maker, attacker, "ETH-PERP", -250 * WAD, 3000 * WAD)

    world.set_price("ETH", 3300 * WAD)                            # +10 % on both feeds
    eq_im, _, im, _, status = world.margin(attacker.account)
    assert status == OK and eq_im == 175_000 * WAD
    headroom = (eq_im - im) // 10**12                             # USDC units (6 decimals)
    assert 0 < headroom < usd(world, 75_000), "less than the unrealised profit: IM grew with the price"

    with pytest.raises(RevmRevert, match=E["BELOW_INITIAL_MARGIN"]):
        world.withdraw(attacker, "USDC", headroom + 1)
    world.withdraw(attacker, "USDC", headroom)
    eq_im, _, im, _, _ = world.margin(attacker.account)
    assert 0 <= eq_im - im < 10**12, "exactly at initial margin"
    with pytest.raises(RevmRevert, match=E["BELOW_INITIAL_MARGIN"]):
        world.withdraw(attacker, "USDC", 1)
