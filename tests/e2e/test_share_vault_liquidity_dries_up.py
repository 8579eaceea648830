"""Margining vault shares that cannot be redeemed (issue 16, the liquidity term).

A holder margins a long ETH perp with staked-ETH-like vault shares. The vault then gates its redemptions: first
`maxRedeem` falls to 1 % of what the protocol holds (a withdrawal queue filling up), then it reverts (paused).
Shares nobody can unwind are not worth their convertToAssets value to a liquidator: crediting them in full lets
the holder keep a position the collateral can no longer cover, and the bidder who takes the shares at the
auction inherits the gate, so the fund absorbs the difference. Before the fix the margin ignored the vault's
liquidity (E_mm unchanged, the account looked healthy with a paused vault).

Defence (TECH_SPEC "ERC-4626 shares netted into the asset's book"): the RiskEngine reads `maxRedeem(Vault)` through
`OracleRouter.share_state` and caps the share token's depth at LIQUIDITY_DEPTH_FACTOR x liquidity x P, so the size
haircut rises as liquidity dries up; a reverting or zero `maxRedeem` values the shares at 0 for margin, and the
liquidation proceeds on the rest of the book.
"""

from __future__ import annotations

from tests.e2e.helpers import WAD, share_margined


def test_share_vault_liquidity_dries_up(world):
    w = world
    maker, victim, keeper, v, shares = share_margined(w)               # 100 sETH ~ 300k
    w.trade(maker, victim, "ETH-PERP", -450 * WAD, 3000 * WAD)        # long 450 ETH, margined by the shares
    _, eq_full, _, mm_full, _ = w.margin(victim.account)

    v.vault.set_redeem_cap(shares // 100, sender=keeper.address)     # redemptions gated: 1 % redeemable now
    _, eq_dry, _, mm_dry, _ = w.margin(victim.account)
    print(f"\nE_mm with the vault liquid {eq_full / WAD:,.0f} USD (MM {mm_full / WAD:,.0f}); 1 % redeemable "
          f"{eq_dry / WAD:,.0f} (MM {mm_dry / WAD:,.0f}): the shares' haircut rose by "
          f"{(eq_full - eq_dry) / WAD:,.0f} USD (before the fix: 0)")
    assert eq_dry < eq_full - 10_000 * WAD, "a vault that can redeem little now: a larger size haircut"
    assert eq_dry >= mm_dry, "still healthy: the haircut is graded, not a cliff"

    v.vault.set_mode(3, sender=keeper.address)                       # maxRedeem reverts: paused
    _, eq_paused, _, mm_paused, _ = w.margin(victim.account)
    print(f"maxRedeem reverts: E_mm {eq_paused / WAD:,.0f} vs MM {mm_paused / WAD:,.0f} (before the fix: "
          f"{eq_full / WAD:,.0f}, not liquidatable)")
    assert eq_paused < mm_paused, "paused shares count 0: the long is no longer covered"
    w.liquidation.start_auction(victim.account, keeper.account, sender=keeper.address)
    payment, cap = w.liquidation.quote(victim.account, WAD)
    paid = w.liquidation.bid(victim.account, keeper.account, cap, payment, sender=keeper.address)
    left = [p for p in w.clearing.positions_of(victim.account) if p[1] != 0]
    print(f"bid of {cap / WAD:.3f} went through: paid {paid / WAD:,.0f} USD; positions left {left}")
    assert paid == payment and cap > 0, "the liquidation proceeds without the vault"
