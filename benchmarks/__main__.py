"""`make bench` / `python -m benchmarks`: run every benchmark script and collect their tables in reports/bench.md.

Each script prints its own rich tables (figures compared as ratios within one run, never timed assertions);
this runner only executes them one after another and files what they printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def main(argv: list[str]) -> int:
    only = set(argv)
    scripts = [p for p in sorted(HERE.glob("*.py")) if not p.name.startswith("_")]
    if only:
        scripts = [p for p in scripts if p.stem in only]
    out = [f"# crossmargin benchmarks\n\nRun on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
           f"{os.cpu_count()} cores. Each section is one script's output.\n"]
    failed = 0
    for script in scripts:
        print(f"==> {script.name}", flush=True)
        started = time.monotonic()
        env = dict(os.environ, COLUMNS="120")
        proc = subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True, text=True)
        took = time.monotonic() - started
        print(proc.stdout, end="")
        if proc.returncode != 0:
            failed += 1
            print(proc.stderr[-2000:], file=sys.stderr)
        out.append(f"## {script.stem} ({took:.1f} s{', FAILED' if proc.returncode else ''})\n\n```\n"
                   f"{proc.stdout.rstrip()}\n```\n")
    report = ROOT / "reports" / "bench.md"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("\n".join(out))
    print(f"wrote {report.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
