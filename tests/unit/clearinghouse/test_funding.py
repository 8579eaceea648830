"""Perp funding through the Clearinghouse: a traded position pays size * (index now - snapshot) first;
settle_account settles untouched positions; funding is zero-sum between longs and shorts (up to 1 wei per payment)."""

import boa

from .conftest import STRANGER_KEY, WAD

START = 1_000_000 * WAD
PREMIUM = 2990 * 5 * 10**14  # the capped rate, 0.05 % of 2,990 = 1.495 USD per unit per period
THIN = 1000 * WAD  # the smallest mark depth: one 30,000 fill sets the mark premium to ~97 % of its own


def _thin_mark(markets, inst, risk_manager):
    with boa.env.prank(risk_manager):
        markets.set_funding_params(inst.perp, 3600, 5 * 10**14, 1298, THIN)


def _fill_above_the_index(trade, inst, maker_acct, taker_acct, eth_feed, size=10 * WAD):
    """With the index at 2,990, maker long / taker short at 3,000: the mark premium (+0.32 %) stays above the
    0.05 % cap on average over the next hour, which passes."""
    eth_feed.set_answer(2990 * 10**8)
    trade(maker_acct, taker_acct, inst.perp, size, 3000 * WAD)
    boa.env.time_travel(seconds=3600)
    eth_feed.set_answer(2990 * 10**8)


def _setup(trade, inst, maker_acct, taker_acct, eth_feed, markets, risk_manager):
    """Maker long 10 / taker short 10 at 3,000 above a 2,990 index, thin mark depth, one hour."""
    _thin_mark(markets, inst, risk_manager)
    _fill_above_the_index(trade, inst, maker_acct, taker_acct, eth_feed)


def test_fill_settles_funding_of_both_sides(ch, vault, markets, inst, trade, maker_acct, taker_acct, eth_feed,
                                            risk_manager):
    _setup(trade, inst, maker_acct, taker_acct, eth_feed, markets, risk_manager)
    assert markets.funding_index(inst.perp) == PREMIUM
    trade(maker_acct, taker_acct, inst.perp, WAD, 2990 * WAD)
    assert vault.cash_of(maker_acct) == START - 10 * PREMIUM  # longs pay: mark above index
    assert vault.cash_of(taker_acct) == START + 10 * PREMIUM
    assert ch.position(maker_acct, inst.perp).funding_snapshot == PREMIUM
    assert ch.position(taker_acct, inst.perp).funding_snapshot == PREMIUM


def test_settle_account_pays_untouched_positions(ch, vault, inst, trade, new_account, maker_acct, taker_acct,
                                                 eth_feed, last_event, markets, risk_manager):
    _setup(trade, inst, maker_acct, taker_acct, eth_feed, markets, risk_manager)
    third = new_account(STRANGER_KEY)
    trade(maker_acct, third, inst.perp, WAD, 2990 * WAD)  # touches the maker, not the taker
    assert vault.cash_of(taker_acct) == START
    assert ch.settle_account(taker_acct) == 10 * PREMIUM
    log = last_event(ch, "FundingSettled")
    assert (log.account, log.instrument, log.paid, log.funding_index) == (taker_acct, inst.perp, -10 * PREMIUM, PREMIUM)
    assert vault.cash_of(taker_acct) == START + 10 * PREMIUM
    assert ch.settle_account(taker_acct) == 0  # nothing more in the same block
    # zero-sum: the long paid what the short received
    assert (vault.cash_of(maker_acct) - START) + (vault.cash_of(taker_acct) - START) == 0


def test_funding_rounds_against_the_account(ch, vault, inst, trade, maker_acct, taker_acct, eth_feed, risk_manager,
                                            markets):
    # 1/3 unit positions make the payment inexact; on the thin depth the 1,000 fill still keeps the rate capped
    _thin_mark(markets, inst, risk_manager)
    _fill_above_the_index(trade, inst, maker_acct, taker_acct, eth_feed, WAD // 3)
    ch.settle_account(maker_acct)
    ch.settle_account(taker_acct)
    exact = (WAD // 3) * PREMIUM  # / WAD, not an integer
    assert exact % WAD != 0
    assert vault.cash_of(maker_acct) == START - (exact // WAD + 1)  # long pays rounded up
    assert vault.cash_of(taker_acct) == START + exact // WAD  # short receives rounded down


def test_settle_account_on_empty_account(ch, maker_acct):
    assert ch.settle_account(maker_acct) == 0
