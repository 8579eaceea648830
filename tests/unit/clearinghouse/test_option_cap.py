"""MAX_OPTION_POSITIONS (issue 11 §3, TECH_SPEC "Worst-case gas"): an account holds at most 12 open option positions,
so every liquidation path of the largest book fits the per-transaction gas cap. Fills that open a 13th revert "too
many options"; closing, settling or giving one away frees a slot; `transfer_portfolio` moves option lots as options
(the receiver's count, and its cap, follow)."""

import boa
import pytest

from .conftest import BIG_CAP, DAY, ETH_PRICE, EXPIRY_DAYS, WAD

MAX_OPTIONS = 12
PREMIUM = 100 * WAD
LIQUIDATOR = boa.env.generate_address("option-cap liquidator")


@pytest.fixture
def options(markets, admin):
    """13 distinct ETH calls (strikes 2,500 .. 3,700), one more than the cap."""
    expiry = boa.env.timestamp + EXPIRY_DAYS * DAY
    with boa.env.prank(admin):
        return [markets.list_option(1, True, (2500 + 100 * k) * WAD, expiry, BIG_CAP, BIG_CAP) for k in range(13)]


def test_the_thirteenth_option_reverts_and_closing_one_frees_a_slot(ch, inst, trade, maker_acct, taker_acct,
                                                                   options, errors):
    for i in options[:MAX_OPTIONS]:
        trade(maker_acct, taker_acct, i, WAD, PREMIUM)
    trade(maker_acct, taker_acct, inst.perp, WAD, ETH_PRICE)        # linear positions do not count
    assert ch.option_count(maker_acct) == MAX_OPTIONS == ch.option_count(taker_acct)
    with boa.reverts(errors.TOO_MANY_OPTIONS):
        trade(maker_acct, taker_acct, options[12], WAD, PREMIUM)
    trade(maker_acct, taker_acct, options[0], 2 * WAD, PREMIUM)     # adding to a held option is no new position
    trade(maker_acct, taker_acct, options[0], -3 * WAD, PREMIUM)    # ... closing it frees a slot
    assert ch.option_count(maker_acct) == MAX_OPTIONS - 1
    trade(maker_acct, taker_acct, options[12], WAD, PREMIUM)
    assert ch.option_count(maker_acct) == MAX_OPTIONS


def test_transfer_moves_option_lots_as_options(ch, admin, trade, maker_acct, taker_acct, new_account, keys,
                                               options, errors):
    with boa.env.prank(admin):
        ch.grantRole(ch.LIQUIDATOR_ROLE(), LIQUIDATOR)
    for i in options[:6]:
        trade(maker_acct, taker_acct, i, WAD, PREMIUM)
    bidder = new_account(keys.stranger)
    with boa.env.prank(LIQUIDATOR):
        ch.transfer_portfolio(maker_acct, bidder, WAD // 2)          # a partial lot of each: both sides hold 6
    assert ch.option_count(maker_acct) == 6 == ch.option_count(bidder)
    for i in options[6:12]:
        trade(bidder, taker_acct, i, WAD, PREMIUM)                   # the bidder fills up to the cap
    giver, other = new_account(keys.operator), new_account(keys.maker)   # the taker is at the cap itself
    trade(giver, other, options[12], WAD, PREMIUM)
    with boa.env.prank(LIQUIDATOR), boa.reverts(errors.TOO_MANY_OPTIONS):
        ch.transfer_portfolio(giver, bidder, WAD)                    # a 13th option for the bidder
    with boa.env.prank(LIQUIDATOR):
        ch.transfer_portfolio(maker_acct, bidder, WAD)               # the rest of lots it already holds: no new slot
    assert ch.option_count(maker_acct) == 0 and ch.option_count(bidder) == MAX_OPTIONS
