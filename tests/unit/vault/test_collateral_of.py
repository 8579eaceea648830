"""`collateral_of`: the non-zero collateral of an account, kept in step with every balance change through the
per-account `_held` bitmap (deposit, withdraw, move_collateral), in listing order; cash is never in it."""

import boa
import pytest

WAD = 10**18


@pytest.fixture
def accts(open_account, alice, bob):
    return open_account(alice), open_account(bob)


def _held(vault, account) -> dict:
    tokens, balances = vault.collateral_of(account)
    return dict(zip(tokens, balances))


def test_cash_only_account_holds_nothing(vault, usdc, deposit, accts):
    a, _ = accts
    deposit(boa.env.eoa, a, usdc, 100 * 10**6)
    assert vault.collateral_of(a) == ([], [])


def test_listing_order_and_balances(vault, usdc, weth, wbtc, deposit, accts):
    a, _ = accts
    deposit(boa.env.eoa, a, wbtc, 2 * 10**8)
    deposit(boa.env.eoa, a, usdc, 10**6)
    deposit(boa.env.eoa, a, weth, 3 * WAD)
    tokens, balances = vault.collateral_of(a)
    assert list(tokens) == [weth.address, wbtc.address]           # listing order, USDC (cash) left out
    assert list(balances) == [3 * WAD, 2 * WAD]


def test_bits_follow_moves_and_withdrawals(vault, clearing, weth, wbtc, deposit, accts, alice):
    a, b = accts
    deposit(alice, a, weth, 3 * WAD)
    deposit(alice, a, wbtc, 10**8)
    with boa.env.prank(clearing):
        vault.move_collateral(a, b, weth.address, WAD)
    assert _held(vault, a) == {weth.address: 2 * WAD, wbtc.address: WAD}
    assert _held(vault, b) == {weth.address: WAD}
    with boa.env.prank(clearing):
        vault.move_collateral(a, b, weth.address, 2 * WAD)            # a's last WETH leaves: its bit clears
    assert _held(vault, a) == {wbtc.address: WAD}
    assert _held(vault, b) == {weth.address: 3 * WAD}
    with boa.env.prank(alice):
        vault.withdraw(a, wbtc.address, 10**8, alice)
    assert vault.collateral_of(a) == ([], [])
    assert [vault.balance_of(a, t) for t in (weth.address, wbtc.address)] == [0, 0]
