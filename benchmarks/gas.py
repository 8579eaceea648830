"""Gas table: what protocol operations cost on chain, measured with the deployed bytecode.

    python -m benchmarks.gas [--json] [--no-worst-case]

Then the worst-case table (`benchmarks/worst_case.py`): every liquidation path on the largest book the limits
allow, beside the per-transaction gas cap of EIP-7825.

Each row is a small function registered with `@row(group, name, target=...)`: it gets a `Bench` (the protocol
shared by the rows; each row uses its own accounts) and returns a `Measure` (or a dict of named gas figures). Add
deposit / withdraw / fill rows the same way; the table, targets and JSON output come for free.

Engine: titanoboa (py-evm) with a real gas meter, warm/cold access sets reset before each measurement
(`Bench.cold()`). Not revm: pyrevm 0.3.7 keeps storage slots and accounts warm across message calls (its
journal is never flushed), so a slot written while loading a portfolio would read as warm (100 gas instead of
2,100) and cold figures would be understated.

Contracts: the real ones, as `crossmargin.fuzz.world.World` deploys them (the liquidation benchmark's stack):
Vault, OracleRouter with a primary and a secondary Chainlink feed per underlying (as the dev deploy; each cold
price read is two feed calls), VolOracle, Markets (packed terms), Clearinghouse (a position is one word, a perp's
funding snapshot a second; id lists in 16-bit fields), RiskEngine + OptionPricer. Underlyings: ETH, BTC, SOL
and five synthetic ones (U4..U8, so 32 positions can spread over 8), only the instruments the rows trade
(`gas_params`). The perps have traded for an hour before any book opens (`benchmarks.liquidation.live_markets`),
so funding indexes and snapshots are non-zero. Each row opens a new account and fills its book from a fresh
maker with signed orders at the index price (options at the Black-76 premium); the Clearinghouse asks a
permissive MockRiskEngine while the book is filled (a RiskEngine only reads: same state, minutes less on py-evm)
and the real RiskEngine must find the result above IM before it is measured.

Linear books: N positions round-robin over K underlyings (the perp, then dated futures; every second leg short,
half size; ~1,000 USD a leg), 1M USD cash. Option books: 4 and 12 options (calls and puts, strikes 0.7-1.4x
spot, expiries 1-180 days, alternately long and short, 10 % of the position cap each) on 1 or 2 underlyings,
10M USD cash, full 27-point grid per underlying; target: 12 options (MAX_OPTION_POSITIONS) on 2 underlyings <= 4M gas. The "Black-76"
rows call the OptionPricer directly from a probe contract (`staticcall`, execution only): one price, one price
+ Greeks, and the 27-point grid of 1 and 8 options.

Margin-check columns
    as tx        `RiskEngine.is_above_im(account)` as its own transaction / eth_call: 21,000 intrinsic +
                 calldata + execution with every slot and contract cold (what a keeper or a Lens pays per
                 account).
    in tx, cold  the same check inside a transaction, first touch (no intrinsic gas).
    in tx, warm  the same check repeated in that transaction: every slot warm, as right after a fill that
                 already read the positions, instruments, funding and prices (the Clearinghouse's post-trade
                 check). The targets apply to this column.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import worst_case  # noqa: E402
from crossmargin.chain.engine_views import shock_of  # noqa: E402
from crossmargin.model.margin import option_price  # noqa: E402
from crossmargin.model.params import Kind, MarketSpec, Params, Underlying, to_wad  # noqa: E402

WAD = 10**18
REAL = ("margin-check rows: the real Vault, OracleRouter (2 feeds per underlying), VolOracle, Markets, Clearinghouse "
        "and RiskEngine + OptionPricer; books opened by signed fills")

PROBE_SOURCE = '''# pragma version ~=0.4.3
interface IChecker:
    def is_above_im(_account: uint256) -> bool: view

@external
@view
def measure(_engine: address, _account: uint256) -> (uint256, uint256):
    g0: uint256 = msg.gas
    a: bool = staticcall IChecker(_engine).is_above_im(_account)
    g1: uint256 = msg.gas
    b: bool = staticcall IChecker(_engine).is_above_im(_account)
    g2: uint256 = msg.gas
    return g0 - g1, g1 - g2
'''


PRICER_PROBE_SOURCE = '''# pragma version ~=0.4.3
struct OptionLeg:
    is_call: bool
    strike: uint256
    expiry: uint256
    vol: uint256
    size: int256

struct Grid:
    spot: uint256
    shock: uint256
    vol_up: uint256
    vol_down: uint256
    vol_shock_cap: uint256
    vol_t_ref_seconds: uint256
    rate: uint256
    now: uint256

struct BookValue:
    value: int256
    pnl: int256[27]
    delta: int256
    gamma: int256
    vega: int256
    theta: int256

interface IPricer:
    def price(_is_call: bool, _spot: uint256, _strike: uint256, _t: uint256, _sigma: uint256, _rate: uint256, _round_up: bool) -> uint256: view
    def greeks(_spot: uint256, _rate: uint256, _now: uint256, _legs: DynArray[OptionLeg, 32]) -> (int256, int256, int256, int256, int256): view
    def scenario_values(_grid: Grid, _legs: DynArray[OptionLeg, 32]) -> BookValue: view

@external
@view
def measure_price(_pricer: address, _is_call: bool, _spot: uint256, _strike: uint256, _t: uint256, _sigma: uint256) -> uint256:
    g0: uint256 = msg.gas
    p: uint256 = staticcall IPricer(_pricer).price(_is_call, _spot, _strike, _t, _sigma, 0, False)
    return g0 - msg.gas

@external
@view
def measure_greeks(_pricer: address, _spot: uint256, _now: uint256, _legs: DynArray[OptionLeg, 32]) -> uint256:
    g0: uint256 = msg.gas
    a: int256 = 0
    b: int256 = 0
    c: int256 = 0
    d: int256 = 0
    e: int256 = 0
    a, b, c, d, e = staticcall IPricer(_pricer).greeks(_spot, 0, _now, _legs)
    return g0 - msg.gas

@external
@view
def measure_grid(_pricer: address, _grid: Grid, _legs: DynArray[OptionLeg, 32]) -> uint256:
    g0: uint256 = msg.gas
    v: BookValue = staticcall IPricer(_pricer).scenario_values(_grid, _legs)
    return g0 - msg.gas
'''


# ---------------------------------------------------------------------------------------------------------
# parameters: WIDE's ETH, BTC and SOL plus five synthetic underlyings, with the instruments the rows trade
# ---------------------------------------------------------------------------------------------------------

SYNTHETIC = tuple(f"U{i}" for i in range(4, 9))
# Linear instruments per underlying (positions are one per instrument): 32 positions on 1 underlying need 32 on
# ETH; on 3 underlyings 11 each (WIDE's perp + 10 futures on BTC and SOL); on 8 underlyings 4 each.
LINEAR = {"ETH": 32, "BTC": 11, "SOL": 11, **{u: 4 for u in SYNTHETIC}}
OPTION_UNDERLYINGS = ("ETH", "BTC")  # option rows use at most 2 underlyings
OPTION_STRIDE = 17                   # option books walk the chain in steps of 17: distinct instruments, mixed
                                     # strikes, kinds and expiries (coprime with the chains' 42 and 40 options)


def gas_params() -> Params:
    """WIDE's three underlyings (ETH, BTC, SOL) and five synthetic ones (U4..U8, ρ = 0.5 to everything else) with
    only what the rows trade: `LINEAR[u]` linear instruments per underlying (the perp, WIDE's futures, then
    futures of 400, 401, ... days) and the live option chains of ETH and BTC. Ids renumbered in listing order
    (the Markets contract numbers instruments as they are listed)."""
    from tests.differential.strategies_chain import WIDE

    extra_u = [Underlying(symbol=u, id=int(u[1:]), price=100.0 * int(u[1:]), vol=0.8, depth_usd=10_000_000.0,
                          concentration=0.1) for u in SYNTHETIC]
    markets = [m for m in WIDE.markets if m.is_linear and m.underlying in LINEAR]
    markets += [MarketSpec(name=f"{u.symbol}-PERP", kind=Kind.PERP, underlying=u.symbol, max_open_interest=1e6,
                           max_position=1e5, funding_period=3600, funding_max_rate=0.0005, funding_half_life=900)
                for u in extra_u]
    for symbol, want in LINEAR.items():
        linear = [m for m in markets if m.underlying == symbol]
        markets = [m for m in markets if m not in linear[want:]]
        for days in range(400, 400 + want - len(linear)):
            markets.append(MarketSpec(name=f"{symbol}-{days}D", kind=Kind.FUTURE, underlying=symbol, expiry_days=days,
                                      max_open_interest=1e6, max_position=1e5))
    markets += [m for m in WIDE.markets if m.is_option and m.expiry is None and m.underlying in OPTION_UNDERLYINGS]
    markets = [dataclasses.replace(m, id=i) for i, m in enumerate(markets, start=1)]
    n = 3 + len(extra_u)
    rho = [[1.0 if i == j else (WIDE.correlation[i][j] if i < 3 and j < 3 else 0.5) for j in range(n)] for i in range(n)]
    return WIDE.replace(underlyings=WIDE.underlyings + tuple(extra_u), markets=tuple(markets), correlation=rho, name="gas")


# ---------------------------------------------------------------------------------------------------------
# rows
# ---------------------------------------------------------------------------------------------------------

@dataclass
class Measure:
    """Gas figures of one row (named columns) and a note."""

    gas: dict[str, int]
    note: str = ""


@dataclass
class Row:
    group: str
    name: str
    fn: Callable[[Bench], Measure | dict]
    target: int | None = None          # gas ceiling for `target_column`
    target_column: str = "in tx, warm"


ROWS: list[Row] = []


def row(group: str, name: str, target: int | None = None, target_column: str = "in tx, warm"):
    """Register a benchmark row: `@row("margin check", "1 perp", target=80_000)`."""

    def wrap(fn):
        ROWS.append(Row(group, name, fn, target, target_column))
        return fn

    return wrap


Leg = tuple  # (MarketSpec as listed, size WAD (signed, the holder's side), price WAD)


@dataclass
class Bench:
    """The protocol on titanoboa (`crossmargin.fuzz.world.World`: the real Vault, OracleRouter with two feeds
    per underlying, VolOracle, Markets, RiskEngine + OptionPricer, Clearinghouse) and helpers that open books
    on it with signed fills."""

    world: object
    params: Params                     # as listed: dated markets carry their absolute expiry
    probe: object
    permissive: object                 # MockRiskEngine, the Clearinghouse's engine while a book is filled
    spare: Iterator = None             # unused World traders (each row takes a maker and a holder)

    @classmethod
    def create(cls, params: Params, traders: int) -> Bench:
        import boa
        from boa.vm.gas_meters import GasMeter

        from benchmarks.liquidation import live_markets
        from crossmargin.fuzz.world import World

        boa.env.set_gas_meter_class(GasMeter)
        world = World.boa(params, n_traders=2 + traders)
        assert int(world.markets.instrument_count()) == len(params.markets), "listing order != params ids"
        bench = cls(world, world.params, boa.loads(PROBE_SOURCE), world.backend.deploy("mocks/MockRiskEngine"),
                    iter(world.traders))
        house, seed = next(bench.spare), next(bench.spare)
        world.deposit(house, world.settlement, world.units(world.settlement, MAKER_CASH))
        with bench.unchecked():
            live_markets(world, house, seed, {s: world.prices[s][0] for s in params.symbols})
        return bench

    @staticmethod
    def cold() -> None:
        """Start the next call with every account and slot cold, as a new transaction does."""
        import boa

        boa.env.reset_gas_used()   # also resets the warm/cold access sets

    @contextmanager
    def unchecked(self):
        """Fills without the post-trade margin checks: the Clearinghouse asks the permissive MockRiskEngine.
        A RiskEngine only reads, so the state is what checked fills would leave (`margin_check` asserts the
        real engine finds the result above IM); filling the option books with the real checks (each up to
        4M gas, twice per fill) would take minutes on py-evm."""
        w = self.world
        w.clearing.set_risk_engine(self.permissive.address, sender=w.governor)  # a prank: the Timelock is the admin
        try:
            yield
        finally:
            w.clearing.set_risk_engine(w.engine.address, sender=w.governor)

    def linear_legs(self, underlyings: int, positions: int) -> list[Leg]:
        """`positions` linear positions spread round-robin over the first `underlyings` underlyings (perp
        first, then futures; every second leg short, half size; ~1,000 USD a leg), at the index price."""
        symbols = self.params.symbols[:underlyings]
        per = {u: [m for m in self.params.markets if m.underlying == u and m.is_linear] for u in symbols}
        out = []
        for k in range(positions):
            u, j = symbols[k % len(symbols)], k // len(symbols)
            price = self.world.prices[u][0]
            size = (1.0 if j % 2 == 0 else -0.5) * 1000.0 / (price / WAD)
            out.append((per[u][j], round(size * 10**4) * 10**14, price))
        return out

    def option_legs(self, underlyings: int, options: int) -> list[Leg]:
        """`options` option positions spread round-robin over the first `underlyings` underlyings: calls and
        puts over strikes and expiries (the WIDE chain, stride OPTION_STRIDE), alternately long and short, 10 %
        of the position cap each, at the Black-76 premium (index price and vol now; at least 1 cent)."""
        symbols = self.params.symbols[:underlyings]
        per = {u: [m for m in self.params.markets if m.underlying == u and m.is_option] for u in symbols}
        out = []
        for k in range(options):
            u, j = symbols[k % len(symbols)], k // len(symbols)
            chain = per[u]
            spec = chain[(OPTION_STRIDE * j) % len(chain)]
            size = round((1 if j % 2 == 0 else -1) * 0.1 * spec.max_position, 4)
            premium = option_price(spec, self.world.prices[u][0] / WAD, self.params.underlying(u).vol, self.world.now)
            out.append((spec, round(size * 10**4) * 10**14, max(int(premium * 10**6), 10**4) * 10**12))
        return out

    def open(self, legs: list[Leg], cash: float, collateral: tuple[str, ...] = ()) -> int:
        """A new account with `cash` USD of the settlement asset, 1 unit of each collateral and `legs`, each
        bought or sold by signed fill from a fresh maker; returns its id (a new account per row: resetting
        the access sets breaks boa's anchors)."""
        w = self.world
        maker, holder = next(self.spare), next(self.spare)
        assert len({spec.id for spec, _, _ in legs}) == len(legs), "one leg per instrument (fills would merge)"
        w.deposit(maker, w.settlement, w.units(w.settlement, MAKER_CASH))
        w.deposit(holder, w.settlement, w.units(w.settlement, cash))
        for symbol in collateral:
            w.deposit(holder, symbol, w.units(symbol, 1))
        with self.unchecked():
            for spec, size, price in legs:
                w.trade(maker, holder, spec.name, -size, price)
        held = w.clearing.positions_of(holder.account)
        assert len(held) == len(legs), f"{len(held)} positions on chain, {len(legs)} legs"
        return holder.account

    def margin_check(self, aid: int) -> Measure:
        """The three columns for account `aid`, which the real engine must find above IM with usable prices
        (its book was filled unchecked: the real post-trade check would have required as much)."""
        import boa

        engine = self.world.engine
        self.cold()
        assert engine.is_above_im(aid), f"account {aid} below IM: {self.world.margin(aid)}"
        # intrinsic: 21,000 + calldata (4 selector bytes as non-zero, 16 gas; the id word 4 per zero byte)
        intrinsic = 21_000 + 4 * 16 + sum(16 if b else 4 for b in aid.to_bytes(32, "big"))
        as_tx = boa.env.get_gas_used() + intrinsic
        self.cold()
        cold, warm = self.probe.measure(engine.address, aid)
        return Measure({"as tx": as_tx, "in tx, cold": cold, "in tx, warm": warm}, "real contracts")


MAKER_CASH = 100_000_000           # USD per maker: they hold the other side of every book


def _margin_row(name: str, underlyings: int, positions: int, collateral: tuple[str, ...] = (), target: int | None = None):
    @row("margin check", name, target=target)
    def _(bench: Bench) -> Measure:
        return bench.margin_check(bench.open(bench.linear_legs(underlyings, positions), 1_000_000, collateral))


_margin_row("empty account (cash only)", 1, 0)
_margin_row("1 perp, 1 underlying", 1, 1, target=80_000)
_margin_row("1 perp + WETH collateral", 1, 1, ("WETH",))
_margin_row("8 positions, 1 underlying", 1, 8)
_margin_row("8 positions, 3 underlyings", 3, 8, target=400_000)
_margin_row("8 positions, 3 underlyings + WETH, WBTC", 3, 8, ("WETH", "WBTC"), target=400_000)
_margin_row("32 positions, 1 underlying", 1, 32)
_margin_row("32 positions, 3 underlyings", 3, 32)
_margin_row("32 positions, 8 underlyings", 8, 32)
_margin_row("32 positions, 8 underlyings + WETH, WBTC", 8, 32, ("WETH", "WBTC"))


def _option_row(name: str, underlyings: int, options: int, target: int | None = None):
    @row("margin check, options", name, target=target)
    def _(bench: Bench) -> Measure:
        return bench.margin_check(bench.open(bench.option_legs(underlyings, options), 10_000_000))


_option_row("4 options, 1 underlying", 1, 4)
_option_row("4 options, 2 underlyings", 2, 4)
_option_row("12 options (MAX_OPTION_POSITIONS), 1 underlying", 1, 12)
_option_row("12 options (MAX_OPTION_POSITIONS), 2 underlyings", 2, 12, target=4_000_000)


@row("margin check, options", "12 options + 20 linear, 2 underlyings")
def _mixed(bench: Bench) -> Measure:
    return bench.margin_check(bench.open(bench.option_legs(2, 12) + bench.linear_legs(2, 20), 10_000_000))


def _pricer_probe(bench: Bench):
    import boa

    if getattr(bench, "_pricer_probe", None) is None:
        bench._pricer_probe = boa.loads(PRICER_PROBE_SOURCE)
    return bench._pricer_probe


def _legs(bench: Bench, n: int) -> list[tuple]:
    """The pricer's legs of an `n`-option ETH book (`Bench.option_legs`), expiries counted from now."""
    now, vol = bench.world.now, to_wad(bench.params.underlying("ETH").vol)
    return [(spec.is_call, to_wad(spec.strike), now + spec.expiry_seconds, vol, size)
            for spec, size, _ in bench.option_legs(1, n)]


def _grid(bench: Bench) -> tuple:
    r, spot = bench.params.onchain()["risk"], bench.world.prices["ETH"][0]
    shock = shock_of(bench.world.engine.risk_params(), to_wad(bench.params.underlying("ETH").vol))
    return (spot, shock, r["vol_up"], r["vol_down"], r["vol_shock_cap"], r["vol_t_ref_seconds"], r["rate"],
            bench.world.now)


@row("Black-76 (OptionPricer)", "price, 1 option (ATM call, 30 days)", target_column="in tx")
def _b76_price(bench: Bench) -> Measure:
    probe, pricer = _pricer_probe(bench), bench.world.pricer
    gas = probe.measure_price(pricer.address, True, to_wad(3000), to_wad(3000), 30 * 86_400, to_wad(0.6))
    return Measure({"in tx": gas}, "staticcall incl. call overhead")


@row("Black-76 (OptionPricer)", "price + Greeks, 1 option", target_column="in tx")
def _b76_greeks(bench: Bench) -> Measure:
    probe, pricer = _pricer_probe(bench), bench.world.pricer
    legs = _legs(bench, 1)
    return Measure({"in tx": probe.measure_greeks(pricer.address, _grid(bench)[0], bench.world.now, legs)},
                   "`greeks`: value + delta, gamma, vega, theta")


@row("Black-76 (OptionPricer)", "27-point grid, 1 option", target_column="in tx")
def _b76_grid1(bench: Bench) -> Measure:
    probe, pricer = _pricer_probe(bench), bench.world.pricer
    return Measure({"in tx": probe.measure_grid(pricer.address, _grid(bench), _legs(bench, 1))},
                   "26 re-prices + value both ways + Greeks")


@row("Black-76 (OptionPricer)", "27-point grid, 8 options", target_column="in tx")
def _b76_grid8(bench: Bench) -> Measure:
    probe, pricer = _pricer_probe(bench), bench.world.pricer
    gas = probe.measure_grid(pricer.address, _grid(bench), _legs(bench, 8))
    return Measure({"in tx": gas}, f"{gas // 8:,} per option")


def _deployed_size(contract) -> int:
    """EIP-170 counts the deployed code: the runtime plus the immutables Vyper appends at deploy time."""
    import boa

    return len(boa.env.get_code(contract.address))


@row("contract size", "RiskEngine deployed bytes (runtime + immutables)", target=24_576, target_column="bytes")
def _size(bench: Bench) -> Measure:
    from crossmargin.chain.artifacts import artifact

    return Measure({"bytes": _deployed_size(bench.world.engine)},
                   f"EIP-170 limit; runtime alone {artifact('RiskEngine').runtime_size:,}")


@row("contract size", "CorrelationCheck deployed bytes (the PSD check of set_correlation)", target=24_576,
     target_column="bytes")
def _check_size(bench: Bench) -> Measure:
    return Measure({"bytes": _deployed_size(bench.world.correlation_check)}, "EIP-170 limit")


@row("contract size", "OracleRouter deployed bytes", target=24_576, target_column="bytes")
def _router_size(bench: Bench) -> Measure:
    return Measure({"bytes": _deployed_size(bench.world.router)}, "EIP-170 limit")


@row("contract size", "OptionPricer deployed bytes", target=24_576, target_column="bytes")
def _pricer_size(bench: Bench) -> Measure:
    return Measure({"bytes": _deployed_size(bench.world.pricer)}, "EIP-170 limit")


@row("contract size", "Vault deployed bytes", target=24_576, target_column="bytes")
def _vault_size(bench: Bench) -> Measure:
    return Measure({"bytes": _deployed_size(bench.world.vault)}, "EIP-170 limit")


# ---- ERC-4626 share collateral (issue 16): netted into its asset's (ETH's) book at S x the guarded rate, one
# OracleRouter.share_state read (convertToAssets, maxRedeem). The rows use a default.toml world (the gas world's
# ETH book differs) so the WETH and the share rows compare like for like.
_SHARE_WORLD: dict = {}


def _share_world(bench: Bench):
    """A default.toml world on the same boa env with a staked-ETH-like MockERC4626 of WETH listed (id 10) and a
    yield-bearing USDC vault (id 11: unit collateral, rate x 1 USD in no book)."""
    if not _SHARE_WORLD:
        from crossmargin.fuzz.shares import list_share_vault
        from crossmargin.fuzz.world import World
        from crossmargin.model.params import to_wad

        w = World.boa(n_traders=4)
        w.deposit(w.traders[0], w.settlement, w.units(w.settlement, MAKER_CASH))
        _SHARE_WORLD["world"] = w
        _SHARE_WORLD["WETH"] = None
        _SHARE_WORLD["sETH"] = list_share_vault(w, "sETH", seed_assets=100 * WAD)
        _SHARE_WORLD["yUSD"] = list_share_vault(w, "yUSD", asset="USDC", uid=11,
                                                seed_assets=w.units("USDC", 1_000_000),
                                                haircuts=tuple(to_wad(x) for x in (0.02, 0.04, 0.05, 5e6)))
        _SHARE_WORLD["bench"] = Bench(w, w.params, bench.probe, None)
    return _SHARE_WORLD["world"], _SHARE_WORLD["bench"]


def _share_row(name: str, holder: int, collateral: str, target: int | None = None):
    @row("margin check", name, target=target)
    def _(bench: Bench) -> Measure:
        from crossmargin.fuzz.shares import deposit_shares

        w, b = _share_world(bench)
        t = w.traders[holder]
        w.deposit(t, w.settlement, w.units(w.settlement, 1_000_000))
        if collateral == "WETH":
            w.deposit(t, "WETH", WAD)
        elif collateral == "sETH":
            deposit_shares(w, t, _SHARE_WORLD["sETH"], WAD)
        else:   # yUSD: 3,000 USDC of the USDC vault's shares
            deposit_shares(w, t, _SHARE_WORLD["yUSD"], w.units("USDC", 3_000))
        w.trade(w.traders[0], t, "ETH-PERP", -WAD // 3, w.prices["ETH"][0])
        return b.margin_check(t.account)


_share_row("1 perp + WETH (default.toml world)", 1, "WETH")
_share_row("1 perp + ERC-4626 share collateral", 2, "sETH", target=100_000)
_share_row("1 perp + USDC vault shares", 3, "yUSD", target=100_000)


# ---------------------------------------------------------------------------------------------------------
# runner
# ---------------------------------------------------------------------------------------------------------

def run(rows: list[Row] | None = None) -> list[dict]:
    rows = rows or ROWS
    bench = Bench.create(gas_params(), traders=2 * sum(r.group.startswith("margin check") for r in rows))
    out = []
    for r in rows:
        m = r.fn(bench)
        m = m if isinstance(m, Measure) else Measure(dict(m))
        value = m.gas.get(r.target_column)
        ok = None if r.target is None or value is None else value <= r.target
        out.append({"group": r.group, "name": r.name, "gas": m.gas, "target": r.target,
                    "target_column": r.target_column, "ok": ok, "note": m.note})
    return out


def render(results: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    columns = []
    for r in results:
        columns += [c for c in r["gas"] if c not in columns]
    table = Table(title="crossmargin gas (titanoboa gas meter, cold access sets per measurement)", caption=REAL)
    table.add_column("group")
    table.add_column("operation")
    for c in columns:
        table.add_column(c, justify="right")
    table.add_column("target", justify="right")
    for r in results:
        status = "" if r["ok"] is None else ("[green]ok[/]" if r["ok"] else "[red]over[/]")
        target = "" if r["target"] is None else f"{r['target']:,} ({r['target_column']}) {status}"
        table.add_row(r["group"], r["name"], *[f"{r['gas'][c]:,}" if c in r["gas"] else "" for c in columns], target)
    Console().print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--no-worst-case", action="store_true", help="skip the worst-case table (benchmarks.worst_case)")
    args = parser.parse_args(argv)
    results = run()
    worst = [] if args.no_worst_case else worst_case.rows()
    if args.json:
        print(json.dumps({"rows": results, "worst_case": worst}, indent=2))
    else:
        render(results)
        if worst:
            worst_case.render(worst)
    return 0 if all(r["ok"] is not False for r in results + worst) else 1


if __name__ == "__main__":
    sys.exit(main())
