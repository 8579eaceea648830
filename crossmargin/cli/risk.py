"""`crossmargin risk show|set|correlation|collateral|underlying|execute|cancel`: the risk manager's view and knobs on
a live deployment. Every change is queued on the Timelock (effective after its delay, 24 h by default, unless the
guardian cancels it); `execute` runs the ready ones, `show` lists the pending ones with their eta."""

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
                            [[a, *row] for a, row in zip(symbols, data["correlation"])]),
         message=f"smallest eigenvalue {float(data['min_eigenvalue']):.6g}")
    emit(data, False, table("underlyings (admin)", ["underlying", "depth USD", "concentration"],
                            [[r["symbol"], r["depth"], r["concentration"]] for r in data["underlying_params"]]))
    emit(data, False, table("collateral haircuts", ["token", "base_mm", "base_im", "slope", "depth USD"],
                            [[r["symbol"], r["base_mm"], r["base_im"], r["slope"], r["depth"]]
                             for r in data["collaterals"]]))
    if data.get("share_feeds"):
        def bp(r: dict, key: str) -> str:   # a rate relative to the accepted one (4 decimals would hide the guard)
            r0 = float(r["accepted_rate"])
            return f"{(float(r[key]) / r0 - 1) * 1e4:+.2f} bp" if r0 else "-"

        emit(data, False, table("ERC-4626 share collateral (r0: accepted rate, asset per share; live, cap, used vs r0)",
                                ["token", "book", "vault", "r0", "age h", "live", "cap", "used", "rise/day", "drop",
                                 "status"],
                                [[f"{r['symbol']}/{r['asset']}", r["book"], r["vault"][:6] + "…" + r["vault"][-4:],
                                  r["accepted_rate"], f"{r['accepted_age_seconds'] / 3600:.1f}", bp(r, "live_rate"),
                                  bp(r, "cap"), bp(r, "used_rate"), r["max_rise_per_day"], r["max_drop"], r["status"]]
                                 for r in data["share_feeds"]]))
    t = data["timelock"]
    emit(data, False, table("pending changes (timelock)", ["id", "call", "eta", "status"],
                            [[r["id"], r["call"], r["eta_utc"], r["status"]] for r in data["pending"]]),
         message=f"delay {t['delay_seconds'] / 3600:g} h; a ready change executes for {t['grace_seconds'] // 86400} days")
    if "queued" in data:
        q = data["queued"]
        emit(data, False, message=f"queued #{q['id']}: {q['call']}; eta {q['eta_utc']} ({q['status']}); "
                                  f"run `crossmargin risk execute {q['id']}` then")
    if data.get("executed"):
        emit(data, False, message=f"executed {', '.join('#' + str(i) for i in data['executed'])}")
    if "cancelled" in data:
        emit(data, False, message=f"cancelled #{data['cancelled']}")


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


def warp_option(f):
    return click.option("--warp", is_flag=True,
                        help="dev chains: advance the node's clock past the delay and execute at once")(f)


@click.group("risk")
def risk() -> None:
    """Risk parameters and correlations on chain (show; queue changes through the timelock, execute, cancel)."""


@risk.command("show")
@chain_options
def show_cmd(network, account, confirmations, as_json) -> None:
    """Global risk parameters with their on-chain bounds, the correlation matrix, haircuts and each ERC-4626 share
    collateral's guard: accepted rate r0 and its age, live rate, cap, used rate (no key needed).

    \b
    Examples:
      crossmargin risk show
      crossmargin risk show --json | jq '.params[] | select(.name == "im_factor")'
    """
    _emit(_run(network, account, confirmations, lambda s: s.show()), as_json)


@risk.command("set")
@chain_options
@warp_option
@click.argument("changes", nargs=-1, required=True)
def set_cmd(network, account, confirmations, as_json, warp, changes) -> None:
    """Queue global risk parameters inside their bounds: NAME=VALUE, like im_factor=1.3 horizon_seconds=43200.

    \b
    Examples:
      crossmargin risk set im_factor=1.3 --account admin
      crossmargin risk set im_factor=1.3 horizon_seconds=43200 --warp     # dev chain: queue and execute now
    """
    parsed = _assignments(changes)
    _emit(_run(network, account, confirmations, lambda s: s.set_params(parsed, warp=warp)), as_json)


@risk.command("correlation")
@chain_options
@warp_option
@click.argument("pairs", nargs=-1, required=True)
def correlation_cmd(network, account, confirmations, as_json, warp, pairs) -> None:
    """Queue correlations as pairs like ETH:BTC=0.8; the whole matrix is checked (PSD) and queued.

    \b
    Examples:
      crossmargin risk correlation ETH:BTC=0.8
      crossmargin risk correlation ETH:BTC=0.8 ETH:SOL=0.7 --warp --json
    """
    parsed = _pairs(pairs)
    _emit(_run(network, account, confirmations, lambda s: s.set_correlation(parsed, warp=warp)), as_json)


@risk.command("collateral")
@chain_options
@warp_option
@click.argument("token")
@click.argument("changes", nargs=-1, required=True)
def collateral_cmd(network, account, confirmations, as_json, warp, token, changes) -> None:
    """Queue TOKEN's haircut parameters: base_mm, base_im, slope (inside their bounds), depth; like base_im=0.12.

    \b
    Examples:
      crossmargin risk collateral WETH base_im=0.12 base_mm=0.08
      crossmargin risk collateral WBTC depth=2e8 --warp
    """
    parsed = _assignments(changes)
    _emit(_run(network, account, confirmations, lambda s: s.set_collateral(token, parsed, warp=warp)), as_json)


@risk.command("underlying")
@chain_options
@warp_option
@click.argument("symbol")
@click.argument("changes", nargs=-1, required=True)
def underlying_cmd(network, account, confirmations, as_json, warp, symbol, changes) -> None:
    """Queue an underlying's depth (USD) and concentration (inside its bound); like depth=5e8.

    \b
    Examples:
      crossmargin risk underlying SOL depth=5e8
      crossmargin risk underlying ETH depth=1e9 --warp --json
    """
    parsed = _assignments(changes)
    _emit(_run(network, account, confirmations, lambda s: s.set_underlying(symbol, parsed, warp=warp)), as_json)


@risk.command("execute")
@chain_options
@warp_option
@click.argument("ids", nargs=-1, type=int)
@click.option("--all-ready", is_flag=True, help="every queued change whose eta has passed")
def execute_cmd(network, account, confirmations, as_json, warp, ids, all_ready) -> None:
    """Execute queued changes by ID (or --all-ready) once their eta has passed.

    \b
    Examples:
      crossmargin risk execute 3 4
      crossmargin risk execute --all-ready --json
    """
    if bool(ids) == all_ready:
        raise UserError("pass operation IDs or --all-ready")
    _emit(_run(network, account, confirmations, lambda s: s.execute(list(ids) if ids else None, warp=warp)), as_json)


@risk.command("cancel")
@chain_options
@click.argument("op_id", type=int)
def cancel_cmd(network, account, confirmations, as_json, op_id) -> None:
    """Cancel a queued change (the guardian).

    \b
    Examples:
      crossmargin risk cancel 3 --account guardian
    """
    _emit(_run(network, account, confirmations, lambda s: s.cancel(op_id)), as_json)


def register(cli: click.Group) -> None:
    cli.add_command(risk)
