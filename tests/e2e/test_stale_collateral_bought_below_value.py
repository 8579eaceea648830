"""Stale collateral bought below its value: the other side of "a stale feed must never shield an insolvent account"
(issue 11 §1). Liquidation now values collateral whose feed is stale at zero and positions on a stale underlying at
their worst scenario, so an account can become liquidatable because of the doubt alone. The attack: a keeper waits
for BTC's feed to stall, auctions an account holding WBTC, and buys the WBTC at the value the liquidation test gave
it — nothing.

Defence (TECH_SPEC "Liquidation mode"): the penalty decides *whether* an account may be auctioned and how much
of it, never the price. The bidder pays f·V·(1 - d) on the mark value V at the last prices (WBTC at its last
answer), the victim's health at the last inputs may not fall, and the bidder must itself stay above IM with what
it takes counted at the penalised value (WBTC = 0): taking a doubtful book needs real margin.
"""

from __future__ import annotations

import pytest

from crossmargin.chain.revm import RevmRevert
from tests.e2e.helpers import E, WAD, health, usd, value


def test_the_bidder_pays_for_stale_collateral_at_its_last_price(world):
    maker, victim, keeper, poor = world.traders[0], world.traders[1], world.traders[2], world.traders[3]
    world.deposit(victim, "WBTC", world.units("WBTC", 2))             # ~120k of WBTC, no cash
    world.deposit(keeper, "USDC", usd(world, 2_000_000))
    world.deposit(poor, "USDC", usd(world, 3_000))
    world.trade(maker, victim, "ETH-PERP", 100 * WAD, 3000 * WAD)     # a 300k ETH short on it
    world.warp(3601)                                                  # BTC's feeds stall; ETH keeps updating
    world.refresh(["ETH", "SOL"])

    h = health(world, victim.account)
    assert h > 0, "healthy at the last prices"
    print(f"\nhealth at the last prices {h / WAD:,.0f} USD, mark value {value(world, victim.account) / WAD:,.0f} "
          f"USD; BTC stale: start_auction ...")
    world.liquidation.start_auction(victim.account, keeper.account, sender=keeper.address)
    (eq_im, eq_mm, im, mm, status), penalty = world.engine.margin_for_liquidation(victim.account, False)[:2]
    print(f"  started: liquidation mode E_mm {eq_mm / WAD:,.0f} vs MM {mm / WAD:,.0f} USD (penalty "
          f"{penalty / WAD:,.0f} USD: the WBTC counts 0)")
    assert mm > eq_mm, "liquidatable only because BTC's feed is in doubt"
    v = value(world, victim.account)                                  # less the flag fee
    payment, cap = world.liquidation.quote(victim.account, WAD)
    d = world.liquidation.discount(victim.account)
    assert payment == -(-(-(-cap * v // WAD)) * (WAD - d) // WAD), "f·V·(1 - d) on the mark value, rounded up"

    with pytest.raises(RevmRevert, match=E["BELOW_INITIAL_MARGIN"]):   # the WBTC is worth 0 to its IM check too
        world.liquidation.bid(victim.account, poor.account, WAD, payment, sender=poor.address)

    paid = world.liquidation.bid(victim.account, keeper.account, WAD, payment, sender=keeper.address)
    v_after = value(world, victim.account)
    naive = cap * (eq_mm + 0) // WAD * (WAD - d) // WAD                # what paying on the penalised value would be
    print(f"bid of {cap / WAD:.3f}: paid {paid / WAD:,.0f} USD (on the penalised value: {max(naive, 0) / WAD:,.0f}); "
          f"victim's mark value {v / WAD:,.0f} -> {v_after / WAD:,.0f} USD, health {h / WAD:,.0f} -> "
          f"{health(world, victim.account) / WAD:,.0f} USD")
    assert paid == payment and paid > max(naive, 0) + 10_000 * WAD
    assert cap < WAD // 2, "partial: doubt alone never opens a full close of an account healthy at the last prices"
    fee = world.params.onchain()["liquidation"]["fund_fee_rate"]
    assert v - v_after <= cap * v // WAD * (d + fee) // WAD + 10**15, "the victim loses only the discount and fee"
    assert v - v_after <= mm, "... which the health check bounds by its MM"
    assert health(world, victim.account) >= h
