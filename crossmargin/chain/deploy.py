"""Deploy the whole protocol from one parameter file to any Ape network, resumable from the manifest.

Every contract and every configuration call is a named step; the manifest records each one as it lands, so a
deploy that failed half way (node down, out of gas, a signer that ran dry) resumes where it stopped. On dev
chains tokens and Chainlink feeds are mocks seeded from the parameters; on live chains their addresses come from
`crossmargin/params/networks.toml`.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from eth_utils import keccak

from crossmargin.chain.contracts import at, container
from crossmargin.chain.governance import ADMIN_ROLE, TIMELOCK_DELAY_SECONDS
from crossmargin.chain.manifest import Manifest
from crossmargin.chain.session import Session
from crossmargin.model.params import LENDING_FIELDS, LIQUIDATION_FIELDS, Params

KIND = {"PERP": 1, "FUTURE": 2, "CALL": 3, "PUT": 4}
RISK_PARAMS_ORDER = ("z", "horizon_seconds", "shock_min", "shock_max", "vol_up", "vol_down", "vol_shock_cap",
                     "vol_t_ref_seconds", "im_factor", "basis_rate", "short_option_rate", "corr_kappa", "rate",
                     "basis_vol")   # basis_vol: [scenarios] (ScenarioParams)
RISK_BOUNDS_ORDER = RISK_PARAMS_ORDER + ("haircut_base_mm", "haircut_base_im", "haircut_slope", "concentration")
WAD = 10**18
# Markets' funding bounds (periods and EMA tau in seconds, rates as WAD, mark depths as WAD USD): the risk
# manager's playground.
MARKET_BOUNDS = (60, 8 * 3600, WAD // 100, 30, 86400, WAD // 4, 10_000 * WAD, 10**10 * WAD)
DEV_CHAIN_GAS = 8_000_000
# Gas of a contract creation on dev chains (the largest runtime, ~22 KB, costs ~5.5M to deploy).
DEV_DEPLOY_GAS = 12_000_000
NETWORKS_FILE = Path(__file__).resolve().parents[1] / "params" / "networks.toml"
ROLES = {name: keccak(text=name) for name in
         ("RISK_MANAGER_ROLE", "GUARDIAN_ROLE", "FEEDER_ROLE", "CLEARING_ROLE", "LIQUIDATOR_ROLE")}


class DeployError(RuntimeError):
    """A deploy that cannot go on (missing live addresses, inconsistent manifest)."""


def live_addresses(chain_id: int, path: Path = NETWORKS_FILE) -> dict:
    data = tomllib.loads(path.read_text()) if path.exists() else {}
    return data.get(str(chain_id), {})


@dataclass
class Deployer:
    session: Session
    params: Params
    manifest: Manifest
    on_step: Callable[[str, str], None] = lambda key, what: None
    sent: list[str] = field(default_factory=list)

    # -- primitives ------------------------------------------------------------------------------------
    def _has_code(self, address: str) -> bool:
        return len(self.session.web3.eth.get_code(address)) > 0

    def contract(self, key: str, name: str, *args) -> str:
        """Deploy `name` as `key` unless the manifest already has it on chain."""
        known = self.manifest.contracts.get(key)
        if known and self._has_code(known):
            self._record_abi(name)
            self.on_step(key, "kept")
            return known
        kwargs = self.session.tx_kwargs()
        if self.session.dev_chain:
            kwargs["gas"] = DEV_DEPLOY_GAS  # Ape's creation estimates occasionally run short on anvil
        instance = container(name).deploy(*args, **kwargs)
        self.manifest.contracts[key] = instance.address
        tx_hash = instance.txn_hash
        tx_hash = tx_hash if isinstance(tx_hash, str) else "0x" + bytes(tx_hash).hex()
        receipt = self.session.web3.eth.get_transaction_receipt(tx_hash)
        self.manifest.deployed[key] = {"contract": name.split("/")[-1], "tx_hash": tx_hash,
                                       "block": int(receipt["blockNumber"])}
        self._record_abi(name)
        self.manifest.save()
        self.sent.append(key)
        self.on_step(key, "deployed")
        return instance.address

    def _record_abi(self, name: str) -> None:
        from crossmargin.chain.artifacts import artifact

        self.manifest.abis.setdefault(name.split("/")[-1], artifact(name).abi)

    def step(self, key: str, fn: Callable[[], object]) -> None:
        """Run a configuration call once."""
        if key in self.manifest.steps_done:
            self.on_step(key, "kept")
            return
        fn()
        self.manifest.steps_done.append(key)
        self.manifest.save()
        self.sent.append(key)
        self.on_step(key, "sent")

    def at(self, key: str, name: str):
        return at(name, self.manifest.address(key))

    # -- the protocol ----------------------------------------------------------------------------------
    def run(self) -> Manifest:
        onchain = self.params.onchain()
        live = {} if self.session.dev_chain else live_addresses(self.session.chain_id)
        tx = self.session.tx_kwargs()
        if self.session.dev_chain:
            # Fixed gas on dev chains: estimates for calls that read `block.timestamp` (funding accrual) can come
            # out short when the transaction is mined a block later. Live chains keep Ape's estimates.
            tx["gas"] = DEV_CHAIN_GAS
        self._tokens(onchain, live)
        self._feeds(onchain, live)
        router = self.at_deploy("OracleRouter")
        vol = self.at_deploy("VolOracle")
        vault = self.at_deploy("Vault")
        deployer = self.session.signer.address
        roles = self._roles = live.get("roles", {})
        o = onchain["oracle"]

        self.step("router.sequencer", lambda: router.set_sequencer(
            live.get("sequencer") or "0x" + "00" * 20, o["sequencer_grace_seconds"], **tx))
        for u in onchain["underlyings"]:
            sym = u["symbol"]
            secondary = self.manifest.contracts.get(f"feed2:{sym}", "0x" + "00" * 20)
            self.step(f"router.feed:{sym}", lambda u=u, sym=sym, secondary=secondary: router.set_feed(
                u["id"], self.manifest.address(f"feed:{sym}"), secondary,
                u["heartbeat_seconds"], u["heartbeat_seconds"], o["max_deviation"], **tx))
        self.step("vol.role:feeder", lambda: vol.grantRole(ROLES["FEEDER_ROLE"], roles.get("feeder", deployer), **tx))
        for u in onchain["underlyings"]:
            self.step(f"vol.params:{u['symbol']}", lambda u=u: vol.set_params(
                u["id"], o["min_vol"], o["max_vol"], o["vol_heartbeat_seconds"], o["vol_stale_factor"],
                o["vol_hour_factor"], o["vol_day_factor"], **tx))
            if roles.get("feeder", deployer) == deployer:
                self.step(f"vol.set:{u['symbol']}", lambda u=u: vol.set_vol(u["id"], u["vol"], **tx))
        for c in onchain["collaterals"]:
            self.step(f"vault.list:{c['symbol']}", lambda c=c: vault.list_asset(
                self.manifest.token(c["symbol"]), c["underlying_id"], c["cap"], c["is_settlement"], **tx))
        self.step("vault.role:guardian", lambda: vault.grantRole(
            ROLES["GUARDIAN_ROLE"], roles.get("guardian", deployer), **tx))
        self._trading(onchain, vault, router, vol, roles.get("risk_manager", deployer), tx)
        for spec in self.params.share_vaults:   # ERC-4626 share collateral, while the deployer is still admin
            self._share_vault(spec, tx)
        self._hand_over(deployer, roles.get("risk_manager", deployer), roles.get("guardian", deployer), tx)
        self.manifest.parameters = {**onchain, "listed_at": self.manifest.parameters["listed_at"]}
        self.manifest.complete = True
        self.manifest.save()
        return self.manifest

    def _trading(self, onchain: dict, vault, router, vol, risk_manager: str, tx: dict) -> None:
        """Markets, RiskEngine, Clearinghouse and their wiring (TECH_SPEC: deploy order and roles)."""
        markets = self.at_deploy("Markets", router.address)
        pricer = self.at_deploy("OptionPricer")
        check = self.at_deploy("CorrelationCheck")
        risk = self.at_deploy("RiskEngine", vault.address, markets.address, router.address, vol.address, check.address)
        clearing = self.at_deploy("Clearinghouse", vault.address, markets.address, risk.address)
        r = onchain["risk"]
        bounds = tuple(tuple(r["bounds"][name]) for name in RISK_BOUNDS_ORDER)
        self.step("risk.bounds", lambda: risk.set_bounds(bounds, **tx))
        self.step("risk.role:risk_manager", lambda: risk.grantRole(ROLES["RISK_MANAGER_ROLE"], self.session.signer.address, **tx))
        self.step("risk.params", lambda: risk.set_risk_params(tuple(r[name] for name in RISK_PARAMS_ORDER), **tx))
        for u in onchain["underlyings"]:
            self.step(f"risk.underlying:{u['symbol']}", lambda u=u: risk.set_underlying(
                u["id"], u["depth_usd"], u["concentration"], **tx))
        uids = [u["id"] for u in onchain["underlyings"]]
        self.step("risk.correlation", lambda: risk.set_correlation(uids, onchain["correlation"], **tx))
        for c in onchain["collaterals"]:
            if not c["is_settlement"]:
                self.step(f"risk.collateral:{c['symbol']}", lambda c=c: risk.set_collateral_risk(
                    self.manifest.token(c["symbol"]), c["haircut_base_mm"], c["haircut_base_im"],
                    c["haircut_slope"], c["depth_usd"], **tx))
        self.step("risk.positions", lambda: risk.set_positions(clearing.address, **tx))
        self.step("risk.option_pricer", lambda: risk.set_option_pricer(pricer.address, **tx))
        self.step("markets.bounds", lambda: markets.set_bounds(MARKET_BOUNDS, **tx))
        self.step("markets.role:risk_manager", lambda: markets.grantRole(ROLES["RISK_MANAGER_ROLE"], self.session.signer.address, **tx))
        self.step("markets.role:clearing", lambda: markets.grantRole(ROLES["CLEARING_ROLE"], clearing.address, **tx))
        self.step("vault.role:clearing", lambda: vault.grantRole(ROLES["CLEARING_ROLE"], clearing.address, **tx))
        self.step("vault.margin_checker", lambda: vault.set_margin_checker(risk.address, **tx))
        # Lending (TECH_SPEC Vault "lending"): rate curve, caps, deleveraging priced by the OracleRouter.
        self.step("vault.role:risk_manager", lambda: vault.grantRole(ROLES["RISK_MANAGER_ROLE"], self.session.signer.address, **tx))
        self.step("vault.lending", lambda: vault.set_lending_params(
            tuple(onchain["lending"][name] for name in LENDING_FIELDS), **tx))
        self.step("vault.price_oracle", lambda: vault.set_price_oracle(router.address, **tx))
        self.step("clearing.role:guardian", lambda: clearing.grantRole(
            ROLES["GUARDIAN_ROLE"], self._roles.get("guardian", self.session.signer.address), **tx))
        listed_at = self.manifest.parameters.get("listed_at") or self.session.web3.eth.get_block("latest")["timestamp"]
        self.manifest.parameters["listed_at"] = listed_at
        for m in onchain["markets"]:
            self.step(f"markets.list:{m['name']}", lambda m=m: self._list(markets, m, listed_at, tx))
        if risk_manager != self.session.signer.address:
            for name, c in (("risk", risk), ("markets", markets), ("clearing", clearing), ("vault", vault)):
                self.step(f"{name}.role:risk_manager_handover", lambda c=c: c.grantRole(ROLES["RISK_MANAGER_ROLE"], risk_manager, **tx))
        self._liquidation(onchain, vault, clearing, risk, risk_manager, tx)
        # Lens (bots' batch reads); it reports open auctions once the Liquidation contract is deployed.
        lens = self.at_deploy("Lens", risk.address)
        if "Liquidation" in self.manifest.contracts:
            self.step("lens.liquidation", lambda: lens.set_liquidation(self.manifest.address("Liquidation"), **tx))

    def _liquidation(self, onchain: dict, vault, clearing, risk, risk_manager: str, tx: dict):
        """Liquidation (TECH_SPEC "Liquidation"), parameters from the file's `[liquidation]` table: the Vault grants
        it CLEARING_ROLE (cash, collateral, loss socialisation), the Clearinghouse LIQUIDATOR_ROLE (positions) and
        reads its auctions."""
        params = tuple(onchain["liquidation"][name] for name in LIQUIDATION_FIELDS)
        liquidation = self.at_deploy("Liquidation", vault.address, clearing.address, risk.address, params)
        self.step("vault.role:clearing:liquidation", lambda: vault.grantRole(
            ROLES["CLEARING_ROLE"], liquidation.address, **tx))
        self.step("clearing.role:liquidator", lambda: clearing.grantRole(
            ROLES["LIQUIDATOR_ROLE"], liquidation.address, **tx))
        # fills of an account with an open auction revert (it changes positions only through the auction)
        self.step("clearing.liquidation", lambda: clearing.set_liquidation(liquidation.address, **tx))
        self.step("liquidation.role:risk_manager", lambda: liquidation.grantRole(
            ROLES["RISK_MANAGER_ROLE"], risk_manager, **tx))
        return liquidation

    def _share_vault(self, spec, tx: dict) -> None:
        """Deploy and list `[[share_vaults]]` entry `spec` through `crossmargin.fuzz.shares.list_share_vault` (the one
        listing path; TECH_SPEC "ERC-4626 share feeds"): the vault is `token:<symbol>`, each admin call one step.
        Dev chains only (the vault is a MockERC4626). A listed vault is recorded by the step `share.listed:<symbol>`
        and never listed twice."""
        from crossmargin.fuzz.shares import list_share_vault

        if not self.session.dev_chain:
            raise DeployError(f"[[share_vaults]] {spec.symbol}: share vaults are deployed as mocks, on dev chains only")
        done = f"share.listed:{spec.symbol}"
        if done in self.manifest.steps_done:
            self.on_step(done, "kept")
            return
        w = _ListingWorld(self, spec.symbol, tx)
        entry = self.params.onchain()["share_vaults"][self.params.share_vaults.index(spec)]
        # a vault over the settlement asset has haircuts of its own (the others take their asset's)
        haircuts = (tuple(entry[k] for k in ("haircut_base_mm", "haircut_base_im", "haircut_slope", "depth_usd"))
                    if "depth_usd" in entry else None)
        list_share_vault(w, spec.symbol, asset=spec.asset, uid=spec.uid, offset=spec.decimals_offset,
                         guard=self.params.share_guard, seed_assets=entry["seed"], haircuts=haircuts)
        self.step(done, lambda: None)

    # Contracts whose admin (and risk-manager) role passes to the Timelock; RM_CONTRACTS also have RISK_MANAGER_ROLE.
    ADMIN_CONTRACTS = ("Vault", "OracleRouter", "VolOracle", "Markets", "RiskEngine", "Clearinghouse", "Liquidation",
                       "Lens")
    RM_CONTRACTS = ("Markets", "RiskEngine", "Clearinghouse", "Liquidation", "Vault")   # Vault: lending parameters

    def _hand_over(self, deployer: str, risk_manager: str, guardian: str, tx: dict) -> None:
        """The last steps (TECH_SPEC "Timelock"): deploy the Timelock (the deployer and the risk manager propose and
        execute, the guardian cancels and tightens), give it DEFAULT_ADMIN_ROLE and RISK_MANAGER_ROLE everywhere,
        take RISK_MANAGER_ROLE from the EOAs and renounce the deployer's admin role: from here on every privileged
        change waits the delay in public. Every step is resumable; the renounces come last."""
        proposers = list(dict.fromkeys([deployer, risk_manager]))
        timelock = self.at_deploy("Timelock", TIMELOCK_DELAY_SECONDS, self.manifest.address("Markets"),
                                  self.manifest.address("Vault"), self.manifest.address("RiskEngine"), proposers,
                                  guardian, False)
        contracts = {key: self.at(key, key) for key in self.ADMIN_CONTRACTS}
        for key, c in contracts.items():
            self.step(f"{key.lower()}.role:admin_to_timelock", lambda c=c: c.grantRole(ADMIN_ROLE, timelock.address, **tx))
        for key in self.RM_CONTRACTS:
            c = contracts[key]
            self.step(f"{key.lower()}.role:risk_manager_to_timelock",
                      lambda c=c: c.grantRole(ROLES["RISK_MANAGER_ROLE"], timelock.address, **tx))
            for who in proposers:
                if c.hasRole(ROLES["RISK_MANAGER_ROLE"], who):
                    self.step(f"{key.lower()}.role:risk_manager_revoked:{who}",
                              lambda c=c, who=who: c.revokeRole(ROLES["RISK_MANAGER_ROLE"], who, **tx))
        for key, c in contracts.items():
            self.step(f"{key.lower()}.role:admin_renounced",
                      lambda c=c: c.renounceRole(ADMIN_ROLE, deployer, **tx))

    def _list(self, markets, m: dict, listed_at: int, tx: dict) -> None:
        expiry = listed_at + m["expiry_seconds"]
        if m["kind"] == KIND["PERP"]:
            receipt = markets.list_perp(m["underlying_id"], m["max_open_interest"], m["max_position"], **tx)
        elif m["kind"] == KIND["FUTURE"]:
            receipt = markets.list_future(m["underlying_id"], expiry, m["max_open_interest"], m["max_position"], **tx)
        else:
            receipt = markets.list_option(m["underlying_id"], m["kind"] == KIND["CALL"], m["strike"], expiry,
                                          m["max_open_interest"], m["max_position"], **tx)
        count = markets.instrument_count()
        if count != m["id"]:
            raise DeployError(f"market {m['name']} listed as id {count}, parameters say {m['id']}")
        if m["kind"] == KIND["PERP"]:
            tau = round(m["funding_half_life_seconds"] / math.log(2))
            markets.set_funding_params(m["id"], m["funding_period_seconds"], m["funding_max_rate"], tau,
                                       m["mark_depth"], **tx)
        del receipt

    def at_deploy(self, name: str, *args):
        self.contract(name, name, *args)
        return self.at(name, name)

    def _tokens(self, onchain: dict, live: dict) -> None:
        for c in onchain["collaterals"]:
            key = f"token:{c['symbol']}"
            if self.session.dev_chain:
                self.contract(key, "mocks/MockERC20", f"Mock {c['symbol']}", c["symbol"], c["decimals"])
            else:
                address = live.get("tokens", {}).get(c["symbol"])
                if not address:
                    raise DeployError(f"no {c['symbol']} token address for chain {self.session.chain_id} "
                                      f"in {NETWORKS_FILE.name} (or deploy with --mocks)")
                self.manifest.contracts[key] = address

    def _feeds(self, onchain: dict, live: dict) -> None:
        for u in onchain["underlyings"]:
            sym = u["symbol"]
            if self.session.dev_chain:
                self.contract(f"feed:{sym}", "mocks/MockAggregator", u["feed_decimals"], u["feed_answer"])
                self.contract(f"feed2:{sym}", "mocks/MockAggregator", u["feed_decimals"], u["feed_answer"])
            else:
                feeds = live.get("feeds", {}).get(sym, {})
                if not feeds.get("primary"):
                    raise DeployError(f"no {sym} price feed for chain {self.session.chain_id} in {NETWORKS_FILE.name}")
                self.manifest.contracts[f"feed:{sym}"] = feeds["primary"]
                if feeds.get("secondary"):
                    self.manifest.contracts[f"feed2:{sym}"] = feeds["secondary"]


class _Sends:
    """An Ape contract whose transactions carry the deploy's gas settings (`sender=` of the caller wins); views
    are plain calls."""

    def __init__(self, contract, key: str, tx: dict):
        self._c, self.key, self._tx, self.address = contract, key, tx, contract.address

    def __getattr__(self, name: str):
        from ape.contracts.base import ContractTransactionHandler

        method = getattr(self._c, name)
        if not isinstance(method, ContractTransactionHandler):
            return method
        return lambda *args, **kw: method(*args, **{**self._tx, **kw})


class _ListingWorld:
    """What `crossmargin.fuzz.shares.list_share_vault` uses of a `World`, on the deployer's Ape session before
    the hand-over: the deployer is still admin, so a proposal is the call itself (no Timelock, no warp), each sent
    once as the resumable step `share:<symbol>:<contract>.<function>`; the vault deploy is `token:<symbol>`."""

    def __init__(self, d: Deployer, symbol: str, tx: dict):
        self._d, self._symbol, self._tx = d, symbol, tx
        self.params, self.admin, self.backend = d.params, d.session.signer, self
        self.tokens = {c.symbol: _Sends(at("mocks/MockERC20", d.manifest.token(c.symbol)), c.symbol, tx)
                       for c in d.params.collaterals}
        for attr, key in (("router", "OracleRouter"), ("vault", "Vault"), ("engine", "RiskEngine")):
            setattr(self, attr, _Sends(d.at(key, key), key, tx))
        self.timelock = _NoDelay()

    def deploy(self, name: str, *args):
        key = f"token:{self._symbol}"
        return _Sends(at(name, self._d.contract(key, name, *args)), key, self._tx)

    def propose(self, contract: _Sends, fn: str, *args):
        return f"share:{self._symbol}:{contract.key}.{fn}", lambda: getattr(contract, fn)(*args)

    def execute(self, op) -> None:
        self._d.step(*op)

    def warp(self, seconds: int) -> None:
        pass

    def refresh_all(self) -> None:
        pass


class _NoDelay:
    def delay(self) -> int:
        return 0


def deploy(session: Session, params: Params, fresh: bool = False,
           on_step: Callable[[str, str], None] = lambda key, what: None,
           path: str | Path | None = None, params_file: str = "") -> tuple[Manifest, list[str]]:
    """Deploy (or resume, or confirm) the protocol on the session's chain. Returns the manifest and the keys
    of what this call actually sent.

    The deployment file (`path`, else the session's `--deployment`, else CROSSMARGIN_DEPLOYMENT, else
    `deployments/<chain_id>.json`) is never replaced without `fresh`: a file written for another chain (other
    genesis, same chain id) or whose contracts have no code here (a reset node) stops the deploy with the reason.
    `params_file`: the file `params` came from, when not a named set, recorded so that bots reload the same file."""
    from crossmargin.chain.manifest import ManifestError, genesis_hash, provenance

    target = Manifest.path_for(session.chain_id, explicit=path or getattr(session, "deployment", None))
    manifest = None
    if target.exists() and not fresh:
        manifest = Manifest.read(target)
        if manifest.chain_id != session.chain_id:
            raise ManifestError(f"{manifest.shown} was written for chain {manifest.chain_id}; this node is chain "
                                f"{session.chain_id}: pass --deployment FILE for a new file, or --fresh to replace it")
        problem = manifest.identity_problem(session.web3) if manifest.contracts else None
        if problem:
            raise ManifestError(problem.replace("`crossmargin deploy --fresh` to replace this file",
                                                "--fresh to replace this file"))
        if manifest.complete and manifest.params_name != params.name:
            raise ManifestError(f"{manifest.shown} is a live deployment with params {manifest.params_name!r}, not "
                                f"{params.name!r}: pass --fresh to deploy a second protocol over it, or "
                                "--deployment FILE to keep both")
    if manifest is None:
        manifest = Manifest(chain_id=session.chain_id, network=session.network_choice, path=target)
    if not manifest.contracts:
        manifest.start_block = session.web3.eth.block_number
    if not manifest.complete:  # a confirmation of a live deployment keeps its record as it was
        manifest.params_name = params.name
        manifest.params_file = params_file
        manifest.deployer = session.signer.address
        manifest.network = session.network_choice
        manifest.genesis_hash = genesis_hash(session.web3)
        manifest.rpc = getattr(session, "rpc", "") or ""
        manifest.__dict__.update(provenance())
    deployer = Deployer(session, params, manifest, on_step)
    return deployer.run(), deployer.sent
