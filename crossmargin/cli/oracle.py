"""`crossmargin oracle show|set` (set: mock feeds on dev chains)."""

from __future__ import annotations

import click

from crossmargin.cli.common import UserError, chain_options, emit, parse_amount, table


def _run(network, account, confirmations, fn):
    from crossmargin.chain.manifest import ManifestError
    from crossmargin.chain.protocol import Protocol, ProtocolError
    from crossmargin.chain.session import connect

    with connect(network, account, confirmations) as session:
        try:
            return fn(Protocol.load(session))
        except (ProtocolError, ManifestError) as exc:
            raise UserError(str(exc)) from None


@click.group("oracle")
def oracle() -> None:
    """Prices and vols as the protocol reads them."""


@oracle.command("show")
@chain_options
@click.argument("underlyings", nargs=-1)
def show_cmd(network, account, confirmations, as_json, underlyings) -> None:
    """Price, vol and status of UNDERLYINGS (default: all); no key needed.

    \b
    Examples:
      crossmargin oracle show
      crossmargin oracle show ETH BTC --json
    """
    def read(p):
        names = underlyings or [u.symbol for u in p.params.underlyings]
        return [p.price(name) for name in names]

    rows = _run(network, account, confirmations, read)
    emit(rows, as_json, table("oracles", ["underlying", "price", "status", "vol", "vol status"],
                              [[r["underlying"], r["price"], r["status"], r["vol"], r["vol_status"]] for r in rows]))


@oracle.command("set")
@chain_options
@click.argument("underlying")
@click.option("--price", "price", default=None, help="New price (USD) for both mock feeds.")
@click.option("--secondary", is_flag=True, help="Move only the secondary feed (makes the feeds disagree).")
@click.option("--vol", "vol", default=None,
              help="New implied vol (e.g. 0.8), within the VolOracle's bounds and rate limit (×/÷ 2 per hour).")
def set_cmd(network, account, confirmations, as_json, underlying, price, secondary, vol) -> None:
    """Move UNDERLYING's mock price feed (dev chains) and/or its vol (the feeder).

    \b
    Examples:
      crossmargin oracle set ETH --price 2500
      crossmargin oracle set ETH --price 2400 --secondary     # the feeds disagree: DEGRADED
      crossmargin oracle set ETH --vol 0.9
    """
    if price is None and vol is None:
        raise UserError("nothing to set: pass --price and/or --vol")
    price_v = parse_amount(price, "price") if price is not None else None
    vol_v = parse_amount(vol, "vol") if vol is not None else None

    def apply(p):
        out = None
        if price_v is not None:
            out = p.set_price(underlying, price_v, secondary=secondary)
        if vol_v is not None:
            out = p.set_vol(underlying, vol_v)
        return out

    row = _run(network, account, confirmations, apply)
    emit(row, as_json, table("oracle", ["underlying", "price", "status", "vol", "vol status"],
                             [[row["underlying"], row["price"], row["status"], row["vol"], row["vol_status"]]]))


def register(cli: click.Group) -> None:
    cli.add_command(oracle)
