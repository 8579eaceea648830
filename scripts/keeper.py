"""`ape run keeper --network ...`: the liquidation keeper of `crossmargin keeper run`, for Ape users.

The network is Ape's `--network`; the signer is CROSSMARGIN_ACCOUNT (an Ape alias, or TEST::i on dev chains) or
CROSSMARGIN_PRIVATE_KEY; without one the keeper runs dry (logs what it would send). Options as in
`crossmargin keeper run --help`.
"""

import os
import sys

import click
from ape.cli import ConnectedProviderCommand

from crossmargin.bots.base import BotOptions
from crossmargin.bots.core import BotError, GasPolicy
from crossmargin.bots.keeper import Keeper, KeeperConfig, parse_shard
from crossmargin.bots.run import run_bot


@click.command(cls=ConnectedProviderCommand)
@click.option("--account-id", type=int, default=None)
@click.option("--shard", default="0/1", show_default=True)
@click.option("--takeover-blocks", type=int, default=3, show_default=True)
@click.option("--batch", type=int, default=250, show_default=True)
@click.option("--min-profit", type=float, default=0.0, show_default=True)
@click.option("--max-fee-gwei", type=float, default=100.0, show_default=True)
@click.option("--dry-run", is_flag=True)
@click.option("--max-blocks", type=int, default=None)
def cli(provider, account_id, shard, takeover_blocks, batch, min_profit, max_fee_gwei, dry_run, max_blocks):
    uri = getattr(provider, "http_uri", None) or provider.web3.provider.endpoint_uri
    try:
        i, n = parse_shard(shard)
        config = KeeperConfig(shard=i, shards=n, takeover_blocks=takeover_blocks, batch=batch, min_profit=min_profit)
        options = BotOptions(account_id=account_id, dry_run=dry_run, gas=GasPolicy(max_fee_gwei))
        run_bot(lambda w3, signer: Keeper(w3, signer, options, config), uri=uri,
                account=os.environ.get("CROSSMARGIN_ACCOUNT"), as_json=not sys.stdout.isatty(),
                max_blocks=max_blocks, name="keeper")
    except BotError as exc:
        raise click.ClickException(str(exc)) from None
