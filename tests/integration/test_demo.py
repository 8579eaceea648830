"""The demo on a shortened crash path: deploys, opens every book, the real bots act (the keeper liquidates and
unwinds against the maker's quotes, the band agent tops up), the report is written; and a second run gives the same
report (the demo is deterministic)."""

from __future__ import annotations

import json

import pytest

STEPS = 4
# what may differ run to run: wall-clock times and where the temporary files went
VOLATILE = {"ts", "seconds", "lag_s", "plots", "book", "down_s"}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from crossmargin.demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    result = run_demo(as_json=True, steps=STEPS, out_dir=str(out))
    result["_out"] = out
    return result


def test_demo_short_path(report):
    tmp_path = report["_out"]
    books = {a["book"]: a for a in report["accounts"]}
    assert all(not a["outcome"].startswith("not opened") for a in report["accounts"]), report["accounts"]
    assert books["basis (cross)"]["outcome"] == "survived"
    assert books["cash and carry"]["outcome"] == "survived"
    assert report["liquidations"]["bids"] >= 1 and report["liquidations"]["partial_bids"] >= 1
    assert report["saved_by_netting"] is True
    assert report["bad_debt"]["not_absorbed"] == 0

    # the bots' own counters: every bid on chain is one the keeper sent, none reverted
    keeper, maker, band = (report["bots"][name] for name in ("keeper", "maker", "band"))
    assert keeper["liquidations"] == report["liquidations"]["bids"] and keeper["started"] >= 1
    assert keeper["reverted"] == 0 and keeper["errors"] == 0, [r for r in report["bot_log"] if r["bot"] == "keeper"
                                                               and r["event"] in ("tx", "error", "skip")]
    bids = [e for e in report["events"] if e["event"] == "bid"]
    assert {e["bidder"] for e in bids} == {keeper["account"]}
    assert all(0.05 <= e["discount"] <= 0.30 and e["discount_usd"] > 0 for e in bids)
    assert keeper["unwinds"] >= 1 and maker["fills"] >= keeper["unwinds"]  # unwound into the maker's quotes
    assert band["deposited"] > 0 and [a["action"] for a in report["band_actions"]].count("deposit") >= 1
    assert all(a["ratio_after"] > a["ratio_before"] for a in report["band_actions"] if a["action"] == "deposit")

    # the vol feeder forecast from the chain's own rounds: the crash raised the vols it posted, within the rate limit
    vol = report["bots"]["vol"]
    first, last = report["vols"][0], report["vols"][-1]
    print(f"\nvol feeder: {vol['sent']} updates; ETH {first['ETH']:.3f} -> {last['ETH']:.3f}, "
          f"SOL {first['SOL']:.3f} -> {last['SOL']:.3f}")
    assert vol["sent"] >= 1 and vol["reverted"] == 0 and vol.get("errors", 0) == 0
    assert first["ETH"] < last["ETH"] <= 2 * first["ETH"] * (1 + 1e-12)

    # ERC-4626 share collateral: the staked-ETH book hedged, the vault's yield accepted by the poker within the guard
    assert books["staked-ETH hedge"]["outcome"] == "survived"
    # netted into ETH's book: the same book as cash-and-carry with its WETH in shares (rate 1 at the start) has its MM
    # (the share id as a book of its own, hedged through rho 0.99, gave 6,340 against 867)
    assert books["staked-ETH hedge"]["mm_start"] == pytest.approx(books["cash and carry"]["mm_start"], rel=1e-9)
    sh, ush = report["share_collateral"]        # stETH, then the yield-bearing USDC vault (yUSD), as in demo.toml
    # the staked-ETH book also holds yUSD shares: unit collateral in no book, so its MM is still cash-and-carry's
    # (asserted above); the USDC vault's yield is credited within the guard
    print(f"yUSD: live {ush['live_start']:.7f} -> {ush['live_end']:.7f}, r0 {ush['r0_start']:.7f} -> "
          f"{ush['r0_end']:.7f}, {ush['pokes']} pokes")
    assert ush["vault"] == "yUSD" and ush["asset"] == "USDC" and ush["status_end"] == "OK"
    assert ush["live_end"] > ush["live_start"] and ush["r0_start"] <= ush["used_end"] <= ush["live_end"]
    shares = report["bots"]["shares"]
    print(f"stETH: live {sh['live_start']:.7f} -> {sh['live_end']:.7f}, r0 {sh['r0_start']:.7f} -> {sh['r0_end']:.7f}, "
          f"{sh['pokes']} pokes")
    assert sh["live_end"] > sh["live_start"] and sh["status_end"] == "OK"
    assert sh["pokes"] >= 1 and shares["reverted"] == 0 and shares.get("errors", 0) == 0
    assert sh["r0_start"] < sh["r0_end"] <= sh["live_end"]

    saved = json.loads((tmp_path / "demo.json").read_text())
    assert saved["crash"]["minutes"] == 20 and (tmp_path / "demo_crash.png").stat().st_size > 10_000


def test_demo_samples_health_before_the_bots_act(report):
    """Each crash step has a `before` sample (new prices, bots not yet acted) and an `after` one; every account
    the keeper bid on was found below MM (equity/MM < 1) by a `before` sample: the plot shows it under the line."""
    bid_on = {e["book"] for e in report["events"] if e["event"] == "bid"}
    assert bid_on
    for label, hist in report["history"].items():
        assert [h["phase"] for h in hist] == ["after"] + ["before", "after"] * STEPS, label
        if label in bid_on:
            worst = min(h["equity_mm"] / h["mm"] for h in hist if h["phase"] == "before" and h["mm"] > 0)
            print(f"{label}: worst equity/MM before the keeper acted {worst:.3f}")
            assert worst < 1, label


def _stable(value):
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE and not k.endswith("_ms")}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def test_demo_is_the_same_every_run(report, tmp_path):
    """A second run: the same blocks, events, bids, fills, deposits and figures to the last digit (fixed chain
    clock, seeded nonces, the keeper's sends one by one)."""
    from crossmargin.demo import run_demo

    again = run_demo(as_json=True, steps=STEPS, out_dir=str(tmp_path))
    first = _stable({k: v for k, v in report.items() if k != "_out"})
    second = _stable(again)
    print(f"\nfirst run: {report['liquidations']}\nsecond run: {again['liquidations']}")
    for key in first:
        assert first[key] == second[key], key
    assert first == second
