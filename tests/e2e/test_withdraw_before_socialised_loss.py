"""Withdrawal ahead of a socialised loss (adversarial review, issue 10 §5): a cash holder who reads the chain
leaves before a loss he can see coming is spread over everyone's positive cash.

Seen: an auction opens on an account whose loss exceeds the insurance fund (V < 0, the fund cannot pay the
bidder's shortfall): from that block on, everyone can compute that the rest will be socialised through the
Vault's loss index at the bid. An informed holder withdraws 1,000,000 in that window; the holders who stay absorb
his share of the loss on top of theirs (52,916 in the review's run).

Now an insolvent auction books its loss estimate (-V + MM·d_max) when it opens; while the open estimates exceed
the fund's cash, the Vault refuses settlement-cash withdrawals ("loss pending") until the bid socialises the loss,
the account recovers, or at the latest the auction's expiry (max age: 1 h, at most a day). Every holder then bears
his pro-rata share.
"""

from __future__ import annotations

from crossmargin.chain.revm import RevmRevert
from tests.e2e.helpers import WAD, usd, value


def _insolvent_beyond_the_fund(world):
    """Victim: 250k USDC, 500 ETH-PERP long at 3,000; ETH crashes to 2,000: V ≈ -250k against a 100k fund.
    Two holders with 1M USDC each: `informed` and `stays`. The keeper opens the auction."""
    maker, victim, keeper, informed, stays = world.traders[:5]
    for t in (keeper, informed, stays):
        world.deposit(t, "USDC", usd(world, 1_000_000))
    world.deposit(victim, "USDC", usd(world, 250_000))
    world.trade(maker, victim, "ETH-PERP", -500 * WAD, 3000 * WAD)
    world.set_price("ETH", 2000 * WAD)
    world.liquidation.start_auction(victim.account, keeper.account, sender=keeper.address)
    v = value(world, victim.account)
    assert v < 0 and -v > world.vault.cash_of(1), "the loss exceeds the insurance fund: visible on chain"
    return victim, keeper, informed, stays


def test_a_holder_cannot_leave_between_the_visible_loss_and_its_socialisation(world):
    victim, keeper, informed, stays = _insolvent_beyond_the_fund(world)
    usdc = world.tokens["USDC"].address
    informed_before, stays_before = world.vault.cash_of(informed.account), world.vault.cash_of(stays.account)
    try:
        world.vault.withdraw(informed.account, usdc, 1_000_000 * 10**6, informed.address, sender=informed.address)
        escape = "withdrew 1,000,000"
    except RevmRevert as exc:
        escape = f"withdrawal reverted: {exc.reason}"
    left = world.vault.cash_of(informed.account)
    # the loss index spreads over the positive cash left once the fund and the account are emptied; had the
    # informed holder stayed, his cash would have been in that pool
    pool = (world.vault.total_positive_cash() - world.vault.cash_of(1) - max(world.vault.cash_of(victim.account), 0)
            + (informed_before - left))

    world.liquidation.bid(victim.account, keeper.account, WAD, 0, sender=keeper.address)
    bad = dict(world.chain.last_events)["BadDebt"]
    stays_loss = (stays_before - world.vault.cash_of(stays.account)) / WAD
    informed_loss = (left - world.vault.cash_of(informed.account)) / WAD
    share_if_fair = bad["absorbed"] * stays_before / pool / WAD   # what each holder of 1M bears when nobody left
    print(f"\n[loss front-running] socialised {bad['socialized'] / WAD:,.0f} USD (fund paid {bad['fund_paid'] / WAD:,.0f});"
          f" informed holder: {escape}, bore {informed_loss:,.2f}; the holder who stays bore {stays_loss:,.2f} "
          f"(fair share of each: {share_if_fair:,.2f}; the stayer's extra: {stays_loss - share_if_fair:,.2f}, "
          f"the informed holder's gain: {share_if_fair - informed_loss:,.2f})")
    assert left == informed_before, f"the informed holder left ahead of the loss ({escape})"
    assert abs(informed_loss - stays_loss) <= 1e-6 * stays_loss, "equal cash, equal share of the loss"
    # afterwards the hold is gone: the informed holder leaves with what is left of his cash
    world.vault.withdraw(informed.account, usdc, world.vault.cash_of(informed.account) // 10**12, informed.address,
                         sender=informed.address)
