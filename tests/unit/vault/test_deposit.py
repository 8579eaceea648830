"""Vault.deposit: WAD scaling for 6/8/18 decimals, caps, fee-on-transfer credit, bad inputs."""

import boa
import pytest

WAD = 10**18


@pytest.mark.parametrize("decimals", [6, 8, 18])
def test_deposit_collateral_scales_to_wad(vault, admin, make_token, deposit, open_account, alice, decimals):
    token = make_token(decimals)
    with boa.env.prank(admin):
        vault.list_asset(token.address, 3, 10**9 * WAD, False)
    a = open_account(alice)
    amount = 123 * 10**decimals + 7
    deposit(alice, a, token, amount)
    wad = amount * 10 ** (18 - decimals)
    assert vault.balance_of(a, token.address) == wad
    assert vault.asset_info(token.address).total_wad == wad
    assert token.balanceOf(vault.address) == amount
    assert token.balanceOf(alice) == 0


def test_deposit_settlement_credits_cash(vault, usdc, deposit, open_account, alice):
    a = open_account(alice)
    deposit(alice, a, usdc, 250 * 10**6)
    assert vault.cash_of(a) == 250 * WAD
    assert vault.balance_of(a, usdc.address) == 0  # settlement asset is cash, not collateral
    assert vault.total_positive_cash() == 250 * WAD
    assert vault.asset_info(usdc.address).total_wad == 250 * WAD


def test_deposit_emits_event(vault, weth, fund, open_account, alice, last_event):
    a = open_account(alice)
    fund(weth, alice, 5 * WAD, vault)
    with boa.env.prank(alice):
        vault.deposit(a, weth.address, 5 * WAD)
    log = last_event(vault, "Deposit")
    assert (log.id, log.token, log.sender, log.amount, log.wad) == (a, weth.address, alice, 5 * WAD, 5 * WAD)


def test_anyone_may_deposit_to_any_account(vault, wbtc, deposit, open_account, alice, bob):
    a = open_account(alice)
    deposit(bob, a, wbtc, 10**8)
    assert vault.balance_of(a, wbtc.address) == WAD


def test_deposit_works_while_paused(vault, guardian, weth, deposit, open_account, alice):
    a = open_account(alice)
    with boa.env.prank(guardian):
        vault.pause()
    deposit(alice, a, weth, WAD)
    assert vault.balance_of(a, weth.address) == WAD


def test_deposit_zero_amount_reverts(vault, weth, open_account, alice, errors):
    a = open_account(alice)
    with boa.env.prank(alice), boa.reverts(errors.ZERO_AMOUNT):
        vault.deposit(a, weth.address, 0)


def test_deposit_unlisted_asset_reverts(vault, make_token, fund, open_account, alice, errors):
    a = open_account(alice)
    token = make_token(18)
    fund(token, alice, WAD, vault)
    with boa.env.prank(alice), boa.reverts(errors.NOT_LISTED):
        vault.deposit(a, token.address, WAD)


def test_deposit_unknown_account_reverts(vault, weth, fund, alice, errors):
    fund(weth, alice, WAD, vault)
    with boa.env.prank(alice), boa.reverts(errors.UNKNOWN_ACCOUNT):
        vault.deposit(99, weth.address, WAD)
    with boa.env.prank(alice), boa.reverts(errors.UNKNOWN_ACCOUNT):
        vault.deposit(0, weth.address, WAD)


def test_deposit_without_allowance_reverts(vault, weth, open_account, alice):
    a = open_account(alice)
    weth.mint(alice, WAD)
    with boa.env.prank(alice), boa.reverts():
        vault.deposit(a, weth.address, WAD)


def test_cap_is_total_across_accounts(vault, admin, wbtc, deposit, fund, open_account, alice, bob, errors):
    with boa.env.prank(admin):
        vault.set_cap(wbtc.address, 3 * WAD)
    a, b = open_account(alice), open_account(bob)
    deposit(alice, a, wbtc, 2 * 10**8)
    deposit(bob, b, wbtc, 10**8)  # exactly at the cap
    fund(wbtc, bob, 1, vault)
    with boa.env.prank(bob), boa.reverts(errors.CAP_EXCEEDED):
        vault.deposit(b, wbtc.address, 1)


def test_cap_frees_up_after_withdraw(vault, admin, weth, deposit, open_account, alice):
    with boa.env.prank(admin):
        vault.set_cap(weth.address, 2 * WAD)
    a = open_account(alice)
    deposit(alice, a, weth, 2 * WAD)
    with boa.env.prank(alice):
        vault.withdraw(a, weth.address, WAD, alice)
    deposit(alice, a, weth, WAD)
    assert vault.asset_info(weth.address).total_wad == 2 * WAD


def test_zero_cap_blocks_deposits(vault, admin, weth, fund, open_account, alice, errors):
    with boa.env.prank(admin):
        vault.set_cap(weth.address, 0)
    a = open_account(alice)
    fund(weth, alice, 1, vault)
    with boa.env.prank(alice), boa.reverts(errors.CAP_EXCEEDED):
        vault.deposit(a, weth.address, 1)


@pytest.mark.parametrize("decimals", [6, 18])
def test_fee_on_transfer_credits_what_arrived(vault, admin, make_token, fund, open_account, alice, last_event, decimals):
    token = make_token(decimals, "FEE", fee_bps=100)  # 1 % burnt per transfer
    with boa.env.prank(admin):
        vault.list_asset(token.address, 0, 10**9 * WAD, False)
    a = open_account(alice)
    amount = 1000 * 10**decimals
    fund(token, alice, amount, vault)
    with boa.env.prank(alice):
        vault.deposit(a, token.address, amount)
    log = last_event(vault, "Deposit")
    received = amount * 99 // 100
    assert token.balanceOf(vault.address) == received
    assert vault.balance_of(a, token.address) == received * 10 ** (18 - decimals)
    assert log.amount == received
    # conservation: what the vault holds backs exactly what it credited
    assert token.balanceOf(vault.address) * 10 ** (18 - decimals) == vault.asset_info(token.address).total_wad


def test_fee_on_transfer_settlement_cash(bare_vault, admin, make_token, fund, alice):
    token = make_token(6, "FUSD", fee_bps=50)
    with boa.env.prank(admin):
        bare_vault.list_asset(token.address, 0, 10**9 * WAD, True)
    with boa.env.prank(alice):
        a = bare_vault.open_account(0)
    fund(token, alice, 2000 * 10**6, bare_vault)
    with boa.env.prank(alice):
        bare_vault.deposit(a, token.address, 2000 * 10**6)
    assert bare_vault.cash_of(a) == 1990 * WAD


def test_fee_token_that_burns_everything_reverts(vault, admin, make_token, fund, open_account, alice, errors):
    token = make_token(18, "ALL", fee_bps=10_000)
    with boa.env.prank(admin):
        vault.list_asset(token.address, 0, 10**9 * WAD, False)
    a = open_account(alice)
    fund(token, alice, WAD, vault)
    with boa.env.prank(alice), boa.reverts(errors.NOTHING_RECEIVED):
        vault.deposit(a, token.address, WAD)


def test_fee_counts_against_cap_only_for_what_arrived(vault, admin, make_token, fund, open_account, alice):
    token = make_token(18, "FEE", fee_bps=1000)  # 10 %
    with boa.env.prank(admin):
        vault.list_asset(token.address, 0, 9 * WAD, False)
    a = open_account(alice)
    fund(token, alice, 10 * WAD, vault)
    with boa.env.prank(alice):
        vault.deposit(a, token.address, 10 * WAD)  # 9 arrive: exactly the cap
    assert vault.asset_info(token.address).total_wad == 9 * WAD


def test_settlement_deposit_repays_debt_first(vault, clearing, usdc, deposit, open_account, alice):
    a = open_account(alice)
    with boa.env.prank(clearing):
        vault.adjust_cash(a, -40 * WAD)
    assert vault.cash_of(a) == -40 * WAD and vault.total_debt() == 40 * WAD
    deposit(alice, a, usdc, 100 * 10**6)
    assert vault.cash_of(a) == 60 * WAD
    assert vault.total_debt() == 0
    assert vault.total_positive_cash() == 60 * WAD
