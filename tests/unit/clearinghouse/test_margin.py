"""Post-trade margin rule and the oracle/pause rules: new risk needs status OK and equity_im >= im; a pure
reduction passes if its MM shortfall does not grow; STALE / DEGRADED / pause let only pure reductions through."""

import boa

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
    risk.set_status(maker_acct, STALE)
    risk.set_status(taker_acct, DEGRADED)
    trade(maker_acct, taker_acct, inst.perp, -2 * WAD, ETH_PRICE)  # both sides shrink
    assert ch.position(maker_acct, inst.perp).size == 3 * WAD
    with boa.reverts(errors.STALE_ORACLE):  # a flip is new risk
        trade(maker_acct, taker_acct, inst.perp, -4 * WAD, ETH_PRICE)
    with boa.reverts(errors.STALE_ORACLE):  # so is growing
        trade(maker_acct, taker_acct, inst.perp, WAD, ETH_PRICE)


def test_reduction_below_im_passes_if_shortfall_shrinks(ch, vault, risk, inst, trade, maker_acct, taker_acct):
    trade(maker_acct, taker_acct, inst.perp, 10 * WAD, ETH_PRICE)  # taker short 10
    risk.set_live(vault.address, ch.address, 0, 100 * WAD)  # MM 100 USD per unit
    risk.set_margin(taker_acct, -vault.cash_of(taker_acct), HUGE, 0, OK)  # taker: equity 0 + cash, far below IM
    trade(maker_acct, taker_acct, inst.perp, -WAD, ETH_PRICE)  # taker buys 1 back at the index: MM -100
    assert ch.position(taker_acct, inst.perp).size == -9 * WAD


def test_reduction_that_worsens_shortfall_reverts(ch, vault, risk, inst, trade, maker_acct, taker_acct, errors):
    trade(maker_acct, taker_acct, inst.perp, 10 * WAD, ETH_PRICE)
    risk.set_live(vault.address, ch.address, 0, 100 * WAD)
    risk.set_margin(taker_acct, -vault.cash_of(taker_acct), HUGE, 0, OK)
    with boa.reverts(errors.RISK_NOT_REDUCED):  # buys back 1 at +10 %: realises -300, MM only -100
        trade(maker_acct, taker_acct, inst.perp, -WAD, ETH_PRICE * 11 // 10)


def test_reduction_above_im_passes_even_if_shortfall_grows(ch, vault, risk, inst, trade, maker_acct, taker_acct):
    trade(maker_acct, taker_acct, inst.perp, 10 * WAD, ETH_PRICE)
    risk.set_live(vault.address, ch.address, 0, 100 * WAD)
    trade(maker_acct, taker_acct, inst.perp, -WAD, ETH_PRICE * 11 // 10)  # both well above IM
    assert ch.position(taker_acct, inst.perp).size == -9 * WAD


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
