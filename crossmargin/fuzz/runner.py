"""`crossmargin fuzz`: the liquidation machine driven outside pytest by a seeded random walk.

    report = run(steps=100_000, seed=1, on_step=progress.advance)
    report.stats.checks      # invariant name -> times checked
    report.steps_per_second

The walk draws a rule by weight and builds valid arguments for it (the hypothesis machine draws the same
arguments from strategies); every `episode` steps it returns to the base snapshot (fresh accounts and prices;
revm's journal is only freed by a revert, so memory stays flat). Invariants run after every step. A violation
stops the run and is returned with the seed, the step and the rule, so it can be replayed.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable

from crossmargin.fuzz.machine import JUMP_DOWN, JUMP_UP, InvariantViolation, LiquidationMachine, Stats

# rule -> weight (out of the sum): trading and prices drive accounts into liquidation, the rest exercises it
WEIGHTS = {
    "trade": 24, "move_price": 16, "jump": 2, "advance_time": 5, "move_vol": 3, "deposit": 5, "withdraw": 5,
    "start_auction": 14, "bid": 14, "close_auction": 2, "make_stale": 1, "refresh": 4, "deviate": 1, "agree": 3,
    "socialise": 1, "fund_insurance": 1,
    # adversarial (issue 10 §4, §5): bids on old auctions after a recovery and a dip; withdrawals ahead of a loss
    "bid_on_old_auction": 1, "withdraw_ahead_of_loss": 2,
    # adversary: dust wash fills (issue 10 §3)
    "dust_wash": 3,
    "borrow_cash": 2, "accrue_interest": 1,   # lending (issue 10 §2)
    # oracle doubt (issue 11 §1): a stale secondary, dust collateral on a stale asset, a missed vol update
    "stale_secondary": 1, "refresh_secondary": 3, "dust_collateral": 1, "miss_vol_update": 1,
    # adversarial actions (issue 10)
    "sibling_dump": 3,
    # adversary: an auction nobody bids, left to its escalation, then a full bid (issue 18)
    "escalate_unbiddable": 1,
}
DEPOSITS = {"USDC": (1_000, 200_000), "WETH": (1, 30), "WBTC": (0.05, 2)}


@dataclass
class Report:
    steps: int
    seed: int
    seconds: float
    stats: Stats
    violation: InvariantViolation | None = None
    failing_step: int | None = None
    failing_rule: str | None = None
    trace: list = field(default_factory=list)

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds else float("inf")


def _args(rule: str, rng: random.Random, m: LiquidationMachine) -> tuple:
    n = len(m.traders)
    sym = rng.choice(m.symbols)
    if rule == "trade":
        # the keeper (trader 0) is also the market maker most of the time: its standing orders are signed
        # once per price, so a long run spends its time in the EVM rather than in ECDSA
        maker, taker = rng.sample(range(n), 2)
        if rng.random() < 0.7:
            maker, taker = 0, rng.randrange(1, n)
        offset = 0 if rng.random() < 0.7 else rng.choice((-3, 3))
        market = rng.choice(m.markets_traded)
        leverage = rng.choice((0.3, 1.0, 2.5, 4.0, 6.0, 7.5))
        if m.spec[market].is_option:  # option sizes by underlying notional: shorts need far less leverage
            leverage = rng.choice((0.1, 0.3, 1.0, 2.0))
        return (maker, taker, market, leverage, rng.random() < 0.5, offset)
    if rule == "move_price":
        return (sym, rng.randint(-6, 6))
    if rule == "jump":
        return (sym, JUMP_UP if rng.random() < 0.4 else JUMP_DOWN)
    if rule == "advance_time":
        return (rng.choice((12, 60, 300, 900, 1800, 3600)),)
    if rule == "move_vol":
        return (sym, rng.uniform(-0.2, 0.2))
    if rule == "deposit":
        token = rng.choice(tuple(DEPOSITS))
        lo, hi = DEPOSITS[token]
        return (rng.randrange(n), token, m.world.units(token, round(rng.uniform(lo, hi), 2)))
    if rule == "withdraw":
        return (rng.randrange(n), rng.choice(tuple(DEPOSITS)), rng.choice((0.05, 0.25, 0.5, 1.0)))
    if rule == "start_auction":
        target, starter = rng.sample(range(n), 2)
        if rng.random() < 0.5:  # half the time a keeper's scan picks the target
            flagged = [i for i in m.liquidatable() if i not in m.in_auction]
            if flagged:
                target = rng.choice(flagged)
                starter = rng.choice([i for i in range(n) if i != target])
        return (target, starter)
    if rule == "bid":
        open_ = sorted(m.in_auction)
        target = rng.choice(open_) if open_ and rng.random() < 0.9 else rng.randrange(n)
        bidder = rng.choice([i for i in range(n) if i != target])
        if rng.random() < 0.5:
            bidder = 0 if target != 0 else bidder        # the well-funded keeper
        fraction = rng.choice((0.01, 0.1, 0.25, 0.5, 1.0))
        slack = -50 if rng.random() < 0.05 else rng.choice((0, 10, 100))
        return (target, bidder, fraction, slack)
    if rule == "close_auction":
        open_ = sorted(m.in_auction)
        return (rng.choice(open_) if open_ else rng.randrange(n),)
    if rule == "make_stale":
        return (sym,)
    if rule == "refresh":
        return (rng.choice([s for s in m.symbols if m.stale[s]] or m.symbols),)
    if rule == "deviate":
        return (sym, rng.choice((-8, -4, 4, 8)))
    if rule == "agree":
        return (rng.choice([s for s in m.symbols if m.deviation[s]] or m.symbols), 0)
    if rule == "socialise":
        return (rng.choice((0.5, 0.9, 1.0)),)
    if rule == "fund_insurance":
        return (rng.choice((1_000, 20_000, 100_000)),)
    if rule == "bid_on_old_auction":
        open_ = sorted(m.in_auction)
        target = rng.choice(open_) if open_ else rng.randrange(n)
        bidder = rng.choice([i for i in range(n) if i != target])
        return (target, bidder, rng.choice((300, 1800, 7200)), rng.choice((4, 10, 20)))
    if rule == "withdraw_ahead_of_loss":
        return (rng.randrange(n), rng.choice((0.25, 1.0)))
    if rule == "dust_wash":  # two accounts of one attacker (never the maker)
        a, b = rng.sample(range(1, n), 2)
        return (a, b, rng.choice(m.perps), rng.random() < 0.5)
    if rule == "borrow_cash":         # lending: trader 1 holds WETH, trader 2 WBTC (the machine's deposits)
        borrower = rng.choice((1, 2 % n, rng.randrange(n)))
        return (borrower, rng.choice([i for i in range(n) if i != borrower]), rng.choice((1.0, 5.0, 20.0)))
    if rule == "accrue_interest":
        return (rng.choice((3600, 86_400, 7 * 86_400)),)
    if rule == "stale_secondary":
        return (sym,)
    if rule == "refresh_secondary":
        return (rng.choice([s for s in m.symbols if m.stale2[s]] or m.symbols),)
    if rule == "dust_collateral":
        flagged = m.liquidatable()
        return (rng.choice(flagged) if flagged and rng.random() < 0.7 else rng.randrange(n),
                rng.choice(("ETH", "BTC")))
    if rule == "miss_vol_update":
        return (sym,)
    if rule == "sibling_dump":
        # mostly an account below IM (the attacker's case), else anyone: the rule must also hold for healthy ones
        seller, buyer = rng.sample(range(n), 2)
        below = m.below_im()
        if below and rng.random() < 0.8:
            seller = rng.choice(below)
            buyer = rng.choice([i for i in range(n) if i != seller])
        return (seller, buyer, rng.choice((0.25, 0.5, 1.0)), rng.choice((0, 3, 6)))
    if rule == "escalate_unbiddable":
        open_ = sorted(m.in_auction)
        target = rng.choice(open_) if open_ else rng.randrange(n)
        return (target, rng.choice([i for i in range(n) if i != target]), rng.choice((0, 1, 2, 4)))
    raise KeyError(rule)


METHOD = {"jump": "move_price", "agree": "deviate"}


def run(steps: int, seed: int = 0, episode: int = 400, machine: LiquidationMachine | None = None,
        on_step: Callable[[int], None] | None = None, weights: dict[str, int] | None = None) -> Report:
    """Run `steps` random steps (invariants after each); stops at the first violation."""
    m = machine or LiquidationMachine()
    weights = weights or WEIGHTS
    rules, w = list(weights), list(weights.values())
    rng = random.Random(seed)
    m.stats = Stats()
    m.reset()
    trace: list = []
    started = time.perf_counter()
    done = 0
    for step in range(steps):
        if step and step % episode == 0:
            m.reset()
            trace.clear()
        rule = rng.choices(rules, w)[0]
        args = _args(rule, rng, m)
        trace.append((rule, args))
        try:
            getattr(m, METHOD.get(rule, rule))(*args)
            m.check_global()
        except InvariantViolation as exc:
            return Report(done, seed, time.perf_counter() - started, m.stats, exc, step, rule, list(trace))
        m.step_done()
        done += 1
        if on_step is not None:
            on_step(1)
    return Report(done, seed, time.perf_counter() - started, m.stats)


# -- replay and shrink (any engine; the node fuzzer prints the shrunk list and a replay command) ----------------
def replay_steps(m: LiquidationMachine, trace: list, seed: int = 0) -> Report:
    """Run `trace` ([(rule, args)]) from the base snapshot; stops at the first violation."""
    m.stats = Stats()
    m.reset()
    started = time.perf_counter()
    for step, (rule, args) in enumerate(trace):
        try:
            getattr(m, METHOD.get(rule, rule))(*args)
            m.check_global()
        except InvariantViolation as exc:
            return Report(step, seed, time.perf_counter() - started, m.stats, exc, step, rule, list(trace[:step + 1]))
        m.step_done()
    return Report(len(trace), seed, time.perf_counter() - started, m.stats)


def shrink(m: LiquidationMachine, trace: list, invariant: str, budget: int = 40) -> tuple[list, int]:
    """The shortest sub-list of `trace` found (within `budget` replays) that still violates `invariant`:
    chunks removed greedily, halving the chunk size (delta debugging), the failing step kept last. Returns
    (steps, replays used)."""
    def fails(candidate: list) -> list | None:
        r = replay_steps(m, candidate)
        return r.trace if r.violation is not None and r.violation.name == invariant else None

    best, used = list(trace), 0
    chunk = max(1, len(best) // 2)
    while used < budget and len(best) > 1:
        i, removed = 0, False
        while i < len(best) - 1 and used < budget:      # never drop the last (failing) step by itself
            candidate = best[:i] + best[i + chunk:] if i + chunk < len(best) else best[:i] + best[-1:]
            if len(candidate) == len(best):
                break
            used += 1
            hit = fails(candidate)
            if hit is not None:
                best, removed = hit, True
            else:
                i += chunk
        if chunk == 1 and not removed:
            break
        chunk = max(1, chunk // 2) if not removed or chunk > 1 else 1
    return best, used
