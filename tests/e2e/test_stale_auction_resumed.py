"""Stale auction resumed (adversarial review, issue 10 §4): an auction that nobody closed resumed at its full
discount on an account that had long recovered.

Seen: a 200 ETH long is flagged at 2,750 and the auction opens; ETH comes back and the account is above IM, but
nobody closes the auction. Two hours later ETH dips: the account is below IM yet comfortably above MM (health
+8,293), so a fresh `start_auction` reverts "not liquidatable" — but the old auction was still open, its discount
long at d_max = 30 %, and bids only needed the account below IM. The keeper buys 14.99 % of the book at 30 % off
and the owner loses 3,751.

Now a bid sells only an account that is below MM ("not liquidatable" otherwise), so anyone may end an auction whose
account is no longer below MM (`close_auction`), and an auction takes bids for `max_age_seconds` (1 h) only
("auction expired"; `start_auction` restarts it at d_start). A new dip below MM opens a new auction at the opening
discount.
"""

from __future__ import annotations

from crossmargin.chain.revm import RevmRevert
from tests.e2e.helpers import WAD, health, usd, value


def _flag_then_recover(world):
    """Victim: 100k USDC, 200 ETH-PERP long at 3,000; ETH 2,750: the keeper opens the auction; ETH back at 3,000:
    above IM, and nobody closes the auction."""
    maker, victim, keeper = world.traders[0], world.traders[1], world.traders[2]
    world.deposit(victim, "USDC", usd(world, 100_000))
    world.deposit(keeper, "USDC", usd(world, 1_000_000))
    world.trade(maker, victim, "ETH-PERP", -200 * WAD, 3000 * WAD)
    world.set_price("ETH", 2750 * WAD)
    world.liquidation.start_auction(victim.account, keeper.account, sender=keeper.address)
    world.set_price("ETH", 3000 * WAD)
    eq_im, _, im, _, _ = world.margin(victim.account)
    assert eq_im >= im, "recovered above IM"
    return victim, keeper


def _dip_to(world, account: int, target_health: float) -> int:
    """Lower ETH in 1 USD steps until the account is below IM with health as close to `target_health` as the
    grid allows (still above MM)."""
    best = None
    for p in range(3000, 2700, -1):
        world.set_price("ETH", p * WAD)
        eq_im, eq_mm, im, mm, _ = world.margin(account)
        h = (eq_mm - mm) / WAD
        if eq_im < im and h >= 0 and (best is None or abs(h - target_health) < abs(best[1] - target_health)):
            best = (p, h)
        if h < 0:
            break
    world.set_price("ETH", best[0] * WAD)
    return best[0]


def _keeper_tries(world, victim, keeper) -> tuple[str, float, float]:
    """The keeper tries a fresh start, then a bid for the whole book on the old auction: (outcome, fraction
    bought, owner's loss in USD = mark value lost)."""
    liq = world.liquidation
    try:
        liq.start_auction(victim.account, keeper.account, sender=keeper.address)
        start = "started"
    except RevmRevert as exc:
        start = exc.reason
    v_before = value(world, victim.account)
    try:
        liq.bid(victim.account, keeper.account, WAD, 2**200, sender=keeper.address)
        bid = dict(world.chain.last_events)["Bid"]
        outcome = f"start: {start}; bid took {bid['fraction'] / WAD:.2%} at {bid['discount'] / WAD:.0%}"
        fraction = bid["fraction"] / WAD
    except RevmRevert as exc:
        outcome, fraction = f"start: {start}; bid reverted: {exc.reason}", 0.0
    return outcome, fraction, (v_before - value(world, victim.account)) / WAD


def test_a_two_hour_old_auction_does_not_resume_on_a_healthy_account(world):
    """The review's figures: the dip comes 2 h after the recovery (the auction's discount is long at d_max)."""
    victim, keeper = _flag_then_recover(world)
    world.warp(2 * 3600)
    world.refresh()
    price = _dip_to(world, victim.account, 8_293)
    h = health(world, victim.account) / WAD
    outcome, fraction, loss = _keeper_tries(world, victim, keeper)
    print(f"\n[stale auction, 2 h] ETH {price}: below IM, health +{h:,.0f} above MM; {outcome}; "
          f"owner's loss {loss:,.2f} USD")
    assert fraction == 0 and loss == 0, f"the old auction sold {fraction:.2%} of a healthy book: owner lost {loss:,.0f}"
    # the auction ends: anyone closes it (the account is not below MM), and a real dip opens a new one at d_start
    world.liquidation.close_auction(victim.account, sender=keeper.address)
    world.set_price("ETH", 2750 * WAD)
    world.liquidation.start_auction(victim.account, keeper.account, sender=keeper.address)
    assert world.liquidation.discount(victim.account) == world.params.onchain()["liquidation"]["discount_start"]


def test_a_recent_auction_does_not_resume_either(world):
    """Within the auction's max age (recovery and dip 20 min after the start): the bid itself checks MM."""
    victim, keeper = _flag_then_recover(world)
    world.warp(1200)
    world.refresh()
    price = _dip_to(world, victim.account, 8_293)
    outcome, fraction, loss = _keeper_tries(world, victim, keeper)
    print(f"\n[stale auction, 20 min] ETH {price}: {outcome}; owner's loss {loss:,.2f} USD")
    assert fraction == 0 and loss == 0, f"bid on an account above MM: owner lost {loss:,.0f}"
    assert "not liquidatable" in outcome
