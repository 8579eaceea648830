"""`crossmargin risk show|set|correlation|collateral|underlying`: the risk manager's view and knobs on a live
deployment."""

from __future__ import annotations

import click

from crossmargin.cli.common import UserError, chain_options, emit, guard, load_protocol, table


def _run(network, account, confirmations, fn):
    from crossmargin.chain.risk_settings import RiskSettings
    from crossmargin.chain.session import connect

    with connect(network, account, confirmations) as session:
        settings = RiskSettings(load_protocol(session))
        return guard(lambda: fn(settings))


def _emit(data: dict, as_json: bool) -> None:
    if as_json:
        emit(data, True)
        return
    emit(data, False, table("risk parameters", ["name", "value", "min", "max"],
                            [[r["name"], r["value"], r["min"], r["max"]] for r in data["params"]]))
    symbols = data["underlyings"]
    emit(data, False, table("correlation", ["", *symbols],
                            [[a, *(f"{x:g}" for x in row)] for a, row in zip(symbols, data["correlation"])]),
         message=f"smallest eigenvalue {data['min_eigenvalue']:.6g}")
    emit(data, False, table("underlyings (admin)", ["underlying", "depth USD", "concentration"],
                            [[r["symbol"], r["depth"], r["concentration"]] for r in data["underlying_params"]]))
    emit(data, False, table("collateral haircuts", ["token", "base_mm", "base_im", "slope", "depth USD"],
                            [[r["symbol"], r["base_mm"], r["base_im"], r["slope"], r["depth"]]
                             for r in data["collaterals"]]))


def _pairs(items: tuple[str, ...]) -> dict[tuple[str, str], str]:
    out = {}
    for item in items:
        left, eq, value = item.partition("=")
        a, colon, b = left.partition(":")
        if not (eq and colon and a and b and value):
            raise UserError(f"a pair looks like ETH:BTC=0.8, got {item!r}")
        out[(a.upper(), b.upper())] = value
    return out


def _assignments(items: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not (eq and name and value):
            raise UserError(f"a change looks like im_factor=1.3, got {item!r}")
        out[name] = value
    return out


@click.group("risk")
def risk() -> None:
    """Risk parameters and correlations on chain (show; set as the risk manager)."""


@risk.command("show")
@chain_options
def show_cmd(network, account, confirmations, as_json) -> None:
    """Global risk parameters with their on-chain bounds, and the correlation matrix."""
    _emit(_run(network, account, confirmations, lambda s: s.show()), as_json)


@risk.command("set")
@chain_options
@click.argument("changes", nargs=-1, required=True)
def set_cmd(network, account, confirmations, as_json, changes) -> None:
    """Set global risk parameters inside their bounds: NAME=VALUE, like im_factor=1.3 horizon_seconds=43200."""
    parsed = _assignments(changes)
    _emit(_run(network, account, confirmations, lambda s: s.set_params(parsed)), as_json)


@risk.command("correlation")
@chain_options
@click.argument("pairs", nargs=-1, required=True)
def correlation_cmd(network, account, confirmations, as_json, pairs) -> None:
    """Set correlations as pairs like ETH:BTC=0.8; the whole matrix is checked (PSD) and sent."""
    parsed = _pairs(pairs)
    _emit(_run(network, account, confirmations, lambda s: s.set_correlation(parsed)), as_json)


@risk.command("collateral")
@chain_options
@click.argument("token")
@click.argument("changes", nargs=-1, required=True)
def collateral_cmd(network, account, confirmations, as_json, token, changes) -> None:
    """Set TOKEN's haircut parameters: base_mm, base_im, slope (inside their bounds), depth; like base_im=0.12."""
    parsed = _assignments(changes)
    _emit(_run(network, account, confirmations, lambda s: s.set_collateral(token, parsed)), as_json)


@risk.command("underlying")
@chain_options
@click.argument("symbol")
@click.argument("changes", nargs=-1, required=True)
def underlying_cmd(network, account, confirmations, as_json, symbol, changes) -> None:
    """Set an underlying's depth (USD) and concentration (inside its bound), as the admin; like depth=5e8."""
    parsed = _assignments(changes)
    _emit(_run(network, account, confirmations, lambda s: s.set_underlying(symbol, parsed)), as_json)


def register(cli: click.Group) -> None:
    cli.add_command(risk)
