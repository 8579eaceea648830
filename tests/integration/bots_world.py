"""A chain for the bots' integration tests: its own anvil, the protocol deployed, accounts populated, and the bots
started as real processes (`python -m crossmargin keeper run ...`), read through their JSON lines.

One `BotWorld` per test module (deploy once); every test starts from the same snapshot (`world.reset()`), with
interval mining (1 s blocks) as on a real chain. Dev-chain keys: 0 deployer/oracles, 1 maker, 2 traders,
3 and 4 keepers, 5 band/hedge agents.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from crossmargin.bots.core import dev_key, web3_for
from crossmargin.bots.reads import Deployment, HealthReader
from crossmargin.bots.scenario import Scenario
from crossmargin.chain.node import Anvil, rpc
from crossmargin.paths import NODE_BIN, ROOT

WAD = 10**18
BLOCK_TIME = 1


def bots_entry() -> list[str]:
    """The bots run as users run them: `python -m crossmargin keeper|agent ...`."""
    return ["-m", "crossmargin"]


class BotProc:
    """A bot process; its stdout JSON lines are collected by a thread (`records`)."""

    def __init__(self, args: list[str], env: dict, name: str):
        self.name = name
        self.args = args
        self.proc = subprocess.Popen([sys.executable, *bots_entry(), *args, "--json", "--poll", "0.1"], env=env,
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        self.records: list[dict] = []
        self.stderr = ""
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                self.records.append(rec)

    def _read_err(self) -> None:
        for line in self.proc.stderr:
            self.stderr += line

    def events(self, event: str | None = None, **match) -> list[dict]:
        with self._lock:
            rows = list(self.records)
        return [r for r in rows if (event is None or r.get("event") == event)
                and all(r.get(k) == v for k, v in match.items())]

    def wait_for(self, predicate, timeout: float = 30.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited ({self.proc.returncode}) waiting for {what}:\n"
                                     f"{self.stderr[-3000:]}\n{self.tail()}")
            time.sleep(0.1)
        raise AssertionError(f"{self.name}: timed out after {timeout:.0f}s waiting for {what}\n{self.tail()}")

    def started(self, timeout: float = 40.0) -> None:
        self.wait_for(lambda: self.events("loop"), timeout, "its first loop")

    def tail(self, n: int = 12) -> str:
        with self._lock:
            rows = self.records[-n:]
        return "\n".join(json.dumps(r)[:400] for r in rows)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def interrupt(self, timeout: float = 20.0) -> dict:
        """SIGINT, as Ctrl-C: the bot must exit 0 after a final `stopped` line."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name} did not stop within {timeout:.0f}s of SIGINT\n{self.tail()}")
        time.sleep(0.2)  # let the reader thread drain stdout
        assert self.proc.returncode == 0, f"{self.name} exited {self.proc.returncode}:\n{self.stderr[-3000:]}"
        assert "Traceback" not in self.stderr, self.stderr[-3000:]
        stopped = self.events("stopped")
        assert stopped, f"{self.name}: no final 'stopped' line\n{self.tail()}"
        return stopped[-1]

    def kill(self) -> None:
        """SIGKILL: a crashed bot."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def assert_no_errors(*bots) -> None:
    """No bot logged an error (the first three shown otherwise)."""
    for b in bots:
        assert not b.events("error"), f"{b.name}: {b.events('error')[:3]}"


@dataclass
class BotWorld:
    folder: Path
    node: Anvil | None = None
    procs: list[BotProc] = field(default_factory=list)
    snapshot: str | None = None
    saved_env: dict = field(default_factory=dict)   # the variables `start` set, as they were (`close` puts them back)

    # -- set-up --------------------------------------------------------------------------------------------
    def start(self, params: str = "default") -> "BotWorld":
        from crossmargin.chain.deploy import deploy
        from crossmargin.chain.session import connect
        from crossmargin.model.params import load_params

        for key, sub in (("CROSSMARGIN_DEPLOYMENTS", "deployments"), ("CROSSMARGIN_CACHE", "cache")):
            self.saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = str(self.folder / sub)
        for attempt in range(3):
            # A fresh chain per attempt: the deploy's `markets.list:*` step (list + set_funding_params) is sent
            # with Ape's unpadded gas estimate, which runs out of gas (ReentrancySentryOOG) when the wall clock
            # ticks a second between estimate and mining (funding accrual reads block.timestamp).
            state = self.folder / "anvil.json"
            state.unlink(missing_ok=True)
            self.node = Anvil(state_file=state).start()
            try:
                with connect(self.node.uri) as session:
                    deploy(session, load_params(params), fresh=True)
                break
            except Exception:  # noqa: BLE001 - retried on a fresh chain; the last attempt raises
                self.node.kill()
                if attempt == 2:
                    raise
        self.connect()
        self.admin, self.maker_key, self.trader = dev_key(0), dev_key(1), dev_key(2)
        self.keeper_keys = [dev_key(3), dev_key(4)]
        self.agent_key = dev_key(5)
        return self

    def redeploy_on_empty_node(self, params: str = "default") -> None:
        """Crash the node (no state kept), start an empty one on the same port and deploy again (the manifest is
        rewritten in place): what a bot sees when a dev chain is reset under it."""
        from crossmargin.chain.deploy import deploy
        from crossmargin.chain.session import connect
        from crossmargin.model.params import load_params

        from crossmargin.chain.node import port_open

        port = self.node.port
        self.node.kill()
        for attempt in range(3):
            deadline = time.monotonic() + 10
            while port_open("127.0.0.1", port) and time.monotonic() < deadline:
                time.sleep(0.1)  # the killed node's process lets go of the port
            self.node = Anvil(port=port).start()
            try:
                with connect(self.node.uri) as session:
                    deploy(session, load_params(params), fresh=True)
                break
            except Exception:  # noqa: BLE001 - see `start`
                self.node.kill()
                if attempt == 2:
                    raise
        self.connect()
        self.snapshot = None

    def connect(self) -> None:
        self.w3 = web3_for(self.node.uri)
        self.dep = Deployment.load(self.w3)
        self.sc = Scenario(self.w3, self.dep, dev_key(0))
        self.reader = HealthReader(self.dep)

    @property
    def env(self) -> dict:
        env = dict(os.environ)
        env["PATH"] = f"{NODE_BIN}{os.pathsep}{env.get('PATH', '')}"
        env["CROSSMARGIN_DEPLOYMENTS"] = str(self.folder / "deployments")
        env["CROSSMARGIN_CACHE"] = str(self.folder / "cache")
        env.pop("CROSSMARGIN_DEBUG", None)
        env.pop("CROSSMARGIN_PRIVATE_KEY", None)
        return env

    def take_snapshot(self) -> None:
        self.snapshot = rpc(self.node.uri, "evm_snapshot")

    def reset(self) -> None:
        """Back to the snapshot, automine on (fast set-up), a new snapshot for the next test."""
        self.stop_all()
        rpc(self.node.uri, "evm_setIntervalMining", [0])
        rpc(self.node.uri, "evm_setAutomine", [True])
        assert rpc(self.node.uri, "evm_revert", [self.snapshot])
        self.snapshot = rpc(self.node.uri, "evm_snapshot")
        self.sc.forget_nonces()
        book = self.folder / "cache" / "book"
        if book.exists():
            for f in book.iterdir():
                f.unlink()

    def blocks(self, seconds: float = BLOCK_TIME) -> None:
        """Interval mining, as a real chain."""
        rpc(self.node.uri, "evm_setIntervalMining", [seconds])

    def manual(self) -> None:
        rpc(self.node.uri, "evm_setIntervalMining", [0])
        rpc(self.node.uri, "evm_setAutomine", [False])

    def mine(self, n: int = 1) -> None:
        rpc(self.node.uri, "anvil_mine", [hex(n)])

    def move_price(self, price: float, symbol: str = "ETH", resume: bool = True) -> int:
        """Both feeds of `symbol` in one block (never DEGRADED in between); returns that block. Interval mining
        resumes after it unless `resume` is False (blocks are then mined by hand)."""
        self.manual()
        hashes = self.sc.send_many(self.admin, [(self.sc.feed(k), "set_answer", [int(round(price * 10**8))])
                                                for k in (f"feed:{symbol}", f"feed2:{symbol}")],
                                   gas=150_000, wait=False)
        self.mine()
        block = self.sc.receipt(hashes[-1])["blockNumber"]
        assert self.sc.receipt(hashes[0])["blockNumber"] == block
        if resume:
            self.blocks()
        return block

    def head(self) -> int:
        return self.w3.eth.block_number

    def wait_blocks(self, n: int, timeout: float = 30.0) -> int:
        target = self.head() + n
        deadline = time.monotonic() + timeout
        while self.head() < target:
            if time.monotonic() > deadline:
                raise AssertionError(f"chain did not reach block {target}")
            time.sleep(0.05)
        return self.head()

    # -- bots ----------------------------------------------------------------------------------------------
    def bot(self, *args: str, name: str | None = None) -> BotProc:
        p = BotProc([*args, "--network", self.node.uri], self.env, name or " ".join(args[:2]))
        self.procs.append(p)
        return p

    def stop_all(self) -> None:
        for p in self.procs:
            if p.alive():
                p.proc.send_signal(signal.SIGINT)
        for p in self.procs:
            try:
                p.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs.clear()

    def close(self) -> None:
        """Stop the bots and the node; the environment variables `start` set are restored."""
        self.stop_all()
        if self.node is not None:
            self.node.stop()
        for key, value in self.saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    # -- reads ---------------------------------------------------------------------------------------------
    def health(self, accounts: list[int]):
        return {h.account: h for h in self.reader.scan(accounts)}

    def logs(self, contract, event: str, from_block: int, **filters) -> list:
        return getattr(contract.events, event)().get_logs(from_block=from_block, argument_filters=filters or None)
