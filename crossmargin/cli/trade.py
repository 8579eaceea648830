"""`crossmargin trade order|fill|settle`: EIP-712 signed maker orders, filled by a taker; settlement to cash."""

from __future__ import annotations

import json

import click

from crossmargin.cli.common import (UserError, chain_options, emit, guard, load_protocol, parse_amount, result_out,
                                    table)


@click.group("trade")
def trade() -> None:
    """Signed orders: a maker signs (`order`), a taker fills (`fill`)."""


@trade.command("order")
@chain_options
@click.argument("account_id", type=int)
@click.argument("instrument")
@click.argument("side", type=click.Choice(["buy", "sell"], case_sensitive=False))
@click.argument("size")
@click.argument("price")
@click.option("--ttl", default=3600, show_default=True, type=click.IntRange(min=1),
              help="Seconds until the order expires.")
@click.option("--nonce", type=click.IntRange(0, 2**256 - 1), default=None,
              help="Order nonce (default: random); cancel by nonce.")
@click.option("--fee-rate", default="0", show_default=True, help="Maker fee rate (fraction of notional).")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None, help="Also write the signed order here.")
def order_cmd(network, account, confirmations, as_json, account_id, instrument, side, size, price, ttl, nonce,
              fee_rate, out) -> None:
    """Sign a maker order for ACCOUNT_ID on INSTRUMENT (e.g. ETH-PERP): SIDE SIZE at limit PRICE.

    The signed order (JSON) goes to stdout when it is not a terminal, and to --out.

    \b
    Examples:
      crossmargin trade order 1 ETH-PERP sell 2 3000 --out ask.json
      crossmargin trade order 1 ETH-PERP buy 0.5 2990 --ttl 60 | crossmargin trade fill - 2 --account TEST::2
    """
    from decimal import Decimal, InvalidOperation

    from crossmargin.chain.session import connect

    qty, px = parse_amount(size, "size"), parse_amount(price, "price")
    try:
        fee = Decimal(fee_rate)
    except InvalidOperation:
        raise UserError(f"--fee-rate must be a number, got {fee_rate!r}") from None
    with connect(network, account, confirmations) as session:
        p = load_protocol(session)
        signed = guard(lambda: p.make_order(account_id, instrument, side, qty, px, nonce=nonce, ttl=ttl,
                                             fee_rate=fee))
    if out:
        with open(out, "w") as f:
            json.dump(signed, f, indent=2)
    if as_json or not result_out().isatty():
        click.echo(json.dumps(signed, indent=2), file=result_out())
    else:
        emit(signed, False, message=f"signed {side} {size} {signed['instrument']} @ {price} for account {account_id}: "
             f"{signed['hash']}" + (f" (written to {out})" if out else ""))


@trade.command("fill")
@chain_options
@click.argument("order_file", type=click.File("r"))
@click.argument("taker_account_id", type=int)
@click.option("--size", default=None, help="Fill this much (default: what is left of the order).")
def fill_cmd(network, account, confirmations, as_json, order_file, taker_account_id, size) -> None:
    """Fill the signed order in ORDER_FILE ('-' for stdin) from the account TAKER_ACCOUNT_ID (signed by --account,
    its owner).

    \b
    Examples:
      crossmargin trade fill ask.json 2 --account TEST::2
      crossmargin trade fill ask.json 2 --size 0.5 --json
    """
    from crossmargin.chain.session import connect

    try:
        signed = json.load(order_file)
        signed["order"], signed["signature"], signed["hash"]
    except (ValueError, KeyError, TypeError):
        raise UserError("not a signed order (expected the JSON that `crossmargin trade order` prints)") from None
    qty = parse_amount(size, "size") if size else None
    with connect(network, account, confirmations) as session:
        p = load_protocol(session)
        data = guard(lambda: p.fill(signed, taker_account_id, qty))
        data["taker_margin"] = p.margin(taker_account_id)
    m = data["taker_margin"]
    emit(data, as_json, table(f"fill {data['hash'][:10]}...", ["filled", "price", "maker", "taker", "taker health", "gas"],
                              [[data["filled"], data["price"], data["maker"], data["taker"], m["health"], data["gas_used"]]]))


@trade.command("settle")
@chain_options
@click.argument("account_ids", type=int, nargs=-1, required=True)
@click.option("--expired", "expired", multiple=True, help="First fix this expired instrument's settlement price.")
def settle_cmd(network, account, confirmations, as_json, account_ids, expired) -> None:
    """Realise funding and close settled expiries of ACCOUNT_IDS to cash (anyone may call).

    \b
    Examples:
      crossmargin trade settle 2 3
      crossmargin trade settle 2 --expired ETH-30D --json      # fix ETH-30D's settlement price first
    """
    from crossmargin.chain.session import connect

    with connect(network, account, confirmations) as session:
        p = load_protocol(session)
        fixed = [guard(lambda name=name: p.settle_expiry(name)) for name in expired]
        rows = [guard(lambda a=a: p.settle_account(a)) for a in account_ids]
    emit({"expiries": fixed, "accounts": rows}, as_json,
         table("settled", ["account", "cash change (USD)"], [[r["account"], r["cash_change"]] for r in rows]))


def register(cli: click.Group) -> None:
    cli.add_command(trade)
