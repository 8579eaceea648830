"""`python -m crossmargin.bots keeper run ...`: the bots' commands on their own (the same as `crossmargin keeper|agent`)."""

import os

import click

from crossmargin.cli import bots
from crossmargin.cli.common import run_guarded
from crossmargin.paths import NODE_BIN


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """crossmargin bots: keeper and agents."""


bots.register(cli)

if __name__ == "__main__":
    os.environ["PATH"] = f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    run_guarded(cli)
