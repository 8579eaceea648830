"""Self-made unbiddable account paid by the fund (issue 18, the attacker of the escalation).

The escalation of an auction nobody bids pays its bidder a reward, partly from the insurance fund. The attacker
makes an account unbiddable for everyone else on purpose and bids on it himself, expecting to be paid by the
fund: account A goes 100 ETH-PERP long against his own account B (the hedge: B takes A's long back flat, with no
unwind cost), ETH falls until A is worth a sliver of its notional (no outside keeper bids it), B starts the
auction (its flag fee comes back to him), waits (half the reward ramp, or until the reward is at its cap, or
longer) and bids for all of A. The escalation counts from the auction's start (escalation_delay, 0 by default): the
cap is reached escalation_delay + T after the start (60 s by default, 30 blocks of 2 s; it was T + delay + T =
2,700 s when the delay counted from the ramp's end): a faster attack, not a larger one.

Bounds: the reward is at most escalation_reward·MM; it is paid out of A's own proceeds V·(1 - d(t) - r) first,
d(t) <= d_max, so the fund pays at most escalation_reward·MM - V·(1 - d_max - r) whenever B bids, and A (the
owner) keeps nothing once the reward exceeds its proceeds. Getting
there needed the same real price move that, a little further (V <= 0), makes the insolvent path pay the bidder
-V + MM·d_max anyway: the escalation adds no extraction beyond what that move already opens.
"""

from __future__ import annotations

import pytest

from tests.e2e.helpers import WAD, health, usd, value


def _total(world, *accounts) -> int:
    return sum(value(world, a) for a in accounts)


@pytest.mark.parametrize("wait", ["half the reward ramp", "the reward at its cap", "a ramp after the cap"])
def test_a_self_made_unbiddable_account_gets_no_more_than_the_cap_and_its_owner_nothing(world, wait):
    lp = world.params.liquidation
    a, b = world.traders[1], world.traders[2]        # the attacker's two accounts
    world.deposit(a, "USDC", usd(world, 36_000))
    world.deposit(b, "USDC", usd(world, 1_000_000))
    world.trade(b, a, "ETH-PERP", -100 * WAD, 3000 * WAD)   # B's standing order: A long 100, B short 100
    before = _total(world, a.account, b.account)
    fund0 = world.vault.cash_of(1)

    world.set_price("ETH", 2655 * WAD)
    assert health(world, a.account) < 0 < value(world, a.account)
    world.liquidation.start_auction(a.account, b.account, sender=b.address)
    v, mm = value(world, a.account), world.margin(a.account)[3]
    # nobody else bids; B waits from the start: the escalation delay, then part of (or all) the reward ramp T
    world.warp(lp.escalation_delay + {"half the reward ramp": lp.auction_seconds // 2,
                                      "the reward at its cap": lp.auction_seconds,
                                      "a ramp after the cap": 2 * lp.auction_seconds}[wait])
    world.refresh()
    escalated, reward = world.liquidation.escalation(a.account)
    payment, _ = world.liquidation.quote(a.account, WAD)
    world.liquidation.bid(a.account, b.account, WAD, payment, sender=b.address)
    events = dict(world.chain.last_events)
    esc = events.get("EscalatedBid", {"owner_paid": 0, "fund_paid": 0, "reward": 0})

    gain = _total(world, a.account, b.account) - before
    fund_loss = fund0 - world.vault.cash_of(1)
    o = lp.onchain()
    cap = mm * o["escalation_reward"] // WAD
    bound = cap - v * (WAD - o["discount_max"] - o["fund_fee_rate"]) // WAD
    insolvent_pay = mm * o["discount_max"] // WAD   # what the insolvent path pays at V = 0, a little further down
    print(f"\n[self-made unbiddable] V = {v / WAD:,.0f}, MM = {mm / WAD:,.0f}; escalated={escalated}, reward "
          f"{reward / WAD:,.0f} (cap {cap / WAD:,.0f}): owner's part {esc['owner_paid'] / WAD:,.0f}, fund "
          f"{esc['fund_paid'] / WAD:,.0f}; attacker's gain {gain / WAD:,.2f} (fund lost {fund_loss / WAD:,.2f}; "
          f"bound cap - V·(1 - d_max - r) = {bound / WAD:,.0f}; the insolvent path at V = 0 pays "
          f"{insolvent_pay / WAD:,.0f}); owner A left with {world.vault.cash_of(a.account) / WAD:,.2f}")
    assert "EscalatedBid" in events, "the self-bid is an escalated one"
    assert escalated and esc["reward"] == reward <= cap
    if esc["fund_paid"] > 0:
        assert world.vault.cash_of(a.account) == 0, "the fund pays only once the owner's proceeds are spent"
    assert all(p[1] == 0 for p in world.clearing.positions_of(a.account))
    assert fund_loss <= bound + WAD, "the fund pays at most the cap minus the owner's proceeds"
    assert gain <= fund_loss + WAD, "what the attacker gains is the fund's loss, nothing more"
    assert gain < insolvent_pay
