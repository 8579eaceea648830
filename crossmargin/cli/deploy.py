"""`crossmargin deploy`: the whole protocol from one parameter file, resumable."""

from __future__ import annotations

import click

from crossmargin.cli.common import UserError, chain_options, console, emit, table


@click.command("deploy")
@chain_options
@click.option("--params", "params_name", default="default", show_default=True,
              help="Parameter file: a name in crossmargin/params/ or a path to a TOML file.")
@click.option("--fresh", is_flag=True, help="Ignore an existing manifest and deploy everything again.")
@click.option("--mocks", is_flag=True, default=None, help="Deploy mock tokens and feeds (dev/test chains).")
def deploy_cmd(network, account, confirmations, as_json, params_name, fresh, mocks) -> None:
    """Deploy (or resume) the protocol and write deployments/<chain_id>.json."""
    from crossmargin.chain.deploy import deploy
    from crossmargin.chain.session import connect
    from crossmargin.model.params import load_params

    try:
        params = load_params(params_name)
    except (FileNotFoundError, ValueError) as exc:
        raise UserError(f"params {params_name!r}: {exc}") from None
    with connect(network, account, confirmations, mocks=mocks) as session:
        with console.status("deploying...", spinner="dots") if not as_json else _null() as status:
            def on_step(key: str, what: str) -> None:
                if status is not None:
                    status.update(f"{what}: {key}")
            manifest, sent = deploy(session, params, fresh=fresh, on_step=on_step)
    data = {"chain_id": manifest.chain_id, "network": manifest.network, "params": manifest.params_name,
            "start_block": manifest.start_block, "contracts": manifest.contracts, "sent": len(sent),
            "manifest": f"deployments/{manifest.chain_id}.json"}
    rows = [[name, address] for name, address in manifest.contracts.items()]
    emit(data, as_json, table(f"crossmargin on chain {manifest.chain_id} ({len(sent)} steps sent)",
                              ["contract", "address"], rows),
         message=f"manifest: deployments/{manifest.chain_id}.json")


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def register(cli: click.Group) -> None:
    cli.add_command(deploy_cmd)
