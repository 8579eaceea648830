"""Backtest speed: the MM backtest of the canonical books over the shipped history (3 underlyings × 7.5 years), GARCH forecasts included; target ≤ 30 s.

    python benchmarks/backtest_speed.py [--refit-days 30] [--json]

One row per vol method: the whole `crossmargin backtest` computation without its plot — load the shipped closes,
fit the forecasts (GARCH(1,1)-t by `arch` on an expanding window re-fit every `--refit-days` days, no look-ahead;
EWMA), then per day the model's MM of the 7 canonical books (vectorised over books) against the realised one-day
loss. Wall time (the target) and process CPU time are both shown: on a shared machine CPU time is the work done.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 30.0


def measure(refit_days: int) -> list[dict]:
    from crossmargin.model.params import load_params
    from crossmargin.sim.backtest import backtest
    from crossmargin.sim.history import load_prices
    from crossmargin.sim.vol import forecast_vols

    params = load_params("default")
    rows = []
    for vol in ("garch", "ewma", "oracle-const"):
        wall, cpu = time.perf_counter(), time.process_time()
        prices = load_prices()
        f = forecast_vols(prices, params.risk.horizon_days, refit_days=refit_days, with_garch=vol == "garch") \
            if vol != "oracle-const" else None
        fit_s = time.perf_counter() - wall
        result = backtest(params, prices, vol, f)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        years = (prices.dates[-1] - prices.dates[0]).astype(int) / 365.25
        fits = sum(len(v) for v in f.fits.values()) if f is not None and vol == "garch" else 0
        rows.append({"vol": vol, "underlyings": len(prices.symbols), "years": round(float(years), 2),
                     "books": len(result.books), "book_days": sum(b.days for b in result.books),
                     "garch_fits": fits, "refit_days": refit_days if vol == "garch" else None,
                     "forecast_s": fit_s, "wall_s": wall, "cpu_s": cpu, "within_target": wall <= TARGET_S})
    return rows


def render(rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"MM backtest of the canonical books over the shipped history (target <= {TARGET_S:.0f} s)",
              title_justify="left")
    for col in ("vol", "underlyings × years", "books", "book-days", "GARCH fits", "forecasts s", "wall s", "CPU s",
                "<= 30 s"):
        t.add_column(col, justify="left" if col == "vol" else "right")
    for r in rows:
        t.add_row(r["vol"], f"{r['underlyings']} × {r['years']:.1f}", str(r["books"]), f"{r['book_days']:,}",
                  f"{r['garch_fits']} (every {r['refit_days']} d)" if r["garch_fits"] else "-",
                  f"{r['forecast_s']:.1f}", f"{r['wall_s']:.1f}", f"{r['cpu_s']:.1f}",
                  "yes" if r["within_target"] else "NO")
    Console(width=max(Console().width, 110)).print(t)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refit-days", type=int, default=30, help="GARCH re-fit schedule, days (default 30)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    options = parser.parse_args(argv)
    rows = measure(options.refit_days)
    print(json.dumps(rows, indent=2)) if options.json else render(rows)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
