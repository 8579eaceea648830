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
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossmargin.model.margin import requirements
from tests.differential.strategies_chain import WIDE, RiskWorld, chain_portfolios, from_wad, states

REL = 1e-9
EXAMPLES = int(os.environ.get("DIFF_EXAMPLES", "1500"))
WORST = {"rel": 0.0, "rel_plain": 0.0, "n": 0}   # vs max(|model|, scale); vs |model| alone (|model| >= 1 USD)


@pytest.fixture(scope="module")
def world():
    return RiskWorld.revm(WIDE)


def _scales(account, state, result, params) -> dict[str, float]:
    """Gross magnitude of the terms behind each number (the denominator of the float noise)."""
    gross_pos = sum(abs(p.size) * state.spot[p.spec.underlying] + abs(p.cost) for p in account.positions)
    coll = sum(b * state.spot[params.collateral(s).underlying] for s, b in account.collateral.items())
    eq = abs(account.cash) + abs(account.funding) + gross_pos + coll
    req = sum(r.shock * (r.gross_linear_notional + sum(
        b * r.spot for s, b in account.collateral.items() if params.collateral(s).underlying == u)) + r.addons.total
        for u, r in result.per_underlying.items())
    return {"equity_im": eq, "equity_mm": eq, "mm": req, "im": req * params.risk.im_factor}


def check(world, portfolio, state, params=WIDE):
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
        WORST["rel"] = max(WORST["rel"], abs(value - want) / max(abs(want), scales[name], 1e-12))
        if abs(want) >= 1.0:
            WORST["rel_plain"] = max(WORST["rel_plain"], abs(value - want) / abs(want))
    WORST["n"] += 1


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


def teardown_module(module):
    print(f"\n[differential] {WORST['n']} portfolios, worst error {WORST['rel']:.3e} of max(|model|, scale) "
          f"(bound {REL:g}); {WORST['rel_plain']:.3e} of |model| where |model| >= 1 USD")
