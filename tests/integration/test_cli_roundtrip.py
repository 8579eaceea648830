"""The real stack: `crossmargin deploy` on anvil through Ape, then deposit / withdraw / show, read back on chain."""

from __future__ import annotations

import pytest
from web3 import Web3

ERC20_ABI = [{"name": "balanceOf", "type": "function", "stateMutability": "view",
              "inputs": [{"name": "a", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}]}]


def test_deploy_writes_manifest(deployed, cli_env):
    assert deployed["chain_id"] == 31337
    for name in ("Vault", "OracleRouter", "VolOracle", "token:USDC", "token:WETH", "token:WBTC", "feed:ETH"):
        assert Web3.is_checksum_address(deployed["contracts"][name])
    manifest = cli_env["CROSSMARGIN_DEPLOYMENTS"] + "/31337.json"
    import json
    data = json.load(open(manifest))
    assert data["complete"] is True and data["parameters"]["collaterals"][0]["symbol"] == "USDC"


def test_deploy_again_sends_nothing(deployed, cli):
    again = cli.json("deploy")
    assert again["sent"] == 0
    assert again["contracts"] == deployed["contracts"]


@pytest.mark.parametrize("asset,amount,decimals", [("USDC", "1234.567891", 6), ("WBTC", "0.12345678", 8),
                                                   ("WETH", "2.000000000000000001", 18)])
def test_deposit_withdraw_roundtrip(deployed, cli, anvil, asset, amount, decimals):
    opened = cli.json("account", "open")
    acct = str(opened["account"])
    dep = cli.json("account", "deposit", acct, asset, amount)
    assert dep["balances"][asset] == amount
    w3 = Web3(Web3.HTTPProvider(anvil.uri))
    token = w3.eth.contract(deployed["contracts"][f"token:{asset}"], abi=ERC20_ABI)
    vault_before = token.functions.balanceOf(deployed["contracts"]["Vault"]).call()
    out = cli.json("account", "withdraw", acct, asset, amount)
    assert out["balances"][asset] == "0"
    vault_after = token.functions.balanceOf(deployed["contracts"]["Vault"]).call()
    from decimal import Decimal
    assert vault_before - vault_after == int(Decimal(amount) * 10**decimals)
    assert token.functions.balanceOf(opened["owner"]).call() >= int(Decimal(amount) * 10**decimals)
    shown = cli.json("account", "show", acct)
    assert shown["balances"][asset] == "0" and shown["owner"] == opened["owner"]


@pytest.mark.parametrize("args,expected", [
    (("account", "deposit", "1", "FOO", "1"), "unknown asset 'FOO'"),
    (("account", "deposit", "1", "USDC", "0"), "amount must be positive"),
    (("account", "deposit", "1", "USDC", "-3"), "No such option: -3"),
    (("account", "deposit", "1", "USDC", "abc"), "amount must be a number"),
    (("account", "withdraw", "1", "USDC", "1000000"), "insufficient balance"),
    (("account", "show", "999"), "account 999 does not exist"),
    (("oracle", "set", "DOGE", "--price", "1"), "unknown underlying 'DOGE'"),
    (("trade", "settle", "999"), "account 999 does not exist"),
    (("trade", "settle", "1", "--expired", "ETH-9000D"), "unknown instrument 'ETH-9000D'"),
])
def test_bad_input_is_one_line_and_nonzero(deployed, cli, args, expected):
    proc = cli.run(*args, check=False)
    assert proc.returncode != 0
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1


def test_oracle_set_and_show(deployed, cli):
    row = cli.json("oracle", "set", "ETH", "--price", "2750.5")
    assert row["price"] == "2750.5" and row["status"] == "OK"
    row = cli.json("oracle", "set", "ETH", "--price", "2000", "--secondary")
    assert row["status"] == "DEGRADED"
    rows = cli.json("oracle", "show")
    assert {r["underlying"] for r in rows} == {"ETH", "BTC", "SOL"}
    cli.json("oracle", "set", "ETH", "--price", "3000")


def test_unreachable_node_is_one_line(cli):
    proc = cli.run("account", "show", "1", "--network", "http://127.0.0.1:9", check=False, network=False)
    assert proc.returncode != 0 and "cannot connect" in proc.stderr and "Traceback" not in proc.stderr


def test_no_deployment_for_this_chain(cli, cli_env, tmp_path):
    empty = type(cli)(dict(cli_env, CROSSMARGIN_DEPLOYMENTS=str(tmp_path)), cli.network)
    proc = empty.run("account", "show", "1", check=False)
    assert proc.returncode != 0 and "no deployment for chain 31337" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_settle_flat_account_changes_nothing(deployed, cli):
    acct = cli.json("account", "open")["account"]
    out = cli.json("trade", "settle", str(acct))
    assert out["accounts"] == [{"account": acct, "cash_change": "0"}] and out["expiries"] == []


@pytest.fixture
def rewind(anvil):
    """Snapshot the node and revert after the test: `--warp` moves the shared chain's clock by a day or more."""
    w3 = Web3(Web3.HTTPProvider(anvil.uri))
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    yield
    w3.provider.make_request("evm_revert", [snap])


def test_risk_manager_sets_params_and_correlation_inside_the_checks(deployed, cli, rewind):
    """Each change is queued on the Timelock; `--warp` (dev chains) moves the clock past the delay and executes."""
    shown = cli.json("risk", "show")
    params = {r["name"]: r for r in shown["params"]}
    assert shown["underlyings"] == ["ETH", "BTC", "SOL"] and shown["correlation"][0][1] == "0.8"
    assert params["im_factor"]["value"] == "1.25" and params["im_factor"]["max"] == "3"
    assert shown["pending"] == [] and shown["timelock"]["delay_seconds"] == 86_400
    out = cli.json("risk", "set", "im_factor=1.4", "horizon_seconds=43200", "--warp")
    params = {r["name"]: r["value"] for r in out["params"]}
    assert params["im_factor"] == "1.4" and params["horizon_seconds"] == "43200"
    assert out["executed"] == [out["queued"]["id"]] and out["pending"] == []
    out = cli.json("risk", "correlation", "ETH:BTC=0.9", "sol:eth=0.5", "--warp")
    assert out["correlation"][0][1] == out["correlation"][1][0] == "0.9"
    assert out["correlation"][0][2] == "0.5" and out["correlation"][1][2] == "0.65"  # the others kept exactly
    out = cli.json("risk", "collateral", "weth", "base_im=0.15", "slope=0.2", "--warp")
    weth = next(c for c in out["collaterals"] if c["symbol"] == "WETH")
    assert (weth["base_im"], weth["slope"], weth["base_mm"]) == ("0.15", "0.2", "0.05")
    out = cli.json("risk", "underlying", "ETH", "depth=500000000", "concentration=0.2", "--warp")
    assert out["underlying_params"][0] == {"symbol": "ETH", "depth": "500000000", "concentration": "0.2"}
    prices = cli.json("oracle", "show")
    assert all(r["status"] == "OK" and r["vol_status"] == "OK" for r in prices), "the warp refreshed the mocks"


def test_a_queued_change_waits_for_its_eta_and_the_guardian_can_cancel_it(deployed, cli, rewind):
    before = cli.json("risk", "show")
    out = cli.json("risk", "set", "z=6", "horizon_seconds=604800")
    op = out["queued"]
    assert op["status"].startswith("in 24h") or op["status"].startswith("in 23h")
    assert {r["name"]: r["value"] for r in out["params"]}["z"] == "3", "nothing effective yet"
    assert [p["id"] for p in out["pending"]] == [op["id"]] and "set_risk_params" in out["pending"][0]["call"]
    proc = cli.run("risk", "execute", str(op["id"]), check=False)
    assert proc.returncode != 0 and f"operation {op['id']} is not ready" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    proc = cli.run("risk", "cancel", str(op["id"]), "--account", "TEST::2", check=False)
    assert proc.returncode != 0 and "only the guardian" in proc.stderr
    out = cli.json("risk", "cancel", str(op["id"]))            # the deployer is the dev chain's guardian
    assert out["cancelled"] == op["id"] and out["pending"] == []
    proc = cli.run("risk", "execute", str(op["id"]), "--warp", check=False)
    assert proc.returncode != 0 and "is cancelled, not queued" in proc.stderr
    second = cli.json("risk", "set", "im_factor=1.5")["queued"]
    out = cli.json("risk", "execute", "--all-ready")
    assert out["executed"] == [] and [p["id"] for p in out["pending"]] == [second["id"]]
    out = cli.json("risk", "execute", "--all-ready", "--warp")
    assert out["executed"] == [second["id"]]
    assert {r["name"]: r["value"] for r in out["params"]}["im_factor"] == "1.5"
    after = cli.json("risk", "show")
    assert after["correlation"] == before["correlation"] and after["pending"] == []


def test_the_deployer_keeps_no_direct_admin_power(deployed, anvil):
    """After `crossmargin deploy`: the Timelock holds DEFAULT_ADMIN_ROLE and RISK_MANAGER_ROLE on every contract;
    the deployer EOA holds neither (only proposer rights on the Timelock, guardian and feeder)."""
    from crossmargin.chain.artifacts import artifact
    from crossmargin.chain.deploy import ROLES
    from crossmargin.chain.governance import ADMIN_ROLE, TIMELOCK_ROLES

    w3 = Web3(Web3.HTTPProvider(anvil.uri))
    c = deployed["contracts"]
    deployer = w3.eth.accounts[0]
    timelock = w3.eth.contract(c["Timelock"], abi=artifact("Timelock").abi)
    assert timelock.functions.hasRole(TIMELOCK_ROLES["PROPOSER_ROLE"], deployer).call()
    assert not timelock.functions.hasRole(ADMIN_ROLE, deployer).call()
    for name in ("Vault", "OracleRouter", "VolOracle", "Markets", "RiskEngine", "Clearinghouse", "Liquidation", "Lens"):
        contract = w3.eth.contract(c[name], abi=artifact(name).abi)
        assert contract.functions.hasRole(ADMIN_ROLE, c["Timelock"]).call(), name
        assert not contract.functions.hasRole(ADMIN_ROLE, deployer).call(), name
        assert not contract.functions.hasRole(ROLES["RISK_MANAGER_ROLE"], deployer).call(), name


@pytest.mark.parametrize("args,expected", [
    (("risk", "set", "im_factor=5"), "im_factor = 5 is outside its on-chain bound [1, 3]"),
    (("risk", "set", "gamma=1"), "unknown risk parameter 'gamma'"),
    (("risk", "set", "horizon_seconds=1.5"), "horizon_seconds is whole seconds"),
    (("risk", "set", "im_factor"), "a change looks like im_factor=1.3"),
    (("risk", "set", "im_factor=1.3", "--account", "TEST::2"), "may not queue set_risk_params: only a proposer"),
    (("risk", "correlation", "ETH:BTC=0.99", "ETH:SOL=-0.9"), "not positive semi-definite"),
    (("risk", "correlation", "ETH:BTC=1.5"), "must be in [-1, 1]"),
    (("risk", "correlation", "ETH:DOGE=0.5"), "unknown underlying 'DOGE'"),
    (("risk", "correlation", "ETH:ETH=0.5"), "is the diagonal"),
    (("risk", "correlation", "ETH-BTC=0.5"), "a pair looks like ETH:BTC=0.8"),
    (("risk", "correlation", "ETH:BTC=0.5", "--account", "TEST::2"), "may not queue set_correlation: only a proposer"),
    (("risk", "collateral", "USDC", "base_im=0.1"), "USDC is the settlement asset"),
    (("risk", "collateral", "WETH", "base_im=0.01"), "base_im (0.01) must be >= base_mm (0.05)"),
    (("risk", "collateral", "WETH", "depth=0"), "depth must be > 0"),
    (("risk", "collateral", "DOGE", "depth=1"), "unknown asset 'DOGE'"),
    (("risk", "underlying", "ETH", "concentration=50"), "concentration = 50 is outside its on-chain bound [0, 5]"),
    (("risk", "underlying", "ETH", "depth=1", "--account", "TEST::2"), "may not queue set_underlying: only a proposer"),
    (("risk", "execute"), "pass operation IDs or --all-ready"),
    (("risk", "execute", "999"), "no operation 999 in the timelock"),
    (("risk", "cancel", "999"), "no operation 999 in the timelock"),
])
def test_risk_bad_input_is_one_line_and_changes_nothing(deployed, cli, args, expected):
    before = cli.json("risk", "show")
    proc = cli.run(*args, check=False)
    assert proc.returncode != 0 and expected in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout and len(proc.stderr.strip().splitlines()) == 1
    assert cli.json("risk", "show") == before


def test_account_risk_reads_the_account_into_the_model(deployed, cli):
    """`account risk ID`: the chain's account and oracles in the margin model (issue 14). WETH is a spot delta in
    ETH's scenarios, so the model's MM must equal the RiskEngine's; its P(liquidation) is 0 for a cash-rich account."""
    acct = str(cli.json("account", "open")["account"])
    cli.json("account", "deposit", acct, "WETH", "2")
    cli.json("account", "deposit", acct, "USDC", "100")
    out = cli.json("account", "risk", acct, "--paths", "500", "--method", "normal")
    [row] = out["accounts"]
    assert row["mm"] == pytest.approx(out["chain"]["mm"], rel=1e-9) and row["mm"] > 0
    assert row["equity_mm"] == pytest.approx(out["chain"]["equity_mm"], rel=1e-12)
    assert abs(out["chain"]["cash_adjustment"]) < 1e-6
    assert row["p_liquidation"] == [0.0, 0.0] and row["topup_usd"] == [0.0, 0.0]
