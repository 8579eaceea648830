"""RiskEngine constructor, wiring and role surface."""

import boa
import pytest

from tests.unit.risk_engine.conftest import ZERO


@pytest.mark.parametrize("which", range(5))
def test_constructor_rejects_empty_addresses(world, which, errors):
    args = [world.vault.address, world.markets.address, world.router.address, world.vol.address,
            world.correlation_check.address]
    args[which] = ZERO
    with boa.reverts(errors.EMPTY_ADDRESS):
        world.deploy("RiskEngine", *args)


def test_constructor_stores_sources_and_admin(world, fresh_engine, roles):
    assert fresh_engine.vault() == world.vault.address
    assert fresh_engine.markets() == world.markets.address
    assert fresh_engine.router() == world.router.address
    assert fresh_engine.vol_oracle() == world.vol.address
    assert fresh_engine.correlation_check() == world.correlation_check.address
    assert fresh_engine.hasRole(b"\x00" * 32, world.admin)
    assert fresh_engine.RISK_MANAGER_ROLE() == roles.RISK_MANAGER
    assert fresh_engine._storage._positions.get() == ZERO      # no view (bytes): the PositionsSet event tells


def test_set_positions_admin_only(world, fresh_engine, errors):
    with boa.reverts(errors.MISSING_ROLE):
        fresh_engine.set_positions(world.positions.address, sender=world.risk_manager)


def test_set_positions_rejects_empty(world, fresh_engine, errors):
    with boa.reverts(errors.EMPTY_ADDRESS):
        fresh_engine.set_positions(ZERO, sender=world.admin)


def test_set_positions_stores_and_logs(world, fresh_engine, last_event):
    fresh_engine.set_positions(world.positions.address, sender=world.admin)
    assert last_event(fresh_engine, "PositionsSet").positions == world.positions.address
    assert fresh_engine._storage._positions.get() == world.positions.address


def test_views_revert_until_configured(world, fresh_engine, setup, errors, roles):
    aid = world.open_account()
    with boa.reverts(errors.NOT_CONFIGURED):
        fresh_engine.margin(aid)
    fresh_engine.set_positions(world.positions.address, sender=world.admin)
    with boa.reverts(errors.NOT_CONFIGURED):   # risk parameters still unset
        fresh_engine.is_above_im(aid)
    fresh_engine.set_bounds(setup.bounds, sender=world.admin)
    fresh_engine.grantRole(roles.RISK_MANAGER, world.risk_manager, sender=world.admin)
    fresh_engine.set_risk_params(setup.risk, sender=world.risk_manager)
    assert fresh_engine.margin(aid) == (0, 0, 0, 0, 0)


def test_engine_is_the_vault_margin_checker(world):
    assert world.vault.margin_checker() == world.engine.address


def test_runtime_fits_eip170(world):
    """EIP-170 applies to the deployed code: the runtime plus the immutables Vyper appends to it at deploy time
    (RiskEngine's five addresses are 160 bytes beyond `runtime_size`)."""
    import boa

    from crossmargin.chain.artifacts import artifact

    assert artifact("RiskEngine").runtime_size <= 24_576
    for name in ("engine", "vault", "clearing"):
        contract = getattr(world, name)
        assert len(boa.env.get_code(getattr(contract, "address", contract))) <= 24_576, name
