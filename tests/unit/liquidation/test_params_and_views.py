"""Liquidation parameters (bounds, role) and views (mark value, quote = bid)."""

from __future__ import annotations

import dataclasses

import pytest

from crossmargin.chain.revm import RevmRevert
from crossmargin.fuzz.world import WAD
from crossmargin.model.params import LIQUIDATION_FIELDS

from .conftest import E


def _tuple(params):
    return tuple(params.onchain()[n] for n in LIQUIDATION_FIELDS)


def test_deployed_with_the_parameter_file(world):
    assert world.liquidation.params() == _tuple(world.params.liquidation)
    assert world.liquidation.vault() == world.vault.address
    assert world.liquidation.clearinghouse() == world.clearing.address
    assert world.liquidation.risk_engine() == world.engine.address


@pytest.mark.parametrize("change", [
    {"discount_start": 0.4},                      # above discount_max
    {"discount_max": 0.9},                        # d_max + r > 0.9
    {"auction_seconds": 59}, {"auction_seconds": 86_401},
    {"flag_fee_rate": 0.11},
])
def test_params_out_of_bounds_revert(world, change):
    lp = world.params.liquidation
    bad = tuple({**lp.onchain(), **{k: (v if k == "auction_seconds" else int(v * WAD)) for k, v in change.items()}}[n]
                for n in LIQUIDATION_FIELDS)
    with pytest.raises(RevmRevert, match=E.BAD_LIQUIDATION_PARAMS):
        world.govern(world.liquidation, "set_params", bad)


def test_full_close_health_above_one_reverts(world):
    bad = {**world.params.liquidation.onchain(), "full_close_health": WAD + 1}
    with pytest.raises(RevmRevert, match=E.BAD_LIQUIDATION_PARAMS):
        world.govern(world.liquidation, "set_params", tuple(bad[n] for n in LIQUIDATION_FIELDS))


def test_only_the_risk_manager_sets_params(world, cast):
    new = dataclasses.replace(world.params.liquidation, discount_max=0.2)
    with pytest.raises(RevmRevert, match=E.MISSING_ROLE):
        world.liquidation.set_params(_tuple(new), sender=cast.other.address)
    with pytest.raises(RevmRevert, match=E.MISSING_ROLE):      # the deployer kept no direct power
        world.liquidation.set_params(_tuple(new), sender=world.admin)
    world.govern(world.liquidation, "set_params", _tuple(new))   # the Timelock holds the role
    assert world.liquidation.params()[1] == 2 * 10**17
    assert dict(world.chain.last_events)["ParamsSet"]["params"][1] == 2 * 10**17


def test_mark_value_adds_the_haircuts_back(world, cast, underwater):
    account = underwater(collateral_weth=5, price=3000)
    eq_im, eq_mm, _, _, _ = world.margin(account)
    value = world.liquidation.mark_value(account)
    cash = world.vault.cash_of(account)
    # cash + 5 WETH at 3,000 + 200 ETH long at cost = its value
    assert value == cash + 5 * 3000 * WAD
    assert eq_mm < value, "E_mm takes the WETH haircut off"


def test_quote_is_what_the_bid_pays(world, cast, underwater, start):
    account = underwater()
    start(account)
    world.warp(123)
    for fraction in (WAD // 20, WAD // 10):
        payment, cap = world.liquidation.quote(account, fraction)
        assert payment > 0 and cap > fraction
        assert world.liquidation.bid(account, cast.keeper.account, fraction, payment,
                                     sender=cast.keeper.address) == payment
