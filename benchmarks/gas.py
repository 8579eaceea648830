"""Gas table: what protocol operations cost on chain, measured with the deployed bytecode.

    python -m benchmarks.gas [--json]

Each row is a small function registered with `@row(group, name, target=...)`: it gets a `Bench` (a configured
margin stack shared by the rows; each row uses its own accounts) and returns a `Measure` (or a dict of named gas figures). Add
deposit / withdraw / fill rows the same way; the table, targets and JSON output come for free.

Engine: titanoboa (py-evm) with a real gas meter, warm/cold access sets reset before each measurement
(`Bench.cold()`). Not revm: pyrevm 0.3.7 keeps storage slots and accounts warm across message calls (its
journal is never flushed), so a slot written while loading a portfolio would read as warm (100 gas instead of
2,100) and cold figures would be understated. Speed is irrelevant for a few rows.

Option rows: the same margin check for books of 4, 16 and 32 options (calls and puts, strikes 0.7-1.4x spot,
expiries 1-180 days, long and short) on 1 or 2 underlyings, full 27-point grid per underlying; target: 16
options on 2 underlyings <= 4M gas. The "Black-76" rows call the OptionPricer directly from a probe contract
(`staticcall`, execution only): one price, one price + Greeks, and the 27-point grid of 1 and 8 options.

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
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from crossmargin.model.params import Kind, MarketSpec, Params, Underlying  # noqa: E402
from crossmargin.model.portfolio import Account, MarketState, Position  # noqa: E402

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
# parameters: DEFAULT's three underlyings plus five synthetic ones, a perp and futures on each
# ---------------------------------------------------------------------------------------------------------

def gas_params() -> Params:
    """WIDE (DEFAULT + futures) with five more underlyings (U4..U8, ρ = 0.5 to everything else) and dated
    futures added until every underlying has 32 linear instruments (positions are one per instrument)."""
    from tests.differential.strategies_chain import WIDE

    extra_u = [Underlying(symbol=f"U{i}", id=i, price=100.0 * i, vol=0.8, depth_usd=10_000_000.0, concentration=0.1)
               for i in range(4, 9)]
    markets, next_id = list(WIDE.markets), max(m.id for m in WIDE.markets) + 1
    for u in extra_u:
        markets.append(MarketSpec(name=f"{u.symbol}-PERP", kind=Kind.PERP, underlying=u.symbol, max_open_interest=1e6,
                                  max_position=1e5, funding_period=3600, funding_max_rate=0.0005,
                                  funding_half_life=900, id=next_id))
        next_id += 1
    for u in list(WIDE.underlyings) + extra_u:
        days = 400
        while sum(1 for m in markets if m.underlying == u.symbol and m.is_linear) < 32:
            markets.append(MarketSpec(name=f"{u.symbol}-{days}D", kind=Kind.FUTURE, underlying=u.symbol,
                                      expiry_days=days, max_open_interest=1e6, max_position=1e5, id=next_id))
            next_id, days = next_id + 1, days + 1
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


@dataclass
class Bench:
    """A configured margin stack on titanoboa (`tests.differential.strategies_chain.RiskWorld`) and helpers."""

    world: object
    params: Params
    probe: object = None
    state: MarketState = field(default=None)

    @classmethod
    def create(cls, params: Params) -> Bench:
        import boa
        from boa.vm.gas_meters import GasMeter

        from tests.differential.strategies_chain import GENESIS, RiskWorld

        boa.env.set_gas_meter_class(GasMeter)
        world = RiskWorld.boa(params)
        probe = boa.loads(PROBE_SOURCE)
        bench = cls(world, params, probe, MarketState.from_params(params, now=GENESIS))
        world.set_market(bench.state)
        return bench

    @staticmethod
    def cold() -> None:
        """Start the next call with every account and slot cold, as a new transaction does."""
        import boa

        boa.env.reset_gas_used()   # also resets the warm/cold access sets

    def book(self, underlyings: int, positions: int, collateral: tuple[str, ...] = ()) -> Account:
        """`positions` linear positions spread round-robin over the first `underlyings` underlyings (perp first,
        then futures; every second leg short, half size), plus 1 unit of each collateral."""
        symbols = self.params.symbols[:underlyings]
        per = {u: [m for m in self.params.markets if m.underlying == u and m.is_linear] for u in symbols}
        out = []
        for k in range(positions):
            u = symbols[k % len(symbols)]
            spec = per[u][k // len(symbols)]
            size = (1.0 if (k // len(symbols)) % 2 == 0 else -0.5) * (1000.0 / self.params.underlying(u).price)
            out.append(Position.open(spec, round(size, 4), self.params.underlying(u).price))
        return Account(cash=1_000_000.0, collateral={c: 1.0 for c in collateral}, positions=tuple(out))

    def option_book(self, underlyings: int, options: int) -> Account:
        """`options` option positions spread round-robin over the first `underlyings` underlyings: calls and puts
        over strikes and expiries (the WIDE option chain, live ones only), alternately long and short, 10 % of
        the position cap each, plus cash."""
        symbols = self.params.symbols[:underlyings]
        per = {u: [m for m in self.params.markets if m.underlying == u and m.is_option and m.expiry is None]
               for u in symbols}
        out = []
        for k in range(options):
            u = symbols[k % len(symbols)]
            chain = per[u]
            spec = chain[(7 * (k // len(symbols))) % len(chain)]   # stride 7: mixes strikes, kinds and expiries
            size = round((1 if (k // len(symbols)) % 2 == 0 else -1) * 0.1 * spec.max_position, 4)
            out.append(Position(spec, size, 0.0))
        return Account(cash=10_000_000.0, positions=tuple(out))

    def margin_check(self, account: Account) -> Measure:
        import boa

        engine = self.world.engine
        aid = self.world.load(account)   # a new account per row (resetting access sets breaks boa's anchors)
        self.cold()
        engine.is_above_im(aid)
        # intrinsic: 21,000 + calldata (4 selector bytes as non-zero, 16 gas; the id word 4 per zero byte)
        intrinsic = 21_000 + 4 * 16 + sum(16 if b else 4 for b in aid.to_bytes(32, "big"))
        as_tx = boa.env.get_gas_used() + intrinsic
        self.cold()
        cold, warm = self.probe.measure(engine.address, aid)
        return Measure({"as tx": as_tx, "in tx, cold": cold, "in tx, warm": warm})


def _margin_row(name: str, underlyings: int, positions: int, collateral: tuple[str, ...] = (), target: int | None = None):
    @row("margin check", name, target=target)
    def _(bench: Bench) -> Measure:
        return bench.margin_check(bench.book(underlyings, positions, collateral))


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
        return bench.margin_check(bench.option_book(underlyings, options))


_option_row("4 options, 1 underlying", 1, 4)
_option_row("4 options, 2 underlyings", 2, 4)
_option_row("16 options, 1 underlying", 1, 16)
_option_row("16 options, 2 underlyings", 2, 16, target=4_000_000)
_option_row("32 options, 1 underlying", 1, 32)
_option_row("32 options, 2 underlyings", 2, 32)


@row("margin check, options", "16 options + 16 linear, 2 underlyings")
def _mixed(bench: Bench) -> Measure:
    options, linear = bench.option_book(2, 16), bench.book(2, 16)
    return bench.margin_check(Account(cash=10_000_000.0, positions=options.positions + linear.positions))


def _pricer_probe(bench: Bench):
    import boa

    if getattr(bench, "_pricer_probe", None) is None:
        bench._pricer_probe = boa.loads(PRICER_PROBE_SOURCE)
    return bench._pricer_probe


def _legs(bench: Bench, n: int) -> list[tuple]:
    from crossmargin.model.params import to_wad

    book = bench.option_book(1, n)
    now = bench.state.now
    return [(p.spec.is_call, to_wad(p.spec.strike), now + p.spec.expiry_seconds, to_wad(bench.state.vol["ETH"]),
             to_wad(p.size)) for p in book.positions]


def _grid(bench: Bench) -> tuple:
    from crossmargin.model.params import to_wad

    r, spot = bench.params.onchain()["risk"], to_wad(bench.state.spot["ETH"])
    shock = bench.world.engine.shock_size(to_wad(bench.state.vol["ETH"]))
    return (spot, shock, r["vol_up"], r["vol_down"], r["vol_shock_cap"], r["vol_t_ref_seconds"], r["rate"],
            bench.state.now)


@row("Black-76 (OptionPricer)", "price, 1 option (ATM call, 30 days)", target_column="in tx")
def _b76_price(bench: Bench) -> Measure:
    from crossmargin.model.params import to_wad

    probe, pricer = _pricer_probe(bench), bench.world.pricer
    gas = probe.measure_price(pricer.address, True, to_wad(3000), to_wad(3000), 30 * 86_400, to_wad(0.6))
    return Measure({"in tx": gas}, "staticcall incl. call overhead")


@row("Black-76 (OptionPricer)", "price + Greeks, 1 option", target_column="in tx")
def _b76_greeks(bench: Bench) -> Measure:
    probe, pricer = _pricer_probe(bench), bench.world.pricer
    legs = _legs(bench, 1)
    return Measure({"in tx": probe.measure_greeks(pricer.address, _grid(bench)[0], bench.state.now, legs)},
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


@row("contract size", "RiskEngine runtime bytes", target=24_576, target_column="bytes")
def _size(bench: Bench) -> Measure:
    from crossmargin.chain.artifacts import artifact

    return Measure({"bytes": artifact("RiskEngine").runtime_size}, "EIP-170 limit")


@row("contract size", "OptionPricer runtime bytes", target=24_576, target_column="bytes")
def _pricer_size(bench: Bench) -> Measure:
    from crossmargin.chain.artifacts import artifact

    return Measure({"bytes": artifact("OptionPricer").runtime_size}, "EIP-170 limit")


# ---------------------------------------------------------------------------------------------------------
# runner
# ---------------------------------------------------------------------------------------------------------

def run(rows: list[Row] | None = None) -> list[dict]:
    bench = Bench.create(gas_params())
    out = []
    for r in rows or ROWS:
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
    table = Table(title="crossmargin gas (titanoboa gas meter, cold access sets per measurement)")
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
    args = parser.parse_args(argv)
    results = run()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        render(results)
    return 0 if all(r["ok"] is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
