"""Simulation speed: the vectorised engine (books × steps per second) against the model's `requirements` loop.

    python benchmarks/sim_speed.py [--seconds 1.0] [--books 100,1000,5000] [--json]

Workloads, all on random books from `crossmargin.sim.books` (default parameters, seed 0):
  - `MarginArrays.health` on one state: the cross accounts (one per book) and the isolated subaccounts;
    "books × steps / s" counts books, so the isolated row includes all of a book's subaccounts;
  - `walk` along the 2020-03-12 stylised replay (48 hourly steps): health plus liquidation bookkeeping;
  - the reference model, one account at a time: `requirements` (cross) and `isolated_requirements` calls per
    second, i.e. the books × steps per second of a walk that called the model per book and step ("vs model").
Each cell runs for about `--seconds` of wall time; compare figures as ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the model call a non-vectorised walk would make per book and step, in each mode
BASELINE = {"cross": "requirements_calls_s", "isolated": "isolated_requirements_calls_s"}


def _rate(call, seconds: float) -> float:
    """Calls per second of `call()` over about `seconds` of wall time (after one warm-up call)."""
    call()
    calls, start = 0, time.perf_counter()
    while True:
        call()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls / elapsed


def measure(seconds: float, sizes: list[int]) -> dict:
    from crossmargin.model.margin import isolated_requirements, requirements
    from crossmargin.model.params import load_params
    from crossmargin.sim.engine import MarginArrays, walk
    from crossmargin.sim.simulate import build_books
    from crossmargin.sim.stress import SCENARIOS

    params = load_params("default").listed(0)
    path = SCENARIOS["2020-03-12"].path(params)
    state = path.state(26)
    rows = []
    for n in sizes:
        cross, iso, _, _ = build_books(params, n, seed=0)
        for mode, books in (("cross", cross), ("isolated", iso)):
            engine = MarginArrays(books)
            health = _rate(lambda: engine.health(state), seconds)
            walks = _rate(lambda: walk(engine, path), seconds)
            rows.append({"books": n, "mode": mode, "accounts": len(books), "health_calls_s": health,
                         "health_books_steps_s": health * n, "walk_books_steps_s": walks * n * path.steps})
    cross, _, _, _ = build_books(params, 200, seed=0)
    accounts = [cross.account(i) for i in range(200)]
    i = iter(range(10**12))
    req = _rate(lambda: requirements(accounts[next(i) % 200], state, params), seconds)
    iso_req = _rate(lambda: isolated_requirements(accounts[next(i) % 200], state, params), seconds)
    model = {"requirements_calls_s": req, "isolated_requirements_calls_s": iso_req}
    return {"engine": rows, "model": model, "path": path.name, "steps": path.steps}


def _si(value: float) -> str:
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:,.1f}{prefix}"
    return f"{value:,.1f}"


def render(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    model = result["model"]
    t = Table(title=f"Simulation engine speed (vectorised over accounts; walk = {result['path']}, "
                    f"{result['steps']} hourly steps)", title_justify="left")
    for col in ("books", "mode", "accounts", "health/s", "books×steps/s\n(health)", "books×steps/s\n(walk)",
                "vs model\nloop"):
        t.add_column(col, justify="left" if col == "mode" else "right")
    for r in result["engine"]:
        t.add_row(f"{r['books']:,}", r["mode"], f"{r['accounts']:,}", _si(r["health_calls_s"]),
                  _si(r["health_books_steps_s"]), _si(r["walk_books_steps_s"]),
                  f"{r['walk_books_steps_s'] / model[BASELINE[r['mode']]]:,.0f}x")
    m = Table(title="Reference model, one account per call (crossmargin.model.margin)", title_justify="left")
    m.add_column("function")
    m.add_column("calls/s", justify="right")
    m.add_column("per call", justify="right")
    for name, key in (("requirements", BASELINE["cross"]), ("isolated_requirements", BASELINE["isolated"])):
        m.add_row(name, _si(model[key]), f"{1e3 / model[key]:,.2f} ms")
    console = Console(width=max(Console().width, 110))
    console.print(t)
    console.print(m)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="wall time per cell (default 1.0)")
    parser.add_argument("--books", default="100,1000,5000", help="comma-separated book counts")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of tables")
    options = parser.parse_args(argv)
    result = measure(options.seconds, [int(x) for x in options.books.split(",")])
    if options.json:
        print(json.dumps(result, indent=2))
    else:
        render(result)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
