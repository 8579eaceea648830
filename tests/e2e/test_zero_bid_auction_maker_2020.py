"""Maker, 12 March 2020 ("Black Thursday"): with the network congested, liquidation auctions of ETH vaults drew
a single bidder who won the collateral for 0 DAI; the vault owners lost everything and the system was left with
bad debt.

Here the bidder never names the price: the Dutch auction prices every bid from the portfolio's mark value,
payment = f·V·(1 - d(t)), with d(t) ramping from `discount_start` to `discount_max` (< 1). So
- a bid with no discount at all (d = 0) still clears: the liquidated account is paid exactly the mark value of
  what it sells, and the auction closes once the account is back above IM;
- a zero bid never clears while the portfolio is worth something: at any time, however long nobody bids, the
  price is at least (1 - d_max) of the value sold, and offering 0 reverts "price above max cost".
"""

from __future__ import annotations

import pytest

from crossmargin.chain.revm import RevmRevert
from tests.e2e.helpers import E, WAD, health, usd, value


def _underwater_long(world):
    """Trader 1: 100k USDC, 200 ETH-PERP long at 3,000 from the market maker; ETH then falls to 2,750."""
    maker, victim, keeper = world.traders[0], world.traders[1], world.traders[2]
    world.deposit(victim, "USDC", usd(world, 100_000))
    world.deposit(keeper, "USDC", usd(world, 1_000_000))
    world.trade(maker, victim, "ETH-PERP", -200 * WAD, 3000 * WAD)
    world.set_price("ETH", 2750 * WAD)
    assert health(world, victim.account) < 0, "the long is liquidatable"
    return victim, keeper


def test_a_bid_with_no_discount_still_clears(world):
    world.replace_params(discount_start=0.0, fund_fee_rate=0.0)
    victim, keeper = _underwater_long(world)
    world.liquidation.start_auction(victim.account, keeper.account, sender=keeper.address)
    assert world.liquidation.discount(victim.account) == 0

    v_before = value(world, victim.account)
    h_before = health(world, victim.account)
    payment, cap = world.liquidation.quote(victim.account, WAD)
    assert 0 < cap < WAD, "a partial liquidation: only what restores IM"
    assert payment == -(-cap * v_before // WAD), "no discount: the price is the mark value of the fraction sold"

    paid = world.liquidation.bid(victim.account, keeper.account, WAD, payment, sender=keeper.address)
    assert paid == payment
    # the seller is paid in full: its mark value did not move (1 wei per transferred item of rounding, at most)
    assert abs(value(world, victim.account) - v_before) <= 10
    assert health(world, victim.account) > h_before
    eq_im, _, im, _, _ = world.margin(victim.account)
    assert eq_im >= im, "back above IM"
    assert world.liquidation.auction(victim.account)[2] is False, "the auction closed itself"


def test_a_zero_bid_never_clears(world):
    victim, keeper = _underwater_long(world)
    world.liquidation.start_auction(victim.account, keeper.account, sender=keeper.address)
    # congestion: nobody bid for the auction's whole life (its max age; a day at most), the discount is at its maximum
    world.warp(world.params.liquidation.max_age_seconds)
    world.refresh()
    d = world.liquidation.discount(victim.account)
    assert d == world.params.onchain()["liquidation"]["discount_max"] == 3 * 10**17

    with pytest.raises(RevmRevert, match=E["PRICE_ABOVE_MAX"]):
        world.liquidation.bid(victim.account, keeper.account, WAD, 0, sender=keeper.address)

    v = value(world, victim.account)
    payment, cap = world.liquidation.quote(victim.account, WAD)
    assert payment >= cap * v // WAD * 7 // 10, "at most a 30 % discount, however late"
    assert world.liquidation.bid(victim.account, keeper.account, WAD, payment, sender=keeper.address) == payment


def test_the_price_is_the_protocols_not_the_bidders(world):
    """A bidder asking for more than the fraction that restores IM gets only that fraction, at the curve's
    price; asking to pay less than the curve reverts."""
    victim, keeper = _underwater_long(world)
    world.liquidation.start_auction(victim.account, keeper.account, sender=keeper.address)
    payment, cap = world.liquidation.quote(victim.account, WAD)
    with pytest.raises(RevmRevert, match=E["PRICE_ABOVE_MAX"]):
        world.liquidation.bid(victim.account, keeper.account, WAD, payment - 1, sender=keeper.address)
    world.liquidation.bid(victim.account, keeper.account, WAD, payment, sender=keeper.address)
    bids = [args for name, args in world.chain.last_events if name == "Bid"]
    assert bids[0]["fraction"] == cap
