"""`crossmargin demo`: deploy to an embedded anvil, run the scenario, print the report."""

from __future__ import annotations

import click


@click.command("demo")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
def demo_cmd(as_json: bool) -> None:
    """Deploy to a fresh embedded anvil and run the demo scenario end to end: the same figures every run (fixed
    clock, seeded quotes); report, plot and JSON in reports/.

    \b
    Examples:
      crossmargin demo
      crossmargin demo --json | jq .liquidations
    """
    from crossmargin.demo import run_demo

    run_demo(as_json=as_json)


def register(cli: click.Group) -> None:
    cli.add_command(demo_cmd)
