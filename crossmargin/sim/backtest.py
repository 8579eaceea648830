"""CCP-style backtest of maintenance margin on market history: does MM cover what actually happened?

For every day t and every book: MM_t from the margin model (`crossmargin.model`, vectorised by
`crossmargin.sim.engine.MarginArrays`, bit-equal to `requirements`) with the day's vol forecast and the configured
correlation, against the realised loss over the horizon H (whole days) at real prices:

    loss_t = -(E_mm(t + H) - E_mm(t)),   breach_t = loss_t > MM_t

The book is re-struck every day at the same USD notional (the canonical books of `report efficiency`, or random
books): position sizes are notional / S_t and strikes keep their moneyness (K / S_t as at the reference prices).
The model is homogeneous in (S, K) at fixed notional, so this is computed exactly at the parameter set's reference
prices with spot moved by the realised return P_{t+H} / P_t per underlying; options age by H and are marked at
t + H with that day's vol forecast (the VolOracle's value then). Every day's forecast uses closes up to that day
only (`crossmargin.sim.vol`), so there is no look-ahead.

Vol choices: `garch` (GARCH(1,1)-t, expanding re-fit), `ewma` (RiskMetrics λ = 0.94), both floored at the
underlying's `vol_floor` and kept inside the VolOracle's [min_vol, max_vol], and `oracle-const` (the parameter
set's reference vol, constant: what the VolOracle holds when nobody feeds it). The forecast then goes through the
VolOracle's rate limit as the chain would hold it (`held_vols`): the feeder of `crossmargin agent vol` runs every
hour, the day's forecast becomes its target at the close, and the day's vol (MM_t, and the mark at t) is what the
oracle holds an hour after the close (two posts: ×/÷ `vol_hour_factor` per hour window, within ×/÷
`vol_day_factor` of the day anchor; `crossmargin.sim.paths.feeder_vol`, the simulator's own model of the
contract). With the defaults (×2 an hour, ×4 a day) it binds only on a jump beyond ×4.

Verdicts (`BookBacktest.verdict`): `pass` (coverage >= 99 %: the safety criterion, as in a CCP's margin backtest),
`under-covered` (coverage below 99 %), and `not testable` when the book's realised loss is identically zero (a basis
trade on index closes: both legs sit at the spot index, the model prices the future at spot), where no breach can
ever happen whatever the margin. A passing book whose two-sided Kupiec test rejects on the low side (too few
breaches for a 99 % margin) is flagged `over_margined`: a capital-efficiency finding, not a safety one (one
parameter set margins every book; a hedge whose residual risk is not in index closes breaches less than 1 %).
Beside it, the one-sided verdict of the Basel traffic light (`traffic_light`): the zone of the breach count
under a binomial at the target rate, green while P(X <= x) < 95 %, yellow while < 99.99 %, red beyond (Basel
Committee 1996; 0-4 / 5-9 / 10+ breaches in 250 days): it rejects under-coverage only, never a conservative margin.

Tests (target breach rate p = 1 - coverage target = 1 %):
    Kupiec POF      LR = -2 ln[(1-p)^(N-x) p^x] + 2 ln[(1-x/N)^(N-x) (x/N)^x] ~ χ²(1)  (two-sided: too many or too
                    few breaches both reject)
    Christoffersen  LR_ind = -2 ln[(1-π)^(n00+n10) π^(n01+n11)] + 2 ln[(1-π0)^n00 π0^n01 (1-π1)^n10 π1^n11] ~ χ²(1),
                    π0 = n01/(n00+n01), π1 = n11/(n10+n11), π = (n01+n11)/(n00+n01+n10+n11): breaches independent
                    of yesterday's (with H > 1 the overlapping horizons are dependent by construction)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import binom, chi2

from crossmargin.model.params import SECONDS_PER_DAY, Params
from crossmargin.model.portfolio import MarketState
from crossmargin.sim.books import BookSet, from_accounts, random_books
from crossmargin.sim.efficiency import canonical_books
from crossmargin.sim.engine import MarginArrays
from crossmargin.sim.history import Prices

TARGET = 0.99                       # MM coverage target
SIGNIFICANCE = 0.05                 # a Kupiec / Christoffersen p below this rejects
VOL_METHODS = ("garch", "ewma", "oracle-const")
ZONES = (0.95, 0.9999)              # Basel traffic light: green below P(X <= x) = 95 %, yellow below 99.99 %, red
NO_LOSS = 1e-9                      # |loss| <= this · gross notional on every day: the book has nothing to cover
NOT_TESTABLE = "no loss on index data"
FEEDER_MIN_CHANGE = 0.01            # the feeder's dead band (`vol.decide`, `agent vol --min-change` default)


# ---------------------------------------------------------------------------------------------------------
# the statistical tests
# ---------------------------------------------------------------------------------------------------------

def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0 else x * math.log(y)


def kupiec_pof(breaches: int, n: int, p: float = 1 - TARGET) -> tuple[float, float]:
    """(LR_POF, p-value): Kupiec's proportion-of-failures test of x breaches in n days at breach rate p."""
    if n <= 0 or not 0 <= breaches <= n:
        raise ValueError(f"need 0 <= breaches <= n and n > 0, got {breaches}, {n}")
    x = breaches
    lr = -2.0 * (_xlogy(n - x, 1 - p) + _xlogy(x, p)) + 2.0 * (_xlogy(n - x, 1 - x / n) + _xlogy(x, x / n))
    lr = max(lr, 0.0)
    return lr, float(chi2.sf(lr, 1))


def traffic_light(breaches: int, n: int, p: float = 1 - TARGET) -> tuple[str, float]:
    """(zone, P(X <= breaches)): the Basel traffic light for x breaches in n days at breach rate p (X ~ Bin(n, p)):
    green while the cumulative probability is below 95 %, yellow below 99.99 %, red from there. One-sided: few
    breaches (a conservative margin) are always green."""
    if n <= 0 or not 0 <= breaches <= n:
        raise ValueError(f"need 0 <= breaches <= n and n > 0, got {breaches}, {n}")
    cdf = float(binom.cdf(breaches, n, p))
    return ("green" if cdf < ZONES[0] else "yellow" if cdf < ZONES[1] else "red"), cdf


def transitions(hits: np.ndarray) -> tuple[int, int, int, int]:
    """(n00, n01, n10, n11): counts of (yesterday, today) breach pairs."""
    h = np.asarray(hits, dtype=bool)
    a, b = h[:-1], h[1:]
    return int(np.sum(~a & ~b)), int(np.sum(~a & b)), int(np.sum(a & ~b)), int(np.sum(a & b))


def christoffersen_independence(hits: np.ndarray) -> tuple[float, float]:
    """(LR_ind, p-value): Christoffersen's (1998) Markov test that breaches do not cluster."""
    n00, n01, n10, n11 = transitions(hits)
    n = n00 + n01 + n10 + n11
    if n == 0 or n01 + n11 == 0 or n00 + n10 == 0:
        return 0.0, 1.0  # no breach (or nothing but breaches): nothing to cluster
    pi = (n01 + n11) / n
    pi0 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi1 = n11 / (n10 + n11) if n10 + n11 else 0.0
    restricted = _xlogy(n00 + n10, 1 - pi) + _xlogy(n01 + n11, pi)
    free = _xlogy(n00, 1 - pi0) + _xlogy(n01, pi0) + _xlogy(n10, 1 - pi1) + _xlogy(n11, pi1)
    lr = max(-2.0 * (restricted - free), 0.0)
    return lr, float(chi2.sf(lr, 1))


# ---------------------------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BookBacktest:
    """One book over its testable days (all of its underlyings priced and forecast on t and t + H)."""

    book: str
    dates: np.ndarray = field(repr=False)     # (N,) day t
    mm: np.ndarray = field(repr=False)        # (N,) MM_t, USD
    loss: np.ndarray = field(repr=False)      # (N,) realised loss over [t, t + H], USD
    gross: float = 0.0                        # gross notional of the book, USD (for MM as % of notional)

    @property
    def days(self) -> int:
        return int(self.mm.size)

    @property
    def hits(self) -> np.ndarray:
        return self.loss > self.mm

    @property
    def breaches(self) -> int:
        return int(self.hits.sum())

    @property
    def coverage(self) -> float:
        return 1.0 - self.breaches / self.days if self.days else float("nan")

    @property
    def kupiec(self) -> tuple[float, float]:
        return kupiec_pof(self.breaches, self.days) if self.days else (float("nan"), float("nan"))

    @property
    def christoffersen(self) -> tuple[float, float]:
        return christoffersen_independence(self.hits) if self.days else (float("nan"), float("nan"))

    @property
    def testable(self) -> bool:
        """False when the realised loss is zero on every day (|loss| <= NO_LOSS · gross): nothing to breach, so
        neither Kupiec (which would call any margin 'over-margined') nor the traffic light says anything."""
        scale = self.gross if self.gross > 0 else 1.0
        return bool(self.days) and bool(np.any(np.abs(self.loss) > NO_LOSS * scale))

    @property
    def traffic_light(self) -> tuple[str, float] | tuple[None, None]:
        """(zone, P(X <= breaches)): the one-sided Basel verdict (`traffic_light`); (None, None) if not testable."""
        return traffic_light(self.breaches, self.days) if self.testable else (None, None)

    @property
    def verdict(self) -> str:
        """'pass' (coverage >= target), 'under-covered' (below it), 'not testable' (no loss on any day: see
        `testable`) or 'no data'. Over-margining is the separate `over_margined` flag."""
        if not self.days:
            return "no data"
        if not self.testable:
            return "not testable"
        return "pass" if self.coverage >= TARGET else "under-covered"

    @property
    def over_margined(self) -> bool:
        """A passing book with too few breaches for a 99 % margin: two-sided Kupiec p < 0.05 on the low side."""
        return (self.verdict == "pass" and self.kupiec[1] < SIGNIFICANCE
                and self.breaches < (1 - TARGET) * self.days)

    @property
    def label(self) -> str:
        """The verdict as tables print it: 'pass, over-margined' for a flagged pass."""
        return self.verdict + (", over-margined" if self.over_margined else "")

    def to_dict(self, series: bool = False) -> dict:
        lr, p = self.kupiec
        lri, pi = self.christoffersen
        worst = int(np.argmax(self.loss / self.mm)) if self.days else None
        d = {"book": self.book, "days": self.days, "from": str(self.dates[0]) if self.days else None,
             "to": str(self.dates[-1]) if self.days else None, "breaches": self.breaches,
             "expected_breaches": (1 - TARGET) * self.days, "coverage": self.coverage,
             "kupiec_lr": lr, "kupiec_p": p, "christoffersen_lr": lri, "christoffersen_p": pi,
             "verdict": self.verdict, "over_margined": self.over_margined, "verdict_reason": NOT_TESTABLE if self.days and not self.testable else None,
             "traffic_light": self.traffic_light[0], "binomial_cdf": self.traffic_light[1],
             "gross_notional": self.gross,
             "mean_mm": float(self.mm.mean()) if self.days else None,
             "mean_mm_pct": float(self.mm.mean() / self.gross) if self.days and self.gross else None,
             "worst_loss_over_mm": float(self.loss[worst] / self.mm[worst]) if worst is not None else None,
             "worst_day": str(self.dates[worst]) if worst is not None else None}
        if series:
            d["series"] = {"dates": [str(x) for x in self.dates], "mm": self.mm.tolist(), "loss": self.loss.tolist()}
        return d


@dataclass(frozen=True)
class BacktestResult:
    params: str
    vol: str
    horizon_days: int
    refit_days: int
    books: tuple[BookBacktest, ...]
    seconds: float = 0.0
    random: dict | None = None       # aggregate over random books, if run
    rate_limit: bool = False         # vols as the VolOracle holds them (`held_vols`)
    rate_limited: dict = field(default_factory=dict)   # {underlying: days the rate limit held the vol off the forecast}

    def to_dict(self, series: bool = False) -> dict:
        return {"params": self.params, "vol": self.vol, "horizon_days": self.horizon_days,
                "garch_refit_days": self.refit_days, "target": TARGET, "significance": SIGNIFICANCE,
                "rate_limit": self.rate_limit, "rate_limited_days": self.rate_limited,
                "books": [b.to_dict(series) for b in self.books], "random": self.random, "seconds": self.seconds}


def canonical_book_set(params: Params, notional: float = 1_000_000.0) -> tuple[tuple[str, ...], BookSet]:
    """The canonical books of `report efficiency` at the reference prices, as a BookSet (params listed at 0)."""
    state = MarketState.from_params(params)
    books = canonical_books(params, notional, state)
    return tuple(books), from_accounts(params, [a for a, _ in books.values()])


def held_vols(forecast: np.ndarray, oracle, steps_per_day: int = 24, lag_steps: int = 1) -> np.ndarray:
    """(T, U) daily forecasts -> (T, U) what the VolOracle holds `lag_steps` feeder steps after each close.

    The feeder (`crossmargin agent vol`'s send rule, `crossmargin.sim.paths.feeder_vol` against the VolOracle's
    hour and day windows, `VolOracleModel`) runs `steps_per_day` times a day; day t's forecast is its target from
    the close of day t on. Each contiguous run of forecasts starts free (a first value is accepted as is); NaN
    stays NaN. With the default an hour after the close: two posts, so a jump is cut at ×/÷ min(hour², day)."""
    from crossmargin.sim.paths import feeder_vol

    f = np.asarray(forecast, dtype=float)
    out = np.full_like(f, np.nan)
    step = SECONDS_PER_DAY / steps_per_day
    for u in range(f.shape[1]):
        ok = ~np.isnan(f[:, u])
        edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
        for a, b in zip(edges[::2], edges[1::2]):       # runs [a, b) of valid forecasts
            target = np.repeat(f[a:b, u], steps_per_day)[:, None]
            times = np.arange(target.shape[0]) * step
            held = feeder_vol(target, times, oracle, start=target[0], min_change=FEEDER_MIN_CHANGE)
            out[a:b, u] = held[np.minimum(np.arange(b - a) * steps_per_day + lag_steps, target.shape[0] - 1), 0]
    return out


def book_vols(params: Params, prices: Prices, vol: str, forecasts=None, rate_limit: bool = False) -> np.ndarray:
    """(T, U) annualised vols in `params.symbols` order: the forecast of `vol` as the VolOracle would hold it
    (floored at the underlying's `vol_floor`, inside the oracle's [min_vol, max_vol]: `vol.oracle_vol`; then,
    with `rate_limit`, through the oracle's rate limit as `held_vols` walks it), or the reference vol
    (`oracle-const`); NaN where a forecast is missing (or the file has no such column)."""
    from crossmargin.sim.vol import oracle_vol

    T = len(prices)
    out = np.full((T, len(params.symbols)), np.nan)
    o = params.oracle
    for j, u in enumerate(params.symbols):
        und = params.underlying(u)
        if vol == "oracle-const":
            out[:, j] = np.where(np.isnan(prices.column(u)), np.nan, und.vol) if u in prices.symbols else np.nan
        elif u in forecasts.symbols:
            out[:, j] = oracle_vol(forecasts.vol(vol)[:, forecasts.symbols.index(u)], und.vol_floor, o.min_vol,
                                   o.max_vol)
    if rate_limit and vol != "oracle-const":
        out = held_vols(out, o)
    return out


def run_books(params: Params, books: BookSet, names, prices: Prices, vols: np.ndarray, horizon: int,
              start: str | None = None, end: str | None = None, gross=None) -> list[BookBacktest]:
    """Backtest every account of `books` (see the module docstring); `vols` (T, U) in params.symbols order."""
    if horizon < 1:
        raise ValueError(f"the backtest needs a whole-day horizon >= 1 (daily closes), got {horizon}")
    engine = MarginArrays(books)
    ref = MarketState.from_params(params)
    symbols = params.symbols
    close = np.full((len(prices), len(symbols)), np.nan)
    for j, u in enumerate(symbols):
        if u in prices.symbols:
            close[:, j] = prices.column(u)
    T = len(prices)
    ref_spot = np.array([ref.spot[u] for u in symbols])
    ref_vol = np.array([ref.vol[u] for u in symbols])
    # which underlyings each account touches (positions or linked collateral)
    touches = np.zeros((len(books), len(symbols)), dtype=bool)
    for u in range(len(symbols)):
        touches[engine.rows[u], u] = True
    lo = 0 if start is None else int(np.searchsorted(prices.dates, np.datetime64(start, "D")))
    hi = T - horizon if end is None else min(T - horizon, int(np.searchsorted(prices.dates, np.datetime64(end, "D"),
                                                                              side="right")))
    mm_all = np.full((T, len(books)), np.nan)
    loss_all = np.full((T, len(books)), np.nan)
    for t in range(lo, hi):
        ok_u = ~(np.isnan(close[t]) | np.isnan(close[t + horizon]) | np.isnan(vols[t]) | np.isnan(vols[t + horizon]))
        ok = ~np.any(touches & ~ok_u[None, :], axis=1)
        if not ok.any():
            continue
        # underlyings no book needs today keep their reference numbers (no account of `ok` reads them)
        sig0 = np.where(ok_u, vols[t], ref_vol)
        sig1 = np.where(ok_u, vols[t + horizon], ref_vol)
        move = np.where(ok_u, close[t + horizon] / close[t], 1.0)
        s0 = MarketState(dict(zip(symbols, ref_spot)), dict(zip(symbols, sig0)), 0)
        s1 = MarketState(dict(zip(symbols, ref_spot * move)), dict(zip(symbols, sig1)), horizon * SECONDS_PER_DAY)
        h0 = engine.health(s0)
        e1 = engine.equity(s1, "mm")
        mm_all[t, ok] = h0.mm[ok]
        loss_all[t, ok] = -(e1[ok] - h0.equity_mm[ok])
    gross = engine.books.gross_notional(ref_spot) if gross is None else gross
    out = []
    for i, name in enumerate(names):
        keep = ~np.isnan(mm_all[:, i])
        out.append(BookBacktest(name, prices.dates[keep], mm_all[keep, i], loss_all[keep, i], float(gross[i])))
    return out


def backtest(params: Params, prices: Prices, vol: str = "garch", forecasts=None, book: str | None = None,
             start: str | None = None, end: str | None = None, random_n: int = 0, seed: int = 0,
             notional: float = 1_000_000.0, rate_limit: bool = True) -> BacktestResult:
    """The canonical books (or one of them, `book`), and `random_n` random books aggregated, over `prices`.

    `forecasts`: a `vol.VolForecasts` of `prices` (computed here for garch/ewma when None). `rate_limit`: the vols
    as the VolOracle holds them (`held_vols`), or the forecasts posted in full.
    """
    import time

    from crossmargin.sim.vol import REFIT_DAYS, forecast_vols

    if vol not in VOL_METHODS:
        raise ValueError(f"vol must be one of {', '.join(VOL_METHODS)}, got {vol!r}")
    horizon = params.risk.horizon_days
    if horizon != int(horizon) or horizon < 1:
        raise ValueError(f"the backtest uses daily closes: horizon_days must be a whole number >= 1, got {horizon}")
    horizon = int(horizon)
    t0 = time.perf_counter()
    params = params.listed(0)
    if vol != "oracle-const" and forecasts is None:
        forecasts = forecast_vols(prices.only([u for u in params.symbols if u in prices.symbols]), horizon,
                                  with_garch=vol == "garch")
    vols = book_vols(params, prices, vol, forecasts, rate_limit)
    limited = {}
    if rate_limit and vol != "oracle-const":
        posted = book_vols(params, prices, vol, forecasts, rate_limit=False)
        # days the limit cut the forecast (beyond the feeder's dead band, within which it posts nothing)
        with np.errstate(invalid="ignore"):
            cut = np.abs(vols / posted - 1.0) > FEEDER_MIN_CHANGE / (1 - FEEDER_MIN_CHANGE) + 1e-9
        limited = {u: [str(d) for d in prices.dates[cut[:, j]]] for j, u in enumerate(params.symbols)}
    results: list[BookBacktest] = []
    if book != "random":
        names, books = canonical_book_set(params, notional)
        if book is not None:
            if book not in names:
                raise ValueError(f"no canonical book {book!r} (have: {', '.join(names)}, random)")
            i = names.index(book)
            books = _rows(books, [i])
            names = (book,)
        results = run_books(params, books, names, prices, vols, horizon, start, end)
    agg = None
    if random_n or book == "random":
        n = random_n or 200
        rb = random_books(params, n, np.random.default_rng(seed))
        rres = run_books(params, rb, [f"random {i}" for i in range(n)], prices, vols, horizon, start, end)
        agg = _aggregate(rres, seed)
    refit = forecasts.refit_days if forecasts is not None else REFIT_DAYS
    return BacktestResult(params.name, vol, horizon, refit, tuple(results), time.perf_counter() - t0, agg,
                          rate_limit and vol != "oracle-const", limited)


def _rows(books: BookSet, idx) -> BookSet:
    import dataclasses

    f = {k: (v[idx] if isinstance(v, np.ndarray) else v) for k, v in
         ((fld.name, getattr(books, fld.name)) for fld in dataclasses.fields(books))}
    return BookSet(**f)


def _aggregate(rows: list[BookBacktest], seed: int) -> dict:
    """Random books: pooled breach rate and how many books pass each test on their own."""
    rows = [r for r in rows if r.days]
    days = sum(r.days for r in rows)
    breaches = sum(r.breaches for r in rows)
    verdicts = [r.verdict for r in rows]
    return {"books": len(rows), "seed": seed, "book_days": days, "breaches": breaches,
            "coverage": 1 - breaches / days if days else float("nan"),
            "pass": verdicts.count("pass"), "under_covered": verdicts.count("under-covered"),
            "over_margined": sum(r.over_margined for r in rows), "not_testable": verdicts.count("not testable"),
            "zones": {z: sum(r.traffic_light[0] == z for r in rows) for z in ("green", "yellow", "red")},
            "coverage_p5": float(np.percentile([r.coverage for r in rows], 5)) if rows else float("nan"),
            "christoffersen_reject": sum(r.christoffersen[1] < SIGNIFICANCE for r in rows)}
