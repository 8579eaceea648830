"""Euler Finance, 13 March 2023: `donateToReserves` lowered an account's collateral without a health check,
making it insolvent on purpose; the attacker then liquidated it from a second account, and the liquidation
discount (which grew with the shortfall) handed the second account more collateral than the debt it took on,
leaving the protocol with ~$197M of bad debt.

Here liquidating your own account gains nothing:
- there is no way to push your own account below margin: every path that lowers equity (withdrawals, trades)
  checks IM afterwards, and there is nothing like a donation;
- bidding with the liquidated account itself reverts;
- a solvent self-liquidation from a sibling account is a transfer between the owner's two accounts: the
  bidder's discount is exactly what the seller gives up, and the insurance fee and the flag fee (to anyone
  else) make the pair strictly poorer;
- an insolvent one pays the sibling exactly what any keeper would get, -V + MM·d, never more (the discount is
  bounded and priced on MM, not on the shortfall).
"""

from __future__ import annotations

import pytest

from crossmargin.chain.revm import RevmRevert
from tests.e2e.helpers import E, WAD, health, usd, value


def _owner_with_two_accounts(world):
    """Trader 1 owns two cross accounts: the one to liquidate (its default) and a sibling to bid with."""
    owner = world.traders[1]
    sibling = world.vault.open_account(0, sender=owner.address)
    world.deposit(owner, "USDC", usd(world, 100_000))
    world.deposit(owner, "USDC", usd(world, 2_000_000), account=sibling)
    return owner, sibling


def test_no_way_to_make_your_own_account_liquidatable(world):
    maker = world.traders[0]
    owner, _ = _owner_with_two_accounts(world)
    world.trade(maker, owner, "ETH-PERP", -200 * WAD, 3000 * WAD)
    eq_im, _, im, _, _ = world.margin(owner.account)
    headroom = (eq_im - im) // 10**12
    with pytest.raises(RevmRevert, match=E["BELOW_INITIAL_MARGIN"]):
        world.withdraw(owner, "USDC", headroom + 1)          # the "donation": out of the account, below IM
    world.withdraw(owner, "USDC", headroom)                  # as far as it goes: exactly at IM
    with pytest.raises(RevmRevert, match=E["BELOW_INITIAL_MARGIN"]):
        world.trade(maker, owner, "ETH-PERP", -100 * WAD, 3000 * WAD)   # more risk than the margin carries
    with pytest.raises(RevmRevert, match=E["BELOW_INITIAL_MARGIN"]):
        world.trade(maker, owner, "ETH-PERP", -WAD, 3300 * WAD)  # an off-market fill that gives value away
    with pytest.raises(RevmRevert, match=E["NOT_LIQUIDATABLE"]):
        world.liquidation.start_auction(owner.account, world.traders[2].account, sender=world.traders[2].address)


def test_self_liquidation_through_a_sibling_account_gains_nothing(world):
    maker, stranger = world.traders[0], world.traders[2]
    owner, sibling = _owner_with_two_accounts(world)
    world.trade(maker, owner, "ETH-PERP", -200 * WAD, 3000 * WAD)
    world.set_price("ETH", 2750 * WAD)                        # the market, not the owner, moves it underwater
    assert health(world, owner.account) < 0

    with pytest.raises(RevmRevert, match=E["SAME_ACCOUNT"]):
        world.liquidation.start_auction(owner.account, owner.account, sender=owner.address)
    world.liquidation.start_auction(owner.account, stranger.account, sender=stranger.address)
    with pytest.raises(RevmRevert, match=E["SAME_ACCOUNT"]):
        world.liquidation.bid(owner.account, owner.account, WAD, 2**200, sender=owner.address)

    world.warp(world.params.liquidation.auction_seconds)     # wait for the largest discount
    world.refresh()
    pair_before = value(world, owner.account) + value(world, sibling)
    payment, cap = world.liquidation.quote(owner.account, WAD)
    world.liquidation.bid(owner.account, sibling, WAD, payment, sender=owner.address)
    bid = next(args for name, args in world.chain.last_events if name == "Bid")
    assert bid["discount"] == world.params.liquidation.onchain()["discount_max"] and bid["fraction"] == cap
    pair_after = value(world, owner.account) + value(world, sibling)
    assert pair_after == pair_before - bid["fund_fee"], "the discount moved between the owner's accounts; the fee left"


def test_insolvent_self_liquidation_pays_only_the_keeper_reward(world):
    maker, stranger = world.traders[0], world.traders[2]
    owner, sibling = _owner_with_two_accounts(world)
    world.trade(maker, owner, "ETH-PERP", -200 * WAD, 3000 * WAD)
    world.set_price("ETH", 2400 * WAD)                        # a gap: the account's value is below zero
    assert value(world, owner.account) < 0
    world.liquidation.start_auction(owner.account, stranger.account, sender=stranger.address)
    world.warp(world.params.liquidation.auction_seconds)     # the largest discount
    world.refresh()
    v = value(world, owner.account)                            # after a ramp of funding
    mm = world.margin(owner.account)[3]
    d = world.liquidation.discount(owner.account)

    sibling_before = value(world, sibling)
    fund_before = world.vault.cash_of(1)
    payment, cap = world.liquidation.quote(owner.account, WAD)
    assert payment == -(-v + mm * d // WAD) and cap == WAD
    with pytest.raises(RevmRevert, match=E["FULL_BID_ONLY"]):
        world.liquidation.bid(owner.account, sibling, WAD // 2, payment, sender=owner.address)
    world.liquidation.bid(owner.account, sibling, WAD, payment, sender=owner.address)

    reward = mm * d // WAD
    assert value(world, sibling) - sibling_before == reward, "the sibling got the keeper reward MM·d, nothing more"
    assert fund_before - world.vault.cash_of(1) == -v + reward, "the fund paid the hole plus that reward"
    assert value(world, owner.account) == 0 and world.clearing.positions_of(owner.account) == []
    assert world.liquidation.losses() == (-v + reward, 0, 0)
