"""What every CLI command shares: chain options, output (rich tables or --json), one-line errors."""

from __future__ import annotations

import functools
import json
import os
import sys
from decimal import Decimal, InvalidOperation

import click
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


class UserError(click.ClickException):
    """Bad input or an unusable environment: printed as one line, exit code 1."""

    def show(self, file=None) -> None:  # one line, no usage dump
        err_console.print(f"[red]error:[/red] {self.message}", highlight=False, soft_wrap=True)


def chain_options(f):
    """--network / --account / --confirmations / --json for every command that talks to a chain."""

    @click.option("--network", default=None, metavar="ECOSYSTEM:NETWORK:PROVIDER",
                  help="Ape network (default: the node on 127.0.0.1:8545, else an embedded anvil).")
    @click.option("--account", default=None, help="Ape account alias used to sign (dev chains: test account 0).")
    @click.option("--confirmations", default=1, show_default=True, help="Confirmations to wait for on live networks.")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)

    return wrapper


def parse_amount(text: str, what: str = "amount") -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise UserError(f"{what} must be a number, got {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise UserError(f"{what} must be positive, got {text}")
    return value


def emit(data, as_json: bool, table: Table | None = None, message: str | None = None) -> None:
    """Print `data` as JSON, or the rich table / message for people."""
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    if table is not None:
        console.print(table)
    if message:
        console.print(message)


def table(title: str, columns: list[str], rows: list[list]) -> Table:
    t = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        t.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        t.add_row(*[_cell(c) for c in row])
    return t


def _cell(value) -> str:
    """Numbers for people: at most 4 decimals, thousands separated (JSON output keeps full precision)."""
    text = str(value)
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if not number.is_finite() or text.startswith("0x") or (number == number.to_integral_value() and "e" not in text.lower() and abs(number) < 10_000):
        return text
    return f"{number:,.4f}".rstrip("0").rstrip(".")


def fail(exc: BaseException) -> "UserError":
    """Map any library/chain exception to one readable line."""
    from crossmargin.chain.errors import explain

    return UserError(explain(exc))


def guard(fn):
    """Run `fn`; the protocol's own input errors (unknown asset, no deployment, ...) become one-line UserErrors."""
    from crossmargin.chain.manifest import ManifestError
    from crossmargin.chain.protocol import ProtocolError

    try:
        return fn()
    except (ProtocolError, ManifestError) as exc:
        raise UserError(str(exc)) from None


def load_protocol(session):
    """The deployment on the session's chain, or a one-line error."""
    from crossmargin.chain.protocol import Protocol

    return guard(lambda: Protocol.load(session))


def debug() -> bool:
    return bool(os.environ.get("CROSSMARGIN_DEBUG"))


def run_guarded(cli: click.Group) -> None:
    """Entry point: click handles usage errors; everything else becomes one line and a non-zero exit."""
    try:
        cli.main(standalone_mode=False)
    except click.UsageError as exc:  # one line, pointing at --help
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        err_console.print(f"[red]error:[/red] {exc.format_message()}{hint}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - the CLI's promise: no traceback for users
        if debug():
            raise
        fail(exc).show()
        sys.exit(1)
