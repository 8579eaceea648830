"""The whole protocol in one process, for the liquidation machine, the e2e exploit tests and the benchmarks.

    world = World.revm()                        # pyrevm (fast: fuzzing); World.boa() for titanoboa (gas, tracebacks)
    a, b = world.traders[:2]                    # funded EOAs, each with one open cross account
    world.deposit(a, "USDC", 100_000 * 10**6)
    world.trade(maker=a, taker=b, instrument="ETH-PERP", maker_size=10 * WAD, price=3000 * WAD)
    world.set_price("ETH", 2500 * WAD)          # both feeds (or `secondary=` to make them disagree)
    world.liquidation.start_auction(a.account, b.account, sender=b.address)

Built from one `Params` (default: `crossmargin/params/default.toml`) through `Params.onchain()`, in the order and
with the roles of `crossmargin.chain.deploy` (Vault, OracleRouter, VolOracle, Markets, OptionPricer, RiskEngine,
Clearinghouse, Liquidation, then the Timelock takes every admin and risk-manager role: `world.govern(...)` queues,
warps past the delay and executes a change), with mock tokens and primary + secondary mock feeds (OptionPricer wired: option books are margined). Orders are real EIP-712 signatures; they are
cached per (maker, instrument, side, price) with a size no fill exhausts, so a long fuzz run signs each price once
(`eth_keys` signs in ~2 ms, a cache hit costs microseconds).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_keys import keys
from eth_utils import keccak

from crossmargin.chain.deploy import MARKET_BOUNDS, RISK_BOUNDS_ORDER, RISK_PARAMS_ORDER, ROLES
from crossmargin.chain.governance import ADMIN_ROLE, TIMELOCK_DELAY_SECONDS, calldata
from crossmargin.chain.orders import ORDER_TYPEHASH
from crossmargin.model.params import LENDING_FIELDS, LIQUIDATION_FIELDS, Kind, Params, load_params, to_units

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
WAD = 10**18
ZERO = "0x" + "00" * 20
FOREVER = 2**63                 # order expiry
ORDER_SIZE = 2**120             # a maker order no fill exhausts (one signature per price)
FEED_HEARTBEAT = 3600           # seconds (params' heartbeat): advancing time past it without a refresh is STALE
CAP = 10**30                    # deposit caps that never bind
FILL_SELECTOR = keccak(text="fill((uint256,uint256,bool,uint256,uint256,uint256,uint256,uint256),bytes,uint256,uint256)")[:4]


def _word(x: int) -> bytes:
    """One ABI word (two's complement for negative int256)."""
    return (int(x) % 2**256).to_bytes(32, "big")


@dataclass
class Trader:
    """An EOA with a key (it signs orders) and its cross account."""

    key: bytes
    address: str
    account: int = 0


class _EngineBackend:
    """What `World` needs of a chain engine (`self.chain` + `self.admin`): the revm and node backends share it."""

    def deploy(self, name: str, *args):
        return self.chain.deploy(name, *args, sender=self.admin)

    def deploy_path(self, path: Path, *args):
        return self.chain.deploy(path, *args, sender=self.admin)

    def warp(self, seconds: int) -> None:
        self.chain.warp(seconds)

    @property
    def now(self) -> int:
        return self.chain.timestamp

    @property
    def chain_id(self) -> int:
        return self.chain.chain_id

    def fund(self, address: str) -> None:
        self.chain.set_balance(address, 10**24)

    def events(self) -> list[tuple[str, dict]]:
        return self.chain.last_events


class _Revm(_EngineBackend):
    """RevmChain backend."""

    def __init__(self) -> None:
        from crossmargin.chain.revm import RevmChain

        self.chain = RevmChain()
        self.admin = self.chain.eoa


class _Boa:
    """titanoboa backend (real gas meter; contracts called with `sender=` like RevmContract)."""

    _partials: dict[str, Any] = {}

    def __init__(self) -> None:
        import boa

        self.boa = boa
        self.admin = boa.env.eoa

    def deploy(self, name: str, *args):
        return self.deploy_path(CONTRACTS / f"{name}.vy", *args)

    def deploy_path(self, path: Path, *args):
        key = str(path)
        if key not in self._partials:
            self._partials[key] = self.boa.load_partial(key)
        with self.boa.env.prank(self.admin):
            return self._partials[key].deploy(*args)

    def warp(self, seconds: int) -> None:
        self.boa.env.time_travel(seconds=seconds)

    @property
    def now(self) -> int:
        return self.boa.env.evm.patch.timestamp

    @property
    def chain_id(self) -> int:
        return self.boa.env.evm.patch.chain_id

    def fund(self, address: str) -> None:
        self.boa.env.set_balance(address, 10**24)

    def events(self) -> list:
        return []


def vol_params(oracle: dict) -> tuple:
    """`VolOracle.set_params` arguments after the id, from `Params.onchain()["oracle"]`."""
    return (oracle["min_vol"], oracle["max_vol"], oracle["vol_heartbeat_seconds"], oracle["vol_stale_factor"],
            oracle["vol_hour_factor"], oracle["vol_day_factor"])


def fuzz_params() -> Params:
    """DEFAULT: every market is listed (ids as in the file); the machine trades the linear ones."""
    return load_params("default")


@dataclass
class World:
    backend: Any
    params: Params
    n_traders: int = 6
    traders: list[Trader] = field(default_factory=list)
    tokens: dict = field(default_factory=dict)       # symbol -> token contract
    feeds: dict = field(default_factory=dict)        # underlying symbol -> primary MockAggregator
    feeds2: dict = field(default_factory=dict)       # underlying symbol -> secondary MockAggregator
    instruments: dict = field(default_factory=dict)  # market name -> id
    prices: dict = field(default_factory=dict)       # underlying symbol -> (primary, secondary) WAD as last set
    _sigs: dict = field(default_factory=dict)
    _keys: dict = field(default_factory=dict)
    _nonce: int = 0

    # -- construction ----------------------------------------------------------------------------------------
    @classmethod
    def revm(cls, params: Params | None = None, n_traders: int = 6) -> World:
        world = cls(_Revm(), params or fuzz_params(), n_traders)
        world.build()
        return world

    @classmethod
    def boa(cls, params: Params | None = None, n_traders: int = 6) -> World:
        world = cls(_Boa(), params or fuzz_params(), n_traders)
        world.build()
        return world

    @property
    def chain(self):
        """The RevmChain (revm worlds only): snapshots, warp, last_events."""
        return self.backend.chain

    @property
    def admin(self) -> str:
        return self.backend.admin

    def build(self) -> None:
        o, b = self.params.onchain(), self.backend
        a = b.admin
        self.vault = b.deploy("Vault")
        self.router = b.deploy("OracleRouter")
        self.vol = b.deploy("VolOracle")
        self.vol.grantRole(ROLES["FEEDER_ROLE"], a, sender=a)
        self.vault.grantRole(ROLES["GUARDIAN_ROLE"], a, sender=a)
        for u in o["underlyings"]:
            feed = b.deploy("mocks/MockAggregator", u["feed_decimals"], u["feed_answer"])
            feed2 = b.deploy("mocks/MockAggregator", u["feed_decimals"], u["feed_answer"])
            self.feeds[u["symbol"]], self.feeds2[u["symbol"]] = feed, feed2
            self.prices[u["symbol"]] = (u["price"], u["price"])
            self.router.set_feed(u["id"], feed.address, feed2.address, u["heartbeat_seconds"],
                                 u["heartbeat_seconds"], o["oracle"]["max_deviation"], sender=a)
            self.vol.set_params(u["id"], *vol_params(o["oracle"]), sender=a)
            self.vol.set_vol(u["id"], u["vol"], sender=a)
        for c in o["collaterals"]:
            token = b.deploy("mocks/MockERC20", f"Mock {c['symbol']}", c["symbol"], c["decimals"])
            self.tokens[c["symbol"]] = token
            self.vault.list_asset(token.address, c["underlying_id"], CAP, c["is_settlement"], sender=a)

        self.markets = b.deploy("Markets", self.router.address)
        self.pricer = b.deploy("OptionPricer")
        self.correlation_check = b.deploy("CorrelationCheck")
        self.engine = b.deploy("RiskEngine", self.vault.address, self.markets.address, self.router.address,
                               self.vol.address, self.correlation_check.address)
        self.clearing = b.deploy("Clearinghouse", self.vault.address, self.markets.address, self.engine.address)
        r = o["risk"]
        self.engine.set_bounds(tuple(tuple(r["bounds"][n]) for n in RISK_BOUNDS_ORDER), sender=a)
        self.engine.grantRole(ROLES["RISK_MANAGER_ROLE"], a, sender=a)
        self.engine.set_risk_params(tuple(r[n] for n in RISK_PARAMS_ORDER), sender=a)
        for u in o["underlyings"]:
            self.engine.set_underlying(u["id"], u["depth_usd"], u["concentration"], sender=a)
        self.engine.set_correlation([u["id"] for u in o["underlyings"]], o["correlation"], sender=a)
        for c in o["collaterals"]:
            if not c["is_settlement"]:
                self.engine.set_collateral_risk(self.tokens[c["symbol"]].address, c["haircut_base_mm"],
                                                c["haircut_base_im"], c["haircut_slope"], c["depth_usd"], sender=a)
        self.engine.set_positions(self.clearing.address, sender=a)
        self.engine.set_option_pricer(self.pricer.address, sender=a)
        self.markets.set_bounds(MARKET_BOUNDS, sender=a)
        self.markets.grantRole(ROLES["RISK_MANAGER_ROLE"], a, sender=a)
        self.markets.grantRole(ROLES["CLEARING_ROLE"], self.clearing.address, sender=a)
        self.vault.grantRole(ROLES["CLEARING_ROLE"], self.clearing.address, sender=a)
        self.vault.set_margin_checker(self.engine.address, sender=a)
        self.vault.grantRole(ROLES["RISK_MANAGER_ROLE"], a, sender=a)                     # lending (Vault)
        self.vault.set_lending_params(tuple(o["lending"][n] for n in LENDING_FIELDS), sender=a)
        self.vault.set_price_oracle(self.router.address, sender=a)
        self.clearing.grantRole(ROLES["GUARDIAN_ROLE"], a, sender=a)
        listed_at = b.now
        for m in o["markets"]:
            expiry = listed_at + m["expiry_seconds"]
            if m["kind"] == Kind.PERP:
                self.markets.list_perp(m["underlying_id"], CAP, CAP, sender=a)
                self.markets.set_funding_params(m["id"], m["funding_period_seconds"], m["funding_max_rate"], 1298,
                                                m["mark_depth"], sender=a)
            elif m["kind"] == Kind.FUTURE:
                self.markets.list_future(m["underlying_id"], expiry, CAP, CAP, sender=a)
            else:
                self.markets.list_option(m["underlying_id"], m["kind"] == Kind.CALL, m["strike"], expiry, CAP, CAP,
                                         sender=a)
            self.instruments[m["name"]] = m["id"]
        self.params = self.params.listed(listed_at)

        lp = tuple(o["liquidation"][n] for n in LIQUIDATION_FIELDS)
        self.liquidation = b.deploy("Liquidation", self.vault.address, self.clearing.address, self.engine.address, lp)
        self.vault.grantRole(ROLES["CLEARING_ROLE"], self.liquidation.address, sender=a)
        self.clearing.grantRole(ROLES["LIQUIDATOR_ROLE"], self.liquidation.address, sender=a)
        self.clearing.set_liquidation(self.liquidation.address, sender=a)   # fills of accounts in auction revert
        self.liquidation.grantRole(ROLES["RISK_MANAGER_ROLE"], a, sender=a)

        self._hand_over()

        self.domain_separator = bytes(self.clearing.domain_separator())
        for i in range(self.n_traders):
            key = keccak(text=f"crossmargin fuzz trader {i}")
            address = keys.PrivateKey(key).public_key.to_checksum_address()
            b.fund(address)
            trader = Trader(key, address)
            trader.account = self.vault.open_account(0, sender=address)
            self.traders.append(trader)
        self.settlement = self.params.settlement.symbol

    # -- market ----------------------------------------------------------------------------------------------
    def feed_answer(self, symbol: str, price_wad: int) -> int:
        u = self.params.underlying(symbol)
        return price_wad * 10**u.feed_decimals // WAD

    def set_price(self, symbol: str, price: int, secondary: int | None = None) -> None:
        """New rounds now: both feeds at `price` (WAD), or the secondary at `secondary`."""
        self.feeds[symbol].set_answer(self.feed_answer(symbol, price), sender=self.admin)
        second = price if secondary is None else secondary
        self.feeds2[symbol].set_answer(self.feed_answer(symbol, second), sender=self.admin)
        self.prices[symbol] = (price, second)

    def refresh(self, symbols=None) -> None:
        """New rounds now at the last prices (keeps feeds fresh after a warp)."""
        for s in symbols or self.params.symbols:
            self.set_price(s, *self.prices[s])

    def set_vol(self, symbol: str, vol: int) -> None:
        self.vol.set_vol(self.params.underlying(symbol).id, vol, sender=self.admin)

    def warp(self, seconds: int) -> None:
        self.backend.warp(seconds)

    @property
    def now(self) -> int:
        return self.backend.now

    # -- accounts --------------------------------------------------------------------------------------------
    def units(self, symbol: str, amount: float | int) -> int:
        return to_units(amount, self.params.collateral(symbol).decimals, rounding="down")

    def deposit(self, trader: Trader, symbol: str, amount: int, account: int | None = None) -> None:
        """Mint `amount` (token units) to the trader and deposit it into its account (or `account`)."""
        token = self.tokens[symbol]
        token.mint(trader.address, amount, sender=self.admin)
        token.approve(self.vault.address, amount, sender=trader.address)
        self.vault.deposit(account or trader.account, token.address, amount, sender=trader.address)

    def withdraw(self, trader: Trader, symbol: str, amount: int) -> None:
        self.vault.withdraw(trader.account, self.tokens[symbol].address, amount, trader.address, sender=trader.address)

    def seed_insurance_fund(self, amount_usd: int) -> None:
        token = self.tokens[self.settlement]
        units = self.units(self.settlement, amount_usd)
        token.mint(self.admin, units, sender=self.admin)
        token.approve(self.vault.address, units, sender=self.admin)
        self.vault.deposit(1, token.address, units, sender=self.admin)

    # -- trading ---------------------------------------------------------------------------------------------
    def instrument(self, name_or_id: str | int) -> int:
        return name_or_id if isinstance(name_or_id, int) else self.instruments[name_or_id]

    def order(self, maker: Trader, instrument: int, is_buy: bool, price: int) -> tuple[tuple, bytes]:
        """A standing maker order at `price` (WAD) and its signature, signed once and cached."""
        key = (maker.account, instrument, is_buy, price)
        hit = self._sigs.get(key)
        if hit is None:
            self._nonce += 1
            order = (maker.account, instrument, is_buy, ORDER_SIZE, price, self._nonce, FOREVER, 0)
            struct_hash = keccak(ORDER_TYPEHASH + b"".join(int(x).to_bytes(32, "big") for x in order))
            digest = keccak(b"\x19\x01" + self.domain_separator + struct_hash)
            signer = self._keys.get(maker.key) or self._keys.setdefault(maker.key, keys.PrivateKey(maker.key))
            sig = signer.sign_msg_hash(digest)
            r, s, v = sig.r, sig.s, sig.v
            hit = self._sigs[key] = (order, r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v + 27]))
        return hit

    def trade(self, maker: Trader, taker: Trader, instrument: str | int, maker_size: int, price: int):
        """The maker's standing order filled by the taker: the maker buys `maker_size` (sells if < 0) at `price`."""
        order, sig = self.order(maker, self.instrument(instrument), maker_size > 0, price)
        if hasattr(self.backend, "chain"):  # an engine (revm, node): hand-encoded calldata, eth_abi costs more
            data = (FILL_SELECTOR + b"".join(_word(x) for x in order) + _word(11 * 32) + _word(abs(maker_size))
                    + _word(taker.account) + _word(65) + sig + bytes(31))
            return self.chain.call(self.clearing.address, data, sender=taker.address)
        return self.clearing.fill(order, sig, abs(maker_size), taker.account, sender=taker.address)

    def settle(self, instrument: str | int, round_hint: int | None = None):
        """`Markets.settle` of an expired dated instrument at the primary feed's round current at expiry (found by
        walking back from its latest round), or at `round_hint` (0: the current-price fallback)."""
        from crossmargin.chain.rounds import feed_round_at

        id_ = self.instrument(instrument)
        if round_hint is None:
            spec = next(m for m in self.params.markets if m.id == id_)
            round_hint = feed_round_at(self.feeds[spec.underlying], self.markets.instrument(id_)[3])
        return self.markets.settle(id_, round_hint, sender=self.admin)

    # -- reads -----------------------------------------------------------------------------------------------
    def margin(self, account: int) -> tuple:
        """(equity_im, equity_mm, im, mm, status)."""
        return tuple(self.engine.margin(account))

    def replace_params(self, **liquidation: Any) -> None:
        """Change liquidation parameters on chain through the timelock (and in `self.params`)."""
        lp = dataclasses.replace(self.params.liquidation, **liquidation)
        self.params = self.params.replace(liquidation=lp)
        self.govern(self.liquidation, "set_params", tuple(lp.onchain()[n] for n in LIQUIDATION_FIELDS))

    # -- governance (as `crossmargin.chain.deploy` leaves it) ------------------------------------------------
    def _hand_over(self) -> None:
        """The Timelock takes DEFAULT_ADMIN_ROLE and RISK_MANAGER_ROLE on every contract; the admin EOA keeps
        only proposer/executor rights on it, the guardian role (pause, cancel, tighten) and the feeder role."""
        b, a = self.backend, self.admin
        self.timelock = b.deploy("Timelock", TIMELOCK_DELAY_SECONDS, self.markets.address, self.vault.address,
                                 self.engine.address, [a], a, False)
        t = self.timelock.address
        contracts = (self.vault, self.router, self.vol, self.markets, self.engine, self.clearing, self.liquidation)
        for c in contracts:
            c.grantRole(ADMIN_ROLE, t, sender=a)
        for c in (self.markets, self.engine, self.clearing, self.liquidation):
            c.grantRole(ROLES["RISK_MANAGER_ROLE"], t, sender=a)
            c.revokeRole(ROLES["RISK_MANAGER_ROLE"], a, sender=a)
        for c in contracts:
            c.renounceRole(ADMIN_ROLE, a, sender=a)

    @property
    def governor(self) -> str:
        """The address holding every admin and risk-manager role (the Timelock). titanoboa may prank it
        (`sender=world.governor`, e.g. a benchmark's test-only rewiring); revm rejects senders with code (EIP-3607):
        go through `govern` (a setter's revert reason bubbles up from `execute`)."""
        return self.timelock.address

    def propose(self, contract, fn: str, *args, sender: str | None = None) -> tuple[int, str, bytes]:
        """Queue `contract.fn(*args)` on the Timelock; returns (id, target, calldata) for `execute`."""
        abi = getattr(contract, "_abi", None) or contract.abi
        data = calldata(abi, fn, *args)
        op_id = self.timelock.queue(contract.address, data, sender=sender or self.admin)
        return int(op_id), contract.address, data

    def execute(self, op: tuple[int, str, bytes], sender: str | None = None) -> None:
        self.timelock.execute(*op, sender=sender or self.admin)

    def govern(self, contract, fn: str, *args) -> None:
        """Queue, warp past the delay, refresh the feeds and vols (they would be stale), execute."""
        op = self.propose(contract, fn, *args)
        self.warp(int(self.timelock.delay()) + 1)
        self.refresh_all()
        self.execute(op)

    def refresh_all(self) -> None:
        """Fresh price rounds and vol updates at their last values (after a long warp)."""
        self.refresh()
        for u in self.params.underlyings:
            vol, _ = self.vol.vol(u.id)
            self.vol.set_vol(u.id, int(vol), sender=self.admin)


def role(name: str) -> bytes:
    return keccak(text=name)

