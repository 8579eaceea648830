"""Chain-side helpers for the RiskEngine tests: a deployed margin stack, and strategies for portfolios that
carry the chain-only state the model folds into plain numbers (perp funding indices, settled futures and
options).

    world = RiskWorld.revm(WIDE)                       # or RiskWorld.boa(params) for titanoboa
    with world.chain.anchor():
        account_id = world.load(portfolio, state)      # feeds, vols, cash, collateral, positions
        world.engine.margin(account_id)                # -> (equity_im, equity_mm, im, mm, status), WAD

Everything is built from one `Params` object through `Params.onchain()` (the same integers deploy sends):
`engine_setup(params)` gives the RiskEngine's setter arguments in deploy order. Instruments live in
MockMarkets and positions in MockPositions (stand-ins for Markets and the Clearinghouse, same structs).

A `ChainPortfolio` is a model `Account` plus, per perp, a funding index move since the position's snapshot,
and, per dated instrument, an optional recorded settlement price. `model_account()` is what the model sees:
funding owed folded into `Account.funding` (size · Δindex is paid), settled futures and options folded into
cash (size · settlement, options size · intrinsic, minus cost; no scenario risk), exactly as the contract
treats them. Dated specs without an absolute `expiry` are listed at `world.listed_at` (GENESIS on revm, the
chain's time on titanoboa), so the model's T = expiry_days / 365 holds at that time; WIDE's expired options
carry an absolute expiry before GENESIS.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from hypothesis import strategies as st

from crossmargin.model.params import Kind, MarketSpec, Params, to_units, to_wad
from crossmargin.model.portfolio import Account, MarketState
from tests.strategies import DEFAULT, accounts, decimals, linear_markets, market_states

MAX_OPTION_POSITIONS = 12   # open options per account (contracts/lib/constants.vy; the Clearinghouse's cap)

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
WAD = 10**18
GENESIS = 1_750_000_000  # RevmChain's genesis timestamp: futures are listed at it
BIG = 10**40  # caps that never bind
_BOA_DEPLOYERS: dict = {}  # contract name -> titanoboa deployer, compiled once per session


# ---------------------------------------------------------------------------------------------------------
# parameters: DEFAULT plus enough futures for 32 linear positions on 1-3 underlyings, and an option chain
# ---------------------------------------------------------------------------------------------------------

OPTION_STRIKES = (0.7, 0.9, 1.0, 1.1, 1.4)        # × the reference price
OPTION_DAYS = (1, 7, 30, 180)                      # expiries (days after listing)
EXPIRED_SECONDS = 3600                             # the expired options expired this long before GENESIS


def _wide(params: Params) -> Params:
    """DEFAULT with ten more futures per underlying (expiries 7..360 days) and, per underlying, a call and a
    put at each strike in OPTION_STRIKES × expiry in OPTION_DAYS, plus an expired-but-unsettled call and put at
    the reference strike (absolute expiry GENESIS - 1 h); ids after DEFAULT's."""
    extra, next_id = [], max(m.id for m in params.markets) + 1
    for u in params.underlyings:
        perp = params.market(f"{u.symbol}-PERP")
        for days in (7, 14, 21, 45, 60, 90, 120, 180, 270, 360):
            name = f"{u.symbol}-{days}D"
            if any(m.name == name for m in params.markets):
                continue
            extra.append(MarketSpec(name=name, kind=Kind.FUTURE, underlying=u.symbol, expiry_days=days,
                                    max_open_interest=perp.max_open_interest, max_position=perp.max_position,
                                    id=next_id))
            next_id += 1
    for u in params.underlyings:
        cap = params.market(f"{u.symbol}-PERP").max_position / 5
        chain = [(kind, round(k * u.price, 2), days) for days in OPTION_DAYS for k in OPTION_STRIKES
                 for kind in (Kind.CALL, Kind.PUT)]
        chain += [(kind, u.price, None) for kind in (Kind.CALL, Kind.PUT)]
        for kind, strike, days in chain:
            tag = f"{days}D" if days else "EXPIRED"
            name = f"{u.symbol}-{kind.name[0]}-{strike:g}-{tag}"
            if any(m.name == name for m in params.markets):
                continue
            spec = MarketSpec(name=name, kind=kind, underlying=u.symbol, expiry_days=days or 1, strike=strike,
                              max_open_interest=10 * cap, max_position=cap, id=next_id)
            if days is None:
                spec = dataclasses.replace(spec, expiry=GENESIS - EXPIRED_SECONDS)
            extra.append(spec)
            next_id += 1
    return params.replace(markets=params.markets + tuple(extra), name="wide")


WIDE: Params = _wide(DEFAULT)


# ---------------------------------------------------------------------------------------------------------
# RiskEngine setter arguments from Params.onchain()
# ---------------------------------------------------------------------------------------------------------

RISK_FIELDS = ("z", "horizon_seconds", "shock_min", "shock_max", "vol_up", "vol_down", "vol_shock_cap",
               "vol_t_ref_seconds", "im_factor", "basis_rate", "short_option_rate", "corr_kappa", "rate", "basis_vol")
BOUND_FIELDS = RISK_FIELDS + ("haircut_base_mm", "haircut_base_im", "haircut_slope", "concentration")


@dataclass(frozen=True)
class EngineSetup:
    """RiskEngine configuration in deploy order (after `set_positions`)."""

    bounds: tuple            # set_bounds(RiskBounds): 18 (lo, hi) pairs
    risk: tuple              # set_risk_params(RiskParams): 14 values
    underlyings: tuple       # set_underlying(uid, depth, concentration) each
    correlation: tuple       # set_correlation(uids, matrix)
    collaterals: tuple       # set_collateral_risk(symbol -> token, base_mm, base_im, slope, depth) each


def engine_setup(params: Params) -> EngineSetup:
    o = params.onchain()
    r = o["risk"]
    return EngineSetup(
        bounds=tuple(tuple(r["bounds"][n]) for n in BOUND_FIELDS),
        risk=tuple(r[n] for n in RISK_FIELDS),
        underlyings=tuple((u["id"], u["depth_usd"], u["concentration"]) for u in o["underlyings"]),
        correlation=([u["id"] for u in o["underlyings"]], o["correlation"]),
        collaterals=tuple((c["symbol"], c["haircut_base_mm"], c["haircut_base_im"], c["haircut_slope"], c["depth_usd"])
                          for c in o["collaterals"] if not c["is_settlement"]),
    )


def risk_tuple(params: Params) -> tuple:
    """`set_risk_params` argument for a parameter set (e.g. `params.with_risk(z=4.0)`)."""
    return engine_setup(params).risk


# ---------------------------------------------------------------------------------------------------------
# portfolios with chain-only state
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChainPortfolio:
    """A model account plus chain-only state. `funding[name]` = (snapshot, index) of a perp position (USD
    per unit, 4 decimals); `settled[name]` = recorded settlement price of a dated future (2 decimals)."""

    account: Account
    funding: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    settled: Mapping[str, float] = field(default_factory=dict)

    def model_account(self, params: Params) -> Account:
        """What the model sees: funding owed folded into `funding`, settled futures into cash."""
        acc = self.account.resolved(params)
        cash = Fraction(repr(acc.cash))
        funding = Fraction(0)
        kept = []
        for p in acc.positions:
            size, cost = Fraction(repr(p.size)), Fraction(repr(p.cost))
            if p.spec.name in self.settled:
                price = Fraction(repr(self.settled[p.spec.name]))
                if p.spec.is_option:   # an option pays its intrinsic value
                    strike = Fraction(repr(p.spec.strike))
                    price = max(price - strike, Fraction(0)) if p.spec.is_call else max(strike - price, Fraction(0))
                cash += size * price - cost
                continue
            if p.spec.name in self.funding:
                snap, index = (Fraction(repr(x)) for x in self.funding[p.spec.name])
                funding -= size * (index - snap)
            kept.append(p)
        return dataclasses.replace(acc, cash=float(cash), funding=float(funding), positions=tuple(kept))


@st.composite
def chain_portfolios(draw, params: Params = WIDE, max_positions: int = 32, underlyings: Sequence[str] | None = None,
                     collateral: bool | Sequence[str] = True, funding: bool = True, settle: bool = True,
                     max_fraction: float = 0.1, cash: tuple[float, float] = (-50_000.0, 1_000_000.0)) -> ChainPortfolio:
    """A linear portfolio (perps and futures) on 1-3 underlyings (or exactly `underlyings`), with linked
    collateral, cash, random funding moves on the perps and some futures settled."""
    if underlyings is None:
        symbols = draw(st.permutations(params.symbols))[: draw(st.integers(1, len(params.symbols)))]
    else:
        symbols = list(underlyings)
    acc = draw(accounts(params, markets=linear_markets(params, symbols), max_positions=max_positions,
                        collateral=collateral, max_fraction=max_fraction, cash=cash))
    fund, settled = {}, {}
    for p in acc.positions:
        spec = params.market(p.instrument)
        if spec.kind is Kind.PERP and funding and draw(st.booleans()):
            snap = draw(decimals(-500.0, 500.0, 4))
            fund[spec.name] = (snap, round(snap + draw(decimals(-50.0, 50.0, 4)), 4))   # a 4-decimal float
        elif spec.kind is Kind.FUTURE and settle and draw(st.integers(0, 4)) == 0:
            ref = params.underlying(spec.underlying).price
            settled[spec.name] = draw(decimals(0.5 * ref, 2.0 * ref, 2))
    return ChainPortfolio(acc, fund, settled)


@st.composite
def chain_option_portfolios(draw, params: Params = WIDE, max_positions: int = 32,
                            underlyings: Sequence[str] | None = None, linear: bool = True,
                            collateral: bool | Sequence[str] = True, max_fraction: float = 0.1,
                            cash: tuple[float, float] = (-50_000.0, 1_000_000.0)) -> ChainPortfolio:
    """A portfolio of options (and, with `linear`, perps and futures) on 1-3 underlyings: calls and puts over
    strikes 0.7-1.4x the reference and expiries 1-180 days, expired-but-unsettled ones, some settled (a
    settlement price recorded: a cash claim of size · intrinsic), linked collateral, cash, perp funding."""
    if underlyings is None:
        symbols = draw(st.permutations(params.symbols))[: draw(st.integers(1, len(params.symbols)))]
    else:
        symbols = list(underlyings)
    markets = [m for m in params.markets if m.underlying in symbols and (linear or m.is_option)]
    acc = draw(accounts(params, markets=markets, max_positions=max_positions, collateral=collateral,
                        max_fraction=max_fraction, cash=cash))
    # the Clearinghouse caps open options at MAX_OPTION_POSITIONS = 12 per account (the engine's option buffers
    # are sized to it): keep the first 12
    kept, n_options = [], 0
    for p in acc.positions:
        is_option = params.market(p.instrument).is_option
        if not is_option or n_options < MAX_OPTION_POSITIONS:
            kept.append(p)
            n_options += is_option
    acc = dataclasses.replace(acc, positions=tuple(kept))
    fund, settled = {}, {}
    for p in acc.positions:
        spec = params.market(p.instrument)
        if spec.kind is Kind.PERP and draw(st.booleans()):
            snap = draw(decimals(-500.0, 500.0, 4))
            fund[spec.name] = (snap, round(snap + draw(decimals(-50.0, 50.0, 4)), 4))
        elif spec.kind is not Kind.PERP and draw(st.integers(0, 5)) == 0:
            ref = params.underlying(spec.underlying).price
            settled[spec.name] = draw(decimals(0.5 * ref, 2.0 * ref, 2))
    return ChainPortfolio(acc, fund, settled)


def states(params: Params = WIDE, **kw) -> st.SearchStrategy[MarketState]:
    return market_states(params, now=GENESIS, **kw)


# ---------------------------------------------------------------------------------------------------------
# the deployed stack
# ---------------------------------------------------------------------------------------------------------

@dataclass
class RiskWorld:
    """Vault + OracleRouter + VolOracle + MockMarkets + MockPositions + RiskEngine (with its OptionPricer),
    configured from `params`.

    Engine-agnostic: `deploy(name, *args)` deploys contract `name` (path under contracts/, no suffix) and
    contracts are called as `c.fn(*args, sender=...)`, which both RevmContract and titanoboa accept.
    """

    params: Params
    deploy: Callable[..., Any]
    admin: str
    clearing: str
    feeder: str
    risk_manager: str
    user: str
    chain: Any = None                      # RevmChain (revm worlds only)
    tokens: dict = field(default_factory=dict)
    feeds: dict = field(default_factory=dict)
    feeds2: dict = field(default_factory=dict)
    instruments: dict = field(default_factory=dict)   # market name -> id
    listed_at: int = GENESIS               # chain time at build: unlisted dated specs expire listed_at + expiry_seconds

    @classmethod
    def revm(cls, params: Params = WIDE, secondary: bool = False) -> RiskWorld:
        from crossmargin.chain.revm import RevmChain

        chain = RevmChain()
        admin, clearing, feeder, risk_manager, user = chain.accounts(5)
        world = cls(params, lambda name, *a: chain.deploy(name, *a, sender=admin), admin, clearing, feeder,
                    risk_manager, user, chain=chain, listed_at=chain.timestamp)
        world.build(secondary)
        return world

    @classmethod
    def boa(cls, params: Params = WIDE, secondary: bool = False) -> RiskWorld:
        import boa

        admin = boa.env.eoa
        names = ("clearing", "feeder", "risk_manager", "user")
        clearing, feeder, risk_manager, user = (boa.env.generate_address(n) for n in names)

        def deploy(name, *args):
            if name not in _BOA_DEPLOYERS:
                _BOA_DEPLOYERS[name] = boa.load_partial(str(CONTRACTS / f"{name}.vy"))
            with boa.env.prank(admin):
                return _BOA_DEPLOYERS[name].deploy(*args)

        world = cls(params, deploy, admin, clearing, feeder, risk_manager, user, listed_at=boa.env.timestamp)
        world.build(secondary)
        return world

    def build(self, secondary: bool = False) -> None:
        o, a = self.params.onchain(), self.admin
        self.vault = self.deploy("Vault")
        self.router = self.deploy("OracleRouter")
        self.vol = self.deploy("VolOracle")
        self.markets = self.deploy("mocks/MockMarkets")
        self.positions = self.deploy("mocks/MockPositions")
        self.correlation_check = self.deploy("CorrelationCheck")
        self.engine = self.deploy("RiskEngine", self.vault.address, self.markets.address, self.router.address,
                                  self.vol.address, self.correlation_check.address)
        self.pricer = self.deploy("OptionPricer")
        roles = {n: _role(n) for n in ("CLEARING_ROLE", "FEEDER_ROLE", "RISK_MANAGER_ROLE")}
        self.vault.grantRole(roles["CLEARING_ROLE"], self.clearing, sender=a)
        self.vol.grantRole(roles["FEEDER_ROLE"], self.feeder, sender=a)
        self.engine.grantRole(roles["RISK_MANAGER_ROLE"], self.risk_manager, sender=a)
        for c in o["collaterals"]:
            token = self.deploy("mocks/MockERC20", f"Mock {c['symbol']}", c["symbol"], c["decimals"])
            self.tokens[c["symbol"]] = token
            self.vault.list_asset(token.address, c["underlying_id"], BIG, c["is_settlement"], sender=a)
        for u in o["underlyings"]:
            feed = self.deploy("mocks/MockAggregator", 8, u["feed_answer"])
            self.feeds[u["symbol"]] = feed
            feed2 = None
            if secondary:
                feed2 = self.deploy("mocks/MockAggregator", 8, u["feed_answer"])
                self.feeds2[u["symbol"]] = feed2
            self.router.set_feed(u["id"], feed.address, feed2.address if feed2 else "0x" + "00" * 20,
                                 10**9, 10**9 if feed2 else 0, o["oracle"]["max_deviation"] if feed2 else 0, sender=a)
            self.vol.set_params(u["id"], o["oracle"]["min_vol"], o["oracle"]["max_vol"], 10**9, WAD, 4 * WAD, 16 * WAD,
                                sender=a)
        for m in self.params.markets:
            uid = self.params.underlying(m.underlying).id
            expiry = m.expiry if m.expiry is not None else (self.listed_at + m.expiry_seconds if m.expiry_seconds else 0)
            self.markets.set_instrument(m.id, (int(m.kind), uid, to_wad(m.strike or 0), expiry, 0,
                                               to_wad(m.max_open_interest), to_wad(m.max_position), True), sender=a)
            self.instruments[m.name] = m.id
        setup = engine_setup(self.params)
        self.engine.set_positions(self.positions.address, sender=a)
        self.engine.set_option_pricer(self.pricer.address, sender=a)
        self.engine.set_bounds(setup.bounds, sender=a)
        self.engine.set_risk_params(setup.risk, sender=self.risk_manager)
        for uid, depth, lam in setup.underlyings:
            self.engine.set_underlying(uid, depth, lam, sender=a)
        self.engine.set_correlation(*setup.correlation, sender=a)
        for symbol, base_mm, base_im, slope, depth in setup.collaterals:
            self.engine.set_collateral_risk(self.tokens[symbol].address, base_mm, base_im, slope, depth, sender=a)
        self.vault.set_margin_checker(self.engine.address, sender=a)

    # -- state ---------------------------------------------------------------------------------------------
    def set_market(self, state: MarketState) -> None:
        """Feed answers (8 decimals, exact for 2-decimal prices) and vols (first value after a snapshot is free)."""
        for u in self.params.underlyings:
            self.feeds[u.symbol].set_answer(to_units(state.spot[u.symbol], 8), sender=self.admin)
            if u.symbol in self.feeds2:
                self.feeds2[u.symbol].set_answer(to_units(state.spot[u.symbol], 8), sender=self.admin)
            self.vol.set_vol(u.id, to_wad(state.vol[u.symbol]), sender=self.feeder)

    def open_account(self) -> int:
        return self.vault.open_account(0, sender=self.user)

    def load(self, portfolio: ChainPortfolio | Account, state: MarketState | None = None, account_id: int | None = None) -> int:
        """Put a portfolio on chain (and the market, if given); returns the account id."""
        if isinstance(portfolio, Account):
            portfolio = ChainPortfolio(portfolio)
        if state is not None:
            self.set_market(state)
        acc = portfolio.account.resolved(self.params)
        aid = account_id or self.open_account()
        if acc.cash:
            self.vault.adjust_cash(aid, to_wad(acc.cash), sender=self.clearing)
        for symbol, balance in acc.collateral.items():
            c = self.params.collateral(symbol)
            token, amount = self.tokens[symbol], to_units(balance, c.decimals)
            if amount:
                token.mint(self.user, amount, sender=self.admin)
                token.approve(self.vault.address, amount, sender=self.user)
                self.vault.deposit(aid, token.address, amount, sender=self.user)
        rows = []
        for p in acc.positions:
            snap = 0
            if p.spec.name in portfolio.funding:
                snap_f, index_f = portfolio.funding[p.spec.name]
                snap = to_wad(snap_f)
                self.markets.set_funding_index(p.spec.id, to_wad(index_f), sender=self.admin)
            if p.spec.name in portfolio.settled:
                self.markets.set_settlement_price(p.spec.id, to_wad(portfolio.settled[p.spec.name]), sender=self.admin)
            rows.append((p.spec.id, to_wad(p.size), to_wad(p.cost), snap))
        self.positions.set_positions(aid, rows, sender=self.admin)
        return aid


def _role(name: str) -> bytes:
    from eth_utils import keccak

    return keccak(text=name)


def from_wad(x: int) -> float:
    return int(x) / WAD
