"""Worst-case gas: every liquidation path on the largest book the limits allow, against the per-transaction cap.

    python -m benchmarks.worst_case [--json]        (also printed by `python -m benchmarks.gas`)

Ethereum caps one transaction at 2^24 = 16,777,216 gas (EIP-7825); a liquidation that needs more can never be
mined, so the account it concerns could not be liquidated at all. Target: every row <= 15,000,000 (a margin under
the cap for repricing drift and for calldata).

The book: MAX_POSITIONS = 32 positions, of which MAX_OPTION_POSITIONS = 12 options (the expensive legs: a full
27-point Black-76 grid each, ~146k gas per evaluation), spread over all 8 underlyings (ETH, BTC, SOL and the
synthetic U4..U8 of `benchmarks.gas.gas_params`, every one with a primary and a secondary feed, so every underlying
costs its price reads and, with options, a pricer call): options round-robin (calls and puts at 0.9-1.1x spot, 7
and 30 days, alternately long and short), then 20 linear positions round-robin (perps, then futures), plus WETH
and WBTC collateral (linked to ETH and BTC: the haircut pass and spot deltas). The counterparty of
every leg is one market maker, so the maker of a reducing fill holds the mirror book. The bidder is a fresh keeper
(cash only: every lot it receives is a new storage slot, and its post-bid IM check evaluates the whole book).

Rows (titanoboa gas meter, cold access sets before each transaction, intrinsic gas and calldata included):
margin view (`RiskEngine.margin` as an eth_call), `start_auction` and bids — partial (health just below MM:
the fraction cap binds) and full (deep under water: E_mm <= full_close_health·MM) — at OK prices and at DEGRADED
prices (every secondary feed off the primary by more than the allowed deviation, the account liquidatable at
both), escalated full bids (a sliver left unbid past `escalation_delay`: no proof, the account re-evaluated),
and a reducing fill (the account below IM sells one leg back to the maker: the Clearinghouse evaluates both
sides).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from crossmargin.model.params import Kind, MarketSpec, Params  # noqa: E402

WAD = 10**18
TX_CAP = 2**24            # EIP-7825
TARGET = 15_000_000
OPTIONS = 12              # MAX_OPTION_POSITIONS (contracts/lib/constants.vy)
LINEAR = 20               # the rest of MAX_POSITIONS = 32
STRIKES = (0.9, 1.1)      # × spot, call and put at each
DAYS = (7, 30)


def worst_params() -> Params:
    """`benchmarks.gas.gas_params` (8 underlyings, two feeds each) with an option chain on every underlying:
    a call and a put at each strike in STRIKES × DAYS."""
    from benchmarks.gas import gas_params

    p = gas_params()
    markets = [m for m in p.markets if not m.is_option]
    for u in p.underlyings:
        perp = p.market(f"{u.symbol}-PERP")
        cap = perp.max_position / 5
        for days in DAYS:
            for k in STRIKES:
                for kind in (Kind.CALL, Kind.PUT):
                    strike = round(k * u.price, 2)
                    markets.append(MarketSpec(name=f"{u.symbol}-{kind.name[0]}-{strike:g}-{days}D", kind=kind,
                                              underlying=u.symbol, expiry_days=days, strike=strike,
                                              max_open_interest=10 * cap, max_position=cap))
    markets = [dataclasses.replace(m, id=i) for i, m in enumerate(markets, start=1)]
    return p.replace(markets=tuple(markets), name="worst")


def _legs(bench) -> list[tuple]:
    """OPTIONS option legs round-robin over the 8 underlyings (alternately long and short, 5 % of the position cap,
    at the Black-76 premium), then LINEAR linear legs round-robin (`Bench.linear_legs`)."""
    from crossmargin.model.margin import option_price

    symbols = bench.params.symbols
    chains = {u: [m for m in bench.params.markets if m.underlying == u and m.is_option] for u in symbols}
    out = []
    for k in range(OPTIONS):
        u, j = symbols[k % len(symbols)], k // len(symbols)
        spec = chains[u][j]
        size = round((1 if k % 2 == 0 else -1) * 0.05 * spec.max_position, 4)
        premium = option_price(spec, bench.world.prices[u][0] / WAD, bench.params.underlying(u).vol, bench.world.now)
        out.append((spec, round(size * 10**4) * 10**14, max(int(premium * 10**6), 10**4) * 10**12))
    return out + bench.linear_legs(len(symbols), LINEAR)


class Worst:
    """The protocol with the worst-case markets, a maker holding the other side of every book, and helpers that
    open a victim at a chosen health."""

    def __init__(self) -> None:
        from benchmarks.gas import Bench

        self.bench = Bench.create(worst_params(), traders=24)
        self.world = self.bench.world
        self.legs = _legs(self.bench)
        assert len(self.legs) == 32 and len({spec.id for spec, _, _ in self.legs}) == 32, len(self.legs)
        self._cash_at_zero: int | None = None

    def _open(self, cash_usd: float) -> int:
        return self.bench.open(self.legs, cash_usd, ("WETH", "WBTC"))

    def victim(self, health_of_mm: float) -> int:
        """A new account holding the worst-case book with E_mm = health_of_mm · MM (cash chosen exactly: equity
        is linear in cash and every victim's book is identical)."""
        if self._cash_at_zero is None:
            probe = self._open(10_000_000)
            _, eq_mm, _, mm, _ = self.world.margin(probe)
            self._mm = mm
            self._cash_at_zero = 10_000_000 * WAD - eq_mm            # cash (WAD) for E_mm = 0
        target = self._cash_at_zero + int(health_of_mm * self._mm)
        return self._open(target / WAD)

    def degrade(self, on: bool) -> None:
        """Every secondary feed 5 % below its primary (beyond the allowed deviation) or back in line."""
        w = self.world
        for s in self.bench.params.symbols:
            primary = w.prices[s][0]
            w.set_price(s, primary, primary * 95 // 100 if on else None)


def _gas(fn, *args, sender) -> int:
    import boa

    from benchmarks.liquidation import _intrinsic

    boa.env.reset_gas_used()
    fn(*args, sender=sender)
    return boa.env.get_gas_used() + _intrinsic([a if isinstance(a, int) else 0 for a in args])


def rows() -> list[dict]:
    import boa

    from benchmarks.liquidation import _intrinsic

    w = Worst()
    world, liq = w.world, w.world.liquidation
    out: list[dict] = []

    def add(name: str, gas: int, note: str = "") -> None:
        out.append({"operation": name, "gas": gas, "target": TARGET, "cap": TX_CAP, "ok": gas <= TARGET, "note": note})

    view = w.victim(2.0)
    boa.env.reset_gas_used()
    world.engine.margin(view)
    add("margin view (eth_call)", boa.env.get_gas_used() + _intrinsic([view]),
        f"{OPTIONS} options + {LINEAR} linear, 8 underlyings, WETH, WBTC")

    for label, degraded in (("OK", False), ("DEGRADED", True)):
        for kind, health in (("partial", 0.9), ("full", 0.3)):
            victim = w.victim(health)
            keeper = next(w.bench.spare)
            world.deposit(keeper, world.settlement, world.units(world.settlement, 100_000_000))
            w.degrade(degraded)
            start = _gas(liq.start_auction, victim, keeper.account, sender=keeper.address)
            add(f"start_auction, {label}, {kind}", start)
            payment, cap = liq.quote(victim, WAD)
            bid = _gas(liq.bid, victim, keeper.account, WAD, payment, sender=keeper.address)
            add(f"bid, {label}, {kind}", bid, f"fraction {cap / WAD:.3f}")
            w.degrade(False)

    # an escalated bid (issue 18): a sliver (0 < V < escalation_reward·MM: E_mm = 0.24·MM gives V ≈ 0.26·MM here) left
    # unbid past the escalation delay (counted from the start); the bid skips the proof and re-evaluates the account
    # after it. DEGRADED, V is the larger valuation (≈ 0.30·MM here): the account becomes a sliver only as its MM
    # grows with time (390 s after the start here), so the wait goes on in 5-minute steps until it escalates
    for label, degraded in (("OK", False), ("DEGRADED", True)):
        victim = w.victim(0.24)
        keeper = next(w.bench.spare)
        world.deposit(keeper, world.settlement, world.units(world.settlement, 100_000_000))
        w.degrade(degraded)
        liq.start_auction(victim, keeper.account, sender=keeper.address)
        p = liq.auction_params(victim)
        waited = p[9] + p[2] // 2                       # the delay, half the reward ramp
        boa.env.time_travel(seconds=waited)
        w.degrade(degraded)                             # fresh rounds after the wait
        while not liq.escalation(victim)[0] and waited + 300 <= p[8]:
            boa.env.time_travel(seconds=300)
            waited += 300
            w.degrade(degraded)
        escalated, reward = liq.escalation(victim)
        assert escalated, (f"the victim is not a sliver ({label}): V {liq.mark_value(victim) / WAD:,.0f}, "
                           f"MM {world.margin(victim)[3] / WAD:,.0f}; lower its health")
        payment, _ = liq.quote(victim, WAD)
        bid = _gas(liq.bid, victim, keeper.account, WAD, payment, sender=keeper.address)
        add(f"bid, {label}, escalated", bid, f"reward {reward / WAD:,.0f} USD, {waited:,} s after the start")
        w.degrade(False)

    # a reducing fill: the account below IM (above MM) sells half of a linear leg back, at the index, to the maker
    # holding the mirror book (both sides reduce: the Clearinghouse evaluates each before and after). The first leg
    # whose sale raises E_mm/MM (selling a hedge does not: "margin ratio fell") is measured.
    victim = w.victim(1.1)
    holder = next(t for t in world.traders if t.account == victim)
    maker_of_book = _maker_of(w, victim)
    for spec, size, price in w.legs[OPTIONS:]:
        order, sig = world.order(maker_of_book, spec.id, size > 0, price)
        boa.env.reset_gas_used()
        try:    # a revert changes nothing
            world.clearing.fill(order, sig, abs(size) // 2, victim, sender=holder.address)
        except Exception:   # noqa: BLE001 - a hedge leg: try the next
            continue
        gas = boa.env.get_gas_used() + 21_000 + 16 * 400
        add("reducing fill (below IM, both books evaluated)", gas, f"half of {spec.name} at the index")
        break
    return out


def _maker_of(w: Worst, account: int):
    """The maker that opened `account`'s book: `Bench.open` takes the maker just before the holder."""
    traders = w.world.traders
    i = next(k for k, t in enumerate(traders) if t.account == account)
    return traders[i - 1]


def render(results: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"worst case: largest book the limits allow (cap {TX_CAP:,} gas per transaction, EIP-7825; "
                    f"target <= {TARGET:,})")
    for col in ("operation", "gas", "cap", "share of cap", "target", "note"):
        t.add_column(col, justify="left" if col in ("operation", "note") else "right")
    for r in results:
        status = "[green]ok[/]" if r["ok"] else "[red]over[/]"
        t.add_row(r["operation"], f"{r['gas']:,}", f"{r['cap']:,}", f"{r['gas'] / r['cap']:.0%}",
                  f"{r['target']:,} {status}", r["note"])
    Console().print(t)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = rows()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        render(results)
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
