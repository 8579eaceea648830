"""`ape run deploy --network ...`: the same resumable deploy as `crossmargin deploy`, for Ape users.

Uses the network Ape's `--network` option selected and Ape's own `--account` (an alias, unlocked unattended with
APE_ACCOUNTS_<alias>_PASSPHRASE, or TEST::i); without it CROSSMARGIN_ACCOUNT, CROSSMARGIN_PRIVATE_KEY, or test
account 0 on dev chains. `--deployment FILE` and `--fresh` as in `crossmargin deploy`.

    ape run deploy --network ethereum:local:foundry --deployment deployments/throwaway.json
    APE_ACCOUNTS_op_PASSPHRASE=... ape run deploy --network http://127.0.0.1:8545 --account op
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _env  # noqa: E402,F401 - node binaries on PATH before Ape connects

import click  # noqa: E402
from ape.cli import ConnectedProviderCommand, account_option  # noqa: E402

from crossmargin.chain.deploy import DeployError, deploy  # noqa: E402
from crossmargin.chain.manifest import ManifestError  # noqa: E402
from crossmargin.chain.node import NodeError  # noqa: E402
from crossmargin.chain.session import DEV_CHAIN_IDS, Session  # noqa: E402
from crossmargin.model.params import load_params  # noqa: E402


@click.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@click.option("--params", "params_name", default="default", show_default=True)
@click.option("--mocks", is_flag=True, default=None)
@click.option("--fresh", is_flag=True, help="Replace the deployment file even if it describes a live deployment.")
@click.option("--deployment", default=None, metavar="FILE", help="Deployment file (default deployments/<chain_id>.json).")
def cli(provider, account, params_name, mocks, fresh, deployment):
    chain_id = provider.chain_id
    dev = mocks if mocks is not None else chain_id in DEV_CHAIN_IDS
    session = Session(provider, provider.network.choice, chain_id, dev, _env.account_spec(account), confirmations=1,
                      deployment=deployment)
    try:
        manifest, sent = deploy(session, load_params(params_name), fresh=fresh)
    except (ManifestError, DeployError, NodeError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"deployed on chain {chain_id}: {len(manifest.contracts)} contracts, {len(sent)} steps sent; "
               f"deployment file {manifest.shown}")
    for name, address in manifest.contracts.items():
        click.echo(f"  {name:14} {address}")
    if getattr(provider, "process", None) is not None:
        click.echo(f"warning: {provider.network.choice} started its own node; it stops when this script ends",
                   err=True)
