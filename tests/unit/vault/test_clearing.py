"""Clearing-only entry points: adjust_cash and move_collateral."""

import boa
import pytest

WAD = 10**18


@pytest.fixture
def accts(open_account, alice, bob):
    return open_account(alice), open_account(bob)


def test_adjust_cash_both_signs(vault, clearing, accts, last_event):
    a, _ = accts
    with boa.env.prank(clearing):
        assert vault.adjust_cash(a, 70 * WAD) == 70 * WAD
        log = last_event(vault, "CashAdjusted")
        assert (log.id, log.delta, log.cash) == (a, 70 * WAD, 70 * WAD)
        assert vault.adjust_cash(a, -100 * WAD) == -30 * WAD  # crosses zero: 70 positive burnt, 30 debt
    assert vault.cash_of(a) == -30 * WAD
    assert vault.total_debt() == 30 * WAD and vault.total_positive_cash() == 0
    with boa.env.prank(clearing):
        assert vault.adjust_cash(a, 45 * WAD) == 15 * WAD  # repays the debt, rest positive
    assert vault.total_debt() == 0 and vault.total_positive_cash() == 15 * WAD


def test_adjust_cash_zero_sum_transfer(vault, clearing, usdc, deposit, accts):
    a, b = accts
    deposit(boa.env.eoa, a, usdc, 100 * 10**6)
    with boa.env.prank(clearing):
        vault.adjust_cash(a, -60 * WAD)
        vault.adjust_cash(b, 60 * WAD)
    assert vault.cash_of(a) == 40 * WAD and vault.cash_of(b) == 60 * WAD
    assert vault.total_positive_cash() == 100 * WAD


def test_adjust_cash_requires_clearing_role(vault, admin, accts, errors):
    a, _ = accts
    with boa.env.prank(admin), boa.reverts(errors.MISSING_ROLE):
        vault.adjust_cash(a, 1)


def test_adjust_cash_bad_inputs(vault, clearing, accts, errors):
    a, _ = accts
    with boa.env.prank(clearing):
        with boa.reverts(errors.ZERO_AMOUNT):
            vault.adjust_cash(a, 0)
        with boa.reverts(errors.UNKNOWN_ACCOUNT):
            vault.adjust_cash(999, 1)


def test_adjust_cash_min_int_reverts(vault, clearing, accts):
    a, _ = accts
    with boa.env.prank(clearing), boa.reverts():
        vault.adjust_cash(a, -(2**255))


def test_move_collateral(vault, clearing, weth, deposit, accts, last_event):
    a, b = accts
    deposit(boa.env.eoa, a, weth, 3 * WAD)
    with boa.env.prank(clearing):
        vault.move_collateral(a, b, weth.address, WAD)
    log = last_event(vault, "CollateralMoved")
    assert (log.from_id, log.to_id, log.token, log.amount_wad) == (a, b, weth.address, WAD)
    assert vault.balance_of(a, weth.address) == 2 * WAD
    assert vault.balance_of(b, weth.address) == WAD
    assert vault.asset_info(weth.address).total_wad == 3 * WAD  # custody unchanged


def test_move_collateral_settlement_moves_cash(vault, clearing, usdc, deposit, accts):
    a, b = accts
    deposit(boa.env.eoa, a, usdc, 10 * 10**6)
    with boa.env.prank(clearing):
        vault.adjust_cash(b, -4 * WAD)
        vault.move_collateral(a, b, usdc.address, 10 * WAD)
    assert vault.cash_of(a) == 0 and vault.cash_of(b) == 6 * WAD
    assert vault.total_debt() == 0 and vault.total_positive_cash() == 6 * WAD


def test_move_collateral_insufficient(vault, clearing, usdc, weth, deposit, accts, errors):
    a, b = accts
    deposit(boa.env.eoa, a, weth, WAD)
    deposit(boa.env.eoa, a, usdc, 10**6)
    with boa.env.prank(clearing):
        with boa.reverts(errors.INSUFFICIENT_BALANCE):
            vault.move_collateral(a, b, weth.address, WAD + 1)
        with boa.reverts(errors.INSUFFICIENT_BALANCE):
            vault.move_collateral(a, b, usdc.address, WAD + 1)


def test_move_collateral_bad_inputs(vault, clearing, weth, make_token, accts, errors):
    a, b = accts
    with boa.env.prank(clearing):
        with boa.reverts(errors.ZERO_AMOUNT):
            vault.move_collateral(a, b, weth.address, 0)
        with boa.reverts(errors.SAME_ACCOUNT):
            vault.move_collateral(a, a, weth.address, 1)
        with boa.reverts(errors.UNKNOWN_ACCOUNT):
            vault.move_collateral(a, 999, weth.address, 1)
        with boa.reverts(errors.UNKNOWN_ACCOUNT):
            vault.move_collateral(999, a, weth.address, 1)
        with boa.reverts(errors.NOT_LISTED):
            vault.move_collateral(a, b, make_token(18).address, 1)


def test_move_collateral_requires_clearing_role(vault, weth, accts, alice, errors):
    a, b = accts
    with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
        vault.move_collateral(a, b, weth.address, 1)
