"""Timelock: queue → wait → execute, the window, cancel, the delay's own timelock, role hand-over, and the guardian's
immediate tightenings (each allowed one, each refused loosening, and that a tightening never makes an account
liquidatable)."""

from __future__ import annotations

import pytest

from crossmargin.chain.deploy import RISK_PARAMS_ORDER, ROLES
from crossmargin.chain.governance import ADMIN_ROLE, TIMELOCK_ROLES, calldata
from crossmargin.chain.revm import RevmRevert
from crossmargin.fuzz.world import WAD
from .conftest import E

DAY = 86_400
IM = RISK_PARAMS_ORDER.index("im_factor")


def _params(world) -> list[int]:
    return list(world.engine.risk_params())


def _queue_z(world, z: int):
    p = _params(world)
    p[RISK_PARAMS_ORDER.index("z")] = z
    return world.propose(world.engine, "set_risk_params", tuple(p))


# -- hand-over ---------------------------------------------------------------------------------------------------
def test_the_deployer_keeps_no_admin_or_risk_manager_role(world):
    for c in (world.vault, world.router, world.vol, world.markets, world.engine, world.clearing, world.liquidation):
        assert not c.hasRole(ADMIN_ROLE, world.admin)
        assert c.hasRole(ADMIN_ROLE, world.governor)
    for c in (world.markets, world.engine, world.clearing, world.liquidation):
        assert not c.hasRole(ROLES["RISK_MANAGER_ROLE"], world.admin)
        assert c.hasRole(ROLES["RISK_MANAGER_ROLE"], world.governor)
    assert world.timelock.hasRole(ADMIN_ROLE, world.governor) and not world.timelock.hasRole(ADMIN_ROLE, world.admin)
    assert world.timelock.hasRole(TIMELOCK_ROLES["PROPOSER_ROLE"], world.admin)
    assert world.timelock.hasRole(TIMELOCK_ROLES["CANCELLER_ROLE"], world.admin)


def test_a_direct_risk_parameter_change_reverts(world):
    with pytest.raises(RevmRevert, match=E.MISSING_ROLE):
        world.engine.set_risk_params(tuple(_params(world)), sender=world.admin)
    with pytest.raises(RevmRevert, match=E.MISSING_ROLE):
        world.markets.set_caps(1, 0, 0, sender=world.admin)


# -- queue, window, execute ------------------------------------------------------------------------------------
def test_queue_records_eta_and_emits_the_calldata(world):
    op = _queue_z(world, 4 * WAD)
    name, args = world.chain.last_events[-1]
    assert name == "Queued" and args["id"] == op[0] and args["data"] == op[2]
    assert args["eta"] == world.now + DAY
    digest, eta, state = world.timelock.operations(op[0])
    assert (eta, state) == (world.now + DAY, 1) and bytes(digest) == bytes(world.timelock.digest(op[1], op[2]))
    assert world.timelock.operation_count() == op[0]


def test_nothing_changes_before_the_eta(world):
    z = _params(world)[0]
    op = _queue_z(world, 4 * WAD)
    world.warp(DAY - 60)
    with pytest.raises(RevmRevert, match=E.TIMELOCK_NOT_READY):
        world.execute(op)
    assert _params(world)[0] == z
    world.warp(120)
    world.refresh_all()
    world.execute(op)
    assert _params(world)[0] == 4 * WAD
    with pytest.raises(RevmRevert, match=E.NOT_QUEUED):
        world.execute(op)


def test_a_stale_operation_expires_after_the_grace_period(world):
    op = _queue_z(world, 4 * WAD)
    world.warp(DAY + int(world.timelock.GRACE_PERIOD()) + 60)
    assert not world.timelock.is_ready(op[0])
    with pytest.raises(RevmRevert, match=E.TIMELOCK_EXPIRED):
        world.execute(op)


def test_execute_needs_the_queued_calldata_and_the_role(world):
    op = _queue_z(world, 4 * WAD)
    world.warp(DAY + 1)
    with pytest.raises(RevmRevert, match=E.WRONG_OPERATION):
        world.execute((op[0], op[1], op[2][:-1] + b"\x01"))
    with pytest.raises(RevmRevert, match=E.MISSING_ROLE):
        world.execute(op, sender=world.traders[0].address)


def test_only_proposers_queue(world):
    with pytest.raises(RevmRevert, match=E.MISSING_ROLE):
        world.propose(world.engine, "set_risk_params", tuple(_params(world)), sender=world.traders[0].address)


def test_a_failing_call_reverts_with_its_own_reason(world):
    op = _queue_z(world, 7 * WAD)                    # above the bound z <= 6
    world.warp(DAY + 1)
    world.refresh_all()
    with pytest.raises(RevmRevert, match=E.OUT_OF_BOUNDS):
        world.execute(op)
    assert world.timelock.operations(op[0])[2] == 1   # still queued (the revert undid everything)


# -- cancel ----------------------------------------------------------------------------------------------------
def test_the_guardian_cancels(world):
    op = _queue_z(world, 4 * WAD)
    with pytest.raises(RevmRevert, match=E.MISSING_ROLE):
        world.timelock.cancel(op[0], sender=world.traders[0].address)
    world.timelock.cancel(op[0], sender=world.admin)
    assert world.chain.last_events[-1][0] == "Cancelled"
    world.warp(DAY + 1)
    with pytest.raises(RevmRevert, match=E.NOT_QUEUED):
        world.execute(op)
    with pytest.raises(RevmRevert, match=E.NOT_QUEUED):
        world.timelock.cancel(op[0], sender=world.admin)


# -- the delay and the roles go through the delay too -----------------------------------------------------------
def test_the_delay_changes_only_through_the_timelock_inside_its_bounds(world):
    with pytest.raises(RevmRevert, match=E.MISSING_ROLE):
        world.timelock.set_delay(13 * 3600, sender=world.admin)
    world.govern(world.timelock, "set_delay", 2 * DAY)
    assert world.timelock.delay() == 2 * DAY
    for bad in (int(world.timelock.MIN_DELAY()) - 1, int(world.timelock.MAX_DELAY()) + 1):
        op = world.propose(world.timelock, "set_delay", bad)
        world.warp(2 * DAY + 1)
        with pytest.raises(RevmRevert, match=E.BAD_DELAY):
            world.execute(op)


def test_role_grants_go_through_the_timelock(world):
    newcomer = world.traders[0].address
    with pytest.raises(RevmRevert):
        world.engine.grantRole(ROLES["RISK_MANAGER_ROLE"], newcomer, sender=world.admin)
    world.govern(world.timelock, "grantRole", TIMELOCK_ROLES["PROPOSER_ROLE"], newcomer)
    assert world.timelock.hasRole(TIMELOCK_ROLES["PROPOSER_ROLE"], newcomer)


def test_the_constructor_bounds_the_delay(world):
    for bad in (12 * 3600 - 1, 30 * DAY + 1):
        with pytest.raises(RevmRevert, match=E.BAD_DELAY):
            world.backend.deploy("Timelock", bad, world.markets.address, world.vault.address,
                                 world.engine.address, [world.admin], world.admin, False)


# -- guardian: immediate tightening only -----------------------------------------------------------------------
def _tighten(world, contract, fn, *args, sender=None):
    abi = getattr(contract, "_abi", None) or contract.abi
    world.timelock.tighten(contract.address, calldata(abi, fn, *args), sender=sender or world.admin)


def test_guardian_lowers_caps_at_once_but_never_raises_them(world):
    eth_perp = world.instruments["ETH-PERP"]
    inst = world.markets.instrument(eth_perp)
    oi, pos = inst[5], inst[6]
    _tighten(world, world.markets, "set_caps", eth_perp, 10 * WAD, 5 * WAD)
    assert world.markets.instrument(eth_perp)[5:7] == (10 * WAD, 5 * WAD)
    with pytest.raises(RevmRevert, match=E.NOT_TIGHTER):
        _tighten(world, world.markets, "set_caps", eth_perp, 11 * WAD, 5 * WAD)
    with pytest.raises(RevmRevert, match=E.MISSING_ROLE):
        _tighten(world, world.markets, "set_caps", eth_perp, 0, 0, sender=world.traders[0].address)
    assert oi >= 10 * WAD and pos >= 5 * WAD


def test_guardian_lowers_a_collateral_deposit_cap_but_not_the_settlement_assets(world):
    weth = world.tokens["WETH"].address
    _tighten(world, world.vault, "set_cap", weth, 1000 * WAD)
    assert world.vault.asset_info(weth)[2] == 1000 * WAD
    with pytest.raises(RevmRevert, match=E.NOT_TIGHTER):
        _tighten(world, world.vault, "set_cap", weth, 1001 * WAD)
    with pytest.raises(RevmRevert, match=E.NOT_TIGHTENABLE):
        _tighten(world, world.vault, "set_cap", world.tokens["USDC"].address, 0)


def test_guardian_raises_im_factor_only(world):
    p = _params(world)
    up = list(p)
    up[IM] = p[IM] + WAD // 4
    _tighten(world, world.engine, "set_risk_params", tuple(up))
    assert _params(world)[IM] == up[IM]
    down = list(up)
    down[IM] = p[IM]
    with pytest.raises(RevmRevert, match=E.NOT_TIGHTER):
        _tighten(world, world.engine, "set_risk_params", tuple(down))
    for name in ("z", "horizon_seconds", "shock_min"):   # MM-side parameters: never at once
        other = list(up)
        other[RISK_PARAMS_ORDER.index(name)] += 1
        with pytest.raises(RevmRevert, match=E.NOT_TIGHTENABLE):
            _tighten(world, world.engine, "set_risk_params", tuple(other))


def test_guardian_raises_an_im_haircut_only(world):
    weth = world.tokens["WETH"].address
    _, base_mm, base_im, slope, depth = world.engine.collateral_risk(weth)
    _tighten(world, world.engine, "set_collateral_risk", weth, base_mm, base_im + WAD // 100, slope, depth)
    assert world.engine.collateral_risk(weth)[2] == base_im + WAD // 100
    with pytest.raises(RevmRevert, match=E.NOT_TIGHTER):
        _tighten(world, world.engine, "set_collateral_risk", weth, base_mm, base_im, slope, depth)
    with pytest.raises(RevmRevert, match=E.NOT_TIGHTENABLE):
        _tighten(world, world.engine, "set_collateral_risk", weth, base_mm + 1, base_im + WAD // 100, slope, depth)
    with pytest.raises(RevmRevert, match=E.NOT_TIGHTENABLE):
        _tighten(world, world.engine, "set_collateral_risk", weth, base_mm, base_im + WAD // 100, slope + 1, depth)


def test_guardian_cannot_tighten_anything_else(world):
    lp = tuple(world.liquidation.params())
    with pytest.raises(RevmRevert, match=E.NOT_TIGHTENABLE):
        _tighten(world, world.liquidation, "set_params", lp)
    with pytest.raises(RevmRevert, match=E.NOT_TIGHTENABLE):     # the right selector on the wrong target
        world.timelock.tighten(world.liquidation.address,
                               calldata(world.markets._abi, "set_caps", 1, 0, 0), sender=world.admin)


def test_a_tightening_never_makes_an_account_liquidatable(world):
    """healthy accounts cannot be liquidated: the guardian's strictest immediate settings leave MM and E_mm
    exactly where they were (IM rises, so the account can only reduce)."""
    a, b = world.traders[:2]
    world.deposit(a, "USDC", world.units("USDC", 100_000))
    world.deposit(b, "USDC", world.units("USDC", 1_000_000))
    world.deposit(a, "WETH", world.units("WETH", 10))
    world.trade(maker=a, taker=b, instrument="ETH-PERP", maker_size=100 * WAD, price=world.prices["ETH"][0])
    e_im, e_mm, im, mm, _ = world.margin(a.account)
    p = _params(world)
    p[IM] = 3 * WAD                                            # the bound's top
    _tighten(world, world.engine, "set_risk_params", tuple(p))
    weth = world.tokens["WETH"].address
    _, base_mm, _, slope, depth = world.engine.collateral_risk(weth)
    _tighten(world, world.engine, "set_collateral_risk", weth, base_mm, 95 * WAD // 100, slope, depth)
    e_im2, e_mm2, im2, mm2, _ = world.margin(a.account)
    assert (e_mm2, mm2) == (e_mm, mm) and e_mm2 > mm2
    assert im2 > im and e_im2 < e_im


def test_open_execution_lets_anyone_execute_a_ready_operation(world):
    t = world.backend.deploy("Timelock", DAY, world.markets.address, world.vault.address, world.engine.address,
                             [world.admin], world.admin, True)
    assert t.hasRole(TIMELOCK_ROLES["EXECUTOR_ROLE"], "0x" + "00" * 20)
    assert not t.hasRole(TIMELOCK_ROLES["EXECUTOR_ROLE"], world.admin)
    data = calldata(t._abi, "set_delay", 2 * DAY)
    op_id = t.queue(t.address, data, sender=world.admin)
    world.warp(DAY)
    t.execute(op_id, t.address, data, sender=world.traders[0].address)
    assert t.delay() == 2 * DAY


def test_the_guardian_still_pauses_directly(world):
    """Pausing blocks new risk only: it stays an immediate guardian call, outside the timelock."""
    world.vault.pause(sender=world.admin)
    world.clearing.pause(sender=world.admin)
    assert world.vault.paused() and world.clearing.paused()
    world.vault.unpause(sender=world.admin)
    world.clearing.unpause(sender=world.admin)
