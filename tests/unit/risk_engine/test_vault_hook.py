"""The RiskEngine as the Vault's margin checker: withdrawals must leave the account above IM with OK prices."""

import boa

from crossmargin.model.portfolio import Account
from tests.unit.risk_engine.conftest import pos

USDC = 10**6


def test_withdraw_allowed_above_im(world, engine, load):
    aid = load(Account(positions=(pos("ETH-PERP", 1.0),)))
    usdc = world.tokens["USDC"]
    usdc.mint(world.user, 10_000 * USDC, sender=world.admin)
    usdc.approve(world.vault.address, 10_000 * USDC, sender=world.user)
    world.vault.deposit(aid, usdc.address, 10_000 * USDC, sender=world.user)
    world.vault.withdraw(aid, usdc.address, 9_000 * USDC, world.user, sender=world.user)
    assert engine.is_above_im(aid)


def test_withdraw_below_im_reverts(world, engine, load, errors):
    aid = load(Account(positions=(pos("ETH-PERP", 1.0),)))
    usdc = world.tokens["USDC"]
    usdc.mint(world.user, 1_000 * USDC, sender=world.admin)
    usdc.approve(world.vault.address, 1_000 * USDC, sender=world.user)
    world.vault.deposit(aid, usdc.address, 1_000 * USDC, sender=world.user)
    im = engine.margin(aid)[2]   # ~353 USD
    with boa.reverts(errors.BELOW_INITIAL_MARGIN):
        world.vault.withdraw(aid, usdc.address, 1_000 * USDC - im // 10**12 + USDC, world.user, sender=world.user)
    world.vault.withdraw(aid, usdc.address, 1_000 * USDC - im // 10**12 - USDC, world.user, sender=world.user)


def test_withdraw_blocked_while_stale(world, engine, load, errors):
    aid = load(Account(positions=(pos("ETH-PERP", 0.01),)))
    usdc = world.tokens["USDC"]
    usdc.mint(world.user, 10**6 * USDC, sender=world.admin)
    usdc.approve(world.vault.address, 10**6 * USDC, sender=world.user)
    world.vault.deposit(aid, usdc.address, 10**6 * USDC, sender=world.user)
    world.feeds["ETH"].set_reverts(True)
    with boa.reverts(errors.BELOW_INITIAL_MARGIN):
        world.vault.withdraw(aid, usdc.address, USDC, world.user, sender=world.user)
