"""PNG plots of the simulation and the efficiency study (matplotlib, Agg backend: files only, no display).

Every figure has a title, axis labels with units and a legend; each function writes one file into `out`
and returns its path.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from crossmargin.sim.efficiency import EfficiencyRow  # noqa: E402
from crossmargin.sim.simulate import SimulationResult  # noqa: E402

CROSS, ISOLATED, NAIVE, FUND = "#1f77b4", "#d62728", "#7f7f7f", "#2ca02c"


def _save(fig, out: Path, name: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _bars(ax, labels, series: list[tuple[str, np.ndarray, str]], ylabel: str, fmt: str | None = None) -> None:
    x = np.arange(len(labels))
    width = 0.8 / len(series)
    top = max([float(np.max(v)) for _, v, _ in series if len(v)] + [0.0])
    ax.set_ylim(0, top * 1.25 or 1.0)  # head room for the legend and the labels
    for i, (name, values, color) in enumerate(series):
        bars = ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=name, color=color)
        if fmt:
            ax.bar_label(bars, labels=[format(v, fmt) for v in values], fontsize=7, padding=1)
    ax.set_xticks(x, labels, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.legend(ncol=len(series), loc="upper center", fontsize=8)
    ax.grid(axis="y", alpha=0.3)


def plot_paths(result: SimulationResult, out: Path) -> Path:
    """Price paths per scenario, rebased to 100 at the start (GBM: up to 20 paths of the first underlying)."""
    keys = list(result.sample_paths)
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.6), squeeze=False)
    for ax, key in zip(axes[0], keys):
        paths = result.sample_paths[key]
        hours = paths[0].times / 3600
        if key == "gbm":
            for k, p in enumerate(paths):
                ax.plot(hours, 100 * p.spot[:, 0] / p.spot[0, 0], lw=0.8, alpha=0.6,
                        label=f"{p.symbols[0]} ({len(paths)} paths)" if k == 0 else None)
            ax.set_title(f"GBM + jumps + regimes ({paths[0].symbols[0]})", fontsize=9)
        else:
            p = paths[0]
            for i, u in enumerate(p.symbols):
                ax.plot(hours, 100 * p.spot[:, i] / p.spot[0, i], label=u)
            ax.set_title(p.title, fontsize=9)
        ax.set_xlabel("time since start (hours)")
        ax.set_ylabel("price (start = 100)")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle("Simulation price paths (stress replays are stylised, not tick data)", fontsize=10)
    return _save(fig, out, "sim_paths.png")


def plot_capital(result: SimulationResult, out: Path) -> Path:
    """Initial margin at the start by book family: cross vs isolated (USD millions)."""
    kinds = result.population.by_kind
    labels = list(kinds)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    _bars(ax, labels, [("cross", np.array([kinds[k]["capital_cross"] for k in labels]) / 1e6, CROSS),
                       ("isolated", np.array([kinds[k]["capital_isolated"] for k in labels]) / 1e6, ISOLATED)],
          "initial margin (USD millions)", ".1f")
    pop = result.population
    ax.set_title(f"Capital required, {pop.books:,} random books: cross {pop.capital_cross / 1e6:,.1f}M "
                 f"vs isolated {pop.capital_isolated / 1e6:,.1f}M ({pop.ratio:.0%})", fontsize=9)
    ax.set_xlabel("book family")
    return _save(fig, out, "sim_capital.png")


def plot_liquidations(result: SimulationResult, out: Path) -> Path:
    """Share of books with at least one liquidated account, per scenario, cross vs isolated."""
    sc = result.scenarios
    n = result.population.books
    fig, ax = plt.subplots(figsize=(7, 4.2))
    _bars(ax, [s.key for s in sc], [("cross", np.array([100 * s.cross.books_hit / n for s in sc]), CROSS),
                                     ("isolated", np.array([100 * s.isolated.books_hit / n for s in sc]), ISOLATED)],
          "books liquidated (% of books, mean per path)", ".1f")
    ax.set_title(f"Liquidations per scenario ({n:,} books; isolated: a book is hit if any subaccount is)", fontsize=9)
    ax.set_xlabel("scenario")
    return _save(fig, out, "sim_liquidations.png")


def plot_bad_debt(result: SimulationResult, out: Path) -> Path:
    """Bad debt per scenario (mean per path), cross vs isolated, against the insurance fund (USD thousands)."""
    sc = result.scenarios
    fig, ax = plt.subplots(figsize=(7, 4.2))
    _bars(ax, [s.key for s in sc], [("cross", np.array([s.cross.bad_debt for s in sc]) / 1e3, CROSS),
                                     ("isolated", np.array([s.isolated.bad_debt for s in sc]) / 1e3, ISOLATED)],
          "bad debt (USD thousands, mean per path)", ",.0f")
    fund = sc[0].insurance_fund / 1e3 if sc else 0.0
    ax.axhline(fund, color=FUND, ls="--", label=f"insurance fund per mode ({fund:,.0f}k)")
    top = max([fund] + [s.cross.bad_debt / 1e3 for s in sc] + [s.isolated.bad_debt / 1e3 for s in sc])
    ax.set_ylim(0, top * 1.3 or 1.0)
    ax.legend(ncol=3, loc="upper center", fontsize=8)
    ax.set_title("Bad debt left by liquidations vs the insurance fund", fontsize=9)
    ax.set_xlabel("scenario")
    return _save(fig, out, "sim_bad_debt.png")


def plot_simulation(result: SimulationResult, out: Path) -> list[Path]:
    return [plot(result, out) for plot in (plot_paths, plot_capital, plot_liquidations, plot_bad_debt)]


def plot_efficiency(rows: list[EfficiencyRow], out: Path, params_name: str = "") -> Path:
    """Initial margin per canonical book: cross, isolated and naive sum (USD thousands); cross/isolated on top."""
    fig, ax = plt.subplots(figsize=(9, 4.8))
    labels = [r.book for r in rows]
    _bars(ax, labels, [("cross", np.array([r.cross for r in rows]) / 1e3, CROSS),
                       ("isolated", np.array([r.isolated for r in rows]) / 1e3, ISOLATED),
                       ("naive sum", np.array([r.naive for r in rows]) / 1e3, NAIVE)],
          "initial margin (USD thousands)")
    for i, r in enumerate(rows):
        ax.annotate(f"{r.cross_vs_isolated:.0%}", (i - 0.8 / 3, r.cross / 1e3), ha="center", va="bottom", fontsize=8,
                    color=CROSS, xytext=(0, 2), textcoords="offset points")
    ax.set_title(f"Capital efficiency of canonical books{f' ({params_name} parameters)' if params_name else ''}: "
                 "IM under cross, isolated and naive sum (label: cross / isolated)", fontsize=9)
    ax.set_xlabel("book")
    return _save(fig, out, "efficiency.png")
