"""Account registry (contracts/lib/accounts.vy through the Vault): open_account, owner_of,
isolated_instrument, set_operator, is_operator, is_authorized."""

import boa

ZERO = "0x0000000000000000000000000000000000000000"


def test_deploy_opens_insurance_fund_and_fee_account(bare_vault, admin):
    assert bare_vault.account_count() == 2
    assert bare_vault.INSURANCE_FUND() == 1 and bare_vault.FEE_ACCOUNT() == 2
    assert bare_vault.owner_of(1) == admin
    assert bare_vault.owner_of(2) == admin
    assert bare_vault.isolated_instrument(1) == 0


def test_open_account_assigns_sequential_ids(vault, alice, bob):
    with boa.env.prank(alice):
        a = vault.open_account(0)
    with boa.env.prank(bob):
        b = vault.open_account(0)
    with boa.env.prank(alice):
        c = vault.open_account(0)
    assert (a, b, c) == (3, 4, 5)
    assert vault.owner_of(a) == alice and vault.owner_of(b) == bob and vault.owner_of(c) == alice
    assert vault.account_count() == 5


def test_open_isolated_subaccount(vault, alice):
    with boa.env.prank(alice):
        sub = vault.open_account(42)
    logs = vault.get_logs()
    assert vault.isolated_instrument(sub) == 42
    assert type(logs[-1]).__name__ == "AccountOpened"
    assert (logs[-1].id, logs[-1].owner, logs[-1].isolated_instrument) == (sub, alice, 42)


def test_open_account_while_paused(vault, guardian, alice):
    with boa.env.prank(guardian):
        vault.pause()
    with boa.env.prank(alice):
        assert vault.open_account(0) == 3


def test_unknown_account_has_no_owner(vault, alice):
    assert vault.owner_of(99) == ZERO
    assert not vault.is_authorized(99, alice)
    assert not vault.is_authorized(0, ZERO)


def test_owner_is_authorized_others_not(vault, open_account, alice, bob):
    a = open_account(alice)
    assert vault.is_authorized(a, alice)
    assert not vault.is_authorized(a, bob)


def test_operator_approved_then_revoked(vault, open_account, alice, bob):
    a = open_account(alice)
    a2 = open_account(alice, 7)
    with boa.env.prank(alice):
        vault.set_operator(bob, True)
    log = vault.get_logs()[-1]
    assert type(log).__name__ == "OperatorSet" and (log.owner, log.operator, log.approved) == (alice, bob, True)
    assert vault.is_operator(alice, bob)
    assert vault.is_authorized(a, bob) and vault.is_authorized(a2, bob)  # owner-wide
    with boa.env.prank(alice):
        vault.set_operator(bob, False)
    assert not vault.is_operator(alice, bob)
    assert not vault.is_authorized(a, bob)


def test_operator_of_someone_else_is_not_authorized(vault, open_account, alice, bob, carol):
    a = open_account(alice)
    with boa.env.prank(carol):
        vault.set_operator(bob, True)
    assert not vault.is_authorized(a, bob)


def test_set_operator_rejects_empty_and_self(vault, alice, errors):
    with boa.env.prank(alice):
        with boa.reverts(errors.EMPTY_ADDRESS):
            vault.set_operator(ZERO, True)
        with boa.reverts(errors.SELF_OPERATOR):
            vault.set_operator(alice, True)
