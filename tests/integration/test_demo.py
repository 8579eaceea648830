"""The demo on a shortened crash path: deploys, opens every book, the keeper liquidates, the report is written."""

from __future__ import annotations

import json


def test_demo_short_path(tmp_path, monkeypatch, capsys):
    from crossmargin.demo import run_demo

    report = run_demo(as_json=True, steps=4, out_dir=str(tmp_path))
    books = {a["book"]: a for a in report["accounts"]}
    assert all(not a["outcome"].startswith("not opened") for a in report["accounts"]), report["accounts"]
    assert books["basis (cross)"]["outcome"] == "survived"
    assert books["cash and carry"]["outcome"] == "survived"
    assert report["liquidations"]["bids"] >= 1 and report["liquidations"]["partial_bids"] >= 1
    assert report["saved_by_netting"] is True
    assert report["bad_debt"]["socialised"] <= report["insurance_fund"]["start"]
    saved = json.loads((tmp_path / "demo.json").read_text())
    assert saved["crash"]["minutes"] == 20 and (tmp_path / "demo_crash.png").stat().st_size > 10_000
