"""Escalation of an auction nobody bids (issue 18; TECH_SPEC "Escalation of an auction nobody bids"): bounds, when a
full bid escalates, the reward's ramp and split against the model mirror (`LiquidationParams.escalation_reward_at`,
`escalated_bid`), and what stays an ordinary bid (a partial bid, an account that is not a sliver)."""

from __future__ import annotations

import pytest

from crossmargin.chain.revm import RevmRevert
from crossmargin.model.params import LIQUIDATION_FIELDS
from tests.unit.liquidation.conftest import WAD, E


def _sliver(underwater, start):
    """100 ETH long on 36,000 USDC, ETH at 2,655: V ≈ 1,373 USD, MM ≈ 25,367 (V < 0.3·MM); auction opened."""
    account = underwater(size_eth=100, cash_usd=36_000, price=2655)
    start(account)
    return account


@pytest.mark.parametrize("field,bad", [("escalation_delay", 86_401), ("escalation_reward", 5 * 10**17 + 1)])
def test_escalation_params_out_of_bounds_revert(world, field, bad):
    p = {**world.params.liquidation.onchain(), field: bad}
    with pytest.raises(RevmRevert, match=E.BAD_LIQUIDATION_PARAMS):
        world.govern(world.liquidation, "set_params", tuple(p[n] for n in LIQUIDATION_FIELDS))


def _with_delay(world, delay: int):
    """The liquidation parameters with `escalation_delay` = `delay` (through the Timelock; new auctions use them)."""
    import dataclasses

    lp = dataclasses.replace(world.params.liquidation, escalation_delay=delay)
    world.govern(world.liquidation, "set_params", tuple(lp.onchain()[n] for n in LIQUIDATION_FIELDS))
    world.params = dataclasses.replace(world.params, liquidation=lp)
    return lp


def test_the_escalation_counts_from_the_auction_start_and_splits_at_d_t_as_the_model_says(
        world, cast, underwater, start):
    """The delay counts from the auction's (re)start, not from the ramp's end: with a delay of T/3 the bid at
    T/3 + T/2 escalates while the discount is still ramping (d(t) < d_max), earns half the reward cap, and the
    owner gets exactly a full bid at d(t) minus the reward (never more than that full bid would pay him)."""
    liq = world.liquidation
    account = underwater(size_eth=100, cash_usd=36_000, price=3000)    # _sliver's book, the price moved below
    lp = _with_delay(world, world.params.liquidation.auction_seconds // 3)
    world.set_price("ETH", 2655 * WAD)
    start(account)
    began = liq.auction(account)[0]
    world.warp(lp.escalation_delay - 1)
    world.refresh()
    assert liq.escalation(account) == (False, 0), "one second before the escalation"
    world.warp(1 + lp.auction_seconds // 2)
    world.refresh()
    d = liq.discount(account)
    assert world.now - began < lp.auction_seconds and d < lp.onchain()["discount_max"], "still on the ramp"
    value, mm = liq.mark_value(account), world.margin(account)[3]
    escalated, reward = liq.escalation(account)
    assert escalated and reward == mm * lp.onchain()["escalation_reward"] * (lp.auction_seconds // 2) // (
        WAD * lp.auction_seconds)
    assert reward == pytest.approx(lp.escalation_reward_at(world.now - began, value / WAD, mm / WAD) * WAD, rel=1e-9)

    fund = world.vault.cash_of(1)
    payment, cap = liq.quote(account, WAD)
    paid = liq.bid(account, cast.keeper.account, WAD, payment, sender=cast.keeper.address)
    ev = dict(world.chain.last_events)["EscalatedBid"]
    assert dict(world.chain.last_events)["Bid"]["discount"] == d
    model = lp.escalated_bid(value / WAD, mm / WAD, reward / WAD, fund / WAD, discount=d / WAD)
    assert cap == WAD and paid == payment
    assert ev["owner_paid"] / WAD == pytest.approx(model["owner_paid"], rel=1e-9)
    assert ev["fund_paid"] / WAD == pytest.approx(model["fund_paid"], rel=1e-9) and ev["socialized"] == 0
    owner = world.vault.cash_of(account)
    assert owner / WAD == pytest.approx(model["owner"], abs=1e-9)
    full_bid_at_d = value * (WAD - d - lp.onchain()["fund_fee_rate"]) // WAD
    assert owner <= full_bid_at_d and ev["fund_paid"] == max(0, reward - ev["owner_paid"]) \
        and (ev["fund_paid"] == 0 or ev["owner_paid"] >= full_bid_at_d - 2), "the fund pays only beyond the owner"
    assert liq.auction(account)[2] is False, "the account is emptied: the auction closed"


def test_the_reward_ramps_over_t_from_the_escalation(world, underwater, start):
    """Default parameters: the reward is 0 until escalation_delay after the start, then grows linearly to its cap
    escalation_reward·MM over T, and stays there."""
    lp, liq = world.params.liquidation, world.liquidation
    account = _sliver(underwater, start)
    began = liq.auction(account)[0]
    rate = lp.onchain()["escalation_reward"]
    for at in (lp.escalation_delay, lp.escalation_delay + lp.auction_seconds // 4,
               lp.escalation_delay + lp.auction_seconds, lp.escalation_delay + 2 * lp.auction_seconds):
        world.warp(began + at - world.now)
        world.refresh()
        mm = world.margin(account)[3]
        escalated, reward = liq.escalation(account)
        assert escalated and reward == mm * rate * min(at - lp.escalation_delay, lp.auction_seconds) // (
            WAD * lp.auction_seconds), at


def test_a_partial_bid_on_an_escalated_auction_is_an_ordinary_one(world, cast, underwater, start):
    lp, liq = world.params.liquidation, world.liquidation
    account = _sliver(underwater, start)
    world.warp(lp.auction_seconds + lp.escalation_delay)
    world.refresh()
    assert liq.escalation(account)[0]
    fund = world.vault.cash_of(1)
    liq.bid(account, cast.keeper.account, WAD // 2, 2**200, sender=cast.keeper.address)
    names = [name for name, _ in world.chain.last_events]
    assert "EscalatedBid" not in names and "Bid" in names
    assert world.vault.cash_of(1) >= fund, "the fund only earned its fee"


def test_an_account_that_is_not_a_sliver_never_escalates(world, cast, underwater, start):
    """V ≥ escalation_reward·MM: worth a bid at d_max to someone; its owner keeps the d_max floor however late."""
    lp, liq = world.params.liquidation, world.liquidation
    account = underwater()                       # 200 ETH on 100k at 2,750: V ≈ 0.95·MM
    start(account)
    world.warp(lp.max_age_seconds)
    world.refresh()
    value = liq.mark_value(account)
    assert value * WAD >= world.margin(account)[3] * lp.onchain()["escalation_reward"]
    assert liq.escalation(account) == (False, 0)
    payment, cap = liq.quote(account, WAD)
    assert payment >= cap * value // WAD * 7 // 10
