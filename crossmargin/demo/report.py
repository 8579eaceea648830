"""The demo's report: what happened to every account, the auctions, the insurance fund; tables, plots, JSON."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

from rich.console import Console
from rich.table import Table

from crossmargin.paths import reports_dir

console = Console(width=None if Console().is_terminal else 130)


def build(state, params, seconds: float) -> dict:
    p = state.protocol
    vault = p.vault
    accounts = []
    for t in state.tracked:
        first, last = t.history[0], t.history[-1]
        liquidated = [e for e in state.events if e.get("account") == t.account and e["event"] == "bid"]
        taken = sum(e["fraction"] for e in liquidated)
        outcome = ("not opened: " + t.note) if not t.opened else (
            "liquidated" + (" (partial)" if 0 < last["positions"] and taken < 1 else "") if liquidated else
            ("survived" if last["health"] != "liquidatable" else "liquidatable"))
        ratios = [h["equity_mm"] / h["mm"] for h in t.history if h["mm"] > 0]
        accounts.append({"book": t.label, "mode": t.mode, "account": t.account, "outcome": outcome,
                         "equity_start": first["equity_mm"], "equity_end": last["equity_mm"],
                         "mm_start": first["mm"], "mm_end": last["mm"],
                         "min_mm_ratio": min(ratios) if ratios else None, "bids": len(liquidated)})
    by_book = {}
    for a in accounts:
        by_book.setdefault(a["book"].split(":")[0], []).append(a)
    cross = next((a for a in accounts if a["book"] == "basis (cross)"), None)
    twin = [a for a in accounts if a["book"].startswith("basis (isolated twin)")]
    saved = bool(cross and cross["outcome"] == "survived" and any(a["outcome"].startswith("liquidated") for a in twin))
    insurance_end = float(D(vault.cash_of(1)) / 10**18)
    bids = [e for e in state.events if e["event"] == "bid"]
    return {
        "chain_id": p.session.chain_id, "seconds": round(seconds, 1), "params": params.name,
        "crash": {"minutes": state.prices[-1]["t"] // 60,
                  "moves": {u: round(state.prices[-1][u] / state.prices[0][u] - 1, 4) for u in ("ETH", "BTC", "SOL")}},
        "prices": state.prices, "accounts": accounts,
        "history": {t.label: t.history for t in state.tracked},
        "events": state.events, "band_actions": state.band_actions,
        "liquidations": {"auctions": sum(1 for e in state.events if e["event"] == "auction started"),
                         "bids": len(bids), "partial_bids": sum(1 for e in bids if e["fraction"] < 0.999),
                         "max_discount": max((e["discount"] for e in bids), default=0.0)},
        "insurance_fund": {"start": float(sum(v for v in [25_000])), "end": insurance_end},
        "bad_debt": {"total_debt": float(D(vault.total_debt()) / 10**18),
                     "socialised": sum(e.get("socialised", 0.0) for e in state.events)},
        "saved_by_netting": saved,
    }


def publish(result: dict, as_json: bool = False, out_dir: str | None = None) -> dict:
    out = Path(out_dir) if out_dir else reports_dir()
    out.mkdir(parents=True, exist_ok=True)
    plots = _plots(result, out)
    result["plots"] = [str(p) for p in plots]
    (out / "demo.json").write_text(json.dumps(result, indent=2, default=str))
    if as_json:
        print(json.dumps({k: v for k, v in result.items() if k not in ("history", "prices")}, indent=2, default=str))
    else:
        _print(result, out)
    return result


def _print(r: dict, out: Path) -> None:
    moves = ", ".join(f"{u} {m:+.0%}" for u, m in r["crash"]["moves"].items())
    console.rule(f"crossmargin demo: crash of {r['crash']['minutes']} minutes ({moves})")
    t = Table(title="accounts", title_justify="left")
    for col in ("book", "mode", "equity start", "MM start", "equity end", "min equity/MM", "bids", "outcome"):
        t.add_column(col, justify="left" if col in ("book", "mode", "outcome") else "right")
    for a in r["accounts"]:
        colour = "green" if a["outcome"] == "survived" else ("red" if a["outcome"].startswith("liq") else "yellow")
        t.add_row(a["book"], a["mode"], f"{a['equity_start']:,.0f}", f"{a['mm_start']:,.0f}", f"{a['equity_end']:,.0f}",
                  f"{a['min_mm_ratio']:.2f}" if a["min_mm_ratio"] is not None else "-", str(a["bids"]),
                  f"[{colour}]{a['outcome']}[/{colour}]")
    console.print(t)
    bids = [e for e in r["events"] if e["event"] == "bid"]
    if bids:
        b = Table(title="liquidation bids (keeper)", title_justify="left")
        for col in ("t+min", "book", "fraction", "discount", "payment", "gas"):
            b.add_column(col, justify="left" if col == "book" else "right")
        for e in bids:
            b.add_row(str(e["t"] // 60), e["book"], f"{e['fraction']:.1%}", f"{e['discount']:.1%}",
                      f"{e['payment']:,.0f}", f"{e['gas']:,}")
        console.print(b)
    if r["band_actions"]:
        ba = Table(title="band agent (target equity/IM 1.6, band 1.3–2.2)", title_justify="left")
        for col in ("t+min", "action", "amount", "ratio before", "ratio after"):
            ba.add_column(col, justify="right")
        for a in r["band_actions"]:
            ba.add_row(str(a["t"] // 60), a["action"], a["amount"], f"{a['ratio_before']:.2f}", f"{a['ratio_after']:.2f}")
        console.print(ba)
    liq = r["liquidations"]
    console.print(f"auctions {liq['auctions']}, bids {liq['bids']} ({liq['partial_bids']} partial), "
                  f"max discount {liq['max_discount']:.1%}; insurance fund {r['insurance_fund']['start']:,.0f} → "
                  f"{r['insurance_fund']['end']:,.0f} USDC; bad debt socialised {r['bad_debt']['socialised']:,.2f}")
    if r["saved_by_netting"]:
        console.print("[green]saved by netting:[/green] the cross basis book survived; its isolated twin was liquidated")
    console.print(f"plots and report in {out} ({', '.join(Path(p).name for p in r['plots'])}); {r['seconds']} s")


def _plots(r: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    minutes = [p["t"] / 60 for p in r["prices"]]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8))
    for u in ("ETH", "BTC", "SOL"):
        base = r["prices"][0][u]
        ax1.plot(minutes, [100 * p[u] / base for p in r["prices"]], marker="o", ms=3, label=u)
    ax1.set_title("Oracle prices during the crash")
    ax1.set_xlabel("minutes since the crash started")
    ax1.set_ylabel("price (% of start)")
    ax1.grid(alpha=0.3)
    ax1.legend()
    for label, hist in r["history"].items():
        xs = [h["t"] / 60 for h in hist if h["mm"] > 0]
        ys = [max(h["equity_mm"] / h["mm"], 0.05) for h in hist if h["mm"] > 0]
        if xs:
            ax2.plot(xs, ys, marker=".", label=label)
    ax2.axhline(1.0, color="red", ls="--", lw=1, label="liquidation (equity = MM)")
    ax2.set_yscale("log")
    ax2.set_title("Account health: equity / maintenance margin")
    ax2.set_xlabel("minutes since the crash started")
    ax2.set_ylabel("equity / MM (log scale)")
    ax2.grid(alpha=0.3, which="both")
    ax2.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    path = out / "demo_crash.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path)
    return paths
