"""`crossmargin liquidations` (auctions of a deployment) and `crossmargin fuzz` (the liquidation machine).

    crossmargin liquidations [--all] [--json]          open auctions: expiry, discount, value, health, cap, price
    crossmargin fuzz --steps 100000 --seed 1 [--options] [--json]
"""

from __future__ import annotations

import time
from decimal import Decimal

import click

from crossmargin.cli.common import UserError, chain_options, console, emit, print_table, table

WAD = 10**18
STATUS = {0: "OK", 1: "DEGRADED", 2: "STALE"}
AUCTION_STARTED = "AuctionStarted(uint256,uint256,address,uint256,int256,uint256,int256,bool)"


def _usd(x: int) -> str:
    return str(Decimal(int(x)) / WAD)


def auctions(p, include_closed: bool = False) -> list[dict]:
    """Every account flagged since the deployment's start block (from `AuctionStarted` logs), with its
    auction and margin now: open ones only unless `include_closed`."""
    from eth_utils import keccak

    liq = p.liquidation
    w3 = p.session.web3
    logs = w3.eth.get_logs({"address": liq.address, "fromBlock": p.manifest.start_block, "toBlock": "latest",
                            "topics": ["0x" + keccak(text=AUCTION_STARTED).hex()]})
    accounts = sorted({int.from_bytes(bytes(log["topics"][1]), "big") for log in logs})
    now = w3.eth.get_block("latest")["timestamp"]
    rows = []
    for account in accounts:
        start, insolvent, active, expiry, version, holds = liq.auction(account)
        if not active and not include_closed:
            continue
        # an expired auction takes no bid: `start_auction` restarts it (still liquidatable) or `close_auction` ends it
        expired = bool(active) and now > int(expiry)
        eq_im, eq_mm, im, mm, status = (int(x) for x in p.risk.margin(account))
        row = {"account": account, "active": bool(active), "started": int(start), "age_seconds": now - int(start),
               "insolvent_at_start": bool(insolvent), "expiry": int(expiry), "expired": expired,
               "params_version": int(version), "holds_withdrawals": bool(holds), "status": STATUS[status],
               "discount": _usd(liq.discount(account)), "value": _usd(liq.mark_value(account)),
               "equity_mm": _usd(eq_mm), "mm": _usd(mm), "equity_im": _usd(eq_im), "im": _usd(im),
               "health": _usd(eq_mm - mm), "cap": None, "payment_at_cap": None}
        if active and not expired and status != 2:
            try:
                payment, cap = liq.quote(account, WAD)
                row["cap"], row["payment_at_cap"] = _usd(cap), _usd(payment)
            except Exception:  # noqa: BLE001 - a quote that reverts (prices moved) leaves the columns empty
                pass
        rows.append(row)
    return rows


def register(cli: click.Group) -> None:
    cli.add_command(liquidations)
    cli.add_command(fuzz)


@click.command("liquidations")
@chain_options
@click.option("--all", "include_closed", is_flag=True, help="Include closed auctions.")
def liquidations(network, account, confirmations, as_json, include_closed) -> None:
    """List liquidation auctions: discount now, mark value, health, largest fraction and its price (no key needed).

    \b
    Examples:
      crossmargin liquidations
      crossmargin liquidations --all --json
    """
    from crossmargin.chain.manifest import ManifestError
    from crossmargin.chain.protocol import Protocol, ProtocolError
    from crossmargin.chain.session import connect

    with connect(network, account, confirmations) as session:
        try:
            p = Protocol.load(session)
            if "Liquidation" not in p.manifest.contracts:
                raise UserError("this deployment has no Liquidation contract (redeploy with `crossmargin deploy`)")
            rows = auctions(p, include_closed)
        except (ProtocolError, ManifestError) as exc:
            raise UserError(str(exc)) from None
    columns = ["account", "active", "expired", "age_seconds", "status", "discount", "value", "equity_mm", "mm",
               "health", "cap", "payment_at_cap"]
    t = table("liquidation auctions", ["account", "open", "expired", "age (s)", "prices", "discount", "value (USD)",
                                       "E_mm", "MM", "health", "max fraction", "price of it"],
              [[r[c] if r[c] is not None else "-" for c in columns] for r in rows])
    emit(rows, as_json, t if rows else None, message=None if rows else "no open auctions")


@click.command("fuzz")
@click.option("--steps", default=100_000, show_default=True, help="Steps to run (invariants after each).")
@click.option("--seed", default=0, show_default=True, help="Random seed (a failure prints it to replay).")
@click.option("--options/--linear", default=False, show_default=True, help="Trade the listed options too.")
@click.option("--episode", default=400, show_default=True, help="Steps before returning to the base snapshot.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--network", default=None, metavar="URL",
              help="Fuzz the deployment on this node's JSON-RPC (anvil, Hardhat, a fork) instead of pyrevm.")
@click.option("--deployment", default=None, metavar="FILE",
              help="With --network: the deployment file (default: deployments/<chain id>.json).")
@click.option("--keep", is_flag=True, help="With --network: leave the node at the failing state.")
@click.option("--replay", default=None, metavar="FILE", help="With --network: replay a failure's step list.")
def fuzz(steps, seed, options, episode, as_json, network, deployment, keep, replay) -> None:
    """Run the liquidation state machine on pyrevm outside pytest: random rules (trades, ±50 % price jumps,
    stale and deviating feeds, vol, time, auctions, bids, socialisation) with every invariant checked.
    With --network URL: the same machine against the deployment on that node (README "Fuzz your deployment").

    \b
    Examples:
      crossmargin fuzz --steps 20000 --seed 1
      crossmargin fuzz --options --steps 5000 --json
      crossmargin fuzz --network http://127.0.0.1:8545 --steps 300 --keep
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from crossmargin.fuzz.machine import INVARIANTS, LiquidationMachine
    from crossmargin.fuzz.runner import run

    if steps <= 0:
        raise UserError(f"--steps must be positive, got {steps}")
    if network is not None:
        return _fuzz_node(network, deployment, steps, seed, options, episode, keep, replay, as_json)
    if deployment or keep or replay:
        raise UserError("--deployment, --keep and --replay need --network URL")
    started = time.perf_counter()
    machine = LiquidationMachine(options=options)
    setup = time.perf_counter() - started
    if as_json:
        report = run(steps, seed, episode=episode, machine=machine)
    else:
        columns = (TextColumn("[bold]fuzz[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                   TimeElapsedColumn())
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("fuzz", total=steps, rate="")
            t0 = time.perf_counter()
            state = {"n": 0}

            def tick(n: int) -> None:
                state["n"] += n
                if state["n"] % 100 == 0 or state["n"] == steps:
                    rate = state["n"] / max(time.perf_counter() - t0, 1e-9)
                    progress.update(task, completed=state["n"], rate=f"{rate:,.0f} steps/s")

            report = run(steps, seed, episode=episode, machine=machine, on_step=tick)
    data = {
        "steps": report.steps, "seed": seed, "books": "linear + options" if options else "linear",
        "seconds": round(report.seconds, 2), "setup_seconds": round(setup, 2),
        "steps_per_second": round(report.steps_per_second, 1), "transactions": report.stats.txs,
        "invariants": {name: report.stats.checks[name] for name in INVARIANTS},
        "outcomes": dict(report.stats.outcomes.most_common()),
        "violation": None if report.violation is None else {
            "invariant": report.violation.name, "detail": str(report.violation), "step": report.failing_step,
            "rule": report.failing_rule, "last_steps": [[r, list(a)] for r, a in report.trace[-20:]]},
    }
    if as_json:
        emit(data, True)
    else:
        rows = [[name, f"{count:,}"] for name, count in data["invariants"].items()]
        print_table(table(f"invariants checked ({data['books']} books, seed {seed})", ["invariant", "checks"], rows))
        top = [[k, f"{v:,}"] for k, v in list(data["outcomes"].items())[:14]]
        print_table(table("outcomes", ["what happened", "count"], top))
        console.print(f"{report.steps:,} steps in {report.seconds:.1f} s: [bold]{report.steps_per_second:,.0f} steps/s[/] "
                      f"({report.stats.txs:,} transactions; setup {setup:.1f} s)")
    if report.violation is not None:
        raise UserError(f"invariant violated at step {report.failing_step} ({report.failing_rule}), "
                        f"replay with --seed {seed} --steps {report.failing_step + 1}: {report.violation}")


def _fuzz_node(uri, deployment, steps, seed, options, episode, keep, replay, as_json) -> None:
    """`crossmargin fuzz --network URL`: `crossmargin.fuzz.node.fuzz_node`, reported like the revm run."""
    from crossmargin.chain.manifest import ManifestError
    from crossmargin.fuzz.engine import NodeError
    from crossmargin.fuzz.machine import INVARIANTS

    from crossmargin.fuzz.node import fuzz_node

    if not uri.startswith(("http://", "https://")):
        raise UserError(f"--network for fuzz is a node's JSON-RPC URL (http://...), got {uri!r}")
    done = {"n": 0}

    def tick(n: int) -> None:
        done["n"] += n
        if not as_json and done["n"] % 50 == 0:
            console.print(f"  {done['n']:,} steps", highlight=False)

    try:
        r = fuzz_node(uri, deployment, steps, seed, episode=episode, keep=keep, replay=replay, options=options,
                      on_step=tick)
    except (ManifestError, NodeError, OSError) as exc:
        raise UserError(str(exc)) from None
    report = r.report
    v = report.violation
    data = {
        "network": uri, "client": r.client, "deployment": deployment, "steps": report.steps, "seed": seed,
        "seconds": round(report.seconds, 2), "setup_seconds": round(r.setup_seconds, 2),
        "steps_per_second": round(report.steps_per_second, 1), "transactions": report.stats.txs,
        "rpc_calls": r.rpc_calls, "invariants": {name: report.stats.checks[name] for name in INVARIANTS},
        "outcomes": dict(report.stats.outcomes.most_common()),
        "violation": None if v is None else {
            "invariant": v.name, "detail": str(v), "step": report.failing_step, "rule": report.failing_rule,
            "shrunk_steps": [[rule, list(args)] for rule, args in r.shrunk], "shrink_replays": r.shrink_replays,
            "replay_file": r.replay_file, "replay": r.replay_command(), "kept": r.kept},
    }
    if as_json:
        emit(data, True)
    else:
        rows = [[name, f"{count:,}"] for name, count in data["invariants"].items()]
        console.print(table(f"invariants checked on {uri} ({r.client}, seed {seed})", ["invariant", "checks"], rows))
        console.print(f"{report.steps:,} steps in {report.seconds:.1f} s: [bold]{report.steps_per_second:,.1f} "
                      f"steps/s[/] ({report.stats.txs:,} transactions, {r.rpc_calls:,} RPC calls; setup "
                      f"{r.setup_seconds:.1f} s)")
        if v is not None:
            steps_table = [[str(i), rule, ", ".join(map(str, args))] for i, (rule, args) in enumerate(r.shrunk)]
            console.print(table(f"shortest failing step list ({len(r.shrunk)} of {report.failing_step + 1} steps)",
                                ["#", "rule", "arguments"], steps_table))
            if r.kept:
                console.print("the node is left at the failing state (--keep)")
    if v is not None:
        raise UserError(f"invariant violated at step {report.failing_step} ({report.failing_rule}), seed {seed}: {v}"
                        f"\nreplay: {r.replay_command()}")
