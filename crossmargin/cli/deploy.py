"""`crossmargin deploy`: the whole protocol from one parameter file, resumable, never over a live deployment."""

from __future__ import annotations

from pathlib import Path

import click

from crossmargin.cli.common import UserError, chain_options, console, emit, err_console, table


@click.command("deploy")
@chain_options
@click.option("--params", "params_name", default="default", show_default=True,
              help="Parameter file: a name in crossmargin/params/ or a path to a TOML file.")
@click.option("--fresh", is_flag=True,
              help="Deploy a new protocol and replace the deployment file, even if it describes a live deployment.")
@click.option("--mocks", is_flag=True, default=None, help="Deploy mock tokens and feeds (dev/test chains).")
def deploy_cmd(network, account, confirmations, as_json, params_name, fresh, mocks) -> None:
    """Deploy (or resume) the protocol and write the deployment file.

    The file (default deployments/<chain_id>.json) records the chain id, genesis hash and RPC, every contract's
    address, ABI, creation transaction and block, the compiler and the git commit. Run again, `deploy` resumes an
    interrupted deploy or confirms a live one (sends nothing); it refuses a file written for another node (same
    chain id, other genesis) or whose contracts are gone, unless --fresh.

    \b
    Examples:
      crossmargin node &                                   # a local anvil on :8545, state kept
      crossmargin deploy
      crossmargin deploy --network http://127.0.0.1:8555 --deployment deployments/staging.json
      crossmargin deploy --network ethereum:sepolia:node --account deployer --params default
    """
    from crossmargin.chain.deploy import DeployError, deploy
    from crossmargin.chain.manifest import ManifestError
    from crossmargin.chain.session import connect
    from crossmargin.model.params import load_params

    try:
        params = load_params(params_name)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        raise UserError(f"params {params_name!r}: {exc}") from None
    with connect(network, account, confirmations, mocks=mocks) as session:
        ephemeral = _ephemeral(session.provider)
        with console.status("deploying...", spinner="dots") if not as_json else _null() as status:
            def on_step(key: str, what: str) -> None:
                if status is not None:
                    status.update(f"{what}: {key}")
            try:
                manifest, sent = deploy(session, params, fresh=fresh, on_step=on_step,
                                        params_file=_params_file(params_name))
            except (ManifestError, DeployError) as exc:
                raise UserError(str(exc)) from None
    if ephemeral:
        err_console.print(f"[yellow]warning:[/yellow] {session.network_choice} started its own node, which stopped "
                          "when this command ended: the deployment is gone with it. Start a node that stays "
                          "(`crossmargin node`, `npx hardhat node`) and pass --network http://127.0.0.1:PORT.",
                          highlight=False, soft_wrap=True)
    data = {"chain_id": manifest.chain_id, "genesis_hash": manifest.genesis_hash, "network": manifest.network,
            "rpc": manifest.rpc, "params": manifest.params_name, "start_block": manifest.start_block,
            "contracts": manifest.contracts, "sent": len(sent), "manifest": manifest.shown, "ephemeral": ephemeral}
    rows = [[name, address] for name, address in manifest.contracts.items()]
    emit(data, as_json, table(f"crossmargin on chain {manifest.chain_id} ({len(sent)} steps sent)",
                              ["contract", "address"], rows),
         message=f"deployment file: {manifest.shown}")


def _params_file(name: str) -> str:
    """The absolute path of a `--params` given as a file (bots reload it from there), '' for a named set."""
    from crossmargin.model.params import PARAMS_DIR

    path = Path(name)
    if not path.suffix and not path.exists():
        return ""
    return "" if path.resolve().parent == PARAMS_DIR.resolve() else str(path.resolve())


def _ephemeral(provider) -> bool:
    """Ape started this node itself (ape-foundry / ape-hardhat with no node running): it stops at exit."""
    return getattr(provider, "process", None) is not None


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def register(cli: click.Group) -> None:
    cli.add_command(deploy_cmd)
