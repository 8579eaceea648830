"""DESIGN §5 margin invariants for option books, on chain (the RiskEngine with its OptionPricer, on revm), named
after the property.

    mm_le_im_with_options                     0 <= MM <= IM = ceil(1.25·MM), E_im <= E_mm
    long_option_loss_bounded_by_premium       long options only: each underlying's worst loss K_u <= the options'
                                              value (rounded up), so R <= Σ values; MM adds concentration only
    short_straddle_needs_more_than_either_leg MM(short call + short put) >= the worst loss of either leg alone
    delta_hedged_short_options_need_less      short calls (or short puts) hedged with the perp at the engine's own
                                              delta need no more MM than unhedged
    cross_le_sum_isolated_with_options        R of the account <= Σ R of each position alone (scenario part)

Domains, and why (each found by sampling the model first; counterexamples are in the test docstrings):
- straddles: σ <= 120 %. Above ~140 % the grid's spot moves reach ±20 % and more, and at the call's worst point
  (spot up, vol up) the short put's gain can exceed the 1 % short-option add-on: the straddle then needs a little
  less than the call alone (model: MM_straddle / K_call = 0.98 at σ = 193 %, 1-day BTC options).
- delta hedges: short books of one kind. A long option's loss is already capped by its premium, and an
  out-of-the-money or short-dated long option is nearly linear-free inside the grid, so a delta hedge adds more
  linear risk than it removes (model: long 9.5 BTC-P-66000-1D at S = 72,070 needs 135 USD alone, 705 hedged).
  Mixed short books (short strangles) net their legs' deltas, and hedging the small net delta can raise the
  worse side's loss. For a short call or a short put (any strike, expiry, vol) the hedge never hurt in 12,000
  model samples, nor on chain here.
Chain numbers round requirements up by a few wei per term and option prices carry black76's directed margin, so
chain-to-chain comparisons (`leq`) allow 1e-12 relative + 1e6 wei.
"""

from __future__ import annotations

from collections import namedtuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossmargin.chain.engine_views import greeks_from_breakdown
from crossmargin.model.params import to_wad
from crossmargin.model.portfolio import Account, Position
from tests.differential.strategies_chain import WIDE, ChainPortfolio, RiskWorld, chain_option_portfolios, states
from tests.strategies import sizes

WAD = 10**18
SETTINGS = dict(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LIVE_OPTIONS = [m for m in WIDE.markets if m.is_option and m.expiry is None]
OPTIONS = [m for m in WIDE.markets if m.is_option]


def leq(a: int, b: int) -> bool:
    """a <= b up to chain rounding (WAD integers)."""
    return a <= b + max(abs(a), abs(b)) // 10**12 + 10**6


@pytest.fixture(scope="module")
def world():
    return RiskWorld.revm(WIDE)


# `RiskEngine.UnderlyingRisk`, field by field (revm returns structs as tuples)
Book = namedtuple("Book", "underlying spot vol status shock linear_size gross_size net_delta collateral collateral_mm "
                          "worst_loss directional linear nonlinear basis short_option concentration short_options "
                          "option_value gamma vega theta")


def evaluate(world, portfolio, state):
    """(margin result, books, greeks) of one portfolio; state rolled back afterwards."""
    with world.chain.anchor():
        aid = world.load(portfolio, state)
        raw = world.engine.requirement_breakdown(aid)
        return world.engine.margin(aid), [Book(*b) for b in raw], greeks_from_breakdown(raw)


def scenario_part(result, books) -> int:
    """R = MM - Σ add-ons (basis, short option, concentration)."""
    return result[3] - sum(b.basis + b.short_option + b.concentration for b in books)


# ---------------------------------------------------------------------------------------------------------


@given(chain_option_portfolios(), states())
@settings(**SETTINGS)
def test_mm_le_im_with_options(world, portfolio, state):
    (e_im, e_mm, im, mm, status), _, _ = evaluate(world, portfolio, state)
    assert status == 0
    assert 0 <= mm <= im
    assert im == -(-mm * 125 // 100)   # im_factor 1.25, rounded up
    assert e_im <= e_mm


@st.composite
def long_option_books(draw):
    """1-8 long options (live or expired) on 1-3 underlyings."""
    markets = draw(st.permutations(OPTIONS))[: draw(st.integers(1, 8))]
    return Account(positions=[Position(m, draw(sizes(m, 0.1, sign=1)), 0.0) for m in markets])


@given(long_option_books(), states())
@settings(**SETTINGS)
def test_long_option_loss_bounded_by_premium(world, account, state):
    """Loss is bounded by premium: no grid point takes a long option below zero, so K_u <= Σ size·V (V rounded
    up, as the engine's current value in ΔV is) on every underlying, R <= Σ_u K_u, and MM is at most the
    premium plus the concentration add-on (a long option book pays no short-option add-on)."""
    (e_im, e_mm, im, mm, status), books, _ = evaluate(world, account, state)
    values = {}
    for p in account.positions:
        spec, u = p.spec, p.spec.underlying
        t = max(0, (spec.expiry if spec.expiry is not None else state.now + spec.expiry_seconds) - state.now)
        price = world.pricer.price(spec.is_call, to_wad(state.spot[u]), to_wad(spec.strike), t,
                                   to_wad(state.vol[u]), 0, True)
        values[u] = values.get(u, 0) - (-to_wad(p.size) * price // WAD)     # ceil(size · V_up)
    for b in books:
        u = WIDE.underlying(b.underlying).symbol
        assert b.worst_loss <= values[u] + len(account.positions), (u, b.worst_loss, values[u])
        assert b.short_option == 0 and b.option_value <= values[u]
    assert leq(scenario_part((e_im, e_mm, im, mm, status), books), sum(values.values()))
    assert leq(mm, sum(values.values()) + sum(b.concentration for b in books))
    assert e_mm >= 0


STRADDLES = sorted({(m.underlying, m.strike, m.expiry_days) for m in LIVE_OPTIONS if not m.is_call} &
                   {(m.underlying, m.strike, m.expiry_days) for m in LIVE_OPTIONS if m.is_call})


@given(st.sampled_from(STRADDLES), st.data(), states(vol_range=(0.1, 1.2)))
@settings(**SETTINGS)
def test_short_straddle_needs_more_than_either_leg(world, key, data, state):
    """A short straddle (call and put, same strike and expiry, same size) needs at least the worst loss of
    either leg alone: its legs' deltas offset but their vol and gamma losses do not (σ <= 120 %, see above)."""
    u = key[0]
    call, put = (next(m for m in LIVE_OPTIONS if (m.underlying, m.strike, m.expiry_days) == key and m.is_call == c)
                 for c in (True, False))
    size = -data.draw(sizes(call, 0.1, sign=1))
    legs = [Account(positions=(Position(m, size, 0.0),)) for m in (call, put)]
    worst = [evaluate(world, leg, state)[1][0].worst_loss for leg in legs]
    straddle = Account(positions=(Position(call, size, 0.0), Position(put, size, 0.0)))
    (_, _, _, mm, _), books, _ = evaluate(world, straddle, state)
    assert mm >= max(worst), (mm, worst)
    spot = to_wad(state.spot[u])
    assert books[0].short_options == 2 * to_wad(-size)                # both legs pay the short-option add-on
    assert books[0].short_option == -(-2 * to_wad(-size) * spot // 100 // WAD)


@st.composite
def short_books_of_one_kind(draw):
    """1-4 short live calls, or 1-4 short live puts, on one underlying."""
    u = draw(st.sampled_from(WIDE.symbols))
    is_call = draw(st.booleans())
    chain = [m for m in LIVE_OPTIONS if m.underlying == u and m.is_call == is_call]
    markets = draw(st.permutations(chain))[: draw(st.integers(1, 4))]
    return u, Account(positions=[Position(m, draw(sizes(m, 0.1, sign=-1)), 0.0) for m in markets])


@given(short_books_of_one_kind(), states())
@settings(**SETTINGS)
def test_delta_hedged_short_options_need_less(world, book, state):
    """Short calls (or short puts) plus the perp at minus the engine's own delta (`greeks`, 4 decimals) need no
    more MM than the options alone: the hedge takes out the directional loss, the concentration add-on falls.
    The 4-decimal hedge leaves a residual delta of up to 0.00005 units, a naked linear position whose scenario
    loss |residual|·S·s_u is allowed (it matters for dust books only: 0.0001 short puts)."""
    u, account = book
    unhedged, books, greeks = evaluate(world, account, state)
    delta = greeks[0][1] / WAD
    hedge = round(-delta, 4)
    perp = WIDE.market(f"{u}-PERP")
    spot = state.spot[u]
    hedged_account = Account(positions=account.positions + (Position(perp, hedge, round(hedge * spot, 6)),))
    hedged, _, hedged_greeks = evaluate(world, hedged_account, state)
    residual = abs(hedged_greeks[0][1])                             # what the 4-decimal hedge leaves
    assert residual <= 10**14 // 2 + 1
    # the residual is a naked linear position: allow its scenario loss |residual|·S·s_u
    allowance = residual * books[0].spot * books[0].shock // WAD**2 + 1
    assert leq(hedged[3], unhedged[3] + allowance), (hedged[3] / WAD, unhedged[3] / WAD, allowance / WAD)


@given(chain_option_portfolios(max_positions=10), states())
@settings(**{**SETTINGS, "max_examples": 80})
def test_cross_le_sum_isolated_with_options(world, portfolio, state):
    """The scenario part R of the cross account never exceeds the sum of R over each position (and each linked
    collateral holding) margined alone: min of a sum >= sum of mins per underlying, and the correlated
    aggregation never exceeds Σ_u K_u."""
    result, books, _ = evaluate(world, portfolio, state)
    acc = portfolio.account.resolved(WIDE)
    items = [Account(positions=(p,)) for p in acc.positions]
    items += [Account(collateral={s: b}) for s, b in acc.collateral.items() if b]
    total = 0
    for item in items:
        r, b, _ = evaluate(world, ChainPortfolio(item, portfolio.funding, portfolio.settled), state)
        total += scenario_part(r, b)
    assert leq(scenario_part(result, books), total)
