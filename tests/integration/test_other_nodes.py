"""The non-default paths: a Hardhat node through ape-hardhat, and a second anvil with another chain id reached
through the Ape custom network `crossmargin-local` of ape-config.yaml."""

from __future__ import annotations

from decimal import Decimal

from crossmargin.chain.node import Anvil


def test_hardhat_smoke(cli_env, tmp_path):
    """Deploy, deposit, withdraw, read back on a Hardhat node started by ape-hardhat."""
    from crossmargin.chain.deploy import deploy
    from crossmargin.chain.protocol import Protocol
    from crossmargin.chain.session import connect
    from crossmargin.model.params import load_params

    with connect("ethereum:local:hardhat", deployment=str(tmp_path / "hardhat.json")) as session:
        assert session.provider.name == "hardhat"
        manifest, sent = deploy(session, load_params("default"), fresh=True)
        assert manifest.complete and sent
        p = Protocol.load(session)
        trader = session.test_account(2)
        acct = p.open_account(signer=trader)
        p.deposit(acct, "WBTC", Decimal("0.5"), signer=trader)
        p.withdraw(acct, "WBTC", Decimal("0.2"), signer=trader)
        assert p.account(acct)["balances"]["WBTC"] == "0.3"
        token = p.token("WBTC")
        assert token.balanceOf(p.vault.address) == 30_000_000


def test_custom_network_other_chain_id(cli):
    """`--network ethereum:crossmargin-local:node` (chain 31338 on port 8547, from ape-config.yaml)."""
    with Anvil(port=8547, chain_id=31338):
        net = ["--network", "ethereum:crossmargin-local:node"]
        deployed = _json(cli, "deploy", *net)
        assert deployed["chain_id"] == 31338
        acct = _json(cli, "account", "open", *net)["account"]
        _json(cli, "account", "deposit", str(acct), "USDC", "10", *net)
        shown = _json(cli, "account", "show", str(acct), *net)
        assert shown["balances"]["USDC"] == "10"


def _json(cli, *args):
    import json

    return json.loads(cli.run(*args, "--json", network=False).stdout)

# `ape run deploy`: tests/integration/test_operator.py (its own deployment file, no node_modules/.bin on PATH)
