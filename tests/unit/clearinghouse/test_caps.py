"""Caps: open interest (sum of long sizes) and per-account |size|, enforced only when they grow."""

import boa

from .conftest import ETH_PRICE, STRANGER_KEY, WAD


def test_open_interest_cap(ch, markets, admin, inst, trade, maker_acct, taker_acct, errors):
    with boa.env.prank(admin):
        markets.set_caps(inst.perp, 15 * WAD, 100 * WAD)
    trade(maker_acct, taker_acct, inst.perp, 10 * WAD, ETH_PRICE)
    with boa.reverts(errors.OPEN_INTEREST_CAP):
        trade(maker_acct, taker_acct, inst.perp, 5 * WAD + 1, ETH_PRICE)
    trade(maker_acct, taker_acct, inst.perp, 5 * WAD, ETH_PRICE)
    assert ch.open_interest(inst.perp) == 15 * WAD


def test_open_interest_unchanged_when_longs_change_hands(ch, markets, admin, inst, trade, new_account, maker_acct,
                                                         taker_acct):
    with boa.env.prank(admin):
        markets.set_caps(inst.perp, 10 * WAD, 100 * WAD)
    third = new_account(STRANGER_KEY)
    trade(maker_acct, taker_acct, inst.perp, 10 * WAD, ETH_PRICE)  # OI at the cap
    trade(maker_acct, third, inst.perp, -4 * WAD, ETH_PRICE)  # maker sells 4 longs to `third`
    assert ch.open_interest(inst.perp) == 10 * WAD
    assert ch.position(third, inst.perp).size == 4 * WAD


def test_lowered_caps_still_allow_reductions(ch, markets, admin, inst, trade, maker_acct, taker_acct):
    trade(maker_acct, taker_acct, inst.perp, 10 * WAD, ETH_PRICE)
    with boa.env.prank(admin):
        markets.set_caps(inst.perp, WAD, WAD)
    trade(maker_acct, taker_acct, inst.perp, -3 * WAD, ETH_PRICE)
    assert ch.open_interest(inst.perp) == 7 * WAD


def test_position_cap(ch, markets, admin, inst, trade, maker_acct, taker_acct, errors):
    with boa.env.prank(admin):
        markets.set_caps(inst.perp, 100 * WAD, 5 * WAD)
    with boa.reverts(errors.POSITION_CAP):
        trade(maker_acct, taker_acct, inst.perp, 5 * WAD + 1, ETH_PRICE)
    trade(maker_acct, taker_acct, inst.perp, 5 * WAD, ETH_PRICE)
    with boa.reverts(errors.POSITION_CAP):
        trade(maker_acct, taker_acct, inst.perp, -11 * WAD, ETH_PRICE)  # a flip to -6 grows |size|
    trade(maker_acct, taker_acct, inst.perp, -9 * WAD, ETH_PRICE)  # a flip to -4 shrinks |size|
    assert ch.position(maker_acct, inst.perp).size == -4 * WAD


def test_position_cap_lowered_below_existing(ch, markets, admin, inst, trade, maker_acct, taker_acct, errors):
    trade(maker_acct, taker_acct, inst.perp, 10 * WAD, ETH_PRICE)
    with boa.env.prank(admin):
        markets.set_caps(inst.perp, 100 * WAD, 2 * WAD)
    trade(maker_acct, taker_acct, inst.perp, -1 * WAD, ETH_PRICE)  # shrinking is fine
    with boa.reverts(errors.POSITION_CAP):
        trade(maker_acct, taker_acct, inst.perp, 1, ETH_PRICE)


def test_max_uint_caps_mean_unlimited(ch, markets, admin, inst, trade, maker_acct, taker_acct):
    with boa.env.prank(admin):
        markets.set_caps(inst.perp, 2**256 - 1, 2**256 - 1)
    trade(maker_acct, taker_acct, inst.perp, 100 * WAD, ETH_PRICE)
    assert ch.open_interest(inst.perp) == 100 * WAD
