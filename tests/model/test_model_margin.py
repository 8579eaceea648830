"""crossmargin.model.margin, step by step against numbers worked out by hand (DESIGN §4).

These are the reference values the Vyper RiskEngine's unit tests can reuse: default parameters, reference
prices (ETH 3000, BTC 60000, SOL 150) and vols (0.6, 0.5, 0.9), time 0.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossmargin.model.margin import (
    REGIMES, VOL_FLAT, addons, collateral_value, correlated_requirement, correlation_regimes, directional,
    equity, greeks, haircut, is_risk_reducing, isolated_requirements, option_price, position_value,
    requirements, scenario_grid, scenario_pnl, shock_size, split, vol_shocks, worst_loss,
)
from crossmargin.model.portfolio import Account, MarketState, Position
from tests.strategies import DEFAULT as P

S = MarketState.from_params(P)
ETH, BTC = 3000.0, 60000.0
S_ETH = 3 * 0.6 * math.sqrt(1 / 365)  # 0.0942...
S_BTC = 3 * 0.5 * math.sqrt(1 / 365)  # 0.0785...
PERP, FUT, BTCPERP = P.market("ETH-PERP"), P.market("ETH-30D"), P.market("BTC-PERP")
CALL, PUT = P.market("ETH-C-3000-30D"), P.market("ETH-P-3000-30D")
WETH = P.collateral("WETH")


def book(*trades, cash=0.0, **collateral):
    """An account from (spec, size) trades at the reference price (options: premium not charged)."""
    return Account(cash=cash, collateral=collateral,
                   positions=tuple(Position.open(spec, size, S.spot[spec.underlying]) for spec, size in trades))


# -- step 1: shock size ------------------------------------------------------------------------------------

def test_shock_size_is_z_sigma_sqrt_horizon_clamped():
    assert shock_size(0.6, P.risk) == pytest.approx(S_ETH, rel=1e-15)
    assert shock_size(0.5, P.risk) == pytest.approx(S_BTC, rel=1e-15)
    assert shock_size(0.1, P.risk) == 0.05   # floor: 3 · 0.1 · 0.052 = 1.6 % -> 5 %
    assert shock_size(5.0, P.risk) == 0.5    # cap: 3 · 5 · 0.052 = 78 % -> 50 %


# -- step 2: grid, vol shocks, scenario PnL ----------------------------------------------------------------

def test_scenario_grid_is_quarter_steps():
    np.testing.assert_allclose(scenario_grid(0.08), [-0.08, -0.06, -0.04, -0.02, 0, 0.02, 0.04, 0.06, 0.08])
    assert scenario_grid(0.08)[-1] == 0.08


@pytest.mark.parametrize("days, m", [(30, 1.0), (120, 0.5), (7, math.sqrt(30 / 7)), (1, 3.0), (0, 3.0)])
def test_vol_shocks_grow_for_short_expiries_up_to_the_cap(days, m):
    r = P.risk                                     # 0.3 down, 0.5 up in default.toml
    np.testing.assert_allclose(vol_shocks(days / 365, r), [1 - r.vol_down * m, 1.0, 1 + r.vol_up * m])


def test_linear_scenario_pnl_is_size_spot_move():
    pnl = scenario_pnl("ETH", book((PERP, 2.0)), S, P)
    assert pnl.shape == (4, 9)   # vol down/flat/up and the term row (no futures: no basis)
    for row in pnl:  # linear: no vol dependence
        np.testing.assert_allclose(row, 2 * ETH * scenario_grid(S_ETH))
    assert worst_loss(pnl) == pytest.approx(2 * ETH * S_ETH)
    assert directional(pnl) == pytest.approx(2 * ETH * S_ETH)


def test_linked_collateral_is_a_haircut_spot_delta():
    h = 0.05 + 0.1 * 30_000 / 20_000_000
    assert haircut(WETH, 10, ETH, "mm") == pytest.approx(h)
    assert haircut(WETH, 10, ETH, "im") == pytest.approx(h + 0.03)
    assert collateral_value(WETH, 10, ETH) == pytest.approx(30_000 * (1 - h))
    pnl = scenario_pnl("ETH", book(WETH=10.0), S, P)
    np.testing.assert_allclose(pnl[VOL_FLAT], 30_000 * (1 - h) * scenario_grid(S_ETH))
    assert not scenario_pnl("BTC", book(WETH=10.0), S, P).any()


def test_haircut_grows_with_size_and_caps_at_one():
    assert haircut(WETH, 1, ETH) < haircut(WETH, 1000, ETH) < haircut(WETH, 10_000, ETH)
    assert haircut(WETH, 10**6, ETH) == 1.0
    assert haircut(P.settlement, 10**9, 1.0) == 0.0


# -- step 3: split and correlation -------------------------------------------------------------------------

def test_split_into_linear_and_nonlinear():
    assert split(100.0, 100.0) == (100.0, 0.0)      # pure long delta
    assert split(100.0, -100.0) == (-100.0, 0.0)    # pure short delta
    assert split(100.0, -30.0) == (-30.0, 70.0)     # gamma/vega dominated
    assert split(100.0, 250.0) == (100.0, 0.0)      # gain at +s larger than the worst loss: clamp
    assert split(0.0, 50.0) == (0.0, 0.0)


def test_correlation_regimes_are_blends_towards_one_and_zero():
    rho = P.rho
    base, high, low = correlation_regimes(rho, 0.25)
    np.testing.assert_array_equal(base, rho)
    assert high[0, 1] == pytest.approx(0.85) and low[0, 1] == pytest.approx(0.6)
    np.testing.assert_allclose(np.diag(high), 1.0)
    np.testing.assert_allclose(np.diag(low), 1.0)


@given(st.floats(0.0, 1.0))
def test_correlation_regimes_stay_psd(kappa):
    for m in correlation_regimes(P.rho, kappa):
        assert np.linalg.eigvalsh(m).min() >= -1e-12


def test_cross_underlying_hedge_uses_the_low_correlation_regime():
    # long 1 ETH (3,000 USD) against short 0.05 BTC (3,000 USD): the hedge is worth least when ρ is low
    r = requirements(book((PERP, 1.0), (BTCPERP, -0.05)), S, P)
    a, b = ETH * S_ETH, 0.05 * BTC * S_BTC
    assert r.regime == "low"
    assert r.scenario == pytest.approx(math.sqrt(a * a + b * b - 2 * 0.6 * a * b))
    assert r.scenario < a + b


def test_correlated_longs_use_the_high_correlation_regime():
    L, C = np.array([300.0, 200.0, 0.0]), np.zeros(3)
    R, regime = correlated_requirement(L, C, P)
    assert regime == "high" and R == pytest.approx(math.sqrt(300**2 + 200**2 + 2 * 0.85 * 300 * 200))
    assert REGIMES == ("base", "high", "low")


def test_nonlinear_parts_add_without_diversification():
    R, _ = correlated_requirement(np.zeros(3), np.array([10.0, 20.0, 30.0]), P)
    assert R == 60.0


# -- step 4: add-ons ---------------------------------------------------------------------------------------

def test_basis_addon_is_on_the_hedged_part_only():
    a = addons("ETH", book((FUT, 2.0), (PERP, -1.0)), S, P)
    assert a.basis == pytest.approx(0.005 * (3 * ETH - 1 * ETH))   # gross 9,000 - |net| 3,000
    assert addons("ETH", book((FUT, 2.0)), S, P).basis == 0.0      # one-sided: nothing hedged


def test_short_option_addon_is_on_short_notional():
    a = addons("ETH", book((CALL, -2.0), (PUT, 1.0)), S, P)
    assert a.short_option == pytest.approx(0.01 * 2 * ETH)


def test_concentration_addon_is_lambda_n_squared_over_depth():
    a = addons("ETH", book((PERP, 1000.0)), S, P)
    assert a.concentration == pytest.approx(0.1 * (1000 * ETH) ** 2 / 20_000_000)   # 45,000 on 3M
    assert addons("ETH", book((PERP, 1000.0), WETH=1000.0), S, P).concentration == a.concentration


# -- equity, MM, IM ----------------------------------------------------------------------------------------

def test_equity_formula():
    acc = Account(cash=1000.0, collateral={"WETH": 10.0}, positions=(Position(PERP, 2.0, 5800.0),), funding=-5.0)
    h_mm = 0.05 + 0.1 * 30_000 / 20_000_000
    assert equity(acc, S, P, "mm") == pytest.approx(1000 + 30_000 * (1 - h_mm) + (2 * ETH - 5800) - 5)
    assert equity(acc, S, P, "im") == pytest.approx(1000 + 30_000 * (1 - h_mm - 0.03) + 200 - 5)
    with pytest.raises(ValueError, match="settlement asset"):
        equity(Account(collateral={"USDC": 1.0}), S, P)


def test_naked_perp_requirement():
    r = requirements(book((PERP, 2.0), cash=1000.0), S, P)
    k = 2 * ETH * S_ETH
    assert r.scenario == pytest.approx(k)
    assert r.mm == pytest.approx(k + 0.1 * (2 * ETH) ** 2 / 20_000_000)
    assert r.im == pytest.approx(1.25 * r.mm)
    assert r.mm_shortfall == pytest.approx(r.mm - 1000.0) and r.im_shortfall == pytest.approx(r.im - 1000.0)
    assert not r.liquidatable and r.above_im          # MM 565, IM 707 < 1,000 cash


def test_basis_trade_figure():
    r = requirements(book((FUT, 1.0), (PERP, -1.0)), S, P)
    # the term row's basis loss: 3,000 · (0.1 · 0.6 · 30/365) · (1 + s), s = 3 · 0.6 · sqrt(1/365)
    basis = 3_000 * 0.1 * 0.6 * 30 / 365 * (1 + 3 * 0.6 / math.sqrt(365))
    assert r.scenario == pytest.approx(basis, rel=1e-12) and basis == pytest.approx(16.19, abs=0.01)
    assert r.mm == pytest.approx(30.0 + basis, rel=1e-12) and r.im == pytest.approx(1.25 * r.mm, rel=1e-12)


def test_only_touched_underlyings_are_evaluated():
    r = requirements(book((PERP, 1.0), WBTC=0.1), MarketState({"ETH": ETH, "BTC": BTC}, {"ETH": 0.6, "BTC": 0.5}), P)
    assert list(r.per_underlying) == ["ETH", "BTC"]   # no SOL price or vol needed


def test_isolated_margins_each_item_alone():
    acc = book((FUT, 1.0), (PERP, -1.0), WETH=1.0)
    iso = isolated_requirements(acc, S, P)
    assert [name for name, _ in iso.items] == ["ETH-30D", "ETH-PERP", "WETH"]
    one = requirements(book((PERP, 1.0)), S, P).mm
    assert iso.items[1][1].mm == pytest.approx(one)
    # the future alone: the spot shock plus its basis shock, K = |B| + s·(N - |B|) (the concentration add-on alike)
    b = 3_000 * 0.1 * 0.6 * 30 / 365
    s = 3 * 0.6 / math.sqrt(365)
    assert iso.items[0][1].scenario == pytest.approx(b + s * (3_000 - b), rel=1e-12)
    assert iso.items[2][1].scenario == pytest.approx(collateral_value(WETH, 1.0, ETH) * S_ETH)
    assert iso.im == pytest.approx(1.25 * iso.mm)


# -- options -----------------------------------------------------------------------------------------------

def test_long_option_can_lose_at_most_its_value():
    acc = book((CALL, 1.0))
    k = requirements(acc, S, P).per_underlying["ETH"].worst_loss
    assert 0 < k < option_price(CALL, ETH, 0.6, 0)


def test_short_straddle_is_mostly_nonlinear():
    r = requirements(book((CALL, -1.0), (PUT, -1.0)), S, P).per_underlying["ETH"]
    assert r.nonlinear > abs(r.linear)            # the risk is gamma / vega, not direction
    assert r.worst_loss == pytest.approx(-r.pnl.min())
    assert int(np.argmin(r.pnl)) // 9 == 2         # worst scenario is vol up


def test_put_call_parity_in_the_model():
    # long call + short put = long forward: same scenario PnL as 1 unit of a linear position
    pnl = scenario_pnl("ETH", book((CALL, 1.0), (PUT, -1.0)), S, P)
    np.testing.assert_allclose(pnl, scenario_pnl("ETH", book((PERP, 1.0)), S, P), atol=1e-6)


def test_expired_option_is_worth_intrinsic():
    listed = CALL.listed(at=0)
    after = listed.expiry + 1
    assert option_price(listed, 3300.0, 0.6, after) == 300.0
    assert position_value(Position(listed, -2.0), 3300.0, 0.6, after) == -600.0
    assert option_price(PUT.listed(at=0), 3300.0, 0.6, after) == 0.0


# -- greeks, trades, risk reduction ------------------------------------------------------------------------

def test_greeks_linear_and_collateral():
    g = greeks(book((PERP, 2.0), (FUT, -0.5), (BTCPERP, 0.1), WETH=3.0), S, P)
    assert g["ETH"].delta == pytest.approx(4.5) and g["ETH"].delta_usd == pytest.approx(4.5 * ETH)
    assert g["BTC"].delta == pytest.approx(0.1) and "SOL" not in g
    assert g["ETH"].gamma == g["ETH"].vega == g["ETH"].theta == 0.0


def test_option_greeks_signs():
    g = greeks(book((CALL, 1.0)), S, P)["ETH"]
    assert 0.5 < g.delta < 0.6 and g.gamma > 0 and g.vega > 0 and g.theta < 0
    straddle = greeks(book((CALL, 1.0), (PUT, 1.0)), S, P)["ETH"]
    assert straddle.delta == pytest.approx(2 * g.delta - 1, abs=1e-6)   # put delta = call delta - 1 (r = 0)


def test_with_trade_nets_and_charges_premium():
    acc = Account(cash=1000.0).with_trade(PERP, 1.0, 3000.0).with_trade(PERP, -0.4, 3100.0)
    (pos,) = acc.positions
    assert pos.size == pytest.approx(0.6) and pos.cost == pytest.approx(3000 - 0.4 * 3100)
    acc = acc.with_trade(CALL, -2.0, 150.0, fee=1.0)
    assert acc.cash == pytest.approx(1000 + 300 - 1)
    closed = acc.with_trade(PERP, -0.6, 3000.0)
    assert closed.positions == (acc.positions[1],)
    assert closed.cash == pytest.approx(acc.cash + 0.4 * 100)   # realised: sold 0.4 at +100
    assert equity(closed, S, P) == pytest.approx(equity(acc, S, P))  # closing at the index moves no equity


def test_closing_a_naked_position_is_risk_reducing():
    acc = book((PERP, 5.0), cash=1000.0)
    before = requirements(acc, S.with_spot(ETH=2900.0), P)
    after = requirements(acc.with_trade(PERP, -2.0, 2900.0), S.with_spot(ETH=2900.0), P)
    assert is_risk_reducing(before, after)
    assert not is_risk_reducing(after, before)
