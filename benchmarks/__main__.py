"""`make bench` / `python -m benchmarks [name ...]`: run every benchmark script and collect their tables in
reports/bench.md.

Each script prints its own rich tables (figures compared as ratios within one run, never timed assertions);
this runner only executes them one after another, with a progress bar, and files what they printed under the
first paragraph of the script's docstring. Naming scripts reruns only those: their sections are replaced and the
others kept as they were (each section says when it ran).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PRINTED_BY_OTHERS = {"worst_case"}   # gas.py prints the worst-case table after its own
ROOT = HERE.parent


def title(script: Path) -> str:
    """The first paragraph of the script's docstring, on one line."""
    doc = ast.get_docstring(ast.parse(script.read_text())) or script.stem
    return " ".join(doc.split("\n\n")[0].split()).rstrip(".")


def previous_sections(report: Path) -> dict[str, str]:
    """Script stem -> its section in an earlier report: from a `## ` line outside code fences to the next one,
    named by its `benchmarks/X.py` line."""
    if not report.exists():
        return {}
    parts, fenced = [[]], False
    for line in report.read_text().splitlines(keepends=True):
        fenced ^= line.startswith("```")
        if line.startswith("## ") and not fenced:
            parts.append([])
        parts[-1].append(line)
    out = {}
    for part in map("".join, parts[1:]):
        m = re.search(r"^`benchmarks/(\w+)\.py`", part, re.M)
        if m:
            out[m.group(1)] = part.rstrip() + "\n"
    return out


def main(argv: list[str]) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    scripts = [p for p in sorted(HERE.glob("*.py")) if not p.name.startswith("_") and p.stem not in PRINTED_BY_OTHERS]
    every = [p.stem for p in scripts]
    unknown = set(argv) - {p.stem for p in scripts}
    if unknown:
        print(f"error: no benchmark {', '.join(sorted(unknown))} (have: {', '.join(p.stem for p in scripts)})",
              file=sys.stderr)
        return 2
    if argv:
        scripts = [p for p in scripts if p.stem in argv]
    report = ROOT / "reports" / "bench.md"
    kept = previous_sections(report) if argv else {}
    console = Console()
    began = time.monotonic()
    sections, failed = {}, 0
    columns = (TextColumn("[bold]bench[/] {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("", total=len(scripts))
        for script in scripts:
            progress.update(task, description=script.stem)
            started = time.monotonic()
            env = dict(os.environ, COLUMNS="120")
            proc = subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True, text=True)
            took = time.monotonic() - started
            progress.console.print(f"==> {script.name} ({took:.1f} s)")
            progress.console.out(proc.stdout, end="", highlight=False)
            if proc.returncode != 0:
                failed += 1
                progress.console.print(f"[red]{script.name} failed ({proc.returncode})[/red]")
                progress.console.out(proc.stderr[-2000:], highlight=False)
            sections[script.stem] = (f"## {title(script)}\n\n`benchmarks/{script.name}`, {took:.1f} s, "
                                     f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
                                     f"{', FAILED' if proc.returncode else ''}\n\n```\n{proc.stdout.rstrip()}\n```\n")
            progress.advance(task)
    total = time.monotonic() - began
    head = (f"# crossmargin benchmarks\n\nLast run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
            f"{os.cpu_count()} cores, {total:.0f} s for {', '.join(sections)}. Each section is one script's output.\n")
    body = [sections.get(stem) or kept.get(stem) for stem in every]
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("\n".join([head, *(b for b in body if b)]))
    console.print(f"wrote {report.relative_to(ROOT)} ({total:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
