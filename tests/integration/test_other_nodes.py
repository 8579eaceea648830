"""The non-default paths: a standalone Hardhat node (`npx hardhat node` with the repository's hardhat.config.js), and
a second anvil with another chain id reached through the Ape custom network `crossmargin-local` of ape-config.yaml."""

from __future__ import annotations

import subprocess
import time
from decimal import Decimal

from crossmargin.chain.node import Anvil, NodeError, free_port, rpc


def test_standalone_hardhat_node(cli_env, tmp_path):
    """Deploy, deposit, withdraw, read back on a Hardhat node that outlives the commands (README: `npx hardhat node`
    from the repository root, then `--network http://127.0.0.1:PORT`); its test accounts are anvil's."""
    from crossmargin.chain.deploy import deploy
    from crossmargin.chain.protocol import Protocol
    from crossmargin.chain.session import connect
    from crossmargin.model.params import load_params
    from crossmargin.paths import NODE_BIN, ROOT

    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    node = subprocess.Popen([str(NODE_BIN / "hardhat"), "node", "--hostname", "127.0.0.1", "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert int(rpc(uri, "eth_chainId"), 16) == 31337
                break
            except (OSError, NodeError):
                assert time.monotonic() < deadline and node.poll() is None, "hardhat node did not start"
                time.sleep(0.3)
        assert "HardhatNetwork" in rpc(uri, "web3_clientVersion")
        with connect(uri, deployment=str(tmp_path / "hardhat.json")) as session:
            manifest, sent = deploy(session, load_params("default"))
            assert manifest.complete and sent and manifest.rpc == uri
            p = Protocol.load(session)
            trader = session.test_account(2)
            acct = p.open_account(signer=trader)
            p.deposit(acct, "WBTC", Decimal("0.5"), signer=trader)
            p.withdraw(acct, "WBTC", Decimal("0.2"), signer=trader)
            assert p.account(acct)["balances"]["WBTC"] == "0.3"
            token = p.token("WBTC")
            assert token.balanceOf(p.vault.address) == 30_000_000
    finally:
        node.terminate()
        node.wait(timeout=20)


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
