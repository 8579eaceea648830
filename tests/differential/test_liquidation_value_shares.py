"""Differential: Liquidation's mark value V of an account holding ERC-4626 share collateral equals the model's
`crossmargin.model.margin.mark_value` (cash + Σ bal·P + positions: no haircut, whatever the vault's liquidity)
within 1e-9, over random liquidity (uncapped, a random part of the holding, 0, a reverting `maxRedeem`), rate moves
(donations, losses, pokes), a reverting `convertToAssets` (rate 0: the shares count 0) and ETH price moves — and,
exactly to the wei, V = E_mm + Σ floor(bal·P) - Σ_u collateral_mm,u: Liquidation adds back the very MM haircuts the
RiskEngine took (issue 16: it recomputed them with the configured depth, understating V as liquidity dried up).
The fuzz machine's integer mirror (`LiquidationMachine._contract_value`) equals the chain's V to the wei too. The
DEGRADED path (V the larger of the primary and the secondary prices) is checked through a bid's quote."""

from __future__ import annotations

import random

from crossmargin.fuzz.machine import LiquidationMachine
from crossmargin.fuzz.shares import deposit_shares, list_share_vault, model_view
from crossmargin.fuzz.world import World
from crossmargin.model.margin import mark_value
from tests.e2e.helpers import breakdown

WAD = 10**18
TOL = 1e-9


def _model(w, account, v, secondary=False) -> float:
    params, acct, state = model_view(w, account, v, secondary=secondary)
    return mark_value(acct, state, params)


def _added_back(w, account) -> int:
    """E_mm + Σ floor(bal·P) - Σ_u collateral_mm: the engine's equity with its own MM collateral values replaced
    by the collateral's mark value (primary prices, `requirement_breakdown`)."""
    eq_mm = w.engine.margin_with(account, False)[1]
    marked = 0
    for token, bal in zip(w.vault.assets(), w.vault.balances_of(account)):
        uid = w.engine.collateral_risk(token)[0]
        if bal and uid:
            marked += bal * w.router.prices(uid)[0] // WAD
    return eq_mm + marked - sum(b["collateral_mm"] for b in breakdown(w, account))


def test_mark_value_with_share_liquidity_matches_model():
    rng = random.Random(1616)
    w = World.revm(n_traders=3)
    m = LiquidationMachine(world=w, trader_usd=40_000)                  # traders[1] holds 20 WETH: a plain token
    maker, holder = w.traders[0], w.traders[1]
    w.deposit(maker, "USDC", w.units("USDC", 100_000_000))
    v = list_share_vault(w, "sETH", seed_assets=100 * WAD)
    shares = deposit_shares(w, holder, v, 150 * WAD)
    w.trade(maker, holder, "ETH-PERP", 120 * WAD, 3000 * WAD)         # short 120 ETH against 170 ETH of collateral
    eth = 3000 * WAD
    seen = set()
    for step in range(40):
        op = rng.choice(["liquidity", "liquidity", "paused", "dead", "rate", "price", "warp"])
        v.vault.set_mode(0, sender=w.admin)
        if op == "liquidity":
            cap = rng.choice([2**256 - 1, 0, shares * rng.randint(1, 2_000) // 10_000])
            v.vault.set_redeem_cap(cap, sender=w.admin)
        elif op == "paused":
            v.vault.set_mode(3, sender=w.admin)                        # maxRedeem reverts: liquidity 0
        elif op == "dead":
            v.vault.set_mode(rng.choice([1, 2]), sender=w.admin)       # convertToAssets reverts / returns 0
        elif op == "rate":
            if rng.random() < 0.5:
                v.asset.mint(w.admin, rng.randint(1, 30) * WAD, sender=w.admin)
                v.asset.transfer(v.vault.address, v.asset.balanceOf(w.admin), sender=w.admin)
            else:
                v.vault.lose(v.asset.balanceOf(v.vault.address) * rng.randint(1, 10) // 100, sender=w.admin)
            w.router.update_share_rate(v.uid, sender=maker.address)
        elif op == "price":
            eth = eth * rng.randint(85, 115) // 100
            w.set_price("ETH", eth)
        else:
            w.warp(rng.randint(60, 86_400))
            w.refresh_all()
        rate, _, liquidity = w.router.share_state(v.uid, w.vault.address)
        seen.add("rate 0" if rate == 0 else "liquidity 0" if liquidity == 0 else "capped"
                 if liquidity < shares else "liquid")
        got = w.liquidation.mark_value(holder.account)
        want = _model(w, holder.account, v)
        assert abs(got / WAD - want) <= TOL * max(abs(want), 1.0), (step, op, got / WAD, want)
        assert got == _added_back(w, holder.account), (step, op, "V adds back exactly the engine's haircuts")
        assert got == m._contract_value(holder.account, False), (step, op, "the fuzz machine's mirror")
    assert seen == {"rate 0", "liquidity 0", "capped", "liquid"}, seen


def test_degraded_value_takes_the_capped_haircut_at_both_prices():
    w = World.revm(n_traders=4)
    m = LiquidationMachine(world=w, trader_usd=1, fund_usd=100_000)
    maker, victim, keeper = w.traders[0], w.traders[3], w.traders[2]
    w.deposit(maker, "USDC", w.units("USDC", 20_000_000))
    w.deposit(keeper, "USDC", w.units("USDC", 2_000_000))
    v = list_share_vault(w, "sETH", seed_assets=100 * WAD)
    shares = deposit_shares(w, victim, v, 100 * WAD)
    w.trade(maker, victim, "ETH-PERP", -450 * WAD, 3000 * WAD)        # long ETH twice over
    v.vault.set_redeem_cap(shares // 500, sender=w.admin)
    w.set_price("ETH", 2990 * WAD, secondary=3100 * WAD)             # the feeds disagree (> 2 %): DEGRADED
    assert w.margin(victim.account)[4] == 1
    w.liquidation.start_auction(victim.account, keeper.account, sender=keeper.address)
    at_primary, at_secondary = _model(w, victim.account, v), _model(w, victim.account, v, secondary=True)
    want = max(at_primary, at_secondary)
    payment, cap = w.liquidation.quote(victim.account, WAD)
    d = w.liquidation.discount(victim.account)
    implied = payment / WAD / (cap / WAD) / (1 - d / WAD)             # V behind the quote f·V·(1 - d)
    print(f"\nDEGRADED: model V {at_primary:,.2f} (primary) / {at_secondary:,.2f} (secondary); the quote implies "
          f"{implied:,.2f}")
    assert at_secondary > at_primary + 10_000, "the secondary is the larger value"
    assert abs(implied - want) <= 1e-6 * want, "V is the larger of the two marks, each with the capped haircut"
    mirror = m._contract_value(victim.account, True)
    assert abs(mirror / WAD - at_secondary) <= TOL * at_secondary, "the fuzz machine's mirror at the secondary"


def test_stale_asset_feed_value_adds_back_the_capped_penalty():
    """Liquidation mode, ETH's feed stale: the engine takes the shares' (capped) MM value off equity as a penalty;
    V = E_mm + penalty + haircuts is still the mark value at the last price."""
    w = World.revm(n_traders=4)
    w.seed_insurance_fund(100_000)
    maker, victim, keeper = w.traders[0], w.traders[1], w.traders[2]
    w.deposit(maker, "USDC", w.units("USDC", 20_000_000))
    w.deposit(keeper, "USDC", w.units("USDC", 2_000_000))
    v = list_share_vault(w, "sETH", seed_assets=100 * WAD)
    shares = deposit_shares(w, victim, v, 100 * WAD)
    w.trade(maker, victim, "BTC-PERP", 5 * WAD, w.prices["BTC"][0])  # short 5 BTC, margined by the shares
    v.vault.set_redeem_cap(shares // 50, sender=w.admin)              # 2 % redeemable: the cap binds
    w.warp(3601)                                                      # ETH's feeds stall; the others keep updating
    w.refresh(["BTC", "SOL"])
    (_, eq_mm, _, mm, _), penalty = w.engine.margin_for_liquidation(victim.account, False)[:2]
    assert penalty > 0 and mm > eq_mm, "liquidatable because ETH's price is in doubt"
    w.liquidation.start_auction(victim.account, keeper.account, sender=keeper.address)
    want = _model(w, victim.account, v)
    payment, cap = w.liquidation.quote(victim.account, WAD)
    d = w.liquidation.discount(victim.account)
    implied = payment / WAD / (cap / WAD) / (1 - d / WAD)
    print(f"\nETH stale, 2 % redeemable: penalty {penalty / WAD:,.2f}; model V {want:,.2f}; the quote implies "
          f"{implied:,.2f}")
    assert abs(implied - want) <= 1e-6 * want
