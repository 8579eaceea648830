"""Lens wiring: constructor checks and the admin-only Liquidation setter."""

from __future__ import annotations

import boa

ZERO = "0x" + "00" * 20


def test_constructor_rejects_empty_engine(lens_deployer, errors):
    with boa.reverts(errors.EMPTY_ADDRESS):
        lens_deployer.deploy(ZERO)


def test_deployer_is_admin_and_engine_recorded(lens, world, admin):
    assert lens.risk_engine() == world.engine.address
    assert lens.hasRole(b"\x00" * 32, admin)
    assert lens.liquidation() == ZERO


def test_set_liquidation_admin_only(lens, auctions, alice, errors):
    with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
        lens.set_liquidation(auctions.address)


def test_set_liquidation_logs_and_can_unwire(lens, auctions, admin, last_event):
    with boa.env.prank(admin):
        lens.set_liquidation(auctions.address)
        assert last_event(lens, "LiquidationSet").liquidation == auctions.address
        lens.set_liquidation(ZERO)
    assert lens.liquidation() == ZERO
