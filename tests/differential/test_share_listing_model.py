"""Differential: the efficiency report's `share_listing` (the model of an ERC-4626 share token listed by
`crossmargin.fuzz.shares.list_share_vault`) prices a staked-ETH-shares vs short-ETH-perp account as the chain does:
equity and requirements equal to 1e-9 (relative), at the listing rate and after the vault's rate has risen (the
used rate times the ETH price is the share id's spot)."""

from __future__ import annotations

import pytest

from crossmargin.fuzz.shares import deposit_shares, fresh, list_share_vault
from crossmargin.fuzz.world import World
from crossmargin.model.margin import requirements
from crossmargin.model.portfolio import Account, MarketState
from crossmargin.sim.books import perp
from crossmargin.sim.efficiency import share_listing

WAD = 10**18


@pytest.mark.parametrize("q,risen", [(10, False), (990, True)])
def test_share_book_chain_equals_share_listing_model(q, risen):
    w = World.revm(n_traders=2)
    v = list_share_vault(w, "stETH", seed_assets=100 * WAD)
    trader, maker = w.traders
    if risen:   # the vault earns 0.2 %, a day passes, the poke accepts what the guard allows (0.1 %/day)
        v.asset.mint(v.vault.address, v.vault.totalAssets() // 500, sender=w.admin)
        w.warp(86_400)
        fresh(w, v)
        w.router.update_share_rate(v.uid, sender=w.admin)
    w.deposit(maker, "USDC", 50_000_000 * 10**6)
    w.deposit(trader, "USDC", 20_000 * 10**6)
    shares = deposit_shares(w, trader, v, q * WAD)
    w.trade(maker=maker, taker=trader, instrument="ETH-PERP", maker_size=q * WAD, price=3000 * WAD)
    fresh(w, v)
    listed, _ = share_listing(w.params.listed(0))
    acct = Account(cash=20_000.0, collateral={"stETH": shares / WAD}).with_trade(perp(listed, "ETH"), -q, 3000.0)
    spot = {u.symbol: w.router.price(u.id)[0] / WAD for u in listed.underlyings}
    state = MarketState(spot, {u.symbol: w.vol.vol(u.id)[0] / WAD for u in listed.underlyings}, w.backend.now)
    model = requirements(acct, state, listed)
    chain = [x / WAD for x in w.engine.margin(trader.account)[:4]]
    want = [model.equity_im, model.equity_mm, model.im, model.mm]
    rate = spot["stETH"] / spot["ETH"]
    print(f"\n{q} shares at rate {rate:.6f}: chain {[round(x, 4) for x in chain]}, model {[round(x, 4) for x in want]}, "
          f"worst rel {max(abs(g - e) / abs(e) for g, e in zip(chain, want)):.1e}")
    assert chain == pytest.approx(want, rel=1e-9)
    assert (rate > 1.0009) == risen   # the second case runs at a risen rate (capped at +0.1 %)
