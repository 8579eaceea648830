"""Vault.withdraw: owner/operator, receiver, balance checks, pause, margin hook."""

import boa
import pytest

WAD = 10**18
ZERO = "0x0000000000000000000000000000000000000000"


@pytest.fixture
def alice_account(vault, usdc, weth, wbtc, deposit, open_account, alice):
    """Alice's account with 1,000 USDC cash, 2 WETH, 0.5 WBTC."""
    a = open_account(alice)
    deposit(alice, a, usdc, 1000 * 10**6)
    deposit(alice, a, weth, 2 * WAD)
    deposit(alice, a, wbtc, 5 * 10**7)
    return a


@pytest.mark.parametrize("name, amount, wad", [("wbtc", 10**7, WAD // 10), ("weth", WAD // 2, WAD // 2)])
def test_withdraw_collateral_to_receiver(vault, alice_account, alice, bob, request, last_event, name, amount, wad):
    token = request.getfixturevalue(name)
    before = vault.balance_of(alice_account, token.address)
    total_before = vault.asset_info(token.address).total_wad
    with boa.env.prank(alice):
        vault.withdraw(alice_account, token.address, amount, bob)
    log = last_event(vault, "Withdraw")
    assert (log.id, log.token, log.caller, log.receiver, log.amount, log.wad) == (
        alice_account, token.address, alice, bob, amount, wad)
    assert token.balanceOf(bob) == amount
    assert vault.balance_of(alice_account, token.address) == before - wad
    assert vault.asset_info(token.address).total_wad == total_before - wad


def test_withdraw_cash(vault, usdc, alice_account, alice):
    with boa.env.prank(alice):
        vault.withdraw(alice_account, usdc.address, 400 * 10**6, alice)
    assert vault.cash_of(alice_account) == 600 * WAD
    assert usdc.balanceOf(alice) == 400 * 10**6
    assert vault.total_positive_cash() == 600 * WAD


def test_withdraw_everything(vault, usdc, weth, wbtc, alice_account, alice):
    with boa.env.prank(alice):
        vault.withdraw(alice_account, usdc.address, 1000 * 10**6, alice)
        vault.withdraw(alice_account, weth.address, 2 * WAD, alice)
        vault.withdraw(alice_account, wbtc.address, 5 * 10**7, alice)
    assert vault.cash_of(alice_account) == 0
    assert vault.balances_of(alice_account) == [0, 0, 0]
    for t in (usdc, weth, wbtc):
        assert t.balanceOf(vault.address) == 0
        assert vault.asset_info(t.address).total_wad == 0


def test_withdraw_above_balance_reverts(vault, usdc, weth, alice_account, alice, errors):
    with boa.env.prank(alice):
        with boa.reverts(errors.INSUFFICIENT_BALANCE):
            vault.withdraw(alice_account, weth.address, 2 * WAD + 1, alice)
        with boa.reverts(errors.INSUFFICIENT_BALANCE):
            vault.withdraw(alice_account, usdc.address, 1000 * 10**6 + 1, alice)


def test_withdraw_cash_when_negative_reverts(vault, usdc, clearing, alice_account, alice, errors):
    with boa.env.prank(clearing):
        vault.adjust_cash(alice_account, -1001 * WAD)
    with boa.env.prank(alice), boa.reverts(errors.INSUFFICIENT_BALANCE):
        vault.withdraw(alice_account, usdc.address, 1, alice)


def test_withdraw_by_non_owner_reverts(vault, weth, alice_account, bob, errors):
    with boa.env.prank(bob), boa.reverts(errors.NOT_AUTHORIZED):
        vault.withdraw(alice_account, weth.address, WAD, bob)


def test_admin_is_not_authorized_on_user_accounts(vault, weth, alice_account, admin, errors):
    with boa.env.prank(admin), boa.reverts(errors.NOT_AUTHORIZED):
        vault.withdraw(alice_account, weth.address, WAD, admin)


def test_withdraw_unknown_account_reverts(vault, weth, alice, errors):
    with boa.env.prank(alice), boa.reverts(errors.UNKNOWN_ACCOUNT):
        vault.withdraw(77, weth.address, WAD, alice)


def test_operator_may_withdraw_until_revoked(vault, weth, alice_account, alice, bob, carol, errors):
    with boa.env.prank(alice):
        vault.set_operator(bob, True)
    with boa.env.prank(bob):
        vault.withdraw(alice_account, weth.address, WAD, carol)
    assert weth.balanceOf(carol) == WAD
    with boa.env.prank(alice):
        vault.set_operator(bob, False)
    with boa.env.prank(bob), boa.reverts(errors.NOT_AUTHORIZED):
        vault.withdraw(alice_account, weth.address, WAD, carol)


def test_withdraw_zero_amount_reverts(vault, weth, alice_account, alice, errors):
    with boa.env.prank(alice), boa.reverts(errors.ZERO_AMOUNT):
        vault.withdraw(alice_account, weth.address, 0, alice)


def test_withdraw_to_empty_receiver_reverts(vault, weth, alice_account, alice, errors):
    with boa.env.prank(alice), boa.reverts(errors.EMPTY_ADDRESS):
        vault.withdraw(alice_account, weth.address, WAD, ZERO)


def test_withdraw_unlisted_reverts(vault, make_token, alice_account, alice, errors):
    with boa.env.prank(alice), boa.reverts(errors.NOT_LISTED):
        vault.withdraw(alice_account, make_token(18).address, 1, alice)


def test_withdraw_while_paused_reverts(vault, weth, guardian, alice_account, alice, errors):
    with boa.env.prank(guardian):
        vault.pause()
    with boa.env.prank(alice), boa.reverts(errors.PAUSED):
        vault.withdraw(alice_account, weth.address, WAD, alice)
    with boa.env.prank(guardian):
        vault.unpause()
    with boa.env.prank(alice):
        vault.withdraw(alice_account, weth.address, WAD, alice)
    assert weth.balanceOf(alice) == WAD


def test_margin_hook_blocks_withdraw(vault, checker, weth, alice_account, alice, errors):
    checker.set_blocked(alice_account, True)
    with boa.env.prank(alice), boa.reverts(errors.BELOW_INITIAL_MARGIN):
        vault.withdraw(alice_account, weth.address, WAD, alice)
    checker.set_blocked(alice_account, False)
    with boa.env.prank(alice):
        vault.withdraw(alice_account, weth.address, WAD, alice)
    assert vault.balance_of(alice_account, weth.address) == WAD


def test_margin_hook_sees_post_withdraw_state(vault, checker, usdc, alice_account, alice, errors):
    """The checker reads `cash_of` under the Vault's lock: views are @reentrant and storage is already written."""
    checker.set_min_cash(alice_account, 300 * WAD)
    with boa.env.prank(alice):
        vault.withdraw(alice_account, usdc.address, 700 * 10**6, alice)  # leaves exactly 300
        with boa.reverts(errors.BELOW_INITIAL_MARGIN):
            vault.withdraw(alice_account, usdc.address, 1, alice)
    assert vault.cash_of(alice_account) == 300 * WAD


def test_margin_hook_only_asks_about_the_account(vault, checker, weth, alice_account, open_account, deposit, bob):
    b = open_account(bob)
    deposit(bob, b, weth, WAD)
    checker.set_blocked(alice_account, True)
    with boa.env.prank(bob):
        vault.withdraw(b, weth.address, WAD, bob)
    assert weth.balanceOf(bob) == WAD


def test_fee_token_withdraw_debits_gross(vault, admin, make_token, fund, open_account, alice):
    token = make_token(8, "FEE", fee_bps=200)
    with boa.env.prank(admin):
        vault.list_asset(token.address, 0, 10**9 * WAD, False)
    a = open_account(alice)
    fund(token, alice, 100 * 10**8, vault)
    with boa.env.prank(alice):
        vault.deposit(a, token.address, 100 * 10**8)  # 98 arrive
        vault.withdraw(a, token.address, 98 * 10**8, alice)  # alice gets 98 * 0.98
    assert vault.balance_of(a, token.address) == 0
    assert token.balanceOf(vault.address) == 0
    assert token.balanceOf(alice) == 98 * 10**8 * 98 // 100


def test_reentrant_views_are_callable(vault, alice_account, usdc, weth, wbtc):
    assert vault.assets() == [usdc.address, weth.address, wbtc.address]
    assert vault.balances_of(alice_account) == [0, 2 * WAD, WAD // 2]
    assert vault.cash_of(alice_account) == 1000 * WAD


def test_withdraw_unbacked_cash_reverts(vault, clearing, usdc, open_account, alice, bob, errors):
    """Cash won from an account that is in debt is not backed by tokens until that debt is paid."""
    a, b = open_account(alice), open_account(bob)
    with boa.env.prank(clearing):
        vault.adjust_cash(a, -10 * WAD)
        vault.adjust_cash(b, 10 * WAD)
    with boa.env.prank(bob), boa.reverts(errors.INSUFFICIENT_LIQUIDITY):
        vault.withdraw(b, usdc.address, 10**6, bob)
