"""Fuzz speed by engine: the liquidation machine's steps per second on pyrevm (in process) and on anvil (JSON-RPC).

    python benchmarks/node_fuzz.py [--steps 1000] [--json]

Both runs: the same machine (crossmargin/fuzz/machine.py), linear books, seed 0, `--steps` steps. The anvil row
fuzzes a deployment made by `crossmargin deploy` on a fresh anvil (deploy time not counted; setup = attaching the
world: caps, fresh rounds, trader accounts, probe). Wall time and process CPU time are both shown: on a shared
machine the wall figures move with the load, the ratio within one run is the figure to compare. The node pays
an HTTP round trip per view and three to four per transaction (eth_call for the outcome, the block timestamp,
eth_sendTransaction, its receipt), hence the ~50-100× gap.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _revm(steps: int) -> dict:
    from crossmargin.fuzz.machine import LiquidationMachine
    from crossmargin.fuzz.runner import run

    t = time.perf_counter()
    m = LiquidationMachine()
    setup = time.perf_counter() - t
    c0, t0 = time.process_time(), time.perf_counter()
    r = run(steps, 0, machine=m)
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    assert r.violation is None, r.violation
    return {"engine": "revm (in process)", "steps": r.steps, "setup_s": setup, "wall_steps_s": r.steps / wall,
            "cpu_steps_s": r.steps / cpu, "txs": r.stats.txs}


def _anvil(steps: int) -> dict:
    from crossmargin.chain.node import Anvil
    from crossmargin.fuzz.node import fuzz_node

    with tempfile.TemporaryDirectory() as tmp, Anvil() as node:
        env = dict(os.environ, CROSSMARGIN_DEPLOYMENTS=tmp, CROSSMARGIN_CACHE=tmp)
        subprocess.run([sys.executable, "-m", "crossmargin", "deploy", "--network", node.uri, "--json"], cwd=ROOT,
                       env=env, check=True, capture_output=True)
        c0 = time.process_time()
        r = fuzz_node(node.uri, str(Path(tmp) / f"{31337}.json"), steps, 0, replay_dir=tmp)
        cpu = time.process_time() - c0
    assert r.report.violation is None, r.report.violation
    return {"engine": f"anvil ({r.client}, JSON-RPC)", "steps": r.report.steps, "setup_s": r.setup_seconds,
            "wall_steps_s": r.report.steps_per_second, "cpu_steps_s": r.report.steps / cpu,
            "txs": r.report.stats.txs, "rpc_calls": r.rpc_calls}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = [_revm(args.steps), _anvil(args.steps)]
    ratio = rows[0]["wall_steps_s"] / rows[1]["wall_steps_s"]
    if args.json:
        print(json.dumps({"rows": rows, "revm_over_anvil": ratio}, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"liquidation machine, {args.steps} steps, seed 0 (linear books)")
    for col in ("engine", "steps/s (wall)", "steps/s (process CPU)", "txs", "setup (s)"):
        t.add_column(col, justify="left" if col == "engine" else "right")
    for r in rows:
        t.add_row(r["engine"], f"{r['wall_steps_s']:,.1f}", f"{r['cpu_steps_s']:,.0f}", f"{r['txs']:,}",
                  f"{r['setup_s']:.1f}")
    Console().print(t)
    print(f"revm / anvil: {ratio:,.0f}× (wall)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
