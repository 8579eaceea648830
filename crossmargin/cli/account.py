"""`crossmargin account open|deposit|withdraw|show`."""

from __future__ import annotations

import click

from crossmargin.cli.common import UserError, chain_options, emit, guard, load_protocol, parse_amount, table


@click.group("account")
def account() -> None:
    """Margin accounts: open, deposit, withdraw, show."""


@account.command("open")
@chain_options
@click.option("--isolated", "isolated", default=None, metavar="INSTRUMENT",
              help="Bind the new subaccount to one instrument (a name like ETH-PERP, or its id).")
def open_cmd(network, account, confirmations, as_json, isolated) -> None:
    """Open a margin account (a cross account, or an isolated subaccount).

    \b
    Examples:
      crossmargin account open
      crossmargin account open --isolated ETH-PERP --account op --json
    """
    from crossmargin.chain.session import connect

    with connect(network, account, confirmations) as session:
        p = load_protocol(session)
        spec = guard(lambda: p.instrument(isolated)) if isolated not in (None, "0") else None
        new_id = guard(lambda: p.open_account(isolated_instrument=spec.id if spec else 0))
        data = {"account": new_id, "owner": session.signer.address, "isolated_instrument": spec.id if spec else 0,
                "isolated_on": spec.name if spec else None}
    emit(data, as_json, message=f"opened account {new_id} for {data['owner']}"
         + (f" (isolated on {spec.name})" if spec else ""))


@account.command("deposit")
@chain_options
@click.argument("account_id", type=int)
@click.argument("asset")
@click.argument("amount")
def deposit_cmd(network, account, confirmations, as_json, account_id, asset, amount) -> None:
    """Deposit AMOUNT of ASSET (token units, e.g. 1.5 WETH) into ACCOUNT_ID.

    Checks the Vault's cap and the wallet first, then approves exactly AMOUNT (dev chains: mints mock tokens
    when the wallet is short).

    \b
    Examples:
      crossmargin account deposit 1 USDC 10000
      crossmargin account deposit 1 weth 2.5 --account op
    """
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
    """Withdraw AMOUNT of ASSET from ACCOUNT_ID (the account must stay above initial margin; `account show`
    lists the most each asset allows now).

    \b
    Examples:
      crossmargin account withdraw 1 USDC 500
      crossmargin account withdraw 1 WETH 0.5 --to 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
    """
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
    """Balances, the most withdrawable now, equity, IM, MM, health, risk per underlying (no key needed).

    \b
    Examples:
      crossmargin account show 1
      crossmargin account show 1 --json | jq .margin.margin_ratio
    """
    from crossmargin.chain.session import connect

    with connect(network, account, confirmations) as session:
        p = load_protocol(session)
        data = guard(lambda: p.account(account_id))
        if "RiskEngine" in p.manifest.contracts:
            data["margin"] = p.margin(account_id)
            data["risk"] = p.risk_breakdown(account_id)
            data["greeks"] = p.greeks(account_id)
    emit(data, as_json, _balances_table(account_id, data["balances"], data.get("max_withdrawable")),
         message=f"owner {data['owner']}")
    if not as_json and "margin" in data:
        _print_margin(data)


def _print_margin(data: dict) -> None:
    from crossmargin.cli.common import print_table

    m = data["margin"]
    colour = {"healthy": "green", "below IM": "yellow", "liquidatable": "red"}[m["health"]]
    print_table(table("margin", ["equity (IM)", "IM", "equity (MM)", "MM", "equity/IM", "oracle", "health"],
                        [[m["equity_im"], m["im"], m["equity_mm"], m["mm"], m["margin_ratio"] or "-", m["status"],
                          f"[{colour}]{m['health']}[/{colour}]"]]))
    if m["positions"]:
        print_table(table("positions", ["instrument", "size", "cost"],
                            [[p["instrument"], p["size"], p["cost"]] for p in m["positions"]]))
    if data["risk"]:
        print_table(table("risk per underlying", ["underlying", "spot", "shock", "net delta", "worst loss K",
                                                    "directional WS", "status"],
                            [[r["underlying"], r["spot"], r["shock"], r["net_delta"], r["worst_loss"],
                              r["directional"], r["status"]] for r in data["risk"]]))
    if data.get("greeks"):
        print_table(table("greeks per underlying", ["underlying", "delta", "delta USD", "gamma", "vega", "theta/yr"],
                            [[g["underlying"], g["delta"], g["delta_usd"], g["gamma"], g["vega"], g["theta"]]
                             for g in data["greeks"]]))


def _balances_table(account_id: int, balances: dict, most: dict | None = None):
    """Token amounts in full, in each token's own decimals (USDC 6, WETH 18): never rounded for display."""
    if most is None:
        return table(f"account {account_id}", ["asset", "balance"], [[k, _units(v)] for k, v in balances.items()])
    return table(f"account {account_id}", ["asset", "balance", "max withdrawable"],
                 [[k, _units(v), _units(most.get(k, "-"))] for k, v in balances.items()])


def _units(text: str) -> str:
    """A token amount as the JSON has it (exact, the token's decimals), with thousands separators."""
    from decimal import Decimal, InvalidOperation

    from crossmargin.cli.common import Exact

    try:
        return Exact(format(Decimal(text), ","))
    except (InvalidOperation, TypeError, ValueError):
        return str(text)


def register(cli: click.Group) -> None:
    cli.add_command(account)
