"""`crossmargin`: the user's door. Short verbs, `--json` everywhere, one clear line on error."""

from __future__ import annotations

import os

import click

from crossmargin import __version__
from crossmargin.cli.common import run_guarded
from crossmargin.paths import NODE_BIN


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="crossmargin")
def cli() -> None:
    """crossmargin: one margin account, one pool of collateral, many derivatives, margined on net risk."""


def register_all() -> None:
    """Add every command group to `cli` (idempotent)."""
    if "deploy" in cli.commands:
        return
    from crossmargin.cli import account, bots, demo, deploy, liquidation, node, oracle, risk, sim, trade

    for module in (deploy, node, account, oracle, risk, trade, liquidation, bots, sim, demo):
        module.register(cli)
    from crossmargin.cli import history; history.register(cli)  # vol, backtest, risk calibrate (after risk)
    from crossmargin.cli import forecast; forecast.register(cli)  # account risk, report liquidation-forecast (issue 14)


def main() -> None:
    # anvil / hardhat from node_modules for Ape's providers, and the pip vyper for ape-vyper.
    os.environ["PATH"] = f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ.setdefault("MPLBACKEND", "Agg")
    register_all()
    run_guarded(cli)


if __name__ == "__main__":
    main()
