"""The demo: a fresh embedded anvil, the protocol deployed from the demo parameters, and a walk through it.

Today: deploy, open accounts, deposit 6/8/18-decimal collateral, withdraw, show balances and oracles.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from crossmargin.chain.node import Anvil

console = Console()


def run_demo(as_json: bool = False, params_name: str = "demo") -> dict:
    """Run the demo end to end on its own anvil (nothing persists) and return the report."""
    import os
    import tempfile

    from crossmargin.chain.deploy import deploy
    from crossmargin.chain.protocol import Protocol
    from crossmargin.chain.session import connect
    from crossmargin.model.params import load_params

    started = time.monotonic()
    report: dict = {"steps": []}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CROSSMARGIN_DEPLOYMENTS"] = tmp  # the demo's chain is throwaway; so is its manifest
        with Anvil() as node, connect(node.uri) as session:
            status = console.status("deploying the protocol to an embedded anvil...", spinner="dots")
            status.start()
            params = load_params(params_name)
            manifest, sent = deploy(session, params, on_step=lambda k, w: status.update(f"{w}: {k}"))
            status.stop()
            report["chain_id"] = manifest.chain_id
            report["contracts"] = manifest.contracts
            console.print(f"[green]deployed[/green] {len(manifest.contracts)} contracts, {len(sent)} steps "
                          f"on anvil {node.uri} (chain {manifest.chain_id})")

            p = Protocol.load(session)
            trader = session.test_account(1)
            account = p.open_account(signer=trader)
            moves = [("deposit", "USDC", Decimal("25000")), ("deposit", "WETH", Decimal("4.5")),
                     ("deposit", "WBTC", Decimal("0.25")), ("withdraw", "USDC", Decimal("5000")),
                     ("withdraw", "WETH", Decimal("1.5"))]
            for action, symbol, amount in moves:
                if action == "deposit":
                    p.deposit(account, symbol, amount, signer=trader)
                else:
                    p.withdraw(account, symbol, amount, signer=trader)
                report["steps"].append({"action": action, "asset": symbol, "amount": str(amount)})
            state = p.account(account)
            report["account"] = state
            report["oracles"] = [p.price(u.symbol) for u in params.underlyings]
    report["seconds"] = round(time.monotonic() - started, 1)
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        _print(report)
    return report


def _print(report: dict) -> None:
    moves = Table(title="deposit / withdraw round trip", title_justify="left")
    for col in ("action", "asset", "amount"):
        moves.add_column(col, justify="right" if col == "amount" else "left")
    for s in report["steps"]:
        moves.add_row(s["action"], s["asset"], s["amount"])
    console.print(moves)
    acct = report["account"]
    bal = Table(title=f"account {acct['account']} (owner {acct['owner'][:10]}...)", title_justify="left")
    bal.add_column("asset")
    bal.add_column("balance", justify="right")
    for k, v in acct["balances"].items():
        bal.add_row(k, v)
    console.print(bal)
    orc = Table(title="oracles", title_justify="left")
    for col in ("underlying", "price", "status", "vol"):
        orc.add_column(col)
    for o in report["oracles"]:
        orc.add_row(o["underlying"], o["price"], o["status"], o["vol"])
    console.print(orc)
    console.print(f"demo finished in {report['seconds']} s")
