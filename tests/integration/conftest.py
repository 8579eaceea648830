"""Integration fixtures: real nodes (anvil from node_modules, a Hardhat node through ape-hardhat) started by the
test session and stopped after it; the real `crossmargin` CLI run as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crossmargin.chain.node import Anvil
from crossmargin.paths import NODE_BIN, ROOT

pytestmark = pytest.mark.integration


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("crossmargin")


@pytest.fixture(scope="session")
def cli_env(workdir) -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{NODE_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["CROSSMARGIN_DEPLOYMENTS"] = str(workdir / "deployments")
    env["CROSSMARGIN_CACHE"] = str(workdir / "cache")
    env["CROSSMARGIN_REPORTS"] = str(workdir / "reports")
    env["MPLBACKEND"] = "Agg"
    for var in ("CROSSMARGIN_DEBUG", "CROSSMARGIN_DEPLOYMENT", "CROSSMARGIN_NETWORK", "ETH_RPC_URL",
                "CROSSMARGIN_PRIVATE_KEY"):  # a developer's own settings must not steer the tests
        env.pop(var, None)
    return env


@pytest.fixture(scope="session", autouse=True)
def _isolate_in_process(cli_env):
    """In-process chain code writes manifests to the test folder too."""
    old = {k: os.environ.get(k) for k in ("CROSSMARGIN_DEPLOYMENTS", "CROSSMARGIN_CACHE", "CROSSMARGIN_REPORTS",
                                          "CROSSMARGIN_DEPLOYMENT", "CROSSMARGIN_NETWORK", "ETH_RPC_URL",
                                          "CROSSMARGIN_PRIVATE_KEY")}
    for k in old:
        if k in cli_env:
            os.environ[k] = cli_env[k]
        else:
            os.environ.pop(k, None)
    os.environ["PATH"] = cli_env["PATH"]
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


class Cli:
    """Runs `crossmargin ...` as a user would; `.json(...)` adds --json and parses the output."""

    def __init__(self, env: dict, network: str | None):
        self.env, self.network = env, network

    def run(self, *args: str, check: bool = True, network: bool = True) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "crossmargin", *args]
        if network and self.network:
            cmd += ["--network", self.network]
        proc = subprocess.run(cmd, env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def json(self, *args: str):
        return json.loads(self.run(*args, "--json").stdout)


@pytest.fixture(scope="session")
def anvil():
    node = Anvil().start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def cli(cli_env, anvil) -> Cli:
    return Cli(cli_env, anvil.uri)


@pytest.fixture(scope="session")
def deployed(cli) -> dict:
    return cli.json("deploy")
