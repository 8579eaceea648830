"""A yield-bearing USDC vault whose `convertToAssets` reverts (paused) or returns 0 in the middle of an auction
(issue 16). The victim's margin is shares of a vault over USDC (unit collateral: rate x 1 USD, in no book) backing
a long ETH perp; ETH falls, a keeper starts an auction, then the vault stops answering.

Unit collateral opens no book, so the staked-ETH case's route (the book's stale-collateral rule) does not apply:
the engine reads the share id's rate itself (`share_state`, a static raw_call that tolerates reverts) and values
the shares at rate 0 = 0 in equity; in liquidation mode the rate's STALE is left out of the status (the rate used
is already the lower of live and cap), so the account stays liquidatable and the bid goes through. The Liquidation
contract prices the token at `prices(share id)` = (0, 0, STALE) there too: no revert.
"""

from __future__ import annotations

import pytest

from crossmargin.fuzz.shares import deposit_shares, list_share_vault
from crossmargin.model.params import to_wad
from tests.e2e.helpers import WAD, usd

STALE = 2
HAIRCUTS = tuple(to_wad(x) for x in (0.02, 0.04, 0.05, 50_000_000))


@pytest.mark.parametrize("mode", [1, 2], ids=["reverts", "returns_zero"])
def test_usdc_vault_reverts_mid_auction(world, mode):
    w = world
    maker, victim, keeper = w.traders[0], w.traders[1], w.traders[2]
    v = list_share_vault(w, "yUSD", asset="USDC", uid=11, seed_assets=usd(w, 100_000), haircuts=HAIRCUTS)
    deposit_shares(w, victim, v, usd(w, 300_000))                    # 300k USDC of yUSD, no cash
    w.deposit(keeper, "USDC", usd(w, 2_000_000))
    w.trade(maker, victim, "ETH-PERP", -500 * WAD, 3000 * WAD)        # the victim is long 500 ETH
    w.set_price("ETH", 2700 * WAD)
    _, eq_mm, _, mm, status = w.margin(victim.account)
    assert eq_mm < mm and status == 0, "liquidatable"
    w.liquidation.start_auction(victim.account, keeper.account, sender=keeper.address)
    (_, eq_mm0, _, _, _), _ = w.engine.margin_for_liquidation(victim.account, False)[:2]

    v.vault.set_mode(mode, sender=keeper.address)                    # the vault stops answering
    assert w.router.share_rate(v.uid)[1] == 0
    price, st = w.router.price(v.uid)
    assert price == 0 and st == STALE
    assert w.margin(victim.account)[4] == STALE, "outside liquidation: no new risk, no withdrawal"
    (_, eq_mm1, _, mm1, st1), pen1 = w.engine.margin_for_liquidation(victim.account, False)[:2]
    print(f"\nvault mode {mode}: yUSD price {price / WAD:,.2f} status {st}; liquidation-mode E_mm "
          f"{eq_mm0 / WAD:,.0f} -> {eq_mm1 / WAD:,.0f} USD vs MM {mm1 / WAD:,.0f} (status {st1})")
    assert eq_mm1 < eq_mm0 - 250_000 * WAD and eq_mm1 < mm1 and st1 == 0, "the shares count 0: still liquidatable"

    payment, cap = w.liquidation.quote(victim.account, WAD)
    paid = w.liquidation.bid(victim.account, keeper.account, cap, payment, sender=keeper.address)
    size = [p for p in w.clearing.positions_of(victim.account) if p[1] != 0]
    print(f"bid of {cap / WAD:.3f} went through: paid {paid / WAD:,.0f} USD; the victim's positions left {size}")
    assert cap == WAD and paid == payment
    assert not size, "the victim's long is gone: liquidation proceeded without the vault"
