"""Liquidation auction life (TECH_SPEC "Liquidation": stale auctions, parameter snapshot, loss hold): an auction
sells only a liquidatable account, ends when the account is no longer below MM, expires after `max_age_seconds`
(restartable at d_start), keeps the parameters it started with, and an insolvent auction whose loss exceeds the
insurance fund holds settlement-cash withdrawals until its expiry."""

from __future__ import annotations

import dataclasses

import pytest

from crossmargin.chain.revm import RevmRevert
from crossmargin.fuzz.world import WAD
from crossmargin.model.params import LIQUIDATION_FIELDS

from .conftest import E

MAX_AGE = 3600          # default.toml
D_START, D_MAX = 5 * 10**16, 3 * 10**17


def _tuple(lp):
    return tuple(lp.onchain()[n] for n in LIQUIDATION_FIELDS)


# ---------------------------------------------------------------- bounds


@pytest.mark.parametrize("max_age", ["T - 1", 86_401])     # below the ramp T; above one day
def test_max_age_out_of_bounds_reverts(world, max_age):
    if max_age == "T - 1":
        max_age = world.params.liquidation.auction_seconds - 1
    bad = {**world.params.liquidation.onchain(), "max_age_seconds": max_age}
    with pytest.raises(RevmRevert, match=E.BAD_LIQUIDATION_PARAMS):   # the setter's reason bubbles up from execute
        world.govern(world.liquidation, "set_params", tuple(bad[n] for n in LIQUIDATION_FIELDS))


# ---------------------------------------------------------------- a bid on a healthy account


def test_a_bid_on_an_account_above_mm_reverts_and_anyone_ends_the_auction(world, cast, underwater, start, health):
    """The stale-auction attack in small: the account recovers, then dips below IM but stays above MM; the old
    auction takes no bid, anyone closes it, and a later dip below MM opens a new one at d_start."""
    account = underwater()
    start(account)
    world.warp(1000)                       # the discount reached d_max
    world.set_price("ETH", 2800 * WAD)     # between MM and IM
    eq_im, _, im, _, _ = world.margin(account)
    assert health(account) >= 0 and eq_im < im
    with pytest.raises(RevmRevert, match=E.NOT_LIQUIDATABLE):
        world.liquidation.bid(account, cast.keeper.account, WAD, 2**200, sender=cast.keeper.address)
    assert world.liquidation.quote(account, WAD) == (0, 0)
    with pytest.raises(RevmRevert, match=E.AUCTION_ACTIVE):
        start(account)
    world.liquidation.close_auction(account, sender=cast.other.address)
    assert dict(world.chain.last_events)["AuctionClosed"] == {"account": account, "reason": 3}
    world.set_price("ETH", 2750 * WAD)
    start(account)
    assert dict(world.chain.last_events)["AuctionStarted"]["flag_fee"] > 0, "a new auction"
    assert world.liquidation.discount(account) == D_START


# ---------------------------------------------------------------- max age


def test_an_expired_auction_takes_no_bid_and_restarts_fresh(world, cast, underwater, start):
    account = underwater()
    start(account)
    start_time = world.now
    assert world.liquidation.auction(account)[3] == start_time + MAX_AGE
    world.warp(MAX_AGE)
    world.refresh()
    assert world.liquidation.discount(account) == D_MAX, "still live at its expiry second"
    world.warp(1)
    world.refresh()
    assert world.liquidation.discount(account) == 0, "expired: no discount on offer"
    with pytest.raises(RevmRevert, match=E.AUCTION_EXPIRED):
        world.liquidation.bid(account, cast.keeper.account, WAD, 2**200, sender=cast.keeper.address)
    with pytest.raises(RevmRevert, match=E.STILL_LIQUIDATABLE):
        world.liquidation.close_auction(account, sender=cast.other.address)
    cash = world.vault.cash_of(account)
    world.liquidation.start_auction(account, cast.other.account, sender=cast.other.address)
    assert dict(world.chain.last_events)["AuctionStarted"]["flag_fee"] == 0, "a restart pays no second flag fee"
    assert world.vault.cash_of(account) == cash
    auction = world.liquidation.auction(account)
    assert auction[0] == world.now and auction[2] is True and auction[3] == world.now + MAX_AGE
    assert world.liquidation.discount(account) == D_START
    payment, cap = world.liquidation.quote(account, WAD)
    assert world.liquidation.bid(account, cast.keeper.account, WAD, payment, sender=cast.keeper.address) == payment


def test_an_expired_auction_on_a_recovered_account_is_closed_not_restarted(world, cast, underwater, start):
    account = underwater()
    start(account)
    world.warp(MAX_AGE + 1)
    world.set_price("ETH", 3000 * WAD)
    with pytest.raises(RevmRevert, match=E.NOT_LIQUIDATABLE):
        start(account)
    world.liquidation.close_auction(account, sender=cast.other.address)
    assert world.liquidation.auction(account)[2] is False


# ---------------------------------------------------------------- parameter snapshot


def test_an_auction_keeps_the_schedule_it_started_with(world, cast, underwater, start):
    """A `set_params` that takes effect while an auction runs (d_start 0.05 -> 0.4, d_max 0.3 -> 0.8, T 900 -> 60,
    fee 1 % -> 10 %) changes nothing for it: same discount, same payment, same expiry; an auction opened afterwards
    runs on the new set. Parameters pass the timelock (24 h), so the auction runs with the longest max age (1 day)
    and the change is queued an hour before it starts."""
    world.replace_params(max_age_seconds=86_400)
    harsh = dataclasses.replace(world.params.liquidation, discount_start=0.4, discount_max=0.8, auction_seconds=60,
                                fund_fee_rate=0.1, max_age_seconds=60)
    op = world.propose(world.liquidation, "set_params", _tuple(harsh))
    world.warp(3600)
    world.refresh_all()
    account = underwater()
    start(account)
    old = world.liquidation.auction_params(account)
    world.warp(int(world.timelock.delay()) - 3600 + 1)     # the change is ready; the auction is 23 h old
    world.refresh_all()
    d_before = world.liquidation.discount(account)
    quote_before = world.liquidation.quote(account, WAD // 10)
    expiry = world.liquidation.auction(account)[3]
    assert d_before == D_MAX and quote_before[0] > 0

    world.execute(op)
    assert world.liquidation.params() == _tuple(harsh)
    assert world.liquidation.auction_params(account) == old
    assert world.liquidation.discount(account) == d_before
    assert world.liquidation.quote(account, WAD // 10) == quote_before
    assert world.liquidation.auction(account)[3] == expiry
    payment = world.liquidation.bid(account, cast.keeper.account, WAD // 10, quote_before[0],
                                    sender=cast.keeper.address)
    bid = dict(world.chain.last_events)["Bid"]
    assert payment == quote_before[0] and bid["discount"] == d_before
    sold = -(-(WAD // 10) * bid["value"] // WAD)
    assert bid["fund_fee"] == -(-sold * 10**16 // WAD), "the old 1 % fund fee"

    # a new auction (another account) runs on the new parameters
    other = cast.other
    world.deposit(other, "USDC", world.units("USDC", 100_000))
    world.set_price("ETH", 3000 * WAD)
    world.trade(cast.maker, other, "ETH-PERP", -200 * WAD, 3000 * WAD)
    world.set_price("ETH", 2750 * WAD)
    world.liquidation.start_auction(other.account, cast.keeper.account, sender=cast.keeper.address)
    assert world.liquidation.auction_params(other.account) == _tuple(harsh)
    assert world.liquidation.discount(other.account) == 4 * 10**17
    assert world.liquidation.auction(other.account)[4] == world.liquidation.params_version()


# ---------------------------------------------------------------- loss hold


def _drain_fund(world, left_usd: float) -> None:
    usdc = world.tokens["USDC"].address
    drain = (world.vault.cash_of(1) - int(left_usd * WAD)) // 10**12
    world.vault.withdraw(1, usdc, drain, world.admin, sender=world.admin)


def test_an_insolvent_auction_beyond_the_fund_holds_cash_withdrawals(world, cast, underwater, start):
    _drain_fund(world, 5_000)
    account = underwater(price=2400)
    start(account)
    auction = world.liquidation.auction(account)
    assert auction[1] is True and auction[5] is True, "insolvent, holding"
    need, holding, until = world.liquidation.loss_hold()
    assert need > world.vault.cash_of(1) and holding == 1 and until == auction[3]
    assert world.vault.loss_hold_until() == until
    usdc = world.tokens["USDC"].address
    with pytest.raises(RevmRevert, match=E.LOSS_PENDING):
        world.vault.withdraw(cast.maker.account, usdc, 1, cast.maker.address, sender=cast.maker.address)
    # collateral is not held (it is not socialised)
    world.deposit(cast.other, "WETH", world.units("WETH", 1))
    world.vault.withdraw(cast.other.account, world.tokens["WETH"].address, world.units("WETH", 1),
                         cast.other.address, sender=cast.other.address)
    # the bid socialises the loss and lifts the hold
    world.liquidation.bid(account, cast.keeper.account, WAD, 0, sender=cast.keeper.address)
    assert world.liquidation.loss_hold() == (0, 0, 0) and world.vault.loss_hold_until() == 0
    world.vault.withdraw(cast.maker.account, usdc, 1, cast.maker.address, sender=cast.maker.address)


def test_a_loss_the_fund_covers_holds_nothing(world, cast, underwater, start):
    account = underwater(price=2400)
    start(account)
    need, holding, until = world.liquidation.loss_hold()
    assert 0 < need < world.vault.cash_of(1) and holding == 0 and until == 0
    assert world.liquidation.auction(account)[5] is False
    usdc = world.tokens["USDC"].address
    world.vault.withdraw(cast.maker.account, usdc, 1, cast.maker.address, sender=cast.maker.address)


def test_the_hold_ends_at_the_auctions_expiry_and_a_restart_does_not_extend_it(world, cast, underwater, start):
    _drain_fund(world, 5_000)
    account = underwater(price=2400)
    start(account)
    usdc = world.tokens["USDC"].address
    world.warp(MAX_AGE + 1)
    world.refresh()
    world.vault.withdraw(cast.maker.account, usdc, 1, cast.maker.address, sender=cast.maker.address)
    world.liquidation.start_auction(account, cast.keeper.account, sender=cast.keeper.address)   # restart
    assert world.liquidation.auction(account)[5] is True, "still the episode's hold"
    world.vault.withdraw(cast.maker.account, usdc, 1, cast.maker.address, sender=cast.maker.address)
    world.liquidation.bid(account, cast.keeper.account, WAD, 0, sender=cast.keeper.address)
    assert world.liquidation.loss_hold() == (0, 0, 0)


def test_a_recovered_insolvent_auction_releases_the_hold(world, cast, underwater, start):
    _drain_fund(world, 5_000)
    account = underwater(price=2400)
    start(account)
    world.set_price("ETH", 3000 * WAD)
    world.liquidation.close_auction(account, sender=cast.other.address)
    assert world.liquidation.loss_hold() == (0, 0, 0) and world.vault.loss_hold_until() == 0


def test_refresh_loss_holds_once_a_running_auction_turns_insolvent(world, cast, underwater, start):
    _drain_fund(world, 5_000)
    account = underwater()
    start(account)
    with pytest.raises(RevmRevert, match=E.NOT_INSOLVENT):
        world.liquidation.refresh_loss(account, sender=cast.other.address)
    world.set_price("ETH", 2400 * WAD)
    assert world.liquidation.mark_value(account) < 0
    world.liquidation.refresh_loss(account, sender=cast.other.address)
    auction = world.liquidation.auction(account)
    assert auction[1] is True and auction[5] is True
    assert world.vault.loss_hold_until() == auction[3], "held until the running auction's own expiry"


def test_only_the_clearing_role_sets_the_hold(world, cast):
    with pytest.raises(RevmRevert, match=E.MISSING_ROLE):
        world.vault.set_loss_hold(2**40, sender=cast.other.address)
