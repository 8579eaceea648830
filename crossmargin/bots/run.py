"""Start a bot on a node: resolve the network to a JSON-RPC URI, load the signer, run the loop with metrics.

`--network` takes a URI (`http://127.0.0.1:8545`), an Ape network choice (`ethereum:sepolia:node`; its
provider stays connected for the bot's life), or nothing: CROSSMARGIN_NETWORK, else ETH_RPC_URL, else the node on
127.0.0.1:8545 (`crossmargin node`). A bot never starts its own throwaway chain: there would be nothing on it to keep.

Failure policy, the same for every bot (TECH_SPEC "Bots: failure policy"):
- cannot start (no signer without --dry-run, no / unreadable / other-chain deployment file, account not operable):
  exit 1 with one line on stderr, nothing sent;
- node down or restarted: wait with backoff, reconnect, resync nonces, go on (`core.Loop`);
- deployment gone from the node (a dev chain reset): log `waiting`, re-read the deployment file every few blocks,
  resume on the new deployment once one is written (`AccountBot.ready`);
- a block handler failing: logged (`error`), backoff; CROSSMARGIN_BOT_MAX_ERRORS (default 30) failures in a row
  end the bot with exit 1 and the last error.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from crossmargin.bots.core import BotError, Loop, Metrics, NodeDown, guard, load_signer, web3_for
from crossmargin.paths import cache_dir

LOCAL = "http://127.0.0.1:8545"


@contextmanager
def node_uri(network: str | None) -> Iterator[str]:
    from crossmargin.chain.session import default_network

    network = network or default_network()
    if network is None or network.startswith(("http://", "https://")):
        yield network or LOCAL
        return
    from crossmargin.chain.session import _quiet_ape

    _quiet_ape()
    from ape import networks

    try:
        ctx = networks.parse_network_choice(network)
        provider = ctx.__enter__()
    except Exception as exc:  # noqa: BLE001 - Ape raises many types for unknown names / unreachable nodes
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BotError(f"cannot connect to network {network!r}: {first}") from None
    try:
        uri = getattr(provider, "http_uri", None) or getattr(provider, "uri", None) \
            or provider.web3.provider.endpoint_uri
        yield uri
    finally:
        ctx.__exit__(None, None, None)


def run_bot(make_bot: Callable, *, network: str | None = None, uri: str | None = None, account: str | None = None,
            as_json: bool = False, log: Path | None = None, poll: float = 0.25, max_blocks: int | None = None,
            max_seconds: float | None = None, columns: tuple[str, ...] = (), name: str = "bot",
            dry_run: bool = False) -> dict:
    """Run `make_bot(w3, signer)` until SIGINT / SIGTERM (or `max_blocks` / `max_seconds`); returns the summary.
    Without a signer the bot starts only with `dry_run` (it then logs what it would send)."""
    with (node_uri(network) if uri is None else _given(uri)) as endpoint:
        w3 = web3_for(endpoint)
        try:
            chain_id = guard(lambda: w3.eth.chain_id)
        except NodeDown:
            raise BotError(f"no node answers on {endpoint}: start one (`crossmargin node`) or pass --network") from None
        signer = load_signer(account, chain_id)
        if signer is None and not dry_run:
            raise BotError("no signer: pass --account ALIAS (Ape keystore), --account TEST::i (dev chains) or set "
                           "CROSSMARGIN_PRIVATE_KEY; or --dry-run to watch without sending")
        bot = make_bot(w3, signer)
        interactive = sys.stdout.isatty() and not as_json
        if log is None and interactive:
            log = cache_dir() / "bots" / f"{bot.name}-{chain_id}.jsonl"
        metrics = Metrics(bot.name, stream=None if interactive else sys.stdout, path=log, live=interactive,
                          columns=columns)
        with metrics:
            return Loop(bot, w3, metrics, poll=poll, max_blocks=max_blocks, max_seconds=max_seconds).run()


@contextmanager
def _given(uri: str) -> Iterator[str]:
    yield uri
