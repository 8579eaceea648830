"""An ERC-4626 vault whose `convertToAssets` reverts (paused) or returns 0 in the middle of an auction (issue 16).

The victim holds staked-ETH-like vault shares as collateral and a long ETH perp; ETH falls, a keeper starts an
auction, then the vault stops answering. A router that read the rate with a plain call would revert every
margin view that touches the shares: `margin_for_liquidation`, `bid`, `quote`, and the auction would be stuck
while the loss grows. Defence (TECH_SPEC "ERC-4626 share feeds"): the rate is read with a static raw_call that
tolerates reverts; a revert, short data or 0 prices the share id at 0 with status STALE, so in liquidation mode the
shares count 0 in equity (the RiskEngine's stale-collateral rule) and the liquidation proceeds.
"""

from __future__ import annotations

import pytest

from tests.e2e.helpers import WAD, share_margined

STALE = 2


@pytest.mark.parametrize("mode", [1, 2], ids=["reverts", "returns_zero"])
def test_share_vault_reverts_mid_auction(world, mode):
    w = world
    maker, victim, keeper, v, _ = share_margined(w)                    # 100 sETH ~ 300k
    w.trade(maker, victim, "ETH-PERP", -450 * WAD, 3000 * WAD)        # the victim is long 450 ETH (+ 100 sETH: one ETH book)
    w.set_price("ETH", 2800 * WAD)
    _, eq_mm, _, mm, _ = w.margin(victim.account)
    assert eq_mm < mm, "liquidatable"
    w.liquidation.start_auction(victim.account, keeper.account, sender=keeper.address)
    (_, eq_mm0, _, _, _), _ = w.engine.margin_for_liquidation(victim.account, False)[:2]

    v.vault.set_mode(mode, sender=keeper.address)                    # the vault stops answering
    assert w.router.share_rate(v.uid)[1] == 0
    price, st = w.router.price(v.uid)
    (_, eq_mm1, _, mm1, _), pen1 = w.engine.margin_for_liquidation(victim.account, False)[:2]
    print(f"\nvault mode {mode}: share price {price / WAD:,.2f} status {st}; liquidation-mode E_mm "
          f"{eq_mm0 / WAD:,.0f} -> {eq_mm1 / WAD:,.0f} USD vs MM {mm1 / WAD:,.0f} (penalty {pen1 / WAD:,.0f}); "
          f"read with a plain call (before the fix), mode 1 reverted every margin view and the bid")
    assert price == 0 and st == STALE
    assert eq_mm1 < eq_mm0 and eq_mm1 < mm1, "the shares count 0: still liquidatable"

    payment, cap = w.liquidation.quote(victim.account, WAD)
    paid = w.liquidation.bid(victim.account, keeper.account, cap, payment, sender=keeper.address)
    size = [p for p in w.clearing.positions_of(victim.account) if p[1] != 0]
    print(f"bid of {cap / WAD:.3f} went through: paid {paid / WAD:,.0f} USD (negative: paid to the keeper); the victim's positions left {size}")
    assert cap == WAD and paid == payment, "a full close at the quoted payment (negative: the shares count 0)"
    assert not size, "the victim's long is gone: liquidation proceeded without the vault"
