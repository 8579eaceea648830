"""Differential: the on-chain RiskEngine equals the reference model `crossmargin.model.margin` (DESIGN §5
"on-chain numbers equal the Python model within a stated tolerance").

Random linear portfolios (perps and futures on 1-3 underlyings, up to 32 positions, USDC cash, WETH/WBTC
collateral, pending perp funding, settled futures) at random prices and vols run through the contract on
revm (`crossmargin.chain.revm`, ~600M gas/s) and through the model; equity_im, equity_mm, im and mm agree to

    |chain - model| <= REL · max(|model|, scale),   REL = 1e-9,

where `scale` is the sum of the magnitudes of the terms the model adds up for that number (cash, funding,
position notionals and costs, collateral values; for requirements the gross delta notionals times the shocks
plus the add-ons). Why a scale: equity is a sum
of terms of either sign (cash + notional - cost ...) that can cancel to ~0, and the model's floats carry
~1e-16 of the gross terms, not of the result; the contract itself is exact up to a few wei of directed
rounding (WAD integers, every input here is a short decimal). `-s` prints the achieved worst errors: over
14,000 portfolios (DIFF_EXAMPLES=10000) 5.3e-15 of max(|model|, scale), and 1.1e-12 of |model| itself wherever
|model| >= 1 USD (equity that nearly cancels) — float noise of the model, far inside REL.

The status must be OK (fresh feeds and vols), and the contract's rounding must favour the protocol beyond
float noise: chain requirements are never below the model's by more than the tolerance, chain equity never
above it.

Options (the `*_options*` tests; `chain_option_portfolios`): calls and puts on 1-3 underlyings, strikes
0.7-1.4x the reference price, expiries 1-180 days, expired-but-unsettled ones (intrinsic value at every grid
spot) and settled ones (a cash claim), mixed with perps, futures and collateral, spot 0.5-2x and vol 10-200 %.
Same bound, REL = 1e-9, with the option terms added to each scale: |size| · S for equity (the notional) and
|size| · S · s_u for requirements. Why it holds with room: OptionPricer prices carry black76's directed margin
ERR = (F + K)·1e-13 + 16 wei per unit (>= 45x its measured error, TECH_SPEC "Options"), and the engine's value
and scenario PnL use it in the protocol's favour, so chain - model is at most ~2·ERR·|size| per option:
2e-13·(1 + K/S) of the notional, 2-3 orders below REL · |size| · S · s_u for s_u >= 2 %. The Greeks view is
compared too (`test_option_greeks_equal_model`): black76's Greeks agree with scipy to 1e-12 (delta, absolute)
and 1e-10 relative (gamma, vega, theta) per unit.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossmargin.chain.engine_views import greeks_from_breakdown
from crossmargin.model.margin import requirements
from crossmargin.model.margin import greeks as model_greeks
from tests.differential.strategies_chain import (
    WIDE, RiskWorld, chain_option_portfolios, chain_portfolios, from_wad, states,
)

REL = 1e-9
EXAMPLES = int(os.environ.get("DIFF_EXAMPLES", "500"))  # CI profile; 10k+ on demand
WORST = {"rel": 0.0, "rel_plain": 0.0, "n": 0}   # vs max(|model|, scale); vs |model| alone (|model| >= 1 USD)
WORST_OPTIONS = {"rel": 0.0, "rel_plain": 0.0, "n": 0}   # the same, over portfolios holding options


@pytest.fixture(scope="module")
def world():
    return RiskWorld.revm(WIDE)


def _scales(account, state, result, params) -> dict[str, float]:
    """Gross magnitude of the terms behind each number (the denominator of the float noise)."""
    gross_pos = sum(abs(p.size) * state.spot[p.spec.underlying] + abs(p.cost) for p in account.positions)
    coll = sum(b * state.spot[params.collateral(s).underlying] for s, b in account.collateral.items())
    eq = abs(account.cash) + abs(account.funding) + gross_pos + coll
    options = {u: sum(abs(p.size) for p in account.positions if p.spec.is_option and p.spec.underlying == u)
               for u in result.per_underlying}
    req = sum(r.shock * (r.gross_linear_notional + options[u] * r.spot + sum(
        b * r.spot for s, b in account.collateral.items() if params.collateral(s).underlying == u)) + r.addons.total
        for u, r in result.per_underlying.items())
    return {"equity_im": eq, "equity_mm": eq, "mm": req, "im": req * params.risk.im_factor}


def check(world, portfolio, state, params=WIDE, worst=WORST):
    model_account = portfolio.model_account(params)
    expected = requirements(model_account, state, params)
    with world.chain.anchor():
        aid = world.load(portfolio, state)
        equity_im, equity_mm, im, mm, status = world.engine.margin(aid)
    assert status == 0
    got = {"equity_im": from_wad(equity_im), "equity_mm": from_wad(equity_mm), "im": from_wad(im), "mm": from_wad(mm)}
    scales = _scales(model_account.resolved(params), state, expected, params)
    for name, value in got.items():
        want = getattr(expected, name)
        tol = REL * max(abs(want), scales[name], 1e-12)
        assert abs(value - want) <= tol, f"{name}: chain {value!r} model {want!r} (tol {tol:.3g})"
        if name in ("im", "mm"):
            assert value >= want - tol, f"{name} rounds against the protocol"
        else:
            assert value <= want + tol, f"{name} rounds against the protocol"
        worst["rel"] = max(worst["rel"], abs(value - want) / max(abs(want), scales[name], 1e-12))
        if abs(want) >= 1.0:
            worst["rel_plain"] = max(worst["rel_plain"], abs(value - want) / abs(want))
    worst["n"] += 1


@given(portfolio=chain_portfolios(), state=states())
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_margin_equals_model(world, portfolio, state):
    check(world, portfolio, state)


@given(portfolio=chain_portfolios(max_positions=32, max_fraction=1.0), state=states(spot_range=(0.05, 20.0)))
@settings(max_examples=max(EXAMPLES // 5, 50), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_margin_equals_model_large_books(world, portfolio, state):
    """Full-size positions (up to max_position each) and prices from 5 % to 20x the reference."""
    check(world, portfolio, state)


@given(u=st.sampled_from(WIDE.symbols), data=st.data())
@settings(max_examples=max(EXAMPLES // 5, 50), deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_margin_equals_model_single_underlying(world, u, data):
    """One underlying with its own linked collateral only: R = K_u on both sides."""
    links = [c.symbol for c in WIDE.linked_collaterals(u)]
    portfolio = data.draw(chain_portfolios(underlyings=[u], collateral=links))
    check(world, portfolio, data.draw(states()))


# ---------------------------------------------------------------------------------------------------------
# options
# ---------------------------------------------------------------------------------------------------------


@given(portfolio=chain_option_portfolios(), state=states())
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_option_margin_equals_model(world, portfolio, state):
    """Options mixed with perps, futures and collateral on 1-3 underlyings."""
    check(world, portfolio, state, worst=WORST_OPTIONS)


@given(portfolio=chain_option_portfolios(linear=False, collateral=False, max_positions=32, cash=(0.0, 0.0)),
       state=states())
@settings(max_examples=max(EXAMPLES // 3, 50), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_option_margin_equals_model_options_only(world, portfolio, state):
    """Pure option books (no cash, no hedge): equity is the option value, the requirement the grid's worst loss."""
    check(world, portfolio, state, worst=WORST_OPTIONS)


@given(portfolio=chain_option_portfolios(max_positions=32, max_fraction=1.0), state=states(spot_range=(0.2, 5.0)))
@settings(max_examples=max(EXAMPLES // 5, 50), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_option_margin_equals_model_large_books(world, portfolio, state):
    """Full-size positions and spots from 20 % to 5x the reference (deep in / out of the money)."""
    check(world, portfolio, state, worst=WORST_OPTIONS)


@given(portfolio=chain_option_portfolios(), state=states())
@settings(max_examples=max(EXAMPLES // 5, 50), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_option_greeks_equal_model(world, portfolio, state):
    """`greeks(account)` per underlying equals the model's `greeks`: delta within 1e-12 per unit held (plus
    1e-9 relative), gamma, vega and theta within 1e-9 relative of Σ |size·greek| (black76: 1e-10 per unit) plus
    1e-15·(S + 1) per unit held: deep out of the money φ(d1) underflows the WAD (< 1e-18) and the chain's
    Greeks are 0 where the model's are ~1e-15·S (as in tests/unit/lib/test_black76.py)."""
    params = WIDE
    account = portfolio.model_account(params).resolved(params)
    expected = model_greeks(account, state, params)
    with world.chain.anchor():
        aid = world.load(portfolio, state)
        got = greeks_from_breakdown(world.engine.requirement_breakdown(aid))
    assert sorted(params.underlying(g[0]).symbol for g in got) == sorted(expected)
    for uid, delta, delta_usd, gamma, vega, theta in got:
        u = params.underlying(uid).symbol
        e = expected[u]
        on_u = [p for p in account.positions if p.spec.underlying == u]
        units = sum(abs(p.size) for p in on_u) + sum(
            b for s, b in account.collateral.items() if params.collateral(s).underlying == u)
        assert abs(from_wad(delta) - e.delta) <= 1e-12 * units + 1e-9 * abs(e.delta) + 1e-15
        assert abs(from_wad(delta_usd) - e.delta_usd) <= (1e-12 * units + 1e-9 * abs(e.delta)) * state.spot[u] + 1e-15
        for name, value in (("gamma", gamma), ("vega", vega), ("theta", theta)):
            want = getattr(e, name)
            gross = sum(abs(p.size * g) for p, g in _unit_greeks(on_u, state, params, name))
            floor = 1e-15 * units * (state.spot[u] + 1.0) + 1e-15
            assert abs(from_wad(value) - want) <= 1e-9 * gross + floor, f"{u} {name}"


def _unit_greeks(positions, state, params, name):
    from crossmargin.model.margin import option_greeks

    index = {"delta": 0, "gamma": 1, "vega": 2, "theta": 3}[name]
    for p in positions:
        if p.spec.is_option:
            u = p.spec.underlying
            yield p, option_greeks(p.spec, state.spot[u], state.vol[u], state.now, params.risk.rate)[index]


def teardown_module(module):
    print(f"\n[differential] {WORST['n']} portfolios, worst error {WORST['rel']:.3e} of max(|model|, scale) "
          f"(bound {REL:g}); {WORST['rel_plain']:.3e} of |model| where |model| >= 1 USD")
    print(f"[differential, options] {WORST_OPTIONS['n']} portfolios, worst error {WORST_OPTIONS['rel']:.3e} of "
          f"max(|model|, scale) (bound {REL:g}); {WORST_OPTIONS['rel_plain']:.3e} of |model| where |model| >= 1 USD")
