"""Engine speed: titanoboa (py-evm) against pyrevm (revm) on the same bytecode, ratio in the same run.

    python benchmarks/engine_speed.py [--seconds 1.5] [--rounds 2000] [--json]

Contract: tests/unit/harness/RevmProbe.vy. Workloads: `work(rounds)` (a mul/div/mod loop, like fixed-point
pricing code), `total()` (a trivial view) and `deposit(1, 1)` (a trivial transaction: two storage writes and an
event). Engines: titanoboa as tests use it, pyrevm through `crossmargin.chain.revm` (ABI encode/decode included)
and bare pyrevm (`message_call` with ready calldata: the floor). Gas per call is revm's receipt gas (21,000
intrinsic included) for every engine: the same bytecode does the same work, and titanoboa does not count gas per
transaction (its warm/cold access sets persist across calls). Each cell runs for `--seconds` of wall time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = ROOT / "tests" / "unit" / "harness" / "RevmProbe.vy"


def _rate(call, seconds: float) -> tuple[float, int]:
    """Calls per second of `call()` over about `seconds` of wall time (at least one call)."""
    call()  # warm-up: caches, first-touch storage
    calls, start = 0, time.perf_counter()
    while True:
        call()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls / elapsed, calls


def measure(seconds: float, rounds: int) -> list[dict]:
    import boa

    from crossmargin.chain.artifacts import artifact_from_path
    from crossmargin.chain.revm import RevmChain

    cap = 2**255
    art = artifact_from_path(PROBE)
    chain = RevmChain()
    revm = chain.deploy(art, cap)
    py = boa.load_partial(str(PROBE)).deploy(cap)
    selector = {f: getattr(revm, f)._overloads for f in ("work", "total", "deposit")}

    def bare(name: str, *args) -> tuple:
        sel, inputs, _, static = selector[name][len(args)]
        data = sel + inputs.encode(args)
        return lambda: chain.evm.message_call(chain.eoa, revm.address, data, is_static=static)

    workloads = [
        (f"compute: work({rounds})", (rounds,), "work"),
        ("view: total()", (), "total"),
        ("transaction: deposit(1, 1)", (1, 1), "deposit"),
    ]
    rows = []
    for label, args, name in workloads:
        for _ in range(2):  # the second call: slots already written, as in the timed loop
            getattr(revm, name)(*args)
        gas = chain.last_gas_used
        boa_rate, boa_calls = _rate(lambda: getattr(py, name)(*args), seconds)
        revm_rate, revm_calls = _rate(lambda: getattr(revm, name)(*args), seconds)
        bare_rate, _ = _rate(bare(name, *args), seconds)
        rows.append({
            "workload": label, "gas_per_call": gas,
            "titanoboa_calls_s": boa_rate, "titanoboa_gas_s": boa_rate * gas, "titanoboa_calls": boa_calls,
            "revm_calls_s": revm_rate, "revm_gas_s": revm_rate * gas, "revm_calls": revm_calls,
            "bare_revm_calls_s": bare_rate, "bare_revm_gas_s": bare_rate * gas,
            "speedup": revm_rate / boa_rate,
        })
    return rows


def _si(value: float) -> str:
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:,.1f}{prefix}"
    return f"{value:,.1f}"


def render(rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Engine speed on RevmProbe: same bytecode, same process", title_justify="left")
    table.add_column("workload")
    table.add_column("gas/call", justify="right")
    for engine in ("titanoboa", "revm harness", "revm bare"):
        table.add_column(f"{engine}\ncalls/s", justify="right")
        table.add_column(f"{engine}\ngas/s", justify="right")
    table.add_column("harness/\ntitanoboa", justify="right", style="bold")
    for r in rows:
        table.add_row(
            r["workload"], f"{r['gas_per_call']:,}",
            _si(r["titanoboa_calls_s"]), _si(r["titanoboa_gas_s"]),
            _si(r["revm_calls_s"]), _si(r["revm_gas_s"]),
            _si(r["bare_revm_calls_s"]), _si(r["bare_revm_gas_s"]),
            f"{r['speedup']:,.0f}x",
        )
    console = Console(width=max(Console().width, 120))
    console.print(table)
    for r in rows:
        console.print(f"{r['workload']}: titanoboa {_us(r['titanoboa_calls_s'])}, revm harness "
                      f"{_us(r['revm_calls_s'])}, revm bare {_us(r['bare_revm_calls_s'])} per call")


def _us(rate: float) -> str:
    return f"{1e3 / rate:,.1f} ms" if rate < 1e3 else f"{1e6 / rate:,.1f} µs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.5, help="wall time per cell (default 1.5)")
    parser.add_argument("--rounds", type=int, default=2_000, help="loop rounds of the compute workload")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    options = parser.parse_args(argv)
    rows = measure(options.seconds, options.rounds)
    if options.json:
        print(json.dumps(rows, indent=2))
    else:
        render(rows)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
