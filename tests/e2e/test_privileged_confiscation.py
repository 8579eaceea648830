"""Privileged confiscation (issue 11 §2): every step inside the on-chain bounds, in one block, no timelock — ten
chained `set_vol` calls (each within the 25 % per-update cap) take ETH vol from 0.6 to 5.0, the risk manager sets
z = 6 and a 7-day horizon (shock 50 %) and the liquidation discount to 0.9 — and a healthy 5× account (equity
100k, MM 46k) is liquidated at once, losing its whole book for ~10k.

The fix: every parameter change is queued on the Timelock (24 h, visible, cancellable by the guardian); the
risk-manager EOA holds no role on the contracts any more, so its direct calls revert, nothing takes effect before
the eta, and the guardian cancels. The vol chain is stopped by the VolOracle's per-time rate limit (another
change: see the marked test below).

Each test first *tries* the attack the way it worked before (direct calls); on the old code they go through and
the account is liquidated, so the final assertion (loss == 0) fails there.
"""

from __future__ import annotations

import dataclasses

from crossmargin.chain.deploy import RISK_PARAMS_ORDER
from crossmargin.chain.revm import RevmRevert
from crossmargin.model.params import LIQUIDATION_FIELDS
from tests.e2e.helpers import WAD, health, price, usd, value

DAY = 86_400
ETH = 1


def _five_x_long(world):
    """Trader 1: 100k USDC and a 500k ETH-PERP long (5×) at the index, healthy; trader 2 is the keeper."""
    maker, victim, keeper = world.traders[0], world.traders[1], world.traders[2]
    world.deposit(victim, "USDC", usd(world, 100_000))
    world.deposit(keeper, "USDC", usd(world, 2_000_000))
    world.trade(maker, victim, "ETH-PERP", -(500_000 * WAD * WAD // price(world, "ETH")), price(world, "ETH"))
    _, e_mm, _, mm, _ = world.margin(victim.account)
    print(f"\n5x account: equity {e_mm / WAD:,.0f}, MM {mm / WAD:,.0f}")
    assert e_mm > mm, "healthy before the attack"
    return victim, keeper


def _attempt(fn) -> bool:
    """Run a privileged call directly; True if it went through (the old code), False if it reverted."""
    try:
        fn()
        return True
    except RevmRevert:
        return False


def _hostile_risk_params(world) -> tuple:
    p = dict(zip(RISK_PARAMS_ORDER, world.engine.risk_params()))
    p.update(z=6 * WAD, horizon_seconds=7 * DAY)
    return tuple(p[n] for n in RISK_PARAMS_ORDER)


def _hostile_liquidation_params(world) -> tuple:
    lp = dataclasses.replace(world.params.liquidation, discount_start=0.9, discount_max=0.9, fund_fee_rate=0.0)
    return tuple(lp.onchain()[n] for n in LIQUIDATION_FIELDS)


def _liquidate(world, victim, keeper) -> int:
    """The keeper's best take if the account is liquidatable: start, then buy as much as allowed at the discount.
    Returns the victim's loss (mark value before - after, USD WAD); 0 if it could not be liquidated."""
    before = value(world, victim.account)
    try:
        world.liquidation.start_auction(victim.account, keeper.account, sender=keeper.address)
    except RevmRevert as exc:
        print(f"  keeper: start_auction reverts '{exc.reason}'")
        return 0
    payment, cap = world.liquidation.quote(victim.account, WAD)
    world.liquidation.bid(victim.account, keeper.account, WAD, payment, sender=keeper.address)
    loss = before - value(world, victim.account)
    print(f"  keeper bought {cap / WAD:.0%} of the book for {payment / WAD:,.0f}: the account lost {loss / WAD:,.0f}")
    return loss


def test_risk_manager_cannot_seize_a_healthy_account_in_one_block(world):
    """z = 6, a 7-day horizon and a 0.9 discount, in one block: direct calls revert (no role), the queued ones
    are not effective before 24 h, the guardian cancels them, and the account is never liquidatable."""
    victim, keeper = _five_x_long(world)
    risk_manager = world.admin                # the EOA that was the risk manager (now: a proposer only)
    hostile_risk, hostile_liq = _hostile_risk_params(world), _hostile_liquidation_params(world)
    params_before = tuple(world.engine.risk_params())

    direct = [
        _attempt(lambda: world.engine.set_risk_params(hostile_risk, sender=risk_manager)),
        _attempt(lambda: world.liquidation.set_params(hostile_liq, sender=risk_manager)),
    ]
    print(f"direct changes by the risk manager went through: {direct}")
    if not any(direct):
        # the only way left: the timelock. Queued in the same block, visible, nothing effective yet.
        ops = [world.propose(world.engine, "set_risk_params", hostile_risk),
               world.propose(world.liquidation, "set_params", hostile_liq)]
        etas = [world.timelock.operations(op[0])[1] for op in ops]
        assert all(eta >= world.now + DAY for eta in etas), "24 h of notice"
        print(f"queued ops {[op[0] for op in ops]}, eta in {(etas[0] - world.now) / 3600:.0f} h")
        assert tuple(world.engine.risk_params()) == params_before
        assert health(world, victim.account) > 0
        world.warp(DAY - 3600)                    # an hour before the eta: still nothing
        world.refresh_all()
        for op in ops:
            assert not world.timelock.is_ready(op[0])
            assert not _attempt(lambda op=op: world.execute(op)), "not executable before its eta"
        assert tuple(world.engine.risk_params()) == params_before
        for op in ops:                            # the guardian sees the queue and cancels
            world.timelock.cancel(op[0], sender=world.admin)
        world.warp(2 * 3600)
        world.refresh_all()
        for op in ops:
            assert not _attempt(lambda op=op: world.execute(op)), "a cancelled change never executes"
        assert tuple(world.engine.risk_params()) == params_before

    loss = _liquidate(world, victim, keeper)
    print(f"loss of the healthy 5x account: {loss / WAD:,.0f} USD")
    assert loss == 0


def test_the_notice_lets_the_account_deleverage(world):
    """If the guardian does not cancel, the 24 h notice is what protects users: the 5x account halves its long
    during the notice, and the hostile parameters, once executed, do not make it liquidatable."""
    victim, keeper = _five_x_long(world)
    maker = world.traders[0]
    op = world.propose(world.engine, "set_risk_params", _hostile_risk_params(world))
    world.trade(maker, victim, "ETH-PERP", 400_000 * WAD * WAD // price(world, "ETH"), price(world, "ETH"))
    world.warp(DAY + 1)
    world.refresh_all()
    world.execute(op)
    assert world.engine.risk_params()[0] == 6 * WAD
    _, e_mm, _, mm, _ = world.margin(victim.account)
    print(f"after the change: equity {e_mm / WAD:,.0f}, MM {mm / WAD:,.0f}")
    assert e_mm > mm
    assert _liquidate(world, victim, keeper) == 0


def test_the_whole_scenario_with_the_vol_chain_fails(world):
    """The issue's scenario in full: ten chained set_vol 0.6 → 5.0 by the feeder plus the risk manager's changes,
    one block. The governance part cannot work (above); the vol chain is stopped by the VolOracle's per-time rate
    limit (×2 per hour), so vol is at most 1.2 in that block and the account stays healthy.

    NOTE FOR THE LEAD: the final `loss == 0` assertion needs the VolOracle per-time rate limit from the other
    helper's branch; on the governance branch alone (VolOracle unchanged: 25 % per call, no time limit) the ten
    calls all go through, vol reaches 5.0 and this test FAILS with the loss printed. Verify after merging."""
    victim, keeper = _five_x_long(world)
    hostile_risk, hostile_liq = _hostile_risk_params(world), _hostile_liquidation_params(world)
    _attempt(lambda: world.engine.set_risk_params(hostile_risk, sender=world.admin))
    _attempt(lambda: world.liquidation.set_params(hostile_liq, sender=world.admin))
    step = (5.0 / 0.6) ** (1 / 10)
    vol = 0.6
    for _ in range(10):
        vol = min(5.0, vol * step)
        _attempt(lambda v=vol: world.vol.set_vol(ETH, int(v * WAD), sender=world.admin))
    posted = world.vol.vol(ETH)[0]
    print(f"ETH vol after the chain: {posted / WAD:.2f}")
    loss = _liquidate(world, victim, keeper)
    print(f"loss of the healthy 5x account: {loss / WAD:,.0f} USD")
    assert posted <= 2 * 6 * WAD // 10, "at most x2 within the hour"   # needs the VolOracle rate limit (see NOTE)
    assert loss == 0                                                     # needs the VolOracle rate limit (see NOTE)
