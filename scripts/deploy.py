"""`ape run deploy --network ...`: the same resumable deploy as `crossmargin deploy`, for Ape users.

Uses the network Ape's `--network` option selected and Ape's own account selection (`--account` via the
CROSSMARGIN_ACCOUNT variable, a CROSSMARGIN_PRIVATE_KEY, or test account 0 on dev chains).
"""

import os

import click
from ape.cli import ConnectedProviderCommand

from crossmargin.chain.deploy import deploy
from crossmargin.chain.session import DEV_CHAIN_IDS, Session, _signer
from crossmargin.model.params import load_params


@click.command(cls=ConnectedProviderCommand)
@click.option("--params", "params_name", default="default", show_default=True)
@click.option("--mocks", is_flag=True, default=None)
def cli(provider, params_name, mocks):
    chain_id = provider.chain_id
    dev = mocks if mocks is not None else chain_id in DEV_CHAIN_IDS
    signer = _signer(os.environ.get("CROSSMARGIN_ACCOUNT"), chain_id in DEV_CHAIN_IDS)
    session = Session(provider, provider.network.choice, chain_id, dev, signer, confirmations=1)
    manifest, sent = deploy(session, load_params(params_name))
    click.echo(f"deployed on chain {chain_id}: {len(manifest.contracts)} contracts, {len(sent)} steps sent")
    for name, address in manifest.contracts.items():
        click.echo(f"  {name:14} {address}")
