"""Local EVM nodes started and stopped by us: the embedded anvil of the CLI and demo, and test nodes.

The embedded anvil keeps its chain in a state file (`.cache/anvil/<chain_id>.json`, loaded at start, dumped at
stop), so `crossmargin deploy` followed by `crossmargin account deposit` works across separate commands without
a node left running. `crossmargin node` runs the same node in the foreground for bots and other tools.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import json
from dataclasses import dataclass, field
from pathlib import Path

from crossmargin.paths import NODE_BIN, cache_dir

DEFAULT_CHAIN_ID = 31337


class NodeError(RuntimeError):
    """A node could not be started or reached."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def rpc(uri: str, method: str, params: list | None = None, timeout: float = 5.0):
    """One JSON-RPC call (used for node control: health, snapshots, time travel)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    req = urllib.request.Request(uri, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        reply = json.loads(resp.read())
    if "error" in reply:
        raise NodeError(f"{method}: {reply['error'].get('message', reply['error'])}")
    return reply["result"]


def find_binary(name: str) -> str:
    local = NODE_BIN / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise NodeError(f"{name} not found: run `make install` (it comes from package-lock.json)")
    return found


@dataclass
class Anvil:
    """An anvil process on 127.0.0.1 (`state_file` keeps the chain across runs; None = fresh chain)."""

    port: int = 0
    chain_id: int = DEFAULT_CHAIN_ID
    state_file: Path | None = None
    block_time: float | None = None
    extra_args: list[str] = field(default_factory=list)
    _proc: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> "Anvil":
        if not self.port:
            self.port = free_port()
        if port_open("127.0.0.1", self.port):
            raise NodeError(f"port {self.port} is already in use")
        cmd = [find_binary("anvil"), "--port", str(self.port), "--chain-id", str(self.chain_id),
               "--silent", "--accounts", "20", "--balance", "1000000", "--code-size-limit", "24576"]
        if self.state_file is not None:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            cmd += ["--state", str(self.state_file)]
        if self.block_time:
            cmd += ["--block-time", str(self.block_time)]
        cmd += self.extra_args
        self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace").strip() if self._proc.stderr else ""
                raise NodeError(f"anvil exited at start: {err.splitlines()[-1] if err else self._proc.returncode}")
            try:
                rpc(self.uri, "eth_chainId", timeout=0.5)
                return self
            except (OSError, NodeError):
                time.sleep(0.05)
        self.stop()
        raise NodeError(f"anvil did not answer on {self.uri} within {timeout:.0f}s")

    def stop(self) -> None:
        """SIGINT lets anvil dump its state file before it exits."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def kill(self) -> None:
        """Crash the node (no state dump): for restart tests."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> "Anvil":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def embedded_state_file(chain_id: int = DEFAULT_CHAIN_ID) -> Path:
    return cache_dir() / "anvil" / f"{chain_id}.json"
