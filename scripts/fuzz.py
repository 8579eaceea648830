"""`ape run fuzz --network ...`: `crossmargin fuzz --network URL` for Ape users: the liquidation state machine
against the deployment on the network Ape connected to (anvil, Hardhat, a fork: any node that answers the
anvil_* or hardhat_* methods), every named invariant checked after each step.

The deployment file is CROSSMARGIN_DEPLOYMENT (default: deployments/<chain id>.json). On a violation: the seed,
the shortest failing step list found, its replay file and command; `--keep` leaves the node at the failing state.
"""

import os

import click
from ape.cli import ConnectedProviderCommand

from crossmargin.fuzz.node import fuzz_node


@click.command(cls=ConnectedProviderCommand)
@click.option("--steps", default=200, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--episode", default=400, show_default=True)
@click.option("--keep", is_flag=True)
@click.option("--replay", default=None)
def cli(provider, steps, seed, episode, keep, replay):
    uri = getattr(provider, "http_uri", None) or provider.web3.provider.endpoint_uri
    r = fuzz_node(uri, os.environ.get("CROSSMARGIN_DEPLOYMENT"), steps, seed, episode=episode, keep=keep,
                  replay=replay)
    report = r.report
    click.echo(f"{report.steps} steps on {uri} ({r.client}) at {report.steps_per_second:.1f} steps/s, "
               f"{sum(report.stats.checks.values())} invariant checks")
    if report.violation is not None:
        click.echo(f"violation at step {report.failing_step} (seed {seed}): {report.violation}")
        for i, (rule, args) in enumerate(r.shrunk):
            click.echo(f"  {i}: {rule}{tuple(args)}")
        raise click.ClickException(f"replay: {r.replay_command()}")
    click.echo("no violation")
