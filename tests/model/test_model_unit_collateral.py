"""Unit collateral (issue 16): shares of a yield-bearing USDC vault — an ERC-4626 over the settlement asset — are
priced at the guarded rate x 1 USD, in no underlying's book (no delta, no requirement of their own), with haircuts
of their own (`[[share_vaults]]` haircut_* / depth_usd); the parameters refuse a vault over USDC without them and
a vault over another asset with them."""

from __future__ import annotations

import pytest

from crossmargin.model.margin import equity, requirements, underlyings_of
from crossmargin.model.params import SETTLEMENT_PRICE_ID, ShareVaultSpec, to_wad
from crossmargin.model.portfolio import Account, MarketState, Position
from tests.strategies import DEFAULT, DEMO

YUSD = ShareVaultSpec("yUSD", "USDC", 11, haircut_base_mm=0.02, haircut_base_im=0.04, haircut_slope=0.05,
                      depth_usd=5_000_000.0)


def _listed(params=DEFAULT):
    return params.replace(collaterals=params.collaterals + (YUSD.collateral(params),))


def test_demo_lists_a_usdc_vault_with_its_own_haircuts():
    (y,) = [v for v in DEMO.share_vaults if v.asset == DEMO.settlement.symbol]
    c = y.collateral(DEMO)
    assert c.unit and c.underlying is None and not c.settlement and c.depth_usd > 0
    entry = next(e for e in DEMO.onchain()["share_vaults"] if e["symbol"] == y.symbol)
    assert entry["asset_uid"] == SETTLEMENT_PRICE_ID == 2**64 - 1
    assert entry["haircut_base_mm"] == to_wad(y.haircut_base_mm) and entry["depth_usd"] == to_wad(y.depth_usd)
    assert all("depth_usd" not in e for e in DEMO.onchain()["share_vaults"] if e["symbol"] != y.symbol)


def test_share_vault_haircuts_checked():
    with pytest.raises(ValueError, match="depth_usd must be > 0"):
        DEFAULT.replace(share_vaults=(ShareVaultSpec("yUSD", "USDC", 11),))
    with pytest.raises(ValueError, match="haircuts are the asset's"):
        DEFAULT.replace(share_vaults=(ShareVaultSpec("sETH", "WETH", 10, depth_usd=1e6),))
    assert DEFAULT.replace(share_vaults=(YUSD,)).share_vaults == (YUSD,)


def test_unit_collateral_is_cash_at_the_rate_less_its_haircut():
    """Invariant: unit collateral adds bal·rate·(1 - h) to equity and nothing to any requirement."""
    params = _listed()
    state = MarketState.from_params(params).with_shares(yUSD=(1.05, 10_000_000.0))
    acct = Account(cash=1_000.0, collateral={"yUSD": 100_000.0})
    assert underlyings_of(acct, params) == ()
    r = requirements(acct, state, params)
    value = 100_000.0 * 1.05
    h_mm = 0.02 + 0.05 * value / 5_000_000.0
    assert r.mm == r.im == 0.0
    assert r.equity_mm == pytest.approx(1_000.0 + value * (1 - h_mm), rel=1e-12)
    # beside a perp it changes equity only: the perp's requirement is the same with or without the shares
    perp = (Position.open(params.market("ETH-PERP"), 10.0, 3000.0),)
    with_shares = requirements(Account(cash=1_000.0, collateral={"yUSD": 100_000.0}, positions=perp), state, params)
    without = requirements(Account(cash=1_000.0, positions=perp), state, params)
    assert with_shares.mm == without.mm and with_shares.im == without.im
    assert with_shares.equity_mm - without.equity_mm == pytest.approx(value * (1 - h_mm), rel=1e-12)
    # a paused vault (no liquidity) or a reverting one (rate 0): worth 0
    for shares in ((1.05, 0.0), (0.0, 10_000_000.0)):
        dead = MarketState.from_params(params).with_shares(yUSD=shares)
        assert equity(acct, dead, params) == pytest.approx(1_000.0)
