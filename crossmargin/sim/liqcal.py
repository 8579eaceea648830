"""Is the probability of liquidation right? A calibration study on the shipped history
(`crossmargin report liquidation-forecast`).

Rolling windows: every `stride`-th day d of the history where every underlying has a close on d and d + 1 and an
EWMA forecast at d (no look-ahead: the forecast uses closes up to d). On each window day:

    books       `books` random books (`crossmargin.sim.books`, the simulation's four families, options included),
                opened at the parameter set's reference prices with the day's forecast vols in the oracle, each
                with cash set so that E_mm / MM = 1 + Exp(mean 0.35) (a spread of distances to MM, many close)
    predicted   P(liquidation within 24 h) by `crossmargin.sim.liqprob` (`--method`: fhs on the standardised
                residuals up to the window's day, by default; or Student-t with ν and scale fitted on the residuals
                before the first window; or Gaussian, the forecast vols, `paths` paths, `steps` steps)
    naive       the baseline: distance to MM in units of forecast vol, DD = (E_mm - MM) / σ_loss with σ_loss the
                one-day 1-σ loss from the account's dollar deltas, the forecast vols and ρ; P = min(1, 2·N(-DD))
                (the reflection principle for a Gaussian walk hitting a fixed barrier)
    realised    the account walked along what happened: the day's real close-to-close move, rebased, joined by a
                Brownian bridge at the forecast vol (as `crossmargin replay` does; the daily file has no intraday
                prices), the oracle vol following the feeder's EWMA recursion; liquidated iff E_mm < MM at a step

Scores: Brier = mean (p - y)² for the forecast, the naive baseline and the base rate (climatology: the study's
own realised frequency, a hindsight benchmark); skill = 1 - Brier / Brier_naive. Reliability diagram: predicted
probabilities in bins, mean predicted vs realised frequency per bin (with a Wilson 95 % interval).

Every window is one task of a sweep (`crossmargin.sim.sweep`), seeded by (seed, day): the study returns the same
numbers on one process or on a Dask cluster.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from crossmargin.model.params import DAYS_PER_YEAR, Params
from crossmargin.model.portfolio import MarketState
from crossmargin.sim.liqprob import Revaluer, ShockModel, cholesky, fit_t, oracle_vol_path, probabilities

BINS = (0.0, 0.005, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0)
RATIO_MEAN = 0.35


@dataclass(frozen=True)
class CalTask:
    """One window: everything its books, forecast and realised path need (picklable, seeded)."""

    params: Params          # listed, vols = the day's forecasts
    day: str
    index: int              # day index in the price file (the task's seed component)
    move: np.ndarray        # (U,) close(d + 1) / close(d)
    books: int
    paths: int
    steps: int
    seed: int
    nu: float
    scale: float
    method: str = "t"
    residuals: np.ndarray | None = None   # fhs: the standardised residuals up to the window's day


def calibration_tasks(params: Params, prices=None, books: int = 16, windows: int = 200, seed: int = 0,
                      paths: int = 512, steps: int = 24, start: str | None = None,
                      end: str | None = None, method: str = "fhs") -> list[CalTask]:
    """The windows of the study (module docstring) over `prices` (default: the shipped file). `method`: the tail
    model of the forecast (`t` fitted before the first window; `fhs` on the residuals up to each window's day,
    an expanding window of at least 30 days; `normal`)."""
    from crossmargin.sim.history import load_prices
    from crossmargin.sim.vol import forecast_vols, oracle_vol

    prices = prices or load_prices()
    missing = [u for u in params.symbols if u not in prices.symbols]
    if missing:
        raise ValueError(f"{prices.source}: no prices for {', '.join(missing)}")
    prices = prices.only(list(params.symbols)).between(start, end)
    f = forecast_vols(prices, params.risk.horizon_days, with_garch=False)
    o = params.oracle
    vols = np.column_stack([oracle_vol(f.ewma[:, j], u.vol_floor, o.min_vol, o.max_vol)
                            for j, u in enumerate(params.underlyings)])
    close = prices.close
    ok = ~np.isnan(vols[:-1]).any(axis=1) & ~np.isnan(close[:-1]).any(axis=1) & ~np.isnan(close[1:]).any(axis=1)
    days = np.flatnonzero(ok)
    if days.size == 0:
        raise ValueError("no window with a close on both days and a forecast for every underlying")
    stride = max(1, days.size // max(1, windows))
    days = days[::stride][:windows]
    # ν from the residuals strictly before the first window (each underlying's own days, pooled)
    r = prices.log_returns()
    from crossmargin.sim.vol import ewma_variance

    z = []
    for j in range(r.shape[1]):
        v = ewma_variance(r[:, j])
        zz = r[1:days[0] + 1, j] / np.sqrt(v[:days[0]])
        z.append(zz[~np.isnan(zz)])
    nu, scale = fit_t(np.concatenate(z))
    if method == "fhs":
        zs = np.full(r.shape, np.nan)
        for j in range(r.shape[1]):
            zs[1:, j] = r[1:, j] / np.sqrt(ewma_variance(r[:, j])[:-1])
        days = days[np.array([np.sum(~np.isnan(zs[:d + 1]).any(axis=1)) >= 30 for d in days], dtype=bool)]
    listed = params.listed(0)
    tasks = []
    for d in days:
        p = listed.replace(underlyings=tuple(dataclasses.replace(u, vol=float(vols[d, j]))
                                             for j, u in enumerate(listed.underlyings)))
        res = None
        if method == "fhs":
            rows = zs[:d + 1][~np.isnan(zs[:d + 1]).any(axis=1)]
            res = _recolour(rows, params.rho)
        tasks.append(CalTask(p, str(prices.dates[d]), int(d), close[d + 1] / close[d], books, paths, steps, seed, nu,
                             scale, method, res))
    return tasks


def _recolour(z: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Residual rows re-coloured from their own correlation to ρ, each column keeping its scale."""
    sd = z.std(axis=0)
    x = (z - z.mean(axis=0)) / sd
    recolour = cholesky(rho) @ np.linalg.inv(cholesky(np.corrcoef(x, rowvar=False)))
    return (x @ recolour.T) * sd


def naive_probability(rev: Revaluer, state: MarketState, sigma: np.ndarray, rho: np.ndarray) -> float:
    """min(1, 2·N(-DD)), DD = (E_mm - MM) / σ_loss over one day (module docstring)."""
    p = rev.params
    S = np.array([state.spot[u] for u in p.symbols])
    V = np.array([state.vol[u] for u in p.symbols])
    e, mm = rev.health(S[None], V[None], state.now)
    if e[0] < mm[0]:
        return 1.0
    h = 1e-4
    bumps = np.vstack([S * (1 + h * np.eye(len(S))[k] * s) for k in range(len(S)) for s in (1, -1)])
    eq, _ = rev.health(bumps, np.repeat(V[None], len(bumps), axis=0), state.now)
    delta_usd = (eq[0::2] - eq[1::2]) / (2 * h)
    sd = delta_usd * sigma * math.sqrt(1 / DAYS_PER_YEAR)
    loss = math.sqrt(max(0.0, float(sd @ rho @ sd)))
    if loss == 0:
        return 0.0
    return float(min(1.0, 2 * norm.cdf(-(e[0] - mm[0]) / loss)))


def calibration_task(task: CalTask) -> dict:
    """One window: per book, the forecast, the naive baseline and what happened (arrays, book order)."""
    from crossmargin.sim.simulate import build_books

    p = task.params
    state = MarketState.from_params(p)
    rng = np.random.default_rng([task.seed, task.index, 1])
    cross, _, h, _ = build_books(p, task.books, int(rng.integers(2**31)))
    target = 1.0 + rng.exponential(RATIO_MEAN, size=task.books)
    accounts = [dataclasses.replace(cross.account(i), cash=cross.account(i).cash + target[i] * h.mm[i] - h.equity_mm[i])
                for i in range(task.books)]
    sigma = np.array([state.vol[u] for u in p.symbols])
    model = ShockModel(task.method, p.rho, task.nu, task.scale, task.residuals)
    pred = probabilities(accounts, state, p, model, paths=task.paths, horizons_h=(24.0,), steps=(task.steps,),
                         seed=task.seed * 1_000_003 + task.index)
    revs = [Revaluer(a, p) for a in accounts]
    naive = [naive_probability(r, state, sigma, p.rho) for r in revs]
    # what happened: the real move, bridged at the forecast vol
    S0 = np.array([state.spot[u] for u in p.symbols])
    n, U = task.steps, len(S0)
    eps = rng.standard_normal((n, U)) @ cholesky(p.rho).T
    B = np.vstack([np.zeros((1, U)), np.cumsum(eps, axis=0)])
    k = np.arange(n + 1)[:, None] / n
    dt = 1.0 / (DAYS_PER_YEAR * n)
    logS = np.log(S0)[None] + k * np.log(task.move)[None] + sigma[None] * math.sqrt(dt) * (B - k * B[-1:])
    spot = np.exp(logS)[:, None, :]
    vol = oracle_vol_path(spot, sigma, 24.0, model.vol_response, p)
    realised = []
    for r in revs:
        e, mm = r.health(spot[1:, 0], vol[1:, 0])
        realised.append(bool((e < mm).any()))
    return {"day": task.day, "p": np.array([x.p[0] for x in pred]), "naive": np.array(naive),
            "y": np.array(realised), "kind": np.array([str(x) for x in cross.kind])}


@dataclass(frozen=True)
class Calibration:
    """The study's pooled results (one entry per book and window)."""

    p: np.ndarray
    naive: np.ndarray
    y: np.ndarray
    day: np.ndarray
    kind: np.ndarray
    paths: int = 0

    @property
    def n(self) -> int:
        return int(self.y.size)

    def brier(self, which: str = "p") -> float:
        x = {"p": self.p, "naive": self.naive, "climatology": np.full(self.n, self.y.mean())}[which]
        return float(np.mean((x - self.y) ** 2))

    @property
    def skill(self) -> float:
        """1 - Brier / Brier_naive (> 0: the forecast beats the baseline)."""
        b = self.brier("naive")
        return float(1 - self.brier("p") / b) if b > 0 else float("nan")

    def to_dict(self) -> dict:
        return {"n": self.n, "windows": int(np.unique(self.day).size), "liquidated": int(self.y.sum()),
                "frequency": float(self.y.mean()) if self.n else None, "mean_p": float(self.p.mean()),
                "mean_naive": float(self.naive.mean()), "brier": self.brier("p"), "brier_naive": self.brier("naive"),
                "brier_climatology": self.brier("climatology"), "skill_vs_naive": self.skill,
                "reliability": reliability(self.p, self.y), "reliability_naive": reliability(self.naive, self.y)}


def reliability(p: np.ndarray, y: np.ndarray, bins=BINS) -> list[dict]:
    """Per bin of predicted probability: count, mean predicted, realised frequency and its Wilson 95 % interval."""
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    idx = np.clip(np.searchsorted(bins, p, side="right") - 1, 0, len(bins) - 2)
    rows = []
    for b in range(len(bins) - 1):
        sel = idx == b
        n = int(sel.sum())
        if not n:
            continue
        f = float(y[sel].mean())
        z = 1.96
        centre = (f + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(f * (1 - f) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        rows.append({"bin": [bins[b], bins[b + 1]], "n": n, "predicted": float(p[sel].mean()), "realised": f,
                     "low": max(0.0, centre - half), "high": min(1.0, centre + half)})
    return rows


def run_calibration(tasks: list[CalTask], mapper=None) -> Calibration:
    """Run every window (in task order; `mapper` as in `crossmargin.sim.sweep.Sweep.map`) and pool them."""
    parts = list(mapper(calibration_task, tasks)) if mapper else [calibration_task(t) for t in tasks]
    cat = lambda k: np.concatenate([x[k] for x in parts]) if parts else np.zeros(0)  # noqa: E731
    return Calibration(cat("p"), cat("naive"), cat("y").astype(bool),
                       np.concatenate([np.full(x["p"].size, x["day"]) for x in parts]) if parts else np.zeros(0),
                       cat("kind"), tasks[0].paths if tasks else 0)


def plot_reliability(cal: Calibration, out_dir, title: str = "", method: str = "fhs"):
    """reliability diagram (forecast and naive baseline) + histogram of predictions: liquidation_forecast.png."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, hx) = plt.subplots(1, 2, figsize=(11, 4.8), gridspec_kw={"width_ratios": [1.4, 1]})
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfect calibration")
    tails = {"t": "Student-t", "fhs": "filtered historical", "normal": "Gaussian"}.get(method, method)
    for name, rows, colour in ((f"Monte Carlo ({tails}, full revaluation)", reliability(cal.p, cal.y), "C0"),
                               ("naive: distance to MM in forecast vols", reliability(cal.naive, cal.y), "C1")):
        x = [r["predicted"] for r in rows]
        yv = [r["realised"] for r in rows]
        err = [[r["realised"] - r["low"] for r in rows], [r["high"] - r["realised"] for r in rows]]
        ax.errorbar(x, yv, yerr=err, marker="o", capsize=3, color=colour, label=name)
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set_yscale("symlog", linthresh=0.01)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted P(liquidation within 24 h)")
    ax.set_ylabel("realised frequency")
    ax.set_title(f"reliability ({cal.n:,} book-days; Brier {cal.brier('p'):.4f} vs naive {cal.brier('naive'):.4f})",
                 fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    edges = np.array(BINS)
    hx.hist([cal.p, cal.naive], bins=edges, label=["Monte Carlo", "naive"], color=["C0", "C1"])
    hx.set_xscale("symlog", linthresh=0.01)
    hx.set_yscale("log")
    hx.set_xlabel("predicted probability")
    hx.set_ylabel("book-days")
    hx.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(out_dir) / ("liquidation_forecast.png" if method == "fhs" else f"liquidation_forecast_{method}.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
