"""Clearinghouse.transfer_portfolio (the position half of a liquidation bid), on titanoboa with the
Clearinghouse unit fixtures (Vault + Markets + MockRiskEngine): pro-rata sizes and costs rounded against the
giving account, funding settled first on both sides, open interest unchanged unless a lot nets, full moves."""

from __future__ import annotations

import boa
import pytest

from tests.unit.clearinghouse.conftest import (  # noqa: F401 - fixtures
    BIG_CAP, ETH_PRICE, MAKER_KEY, OPERATOR_KEY, STRANGER_KEY, TAKER_KEY, WAD, ch, clearinghouse_deployer, inst,
    keys, maker_acct, mock_risk_deployer, new_account, refresh_feeds, risk, sign, taker_acct, trade,
)

LIQUIDATOR = boa.env.generate_address("liquidator")


@pytest.fixture
def liq(ch, admin):
    with boa.env.prank(admin):
        ch.grantRole(ch.LIQUIDATOR_ROLE(), LIQUIDATOR)
    return LIQUIDATOR


@pytest.fixture
def bidder(new_account):
    return new_account(STRANGER_KEY)


def _move(ch, frm, to, fraction):
    with boa.env.prank(LIQUIDATOR):
        ch.transfer_portfolio(frm, to, fraction)


def _pos(ch, acct, instrument):
    return tuple(ch.position(acct, instrument))[1:]


def test_only_the_liquidator(ch, liq, maker_acct, bidder, errors):
    with boa.reverts(errors.MISSING_ROLE):
        ch.transfer_portfolio(maker_acct, bidder, WAD)


def test_guards(ch, liq, maker_acct, bidder, errors):
    with boa.env.prank(LIQUIDATOR):
        with boa.reverts(errors.SAME_ACCOUNT):
            ch.transfer_portfolio(maker_acct, maker_acct, WAD)
        with boa.reverts(errors.BAD_FRACTION):
            ch.transfer_portfolio(maker_acct, bidder, 0)
        with boa.reverts(errors.BAD_FRACTION):
            ch.transfer_portfolio(maker_acct, bidder, WAD + 1)


def test_pro_rata_rounding_against_the_giver(ch, vault, inst, trade, liq, maker_acct, taker_acct, bidder):
    trade(maker_acct, taker_acct, inst.perp, 7 * WAD, ETH_PRICE + 1)       # long 7, cost 21,000e18 + 7
    trade(maker_acct, taker_acct, inst.future, -3 * WAD, ETH_PRICE)        # short 3, cost -9,000e18
    cash = vault.cash_of(maker_acct)
    _move(ch, maker_acct, bidder, WAD // 3)
    moved_long = 7 * WAD * (WAD // 3) // WAD                              # truncated towards zero
    cost_long = (21_000 * WAD + 7) * moved_long // (7 * WAD)              # rounded down: the giver keeps more cost
    assert _pos(ch, maker_acct, inst.perp)[:2] == (7 * WAD - moved_long, 21_000 * WAD + 7 - cost_long)
    assert _pos(ch, bidder, inst.perp)[:2] == (moved_long, cost_long)
    moved_short = -(3 * WAD * (WAD // 3) // WAD)
    cost_short = -((9_000 * WAD * abs(moved_short) + 3 * WAD - 1) // (3 * WAD))   # floor of a negative
    assert _pos(ch, maker_acct, inst.future)[:2] == (-3 * WAD - moved_short, -9_000 * WAD - cost_short)
    assert _pos(ch, bidder, inst.future)[:2] == (moved_short, cost_short)
    assert ch.open_interest(inst.perp) == 7 * WAD and ch.open_interest(inst.future) == 3 * WAD, "moved, not created"
    assert vault.cash_of(maker_acct) == cash, "no cash moves here (no funding accrued)"


def test_a_full_move_empties_the_account(ch, inst, trade, liq, maker_acct, taker_acct, bidder, last_event):
    trade(maker_acct, taker_acct, inst.perp, 5 * WAD, ETH_PRICE)
    trade(maker_acct, taker_acct, inst.future, -2 * WAD, ETH_PRICE)
    trade(maker_acct, taker_acct, inst.btc_perp, WAD, 60_000 * WAD)
    _move(ch, maker_acct, bidder, WAD)
    event = last_event(ch, "PortfolioTransferred")
    assert (event.from_account, event.to_account, event.fraction, event.positions) == (maker_acct, bidder, WAD, 3)
    assert ch.positions_of(maker_acct) == []
    assert sorted(p.instrument for p in ch.positions_of(bidder)) == sorted((inst.perp, inst.future, inst.btc_perp))
    assert _pos(ch, bidder, inst.perp)[:2] == (5 * WAD, 5 * ETH_PRICE)


def test_a_lot_that_nets_realises_pnl_and_lowers_open_interest(ch, vault, inst, trade, liq, maker_acct, taker_acct):
    trade(maker_acct, taker_acct, inst.perp, 5 * WAD, ETH_PRICE)           # maker long 5, taker short 5 at 3,000
    cash = vault.cash_of(taker_acct)
    _move(ch, maker_acct, taker_acct, WAD)                                 # the taker takes its own counterparty's long
    assert ch.positions_of(taker_acct) == [] and ch.positions_of(maker_acct) == []
    assert ch.open_interest(inst.perp) == 0, "long and short netted away"
    assert vault.cash_of(taker_acct) == cash, "bought and sold at the same 3,000: nothing realised"


def test_funding_is_settled_first(ch, vault, markets, inst, trade, liq, maker_acct, taker_acct, bidder, refresh_feeds):
    trade(maker_acct, taker_acct, inst.perp, 10 * WAD, ETH_PRICE + 30 * WAD)  # mark above the index: longs pay
    boa.env.time_travel(seconds=3600)
    refresh_feeds()
    trade(bidder, taker_acct, inst.perp, WAD, ETH_PRICE)                     # the bidder holds the perp too
    snapshot = _pos(ch, maker_acct, inst.perp)[2]
    index = markets.funding_index(inst.perp)
    assert index > snapshot
    cash = vault.cash_of(maker_acct)
    _move(ch, maker_acct, bidder, WAD // 2)
    owed = -(-(10 * WAD) * (index - snapshot) // WAD)
    assert vault.cash_of(maker_acct) == cash - owed
    assert _pos(ch, maker_acct, inst.perp)[2] == index and _pos(ch, bidder, inst.perp)[2] == index


def test_an_isolated_receiver_only_takes_its_instrument(ch, inst, trade, liq, maker_acct, taker_acct, new_account,
                                                        errors):
    trade(maker_acct, taker_acct, inst.btc_perp, WAD, 60_000 * WAD)
    isolated = new_account(OPERATOR_KEY, isolated_instrument=inst.perp)
    with boa.env.prank(LIQUIDATOR):
        with boa.reverts(errors.WRONG_INSTRUMENT):
            ch.transfer_portfolio(maker_acct, isolated, WAD)
