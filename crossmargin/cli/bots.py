"""`crossmargin keeper run` and `crossmargin agent maker|band|hedge`: long-running bots.

Each prints one JSON line per block (`--json`, or whenever stdout is not a terminal) or a live rich view (its
JSON lines then go to `--log`, default `.cache/bots/<bot>-<chain_id>.jsonl`), and stops cleanly on Ctrl-C.
A bot needs a signer (`--account` / CROSSMARGIN_PRIVATE_KEY) unless `--dry-run`, where it sends nothing and logs
what it would have sent. Failure policy: `crossmargin.bots.run`.
"""

from __future__ import annotations

import functools
from pathlib import Path

import click

from crossmargin.cli.common import UserError, chain_options


def bot_options(f):
    """Options every bot takes, on top of --network / --account / --json."""

    @chain_options(capture_stdout=False)
    @click.option("--account-id", type=click.IntRange(min=1), default=None, help="Vault account operated (default: the signer's first).")
    @click.option("--dry-run", is_flag=True, help="Simulate and log what would be sent; send nothing (no signer needed).")
    @click.option("--max-fee-gwei", type=float, default=100.0, show_default=True, help="Gas price cap: above it, wait.")
    @click.option("--priority-gwei", type=float, default=1.0, show_default=True, help="Priority fee (tip).")
    @click.option("--book", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="The maker's quotes file (default: .cache/book/<chain_id>.json).")
    @click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="Also append the JSON lines here.")
    @click.option("--poll", type=click.FloatRange(min=0, min_open=True), default=0.25, show_default=True, help="Seconds between head polls.")
    @click.option("--max-blocks", type=click.IntRange(min=1), default=None, help="Stop after this many blocks (default: run until Ctrl-C).")
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)

    return wrapper


def _run(make, kw: dict, name: str, columns: tuple[str, ...]) -> None:
    from crossmargin.bots.base import BotOptions
    from crossmargin.bots.core import BotError, GasPolicy
    from crossmargin.bots.run import run_bot

    options = BotOptions(account_id=kw["account_id"], dry_run=kw["dry_run"],
                         gas=GasPolicy(kw["max_fee_gwei"], kw["priority_gwei"]), book=kw["book"])
    try:
        run_bot(lambda w3, signer: make(w3, signer, options), network=kw["network"], account=kw["account"],
                as_json=kw["as_json"], log=kw["log_path"], poll=kw["poll"], max_blocks=kw["max_blocks"],
                columns=columns, name=name, dry_run=kw["dry_run"])
    except BotError as exc:
        raise UserError(str(exc)) from None


# ---------------------------------------------------------------------------------------------------------
# keeper
# ---------------------------------------------------------------------------------------------------------

@click.group("keeper")
def keeper() -> None:
    """Liquidation keeper."""


@keeper.command("run")
@bot_options
@click.option("--shard", default="0/1", show_default=True, help="i/n: this keeper's share of the accounts.")
@click.option("--takeover-blocks", type=click.IntRange(min=0), default=3, show_default=True,
              help="Blocks per rank before a keeper covers another shard's account.")
@click.option("--batch", type=click.IntRange(1, 500), default=250, show_default=True,
              help="Accounts per Lens call (1..500).")
@click.option("--min-profit", type=float, default=0.0, show_default=True, help="USD a bid must earn after gas and unwind.")
@click.option("--unwind-cost", type=float, default=0.003, show_default=True, help="Expected unwind cost (fraction of notional).")
@click.option("--no-unwind", is_flag=True, help="Keep received positions instead of closing them against the maker.")
@click.option("--max-loss-usd", type=float, default=0.0, show_default=True,
              help="Clear an auction unprofitable at its maximum discount at up to this loss (0: never).")
@click.option("--state", "state_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Keep the account index here across keeper restarts.")
def keeper_run(**kw) -> None:
    """Follow new blocks, scan account health through the Lens, start auctions and bid when profitable.

    \b
    Examples:
      crossmargin keeper run --account TEST::3
      APE_ACCOUNTS_keeper_PASSPHRASE=... crossmargin keeper run --account keeper --shard 0/2 --json
      crossmargin keeper run --dry-run --account-id 4          # watch only, no key
    """
    from crossmargin.bots.core import BotError
    from crossmargin.bots.keeper import Keeper, KeeperConfig, parse_shard

    try:
        shard, shards = parse_shard(kw["shard"])
        config = KeeperConfig(shard=shard, shards=shards, takeover_blocks=kw["takeover_blocks"], batch=kw["batch"],
                              min_profit=kw["min_profit"], unwind_cost=kw["unwind_cost"], unwind=not kw["no_unwind"],
                              state_file=kw["state_file"], max_loss_usd=kw["max_loss_usd"])
    except BotError as exc:
        raise UserError(str(exc)) from None
    _run(lambda w3, signer, options: Keeper(w3, signer, options, config), kw, "keeper",
         ("block", "accounts", "scanned", "scan_ms", "liquidatable", "in_auction", "stale", "started", "bids",
          "liquidations", "lost_races", "failures", "profit_usd", "own_ratio", "pending", "p_liq_24h", "loop_ms"))


# ---------------------------------------------------------------------------------------------------------
# agents
# ---------------------------------------------------------------------------------------------------------

@click.group("agent")
def agent() -> None:
    """Account agents: market maker, collateral band, hedge orchestrator; share-rate poker."""


@agent.command("maker")
@bot_options
@click.option("--spread", type=float, default=0.002, show_default=True, help="Full bid-ask spread (fraction).")
@click.option("--notional", type=float, default=50_000.0, show_default=True, help="USD per quote.")
@click.option("--ttl", type=int, default=120, show_default=True, help="Seconds a round of quotes stays valid.")
@click.option("--refresh", type=int, default=30, show_default=True, help="Seconds between rounds when nothing moves.")
@click.option("--max-inventory", type=float, default=1_000_000.0, show_default=True,
              help="USD inventory per market at which quotes are fully skewed.")
def maker_cmd(**kw) -> None:
    """Quote signed two-sided orders around the oracle on every linear market.

    \b
    Examples:
      crossmargin agent maker --account TEST::1 --spread 0.002 --notional 50000
    """
    from crossmargin.bots.maker import Maker, MakerConfig

    config = MakerConfig(spread=kw["spread"], notional=kw["notional"], ttl=kw["ttl"], refresh=kw["refresh"],
                         max_inventory=kw["max_inventory"])
    _run(lambda w3, signer, options: Maker(w3, signer, options, config), kw, "maker",
         ("block", "account", "ratio", "rounds", "quotes", "fills", "volume_usd", "cancels", "loop_ms"))


@agent.command("band")
@bot_options
@click.option("--target", type=float, default=1.6, show_default=True, help="equity/IM aimed at after an action.")
@click.option("--low", type=float, default=1.3, show_default=True, help="Below: deposit from the reserve or reduce risk.")
@click.option("--high", type=float, default=2.2, show_default=True, help="Above: withdraw the surplus.")
@click.option("--asset", default="USDC", show_default=True, help="Settlement asset moved.")
@click.option("--max-pliq", type=float, default=None, help="Forecast policy: keep P(liquidation, 24 h) below this "
              "(e.g. 0.01), topping up or reducing before the MM breach; replaces the `low` trigger.")
def band_cmd(**kw) -> None:
    """Keep the account's equity/IM inside [low, high] from a reserve wallet (the signer's).

    \b
    Examples:
      crossmargin agent band --account TEST::5 --target 1.6 --low 1.3 --high 2.2
    """
    from crossmargin.bots.band import BandAgent, BandConfig
    from crossmargin.bots.core import BotError

    try:
        config = BandConfig(target=kw["target"], low=kw["low"], high=kw["high"], asset=kw["asset"].upper(),
                            max_pliq=kw["max_pliq"])
    except BotError as exc:
        raise UserError(str(exc)) from None
    _run(lambda w3, signer, options: BandAgent(w3, signer, options, config), kw, "band",
         ("block", "account", "ratio", "status", "equity_im", "im", "p_liq_24h", "deposited", "withdrawn",
          "reductions", "action"))


@agent.command("hedge")
@bot_options
@click.option("--max-delta", type=float, required=True, help="USD delta per underlying before hedging.")
@click.option("--target-delta", type=float, default=0.0, show_default=True, help="USD delta a hedge aims at.")
@click.option("--max-vega", type=float, default=None, help="USD per vol point before warning (options).")
def hedge_cmd(**kw) -> None:
    """Offset aggregate delta with perp orders when it crosses --max-delta.

    \b
    Examples:
      crossmargin agent hedge --account TEST::6 --max-delta 10000
    """
    from crossmargin.bots.hedge import HedgeConfig, Hedger

    config = HedgeConfig(max_delta=kw["max_delta"], target_delta=kw["target_delta"], max_vega=kw["max_vega"])
    _run(lambda w3, signer, options: Hedger(w3, signer, options, config), kw, "hedge",
         ("block", "account", "max_abs_delta_usd", "hedges", "hedged_usd", "pending", "loop_ms"))


@agent.command("shares")
@bot_options
@click.option("--interval", type=click.IntRange(min=1), default=6 * 3600, show_default=True,
              help="Poke a share feed whose accepted rate is older than this (seconds).")
@click.option("--max-headroom", type=click.FloatRange(min=0), default=0.0002, show_default=True,
              help="... or whose headroom (cap - r0) / r0 exceeds this (a donation up to it is credited at once).")
@click.option("--accept-drops", is_flag=True, help="Poke DEGRADED feeds too (accepts a large fall as the new rate).")
def shares_cmd(**kw) -> None:
    """Keep each ERC-4626 share collateral's accepted rate fresh: `OracleRouter.update_share_rate` (anyone may
    call it) when the rate is older than --interval or its headroom exceeds --max-headroom.

    \b
    Examples:
      crossmargin agent shares --account TEST::0
      crossmargin agent shares --dry-run --interval 3600 --json
    """
    from crossmargin.bots.core import BotError, GasPolicy
    from crossmargin.bots.run import run_bot
    from crossmargin.bots.shares import ShareConfig, SharePoker

    try:
        config = ShareConfig(interval=kw["interval"], max_headroom=kw["max_headroom"], accept_drops=kw["accept_drops"])
        gas = GasPolicy(kw["max_fee_gwei"], kw["priority_gwei"])
        run_bot(lambda w3, signer: SharePoker(w3, signer, gas, kw["dry_run"], config), network=kw["network"],
                account=kw["account"], as_json=kw["as_json"], log=kw["log_path"], poll=kw["poll"],
                max_blocks=kw["max_blocks"], columns=("block", "vaults", "pokes", "sent", "loop_ms"), name="shares",
                dry_run=kw["dry_run"])
    except BotError as exc:
        raise UserError(str(exc)) from None


def register(cli: click.Group) -> None:
    cli.add_command(keeper)
    cli.add_command(agent)
