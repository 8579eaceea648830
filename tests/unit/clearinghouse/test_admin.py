"""Constructor, rewiring setters and fee rates (admin / risk manager, inside bounds)."""

import boa

ZERO = "0x" + "00" * 20


def test_constructor_rejects_empty_addresses(clearinghouse_deployer, vault, markets, risk, errors):
    for args in [(ZERO, markets.address, risk.address), (vault.address, ZERO, risk.address),
                 (vault.address, markets.address, ZERO)]:
        with boa.reverts(errors.EMPTY_ADDRESS):
            clearinghouse_deployer.deploy(*args)


def test_wiring_views_and_setters(ch, vault, markets, risk, admin, alice, errors, last_event):
    assert (ch.vault(), ch.markets(), ch.risk_engine()) == (vault.address, markets.address, risk.address)
    new = [boa.env.generate_address(n) for n in ("v2", "m2", "r2")]
    for setter in (ch.set_vault, ch.set_markets, ch.set_risk_engine):
        with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
            setter(new[0])
        with boa.env.prank(admin), boa.reverts(errors.EMPTY_ADDRESS):
            setter(ZERO)
    with boa.env.prank(admin):
        ch.set_vault(new[0])
        ch.set_markets(new[1])
        ch.set_risk_engine(new[2])
        log = last_event(ch, "ContractsSet")
    assert (log.vault, log.markets, log.risk_engine) == tuple(new)
    assert (ch.vault(), ch.markets(), ch.risk_engine()) == tuple(new)


def test_fee_rates(ch, admin, risk_manager, alice, errors, last_event):
    assert (ch.taker_fee_rate(), ch.max_fee_rate()) == (0, 10**16)
    with boa.env.prank(risk_manager):
        ch.set_taker_fee_rate(10**16)
        with boa.reverts(errors.FEE_TOO_HIGH):
            ch.set_taker_fee_rate(10**16 + 1)
    with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
        ch.set_taker_fee_rate(0)
    with boa.env.prank(admin):
        with boa.reverts(errors.MISSING_ROLE):  # the admin is not the risk manager
            ch.set_taker_fee_rate(0)
        with boa.reverts(errors.FEE_TOO_HIGH):
            ch.set_max_fee_rate(10**17 + 1)
        ch.set_max_fee_rate(10**15)  # lowering the bound lowers the taker rate with it
        log = last_event(ch, "FeeRatesSet")
    assert (log.taker_fee_rate, log.max_fee_rate) == (10**15, 10**15)
    assert ch.taker_fee_rate() == 10**15
    with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
        ch.set_max_fee_rate(0)


def test_roles_exposed(ch, roles, admin, guardian, risk_manager):
    assert ch.RISK_MANAGER_ROLE() == roles.RISK_MANAGER and ch.GUARDIAN_ROLE() == roles.GUARDIAN
    assert ch.hasRole(roles.ADMIN, admin) and ch.hasRole(roles.GUARDIAN, guardian)
    assert ch.hasRole(roles.RISK_MANAGER, risk_manager)
