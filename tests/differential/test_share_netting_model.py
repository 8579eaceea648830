"""Differential: ERC-4626 share collateral netted into its asset's book (issue 16) — the RiskEngine's margin of an
account holding vault shares (with and without a short ETH perp) equals the model's (`crossmargin.model.margin`
with `MarketState.shares`: P = S_ETH x guarded rate, depth capped by the vault's liquidity) within 1e-9, through a
donation (capped rate), a loss (rate falls), liquidity drying up and a paused `maxRedeem` (shares worth 0). The
shares count as ETH delta: hedged with a short perp, the requirement is a fraction of the unhedged one, as for WETH.
The model's parameters are `crossmargin.sim.efficiency.share_listing`'s (what `report efficiency` prices)."""

from __future__ import annotations

import re

from crossmargin.fuzz.shares import deposit_shares, list_share_vault
from crossmargin.fuzz.world import World
from crossmargin.model.margin import SHARE_LIQUIDITY_FACTOR, requirements
from crossmargin.model.params import ShareVaultSpec
from crossmargin.model.portfolio import Account, MarketState, Position
from crossmargin.paths import CONTRACTS
from crossmargin.sim.efficiency import share_listing

WAD = 10**18


def _model_params(w: World):
    return share_listing(w.params, ShareVaultSpec("sETH", "WETH", 10))[0]


def _state(w: World, v, sym: str = "ETH") -> MarketState:
    uid = w.params.underlying(sym).id
    price, _ = w.router.price(uid)
    vol, _ = w.vol.vol(uid)
    a, a_s = w.clearing.crowding(uid)
    d, d_s = w.vault.deposits(v.vault.address)
    rate, _, liq = w.router.share_state(v.uid, w.vault.address)
    return MarketState({sym: price / WAD}, {sym: vol / WAD}, w.now, crowding={sym: (a / WAD, a_s / WAD)},
                       deposits={"sETH": (d / WAD, d_s / WAD)}, shares={"sETH": (rate / WAD, liq / WAD)})


def _check(w: World, v, trader, shares: int, perp: float, label: str):
    params = _model_params(w)
    positions = (Position.open(params.market("ETH-PERP"), perp, 3000.0),) if perp else ()
    cash = int(w.vault.cash_of(trader.account)) / WAD
    model = requirements(Account(cash=cash, collateral={"sETH": shares / WAD}, positions=positions), _state(w, v),
                         params)
    eq_im, eq_mm, im, mm, status = w.margin(trader.account)
    print(f"{label}: chain E_mm {eq_mm / WAD:,.4f} MM {mm / WAD:,.4f} IM {im / WAD:,.4f}; model E_mm "
          f"{model.equity_mm:,.4f} MM {model.mm:,.4f} IM {model.im:,.4f}")
    for got, want in ((eq_im, model.equity_im), (eq_mm, model.equity_mm), (im, model.im), (mm, model.mm)):
        assert abs(got / WAD - want) <= 1e-9 * max(abs(want), 1.0), (label, got / WAD, want)
    return eq_mm, mm, status


def test_share_netting_matches_model():
    w = World.revm(n_traders=3)
    maker, holder = w.traders[0], w.traders[1]
    w.deposit(maker, "USDC", w.units("USDC", 100_000_000))
    v = list_share_vault(w, "sETH", seed_assets=100 * WAD)
    w.deposit(holder, "USDC", w.units("USDC", 50_000))
    shares = deposit_shares(w, holder, v, 200 * WAD)
    _, naked, _ = _check(w, v, holder, shares, 0.0, "200 sETH")
    w.trade(maker, holder, "ETH-PERP", 190 * WAD, 3000 * WAD)        # the maker buys: the holder is short
    _, hedged, status = _check(w, v, holder, shares, -190.0, "200 sETH + short 190 ETH-PERP")
    assert status == 0 and hedged < naked / 5, "the shares are ETH delta: the short perp hedges them"
    # a donation doubles convertToAssets: the credited rate is capped (same block: unchanged)
    v.asset.mint(w.admin, 300 * WAD, sender=w.admin)
    v.asset.transfer(v.vault.address, 300 * WAD, sender=w.admin)
    _check(w, v, holder, shares, -190.0, "after a donation")
    w.warp(2 * 86_400)
    w.refresh_all()
    _check(w, v, holder, shares, -190.0, "two days later (the cap aged in)")
    w.router.update_share_rate(v.uid, sender=maker.address)
    v.vault.lose(v.asset.balanceOf(v.vault.address) * 6 // 10, sender=w.admin)     # live 2.0 -> 0.8: below the credited rate
    _, _, status = _check(w, v, holder, shares, -190.0, "after a 60 % loss")
    assert status == 1, "a fall beyond max_drop: DEGRADED"
    w.router.update_share_rate(v.uid, sender=maker.address)
    # liquidity dries up: maxRedeem capped at 1 % of the holding, then paused
    v.vault.set_redeem_cap(shares // 100, sender=w.admin)
    eq_dry, _, _ = _check(w, v, holder, shares, -190.0, "redeemable 1 %")
    v.vault.set_mode(3, sender=w.admin)
    eq_paused, _, _ = _check(w, v, holder, shares, -190.0, "maxRedeem reverts")
    assert eq_paused < eq_dry and w.router.share_state(v.uid, w.vault.address)[2] == 0


def test_liquidity_factor_is_the_engine_constant():
    """lib/constants.vy holds the model's factor, and the RiskEngine uses that one (no copy of its own)."""
    pattern = r"LIQUIDITY_DEPTH_FACTOR: constant\(uint256\) = (\d+)"
    shared = re.search(pattern, (CONTRACTS / "lib" / "constants.vy").read_text())
    assert shared and int(shared.group(1)) == SHARE_LIQUIDITY_FACTOR
    engine = (CONTRACTS / "RiskEngine.vy").read_text()
    assert "constants.LIQUIDITY_DEPTH_FACTOR" in engine and not re.search(pattern, engine)
