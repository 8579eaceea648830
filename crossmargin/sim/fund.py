"""Gap risk and the insurance fund (`crossmargin report fund`).

Gap table: one underlying (ETH by default) gaps down by g in one step, its vol doubling (the VolOracle's view
after a crash), and nothing trades in between. Two measures: the negative equity right after the gap (the loss
beyond every account's equity, whatever the auction does), and the bad debt of the walk
(`crossmargin.sim.engine.walk`), which liquidates every account whose equity_mm falls below MM at the gap and
closes its auction one step later, the bidder keeping 25 % of MM first (so an account left with less equity than
that discount owes the difference). The insurance fund (a share of the books' gross notional, 0.1 % by default)
pays the bad debt in order and the rest is uncovered (socialised).

Cover 2 (the CCP rule of CPMI-IOSCO PFMI 4.4): the fund should cover the loss beyond the margin held of the two
accounts with the largest such loss, in extreme but plausible conditions — here, every historical day's one-day
moves of the price file × `stress` (1.5), all underlyings at once, vols doubled. For each account
    beyond_i(d) = max(0, -E_mm,i(d))   (the account's equity after the stressed moves, below zero)
Cover 2 needs max_d (largest + second largest beyond_i(d)); Cover all (every account) is shown beside it. Days
before an underlying has prices move it by 0 (named in the result).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crossmargin.model.params import Params
from crossmargin.model.portfolio import MarketState
from crossmargin.sim.books import BookSet
from crossmargin.sim.engine import LiquidationModel, MarginArrays, walk
from crossmargin.sim.history import Prices
from crossmargin.sim.paths import PricePath

GAPS = (0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40)
STRESS = 1.5
VOL_MULT = 2.0


def gap_path(params: Params, symbol: str, gap: float, vol_mult: float = VOL_MULT, step_seconds: int = 3600) -> PricePath:
    """Reference state, then `symbol` down by `gap` with its vol × `vol_mult` (held for one more step)."""
    if not 0 < gap < 1:
        raise ValueError(f"a gap is a fraction in (0, 1), got {gap}")
    ref = MarketState.from_params(params)
    S = np.array([ref.spot[u] for u in params.symbols])
    V = np.array([ref.vol[u] for u in params.symbols])
    j = params.index(symbol)
    S1, V1 = S.copy(), V.copy()
    S1[j] *= 1 - gap
    V1[j] = min(V1[j] * vol_mult, params.oracle.max_vol)
    return PricePath(f"{symbol} -{gap:.0%}", params.symbols, np.arange(3.0) * step_seconds, np.stack([S, S1, S1]),
                     np.stack([V, V1, V1]))


@dataclass(frozen=True)
class GapRow:
    gap: float
    negative_equity: float       # Σ max(0, -E_mm) right after the gap: the loss beyond every account's equity
    liquidated: int
    bad_debt: float              # after the walk's liquidation (the bidder keeps its discount first)
    insurance_used: float
    uncovered: float


def gap_table(params: Params, books: BookSet, fund: float, symbol: str = "ETH", gaps=GAPS,
              liquidation: LiquidationModel = LiquidationModel()) -> list[GapRow]:
    """Bad debt of `books` (listed params) against one-step gaps of `symbol` (module docstring)."""
    engine = MarginArrays(books)
    start = engine.health(MarketState.from_params(params))
    rows = []
    for g in gaps:
        path = gap_path(params, symbol, g)
        w = walk(engine, path, liquidation, fund, start)
        neg = float(np.maximum(0.0, -engine.equity(path.state(1), "mm")).sum())
        rows.append(GapRow(g, neg, w.liquidations, w.total_bad_debt, w.insurance_used, w.uncovered))
    return rows


@dataclass(frozen=True)
class Cover2:
    stress: float
    worst_day: str
    moves: dict                 # the worst day's stressed moves per underlying
    cover2: float               # USD the fund needs (two largest)
    cover_all: float            # USD, every account, the same day
    largest: list               # the two largest beyond-margin losses, USD
    days: int
    proxies: list               # underlyings that did not move on some days (no prices yet)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def cover2(params: Params, books: BookSet, prices: Prices, stress: float = STRESS, vol_mult: float = VOL_MULT) -> Cover2:
    """The Cover 2 fund of `books` (listed params) over every day of `prices` (module docstring)."""
    engine = MarginArrays(books)
    ref = MarketState.from_params(params)
    S = np.array([ref.spot[u] for u in params.symbols])
    V = np.array([ref.vol[u] for u in params.symbols])
    close = np.column_stack([prices.column(u) if u in prices.symbols else np.full(len(prices), np.nan)
                             for u in params.symbols])
    with np.errstate(invalid="ignore"):
        move = close[1:] / close[:-1] - 1.0
    proxies = [u for j, u in enumerate(params.symbols) if np.isnan(move[:, j]).any()]
    move = np.nan_to_num(move)
    shocked = np.maximum(1.0 + stress * move, 0.01)     # a stressed fall stops at -99 %
    best = (-1.0, 0, 0.0, [0.0, 0.0])
    for d in range(move.shape[0]):
        if not np.any(move[d]):
            continue
        state = MarketState(dict(zip(params.symbols, S * shocked[d])), dict(zip(params.symbols, V * vol_mult)), 0)
        beyond = np.maximum(0.0, -engine.equity(state, "mm"))
        top = np.sort(beyond)[-2:][::-1] if beyond.size >= 2 else np.append(beyond, 0.0)
        if top.sum() > best[0]:
            best = (float(top.sum()), d, float(beyond.sum()), [float(x) for x in top])
    c2, d, total, top = best
    return Cover2(stress, str(prices.dates[d + 1]), {u: float(stress * move[d, j]) for j, u in enumerate(params.symbols)},
                  max(c2, 0.0), total, top, int(move.shape[0]), proxies)
