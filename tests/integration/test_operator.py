"""Operator experience (issue 15) on a real anvil: deployment identity, unattended keystore signing, read-only
commands without a key, stdout carrying only the result, input checked before it is sent, one failure policy for
the bots.

The CLI runs in-process (`run_guarded` under click's isolation: one process for every case); every bad input must
exit non-zero with one line on stderr, no traceback, and change nothing on chain (no block mined) or on disk
(the deployment folder byte for byte).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from web3 import Web3

from crossmargin.chain.node import Anvil, rpc

ALIAS = f"cmtest{secrets.token_hex(4)}"
PASSPHRASE = "correct horse battery staple"


@dataclass
class Result:
    code: int
    out: str
    err: str


def run(*args: str, env: dict | None = None) -> Result:
    """`crossmargin ARGS` in this process, as `main()` runs it (stdout and stderr apart)."""
    from click.testing import CliRunner

    from crossmargin.cli import cli, register_all
    from crossmargin.cli.common import run_guarded

    register_all()
    runner = CliRunner(mix_stderr=False)
    with runner.isolation(env=env) as (out, err):
        try:
            run_guarded(cli, list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    return Result(code, stdout, stderr)


def ok(*args: str, env: dict | None = None):
    r = run(*args, "--json", env=env)
    assert r.code == 0, r.err + r.out
    return json.loads(r.out)


@pytest.fixture(scope="module")
def op(deployed, anvil, cli_env, tmp_path_factory):
    """The session's deployment (default file of the shared anvil), a second anvil (same chain id, other genesis),
    bad deployment files, and an Ape keystore account with a passphrase (no ETH yet)."""
    from eth_account import Account

    from crossmargin.chain.signers import keystore_dir

    folder = tmp_path_factory.mktemp("operator")
    default = Path(cli_env["CROSSMARGIN_DEPLOYMENTS"]) / "31337.json"
    data = json.loads(default.read_text())
    gone = dict(data, contracts={**data["contracts"], "Vault": "0x" + "11" * 20})
    (folder / "gone.json").write_text(json.dumps(gone))
    (folder / "corrupt.json").write_text(default.read_text()[:500])
    (folder / "list.json").write_text("[]")
    key = Account.create()
    keystore = keystore_dir() / f"{ALIAS}.json"
    keystore.parent.mkdir(parents=True, exist_ok=True)
    keystore.write_text(json.dumps(Account.encrypt(key.key, PASSPHRASE)))
    other = Anvil().start()
    try:
        yield {"folder": folder, "default": default, "data": data, "other": other, "uri": anvil.uri,
               "w3": Web3(Web3.HTTPProvider(anvil.uri)), "key": key}
    finally:
        other.stop()
        keystore.unlink(missing_ok=True)


def _disk(op) -> dict:
    """Every file of the deployments folder and the test folder, with its bytes."""
    files = {}
    for root in (op["default"].parent, op["folder"]):
        for p in sorted(root.rglob("*")):
            if p.is_file():
                files[str(p)] = p.read_bytes()
    return files


def _bad(op, args: list[str], expected: str, env: dict | None = None, as_json: bool = False) -> Result:
    head, disk = op["w3"].eth.block_number, _disk(op)
    r = run(*args, *(["--json"] if as_json else []), env=env)
    assert r.code != 0, r.out
    assert expected in r.err, r.err
    assert "Traceback" not in r.err + r.out and len(r.err.strip().splitlines()) == 1, r.err
    assert r.out == "", f"stdout must carry only a result: {r.out!r}"
    if as_json:
        assert json.loads(r.err)["error"]
    assert op["w3"].eth.block_number == head, "nothing sent"
    assert _disk(op) == disk, "nothing written"
    return r


# --- 1. deployment identity ------------------------------------------------------------------------------------

def test_deployment_file_records_identity_abis_and_provenance(op):
    d = op["data"]
    w3 = op["w3"]
    assert d["genesis_hash"] == "0x" + bytes(w3.eth.get_block(0)["hash"]).hex() and d["rpc"] == op["uri"]
    assert d["compiler"] == "vyper 0.4.3" and len(d["git_commit"].split("-")[0]) == 40
    vault = d["deployed"]["Vault"]
    receipt = w3.eth.get_transaction_receipt(vault["tx_hash"])
    assert receipt["contractAddress"] == d["contracts"]["Vault"] and receipt["blockNumber"] == vault["block"]
    # a third-party client reads an account's margin with nothing but the file
    risk = w3.eth.contract(d["contracts"]["RiskEngine"], abi=d["abis"]["RiskEngine"])
    acct = ok("account", "open", "--network", op["uri"])["account"]
    ok("account", "deposit", str(acct), "usdc", "1234.5", "--network", op["uri"])
    eq_im = risk.functions.margin(acct).call()[0]
    shown = ok("account", "show", str(acct), "--network", op["uri"])
    assert Decimal(eq_im) / 10**18 == Decimal(shown["margin"]["equity_im"]) == Decimal("1234.5")
    assert shown["max_withdrawable"]["USDC"] == "1234.5"


def test_cast_reads_an_accounts_margin_from_the_deployment_file(op):
    """Foundry's own client (`cast`, from npm @foundry-rs/cast), given only the file's address and RPC, reads the
    margin `account show --json` prints, to the wei (the README's session)."""
    cast = shutil.which("cast")
    assert cast, "cast comes with node_modules (package-lock.json): put node_modules/.bin on PATH"
    d = op["data"]
    acct = ok("account", "open", "--network", op["uri"])["account"]
    ok("account", "deposit", str(acct), "USDC", "777.25", "--network", op["uri"])
    out = subprocess.run([cast, "call", d["contracts"]["RiskEngine"], "margin(uint256)((int256,int256,uint256,uint256,uint8))",
                          str(acct), "--rpc-url", d["rpc"]], capture_output=True, text=True, timeout=60, check=True)
    fields = [int(x.split()[0]) for x in out.stdout.strip().strip("()").split(",")]
    shown = ok("account", "show", str(acct), "--network", op["uri"])["margin"]
    assert [Decimal(f) / 10**18 for f in fields[:4]] == [Decimal(shown[k]) for k in ("equity_im", "equity_mm", "im", "mm")]
    assert fields[0] == 777_250_000_000_000_000_000


def test_deploy_again_confirms_and_a_file_of_its_own_keeps_both(op, tmp_path):
    again = ok("deploy", "--network", op["uri"])
    assert again["sent"] == 0 and again["contracts"] == op["data"]["contracts"]
    second = tmp_path / "other.json"
    out = ok("deploy", "--network", op["other"].uri, "--deployment", str(second))
    assert out["sent"] > 0 and json.loads(second.read_text())["genesis_hash"] != op["data"]["genesis_hash"]
    assert json.loads(op["default"].read_text())["contracts"] == op["data"]["contracts"], "default file untouched"
    shown = ok("oracle", "show", "ETH", "--network", op["other"].uri, "--deployment", str(second))
    assert shown[0]["price"] == "3000"


BAD_DEPLOYMENTS = [
    (["account", "show", "1", "--network", "{other}"], "was written for a chain whose genesis is {genesis}; "
                                                       "this node's is 0x"),
    (["deploy", "--network", "{other}"], "was written for a chain whose genesis is"),
    (["deploy", "--network", "{uri}", "--params", "demo"], "is a live deployment with params 'default'"),
    (["account", "show", "1", "--network", "{uri}", "--deployment", "{folder}/gone.json"],
     "Vault at 0x1111111111111111111111111111111111111111 has no code on this node"),
    (["keeper", "run", "--network", "{uri}", "--deployment", "{folder}/gone.json", "--account", "TEST::3"],
     "has no code on this node"),
    (["oracle", "show", "--network", "{uri}", "--deployment", "{folder}/corrupt.json"], "corrupt.json is not valid JSON"),
    (["agent", "maker", "--network", "{uri}", "--deployment", "{folder}/corrupt.json", "--account", "TEST::1"],
     "corrupt.json is not valid JSON"),
    (["risk", "show", "--network", "{uri}", "--deployment", "{folder}/list.json"], "is not a crossmargin deployment file"),
    (["liquidations", "--network", "{uri}", "--deployment", "{folder}/missing.json"], "no deployment for chain 31337"),
]


@pytest.mark.parametrize("args,expected", BAD_DEPLOYMENTS, ids=[" ".join(a[:2]) + f"-{i}"
                                                                for i, (a, _) in enumerate(BAD_DEPLOYMENTS)])
def test_wrong_or_broken_deployment_is_one_exact_line(op, args, expected):
    fill = {"other": op["other"].uri, "uri": op["uri"], "folder": str(op["folder"]),
            "genesis": op["data"]["genesis_hash"]}
    _bad(op, [a.format(**fill) for a in args], expected.format(**fill), as_json=args[0] == "oracle")


# --- 2. unattended keystore signing, 3. read-only without a key, 8. signer messages ------------------------------

def test_keystore_account_signs_unattended_with_the_passphrase_variable(op):
    env = {f"APE_ACCOUNTS_{ALIAS}_PASSPHRASE": PASSPHRASE}
    address = op["key"].address
    _bad(op, ["account", "open", "--network", op["uri"], "--account", ALIAS], f"signer {address} has no ETH", env=env)
    rpc(op["uri"], "anvil_setBalance", [address, hex(10**20)])
    opened = ok("account", "open", "--network", op["uri"], "--account", ALIAS, env=env)
    assert opened["owner"] == address
    dep = ok("account", "deposit", str(opened["account"]), "USDC", "100", "--network", op["uri"], "--account", ALIAS,
             env=env)
    assert dep["balances"]["USDC"] == "100"
    usdc = op["w3"].eth.contract(op["data"]["contracts"]["token:USDC"], abi=op["data"]["abis"]["MockERC20"])
    assert usdc.functions.allowance(address, op["data"]["contracts"]["Vault"]).call() == 0, "exact approval, used up"


def test_keystore_passphrase_is_asked_once_on_a_terminal(op, cli_env):
    """Without the variable, on a terminal (a pty): one hidden prompt, then the command signs; no "Sign: [y/N]"."""
    import sys

    import pexpect

    from crossmargin.paths import ROOT

    rpc(op["uri"], "anvil_setBalance", [op["key"].address, hex(10**20)])
    env = {k: v for k, v in cli_env.items() if not k.startswith("APE_ACCOUNTS_")}
    child = pexpect.spawn(sys.executable, ["-m", "crossmargin", "account", "open", "--account", ALIAS, "--network",
                                           op["uri"], "--json"], env=env, cwd=str(ROOT), encoding="utf-8",
                          timeout=120)
    child.expect(f"passphrase for '{ALIAS}'")
    child.sendline(PASSPHRASE)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert f'"owner": "{op["key"].address}"' in child.before
    assert "passphrase for" not in child.before and "Sign:" not in child.before, "asked once, never to sign"


SIGNER_CASES = [
    (["account", "open", "--account", ALIAS], {}, f"account '{ALIAS}' is locked: set APE_ACCOUNTS_{ALIAS}_PASSPHRASE"),
    (["account", "open", "--account", ALIAS], {f"APE_ACCOUNTS_{ALIAS}_PASSPHRASE": "nope"},
     f"wrong passphrase for Ape account '{ALIAS}'"),
    (["account", "open", "--account", "nosuchalias"], {}, "no Ape account 'nosuchalias'"),
    (["account", "open", "--account", "TEST::99"], {}, "TEST::i takes an index 0..19"),
    (["account", "open", "--account", "TEST::abc"], {}, "TEST::i takes an index 0..19"),
    (["account", "open"], {"CROSSMARGIN_PRIVATE_KEY": "0x1234"}, "CROSSMARGIN_PRIVATE_KEY is not a private key"),
    (["agent", "band", "--account-id", "1"], {}, "no signer: pass --account ALIAS"),
]


@pytest.mark.parametrize("args,env,expected", SIGNER_CASES, ids=[f"signer-{i}" for i in range(len(SIGNER_CASES))])
def test_signer_problems_are_one_line_without_prompts(op, args, env, expected):
    _bad(op, [*args, "--network", op["uri"]], expected, env=env)


def test_read_only_commands_need_no_key(op):
    """The signer is resolved on first use: an unusable --account does not stop monitoring."""
    for args in (["oracle", "show"], ["risk", "show"], ["liquidations"], ["account", "show", "1"]):
        r = run(*args, "--network", op["uri"], "--account", "nosuchalias", "--json")
        assert r.code == 0 and r.err == "", (args, r.err)
        json.loads(r.out)


def test_network_from_crossmargin_network_or_eth_rpc_url(op):
    for var in ("CROSSMARGIN_NETWORK", "ETH_RPC_URL"):
        rows = ok("oracle", "show", "ETH", env={var: op["uri"]})
        assert rows[0]["underlying"] == "ETH"


# --- 4, 7, 8, 9, 10: results on stdout only, input checked before it is sent ------------------------------------

BAD_INPUT = [
    (["trade", "order", "1", "ETH-PERP", "sell", "1e-19", "3000"], "has more than 18 decimals"),
    (["trade", "order", "1", "ETH-PERP", "sell", "1", "3000", "--ttl", "-5"], "'--ttl': -5 is not in the range"),
    (["trade", "order", "1", "ETH-PERP", "sell", "1", "3000", "--fee-rate", "abc"], "--fee-rate must be a number"),
    (["account", "open", "--isolated", "999"], "unknown instrument '999'"),
    (["keeper", "run", "--batch", "1000"], "'--batch': 1000 is not in the range 1<=x<=500"),
    (["keeper", "run", "--batch", "0"], "'--batch': 0 is not in the range 1<=x<=500"),
    (["oracle", "set", "ETH", "--price", "1e30"], "price must be at most 1,000,000,000,000 USD"),
    (["oracle", "set", "ETH", "--price", "3000.123456789"], "feed has 8 decimals"),
    (["account", "withdraw", "1", "USDC", "1", "--to", "0x1234"], "--to must be a 0x address"),
    (["account", "deposit", "1", "usdc", "1e15"], "cap exceeded: USDC deposits are capped at 100000000"),
]


@pytest.mark.parametrize("args,expected", BAD_INPUT, ids=[f"{a[0]}-{a[1]}-{i}" for i, (a, _) in enumerate(BAD_INPUT)])
def test_bad_input_is_refused_before_anything_is_sent(op, args, expected):
    _bad(op, [*args, "--network", op["uri"]], expected, as_json=True)


def test_trade_then_withdraw_is_held_at_initial_margin_and_fill_errors_stay_off_stdout(op, tmp_path):
    """A maker and a taker trade through signed orders; the taker's withdrawal is refused above the most
    `account show` offers (the Vault's own IM check, simulated), which itself passes; a fill that reverts prints
    nothing on stdout and one JSON line on stderr."""
    net = ["--network", op["uri"]]
    maker = ok("account", "open", *net, "--account", "TEST::7")["account"]
    taker = ok("account", "open", *net, "--account", "TEST::8")["account"]
    ok("account", "deposit", str(maker), "USDC", "50000", *net, "--account", "TEST::7")
    ok("account", "deposit", str(taker), "USDC", "2000", *net, "--account", "TEST::8")
    order = tmp_path / "ask.json"
    ok("trade", "order", str(maker), "ETH-PERP", "sell", "3", "3000", "--out", str(order), *net, "--account", "TEST::7")
    fill = ok("trade", "fill", str(order), str(taker), *net, "--account", "TEST::8")
    assert fill["filled"] == "3"
    most = Decimal(ok("account", "show", str(taker), *net)["max_withdrawable"]["USDC"])
    assert 0 < most < 2000
    r = _bad(op, ["account", "withdraw", str(taker), "USDC", str(most + 10), *net, "--account", "TEST::8"],
             "would leave account", as_json=True)
    assert f"at most {most}" in r.err
    out = ok("account", "withdraw", str(taker), "USDC", str(most), *net, "--account", "TEST::8")
    assert Decimal(out["balances"]["USDC"]) == 2000 - most
    _bad(op, ["trade", "fill", str(order), str(taker), *net, "--account", "TEST::8"], "order already fully filled",
         as_json=True)
    big = tmp_path / "big.json"
    ok("trade", "order", str(maker), "ETH-PERP", "sell", "100", "3000", "--out", str(big), *net, "--account", "TEST::7")
    _bad(op, ["trade", "fill", str(big), str(taker), *net, "--account", "TEST::8"], "transaction reverted",
         as_json=True)


def test_tables_are_never_truncated(op):
    r = run("account", "show", "1", "--network", op["uri"])
    assert r.code == 0 and "…" not in r.out and "max withdrawable" in r.out


# --- 5, 6: bots: no silent dry run, one failure policy -----------------------------------------------------------

def test_bot_waits_while_its_deployment_is_gone_and_resumes_when_it_is_back(op, tmp_path):
    """The failure policy on a live node: the RiskEngine's code disappears (a reset node) -> after at most one failing
    block the maker logs `waiting` and runs no block handler (no BadFunctionCallOutput loop); the code comes back ->
    it quotes again. And CROSSMARGIN_BOT_MAX_ERRORS failing blocks in a row end a bot with one error."""
    from crossmargin.bots.base import BotOptions
    from crossmargin.bots.core import BotError, Loop, Metrics, dev_key, web3_for
    from crossmargin.bots.maker import Maker, MakerConfig

    net = ["--network", op["uri"]]
    acct = ok("account", "open", *net, "--account", "TEST::9")["account"]
    ok("account", "deposit", str(acct), "USDC", "100000", *net, "--account", "TEST::9")
    w3 = web3_for(op["uri"])
    records: list[dict] = []
    bot = Maker(w3, dev_key(9), BotOptions(account_id=acct, book=tmp_path / "book.json"), MakerConfig())
    loop = Loop(bot, w3, Metrics("maker", sink=records.append))
    assert loop.step()["event"] == "loop"
    risk = op["data"]["contracts"]["RiskEngine"]
    code = w3.eth.get_code(risk)
    rpc(op["uri"], "anvil_setCode", [risk, "0x"])
    try:
        events = []
        for _ in range(5):
            rpc(op["uri"], "anvil_mine", ["0x1"])
            events.append(loop.step()["event"])
        print("deployment gone:", events)
        assert events.count("error") <= 1 and events[-3:] == ["waiting"] * 3
        assert [r for r in records if r.get("event") == "waiting"][0]["reason"] == "deployment not on chain"
    finally:
        rpc(op["uri"], "anvil_setCode", [risk, "0x" + bytes(code).hex()])
    rpc(op["uri"], "anvil_mine", ["0x1"])
    assert loop.step()["event"] == "loop"
    bot.on_block = lambda loop, block: 1 / 0
    loop.max_errors_in_row = 3
    with pytest.raises(BotError, match="3 failures in a row .* ZeroDivisionError"):
        for _ in range(3):
            rpc(op["uri"], "anvil_mine", ["0x1"])
            loop.step()
    loop.finish()


def test_ape_run_deploy_without_node_modules_on_path_writes_its_own_file(op, cli_env, tmp_path):
    """`ape run deploy --network ethereum:local:foundry` (Ape starts a throwaway anvil): found without
    node_modules/.bin on PATH, refused over the live default file, fine with a file of its own."""
    import subprocess
    import sys

    from crossmargin.paths import NODE_BIN, ROOT

    path = os.pathsep.join(p for p in cli_env["PATH"].split(os.pathsep) if p and Path(p) != NODE_BIN)
    assert not shutil.which("anvil", path=path) or Path(shutil.which("anvil", path=path)).parent != NODE_BIN
    env = dict(cli_env, PATH=path, VVM_BINARY_PATH=str(ROOT / ".venv" / "vvm"))
    ape = [str(Path(sys.executable).parent / "ape"), "run", "deploy", "--network", "ethereum:local:foundry"]
    before = op["default"].read_bytes()
    proc = subprocess.run(ape, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "was written for a chain whose genesis is" in proc.stdout + proc.stderr
    assert op["default"].read_bytes() == before
    own = tmp_path / "throwaway.json"
    proc = subprocess.run([*ape, "--deployment", str(own), "--account", "TEST::0"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "deployed on chain 31337" in proc.stdout and json.loads(own.read_text())["complete"]
    assert op["default"].read_bytes() == before


# --- polish: --help examples, one JSON convention, exact approvals, library code without the CLI -----------------

def _commands():
    """Every leaf command of the CLI, with its path."""
    import click

    from crossmargin.cli import cli, register_all

    register_all()

    def walk(cmd, path):
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                yield from walk(sub, [*path, name])
        else:
            yield " ".join(path), cmd

    return list(walk(cli, []))


def test_every_command_help_has_examples():
    """`crossmargin X --help` of every command shows an Examples section with at least one runnable line."""
    commands = _commands()
    assert len(commands) >= 30 and {"trade settle", "risk set", "simulate", "report efficiency"} <= dict(commands).keys()
    missing = []
    for path, _ in commands:
        r = run(*path.split(), "--help")
        assert r.code == 0, (path, r.err)
        examples = r.out.split("Examples:")[1] if "Examples:" in r.out else ""
        if f"crossmargin {path}" not in examples:
            missing.append(path)
    assert not missing, f"--help without an Examples section of their own: {missing}"


def test_signer_and_account_ids_have_one_name_each():
    """`--account` is always the signer; a Vault account is ACCOUNT_ID (positional) or `--account-id` (bots,
    optional); `--isolated` takes an instrument name like the trade commands."""
    import click

    for path, cmd in _commands():
        for param in cmd.params:
            names = [*param.opts, *getattr(param, "secondary_opts", [])]
            if isinstance(param, click.Argument) and "account" in param.name:
                assert param.name.endswith(("account_id", "account_ids")), (path, param.name)
            if "--account" in names:
                assert "Signer" in param.help, (path, param.help)
            if any(n.startswith("--account") and n not in ("--account", "--account-id") for n in names):
                raise AssertionError(f"{path}: {names}")
    isolated = next(o for o in dict(_commands())["account open"].params if o.name == "isolated")
    assert isolated.metavar == "INSTRUMENT" and "a name like ETH-PERP" in isolated.help


def _walk_json(value, path="$"):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk_json(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk_json(v, f"{path}[{i}]")
    else:
        yield path, value


def test_json_numbers_follow_one_convention(op, tmp_path):
    """Every chain command's --json: amounts, prices, USD, vols, ratios and parameters are exact decimal strings
    (no float anywhere, no exponent); ids, counts, blocks, seconds and gas are integers; USDC keeps its own 6
    decimals (JSON and table); margin_ratio is equity/IM at 18 decimals, not rounded further."""
    net = ["--network", op["uri"]]
    maker = ok("account", "open", *net, "--account", "TEST::10")["account"]
    taker = ok("account", "open", *net, "--account", "TEST::11")["account"]
    ok("account", "deposit", str(maker), "USDC", "100000", *net, "--account", "TEST::10")
    order = tmp_path / "o.json"
    outputs = {
        "deploy": ok("deploy", *net),
        "account deposit": ok("account", "deposit", str(taker), "USDC", "1234.567891", *net, "--account", "TEST::11"),
        "account deposit weth": ok("account", "deposit", str(taker), "WETH", "0.123456789012345678", *net,
                                   "--account", "TEST::11"),
        "trade order": ok("trade", "order", str(maker), "ETH-PERP", "sell", "0.7", "3000", "--out", str(order), *net,
                          "--account", "TEST::10"),
    }
    outputs["trade fill"] = ok("trade", "fill", str(order), str(taker), *net, "--account", "TEST::11")
    outputs.update({
        "account withdraw": ok("account", "withdraw", str(taker), "USDC", "0.000001", *net, "--account", "TEST::11"),
        "account show": ok("account", "show", str(taker), *net),
        "oracle show": ok("oracle", "show", *net),
        "oracle set": ok("oracle", "set", "ETH", "--price", "3000", *net),
        "risk show": ok("risk", "show", *net),
        "liquidations": ok("liquidations", "--all", *net),
        "trade settle": ok("trade", "settle", str(taker), *net),
    })
    integers = {"account", "chain_id", "start_block", "sent", "isolated_instrument", "taker", "maker", "gas_used",
                "delay_seconds", "grace_seconds", "id", "eta", "started", "expiry", "age_seconds", "params_version",
                "round", "instrument", "nonce", "size", "limit_price", "fee_rate"}
    for name, data in outputs.items():
        for path, value in _walk_json(data):
            key = path.rsplit(".", 1)[-1].split("[")[0]
            assert not isinstance(value, float), f"{name} {path} = {value!r}: a float"
            if isinstance(value, int) and not isinstance(value, bool):
                assert key in integers, f"{name} {path} = {value!r}: amounts are decimal strings"
            if isinstance(value, str) and re.fullmatch(r"-?[\d.]+(e[-+]?\d+)?", value, re.I):
                assert re.fullmatch(r"-?\d+(\.\d+)?", value), f"{name} {path} = {value!r}: plain decimals"
    shown = outputs["account show"]
    assert shown["balances"]["USDC"] == "1234.56789" and shown["max_withdrawable"]["USDC"] == "1234.56789"
    assert outputs["account deposit weth"]["balances"]["WETH"] == "0.123456789012345678"
    m = shown["margin"]
    eq_im, im = (int(Decimal(m[k]) * 10**18) for k in ("equity_im", "im"))
    assert m["margin_ratio"] == str(Decimal(eq_im * 10**18 // im) / 10**18), m
    assert len(m["margin_ratio"].split(".")[1]) > 6, "not rounded for JSON"
    assert outputs["risk show"]["correlation"][0][1] == "0.8"
    table = run("account", "show", str(taker), *net)
    assert "1,234.56789" in table.out and "0.123456789012345678" in table.out, table.out


def test_scenario_approves_exactly_what_it_deposits(op):
    """bots/scenario.py (tests, keeper benchmark): the allowance it grants is what its deposits take, used up."""
    from crossmargin.bots.core import dev_key, web3_for
    from crossmargin.bots.reads import Deployment
    from crossmargin.bots.scenario import Scenario

    w3 = web3_for(op["uri"])
    dep = Deployment.load(w3)
    key = dev_key(12)
    sc = Scenario(w3, dep, dev_key(0))
    ids = sc.open_accounts(key, 2)
    sc.deposit(key, ids, "USDC", 1_000)
    sc.deposit(key, ids, "USDC", 500)
    usdc = dep.token("USDC")
    assert usdc.functions.allowance(key.address, dep.vault.address).call() == 0
    approvals = [int.from_bytes(bytes(tx["input"])[-32:], "big")
                 for n in range(w3.eth.block_number - 8, w3.eth.block_number + 1)
                 for tx in w3.eth.get_block(n, full_transactions=True)["transactions"]
                 if tx["from"] == key.address and tx["to"] == usdc.address
                 and bytes(tx["input"])[:4] == bytes.fromhex("095ea7b3")]
    assert approvals == [2 * 1_000 * 10**6, 2 * 500 * 10**6]


def test_library_code_imports_no_cli():
    """The bots, the demo and the keeper benchmarks are library code: importing (and starting) them loads nothing
    of `crossmargin.cli`."""
    import subprocess
    import sys

    from crossmargin.paths import ROOT

    code = ("import importlib, pkgutil, sys\n"
            "import crossmargin.bots, crossmargin.demo\n"
            "for pkg in (crossmargin.bots, crossmargin.demo):\n"
            "    for m in pkgutil.iter_modules(pkg.__path__): importlib.import_module(f'{pkg.__name__}.{m.name}')\n"
            "import benchmarks.keeper, benchmarks.keeper_crash\n"
            "assert benchmarks.keeper_crash._entry() == ['-m', 'crossmargin']\n"
            "print(sorted(k for k in sys.modules if k.startswith('crossmargin.cli')))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout
