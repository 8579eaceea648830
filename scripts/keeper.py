"""`ape run keeper --network ...`: the liquidation keeper of `crossmargin keeper run`, for Ape users.

The network is Ape's `--network`; the signer is Ape's `--account` (an alias, unlocked unattended with
APE_ACCOUNTS_<alias>_PASSPHRASE, or TEST::i on dev chains), else CROSSMARGIN_ACCOUNT or CROSSMARGIN_PRIVATE_KEY;
without one the keeper starts only with --dry-run. Options as in `crossmargin keeper run --help`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _env  # noqa: E402,F401 - node binaries on PATH before Ape connects

import click  # noqa: E402
from ape.cli import ConnectedProviderCommand, account_option  # noqa: E402

from crossmargin.bots.base import BotOptions  # noqa: E402
from crossmargin.bots.core import BotError, GasPolicy  # noqa: E402
from crossmargin.bots.keeper import Keeper, KeeperConfig, parse_shard  # noqa: E402
from crossmargin.bots.run import run_bot  # noqa: E402
from crossmargin.chain.session import DEPLOYMENT_CHOICE  # noqa: E402


@click.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@click.option("--account-id", type=click.IntRange(min=1), default=None)
@click.option("--shard", default="0/1", show_default=True)
@click.option("--takeover-blocks", type=click.IntRange(min=0), default=3, show_default=True)
@click.option("--batch", type=click.IntRange(1, 500), default=250, show_default=True)
@click.option("--min-profit", type=float, default=0.0, show_default=True)
@click.option("--max-fee-gwei", type=float, default=100.0, show_default=True)
@click.option("--dry-run", is_flag=True)
@click.option("--max-blocks", type=click.IntRange(min=1), default=None)
@click.option("--deployment", default=None, metavar="FILE", help="Deployment file (default deployments/<chain_id>.json).")
def cli(provider, account, account_id, shard, takeover_blocks, batch, min_profit, max_fee_gwei, dry_run, max_blocks,
        deployment):
    uri = getattr(provider, "http_uri", None) or provider.web3.provider.endpoint_uri
    token = DEPLOYMENT_CHOICE.set(deployment)
    try:
        i, n = parse_shard(shard)
        config = KeeperConfig(shard=i, shards=n, takeover_blocks=takeover_blocks, batch=batch, min_profit=min_profit)
        options = BotOptions(account_id=account_id, dry_run=dry_run, gas=GasPolicy(max_fee_gwei))
        run_bot(lambda w3, signer: Keeper(w3, signer, options, config), uri=uri, account=_env.account_spec(account),
                as_json=not sys.stdout.isatty(), max_blocks=max_blocks, name="keeper", dry_run=dry_run)
    except BotError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        DEPLOYMENT_CHOICE.reset(token)
