"""`python -m benchmarks NAME` replaces that script's section of reports/bench.md and keeps the others."""

from __future__ import annotations

from benchmarks.__main__ import previous_sections

REPORT = """# crossmargin benchmarks

Last run 2026-11-26 01:00 UTC, 2 cores, 300 s for gas, keeper. Each section is one script's output.

## Gas table

`benchmarks/gas.py`, 51.6 s, 2026-11-26 01:00 UTC

```
## not a heading: inside a table
```

## Keeper scan

`benchmarks/keeper.py`, 94.5 s

```
1,000 accounts 0.4 s
```
"""


def test_sections_are_found_by_script_and_kept_whole(tmp_path):
    report = tmp_path / "bench.md"
    report.write_text(REPORT)
    sections = previous_sections(report)
    assert set(sections) == {"gas", "keeper"}
    assert sections["gas"].startswith("## Gas table") and "not a heading" in sections["gas"]
    assert sections["keeper"].rstrip().endswith("```") and "1,000 accounts" in sections["keeper"]


def test_no_report_yet(tmp_path):
    assert previous_sections(tmp_path / "missing.md") == {}
