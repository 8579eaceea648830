"""The demo's report: what happened to every account, the auctions, the insurance fund; tables, plots, JSON."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

from rich.console import Console
from rich.table import Table

from crossmargin.demo import shares as demo_shares
from crossmargin.demo.bots import BAND
from crossmargin.paths import reports_dir

WAD = 10**18
console = Console(width=None if Console().is_terminal else 130)


def build(state, params, summaries: dict[str, dict], seconds: float) -> dict:
    """The report as data: accounts, the Liquidation contract's events, the bots' own figures, the fund."""
    from crossmargin.demo.auctions import liquidation_events

    p, bots = state.protocol, state.bots
    labels = {t.account: t.label for t in state.tracked}
    events = liquidation_events(bots.keeper.dep, state.step_blocks[0][0], state.step_blocks)
    for e in events:
        e["book"] = labels.get(e["account"], f"account {e['account']}")
    bids = [e for e in events if e["event"] == "bid"]
    accounts = [_account(t, [e for e in bids if e["account"] == t.account]) for t in state.tracked]
    cross = next((a for a in accounts if a["book"] == "basis (cross)"), None)
    twin = [a for a in accounts if a["book"].startswith("basis (isolated twin)")]
    saved = bool(cross and cross["outcome"] == "survived" and any(a["outcome"].startswith("liquidated") for a in twin))
    fund_paid, socialised, not_absorbed = (float(D(x) / WAD) for x in p.liquidation.losses())
    return {
        "chain_id": p.session.chain_id, "seconds": round(seconds, 1), "params": params.name,
        "crash": {"minutes": state.prices[-1]["t"] // 60,
                  "moves": {u: round(state.prices[-1][u] / state.prices[0][u] - 1, 4) for u in ("ETH", "BTC", "SOL")}},
        "prices": state.prices, "vols": state.vols, "accounts": accounts,
        "history": {t.label: t.history for t in state.tracked},
        "events": events,
        "liquidations": {"auctions": sum(1 for e in events if e["event"] == "auction started"),
                         "bids": len(bids), "partial_bids": sum(1 for e in bids if e["fraction"] < 0.999),
                         "min_discount": min((e["discount"] for e in bids), default=0.0),
                         "max_discount": max((e["discount"] for e in bids), default=0.0),
                         "value_sold": sum(e["value_sold"] for e in bids),
                         "discount_usd": sum(e["discount_usd"] for e in bids),
                         "fund_fees": sum(e["fund_fee"] for e in bids)},
        "insurance_fund": {"start": state.insurance_start, "end": float(D(p.vault.cash_of(1)) / WAD)},
        "bad_debt": {"fund_paid": fund_paid, "socialised": socialised, "not_absorbed": not_absorbed,
                     "total_debt": float(D(p.vault.total_debt()) / WAD)},
        "saved_by_netting": saved,
        "bots": summaries,
        "band_actions": _band_actions(state),
        "share_collateral": demo_shares.section(state),
        "bot_log": [r for r in bots.records if r.get("event") != "loop"],
    }


def _account(t, bids: list[dict]) -> dict:
    """`min_mm_ratio`: the worst equity/MM sampled, the `before` samples (what the keeper found) included."""
    first, last = t.history[0], t.history[-1]
    outcome = ("not opened: " + t.note) if not t.opened else (
        "liquidated" + (" (partial)" if last["positions"] else "") if bids else  # partial: it kept part of its book
        ("survived" if last["health"] != "liquidatable" else "liquidatable"))
    ratios = [h["equity_mm"] / h["mm"] for h in t.history if h["mm"] > 0]
    return {"book": t.label, "mode": t.mode, "account": t.account, "outcome": outcome,
            "equity_start": first["equity_mm"], "equity_end": last["equity_mm"],
            "mm_start": first["mm"], "mm_end": last["mm"],
            "min_mm_ratio": min(ratios) if ratios else None, "bids": len(bids)}


def _band_actions(state) -> list[dict]:
    """What the band agent sent: the ratio it acted on (its record of that block) and the ratio at the end of
    that crash step (after the deposit or reduction settled)."""
    records = state.bots.log("band")
    band = next(t for t in state.tracked if t.account == state.band[1])
    end_ratio = {h["t"]: h["equity_im"] / h["im"] for h in band.history if h["im"] > 0 and h.get("phase") != "before"}
    out = []
    for i, r in enumerate(records):
        if r.get("event") != "send" or r.get("purpose") not in ("deposit", "withdraw", "reduce"):
            continue
        loop = next((x for x in records[i:] if x.get("event") == "loop"), {})
        usd = r.get("usd", abs(r.get("size", 0.0)) * r.get("price", 0.0))
        out.append({"t": r["t"], "action": r["purpose"], "usd": usd, "ratio_before": loop.get("ratio"),
                    "ratio_after": end_ratio.get(r["t"])})
    return out


def publish(result: dict, as_json: bool = False, out_dir: str | None = None) -> dict:
    out = Path(out_dir) if out_dir else reports_dir()
    out.mkdir(parents=True, exist_ok=True)
    plots = _plots(result, out)
    result["plots"] = [str(p) for p in plots]
    (out / "demo.json").write_text(json.dumps(result, indent=2, default=str))
    if as_json:
        print(json.dumps({k: v for k, v in result.items() if k not in ("history", "prices", "bot_log")}, indent=2,
                         default=str))
    else:
        _print(result, out)
    return result


def _table(title: str, columns: list[str], rows: list[list[str]], left: tuple[str, ...] = ()) -> Table:
    t = Table(title=title, title_justify="left")
    for col in columns:
        t.add_column(col, justify="left" if col in left else "right")
    for row in rows:
        t.add_row(*row)
    return t


def _print(r: dict, out: Path) -> None:
    moves = ", ".join(f"{u} {m:+.0%}" for u, m in r["crash"]["moves"].items())
    console.rule(f"crossmargin demo: crash of {r['crash']['minutes']} minutes ({moves})")
    rows = []
    for a in r["accounts"]:
        colour = "green" if a["outcome"] == "survived" else ("red" if a["outcome"].startswith("liq") else "yellow")
        rows.append([a["book"], a["mode"], f"{a['equity_start']:,.0f}", f"{a['mm_start']:,.0f}",
                     f"{a['equity_end']:,.0f}", f"{a['min_mm_ratio']:.2f}" if a["min_mm_ratio"] is not None else "-",
                     str(a["bids"]), f"[{colour}]{a['outcome']}[/{colour}]"])
    console.print(_table("accounts", ["book", "mode", "equity start", "MM start", "equity end", "worst E/MM",
                                      "bids", "outcome"], rows, left=("book", "mode", "outcome")))
    bids = [e for e in r["events"] if e["event"] == "bid"]
    if bids:
        bidders = ", ".join(sorted({str(e["bidder"]) for e in bids}))
        console.print(_table(f"liquidation bids (Liquidation events; bidder account {bidders}: the keeper)",
                             ["t+min", "book", "fraction", "value sold", "discount", "discount USD", "payment",
                              "fund fee", "gas"],
                             [[str(e["t"] // 60), e["book"], f"{e['fraction']:.1%}",
                               f"{e['value_sold']:,.0f}", f"{e['discount']:.2%}", f"{e['discount_usd']:,.0f}",
                               f"{e['payment']:,.0f}", f"{e['fund_fee']:,.0f}", f"{e['gas']:,}"] for e in bids],
                             left=("book",)))
    if r["band_actions"]:
        console.print(_table(f"band agent (target equity/IM {BAND.target}, band {BAND.low}–{BAND.high})",
                             ["t+min", "action", "USD", "ratio before", "ratio after"],
                             [[str(a["t"] // 60), a["action"], f"{a['usd']:,.0f}", _ratio(a["ratio_before"]),
                               _ratio(a["ratio_after"])] for a in r["band_actions"]]))
    console.print(_table("bots (their own counters)", ["bot", "figures"], _bot_rows(r["bots"]), left=("bot", "figures")))
    liq, debt = r["liquidations"], r["bad_debt"]
    console.print(f"auctions {liq['auctions']}, bids {liq['bids']} ({liq['partial_bids']} partial), discounts paid "
                  f"{liq['min_discount']:.2%}–{liq['max_discount']:.2%}: {liq['discount_usd']:,.0f} USD on "
                  f"{liq['value_sold']:,.0f} USD sold")
    if r.get("vols"):
        first, last = r["vols"][0], r["vols"][-1]
        console.print("vols posted by the vol feeder (forecast from the oracle's own rounds): "
                      + ", ".join(f"{u} {first[u]:.2f} → {last[u]:.2f}" for u in first if u != "t"))
    for line in demo_shares.lines(r):
        console.print(line)
    console.print(f"insurance fund {r['insurance_fund']['start']:,.0f} → {r['insurance_fund']['end']:,.0f} USDC; "
                  f"bad debt: fund paid {debt['fund_paid']:,.2f}, socialised {debt['socialised']:,.2f}, "
                  f"not absorbed {debt['not_absorbed']:,.2f}")
    if r["saved_by_netting"]:
        console.print("[green]saved by netting:[/green] the cross basis book survived; its isolated twin was liquidated")
    console.print(f"plots and report in {out} ({', '.join(Path(p).name for p in r['plots'])}); {r['seconds']} s")


def _ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


# each bot's `stop()` summary, in words
FIGURES = {
    "maker": "quote rounds {rounds}, fills {fills}, volume {volume_usd:,.0f} USD, round cancels {cancels}",
    "keeper": "auctions started {started}, bids {liquidations} (races lost: {lost_races}), unwinds {unwinds}, "
              "expected profit {profit_usd:,.0f} USD",
    "vol": "vol updates {sent} (ok {ok}, reverted {reverted}), forecast from the oracle's own rounds",
    "shares": "share-rate pokes {sent} (ok {ok}, reverted {reverted})",
    "band": "deposited {deposited:,.0f} USD, withdrawn {withdrawn:,.0f} USD, reductions {reductions}, "
            "equity/IM {min_ratio:.2f}–{max_ratio:.2f}",
}


def _bot_rows(summaries: dict[str, dict]) -> list[list[str]]:
    rows = []
    for name, s in summaries.items():
        try:
            line = FIGURES[name].format(**s)
        except (KeyError, TypeError, ValueError):  # a bot that never started has no figures
            line = ", ".join(f"{k} {v}" for k, v in s.items() if k != "event")
        rows.append([name, line + (f", errors {s['errors']}" if s.get("errors") else "")])
    return rows


FLOOR = 0.05  # log scale: an emptied account (equity ≤ 0) is drawn here


def _ratio_at(hist: list[dict], t: int, phase: str) -> float | None:
    """equity/MM of an account at crash second `t`: its `phase` sample of that step (else any sample then)."""
    at = [h for h in hist if h["t"] == t and h["mm"] > 0]
    h = next((h for h in at if h.get("phase") == phase), at[0] if at else None)
    return None if h is None else max(h["equity_mm"] / h["mm"], FLOOR)


def _health_panel(ax, r: dict) -> None:
    """Each account's equity/MM at every sample, in order: at each step the `before` sample (the oracles moved:
    prices and the vol feeder's posts; the other bots not yet acted) then the `after` sample, so a liquidation shows as a dip below 1 and the jump its bids
    make; an auction start (x) is marked where the keeper found the account, a bid (triangle) where its step
    ended."""
    colours = {}
    for label, hist in r["history"].items():
        pts = [(h["t"] / 60, max(h["equity_mm"] / h["mm"], FLOOR)) for h in hist if h["mm"] > 0]
        if pts:
            (line,) = ax.plot([x for x, _ in pts], [y for _, y in pts], marker=".", ms=4, lw=1.2, label=label)
            colours[label] = line.get_color()
    shown = set()
    for e in r["events"]:
        kind = {"auction started": ("x", 70, "auction started", "before"),
                "bid": ("^", 36, "bid", "after")}.get(e["event"])
        hist = r["history"].get(e.get("book"))
        y = _ratio_at(hist, e["t"], kind[3]) if kind and hist else None
        if y is None:
            continue
        marker, size, name, _ = kind
        edge = {"edgecolors": "black", "linewidths": 0.6} if marker == "^" else {}
        ax.scatter([e["t"] / 60], [y], marker=marker, s=size, color=colours.get(e["book"], "black"), zorder=3, **edge)
        if name not in shown:  # one legend entry per kind, in black (the colour is the account's)
            ax.scatter([], [], marker=marker, s=size, color="black" if marker == "x" else "white",
                       label=f"{name} (Liquidation event)", **edge)
            shown.add(name)


def _plots(r: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    minutes = [p["t"] / 60 for p in r["prices"]]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 4.8), width_ratios=(1, 1.15))
    for u in ("ETH", "BTC", "SOL"):
        base = r["prices"][0][u]
        ax1.plot(minutes, [100 * p[u] / base for p in r["prices"]], marker="o", ms=3, label=u)
    ax1.set_title("Oracle prices during the crash")
    ax1.set_xlabel("minutes since the crash started")
    ax1.set_ylabel("price (% of start)")
    ax1.grid(alpha=0.3)
    ax1.legend()
    _health_panel(ax2, r)
    ax2.axhline(1.0, color="red", ls="--", lw=1, label="liquidation (equity = MM)")
    ax2.set_yscale("log")
    ax2.set_title("Account health: equity / MM, before and after the bots act each step")
    ax2.set_xlabel("minutes since the crash started")
    ax2.set_ylabel("equity / MM (log scale)")
    ax2.grid(alpha=0.3, which="both")
    ax2.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: no line hidden
    fig.tight_layout()
    path = out / "demo_crash.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path)
    return paths
