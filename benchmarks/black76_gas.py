"""Gas of the on-chain option math (contracts/lib/{normal,black76}.vy) through the test harness.

    .venv/bin/python -m benchmarks.black76_gas

"gross" is the execution gas py-evm meters for the external call (no 21k intrinsic, no calldata);
"net" subtracts a do-nothing call with the same ABI shape, i.e. what the math costs inside a contract.
The last table prices a margin check's option book the way the RiskEngine shares work: per option one
ln(F/K), per (expiry, vol scenario) one σ·sqrt(T), per scenario one `_price_from_d`.
"""

from __future__ import annotations

from pathlib import Path

import boa
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "contracts" / "test_harness" / "Black76Harness.vy"
WAD = 10**18
DAY = 86_400


def _gas(contract, fn: str, *args) -> int:
    getattr(contract, fn)(*args)
    return contract._computation.get_gas_used()


def main() -> None:
    c = boa.load(str(HARNESS))
    console = Console()
    one_arg = _gas(c, "abs_", 1)
    five_args = _gas(c, "baseline", True, 2000 * WAD, 2000 * WAD, 30 * DAY, 8 * WAD // 10)

    prim = Table(title="normal.vy / fixed_point.vy primitives (gas)")
    for col in ("function", "input", "gross", "net"):
        prim.add_column(col, justify="right" if col in ("gross", "net") else "left")
    for fn, arg, label in [
        ("cdf", WAD // 3, "x = 0.33"),
        ("cdf", -7 * WAD, "x = -7"),
        ("cdf", 11 * WAD, "x = 11 (clamped)"),
        ("pdf", WAD, "x = 1"),
        ("mills", WAD, "x = 1 (first piece)"),
        ("mills", 7 * WAD, "x = 7 (second piece)"),
        ("wad_ln", 21 * WAD // 20, "1.05 (snekmate)"),
        ("wad_exp", -WAD // 2, "-0.5 (snekmate)"),
    ]:
        g = _gas(c, fn, arg)
        prim.add_row(fn, label, f"{g:,}", f"{g - one_arg:,}")
    console.print(prim)

    price = Table(title="black76.vy, F = 2000, T = 30 days, σ = 80 % (gas)")
    for col in ("evaluation", "K", "gross", "net"):
        price.add_column(col, justify="left" if col == "evaluation" else "right")
    F, T, s = 2000 * WAD, 30 * DAY, 8 * WAD // 10
    for K in (1000, 1900, 2000, 2100, 4000, 40000):
        g = _gas(c, "price", True, F, K * WAD, T, s)
        price.add_row("_price (call, r = 0)", f"{K:,}", f"{g:,}", f"{g - five_args:,}")
    for K in (1900, 2100):
        g = _gas(c, "price_r", False, F, K * WAD, T, s, 5 * WAD // 100, True)
        price.add_row("_price (put, r = 5 %, round up)", f"{K:,}", f"{g:,}", f"{g - five_args:,}")
    v = c.sigma_sqrt_t(s, T)
    for K in (1900, 2100):
        d1, _ = c.d1_d2(F, K * WAD, v)
        g = _gas(c, "price_from_d", True, F, K * WAD, d1, v, WAD, False)
        price.add_row("_price_from_d (per scenario)", f"{K:,}", f"{g:,}", f"{g - five_args:,}")
    for K in (1900, 2000, 2100):
        g = _gas(c, "greeks", True, F, K * WAD, T, s, 0)
        price.add_row("_greeks (price + 4 Greeks)", f"{K:,}", f"{g:,}", f"{g - five_args:,}")
    g = _gas(c, "price", True, F, 2100 * WAD, 0, s)
    price.add_row("_price, expired (intrinsic)", "2,100", f"{g:,}", f"{g - five_args:,}")
    g = _gas(c, "sigma_sqrt_t", s, T)
    price.add_row("_sigma_sqrt_t (isqrt)", "-", f"{g:,}", f"{g - one_arg:,}")
    g = _gas(c, "log_moneyness", F, 2100 * WAD)
    price.add_row("_log_moneyness (ln)", "2,100", f"{g:,}", f"{g - one_arg:,}")
    console.print(price)

    moves = [k * WAD // 40 for k in range(-4, 5)]
    vols = [7 * WAD // 10, WAD, 13 * WAD // 10]
    g = _gas(c, "scenario_grid", True, F, 2100 * WAD, T, s, moves, vols)
    d1, _ = c.d1_d2(F, 2100 * WAD, v)
    per_scenario = _gas(c, "price_from_d", True, F, 2100 * WAD, d1, v, WAD, False) - five_args
    per_option = _gas(c, "log_moneyness", F, 2100 * WAD) - one_arg + 3 * (_gas(c, "sigma_sqrt_t", s, T) - one_arg)
    grid = Table(title="scenario revaluation: 9 spot moves × 3 vols = 27 scenarios (gas)")
    grid.add_column("quantity")
    grid.add_column("gas", justify="right")
    grid.add_row("harness scenario_grid, 1 option, 27 prices (gross)", f"{g:,}")
    grid.add_row("  per price, incl. harness bookkeeping", f"{g // 27:,}")
    grid.add_row("per option shared work: 1 ln + 3 sqrt", f"{per_option:,}")
    grid.add_row("per scenario: _price_from_d", f"{per_scenario:,}")
    grid.add_row("16 options × 27 scenarios (estimate)", f"{16 * (per_option + 27 * per_scenario):,}")
    console.print(grid)


if __name__ == "__main__":
    main()
