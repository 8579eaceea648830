"""`crossmargin node`: the local anvil in the foreground (state kept between runs), for bots and scripts."""

from __future__ import annotations

import signal
import time

import click

from crossmargin.chain.node import DEFAULT_CHAIN_ID, Anvil, embedded_state_file
from crossmargin.chain.session import LOCAL_NODE_PORT
from crossmargin.cli.common import UserError, console


@click.command("node")
@click.option("--port", default=LOCAL_NODE_PORT, show_default=True)
@click.option("--chain-id", default=DEFAULT_CHAIN_ID, show_default=True)
@click.option("--fresh", is_flag=True, help="Start from an empty chain (forget the saved state).")
@click.option("--block-time", type=float, default=None, help="Mine every N seconds (default: on demand).")
def node_cmd(port: int, chain_id: int, fresh: bool, block_time: float | None) -> None:
    """Run anvil on 127.0.0.1:PORT until Ctrl-C; other commands find it without --network (port 8545).

    \b
    Examples:
      crossmargin node &
      crossmargin node --port 8555 --fresh     # then: export CROSSMARGIN_NETWORK=http://127.0.0.1:8555
    """
    state = embedded_state_file(chain_id)
    if fresh and state.exists():
        state.unlink()
    anvil = Anvil(port=port, chain_id=chain_id, state_file=state, block_time=block_time)
    try:
        anvil.start()
    except Exception as exc:
        raise UserError(str(exc)) from None
    console.print(f"anvil on {anvil.uri} (chain {chain_id}); state in {state}; Ctrl-C to stop")
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    try:
        while anvil.running and not stop:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        anvil.stop()


def register(cli: click.Group) -> None:
    cli.add_command(node_cmd)
