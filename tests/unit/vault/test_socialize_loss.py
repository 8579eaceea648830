"""Vault.socialize_loss: a loss spread pro rata over positive cash through the loss index.

Rounding favours the protocol: each account's reduction rounds up, never exceeds its cash,
and the accounts together lose at least the absorbed amount."""

import boa
import pytest
from hypothesis import given, settings, HealthCheck
from hypothesis import strategies as st

WAD = 10**18
RAY = 10**27


@pytest.fixture
def funded(vault, clearing, open_account, alice, bob, carol):
    """Three accounts with cash 100, 300 and -50 (a debt)."""
    a, b, c = open_account(alice), open_account(bob), open_account(carol)
    with boa.env.prank(clearing):
        vault.adjust_cash(a, 100 * WAD)
        vault.adjust_cash(b, 300 * WAD)
        vault.adjust_cash(c, -50 * WAD)
    return a, b, c


def test_spreads_exactly_pro_rata(vault, clearing, funded, last_event):
    a, b, c = funded
    with boa.env.prank(clearing):
        absorbed = vault.socialize_loss(40 * WAD)
    log = last_event(vault, "LossSocialized")
    assert absorbed == 40 * WAD
    assert (log.amount_wad, log.absorbed_wad, log.loss_index, log.loss_epoch) == (40 * WAD, 40 * WAD, 9 * RAY // 10, 0)
    assert vault.cash_of(a) == 90 * WAD
    assert vault.cash_of(b) == 270 * WAD
    assert vault.cash_of(c) == -50 * WAD  # debts are not socialised
    assert vault.total_positive_cash() == 360 * WAD
    assert vault.total_debt() == 50 * WAD
    assert vault.loss_index() == 9 * RAY // 10


def test_each_reduction_rounds_up(vault, clearing, open_account, alice, bob, carol):
    ids = [open_account(u) for u in (alice, bob, carol)]
    with boa.env.prank(clearing):
        for i in ids:
            vault.adjust_cash(i, WAD)
        vault.socialize_loss(WAD)  # a third each: not representable
    reductions = [WAD - vault.cash_of(i) for i in ids]
    assert reductions == [WAD // 3 + 1] * 3
    assert sum(reductions) >= WAD


def test_insurance_fund_and_fee_account_share_the_loss(vault, clearing, funded):
    with boa.env.prank(clearing):
        vault.adjust_cash(2, 100 * WAD)  # fee account
        vault.socialize_loss(50 * WAD)
    assert vault.cash_of(2) == 90 * WAD


def test_losses_compound(vault, clearing, funded):
    a, b, _ = funded
    with boa.env.prank(clearing):
        vault.socialize_loss(40 * WAD)  # -10 %
        vault.socialize_loss(36 * WAD)  # -10 % of 360
    assert vault.cash_of(a) == 81 * WAD
    assert vault.cash_of(b) == 243 * WAD
    assert vault.total_positive_cash() == 324 * WAD


def test_lazy_application_on_touch(vault, clearing, usdc, deposit, funded, alice):
    a, b, _ = funded
    with boa.env.prank(clearing):
        vault.socialize_loss(40 * WAD)
        vault.adjust_cash(a, 10 * WAD)  # touch a: 90 + 10
    # after a loss a credit converts to scaled units rounded down: at most 1 wei less
    assert 100 * WAD - 1 <= vault.cash_of(a) <= 100 * WAD
    assert vault.cash_of(b) == 270 * WAD  # untouched, still reduced
    assert 370 * WAD - 1 <= vault.total_positive_cash() <= 370 * WAD
    deposit(alice, a, usdc, 50 * 10**6)
    assert 150 * WAD - 2 <= vault.cash_of(a) <= 150 * WAD


def test_credit_after_loss_rounds_down_at_most_one_wei(vault, clearing, open_account, alice, bob, carol):
    a, b, c = open_account(alice), open_account(bob), open_account(carol)
    with boa.env.prank(clearing):
        vault.adjust_cash(a, WAD)
        vault.adjust_cash(b, 2 * WAD)
        vault.socialize_loss(WAD)  # index 2/3 (rounded down)
        vault.adjust_cash(c, 10**6 + 1)
        vault.adjust_cash(a, -vault.cash_of(a))  # debit exactly the cash: leaves 0, never negative
    assert 10**6 <= vault.cash_of(c) <= 10**6 + 1
    assert vault.cash_of(a) == 0


def test_loss_larger_than_positive_cash_wipes_and_starts_new_epoch(vault, clearing, funded, open_account, alice, last_event):
    a, b, c = funded
    with boa.env.prank(clearing):
        absorbed = vault.socialize_loss(1000 * WAD)
    log = last_event(vault, "LossSocialized")
    assert absorbed == 400 * WAD
    assert (log.amount_wad, log.absorbed_wad, log.loss_epoch) == (1000 * WAD, 400 * WAD, 1)
    assert vault.cash_of(a) == 0 and vault.cash_of(b) == 0
    assert vault.cash_of(c) == -50 * WAD
    assert vault.total_positive_cash() == 0
    assert vault.loss_epoch() == 1 and vault.loss_index() == RAY
    # the next epoch starts clean, stale scaled units stay worthless
    d = open_account(alice)
    with boa.env.prank(clearing):
        vault.adjust_cash(d, 5 * WAD)
        vault.adjust_cash(a, 7 * WAD)
    assert vault.cash_of(d) == 5 * WAD and vault.cash_of(a) == 7 * WAD and vault.cash_of(b) == 0
    assert vault.total_positive_cash() == 12 * WAD


def test_no_positive_cash_absorbs_nothing(vault, clearing, open_account, alice, last_event):
    a = open_account(alice)
    with boa.env.prank(clearing):
        vault.adjust_cash(a, -WAD)
        assert vault.socialize_loss(WAD) == 0
    assert last_event(vault, "LossSocialized").absorbed_wad == 0
    assert vault.loss_index() == RAY and vault.loss_epoch() == 0


def test_socialize_loss_bad_inputs(vault, clearing, admin, funded, errors):
    with boa.env.prank(admin), boa.reverts(errors.MISSING_ROLE):
        vault.socialize_loss(WAD)
    with boa.env.prank(clearing), boa.reverts(errors.ZERO_AMOUNT):
        vault.socialize_loss(0)


def test_bad_debt_write_off_keeps_the_vault_solvent(vault, clearing, usdc, deposit, open_account, alice, bob, carol, errors):
    a, b, x = open_account(alice), open_account(bob), open_account(carol)
    deposit(alice, a, usdc, 100 * 10**6)
    deposit(bob, b, usdc, 100 * 10**6)
    with boa.env.prank(clearing):
        vault.adjust_cash(x, -20 * WAD)  # x loses 20 it does not have...
        vault.adjust_cash(a, 10 * WAD)  # ...to a and b (zero-sum)
        vault.adjust_cash(b, 10 * WAD)
        vault.adjust_cash(x, 20 * WAD)  # write x's debt off...
        vault.socialize_loss(20 * WAD)  # ...and spread it over positive cash
    # ideal share 10 each; the reduction rounds up, so each keeps 1 wei less than 100
    assert vault.cash_of(a) == vault.cash_of(b) == 100 * WAD - 1
    assert vault.cash_of(x) == 0
    with boa.env.prank(bob), boa.reverts(errors.INSUFFICIENT_BALANCE):
        vault.withdraw(b, usdc.address, 100 * 10**6, bob)
    with boa.env.prank(alice):
        vault.withdraw(a, usdc.address, 100 * 10**6 - 1, alice)
    with boa.env.prank(bob):
        vault.withdraw(b, usdc.address, 100 * 10**6 - 1, bob)
    # the vault keeps the rounding dust: its tokens still back all cash
    assert usdc.balanceOf(vault.address) == 2
    assert usdc.balanceOf(vault.address) * 10**12 >= vault.cash_of(a) + vault.cash_of(b) + vault.cash_of(x)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cash=st.lists(st.integers(min_value=1, max_value=10**30), min_size=1, max_size=5),
    loss_fraction=st.integers(min_value=1, max_value=10**6),
)
def test_single_loss_rounds_up_per_account(vault, clearing, open_account, alice, cash, loss_fraction):
    with boa.env.anchor():
        ids = [open_account(alice) for _ in cash]
        with boa.env.prank(clearing):
            for i, c in zip(ids, cash):
                vault.adjust_cash(i, c)
            total = sum(cash)
            loss = max(1, total * loss_fraction // 10**6)
            absorbed = vault.socialize_loss(loss)
        assert absorbed == min(loss, total)
        reductions = []
        for i, c in zip(ids, cash):
            after = vault.cash_of(i)
            assert 0 <= after <= c  # never more than its cash
            reduction = c - after
            ideal_num = c * absorbed  # ideal share = c * absorbed / total
            assert reduction * total >= ideal_num  # rounds up
            # the loss per scaled unit rounds up (+1 wei per RAY of cash) and so does the account's share: <= 2 wei
            assert reduction <= c * absorbed // total + 2 + total // 10**27
            reductions.append(reduction)
        assert sum(reductions) >= absorbed
        assert sum(vault.cash_of(i) for i in ids) <= vault.total_positive_cash() <= total - absorbed
