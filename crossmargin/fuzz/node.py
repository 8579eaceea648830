"""The liquidation machine against a deployment on a node: anvil, Hardhat, or a fork of a test chain.

    result = fuzz_node("http://127.0.0.1:8545", deployment="deployments/31337.json", steps=200, seed=1)
    result.report.violation, result.shrunk, result.replay_file

The same `LiquidationMachine` (rules and named invariants written once) runs on a `World` attached to the
deployment's addresses instead of one it deploys itself: the engine is a `NodeChain` (JSON-RPC), the traders are
fresh EOAs the node funds (`*_setBalance`) and impersonates, their collateral is minted from the deployment's mock
tokens, prices move through the deployment's own mock aggregators (a feed that is not one, e.g. a real Chainlink
feed on a fork, gets the MockAggregator code put at its address with `*_setCode`, its decimals kept). Everything
runs inside an `evm_snapshot` taken first and reverted last, so the node is left as it was, unless `keep` and a
violation: then the node stays at the failing state of the shrunk step list, for inspection.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from eth_keys import keys
from eth_utils import keccak

from crossmargin.chain.artifacts import artifact
from crossmargin.chain.manifest import Manifest, ManifestError
from crossmargin.fuzz.engine import NodeChain, Revert
from crossmargin.fuzz.world import CAP, Trader, World, _EngineBackend
from crossmargin.model.params import load_params
from crossmargin.paths import reports_dir

ADDRESS_KEYS = {"vault": "Vault", "router": "OracleRouter", "vol": "VolOracle", "markets": "Markets",
                "pricer": "OptionPricer", "engine": "RiskEngine", "clearing": "Clearinghouse",
                "liquidation": "Liquidation", "timelock": "Timelock"}
MOCK_FEED_DECIMALS_SLOT = 0   # MockAggregator storage: decimals, _round_id, _rounds, reverts


def load_deployment(path: str | Path | None, chain_id: int) -> Manifest:
    """The deployment file: `path`, else the one recorded for `chain_id` (`deployments/<chain_id>.json`).
    The one place the fuzzer reads a deployment: it goes through the manifest's own loader."""
    if path is None:
        return Manifest.load(chain_id)
    loader = getattr(Manifest, "load_file", None)      # the operator tooling's file loader, once it exists
    if loader is not None:
        return loader(Path(path))
    p = Path(path)
    if not p.exists():
        raise ManifestError(f"no deployment file {p}")
    data = json.loads(p.read_text())
    manifest = Manifest(**{k: v for k, v in data.items() if k in Manifest.__dataclass_fields__})
    if not manifest.complete:
        raise ManifestError(f"deployment {p} is incomplete: run `crossmargin deploy` to resume")
    return manifest


class _Node(_EngineBackend):
    """World backend on a NodeChain (the `_Revm` backend's methods)."""

    def __init__(self, chain: NodeChain, admin: str):
        self.chain, self.admin = chain, admin


def _mock_feed(chain: NodeChain, address: str) -> None:
    """Make the feed at `address` movable: a MockAggregator (or a copy of its layout) stays; anything else
    (a real aggregator on a fork) gets the MockAggregator code there, with its decimals."""
    feed = chain.at("mocks/MockAggregator", address)
    try:
        feed.latest_round()
        return
    except Exception:  # noqa: BLE001 - not our mock: no such function
        pass
    decimals = chain.at("mocks/MockAggregator", address).decimals()
    chain.set_code(address, artifact("mocks/MockAggregator").runtime)
    for slot, value in ((MOCK_FEED_DECIMALS_SLOT, decimals), (1, 0), (3, 0)):
        chain.rpc(chain._ns("setStorageAt"), address, hex(slot), "0x" + value.to_bytes(32, "big").hex())


def _lift_caps(world: World, admin: str) -> None:
    """Deposit caps and open-interest / position limits out of the way, as the revm world lists them (the machine
    sizes trades by leverage and tops accounts up for its what-if fills), sent as the admin (the Timelock,
    impersonated: this runs inside the fuzzer's snapshot). Every risk parameter stays the deployment's."""
    governor = world.timelock.address if hasattr(world, "timelock") else admin
    for token in world.tokens.values():
        world.vault.set_cap(token.address, CAP, sender=governor)
    for m in world.params.markets:
        world.markets.set_caps(m.id, CAP, CAP, sender=governor)


def attach_world(chain: NodeChain, manifest: Manifest, n_traders: int = 5, params_name: str | None = None) -> World:
    """A `World` on the deployment's contracts (no deploy): handles, feeds, tokens, funded traders with accounts,
    fresh price rounds and vols at the parameter file's values."""
    params = load_params(params_name or manifest.params_ref or "default")
    listed_at = int(manifest.parameters.get("listed_at") or 0)
    admin = manifest.deployer or chain.eoa
    world = World(_Node(chain, admin), params.listed(listed_at) if listed_at else params, n_traders)
    if not chain.get_code(manifest.address("Vault")):
        raise ManifestError(f"no contract at the deployment's Vault {manifest.address('Vault')} on {chain.uri} "
                            f"(chain {chain.chain_id}; the file is for chain {manifest.chain_id}): wrong node, file "
                            "or fork block?")
    for attr, key in ADDRESS_KEYS.items():
        if key in manifest.contracts:
            setattr(world, attr, chain.at(key, manifest.contracts[key]))
    missing = [k for a, k in ADDRESS_KEYS.items() if not hasattr(world, a) and k != "timelock"]
    if missing:
        raise ManifestError(f"the deployment has no {', '.join(missing)}")
    for u in params.onchain()["underlyings"]:
        for table, key in ((world.feeds, f"feed:{u['symbol']}"), (world.feeds2, f"feed2:{u['symbol']}")):
            address = manifest.address(key)
            _mock_feed(chain, address)
            table[u["symbol"]] = chain.at("mocks/MockAggregator", address)
        world.prices[u["symbol"]] = (u["price"], u["price"])
    for c in params.collaterals:
        world.tokens[c.symbol] = chain.at("mocks/MockERC20", manifest.token(c.symbol))
    count = int(world.markets.instrument_count())
    if count < len(params.markets):
        raise ManifestError(f"{count} instruments listed on chain, the parameters ({params.name}) list "
                            f"{len(params.markets)}")
    for m in params.markets:
        world.instruments[m.name] = m.id
    _lift_caps(world, admin)
    world.refresh_all()                 # the deployment may be hours old: fresh rounds and vols now
    world.domain_separator = bytes(world.clearing.domain_separator())
    for i in range(n_traders):
        key = keccak(text=f"crossmargin fuzz trader {i}")
        address = keys.PrivateKey(key).public_key.to_checksum_address()
        world.backend.fund(address)
        trader = Trader(key, address)
        trader.account = world.vault.open_account(0, sender=address)
        world.traders.append(trader)
    world.settlement = params.settlement.symbol
    return world


@dataclass
class NodeResult:
    report: Any                                   # runner.Report
    uri: str
    deployment: str | None
    client: str
    setup_seconds: float
    shrunk: list = field(default_factory=list)    # the shortest failing step list found
    shrink_replays: int = 0
    replay_file: str | None = None
    kept: bool = False
    rpc_calls: int = 0

    def replay_command(self) -> str | None:
        if self.replay_file is None:
            return None
        dep = f" --deployment {self.deployment}" if self.deployment else ""
        return f"crossmargin fuzz --network {self.uri}{dep} --replay {self.replay_file} --keep"


def fuzz_node(uri: str, deployment: str | None = None, steps: int = 200, seed: int = 0, episode: int = 400,
              keep: bool = False, replay: str | None = None, options: bool = False,
              weights: dict[str, int] | None = None, on_step: Callable[[int], None] | None = None,
              replay_dir: str | Path | None = None, shrink_budget: int = 40) -> NodeResult:
    """Fuzz the deployment on the node at `uri` (or replay a step list): see the module docstring."""
    from crossmargin.fuzz.machine import LiquidationMachine
    from crossmargin.fuzz.runner import replay_steps, run, shrink

    started = time.perf_counter()
    chain = NodeChain(uri)
    manifest = load_deployment(deployment, chain.chain_id)
    origin = chain.snapshot()
    kept = False
    try:
        world = attach_world(chain, manifest)
        machine = LiquidationMachine(world=world, options=options)
        setup = time.perf_counter() - started
        if replay is not None:
            trace = [(rule, tuple(args)) for rule, args in json.loads(Path(replay).read_text())["steps"]]
            report = replay_steps(machine, trace, seed)
            result = NodeResult(report, uri, deployment, chain.client, setup, shrunk=trace)
        else:
            report = run(steps, seed, episode=episode, machine=machine, on_step=on_step, weights=weights)
            result = NodeResult(report, uri, deployment, chain.client, setup)
            if report.violation is not None:
                result.shrunk, result.shrink_replays = shrink(machine, report.trace, report.violation.name,
                                                              budget=shrink_budget)
                folder = Path(replay_dir) if replay_dir is not None else reports_dir()
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / f"fuzz-failure-{chain.chain_id}-seed{seed}.json"
                path.write_text(json.dumps({"uri": uri, "deployment": deployment, "seed": seed,
                                            "invariant": report.violation.name, "detail": str(report.violation),
                                            "steps": [[r, list(a)] for r, a in result.shrunk]}, indent=1))
                result.replay_file = str(path)
        if keep and result.report.violation is not None:
            if replay is None:              # leave the node at the shrunk list's failing state
                replay_steps(machine, result.shrunk, seed)
            kept = result.kept = True
        result.rpc_calls = chain.rpc_calls
        return result
    finally:
        if not kept:
            chain.release(origin)


__all__ = ["NodeChain", "Revert", "attach_world", "fuzz_node", "load_deployment"]
