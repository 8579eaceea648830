"""A stale feed as a liquidation shield (issue 11 §1): an account deep under water that no one can liquidate
because one of the inputs its margin reads is stale, or in doubt.

Seen before the fix, each with the account's health far below zero:
- ETH's primary feed fresh, its secondary stale: `start_auction` reverted "stale oracle" at -25k and still at -75k;
- an insolvent ETH account deposits 1 satoshi of WBTC while BTC's secondary feed is stale: `start_auction` goes
  from working to "stale oracle" (a dust deposit as a shield);
- one missed daily vol update: an account at -32.5k could not be liquidated.

The rule now (TECH_SPEC "Liquidation mode"): a doubtful input may only make an account look worse for
liquidation, never block it. The liquidation test (`start_auction`, `bid` and its post-conditions) runs on
`RiskEngine.margin_for_liquidation`: a fresh primary suffices when the secondary is stale; collateral whose primary
is stale counts 0; positions on an underlying whose price or vol is stale count at their worst scenario (and the
stale vol reads marked up by the VolOracle's staleness factor). The bidder still pays on the mark value V (no
penalty), and must itself be above IM under the same conservative rules. New risk and withdrawals stay blocked.
"""

from __future__ import annotations

import pytest

from crossmargin.chain.revm import RevmRevert
from tests.e2e.helpers import E, WAD, health, usd, value

PRICE_HEARTBEAT = 3600       # ETH and BTC feeds (default.toml)
VOL_HEARTBEAT = 86400


def _long_eth(world):
    """Trader 1: 100k USDC and a 200 ETH-PERP long at 3,000 (600k notional) from the market maker."""
    maker, victim, keeper = world.traders[0], world.traders[1], world.traders[2]
    world.deposit(victim, "USDC", usd(world, 100_000))
    world.deposit(keeper, "USDC", usd(world, 2_000_000))
    world.trade(maker, victim, "ETH-PERP", -200 * WAD, 3000 * WAD)
    return victim, keeper


def _primary(world, symbol: str, price: int) -> None:
    """A new round on the primary feed only: the secondary keeps its last answer (and goes stale)."""
    world.feeds[symbol].set_answer(world.feed_answer(symbol, price), sender=world.admin)
    world.prices[symbol] = (price, world.prices[symbol][1])


def _price_for_health(world, account: int, target_usd: float, move) -> int:
    """The ETH price (whole USD) at which the account's health is closest to `target_usd`, set with `move`."""
    lo, hi = 1000, 3000
    while hi - lo > 1:
        mid = (lo + hi) // 2
        move(mid * WAD)
        if health(world, account) < target_usd * WAD:
            lo = mid
        else:
            hi = mid
    move(hi * WAD)
    return hi


def _liquidate(world, victim, keeper, label: str) -> int:
    """Start the auction, take what the quote offers; returns the payment. Prints the figures."""
    h0, v0 = health(world, victim.account), value(world, victim.account)
    print(f"\n{label}: health {h0 / WAD:,.0f} USD, V {v0 / WAD:,.0f} USD, oracle status "
          f"{world.engine.margin(victim.account)[4]}: start_auction ...")
    world.liquidation.start_auction(victim.account, keeper.account, sender=keeper.address)
    assert world.liquidation.auction(victim.account)[2], "the auction is open"
    payment, cap = world.liquidation.quote(victim.account, WAD)
    paid = world.liquidation.bid(victim.account, keeper.account, WAD, payment, sender=keeper.address)
    assert paid == payment
    h1 = health(world, victim.account)
    print(f"  auction started, bid of {cap / WAD:.3f} paid {paid / WAD:,.0f} USD; health after {h1 / WAD:,.0f} USD")
    assert h1 >= h0, "the bid did not lower the account's health"
    return paid


def test_a_stale_secondary_feed_does_not_shield_an_account_under_water(world):
    victim, keeper = _long_eth(world)
    world.warp(PRICE_HEARTBEAT + 1)                      # ETH's secondary last answered an hour ago: stale
    price = _price_for_health(world, victim.account, -25_000, lambda p: _primary(world, "ETH", p))
    assert world.router.prices(1)[2] == 1, "DEGRADED: a secondary exists but is unusable"
    assert health(world, victim.account) < -24_000 * WAD

    print(f"\nprimary fresh at {price:,} USD, secondary stale: health {health(world, victim.account) / WAD:,.0f} "
          f"USD, start_auction ...")
    world.liquidation.start_auction(victim.account, keeper.account, sender=keeper.address)
    print("  auction started")
    price = _price_for_health(world, victim.account, -75_000, lambda p: _primary(world, "ETH", p))
    h0 = health(world, victim.account)
    assert h0 < -74_000 * WAD
    payment, cap = world.liquidation.quote(victim.account, WAD)
    paid = world.liquidation.bid(victim.account, keeper.account, WAD, payment, sender=keeper.address)
    print(f"at {price:,} USD (health {h0 / WAD:,.0f} USD): bid of {cap / WAD:.3f} paid {paid / WAD:,.0f} USD, "
          f"health after {health(world, victim.account) / WAD:,.0f} USD")
    assert paid == payment and health(world, victim.account) >= h0
    # liquidation on the fresh primary; new risk still needs OK (the keeper now holds the ETH perp)
    assert not world.engine.is_above_im(keeper.account)


@pytest.mark.parametrize("stale", ["secondary", "both feeds"])
def test_dust_collateral_on_a_stale_asset_is_no_shield(world, stale):
    victim, keeper = _long_eth(world)
    world.warp(PRICE_HEARTBEAT + 1)
    world.refresh(["ETH"])
    if stale == "secondary":
        _primary(world, "BTC", world.prices["BTC"][0])   # BTC: primary fresh, secondary stale
    world.set_price("ETH", 2350 * WAD)                    # -130k on a 100k deposit
    assert value(world, victim.account) < 0, "insolvent"
    payment_before, _ = world.liquidation.quote(victim.account, WAD)   # liquidatable, quoted

    world.deposit(victim, "WBTC", 1)                       # 1 satoshi of WBTC
    assert world.engine.margin(victim.account)[4] != 0, "the account now reads a doubtful BTC price"
    assert not world.engine.is_above_im(victim.account)
    paid = _liquidate(world, victim, keeper, f"ETH insolvent + 1 sat WBTC, BTC {stale} stale")
    assert paid < 0, "insolvent: the bidder is paid"
    assert abs(paid - payment_before) <= 10**15, "the dust changed nothing"
    assert world.vault.balance_of(keeper.account, world.tokens["WBTC"].address) == 10**10, "the dust moved too"


def test_a_missed_vol_update_does_not_shield_an_account_under_water(world):
    victim, keeper = _long_eth(world)
    world.warp(VOL_HEARTBEAT + 1)                          # the daily vol update did not come
    world.refresh()
    vol, status = world.vol.vol(1)
    assert status == 2, "STALE"
    _price_for_health(world, victim.account, -32_500, lambda p: world.set_price("ETH", p))
    assert health(world, victim.account) < -32_000 * WAD
    assert world.engine.margin(victim.account)[4] == 2, "STALE for everything but liquidation"

    _liquidate(world, victim, keeper, "one missed vol update")
    assert vol == 6 * WAD // 10 * 5 // 4, "the stale vol read 25 % higher (the staleness factor)"
    # the keeper took an ETH book whose vol is stale: it passed its own IM check at the worst scenario,
    # and may take no new risk until the vol is fed again
    assert not world.engine.is_above_im(keeper.account)
    with pytest.raises(RevmRevert, match=E["BELOW_INITIAL_MARGIN"]):
        world.withdraw(keeper, "USDC", 1)
