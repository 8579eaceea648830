"""`simulate`: random books walked along GBM paths and stress replays, under cross and under isolated margin.

For each run: `books` random books (`crossmargin.sim.books`) are opened at the reference prices; each is
funded by its owner to `buffer · IM` (the same buffer for the book's cross account and for each of its
isolated subaccounts, so both modes hold the same cushion relative to their own requirement). Then every
scenario path is walked twice (`crossmargin.sim.engine.walk`): once with one cross account per book, once
with the isolated subaccounts. Each mode has its own insurance fund of the same size: `insurance` × the books'
gross notional at the start.

Reported per scenario (means over the scenario's paths; stress replays have one path):
    capital        Σ IM at the start, cross vs isolated (the same for every scenario: all start at reference)
    liquidations   accounts liquidated, and books with at least one liquidated account
    bad debt       what liquidated accounts still owed, against the insurance fund; "uncovered" is socialised

Assumptions (stated, not hidden): owners are passive after funding (no top-ups, no de-risking, so a vol spike
that raises MM liquidates thin books by itself); no funding payments; the auction closes `delay_steps` hourly
steps after the breach (gap risk inside an hour is not modelled: stylised paths are hourly, so bad debt is a
lower bound for the fastest crashes; raise `--liq-delay` to stress slow auctions).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from crossmargin.model.params import Params
from crossmargin.model.portfolio import MarketState
from crossmargin.sim.books import KINDS, BookSet, random_books
from crossmargin.sim.engine import Health, LiquidationModel, MarginArrays, WalkResult, walk
from crossmargin.sim.paths import GBMConfig, PricePath, gbm_paths
from crossmargin.sim.stress import SCENARIOS

SCENARIO_KEYS = ("gbm",) + tuple(SCENARIOS)


@dataclass(frozen=True)
class SimConfig:
    books: int = 2000
    paths: int = 10                           # GBM paths (stress replays are one path each)
    scenarios: tuple[str, ...] = SCENARIO_KEYS
    seed: int = 0
    gbm: GBMConfig = GBMConfig()
    liquidation: LiquidationModel = LiquidationModel()
    insurance: float = 0.001                  # fund per mode, as a fraction of the books' gross notional

    def __post_init__(self) -> None:
        if self.books < 1 or self.paths < 1:
            raise ValueError(f"need at least one book and one path, got books={self.books}, paths={self.paths}")
        unknown = [s for s in self.scenarios if s not in SCENARIO_KEYS]
        if unknown:
            raise ValueError(f"unknown scenario(s) {unknown}; known: {list(SCENARIO_KEYS)}")
        if self.insurance < 0:
            raise ValueError(f"insurance must be >= 0, got {self.insurance}")

    def walks(self) -> int:
        """Path walks per mode (the progress total)."""
        return sum(self.paths if s == "gbm" else 1 for s in self.scenarios)


@dataclass(frozen=True)
class Population:
    """The books at the start: capital required under cross and under isolated margin (IM, USD)."""

    books: int
    subaccounts: int                 # isolated subaccounts the books split into
    gross_notional: float            # Σ |size|·S + collateral value, USD
    capital_cross: float             # Σ IM of the cross accounts
    capital_isolated: float          # Σ IM of the isolated subaccounts
    median_book_ratio: float         # median over books of cross IM / isolated IM
    scenario_cross_le_isolated: bool  # R_cross <= Σ R_isolated on every book (DESIGN §5 invariant)
    by_kind: dict[str, dict[str, float]]

    @property
    def ratio(self) -> float:
        return self.capital_cross / self.capital_isolated if self.capital_isolated else float("nan")


@dataclass(frozen=True)
class ModeStats:
    """One margin mode over a scenario's paths (means per path unless named otherwise)."""

    accounts: int            # accounts walked (books, or isolated subaccounts)
    liquidations: float      # accounts liquidated
    books_hit: float         # books with at least one liquidated account
    bad_debt: float          # USD owed by liquidated accounts
    bad_debt_max: float      # USD, worst path
    insurance_used: float    # USD paid by the fund
    uncovered: float         # USD the fund could not pay (socialised)
    paths_fund_exhausted: int
    penalties: float         # USD owners lost to liquidation discounts
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)  # books_hit, bad_debt per book family
    auctions: float = 0.0    # auctions opened (the contract's walk: an account may have several)
    bids: float = 0.0        # bids taken
    partial_bids: float = 0.0  # bids capped below the whole portfolio (f_max < 1)
    funding_paid: float = 0.0  # USD of perp funding the accounts paid, net


@dataclass(frozen=True)
class ScenarioResult:
    key: str
    title: str
    stylised: bool
    sources: str
    paths: int
    steps: int
    hours: float
    trough: dict[str, float]     # lowest price vs start per underlying (GBM: the worst path)
    insurance_fund: float        # USD, per mode
    cross: ModeStats
    isolated: ModeStats


@dataclass(frozen=True)
class SimulationResult:
    params: str
    config: SimConfig
    population: Population
    scenarios: list[ScenarioResult]
    seconds: float
    sample_paths: dict[str, list[PricePath]] = field(default_factory=dict, repr=False)  # for plots

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able numbers (no arrays)."""
        pop = dataclasses.asdict(self.population) | {"ratio": self.population.ratio}
        return {
            "params": self.params,
            "config": _plain(dataclasses.asdict(self.config)),
            "population": _plain(pop),
            "scenarios": [_plain(dataclasses.asdict(s)) for s in self.scenarios],
            "seconds": round(self.seconds, 3),
        }


def build_books(params: Params, n: int, seed: int) -> tuple[BookSet, BookSet, Health, Health]:
    """(cross books, isolated subaccounts), funded, and their health at the start (reference prices, t = 0).
    `params` must be listed."""
    rng_books = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[0])
    state = MarketState.from_params(params)
    cross = random_books(params, n, rng_books, state)
    iso = cross.isolated()
    cross = cross.funded(*_im_eq(cross, state))
    iso = iso.funded(*_im_eq(iso, state))
    return cross, iso, MarginArrays(cross).health(state), MarginArrays(iso).health(state)


def simulate(params: Params, config: SimConfig = SimConfig(),
             progress: Callable[[int, str], None] | None = None) -> SimulationResult:
    """Run `config` on `params` (see the module docstring). `progress(1, description)` after each path walk."""
    started = time.perf_counter()
    listed = params.listed(0)
    cross, iso, h_cross, h_iso = build_books(listed, config.books, config.seed)
    state0 = MarketState.from_params(listed)
    spot0 = np.array([state0.spot[u] for u in listed.symbols])
    gross = float(cross.gross_notional(spot0).sum())
    fund = config.insurance * gross
    population = _population(cross, iso, h_cross, h_iso, gross)
    engines = {"cross": MarginArrays(cross), "isolated": MarginArrays(iso)}
    starts = {"cross": h_cross, "isolated": h_iso}
    rng_paths = np.random.default_rng(np.random.SeedSequence(config.seed).spawn(2)[1])

    results, samples = [], {}
    for key in config.scenarios:
        if key == "gbm":
            paths = gbm_paths(listed, config.paths, rng_paths, config.gbm)
        else:
            paths = [SCENARIOS[key].path(listed)]
        samples[key] = paths[: min(len(paths), 20)]
        walks: dict[str, list[WalkResult]] = {"cross": [], "isolated": []}
        for path in paths:
            for mode in walks:
                walks[mode].append(walk(engines[mode], path, config.liquidation, fund, starts[mode]))
            if progress:
                progress(1, f"{key}: {path.name}")
        p0 = paths[0]
        results.append(ScenarioResult(
            key=key, title=p0.title if p0.stylised else "correlated GBM + jumps + vol regimes",
            stylised=p0.stylised, sources=p0.sources, paths=len(paths), steps=p0.steps,
            hours=float(p0.times[-1] / 3600),
            trough={u: float(min(p.trough()[i] for p in paths)) for i, u in enumerate(listed.symbols)},
            insurance_fund=fund,
            cross=_stats(walks["cross"], cross),
            isolated=_stats(walks["isolated"], iso),
        ))
    return SimulationResult(params.name, config, population, results, time.perf_counter() - started, samples)


# ---------------------------------------------------------------------------------------------------------

def _im_eq(books: BookSet, state: MarketState) -> tuple[np.ndarray, np.ndarray]:
    h = MarginArrays(books).health(state)
    return h.im, h.equity_im


def _population(cross: BookSet, iso: BookSet, h_cross: Health, h_iso: Health, gross: float) -> Population:
    n = len(cross)
    iso_im = np.bincount(iso.owner, weights=h_iso.im, minlength=n)
    iso_r = np.bincount(iso.owner, weights=h_iso.scenario, minlength=n)
    ok = iso_im > 0
    by_kind = {}
    for k in KINDS:
        m = cross.kind == k
        if m.any():
            by_kind[k] = {"books": int(m.sum()), "capital_cross": float(h_cross.im[m].sum()),
                          "capital_isolated": float(iso_im[m].sum()),
                          "ratio": float(h_cross.im[m].sum() / iso_im[m].sum()) if iso_im[m].sum() else float("nan")}
    return Population(
        books=n, subaccounts=len(iso), gross_notional=gross,
        capital_cross=float(h_cross.im.sum()), capital_isolated=float(iso_im.sum()),
        median_book_ratio=float(np.median(h_cross.im[ok] / iso_im[ok])) if ok.any() else float("nan"),
        scenario_cross_le_isolated=bool(np.all(h_cross.scenario <= iso_r * (1 + 1e-12) + 1e-9)),
        by_kind=by_kind,
    )


def _stats(walks: list[WalkResult], books: BookSet) -> ModeStats:
    n = len(walks)
    hit, debt = [], []
    kinds_hit = {k: 0.0 for k in KINDS}
    kinds_debt = {k: 0.0 for k in KINDS}
    for w in walks:
        liq = w.liquidated_step >= 0
        owners = np.unique(books.owner[liq])
        hit.append(owners.size)
        debt.append(w.total_bad_debt)
        for k in KINDS:
            kinds_hit[k] += np.unique(books.owner[liq & (books.kind == k)]).size / n
            kinds_debt[k] += float(w.bad_debt[books.kind == k].sum()) / n
    by_kind = {k: {"books_hit": kinds_hit[k], "bad_debt": kinds_debt[k]} for k in KINDS
               if (books.kind == k).any()}
    return ModeStats(
        accounts=len(books),
        liquidations=float(np.mean([w.liquidations for w in walks])),
        books_hit=float(np.mean(hit)),
        bad_debt=float(np.mean(debt)),
        bad_debt_max=float(np.max(debt)),
        insurance_used=float(np.mean([w.insurance_used for w in walks])),
        uncovered=float(np.mean([w.uncovered for w in walks])),
        paths_fund_exhausted=int(sum(w.uncovered > 0 for w in walks)),
        penalties=float(np.mean([w.penalty.sum() for w in walks])),
        by_kind=by_kind,
        auctions=float(np.mean([w.auctions for w in walks])),
        bids=float(np.mean([w.bids for w in walks])),
        partial_bids=float(np.mean([w.partial_bids for w in walks])),
        funding_paid=float(np.mean([w.funding_paid for w in walks])),
    )


def _plain(x: Any) -> Any:
    """Dataclass dicts -> JSON-able (numpy scalars to floats, tuples to lists, NaN to None)."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return None if not np.isfinite(x) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x
