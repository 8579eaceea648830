"""PNG plots of the market-history work: vol forecasts and the margin backtest (matplotlib Agg, files only)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from crossmargin.sim.backtest import BacktestResult  # noqa: E402
from crossmargin.sim.plots import _save  # noqa: E402
from crossmargin.sim.vol import VolForecasts  # noqa: E402

EWMA, GARCH, REALISED, BREACH = "#1f77b4", "#d62728", "#7f7f7f", "#d62728"


def plot_vol_forecast(f: VolForecasts, out: Path) -> Path:
    """Per underlying: 30-day forward realised vol against the EWMA and GARCH forecasts (annualised, %)."""
    U = len(f.symbols)
    fig, axes = plt.subplots(U, 1, figsize=(10, 2.8 * U), squeeze=False, sharex=True)
    d = f.dates.astype("datetime64[D]").astype(object)
    for ax, j, u in zip(axes[:, 0], range(U), f.symbols):
        ax.plot(d, 100 * f.realised[:, j], color=REALISED, lw=0.8, label="realised, next 30 days")
        ax.plot(d, 100 * f.ewma[:, j], color=EWMA, lw=0.8, label="EWMA λ 0.94")
        ax.plot(d, 100 * f.garch[:, j], color=GARCH, lw=0.8, label=f"GARCH(1,1)-t, re-fit every {f.refit_days} d")
        ax.set_ylabel(f"{u} vol (% a year)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
    axes[0, 0].set_title(f"Volatility forecasts at the close of each day (horizon {f.horizon_days:g} d, annualised) "
                         "vs the realised vol that followed", fontsize=9)
    axes[-1, 0].set_xlabel("date")
    return _save(fig, out, "vol_forecast.png")


def plot_backtest(result: BacktestResult, out: Path, name: str = "backtest.png") -> Path:
    """Per book: realised loss over the horizon and MM (USD thousands), breaches marked."""
    books = [b for b in result.books if b.days]
    fig, axes = plt.subplots(len(books), 1, figsize=(10, 2.2 * len(books)), squeeze=False, sharex=True)
    for ax, b in zip(axes[:, 0], books):
        d = b.dates.astype("datetime64[D]").astype(object)
        ax.plot(d, b.mm / 1e3, color=EWMA, lw=0.8, label="MM")
        ax.plot(d, b.loss / 1e3, color=REALISED, lw=0.5, label="realised loss")
        hit = b.hits
        ax.scatter(np.array(d)[hit], b.loss[hit] / 1e3, color=BREACH, s=10, zorder=3, label=f"breach ({b.breaches})")
        lr, p = b.kupiec
        if b.testable:
            ax.set_title(f"{b.book}: coverage {b.coverage:.2%}, Kupiec p {p:.3f}, Christoffersen p "
                         f"{b.christoffersen[1]:.3f} ({b.label}; traffic light {b.traffic_light[0]})", fontsize=8)
        else:
            ax.set_title(f"{b.book}: not testable (no loss on index data)", fontsize=8)
        ax.set_ylabel("USD k")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="upper left", ncol=3)
    axes[-1, 0].set_xlabel("day t (loss over t → t + H)")
    fig.suptitle(f"MM backtest, params {result.params}, vol {result.vol}, horizon {result.horizon_days} d",
                 fontsize=10)
    return _save(fig, out, name)


def plot_fund(series: dict, fund: float, out: Path, symbol: str = "ETH") -> Path:
    """Bad debt (the walk's) against the one-step gap size, one line per book set, the configured fund as a line."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for name, rows in series.items():
        ax.plot([100 * r.gap for r in rows], [r.bad_debt / 1e6 for r in rows], marker="o", label=name)
    ax.axhline(fund / 1e6, color="#2ca02c", ls="--", label=f"insurance fund ({fund / 1e6:,.2f}M)")
    ax.set_xlabel(f"one-step {symbol} gap (%), its vol doubling")
    ax.set_ylabel("bad debt (USD millions)")
    ax.set_title("Gap risk: bad debt after the walk's liquidation vs the insurance fund", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out, "fund.png")
