"""Books as arrays: many margin accounts at once, and a generator of random realistic ones.

A `BookSet` holds A accounts over the M markets and K linked collaterals of a (listed) parameter set:

    sizes       (A, M)  signed units of the underlying (0 = no position)
    costs       (A, M)  linear entry notional (size · entry price); 0 for options (`Position` convention)
    premiums    (A, M)  cash paid (-) or received (+) for options at the trade: -size · option price
    cash        (A,)    settlement-asset cash: the premiums plus what the owner deposited (`funded`)
    collateral  (A, K)  linked-collateral balances, token units (WETH, WBTC, ...)
    kind, strategy, owner, buffer: book type, its variant, the book an account belongs to, equity / IM at funding

`account(i)` is the `crossmargin.model` `Account` of row i (positions in market order), so every number the
vectorised engine computes can be checked against `requirements(account(i), state, params)`.
`isolated()` splits each book into the subaccounts isolated margin needs: one per position (with that
position's premium) and one per linked-collateral holding, like `isolated_requirements`.

Random books (`random_books`), four families seen on derivatives venues:
    basis          cash-and-carry (linked collateral + short perp) or calendar (long future, short perp)
    option seller  short straddle / strangle / put, or covered call (long perp + short OTM call);
                   half of them delta-hedged with the perp at the start
    directional    1-3 perps, random sides and weights; some add a long option in the same direction
    hedged         a vol-weighted pair (long one underlying, short another) or a perp with a protective put
Notionals are log-normal (median `median_notional`, log-sd 1.0, clipped to [10k, 5M] USD and half a
market's `max_position`). Everything is drawn from one numpy Generator: the same seed, the same books.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from crossmargin.model.margin import option_greeks, option_price
from crossmargin.model.params import Collateral, Kind, MarketSpec, Params
from crossmargin.model.portfolio import Account, MarketState, Position

KINDS = ("basis", "option seller", "directional", "hedged")
MIX = (0.25, 0.25, 0.3, 0.2)


@dataclass(frozen=True)
class BookSet:
    """A accounts as arrays (see the module docstring). `params` must be listed (absolute expiries)."""

    params: Params
    sizes: np.ndarray
    costs: np.ndarray
    premiums: np.ndarray
    cash: np.ndarray
    collateral: np.ndarray
    kind: np.ndarray
    strategy: np.ndarray
    owner: np.ndarray
    buffer: np.ndarray

    def __len__(self) -> int:
        return self.sizes.shape[0]

    @property
    def markets(self) -> tuple[MarketSpec, ...]:
        return self.params.markets

    @property
    def collaterals(self) -> tuple[Collateral, ...]:
        return linked_collaterals(self.params)

    def account(self, i: int) -> Account:
        """Row i as a model `Account` (positions in market order, linked collateral by symbol)."""
        positions = tuple(Position(m, float(self.sizes[i, j]), float(self.costs[i, j]))
                          for j, m in enumerate(self.markets) if self.sizes[i, j] != 0)
        coll = {c.symbol: float(self.collateral[i, k])
                for k, c in enumerate(self.collaterals) if self.collateral[i, k] != 0}
        return Account(cash=float(self.cash[i]), collateral=coll, positions=positions)

    def gross_notional(self, spot: np.ndarray) -> np.ndarray:
        """Σ |size| · S over positions plus Σ balance · P over linked collateral, USD, per account."""
        und = np.array([self.params.index(m.underlying) for m in self.markets])
        cund = np.array([self.params.index(c.underlying) for c in self.collaterals], dtype=int)
        return np.abs(self.sizes) @ spot[und] + (np.abs(self.collateral) @ spot[cund] if cund.size else 0.0)

    def isolated(self) -> BookSet:
        """Every position and every linked-collateral holding in its own subaccount (cash: that position's
        premium; unfunded: call `funded`). `owner` keeps the book each subaccount came from."""
        b_pos, j_pos = np.nonzero(self.sizes)
        b_col, k_col = np.nonzero(self.collateral)
        n, M, K = b_pos.size + b_col.size, self.sizes.shape[1], self.collateral.shape[1]
        rows = np.arange(n)
        sizes, costs, prem = np.zeros((n, M)), np.zeros((n, M)), np.zeros((n, M))
        coll = np.zeros((n, K))
        sizes[rows[:b_pos.size], j_pos] = self.sizes[b_pos, j_pos]
        costs[rows[:b_pos.size], j_pos] = self.costs[b_pos, j_pos]
        prem[rows[:b_pos.size], j_pos] = self.premiums[b_pos, j_pos]
        coll[rows[b_pos.size:], k_col] = self.collateral[b_col, k_col]
        owner = np.concatenate([b_pos, b_col])
        order = np.argsort(owner, kind="stable")  # subaccounts grouped by book
        return BookSet(self.params, sizes[order], costs[order], prem[order], prem.sum(axis=1)[order], coll[order],
                       self.kind[owner][order], self.strategy[owner][order], self.owner[owner][order],
                       self.buffer[owner][order])

    def funded(self, im: np.ndarray, equity_im: np.ndarray) -> BookSet:
        """Each account topped up with cash so that equity_im >= buffer · IM and cash >= 0 (an owner deposits;
        never withdraws). `im` and `equity_im` are the unfunded accounts' numbers at the start."""
        deposit = np.maximum.reduce([np.zeros_like(im), self.buffer * im - equity_im, -self.cash])
        return dataclasses.replace(self, cash=self.cash + deposit)


def linked_collaterals(params: Params) -> tuple[Collateral, ...]:
    """The non-settlement collaterals, in params order (the K columns of a BookSet)."""
    return tuple(c for c in params.collaterals if not c.settlement)


def empty_books(params: Params, n: int) -> BookSet:
    M, K = len(params.markets), len(linked_collaterals(params))
    z = lambda *shape: np.zeros(shape)  # noqa: E731
    return BookSet(params, z(n, M), z(n, M), z(n, M), z(n), z(n, K), np.full(n, "", dtype=object),
                   np.full(n, "", dtype=object), np.arange(n), np.ones(n))


def from_accounts(params: Params, accounts: list[Account], kind: str = "") -> BookSet:
    """Model `Account`s as a BookSet over `params` (accrued funding is folded into cash; positions on the same
    instrument net). `account(i)` gives them back with positions in market order."""
    books = empty_books(params, len(accounts))
    col = {m.name: j for j, m in enumerate(params.markets)}
    coll = {c.symbol: k for k, c in enumerate(linked_collaterals(params))}
    for i, a in enumerate(accounts):
        books.cash[i] = a.cash + a.funding
        for pos in a.positions:
            spec = params.market(pos.instrument.name if isinstance(pos.instrument, MarketSpec) else pos.instrument)
            j = col[spec.name]
            books.sizes[i, j] += pos.size
            books.costs[i, j] += pos.cost
        for symbol, balance in a.collateral.items():
            if symbol not in coll:
                raise ValueError(f"{symbol} is not a linked collateral of {params.name!r} (cash goes in Account.cash)")
            books.collateral[i, coll[symbol]] += balance
        books.kind[i] = kind
    return books


class _Builder:
    """Writes trades into row b of a BookSet's arrays with `Account.with_trade`'s semantics (net per market)."""

    def __init__(self, params: Params, state: MarketState, n: int):
        self.params, self.state = params, state
        self.books = empty_books(params, n)
        self.col = {m.name: j for j, m in enumerate(params.markets)}
        self.coll = {c.symbol: k for k, c in enumerate(linked_collaterals(params))}

    def price(self, spec: MarketSpec) -> float:
        S = self.state.spot[spec.underlying]
        if spec.is_linear:
            return S
        return float(option_price(spec, S, self.state.vol[spec.underlying], self.state.now, self.params.risk.rate))

    def trade(self, b: int, spec: MarketSpec, size: float) -> None:
        j, p, bk = self.col[spec.name], self.price(spec), self.books
        bk.sizes[b, j] += size
        if spec.is_linear:
            bk.costs[b, j] += size * p
        else:
            bk.premiums[b, j] -= size * p
            bk.cash[b] -= size * p
        if bk.sizes[b, j] == 0:  # closed: its PnL is realised into cash, like `Account.with_trade`
            bk.cash[b] -= bk.costs[b, j]
            bk.costs[b, j] = 0.0

    def deposit(self, b: int, symbol: str, amount: float) -> None:
        self.books.collateral[b, self.coll[symbol]] += amount


# -- market lookup (by properties, so any parameter set with the right instruments works) -------------------

def perp(params: Params, u: str) -> MarketSpec | None:
    return next((m for m in params.markets_on(u) if m.kind is Kind.PERP), None)


def future(params: Params, u: str) -> MarketSpec | None:
    return next((m for m in params.markets_on(u) if m.kind is Kind.FUTURE), None)


def option(params: Params, u: str, kind: Kind, moneyness: str = "atm", days: float = 30.0) -> MarketSpec | None:
    """The `kind` option on u nearest `days` to expiry and, among those, at the money (`"atm"`) or the nearest
    strike out of the money (`"otm"`; falls back to ATM if there is none)."""
    S = params.underlying(u).price
    opts = [m for m in params.markets_on(u) if m.kind is kind]
    if not opts:
        return None
    best_days = min({m.expiry_days for m in opts}, key=lambda d: abs(d - days))
    opts = [m for m in opts if m.expiry_days == best_days]
    if moneyness == "otm":
        otm = [m for m in opts if (m.strike > S if kind is Kind.CALL else m.strike < S)]
        if otm:
            return min(otm, key=lambda m: abs(m.strike - S))
    return min(opts, key=lambda m: abs(m.strike - S))


def _units(params: Params, spec: MarketSpec, notional: float, state: MarketState) -> float:
    """Size for `notional` USD, capped at half the market's max_position."""
    return min(notional / state.spot[spec.underlying], 0.5 * spec.max_position)


# -- random books ---------------------------------------------------------------------------------------------

def random_books(params: Params, n: int, rng: np.random.Generator, state: MarketState | None = None,
                 median_notional: float = 250_000.0, mix: tuple[float, ...] = MIX) -> BookSet:
    """`n` random books (families and mix as in the module docstring), opened at `state` (default: the
    reference prices at time 0) and not yet funded. `params` should be listed (`params.listed(0)`)."""
    state = state or MarketState.from_params(params)
    bld = _Builder(params, state, n)
    with_perp = [u for u in params.symbols if perp(params, u)]
    if not with_perp:
        raise ValueError(f"parameter set {params.name!r} has no perpetual market: cannot build books")
    with_options = [u for u in with_perp if option(params, u, Kind.CALL) and option(params, u, Kind.PUT)]
    carry = [u for u in with_perp if params.linked_collaterals(u)]
    calendar = [u for u in with_perp if future(params, u)]
    kinds = rng.choice(len(KINDS), size=n, p=np.asarray(mix) / np.sum(mix))
    notionals = np.clip(median_notional * np.exp(rng.standard_normal(n)), 10_000.0, 5_000_000.0)
    buffers = 1.0 + rng.exponential(0.8, size=n)  # equity / IM the owner keeps: median ~1.55
    for b in range(n):
        family = KINDS[kinds[b]]
        if family == "basis" and not (carry or calendar):
            family = "directional"
        if family == "option seller" and not with_options:
            family = "directional"
        if family == "hedged" and len(with_perp) < 2 and not with_options:
            family = "directional"
        strategy = _BUILDERS[family](bld, b, rng, notionals[b], with_perp, with_options, carry, calendar)
        bld.books.kind[b], bld.books.strategy[b] = family, strategy
    return dataclasses.replace(bld.books, buffer=buffers)


def _basis(bld, b, rng, X, with_perp, with_options, carry, calendar) -> str:
    p, s = bld.params, bld.state
    variants = (["carry"] if carry else []) + (["calendar"] if calendar else [])
    variant = variants[rng.integers(len(variants))]
    u = (carry if variant == "carry" else calendar)[rng.integers(len(carry if variant == "carry" else calendar))]
    pp = perp(p, u)
    q = _units(p, pp, X, s)
    if variant == "carry":
        c = p.linked_collaterals(u)[0]
        bld.deposit(b, c.symbol, q)
        bld.trade(b, pp, -q)
        return f"carry {u}"
    sign = 1.0 if rng.random() < 0.8 else -1.0  # mostly long the dated future (contango carry)
    bld.trade(b, future(p, u), sign * q)
    bld.trade(b, pp, -sign * q)
    return f"calendar {u}"


def _option_seller(bld, b, rng, X, with_perp, with_options, carry, calendar) -> str:
    p, s = bld.params, bld.state
    u = with_options[rng.integers(len(with_options))]
    variant = ("straddle", "strangle", "short put", "covered call")[rng.integers(4)]
    atm_c, atm_p = option(p, u, Kind.CALL), option(p, u, Kind.PUT)
    otm_c, otm_p = option(p, u, Kind.CALL, "otm"), option(p, u, Kind.PUT, "otm")
    q = _units(p, atm_c, X, s)
    legs = {"straddle": [(atm_c, -q), (atm_p, -q)], "strangle": [(otm_c, -q), (otm_p, -q)],
            "short put": [(otm_p, -q)], "covered call": [(perp(p, u), q), (otm_c, -q)]}[variant]
    for spec, size in legs:
        bld.trade(b, spec, size)
    if variant != "covered call" and rng.random() < 0.5:
        delta = sum(size * option_greeks(spec, s.spot[u], s.vol[u], s.now, p.risk.rate)[0] for spec, size in legs)
        if delta:
            bld.trade(b, perp(p, u), -delta)
        return f"{variant} {u} (delta-hedged)"
    return f"{variant} {u}"


def _directional(bld, b, rng, X, with_perp, with_options, carry, calendar) -> str:
    p, s = bld.params, bld.state
    k = int(rng.integers(1, min(3, len(with_perp)) + 1))
    us = rng.choice(with_perp, size=k, replace=False)
    weights = rng.dirichlet(np.ones(k))
    for u, w in zip(us, weights):
        sign = 1.0 if rng.random() < 0.6 else -1.0
        pp = perp(p, u)
        bld.trade(b, pp, sign * _units(p, pp, w * X, s))
    u0 = us[0]
    if u0 in with_options and rng.random() < 0.2:
        spec = option(p, u0, Kind.CALL if bld.books.sizes[b, bld.col[perp(p, u0).name]] > 0 else Kind.PUT)
        bld.trade(b, spec, _units(p, spec, 0.5 * X, s))
        return f"{k} perp(s) + long option"
    return f"{k} perp(s)"


def _hedged(bld, b, rng, X, with_perp, with_options, carry, calendar) -> str:
    p, s = bld.params, bld.state
    if len(with_perp) >= 2 and (not with_options or rng.random() < 0.6):
        u1, u2 = rng.choice(with_perp, size=2, replace=False)
        x2 = X * s.vol[u1] / s.vol[u2]  # vol-weighted: similar standalone risk on both legs
        bld.trade(b, perp(p, u1), _units(p, perp(p, u1), X, s))
        bld.trade(b, perp(p, u2), -_units(p, perp(p, u2), x2, s))
        return f"pair long {u1} / short {u2}"
    u = with_options[rng.integers(len(with_options))]
    put = option(p, u, Kind.PUT, "otm" if rng.random() < 0.5 else "atm")
    q = _units(p, perp(p, u), X, s)
    bld.trade(b, perp(p, u), q)
    bld.trade(b, put, q)
    return f"protective put {u}"


_BUILDERS = {"basis": _basis, "option seller": _option_seller, "directional": _directional, "hedged": _hedged}
