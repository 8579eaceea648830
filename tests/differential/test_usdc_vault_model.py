"""Differential: shares of a yield-bearing USDC vault (an ERC-4626 over the settlement asset, issue 16) as unit
collateral — priced at the guarded rate x 1 USD, in no underlying's book (no delta), haircut base + slope on the
liquidity-capped depth. The RiskEngine's margin equals the model's (`crossmargin.model.margin` with
`Collateral.unit` and `MarketState.shares`) within 1e-9 for random holdings (USDC-vault shares, cash, staked-ETH
shares, an ETH perp), then through a donation (capped rate), a loss beyond max_drop (DEGRADED), liquidity drying
up and a paused `maxRedeem` (shares worth 0)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from crossmargin.fuzz.shares import deposit_shares, list_share_vault
from crossmargin.fuzz.world import World
from crossmargin.model.margin import requirements
from crossmargin.model.params import ShareVaultSpec, to_wad
from crossmargin.model.portfolio import Account, MarketState, Position
from crossmargin.sim.efficiency import share_listing

WAD = 10**18
USD6 = 10**6
YUSD = ShareVaultSpec("yUSD", "USDC", 11, haircut_base_mm=0.02, haircut_base_im=0.04, haircut_slope=0.05,
                      depth_usd=5_000_000.0)
HAIRCUTS = tuple(to_wad(x) for x in (YUSD.haircut_base_mm, YUSD.haircut_base_im, YUSD.haircut_slope, YUSD.depth_usd))


def _world():
    w = World.revm(n_traders=3)
    w.deposit(w.traders[0], "USDC", w.units("USDC", 100_000_000))
    y = list_share_vault(w, "yUSD", asset="USDC", uid=11, seed_assets=w.units("USDC", 1_000_000), haircuts=HAIRCUTS)
    s = list_share_vault(w, "sETH", seed_assets=100 * WAD)
    return w, y, s


def _model_params(w: World):
    params, _ = share_listing(w.params, ShareVaultSpec("sETH", "WETH", 10))
    return params.replace(collaterals=params.collaterals + (YUSD.collateral(w.params),))


def _state(w: World, y, s) -> MarketState:
    uid = w.params.underlying("ETH").id
    price, _ = w.router.price(uid)
    vol, _ = w.vol.vol(uid)
    a, a_s = w.clearing.crowding(uid)
    deposits, shares = {}, {}
    for sym, v in (("yUSD", y), ("sETH", s)):
        d, d_s = w.vault.deposits(v.vault.address)
        rate, _, liq = w.router.share_state(v.uid, w.vault.address)
        deposits[sym], shares[sym] = (d / WAD, d_s / WAD), (rate / WAD, liq / WAD)
    return MarketState({"ETH": price / WAD}, {"ETH": vol / WAD}, w.now, crowding={"ETH": (a / WAD, a_s / WAD)},
                       deposits=deposits, shares=shares)


def _check(w: World, y, s, trader, holdings: dict, perp: float, label: str):
    params = _model_params(w)
    positions = (Position.open(params.market("ETH-PERP"), perp, 3000.0),) if perp else ()
    cash = int(w.vault.cash_of(trader.account)) / WAD
    model = requirements(Account(cash=cash, collateral=holdings, positions=positions), _state(w, y, s), params)
    eq_im, eq_mm, im, mm, status = w.margin(trader.account)
    print(f"{label}: chain E_im {eq_im / WAD:,.4f} E_mm {eq_mm / WAD:,.4f} MM {mm / WAD:,.4f}; model E_im "
          f"{model.equity_im:,.4f} E_mm {model.equity_mm:,.4f} MM {model.mm:,.4f}")
    for got, want in ((eq_im, model.equity_im), (eq_mm, model.equity_mm), (im, model.im), (mm, model.mm)):
        assert abs(got / WAD - want) <= 1e-9 * max(abs(want), 1.0), (label, got / WAD, want)
    return eq_mm, mm, status


@settings(max_examples=12, deadline=None)
@given(
    yusd=st.integers(1, 3_000_000),           # USDC into the USDC vault (whole units)
    cash=st.integers(0, 500_000),
    seth=st.sampled_from([0, 0, 50, 400]),    # WETH into the staked-ETH vault
    perp=st.sampled_from([0.0, -100.0, 150.0]),
)
def test_usdc_vault_holdings_match_model(yusd, cash, seth, perp):
    """Invariant: chain = model for unit collateral (the USDC vault's shares) beside any book."""
    w, y, s = _world()
    maker, holder = w.traders[0], w.traders[1]
    if cash:
        w.deposit(holder, "USDC", w.units("USDC", cash))
    holdings = {"yUSD": deposit_shares(w, holder, y, yusd * USD6) / USD6}
    if seth:
        holdings["sETH"] = deposit_shares(w, holder, s, seth * WAD) / WAD
    if perp:
        w.trade(maker, holder, "ETH-PERP", int(-perp * WAD), 3000 * WAD)
    _check(w, y, s, holder, holdings, perp, f"{yusd:,} yUSD + {cash:,} USDC + {seth} sETH, perp {perp}")


def test_usdc_vault_is_no_delta_and_follows_its_guards():
    w, y, s = _world()
    maker, holder = w.traders[0], w.traders[1]
    shares = deposit_shares(w, holder, y, 400_000 * USD6)
    w.router.update_share_rate(y.uid, sender=maker.address)     # a poke: no rise headroom left in this block
    holdings = {"yUSD": shares / USD6}
    eq_mm, mm, status = _check(w, y, s, holder, holdings, 0.0, "400k yUSD")
    assert mm == 0 and status == 0, "no book: the shares carry no delta, so no requirement"
    assert len(w.engine.requirement_breakdown(holder.account)) == 0
    # a donation doubles convertToAssets: credited at most the cap (same block: unchanged)
    y.asset.mint(w.admin, 1_400_000 * USD6, sender=w.admin)
    y.asset.transfer(y.vault.address, 1_400_000 * USD6, sender=w.admin)
    eq_pumped, _, _ = _check(w, y, s, holder, holdings, 0.0, "after a donation")
    assert eq_pumped == eq_mm
    w.warp(2 * 86_400)
    w.refresh_all()
    _check(w, y, s, holder, holdings, 0.0, "two days later (the cap aged in)")
    w.router.update_share_rate(y.uid, sender=maker.address)
    y.vault.lose(y.asset.balanceOf(y.vault.address) * 6 // 10, sender=w.admin)   # live 2.0 -> 0.8
    _, _, status = _check(w, y, s, holder, holdings, 0.0, "after a 60 % loss")
    assert status == 1, "a fall beyond max_drop: DEGRADED (the account's status: no book carries it)"
    w.router.update_share_rate(y.uid, sender=maker.address)
    y.vault.set_redeem_cap(shares // 100, sender=w.admin)
    eq_dry, _, _ = _check(w, y, s, holder, holdings, 0.0, "redeemable 1 %")
    y.vault.set_mode(3, sender=w.admin)
    eq_paused, _, _ = _check(w, y, s, holder, holdings, 0.0, "maxRedeem reverts")
    assert eq_paused == 0 < eq_dry
    y.vault.set_mode(1, sender=w.admin)                                          # convertToAssets reverts
    eq_im, eq_mm, im, mm, status = w.margin(holder.account)
    assert eq_mm == 0 and status == 2, "a reverting vault: worth 0, STALE"
    eq_im, eq_mm, im, mm, status = w.engine.margin_for_liquidation(holder.account, False)[0]
    assert eq_mm == 0 and status == 0, "liquidation mode: worth 0, never blocking"
