"""Post-trade margin rule and the oracle/pause rules: new risk needs status OK and equity_im >= im; a pure
reduction left below IM passes only from E_mm > 0 and if E_mm / MM does not fall (a full close: E'_mm >= 0);
STALE / DEGRADED / pause let only such reductions through.

The reduction tests use the MockRiskEngine's live terms: equity = base + cash (a fill moves only realised PnL
into cash, so selling at the index keeps equity) and MM = 100 USD per unit held."""

from fractions import Fraction

import boa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import ETH_PRICE, TAKER_KEY, WAD

OK, DEGRADED, STALE = 0, 1, 2
HUGE = 10**40


def test_taker_below_im_reverts(risk, inst, trade, maker_acct, taker_acct, errors):
    risk.set_margin(taker_acct, 0, 1, 0, OK)
    with boa.reverts(errors.BELOW_INITIAL_MARGIN):
        trade(maker_acct, taker_acct, inst.perp, WAD, ETH_PRICE)


def test_maker_below_im_reverts(risk, inst, trade, maker_acct, taker_acct, errors):
    risk.set_margin(maker_acct, -1, 0, 0, OK)
    with boa.reverts(errors.BELOW_INITIAL_MARGIN):
        trade(maker_acct, taker_acct, inst.perp, WAD, ETH_PRICE)


def test_margin_sees_the_post_trade_state(ch, vault, risk, inst, trade, new_account, maker_acct, errors):
    small = new_account(TAKER_KEY, cash_usd=1000)
    risk.set_live(vault.address, ch.address, 400 * WAD, 0)  # IM 400 USD per unit of gross size
    trade(maker_acct, small, inst.perp, -2 * WAD, ETH_PRICE)  # taker long 2: IM 800 <= 1,000
    with boa.reverts(errors.BELOW_INITIAL_MARGIN):
        trade(maker_acct, small, inst.perp, -WAD, ETH_PRICE)  # 3 units: IM 1,200 > 1,000


def test_stale_oracle_blocks_new_risk(risk, inst, trade, maker_acct, taker_acct, errors):
    risk.set_status(taker_acct, STALE)
    with boa.reverts(errors.STALE_ORACLE):
        trade(maker_acct, taker_acct, inst.perp, WAD, ETH_PRICE)
    risk.set_status(taker_acct, DEGRADED)
    with boa.reverts(errors.DEGRADED_ORACLE):
        trade(maker_acct, taker_acct, inst.perp, WAD, ETH_PRICE)


def test_stale_oracle_lets_reductions_through(ch, risk, inst, trade, maker_acct, taker_acct, errors):
    trade(maker_acct, taker_acct, inst.perp, 5 * WAD, ETH_PRICE)
    risk.set_margin(maker_acct, 1000 * WAD, 0, 0, STALE)  # some equity, no requirement: the ratio cannot fall
    risk.set_margin(taker_acct, 1000 * WAD, 0, 0, DEGRADED)
    trade(maker_acct, taker_acct, inst.perp, -2 * WAD, ETH_PRICE)  # both sides shrink
    assert ch.position(maker_acct, inst.perp).size == 3 * WAD
    with boa.reverts(errors.STALE_ORACLE):  # a flip is new risk
        trade(maker_acct, taker_acct, inst.perp, -4 * WAD, ETH_PRICE)
    with boa.reverts(errors.STALE_ORACLE):  # so is growing
        trade(maker_acct, taker_acct, inst.perp, WAD, ETH_PRICE)


def _short_ten_at_half_mm(ch, vault, risk, inst, trade, maker_acct, taker_acct, equity_usd=500):
    """Taker short 10 at 3,000, MM 100 per unit (1,000), equity `equity_usd` (default 500: E_mm / MM = 0.5, MM
    shortfall 500, liquidatable), IM unreachable: every later fill of the taker goes through the reduction rule."""
    trade(maker_acct, taker_acct, inst.perp, 10 * WAD, ETH_PRICE)
    risk.set_live(vault.address, ch.address, 0, 100 * WAD)
    risk.set_margin(taker_acct, equity_usd * WAD - vault.cash_of(taker_acct), HUGE, 0, OK)
    assert risk.margin(taker_acct)[1:4:2] == (equity_usd * WAD, 1000 * WAD)


def test_reduction_below_im_at_the_index_passes(ch, vault, risk, inst, trade, maker_acct, taker_acct):
    _short_ten_at_half_mm(ch, vault, risk, inst, trade, maker_acct, taker_acct)
    trade(maker_acct, taker_acct, inst.perp, -WAD, ETH_PRICE)  # buys 1 back at the index: E 500, MM 900
    assert ch.position(taker_acct, inst.perp).size == -9 * WAD


def test_reduction_that_worsens_shortfall_reverts(ch, vault, risk, inst, trade, maker_acct, taker_acct, errors):
    _short_ten_at_half_mm(ch, vault, risk, inst, trade, maker_acct, taker_acct)
    with boa.reverts(errors.MARGIN_RATIO_FELL):  # buys back 1 at +10 %: realises -300, MM only -100
        trade(maker_acct, taker_acct, inst.perp, -WAD, ETH_PRICE * 11 // 10)


def test_reduction_may_not_hand_over_more_than_its_share_of_equity(ch, vault, risk, inst, trade, maker_acct,
                                                                    taker_acct, errors):
    """Half the book bought back 50 above the index gives away 250 = half the equity: E 250 / MM 500 keeps the
    ratio (passes, exactly at the edge); one wei of notional more lowers it. The shortfall rule let 100 above the
    index through (shortfall 500 -> 500): the counterparty took the whole 500 of equity while the account kept
    half its risk."""
    _short_ten_at_half_mm(ch, vault, risk, inst, trade, maker_acct, taker_acct)
    with boa.reverts(errors.MARGIN_RATIO_FELL):
        trade(maker_acct, taker_acct, inst.perp, -5 * WAD, ETH_PRICE + 100 * WAD)
    with boa.reverts(errors.MARGIN_RATIO_FELL):
        trade(maker_acct, taker_acct, inst.perp, -5 * WAD, ETH_PRICE + 50 * WAD + 1)
    trade(maker_acct, taker_acct, inst.perp, -5 * WAD, ETH_PRICE + 50 * WAD)
    assert risk.margin(taker_acct)[1:4:2] == (250 * WAD, 500 * WAD)


def test_full_close_below_im_may_not_leave_negative_equity(ch, vault, risk, inst, trade, maker_acct, taker_acct,
                                                          errors):
    """A full close (MM 0 after) passes while E'_mm >= 0: all 500 of equity may go, not one wei more (the rest
    would be a loss for the insurance fund)."""
    _short_ten_at_half_mm(ch, vault, risk, inst, trade, maker_acct, taker_acct)
    with boa.reverts(errors.MARGIN_RATIO_FELL):
        trade(maker_acct, taker_acct, inst.perp, -10 * WAD, ETH_PRICE + 50 * WAD + 1)
    trade(maker_acct, taker_acct, inst.perp, -10 * WAD, ETH_PRICE + 50 * WAD)
    assert ch.position(taker_acct, inst.perp).size == 0 and risk.margin(taker_acct)[1:4:2] == (0, 0)


def test_account_under_water_cannot_reduce_even_at_the_index(ch, vault, risk, inst, trade, maker_acct, taker_acct,
                                                            errors):
    """E_mm <= 0: its loss belongs to the insurance fund, so its book goes only through the auction."""
    for equity in (0, -1):
        with boa.env.anchor():
            _short_ten_at_half_mm(ch, vault, risk, inst, trade, maker_acct, taker_acct, equity_usd=0)
            risk.set_margin(taker_acct, equity - vault.cash_of(taker_acct), HUGE, 0, OK)
            with boa.reverts(errors.UNDER_WATER):
                trade(maker_acct, taker_acct, inst.perp, -WAD, ETH_PRICE)
            with boa.reverts(errors.UNDER_WATER):
                trade(maker_acct, taker_acct, inst.perp, -10 * WAD, ETH_PRICE - 100 * WAD)  # even a gain to it


def test_reduction_above_im_passes_even_if_shortfall_grows(ch, vault, risk, inst, trade, maker_acct, taker_acct):
    trade(maker_acct, taker_acct, inst.perp, 10 * WAD, ETH_PRICE)
    risk.set_live(vault.address, ch.address, 0, 100 * WAD)
    trade(maker_acct, taker_acct, inst.perp, -WAD, ETH_PRICE * 11 // 10)  # both well above IM
    assert ch.position(taker_acct, inst.perp).size == -9 * WAD


@given(e=st.integers(-10**6, 10**6), m=st.integers(0, 10**6), e2=st.integers(-10**6, 10**6),
       m2=st.integers(0, 10**6), scale=st.sampled_from((1, WAD, 10**30)))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_keeps_ratio_matches_exact_rationals(ch, e, m, e2, m2, scale):
    """`_keeps_ratio(pre, post)` (pre E_mm > 0) against exact rationals, every sign case and zero MM: MM' = 0
    needs E' >= 0; MM = 0 < MM' fails (an infinite ratio fell); else E'/MM' >= E/MM (so MM' > MM with the same
    equity fails: a reduction that removes a hedge). Pure: the fixture's state is never touched."""
    e = max(e, 1)
    pre, post = (e * scale, e * scale, 0, m * scale, OK), (e2 * scale, e2 * scale, 0, m2 * scale, OK)
    if m2 == 0:
        want = e2 >= 0
    elif m == 0:
        want = False
    else:
        want = Fraction(e2, m2) >= Fraction(e, m)
    assert ch.internal._keeps_ratio(pre, post) == want


def test_pause_blocks_new_risk_only(ch, inst, trade, maker_acct, taker_acct, guardian, errors):
    trade(maker_acct, taker_acct, inst.perp, 5 * WAD, ETH_PRICE)
    with boa.env.prank(guardian):
        ch.pause()
    assert ch.paused()
    with boa.reverts(errors.PAUSED):
        trade(maker_acct, taker_acct, inst.perp, WAD, ETH_PRICE)
    with boa.reverts(errors.PAUSED):  # flip
        trade(maker_acct, taker_acct, inst.perp, -6 * WAD, ETH_PRICE)
    trade(maker_acct, taker_acct, inst.perp, -2 * WAD, ETH_PRICE)  # pure reduction on both sides
    with boa.env.prank(guardian):
        ch.unpause()
    trade(maker_acct, taker_acct, inst.perp, WAD, ETH_PRICE)
    assert ch.position(maker_acct, inst.perp).size == 4 * WAD


def test_pause_roles(ch, guardian, alice, errors):
    with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
        ch.pause()
    with boa.env.prank(guardian):
        with boa.reverts(errors.NOT_PAUSED):
            ch.unpause()
        ch.pause()
        with boa.reverts(errors.PAUSED):
            ch.pause()
    with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
        ch.unpause()
