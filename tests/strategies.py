"""Hypothesis strategies that BUILD valid inputs (never filter them) for the model and the contracts.

Shared by the model tests and the differential tests against the contracts, so every number they draw is
a short exact decimal: `to_wad(x)` of any drawn float is exact (sizes 4 decimals, prices 2, vols 4, token
balances 4, cash 2), sizes respect `max_position`, balances respect caps, prices and vols are positive and
inside the oracle's vol bounds, and an account holds at most one position per instrument (the chain nets
per instrument) and at most `risk.max_positions` positions.

    from tests.strategies import DEFAULT, accounts, market_states
    @given(accounts(DEFAULT), market_states(DEFAULT))
    def test_something(account, state): ...
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from hypothesis import strategies as st

from crossmargin.model.params import MarketSpec, Params, load_params
from crossmargin.model.portfolio import Account, MarketState, Position

DEFAULT: Params = load_params("default")
DEMO: Params = load_params("demo")


def decimals(lo: float, hi: float, places: int) -> st.SearchStrategy[float]:
    """Floats in [lo, hi] that are exact decimals with at most `places` decimals (exact as WAD)."""
    scale = 10**places
    return st.integers(int(round(lo * scale)), int(round(hi * scale))).map(lambda n: n / scale)


def exact_product(a: float, b: float) -> float:
    """a · b rounded once from the exact decimal product (so `to_wad` sees the short decimal, e.g. a cost)."""
    return float(Fraction(repr(a)) * Fraction(repr(b)))


def linear_markets(params: Params, underlyings: Sequence[str] | None = None) -> list[MarketSpec]:
    return [m for m in params.markets if m.is_linear and (underlyings is None or m.underlying in underlyings)]


def option_markets(params: Params, underlyings: Sequence[str] | None = None) -> list[MarketSpec]:
    return [m for m in params.markets if m.is_option and (underlyings is None or m.underlying in underlyings)]


@st.composite
def sizes(draw, spec: MarketSpec, max_fraction: float = 0.1, places: int = 4, sign: int = 0) -> float:
    """A non-zero signed size, |size| <= max_fraction · max_position (sign: +1 long, -1 short, 0 either)."""
    hi = max(10**-places, max_fraction * spec.max_position)
    magnitude = draw(decimals(10**-places, hi, places))
    s = sign or draw(st.sampled_from((1, -1)))
    return s * magnitude


def spots(params: Params, u: str, lo: float = 0.5, hi: float = 2.0) -> st.SearchStrategy[float]:
    """An index price for u in [lo, hi] × the reference price, 2 decimals."""
    ref = params.underlying(u).price
    return decimals(max(0.01, lo * ref), hi * ref, 2)


def vols(params: Params, lo: float = 0.1, hi: float = 2.0) -> st.SearchStrategy[float]:
    """An annualised vol in [lo, hi] ∩ [min_vol, max_vol], 4 decimals."""
    return decimals(max(lo, params.oracle.min_vol), min(hi, params.oracle.max_vol), 4)


@st.composite
def market_states(draw, params: Params, now: int = 0, spot_range: tuple[float, float] = (0.5, 2.0),
                  vol_range: tuple[float, float] = (0.1, 2.0)) -> MarketState:
    """Spot and vol for every underlying of `params`, at time `now`."""
    spot = {u: draw(spots(params, u, *spot_range)) for u in params.symbols}
    vol = {u: draw(vols(params, *vol_range)) for u in params.symbols}
    return MarketState(spot, vol, now)


@st.composite
def positions(draw, params: Params, spec: MarketSpec, max_fraction: float = 0.1, sign: int = 0) -> Position:
    """A position in `spec`: linear ones with cost = size · entry (entry within ±20 % of the reference
    price, 2 decimals, product rounded once), options with cost 0 (premium is cash)."""
    size = draw(sizes(spec, max_fraction, sign=sign))
    if spec.is_option:
        return Position(spec, size, 0.0)
    ref = params.underlying(spec.underlying).price
    entry = draw(decimals(0.8 * ref, 1.2 * ref, 2))
    return Position(spec, size, exact_product(size, entry))


@st.composite
def accounts(draw, params: Params, markets: Sequence[MarketSpec] | None = None, max_positions: int = 4,
             collateral: bool | Sequence[str] = True, max_fraction: float = 0.1,
             cash: tuple[float, float] = (-50_000.0, 1_000_000.0)) -> Account:
    """An account with 0..max_positions positions on distinct instruments drawn from `markets` (default:
    every market), maybe some linked collateral (each <= 1 % of its cap; `collateral` True = any non-settlement
    token, False = none, or a list of symbols), cash in `cash`, no accrued funding."""
    markets = list(params.markets if markets is None else markets)
    n = draw(st.integers(0, min(max_positions, len(markets), params.risk.max_positions)))
    chosen = draw(st.permutations(markets))[:n]
    pos = tuple(draw(positions(params, m, max_fraction)) for m in chosen)
    balances = {}
    eligible = ([c.symbol for c in params.collaterals if not c.settlement] if collateral is True
                else list(collateral or ()))
    for symbol in eligible:
        c = params.collateral(symbol)
        if draw(st.booleans()):
            balances[c.symbol] = draw(decimals(0.0001, 0.01 * c.cap, 4))
    return Account(cash=draw(decimals(*cash, 2)), collateral=balances, positions=pos)


def linear_accounts(params: Params, underlyings: Sequence[str] | None = None, **kw) -> st.SearchStrategy[Account]:
    """Accounts holding only PERPs and FUTUREs (optionally on some underlyings)."""
    return accounts(params, markets=linear_markets(params, underlyings), **kw)


def single_underlying_accounts(params: Params, u: str, **kw) -> st.SearchStrategy[Account]:
    """Accounts whose positions (and linked collateral) are all on underlying u."""
    markets = [m for m in params.markets if m.underlying == u]
    return accounts(params, markets=markets, collateral=[c.symbol for c in params.linked_collaterals(u)], **kw)
