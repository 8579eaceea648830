"""Chained vol updates (issue 11 §2, the vol feeder's part): the VolOracle used to bound each update to 25 % of the
current value, so ten calls in one block took ETH vol from 0.6 to 5.0; at vol 5.0 the shock hits its 50 % cap and a
5× account with 100k of equity and 46k of MM owes 250k of MM: liquidatable, its book sold at a discount, for
nothing that happened in the market.

Now the limit is per unit of time: every update is measured against the value when the hour window opened
(×/÷ 2) and the day window opened (×/÷ 4). The chain stops at ×2 of the anchor, the account stays healthy, and a
genuine doubling is still posted in one update.
"""

from __future__ import annotations

from crossmargin.chain.revm import RevmRevert
from tests.e2e.helpers import WAD, health, usd


def test_ten_chained_vol_updates_cannot_make_a_healthy_account_liquidatable(world):
    maker, victim = world.traders[0], world.traders[1]
    world.deposit(victim, "USDC", usd(world, 100_000))
    world.trade(maker, victim, "ETH-PERP", -(500_000 * WAD // 3000), 3000 * WAD)   # 5×: 500k of ETH
    world.warp(3600)                                       # an hour after the last vol update
    world.refresh()
    world.set_vol("ETH", 6 * WAD // 10)
    eq_im, eq_mm, im, mm, _ = world.margin(victim.account)
    print(f"\nbefore: vol 0.60, equity {eq_mm / WAD:,.0f} USD, MM {mm / WAD:,.0f} USD")
    assert 45_000 * WAD < mm < 50_000 * WAD and health(world, victim.account) > 0

    vol, accepted = 6 * WAD // 10, 0
    for _ in range(10):                                    # in one block: +25 % each, capped at max_vol
        nxt = min(vol * 5 // 4, 5 * WAD)
        try:
            world.set_vol("ETH", nxt)
        except RevmRevert:
            break
        vol, accepted = nxt, accepted + 1
    eq_im, eq_mm, im, mm, _ = world.margin(victim.account)
    print(f"after {accepted} accepted updates of 10: vol {vol / WAD:.2f}, equity {eq_mm / WAD:,.0f} USD, "
          f"MM {mm / WAD:,.0f} USD, health {(eq_mm - mm) / WAD:,.0f} USD")
    assert vol <= 12 * WAD // 10, "at most ×2 of the window's anchor in one block"
    assert health(world, victim.account) > 0, "not liquidatable by a vol the market never showed"


def test_a_genuine_vol_doubling_posts_within_the_hour_in_one_update(world):
    world.warp(3600)
    world.set_vol("ETH", 6 * WAD // 10)                   # the calm value, just posted
    world.warp(60)                                         # a crash: ETH vol doubles a minute later
    world.set_vol("ETH", 12 * WAD // 10)
    assert world.vol.vol(1) == (12 * WAD // 10, 0)
