"""`crossmargin account open|deposit|withdraw|show`."""

from __future__ import annotations

import click

from crossmargin.cli.common import UserError, chain_options, emit, guard, load_protocol, parse_amount, table


@click.group("account")
def account() -> None:
    """Margin accounts: open, deposit, withdraw, show."""


@account.command("open")
@chain_options
@click.option("--isolated", "isolated", default=0, help="Bind the new subaccount to one instrument id.")
def open_cmd(network, account, confirmations, as_json, isolated) -> None:
    """Open a margin account (a cross account, or an isolated subaccount)."""
    from crossmargin.chain.session import connect

    with connect(network, account, confirmations) as session:
        p = load_protocol(session)
        new_id = p.open_account(isolated_instrument=isolated)
        data = {"account": new_id, "owner": session.signer.address, "isolated_instrument": isolated}
    emit(data, as_json, message=f"opened account {new_id} for {data['owner']}"
         + (f" (isolated on instrument {isolated})" if isolated else ""))


@account.command("deposit")
@chain_options
@click.argument("account_id", type=int)
@click.argument("asset")
@click.argument("amount")
def deposit_cmd(network, account, confirmations, as_json, account_id, asset, amount) -> None:
    """Deposit AMOUNT of ASSET (token units, e.g. 1.5 WETH) into ACCOUNT_ID."""
    from crossmargin.chain.session import connect

    value = parse_amount(amount)
    with connect(network, account, confirmations) as session:
        p = load_protocol(session)
        data = guard(lambda: p.deposit(account_id, asset, value))
        data["balances"] = p.account(account_id)["balances"]
    emit(data, as_json, _balances_table(account_id, data["balances"]),
         message=f"deposited {amount} {asset.upper()} into account {account_id}")


@account.command("withdraw")
@chain_options
@click.argument("account_id", type=int)
@click.argument("asset")
@click.argument("amount")
@click.option("--to", "receiver", default=None, help="Receiver address (default: the signer).")
def withdraw_cmd(network, account, confirmations, as_json, account_id, asset, amount, receiver) -> None:
    """Withdraw AMOUNT of ASSET from ACCOUNT_ID (must stay above initial margin)."""
    from crossmargin.chain.session import connect

    value = parse_amount(amount)
    with connect(network, account, confirmations) as session:
        p = load_protocol(session)
        data = guard(lambda: p.withdraw(account_id, asset, value, receiver))
        data["balances"] = p.account(account_id)["balances"]
    emit(data, as_json, _balances_table(account_id, data["balances"]),
         message=f"withdrew {amount} {asset.upper()} from account {account_id}")


@account.command("show")
@chain_options
@click.argument("account_id", type=int)
def show_cmd(network, account, confirmations, as_json, account_id) -> None:
    """Balances (and, once markets exist, equity, IM, MM, health, risk per underlying)."""
    from crossmargin.chain.session import connect

    with connect(network, account, confirmations) as session:
        p = load_protocol(session)
        data = guard(lambda: p.account(account_id))
        if "RiskEngine" in p.manifest.contracts:
            data["margin"] = p.margin(account_id)
            data["risk"] = p.risk_breakdown(account_id)
            data["greeks"] = p.greeks(account_id)
    emit(data, as_json, _balances_table(account_id, data["balances"]), message=f"owner {data['owner']}")
    if not as_json and "margin" in data:
        _print_margin(data)


def _print_margin(data: dict) -> None:
    from crossmargin.cli.common import console

    m = data["margin"]
    colour = {"healthy": "green", "below IM": "yellow", "liquidatable": "red"}[m["health"]]
    console.print(table("margin", ["equity (IM)", "IM", "equity (MM)", "MM", "equity/IM", "oracle", "health"],
                        [[m["equity_im"], m["im"], m["equity_mm"], m["mm"], m["margin_ratio"] or "-", m["status"],
                          f"[{colour}]{m['health']}[/{colour}]"]]))
    if m["positions"]:
        console.print(table("positions", ["instrument", "size", "cost"],
                            [[p["instrument"], p["size"], p["cost"]] for p in m["positions"]]))
    if data["risk"]:
        console.print(table("risk per underlying", ["underlying", "spot", "shock", "net delta", "worst loss K",
                                                    "directional WS", "status"],
                            [[r["underlying"], r["spot"], r["shock"], r["net_delta"], r["worst_loss"],
                              r["directional"], r["status"]] for r in data["risk"]]))
    if data.get("greeks"):
        console.print(table("greeks per underlying", ["underlying", "delta", "delta USD", "gamma", "vega", "theta/yr"],
                            [[g["underlying"], g["delta"], g["delta_usd"], g["gamma"], g["vega"], g["theta"]]
                             for g in data["greeks"]]))


def _balances_table(account_id: int, balances: dict):
    return table(f"account {account_id}", ["asset", "balance"], [[k, v] for k, v in balances.items()])


def register(cli: click.Group) -> None:
    cli.add_command(account)
