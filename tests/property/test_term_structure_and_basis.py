"""Issue 12 §2-§3: the term row of the margin grid (TECH_SPEC RiskEngine "Term row"), on chain (the RiskEngine
with its OptionPricer, on revm), named after the property.

    vol_moves_inside_the_grid_ranges_lose_at_most_mm   one-underlying books of options, futures, perps and linked
                                                       collateral: at every spot move of the grid (±s_u in
                                                       quarters), with each expiry's vol anywhere inside its own
                                                       vol-row range [1 - vol_down·μ_T, 1 + vol_up·μ_T]
                                                       independently (parallel moves, twists and the rest), the
                                                       book loses at most MM
    short_vol_mm_never_falls_as_vols_rise              books of short options (and a perp) on one underlying: MM
                                                       at every vol × 1.25 >= MM
    basis_charge_rises_with_vol                        a future against the perp: MM = basis add-on + |B|·(1 + s)
                                                       (the model's figure) and it is higher at vol × 3
    calendar_book_of_issue_12                          the worked case of the issue, chain and model

Domain of `short_vol_mm_never_falls_as_vols_rise` (found by sampling the model first, 4,000 books): vols where
the spot shock z·σ·sqrt(H) is above its floor shock_min (σ >= 0.35 here). At the floor the spot moves do not grow
with vol, and a deep in-the-money short option's time value rises more today than in its worst scenario, so MM
can fall a little (model: short 83.6 ETH-C-2550-1D at S = 2,578, σ = 20.9 %: 12,928 -> 12,842 at σ × 1.25).
Books mixing long and short options of one expiry can fall too (model: +173.9 P-1.0-1D, -151.2 P-1.3-1D, σ 89.5 %:
77,577 -> 75,168): the property is stated for short-vol books, as in the issue's title.
Chain numbers round requirements up by a few wei per term; comparisons allow 1e-12 relative + 1e6 wei.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crossmargin.model.margin import (
    basis_shock, collateral_value, position_value, requirements, shock_size, vol_shocks,
)
from crossmargin.model.params import Kind, MarketSpec, to_wad
from crossmargin.model.portfolio import Account, MarketState, Position
from tests.differential.strategies_chain import GENESIS, WIDE, RiskWorld, chain_option_portfolios, from_wad, states
from tests.strategies import DEFAULT, decimals, sizes

WAD = 10**18
LINKED = {c.symbol for u in WIDE.symbols for c in WIDE.linked_collaterals(u)}   # collateral with a spot delta
SETTINGS = dict(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def leq(a: int, b: int) -> bool:
    """a <= b up to chain rounding (WAD integers)."""
    return a <= b + max(abs(a), abs(b)) // 10**12 + 10**6


@pytest.fixture(scope="module")
def world():
    return RiskWorld.revm(WIDE)


def chain_margin(world, portfolio, state):
    """(equity_im, equity_mm, im, mm, status) of a portfolio at a state; chain rolled back afterwards."""
    with world.chain.anchor():
        return world.engine.margin(world.load(portfolio, state))


def grid_loss(account: Account, state: MarketState, u: str, move: int, multipliers: dict, params=WIDE) -> float:
    """What the book on u loses when spot moves by move/4·s_u and each expiry's vol is σ_u × its multiplier
    (`multipliers`: time to expiry in years -> factor; futures' basis unshocked): Σ value now - value then, positions at the model's exact prices, linked collateral
    at its MM haircut value."""
    S, sigma = state.spot[u], state.vol[u]
    m = move / 4 * shock_size(sigma, params.risk)
    loss = 0.0
    for p in account.positions:
        if p.spec.underlying != u:
            continue
        mult = multipliers.get(p.spec.time_to_expiry(state.now), 1.0) if p.spec.is_option else 1.0
        loss += float(position_value(p, S, sigma, state.now, params.risk.rate)
                      - position_value(p, S * (1 + m), sigma * mult, state.now, params.risk.rate))
    for c in params.linked_collaterals(u):
        bal = account.collateral.get(c.symbol, 0.0)
        if bal:
            loss -= collateral_value(c, bal, S, "mm") * m
    return loss


# ---------------------------------------------------------------------------------------------------------


@given(st.sampled_from(WIDE.symbols).flatmap(lambda u: st.tuples(st.just(u), chain_option_portfolios(
           underlyings=[u], max_positions=8))),
       states(), st.integers(0, 2**32 - 1))
@settings(**SETTINGS)
def test_vol_moves_inside_the_grid_ranges_lose_at_most_mm(world, u_portfolio, state, seed):
    u, portfolio = u_portfolio
    account = portfolio.model_account(WIDE).resolved(WIDE)
    # one-underlying books: collateral linked to another underlying offsets u's loss through the correlation
    # (found: long 0.0382 SOL-P-105-1D beside 0.0001 WBTC, MM 0.143168 < its own SOL loss 0.14325, by design)
    own = {c.symbol for c in WIDE.linked_collaterals(u)}
    assume(not any(bal for sym, bal in account.collateral.items() if sym not in own and sym in LINKED))
    mm = chain_margin(world, portfolio, state)[3]
    expiries = {p.spec.time_to_expiry(state.now): p.spec for p in account.positions
                if p.spec.is_option and p.spec.underlying == u}
    rng = np.random.default_rng(seed)
    for _ in range(12):
        multipliers = {}
        for e, spec in expiries.items():
            down, _, up = vol_shocks(spec.time_to_expiry(state.now), WIDE.risk)
            # corners (parallel moves and twists) half of the time, anywhere inside the range otherwise
            multipliers[e] = float(rng.choice([down, 1.0, up]) if rng.random() < 0.5 else rng.uniform(down, up))
        loss = grid_loss(account, state, u, int(rng.integers(-4, 5)), multipliers)
        assert loss <= from_wad(mm) * (1 + 1e-12) + 1e-9, (loss, from_wad(mm), multipliers)


@st.composite
def short_vol_books(draw):
    """1-4 short options on one underlying (any strike and expiry of WIDE, live), maybe a perp either way."""
    u = draw(st.sampled_from(WIDE.symbols))
    live = [m for m in WIDE.markets if m.is_option and m.underlying == u and m.expiry is None]
    legs = draw(st.lists(st.sampled_from(live), min_size=1, max_size=4, unique_by=lambda m: m.name))
    positions = [Position(m, draw(sizes(m, 0.1, sign=-1)), 0.0) for m in legs]
    if draw(st.booleans()):
        perp = WIDE.market(f"{u}-PERP")
        positions.append(Position(perp, draw(sizes(perp, 0.05)), 0.0))
    return u, Account(cash=1_000_000.0, positions=tuple(positions))


@given(short_vol_books(), states(vol_range=(0.35, 2.0)))
@settings(**SETTINGS)
def test_short_vol_mm_never_falls_as_vols_rise(world, u_book, state):
    u, account = u_book
    assert shock_size(state.vol[u], WIDE.risk) > WIDE.risk.shock_min   # the domain (module docstring)
    higher = state.with_vol(**{s: min(WIDE.oracle.max_vol, 1.25 * v) for s, v in state.vol.items()})
    before, after = chain_margin(world, account, state)[3], chain_margin(world, account, higher)[3]
    assert leq(before, after), (from_wad(before), from_wad(after))


FUTURES = [m for m in WIDE.markets if m.kind is Kind.FUTURE]


@given(st.sampled_from(FUTURES), st.data(), states(vol_range=(0.1, 1.5)))
@settings(**SETTINGS)
def test_basis_charge_rises_with_vol(world, future, data, state):
    u = future.underlying
    size = data.draw(sizes(future, 0.05, sign=1))
    account = Account(cash=1_000_000.0, positions=(Position(future, size, 0.0),
                                                   Position(WIDE.market(f"{u}-PERP"), -size, 0.0)))
    mm = chain_margin(world, account, state)[3]
    S, sigma = state.spot[u], state.vol[u]
    b = basis_shock(future.time_to_expiry(state.now), sigma, WIDE.scenarios)
    expected = WIDE.risk.basis_rate * 2 * size * S + size * S * b * (1 + shock_size(sigma, WIDE.risk))
    assert from_wad(mm) == pytest.approx(expected, rel=1e-9, abs=1e-6)
    assert from_wad(mm) == pytest.approx(requirements(account, state, WIDE).mm, rel=1e-9, abs=1e-6)
    stressed = state.with_vol(**{u: min(WIDE.oracle.max_vol, 3 * sigma)})
    assert chain_margin(world, account, stressed)[3] > mm


# ---------------------------------------------------------------------------------------------------------
# the worked case of issue 12 §2

CALENDAR = DEFAULT.replace(markets=DEFAULT.markets + (
    MarketSpec("ETH-P-4200-180D", Kind.PUT, "ETH", 1e6, 1e5, expiry_days=180, strike=4200.0, id=len(DEFAULT.markets) + 1),
    MarketSpec("ETH-P-2700-1D", Kind.PUT, "ETH", 1e6, 1e5, expiry_days=1, strike=2700.0, id=len(DEFAULT.markets) + 2),
), name="calendar")
CALENDAR_BOOK = Account(cash=100_000.0, positions=(Position("ETH-P-4200-180D", -78.09), Position("ETH-P-2700-1D", 310.68)))
CALENDAR_STATE = MarketState({"ETH": 4005.93, "BTC": 60_000.0, "SOL": 150.0}, {"ETH": 1.094, "BTC": 0.5, "SOL": 0.9},
                             GENESIS)


def test_calendar_book_of_issue_12():
    """-78.09 ETH-P-4200-180D, +310.68 ETH-P-2700-1D at ETH 4,005.93, vol 109.4 %. Before the term row: MM 37,301,
    and spot -s with the 180-day vol at the top of its range (x 1.204) and the 1-day vol flat lost 38,573; MM fell
    to 32,204 when every vol rose 25 %."""
    world = RiskWorld.revm(CALENDAR)
    mm = from_wad(chain_margin(world, CALENDAR_BOOK, CALENDAR_STATE)[3])
    model = requirements(CALENDAR_BOOK, CALENDAR_STATE, CALENDAR)
    assert mm == pytest.approx(model.mm, rel=1e-9)
    account = CALENDAR_BOOK.resolved(CALENDAR)
    long_dated, short_dated = (CALENDAR.market(n) for n in ("ETH-P-4200-180D", "ETH-P-2700-1D"))
    ranges = {n: vol_shocks(m.time_to_expiry(GENESIS), CALENDAR.risk) for n, m in
              (("long", long_dated), ("short", short_dated))}
    t_long, t_short = (m.time_to_expiry(GENESIS) for m in (long_dated, short_dated))
    worst = max(grid_loss(account, CALENDAR_STATE, "ETH", k, {t_long: a, t_short: b}, CALENDAR)
                for k in range(-4, 5) for a in ranges["long"] for b in ranges["short"])
    twist = grid_loss(account, CALENDAR_STATE, "ETH", -4, {t_long: ranges["long"][2], t_short: 1.0}, CALENDAR)
    parallel_125 = grid_loss(account, CALENDAR_STATE, "ETH", -4, {t_long: 1.25, t_short: 1.25}, CALENDAR)
    higher = CALENDAR_STATE.with_vol(ETH=1.094 * 1.25)
    mm_up = from_wad(chain_margin(world, CALENDAR_BOOK, higher)[3])
    print(f"\ncalendar book: MM {mm:,.0f} (before the term row 37,301); worst grid corner {worst:,.0f}; "
          f"spot -s, 180D vol x{ranges['long'][2]:.3f}, 1D flat: {twist:,.0f}; spot -s, both vols x1.25 "
          f"(outside the 180D range): {parallel_125:,.0f}; MM at every vol x1.25: {mm_up:,.0f} (before: 32,204)")
    assert 37_301 < twist <= mm and worst <= mm
    assert mm_up > mm
