"""Liquidation (DESIGN.md §3, §5) as a stateful machine over the whole protocol on pyrevm.

The rules and the named invariants live in `crossmargin/fuzz/machine.py` (shared with `crossmargin fuzz`, which
runs the same machine for 100k+ steps); this file draws their arguments from strategies that build valid inputs
(trader indices, listed markets, grid price moves including ±50 % jumps, stale and deviating feeds, vol steps
inside the VolOracle's bound, fractions, slippage) and checks the two global invariants after every step:

    collateral_conservation, zero_sum_positions                        (@invariant, every step)
    healthy_accounts_cannot_be_liquidated, bid_never_lowers_health,
    bidder_stays_above_im, stale_input_never_blocks_liquidation,
    bad_debt_only_when_equity_negative,
    socialised_loss_equals_uncovered_shortfall,
    a_bid_on_an_account_above_mm_reverts,
    a_new_auction_starts_at_the_opening_discount,
    no_withdrawal_of_cash_while_a_known_loss_is_pending,
    mark_moves_in_proportion_to_notional,
    interest_owed_equals_interest_earned_plus_fund_share                (inside the rules, whenever they apply)
    no_trade_makes_insolvent_or_lowers_under_im_ratio                   (the adversary's sibling dumps, below)

Books: perps and a dated future on ETH, BTC, SOL, the listed ETH and BTC calls and puts (Black-76 on chain through
the OptionPricer), WETH/WBTC collateral. CI profile: `CI_EXAMPLES` runs of `CI_STEPS` steps (well under 90 s); `--hypothesis-profile`
is not needed: `CROSSMARGIN_MACHINE_EXAMPLES` / `_STEPS` scale it up.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from crossmargin.fuzz.machine import INVARIANTS, JUMP_DOWN, JUMP_UP, LiquidationMachine, Stats
from crossmargin.fuzz.runner import DEPOSITS

CI_EXAMPLES = int(os.environ.get("CROSSMARGIN_MACHINE_EXAMPLES", 100))
CI_STEPS = int(os.environ.get("CROSSMARGIN_MACHINE_STEPS", 100))

MACHINE = LiquidationMachine(options=True)   # deployed once; every example starts from its base snapshot
N = len(MACHINE.traders)
TOTALS = Stats()                         # across examples, for the summary test below

traders = st.integers(0, N - 1)
symbols = st.sampled_from(MACHINE.symbols)
pairs = st.tuples(traders, st.integers(1, N - 1)).map(lambda p: (p[0], (p[0] + p[1]) % N))  # two distinct traders
grid_moves = st.one_of(st.integers(-6, 6), st.sampled_from((JUMP_UP, JUMP_DOWN)))


@st.composite
def deposits(draw):
    token = draw(st.sampled_from(sorted(DEPOSITS)))
    lo, hi = DEPOSITS[token]
    cents = draw(st.integers(round(lo * 100), round(hi * 100)))
    return token, MACHINE.world.units(token, cents / 100)


class LiquidationStateMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.m = MACHINE

    @initialize()
    def fresh(self):
        self.m.reset()
        self.m.stats = Stats()

    def teardown(self):
        TOTALS.merge(self.m.stats)

    # ---- accounts
    @rule(i=traders, d=deposits())
    def deposit(self, i, d):
        self.m.deposit(i, *d)

    @rule(i=traders, token=st.sampled_from(sorted(DEPOSITS)), fraction=st.sampled_from((0.05, 0.25, 0.5, 1.0)))
    def withdraw(self, i, token, fraction):
        self.m.withdraw(i, token, fraction)

    @rule(amount=st.sampled_from((1_000, 20_000, 100_000)))
    def fund_insurance(self, amount):
        self.m.fund_insurance(amount)

    @rule(fraction=st.sampled_from((0.5, 0.9, 1.0)))
    def socialise(self, fraction):
        self.m.socialise(fraction)

    # ---- trading
    @rule(pair=pairs, market=st.sampled_from(MACHINE.markets_traded),
          leverage=st.sampled_from((0.1, 0.3, 1.0, 2.5, 4.0, 6.0, 7.5)), buy=st.booleans(),
          offset=st.sampled_from((-3, 0, 3)))
    def trade(self, pair, market, leverage, buy, offset):
        self.m.trade(pair[0], pair[1], market, leverage, buy, offset)

    @rule(pair=pairs, market=st.sampled_from(MACHINE.markets_traded), buy=st.booleans(),
          leverage=st.sampled_from((4.0, 6.0, 7.5)), drop=st.sampled_from((8, 15, 30, 70)))
    def crash(self, pair, market, buy, leverage, drop):
        """A leveraged trade, then the price moves against the taker by `drop` grid steps (1 % each): the
        sequence that makes accounts liquidatable (or insolvent), built directly instead of hoped for."""
        self.m.trade(pair[0], pair[1], market, leverage, buy, 0)
        self.m.move_price(self.m.spec[market].underlying, -drop if buy else drop)

    # ---- market
    @rule(symbol=symbols, steps=grid_moves)
    def move_price(self, symbol, steps):
        self.m.move_price(symbol, steps)

    @rule(symbol=symbols, data=st.data(), fraction=st.sampled_from((0.1, 1.0)))
    def stale_feed(self, symbol, data, fraction):
        """A primary feed stops updating; keepers try to flag and bid meanwhile; then it comes back."""
        self.m.make_stale(symbol)
        self._flag_and_bid(data, fraction)
        self.m.refresh(symbol)

    @rule(symbol=symbols, steps=st.sampled_from((-8, -4, -2, 2, 4, 8)), data=st.data(),
          fraction=st.sampled_from((0.1, 1.0)))
    def deviating_feed(self, symbol, steps, data, fraction):
        """The secondary feed disagrees (DEGRADED beyond 2 %): liquidation needs both prices; then they agree."""
        self.m.deviate(symbol, steps)
        self._flag_and_bid(data, fraction)
        self.m.deviate(symbol, 0)

    def _flag_and_bid(self, data, fraction):
        target = data.draw(traders, label="target")
        keeper = data.draw(st.sampled_from([i for i in range(N) if i != target]), label="keeper")
        self.m.start_auction(target, keeper)
        if self.m.in_auction:
            victim = data.draw(st.sampled_from(sorted(self.m.in_auction)), label="bid target")
            bidder = keeper if keeper != victim else (victim + 1) % N
            self.m.bid(victim, bidder, fraction, 10)

    # ---- oracle doubt (issue 11 §1): liquidation must go on, on the penalised numbers
    @rule(symbol=symbols, data=st.data(), fraction=st.sampled_from((0.1, 1.0)))
    def stale_secondary(self, symbol, data, fraction):
        """A secondary feed stops updating (DEGRADED): keepers flag and bid on the fresh primary; then it is back."""
        self.m.stale_secondary(symbol)
        self._flag_and_bid(data, fraction)
        self.m.refresh_secondary(symbol)

    @rule(data=st.data(), symbol=st.sampled_from(("ETH", "BTC")), fraction=st.sampled_from((0.1, 1.0)))
    def dust_collateral(self, data, symbol, fraction):
        """An account deposits 1 unit of collateral whose feed is stale: no shield; keepers flag and bid."""
        flagged = self.m.liquidatable()
        self.m.dust_collateral(data.draw(st.sampled_from(flagged) if flagged else traders, label="account"), symbol)
        self._flag_and_bid(data, fraction)
        self.m.refresh(symbol)
        self.m.refresh_secondary(symbol)

    @rule(symbol=symbols, data=st.data(), fraction=st.sampled_from((0.1, 1.0)))
    def missed_vol_update(self, symbol, data, fraction):
        """A daily vol update does not come (the vol reads marked up, STALE): keepers flag and bid."""
        self.m.miss_vol_update(symbol)
        self._flag_and_bid(data, fraction)

    @rule(symbol=symbols, step=st.floats(-0.2, 0.2))
    def move_vol(self, symbol, step):
        self.m.move_vol(symbol, step)

    @rule(seconds=st.sampled_from((12, 60, 300, 900, 1800, 3600)))
    def advance_time(self, seconds):
        self.m.advance_time(seconds)

    # ---- liquidation
    @rule(data=st.data(), starter=traders, scan=st.booleans())
    def start_auction(self, data, starter, scan):
        flagged = [i for i in self.m.liquidatable() if i not in self.m.in_auction] if scan else []
        target = data.draw(st.sampled_from(flagged) if flagged else traders, label="target")
        self.m.start_auction(target, starter)

    @rule(data=st.data(), fraction=st.sampled_from((0.01, 0.1, 0.25, 0.5, 1.0)),
          slack_bps=st.sampled_from((-50, 0, 10, 100)))
    def bid(self, data, fraction, slack_bps):
        open_ = sorted(self.m.in_auction)
        target = data.draw(st.sampled_from(open_) if open_ else traders, label="target")
        bidder = data.draw(st.sampled_from([i for i in range(N) if i != target]), label="bidder")
        self.m.bid(target, bidder, fraction, slack_bps)

    @rule(data=st.data(), fraction=st.sampled_from((0.1, 0.5, 1.0)), ramps=st.sampled_from((0, 0.5, 1, 15)))
    def keeper_round(self, data, fraction, ramps):
        """What a keeper does: scan, flag a liquidatable account, wait for the discount (`ramps` ramps T: none,
        half of one, one, many), bid."""
        wait = int(ramps * self.m.params.liquidation.auction_seconds)
        flagged = [i for i in self.m.liquidatable() if i not in self.m.in_auction]
        if not flagged:
            return
        target = data.draw(st.sampled_from(flagged), label="target")
        keeper = data.draw(st.sampled_from([i for i in range(N) if i != target]), label="keeper")
        self.m.start_auction(target, keeper)
        if wait:
            self.m.advance_time(wait)
        self.m.bid(target, keeper, fraction, 10)

    # ---- adversary: dust wash fills (issue 10 §3)
    @rule(pair=pairs, market=st.sampled_from(MACHINE.perps), up=st.booleans())
    def dust_wash(self, pair, market, up):
        self.m.dust_wash(*pair, market, up)

    @rule(data=st.data())
    def close_auction(self, data):
        open_ = sorted(self.m.in_auction)
        self.m.close_auction(data.draw(st.sampled_from(open_) if open_ else traders, label="target"))

    # ---- lending (issue 10 §2): cash borrowed against collateral, interest accrued over time
    @rule(pair=pairs, size=st.sampled_from((1.0, 5.0, 20.0)))
    def borrow_cash(self, pair, size):
        self.m.borrow_cash(pair[0], pair[1], size)

    @rule(seconds=st.sampled_from((3600, 86_400, 7 * 86_400)))
    def accrue_interest(self, seconds):
        self.m.accrue_interest(seconds)

    # ---- adversarial: stale auctions, loss front-running (issue 10 §4, §5)
    @rule(data=st.data(), wait=st.sampled_from((300, 1800, 7200)), lift=st.sampled_from((4, 10, 20)))
    def bid_on_old_auction(self, data, wait, lift):
        """An auction stays open while its account recovers; time passes, prices fall back half way; the keeper
        bids on the old auction (it must revert unless the account is below MM again and the auction live)."""
        open_ = sorted(self.m.in_auction)
        if not open_:
            return
        target = data.draw(st.sampled_from(open_), label="target")
        bidder = data.draw(st.sampled_from([i for i in range(N) if i != target]), label="bidder")
        self.m.bid_on_old_auction(target, bidder, wait, lift)

    @rule(i=traders, fraction=st.sampled_from((0.25, 1.0)))
    def withdraw_ahead_of_loss(self, i, fraction):
        """A cash holder tries to leave while an insolvent auction's loss beyond the fund is pending."""
        self.m.withdraw_ahead_of_loss(i, fraction)
    # ---- adversarial actions (issue 10)
    @rule(pair=pairs, fraction=st.sampled_from((0.25, 0.5, 1.0)), off=st.sampled_from((0, 3, 6)))
    def sibling_dump(self, pair, fraction, off):
        """An account sells part or all of its largest linear position to another account below the index."""
        self.m.sibling_dump(pair[0], pair[1], fraction, off)

    @rule(pair=pairs, sibling=st.integers(1, N - 1), market=st.sampled_from(MACHINE.linear_markets),
          buy=st.booleans(), drop=st.sampled_from((3, 6, 10, 20)), fraction=st.sampled_from((0.25, 0.5, 1.0)),
          off=st.sampled_from((0, 3, 6)))
    def crash_then_dump(self, pair, sibling, market, buy, drop, fraction, off):
        """The attack of issue 10 §1 built directly: a 6x position, the price moves against it (below IM, below MM
        or under water), then its owner dumps it to a sibling account at a bad price."""
        taker = pair[1]
        self.m.trade(pair[0], taker, market, 6.0, buy, 0)
        self.m.move_price(self.m.spec[market].underlying, -drop if buy else drop)
        self.m.sibling_dump(taker, (taker + sibling) % N, fraction, off)

    # ---- adversary: an auction nobody bids, left to its escalation (issue 18)
    @rule(data=st.data(), quarter=st.sampled_from((0, 1, 2, 4)))
    def escalate_unbiddable(self, data, quarter):
        """An open auction is left unbid until it escalates (plus 0-4 quarters of the reward ramp), then a
        keeper bids for all of it: the fund pays only as the escalation rule says."""
        open_ = sorted(self.m.in_auction)
        if not open_:
            return
        target = data.draw(st.sampled_from(open_), label="target")
        bidder = data.draw(st.sampled_from([i for i in range(N) if i != target]), label="bidder")
        self.m.escalate_unbiddable(target, bidder, quarter)

    # ---- global invariants, after every step
    @invariant()
    def collateral_conservation(self):
        self.m.check_collateral_conservation()

    @invariant()
    def zero_sum_positions(self):
        self.m.check_zero_sum_positions()


LiquidationStateMachine.TestCase.settings = settings(
    max_examples=CI_EXAMPLES,
    stateful_step_count=CI_STEPS,
    deadline=None,
    derandomize=True,  # the same examples every CI run (exploration is `crossmargin fuzz`'s job)
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
TestLiquidationMachine = LiquidationStateMachine.TestCase


def test_every_invariant_was_exercised():
    """Runs after the machine (file order): every named invariant was checked at least once across the
    examples, so a green run means each property was actually tested, not skipped."""
    if not TOTALS.steps and not TOTALS.checks:
        import pytest

        pytest.skip("machine did not run (selected alone)")
    print(f"\nchecks {dict(TOTALS.checks)}\noutcomes {dict(TOTALS.outcomes)}")
    never = [name for name in INVARIANTS if not TOTALS.checks[name]]
    assert not never, f"never checked: {never}; checks {dict(TOTALS.checks)}; outcomes {dict(TOTALS.outcomes)}"
