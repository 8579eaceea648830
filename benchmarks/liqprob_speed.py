"""Probability of liquidation: Monte Carlo revaluation speed, and the Dask sweep on 1 vs 2 workers.

    python benchmarks/liqprob_speed.py [--json]

Rows (default parameters, random books of `crossmargin.sim.books`, Student-t tails fitted to the shipped history):
  - revaluation: `Revaluer.health` of every account of a linear book on pre-drawn paths (24 h, 288 steps):
    account-path revaluations per second, one revaluation = one account at one step of one path
    (target: >= 1,000,000 / s for linear books);
  - end to end: `probabilities` (path generation + revaluation + first breach) for the same linear book, and
    for a book holding options (27 Black-76 scenario prices per option per state);
  - sweep: the calibration study's windows (`crossmargin.sim.liqcal`) in this process, then on a Dask LocalCluster
    of 1 and 2 worker processes; the results must be identical (each task seeded by its window). Expected scaling
    on a machine with 2 free cores: about 1.8-1.9x from 1 to 2 workers (tasks are independent and ~0.5 s each;
    the rest is scheduling and cluster start-up, excluded). On a shared machine the second worker competes for
    the same cores and the ratio says so.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure() -> dict:
    import numpy as np

    from crossmargin.model.params import load_params
    from crossmargin.model.portfolio import MarketState
    from crossmargin.sim.liqcal import calibration_tasks, run_calibration
    from crossmargin.sim.liqprob import Revaluer, probabilities, shock_model, simulate_paths
    from crossmargin.sim.simulate import build_books
    from crossmargin.sim.sweep import Sweep

    p = load_params("default").listed(0)
    cross, *_ = build_books(p, 80, 0)
    accounts = [cross.account(i) for i in range(len(cross))]
    linear = [a for a in accounts if all(x.spec.is_linear for x in a.positions)][:20]
    options = [a for a in accounts if any(not x.spec.is_linear for x in a.positions)][:4]
    state = MarketState.from_params(p)
    model = shock_model(p, "t")
    S0 = np.array([state.spot[u] for u in p.symbols])
    sig = np.array([state.vol[u] for u in p.symbols])
    paths, steps = 4096, 288
    spot, vol = simulate_paths(S0, sig, 24.0, steps, paths, model, np.random.default_rng(0), p)
    S, V = spot[1:].reshape(-1, 3), vol[1:].reshape(-1, 3)
    revs = [Revaluer(a, p) for a in linear]
    revs[0].health(S[:1000], V[:1000])
    t = time.perf_counter()
    for r in revs:
        r.health(S, V)
    reval = len(revs) * S.shape[0] / (time.perf_counter() - t)
    out = {"linear_accounts": len(revs), "paths": paths, "steps": steps, "revaluations_per_s": reval}
    t = time.perf_counter()
    probabilities(linear, state, p, model, paths=paths, horizons_h=(24.0,), steps=(steps,))
    out["end_to_end_linear_per_s"] = len(linear) * paths * steps / (time.perf_counter() - t)
    t = time.perf_counter()
    probabilities(options, state, p, model, paths=1024, horizons_h=(24.0,), steps=(96,))
    out["end_to_end_options_per_s"] = len(options) * 1024 * 96 / (time.perf_counter() - t)
    out["option_accounts"] = len(options)
    tasks = calibration_tasks(load_params("default"), books=8, windows=16, paths=512, steps=24)
    t = time.perf_counter()
    ref = run_calibration(tasks).to_dict()
    out["sweep"] = {"tasks": len(tasks), "here_s": time.perf_counter() - t}
    for w in (1, 2):
        with Sweep(workers=w) as sw:
            run_calibration(tasks[:w], sw.map)   # workers up, modules imported (first task: ~2 s of imports)
            t = time.perf_counter()
            got = run_calibration(tasks, sw.map).to_dict()
            out["sweep"][f"workers_{w}_s"] = time.perf_counter() - t
            out["sweep"][f"workers_{w}_identical"] = got == ref
    out["sweep"]["speedup_2_vs_1"] = out["sweep"]["workers_1_s"] / out["sweep"]["workers_2_s"]
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    out = measure()
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    t = Table(title="probability of liquidation: account-path revaluations per second", title_justify="left")
    for c in ("workload", "rate / s", "target"):
        t.add_column(c, justify="left" if c == "workload" else "right")
    t.add_row(f"revaluation, {out['linear_accounts']} linear accounts x {out['paths']:,} paths x {out['steps']} steps",
              f"{out['revaluations_per_s']:,.0f}", ">= 1,000,000")
    t.add_row("end to end (paths + revaluation + first breach), same linear book",
              f"{out['end_to_end_linear_per_s']:,.0f}", "")
    t.add_row(f"end to end, {out['option_accounts']} accounts holding options (1,024 paths x 96 steps)",
              f"{out['end_to_end_options_per_s']:,.0f}", "")
    s = out["sweep"]
    d = Table(title=f"Dask sweep: calibration study, {s['tasks']} windows x 8 books", title_justify="left")
    for c in ("runs on", "seconds", "identical to this process"):
        d.add_column(c, justify="left" if c == "runs on" else "right")
    d.add_row("this process (no Dask)", f"{s['here_s']:.1f}", "-")
    d.add_row("LocalCluster, 1 worker", f"{s['workers_1_s']:.1f}", str(s["workers_1_identical"]))
    d.add_row("LocalCluster, 2 workers", f"{s['workers_2_s']:.1f}", str(s["workers_2_identical"]))
    c = Console(width=120)
    c.print(t)
    c.print(d)
    c.print(f"2 vs 1 worker: {s['speedup_2_vs_1']:.2f}x (expected about 1.8-1.9x with 2 free cores; less when other "
            "processes share them)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
