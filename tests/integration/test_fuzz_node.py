"""The liquidation machine against real deployments on nodes (crossmargin/fuzz/node.py): runs clean on the real
contracts (anvil), finds a planted bug (contracts/mocks/BrokenAggregator.vy: a feed that lets the price go stale
without reading STALE, put at the deployment's ETH feed with *_setCode) on anvil and on a Hardhat node, and fuzzes a
fork (a second anvil `--fork-url` the first) through the CLI with `--deployment FILE`, and `ape run fuzz`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from crossmargin.chain.artifacts import artifact
from crossmargin.chain.node import Anvil, find_binary, free_port, rpc
from crossmargin.fuzz.node import fuzz_node
from crossmargin.fuzz.runner import WEIGHTS
from crossmargin.paths import ROOT

STALE_HEAVY = dict(WEIGHTS, make_stale=40)        # the planted bug shows on a stale primary: draw it often
HARDHAT_CONFIG = """module.exports = { networks: { hardhat: {
  chainId: 31337, hardfork: "cancun", allowBlocksWithSameTimestamp: true,
  forking: { url: "%s", blockNumber: %d },
  accounts: { mnemonic: "test test test test test test test test test test test junk", count: 10 } } } };
"""


def _deployment(cli_env: dict, chain_id: int) -> str:
    return str(Path(cli_env["CROSSMARGIN_DEPLOYMENTS"]) / f"{chain_id}.json")


@contextmanager
def _isolated(uri: str):
    """The test's own changes (a planted bug, a kept failing state) undone after it."""
    snap = rpc(uri, "evm_snapshot")
    try:
        yield
    finally:
        rpc(uri, "evm_revert", [snap])


def _plant_broken_feed(uri: str, deployment: str, client: str) -> None:
    feed = json.loads(Path(deployment).read_text())["contracts"]["feed:ETH"]
    rpc(uri, f"{client}_setCode", [feed, "0x" + artifact("mocks/BrokenAggregator").runtime.hex()])


def _account_count(uri: str, deployment: str) -> int:
    from eth_utils import keccak

    vault = json.loads(Path(deployment).read_text())["contracts"]["Vault"]
    out = rpc(uri, "eth_call", [{"to": vault, "data": "0x" + keccak(text="account_count()")[:4].hex()}, "latest"])
    return int(out, 16)


def test_runs_clean_on_the_real_contracts(anvil, deployed, cli_env):
    dep = _deployment(cli_env, 31337)
    before = (rpc(anvil.uri, "eth_blockNumber"), _account_count(anvil.uri, dep))
    r = fuzz_node(anvil.uri, dep, steps=40, seed=3)
    print(f"anvil: {r.report.steps} steps at {r.report.steps_per_second:.1f} steps/s, {r.rpc_calls} RPC calls")
    assert r.report.violation is None, r.report.violation
    assert r.report.steps == 40 and sum(r.report.stats.checks.values()) > 40
    assert r.report.stats.outcomes["trade"] > 0
    assert (rpc(anvil.uri, "eth_blockNumber"), _account_count(anvil.uri, dep)) == before   # node left as it was


def test_finds_the_planted_stale_feed_on_anvil(anvil, deployed, cli_env, tmp_path):
    dep = _deployment(cli_env, 31337)
    with _isolated(anvil.uri):
        _plant_broken_feed(anvil.uri, dep, "anvil")
        accounts = _account_count(anvil.uri, dep)
        r = fuzz_node(anvil.uri, dep, steps=200, seed=1, weights=STALE_HEAVY, keep=True, replay_dir=tmp_path)
        v = r.report.violation
        print(f"anvil, broken feed: {v} at step {r.report.failing_step}; shrunk to {r.shrunk} "
              f"in {r.shrink_replays} replays; {r.replay_command()}")
        assert v is not None and v.name == "oracle_status_follows_the_feeds"
        assert r.shrunk[-1] == ("make_stale", ("ETH",)) and len(r.shrunk) <= 2
        assert r.kept and _account_count(anvil.uri, dep) > accounts          # --keep: the failing state stays
        assert "--replay" in r.replay_command() and Path(r.replay_file).exists()
    again = None
    with _isolated(anvil.uri):
        _plant_broken_feed(anvil.uri, dep, "anvil")
        again = fuzz_node(anvil.uri, dep, replay=r.replay_file)            # the replay file reproduces it
    assert again.report.violation is not None and again.report.violation.name == v.name


@pytest.fixture(scope="module")
def hardhat(tmp_path_factory, anvil, deployed):
    """`hardhat node` (node_modules) forking the session's anvil after its deploy: a Hardhat node holding the
    deployment (a deploy through Ape on Hardhat takes ~60 s; the fork ~3 s). One block is mined first: Hardhat
    runs calls at the fork block itself only with a hardfork history for the chain id."""
    folder = tmp_path_factory.mktemp("hardhat")
    block = int(rpc(anvil.uri, "eth_blockNumber"), 16)
    (folder / "hardhat.config.js").write_text(HARDHAT_CONFIG % (anvil.uri, block))
    port = free_port()
    proc = subprocess.Popen([find_binary("hardhat"), "node", "--hostname", "127.0.0.1", "--port", str(port),
                             "--config", str(folder / "hardhat.config.js")], cwd=ROOT,  # Hardhat resolves itself from cwd
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                rpc(uri, "eth_chainId", timeout=0.5)
                break
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        rpc(uri, "evm_mine")
        yield uri
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def test_runs_clean_and_finds_the_planted_stale_feed_on_hardhat(hardhat, cli_env):
    dep = _deployment(cli_env, 31337)
    clean = fuzz_node(hardhat, dep, steps=20, seed=5)
    print(f"hardhat: {clean.report.steps} steps at {clean.report.steps_per_second:.1f} steps/s")
    assert clean.client == "hardhat" and clean.report.violation is None and clean.report.steps == 20
    _plant_broken_feed(hardhat, dep, "hardhat")
    r = fuzz_node(hardhat, dep, steps=200, seed=1, weights=STALE_HEAVY)
    print(f"hardhat, broken feed: {r.report.violation} at step {r.report.failing_step}, shrunk to {r.shrunk}")
    assert r.report.violation is not None and r.report.violation.name == "oracle_status_follows_the_feeds"
    assert r.shrunk[-1] == ("make_stale", ("ETH",))


def test_fuzz_a_fork_through_the_cli(anvil, deployed, cli, cli_env):
    """The "remote" chain is the session's anvil with the deployment; a second anvil forks it; the CLI fuzzes the
    fork with the remote chain's deployment file."""
    dep = _deployment(cli_env, 31337)
    block = int(rpc(anvil.uri, "eth_blockNumber"), 16)
    with Anvil(extra_args=["--fork-url", anvil.uri, "--fork-block-number", str(block)]) as fork:
        out = json.loads(cli.run("fuzz", "--network", fork.uri, "--deployment", dep, "--steps", "25", "--seed", "4",
                                 "--json", network=False).stdout)
    print(f"fork: {out['steps']} steps at {out['steps_per_second']} steps/s, {out['rpc_calls']} RPC calls")
    assert out["violation"] is None and out["steps"] == 25 and out["client"] == "anvil"
    assert out["invariants"]["collateral_conservation"] >= 25


def test_ape_run_fuzz(anvil, deployed, cli_env):
    """Ape users: `ape run fuzz --network URL` (scripts/fuzz.py) on the same deployment."""
    import sys

    env = dict(cli_env, VVM_BINARY_PATH=str(ROOT / ".venv" / "vvm"),
               CROSSMARGIN_DEPLOYMENT=_deployment(cli_env, 31337))
    ape = Path(sys.executable).parent / "ape"
    proc = subprocess.run([str(ape), "run", "fuzz", "--network", anvil.uri, "--steps", "15", "--seed", "2"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "15 steps on" in proc.stdout and "no violation" in proc.stdout
