"""Market history: the daily closes the forecasts, backtests and calibration read.

`load_prices(path)` reads a CSV with a `date` column (ISO dates, one row per calendar day, ascending, no gaps)
and one column per underlying (USD prices; an empty cell means no price that day). With no path it reads the
copy shipped in the package (`crossmargin/data/prices_daily.csv`, provenance in `crossmargin/data/PROVENANCE.md`):
BTC, ETH, SOL at 00:00 UTC, 2016-01-01 to 2023-06-30, so every command runs offline.

Returns are daily log returns r_t = ln(P_t / P_{t-1}), NaN where either close is missing.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SHIPPED = Path(__file__).resolve().parents[1] / "data" / "prices_daily.csv"


@dataclass(frozen=True)
class Prices:
    """Daily closes: `dates` (T,) datetime64[D], `symbols` (U,), `close` (T, U) USD with NaN for no price."""

    dates: np.ndarray
    symbols: tuple[str, ...]
    close: np.ndarray
    source: str = ""

    def __len__(self) -> int:
        return self.dates.size

    def column(self, symbol: str) -> np.ndarray:
        if symbol not in self.symbols:
            raise KeyError(f"no {symbol} column in {self.source or 'the price file'} (have {', '.join(self.symbols)})")
        return self.close[:, self.symbols.index(symbol)]

    def log_returns(self) -> np.ndarray:
        """(T, U): r_t = ln(P_t / P_{t-1}) with r_0 = NaN (and NaN wherever a close is missing)."""
        r = np.full(self.close.shape, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            r[1:] = np.log(self.close[1:] / self.close[:-1])
        return r

    def between(self, start: str | None = None, end: str | None = None) -> Prices:
        """The rows with start <= date <= end (ISO dates; None = open end)."""
        keep = np.ones(len(self), dtype=bool)
        if start:
            keep &= self.dates >= np.datetime64(start, "D")
        if end:
            keep &= self.dates <= np.datetime64(end, "D")
        return Prices(self.dates[keep], self.symbols, self.close[keep], self.source)

    def only(self, symbols) -> Prices:
        idx = [self.symbols.index(s) for s in symbols]
        return Prices(self.dates, tuple(symbols), self.close[:, idx], self.source)


def load_prices(path: str | Path | None = None) -> Prices:
    """Read a price file (see the module docstring); ValueError names the first problem found."""
    path = Path(path) if path else SHIPPED
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows or not rows[0] or rows[0][0].strip().lower() != "date":
        raise ValueError(f"{path}: the first column must be 'date'")
    symbols = tuple(s.strip() for s in rows[0][1:])
    if not symbols or any(not s for s in symbols) or len(set(symbols)) != len(symbols):
        raise ValueError(f"{path}: need one named column per underlying after 'date', got {rows[0]}")
    body = [r for r in rows[1:] if r and any(c.strip() for c in r)]
    if len(body) < 2:
        raise ValueError(f"{path}: needs at least two rows of prices")
    close = np.full((len(body), len(symbols)), np.nan)
    dates = []
    for i, row in enumerate(body, start=2):
        if len(row) != len(symbols) + 1:
            raise ValueError(f"{path}:{i}: expected {len(symbols) + 1} cells, got {len(row)}")
        try:
            dates.append(np.datetime64(row[0].strip(), "D"))
        except ValueError:
            raise ValueError(f"{path}:{i}: not an ISO date: {row[0]!r}") from None
        for j, cell in enumerate(row[1:]):
            if cell.strip():
                try:
                    x = float(cell)
                except ValueError:
                    raise ValueError(f"{path}:{i}: {symbols[j]} is not a number: {cell!r}") from None
                if not (math.isfinite(x) and x > 0):
                    raise ValueError(f"{path}:{i}: {symbols[j]} must be a positive price, got {cell}")
                close[i - 2, j] = x
    dates = np.array(dates, dtype="datetime64[D]")
    step = np.diff(dates).astype(int)
    if np.any(step != 1):
        k = int(np.flatnonzero(step != 1)[0])
        raise ValueError(f"{path}: dates must be consecutive days, ascending: {dates[k]} then {dates[k + 1]}")
    return Prices(dates, symbols, close, str(path))
