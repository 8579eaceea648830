"""What every CLI command shares: chain options, output (rich tables or --json), one-line errors."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import re
import sys
from contextvars import ContextVar
from decimal import Decimal, InvalidOperation

import click
from rich.console import Console
from rich.table import Table

# The stream a command's result goes to: the real stdout of the command, even while library noise (Ape's revert
# traces, deploy logs) printed to `sys.stdout` is held back (`chain_options`; CROSSMARGIN_DEBUG lets it through).
_RESULT_OUT: ContextVar = ContextVar("crossmargin_result_out", default=None)


class _ResultStream:
    """File-like: writes go to the command's real stdout (see `_RESULT_OUT`)."""

    def _target(self):
        return _RESULT_OUT.get() or sys.stdout

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        return bool(getattr(self._target(), "isatty", lambda: False)())

    def fileno(self) -> int:
        return self._target().fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._target(), "encoding", "utf-8")


console = Console(file=_ResultStream())
err_console = Console(stderr=True)

ACCOUNT_HELP = ("Signer: an Ape keystore alias (passphrase from APE_ACCOUNTS_<alias>_PASSPHRASE, or asked once on "
                "a terminal), or TEST::i on dev chains (default there: TEST::0); CROSSMARGIN_PRIVATE_KEY otherwise.")


class UserError(click.ClickException):
    """Bad input or an unusable environment: printed as one line, exit code 1."""

    def show(self, file=None) -> None:  # one line, no usage dump
        show_error(self.message)


_MODE = {"json": False}  # set by `run_guarded` from the command line: errors as JSON under --json


def _json_errors() -> bool:
    return _MODE["json"]


def show_error(message: str) -> None:
    """One line on stderr: `error: ...`, or `{"error": ...}` under --json."""
    message = " ".join(re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", str(message)).split())  # no raw ANSI codes
    if _json_errors():
        sys.stderr.write(json.dumps({"error": message}) + "\n")
        sys.stderr.flush()
    else:
        err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True, markup=True)


def chain_options(f=None, *, capture_stdout: bool = True):
    """--network / --deployment / --account / --confirmations / --json for every command that talks to a chain.

    While the command runs, anything libraries print to stdout (Ape's revert traces) is held back: stdout carries
    only the result (`emit`); with CROSSMARGIN_DEBUG=1 nothing is held back. Bots pass
    `capture_stdout=False` (their JSON lines are their result)."""
    if f is None:
        return functools.partial(chain_options, capture_stdout=capture_stdout)

    @click.option("--network", default=None, metavar="NETWORK",
                  help="Ape network choice (ethereum:sepolia:node) or a node URI (http://host:8545). Default: "
                       "CROSSMARGIN_NETWORK, else ETH_RPC_URL, else the node on 127.0.0.1:8545, else an embedded anvil.")
    @click.option("--deployment", default=None, metavar="FILE", type=click.Path(dir_okay=False),
                  help="Deployment file (default: CROSSMARGIN_DEPLOYMENT, else deployments/<chain_id>.json).")
    @click.option("--account", default=None, help=ACCOUNT_HELP)
    @click.option("--confirmations", default=1, show_default=True, type=click.IntRange(0, 100),
                  help="Confirmations to wait for on live networks.")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output (errors: JSON on stderr).")
    @functools.wraps(f)
    def wrapper(*args, deployment=None, **kwargs):
        from crossmargin.chain.session import DEPLOYMENT_CHOICE

        tokens = [(DEPLOYMENT_CHOICE, DEPLOYMENT_CHOICE.set(deployment)),
                  (_RESULT_OUT, _RESULT_OUT.set(sys.stdout))]
        noise = io.StringIO()
        try:
            if capture_stdout and not debug():
                with contextlib.redirect_stdout(noise):
                    return f(*args, **kwargs)
            return f(*args, **kwargs)
        finally:
            for var, token in reversed(tokens):
                var.reset(token)

    return wrapper


def result_out():
    """The stream a command's result is written to (its real stdout)."""
    return _RESULT_OUT.get() or sys.stdout


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
        click.echo(json.dumps(data, indent=2, default=str), file=result_out())
        return
    if table is not None:
        print_table(table)
    if message:
        console.print(message)


def print_table(t: Table) -> None:
    """On a terminal: fit its width (long cells wrap, never an ellipsis); elsewhere (a pipe, a file): the table's
    natural width, so no number is cut."""
    if console.is_terminal:
        console.print(t)
    else:
        width = max(console.width, console.measure(t, options=console.options.update(width=10_000)).maximum)
        console.print(t, width=width)


def table(title: str, columns: list[str], rows: list[list]) -> Table:
    t = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        t.add_column(col, justify="left" if i == 0 else "right", overflow="fold")
    for row in rows:
        t.add_row(*[_cell(c) for c in row])
    return t


class Exact(str):
    """A table cell shown as is (a token amount in its own decimals: never rounded for display)."""


def _cell(value) -> str:
    """Numbers for people: at most 4 decimals, thousands separated (JSON output keeps full precision); `Exact`
    cells as they are."""
    if isinstance(value, Exact):
        return str(value)
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


def run_guarded(cli: click.Group, args: list[str] | None = None) -> None:
    """Entry point: click handles usage errors; everything else becomes one line and a non-zero exit."""
    _MODE["json"] = "--json" in (sys.argv[1:] if args is None else args)
    try:
        cli.main(args=args, prog_name="crossmargin", standalone_mode=False)
    except click.UsageError as exc:  # one line, pointing at --help
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        show_error(f"{exc.format_message()}{hint}")
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
