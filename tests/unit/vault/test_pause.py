"""Guardian pause: only withdrawals stop."""

import boa


def test_guardian_pauses_and_unpauses(vault, guardian):
    assert not vault.paused()
    with boa.env.prank(guardian):
        vault.pause()
    assert type(vault.get_logs()[-1]).__name__ == "Paused"
    assert vault.paused()
    with boa.env.prank(guardian):
        vault.unpause()
    assert type(vault.get_logs()[-1]).__name__ == "Unpaused"
    assert not vault.paused()


def test_non_guardian_cannot_pause(vault, admin, alice, errors):
    for who in (admin, alice):  # admin too: pausing is the guardian's permission
        with boa.env.prank(who), boa.reverts(errors.MISSING_ROLE):
            vault.pause()


def test_non_guardian_cannot_unpause(vault, guardian, alice, errors):
    with boa.env.prank(guardian):
        vault.pause()
    with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
        vault.unpause()


def test_pause_twice_and_unpause_unpaused_revert(vault, guardian, errors):
    with boa.env.prank(guardian):
        with boa.reverts(errors.NOT_PAUSED):
            vault.unpause()
        vault.pause()
        with boa.reverts(errors.PAUSED):
            vault.pause()


def test_clearing_operations_work_while_paused(vault, guardian, clearing, open_account, alice):
    a = open_account(alice)
    with boa.env.prank(guardian):
        vault.pause()
    with boa.env.prank(clearing):
        vault.adjust_cash(a, 5)
    assert vault.cash_of(a) == 5
