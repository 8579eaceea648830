"""DESIGN §5 invariants on the reference model, named after the property. Inputs are built by
tests/strategies.py (valid by construction, never filtered)."""

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossmargin.model.margin import (
    basis_shock,
    addons, collateral_value, isolated_requirements, requirements, shock_size,
)
from crossmargin.model.portfolio import Account, MarketState, Position
from tests.strategies import (
    DEFAULT as P, accounts, decimals, exact_product, linear_accounts, market_states,
    single_underlying_accounts, sizes, spots,
)

REL = 1e-9  # float slack for sums computed in a different order


def leq(a: float, b: float) -> bool:
    return a <= b + REL * max(1.0, abs(a), abs(b))


@given(accounts(P), market_states(P))
def test_mm_le_im(account, state):
    r = requirements(account, state, P)
    assert 0 <= r.mm <= r.im
    assert r.im == pytest.approx(P.risk.im_factor * r.mm)
    assert r.equity_im <= r.equity_mm   # IM haircuts >= MM haircuts


@st.composite
def directional_linear_books(draw):
    """Linear books with no cross hedge: every position (and any linked collateral) points the same way,
    on one or several underlyings."""
    sign = draw(st.sampled_from((1, -1)))
    markets = draw(st.permutations([m for m in P.markets if m.is_linear]))[: draw(st.integers(1, 4))]
    pos = [Position(m, draw(sizes(m, 0.05, sign=sign)), 0.0) for m in markets]
    balances = {"WETH": draw(decimals(0.0, 100.0, 4))} if sign > 0 else {}
    return Account(collateral=balances, positions=pos)


def single_underlying_linear_books():
    return st.sampled_from(P.symbols).flatmap(
        lambda u: linear_accounts(P, [u], collateral=[c.symbol for c in P.linked_collaterals(u)]))


@given(st.one_of(directional_linear_books(), single_underlying_linear_books()),
       market_states(P), st.lists(decimals(1.0, 6.0, 2), min_size=2, max_size=2).map(sorted),
       st.sampled_from(P.symbols), decimals(0.05, 4.0, 4))
def test_requirement_monotone_in_shock_size(account, state, zs, u, extra_vol):
    """A larger shock (higher z, or a higher vol from the oracle) never lowers the requirement of a linear
    book on one underlying, or of a linear book without cross hedges (see the next test for why)."""
    lo, hi = (requirements(account, state, P.with_risk(z=z)) for z in zs)
    assert shock_size(state.vol[u], P.with_risk(z=zs[0]).risk) <= shock_size(state.vol[u], P.with_risk(z=zs[1]).risk)
    assert leq(lo.mm, hi.mm)
    stressed = state.with_vol(**{u: min(P.oracle.max_vol, state.vol[u] + extra_vol)})
    assert leq(requirements(account, state, P).mm, requirements(account, stressed, P).mm)
    base = P.with_risk(shock_min=0.02, shock_max=0.2)
    wider = P.with_risk(shock_min=0.05 + 0.15 * (zs[0] - 1) / 5, shock_max=0.2 + 0.7 * (zs[1] - 1) / 5)
    assert leq(requirements(account, state, base).mm, requirements(account, state, wider).mm)


@given(linear_accounts(P), market_states(P), decimals(1.0, 6.0, 2))
def test_requirement_monotone_under_a_common_shock_scale(account, state, c):
    """Scaling every underlying's shock by the same factor c >= 1 (here: z and both clamps together, with
    z·σ·sqrt(H) kept inside the clamps) scales a linear book's scenario requirement by c exactly. Without the
    futures' basis shock (basis_vol = 0): it is set by σ_u and the time to expiry, not by the spot shock."""
    base = P.with_risk(z=1.0, shock_min=0.02, shock_max=0.9).with_scenarios(basis_vol=0.0)
    flat = state.with_vol(**{u: 0.4 for u in P.symbols})   # 1 · 0.4 · sqrt(1/365) = 2.09 % >= 2 %
    scaled = base.with_risk(z=c, shock_min=0.02, shock_max=0.9)  # <= 6 · 2.09 % = 12.6 % <= 90 %
    lo, hi = requirements(account, flat, base), requirements(account, flat, scaled)
    assert hi.scenario == pytest.approx(c * lo.scenario, rel=1e-9, abs=1e-9)
    assert leq(lo.mm, hi.mm)


def test_cross_hedge_requirement_can_fall_when_the_hedge_leg_gets_riskier():
    """The known exception to monotonicity, kept visible: long ETH with a small short-BTC hedge. Raising only
    BTC's shock makes the undersized hedge offset more of the ETH risk (d/db sqrt(a² + b² - 2ρab) < 0 for
    b < ρa), so the requirement falls. Correlation-aware netting does this on purpose; the monotonicity
    invariant holds per underlying, without cross hedges, and under a common shock scale."""
    state = MarketState.from_params(P).with_vol(ETH=0.1, BTC=0.1)   # both shocks at the 5 % floor
    account = Account(positions=(Position(P.market("ETH-PERP"), 1.0, 0.0), Position(P.market("BTC-PERP"), -0.01, 0.0)))
    before = requirements(account, state, P)
    after = requirements(account, state.with_vol(BTC=0.4), P)          # BTC shock 6.3 %, ETH unchanged
    assert after.per_underlying["BTC"].shock > before.per_underlying["BTC"].shock
    assert after.scenario < before.scenario


@given(accounts(P, max_positions=6), market_states(P))
@settings(max_examples=60)
def test_cross_le_sum_isolated(account, state):
    """The scenario part of the cross requirement never exceeds the sum over isolated subaccounts."""
    cross = requirements(account, state, P)
    iso = isolated_requirements(account, state, P)
    assert leq(cross.scenario, iso.scenario)


@given(linear_accounts(P, max_positions=6), market_states(P))
def test_cross_scenario_and_basis_le_sum_isolated_for_linear_books(account, state):
    """For linear books the basis add-on a hedge pays is never more than the scenario margin it saves
    (bounds keep basis_rate <= shock_min); only the size-based concentration add-on may exceed."""
    cross = requirements(account, state, P)
    basis = sum(r.addons.basis for r in cross.per_underlying.values())
    assert leq(cross.scenario + basis, isolated_requirements(account, state, P).scenario)


@st.composite
def long_and_hedged_books(draw):
    """A long linear book on 2-3 underlyings, and the same book with some underlyings flipped short."""
    symbols = draw(st.permutations(P.symbols))[: draw(st.integers(2, 3))]
    longs = [Position.open(P.market(f"{u}-PERP"), draw(sizes(P.market(f"{u}-PERP"), 0.05, sign=1)), 0.0) for u in symbols]
    flips = draw(st.lists(st.booleans(), min_size=len(longs), max_size=len(longs)).filter(any))
    hedged = [dataclasses.replace(p, size=-p.size) if f else p for p, f in zip(longs, flips)]
    return Account(positions=longs), Account(positions=hedged)


@given(long_and_hedged_books(), market_states(P))
def test_correlated_longs_need_more_than_hedged(books, state):
    longs, hedged = books
    a, b = requirements(longs, state, P), requirements(hedged, state, P)
    assert leq(b.scenario, a.scenario) and leq(b.mm, a.mm)


@given(decimals(0.0001, 1000.0, 4), spots(P, "ETH"), st.sampled_from(["ETH-PERP", "ETH-30D"]),
       market_states(P))
def test_basis_trade_needs_only_basis_addon(size, spot, long_leg, state):
    """Long future + short perp of equal size: no spot risk, no net delta; MM is the basis add-on plus the term
    row's basis loss |B|·(1 + s_u), B = size·S·basis_vol·σ·T (non-linear: it never nets across underlyings)."""
    short_leg = "ETH-30D" if long_leg == "ETH-PERP" else "ETH-PERP"
    state = state.with_spot(ETH=spot)
    account = Account(positions=(Position(P.market(long_leg), size, exact_product(size, spot)),
                                 Position(P.market(short_leg), -size, -exact_product(size, spot))))
    r = requirements(account, state, P)
    eth = r.per_underlying["ETH"]
    b = basis_shock(P.market("ETH-30D").time_to_expiry(state.now), state.vol["ETH"], P.scenarios)
    basis_loss = size * spot * b * (1 + shock_size(state.vol["ETH"], P.risk))
    assert eth.linear == 0.0 and eth.addons.concentration == 0.0
    assert eth.worst_loss == pytest.approx(basis_loss, rel=1e-9) and r.scenario == eth.worst_loss == eth.nonlinear
    assert eth.addons.basis == P.risk.basis_rate * (2 * size * spot)
    assert r.mm == pytest.approx(eth.addons.basis + basis_loss, rel=1e-9)
    assert r.equity_mm == 0.0


@given(st.sampled_from(P.symbols).flatmap(lambda u: st.tuples(st.just(u), single_underlying_accounts(P, u))),
       market_states(P))
def test_single_underlying_R_equals_K(u_account, state):
    u, account = u_account
    r = requirements(account, state, P)
    K = r.per_underlying[u].worst_loss if u in r.per_underlying else 0.0
    assert r.scenario == pytest.approx(K, rel=1e-12, abs=1e-9)


@given(decimals(0.1, 200.0, 4), market_states(P))
def test_linked_collateral_hedges_short_perp(weth, state):
    """WETH collateral plus a short ETH perp of the same size needs far less than either alone."""
    perp = P.market("ETH-PERP")
    short = Position(perp, -weth, -exact_product(weth, state.spot["ETH"]))
    both = requirements(Account(collateral={"WETH": weth}, positions=(short,)), state, P)
    collateral_alone = requirements(Account(collateral={"WETH": weth}), state, P)
    perp_alone = requirements(Account(positions=(short,)), state, P)
    assert both.scenario < 0.2 * min(collateral_alone.scenario, perp_alone.scenario)
    assert both.mm < 0.2 * min(collateral_alone.mm, perp_alone.mm)
    # the residual is the haircut: the perp is hedged by the collateral's haircut value only
    residual = weth * state.spot["ETH"] - collateral_value(P.collateral("WETH"), weth, state.spot["ETH"])
    assert both.scenario == pytest.approx(residual * shock_size(state.vol["ETH"], P.risk))


@given(accounts(P), market_states(P))
def test_addons_are_non_negative(account, state):
    for u in P.symbols:
        a = addons(u, account, state, P)
        assert a.basis >= 0 and a.short_option >= 0 and a.concentration >= 0


@given(accounts(P), market_states(P), decimals(0.0, 1e6, 2))
def test_cash_moves_equity_not_requirement(account, state, extra):
    a = requirements(account, state, P)
    b = requirements(dataclasses.replace(account, cash=account.cash + extra), state, P)
    assert b.mm == a.mm and b.im == a.im
    assert b.equity_mm == pytest.approx(a.equity_mm + extra) and b.equity_im == pytest.approx(a.equity_im + extra)


def test_empty_account_needs_nothing():
    r = requirements(Account(cash=10.0), MarketState.from_params(P), P)
    assert (r.mm, r.im, r.mm_shortfall, r.im_shortfall) == (0.0, 0.0, -10.0, -10.0)
