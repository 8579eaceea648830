"""Unbiddable auction left open (issue 18, keeper crash runs: "one account stays open in every run").

Seen: a solvent account whose mark value V is a sliver of its notional is liquidatable, its auction opens, and
nobody ever bids: a solvent bid brings at most V·d_max of gross profit (the bidder pays V·(1 - d_max) for V),
while closing what it brings costs a keeper ~1 % of the notional in a crash. Below V = 1 % · notional / d_max the
bid loses money at every discount; the auction expires, restarts at d_start, expires again, and the account stays
liquidatable as long as V > 0 (the insolvent path, which pays MM·d, only starts at V <= 0).

Now the auction escalates: once it has run unbid for `escalation_delay` since its start, a full bid on a
sliver (0 < V < escalation_reward·MM) also earns a reward ramping over T up to escalation_reward·MM, paid out of
the owner's proceeds at d(t) first, then by the insurance fund (then the loss index). A keeper bids as soon as the
reward covers its unwind cost; the owner never receives more than a full bid at d(t) would have paid it.
Before the escalation: liquidatable after two auction lives (7,200 s); with the escalation counted from the
ramp's end, at these parameters: cleared at 234 s; now (default T = 180 s, delay 0): cleared 60 s after the start,
the reward (2,537 USD, a third of its cap) then covering the 2,655 USD unwind with V·d; the owner's proceeds paid
1,176 of it, the fund 1,360.
"""

from __future__ import annotations

from tests.e2e.helpers import WAD, health, usd, value

UNWIND = 0.01       # a keeper's cost of closing what a bid brings in a crash: 1 % of the notional


def _sliver(world):
    """Victim: 36,000 USDC, 100 ETH-PERP long at 3,000 (300k notional, IM ~35.9k); ETH falls to 2,655:
    V ≈ 1,500 USD, 0.6 % of the 265,500 notional, MM ≈ 25k. The keeper opens the auction."""
    maker, victim, keeper = world.traders[:3]
    world.deposit(victim, "USDC", usd(world, 36_000))
    world.deposit(keeper, "USDC", usd(world, 1_000_000))
    world.trade(maker, victim, "ETH-PERP", -100 * WAD, 3000 * WAD)
    world.set_price("ETH", 2655 * WAD)
    assert health(world, victim.account) < 0 < value(world, victim.account)
    world.liquidation.start_auction(victim.account, keeper.account, sender=keeper.address)
    return victim, keeper


def test_an_auction_nobody_will_bid_is_escalated_and_cleared(world):
    victim, keeper = _sliver(world)
    lp = world.params.liquidation
    notional = 100 * 2655
    v0, mm0 = value(world, victim.account) / WAD, world.margin(victim.account)[3] / WAD
    fund0, cash0 = world.vault.cash_of(1), world.vault.cash_of(victim.account)
    print(f"\n[unbiddable auction] V = {v0:,.0f} USD, MM = {mm0:,.0f}, notional {notional:,}: best solvent gross "
          f"V·d_max = {v0 * lp.discount_max:,.0f} < unwind {UNWIND * notional:,.0f}")

    # the keeper quotes a full bid every 1/30 of the ramp (a block, at the default 60 s ramp and 2 s blocks) for
    # two auction lives (restarting an expired one, as the bot does)
    step = max(1, lp.auction_seconds // 30)
    cleared_at, t = None, 0
    while t <= 2 * lp.max_age_seconds and cleared_at is None:
        if world.now > world.liquidation.auction(victim.account)[3]:
            world.liquidation.start_auction(victim.account, keeper.account, sender=keeper.address)
        payment, _ = world.liquidation.quote(victim.account, WAD)
        gain = value(world, victim.account) / WAD - payment / WAD - UNWIND * notional
        if gain > 0:
            world.liquidation.bid(victim.account, keeper.account, WAD, payment, sender=keeper.address)
            cleared_at = t
            break
        world.warp(step)
        world.refresh()
        t += step
    print(f"[unbiddable auction] cleared after {cleared_at} s" if cleared_at is not None else
          f"[unbiddable auction] still open after {t:,} s (liquidatable: {health(world, victim.account) < 0})")
    assert cleared_at is not None, "the account stayed liquidatable: nobody bids an auction that never pays"

    events = dict(world.chain.last_events)
    esc = events["EscalatedBid"]
    fund_paid = (fund0 - world.vault.cash_of(1)) / WAD
    owner_left = world.vault.cash_of(victim.account) / WAD
    print(f"[unbiddable auction] reward {esc['reward'] / WAD:,.0f} (owner's proceeds {esc['owner_paid'] / WAD:,.0f}, "
          f"fund {esc['fund_paid'] / WAD:,.0f}, socialised {esc['socialized'] / WAD:,.0f}); "
          f"fund net {-fund_paid:,.0f}; "
          f"owner left with {owner_left:,.2f} of {cash0 / WAD:,.0f}")
    assert lp.escalation_delay <= cleared_at <= lp.escalation_delay + lp.auction_seconds, \
        "escalated once unbid for escalation_delay since the start, cleared before the reward reaches its cap"
    assert world.liquidation.auction(victim.account)[2] is False and health(world, victim.account) >= 0
    assert world.clearing.positions_of(victim.account) == [] or all(p[1] == 0 for p in world.clearing.positions_of(
        victim.account)), "the whole portfolio went to the keeper"
    # the owner never gets more than a full bid at d(t) would have paid; the fund pays at most its cap
    d = events["Bid"]["discount"] / WAD
    assert owner_left <= v0 * (1 - d - lp.fund_fee_rate) + 1
    assert esc["fund_paid"] + esc["socialized"] <= lp.escalation_reward * mm0 * WAD
    assert esc["socialized"] == 0, "the fund held enough"
