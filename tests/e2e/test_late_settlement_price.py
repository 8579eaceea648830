"""Late settlement (issue 10 §6): a dated instrument used to settle at the oracle price read by whoever called
`settle()` first, at any time after expiry. Seen: a call at the money at expiry (ETH 3,000, strike 3,000), settled
two days later with ETH at 3,400, paid 4,000 on 10 calls that were worth nothing at expiry.

Now `settle(id, round_hint)` records the price of the primary feed's round current at expiry, checked on chain
(the round's updatedAt <= expiry < the next round's): the holder who waits gains nothing, and a hint naming any other
round reverts. Without a hint only the admin's current-price fallback remains (for a feed whose history cannot prove
the expiry), after the settlement grace: the holder who profits from waiting cannot use it.
"""

from __future__ import annotations

import pytest

from crossmargin.chain.revm import RevmRevert
from tests.e2e.helpers import E, WAD, usd

CALL = "ETH-C-3000-7D"
SIZE = 10 * WAD
HOUR = 3600


def _to_expiry_then_rally(world):
    """The buyer holds 10 ATM calls; ETH is 3,000 at expiry, then rallies to 3,400 over two days."""
    maker, buyer = world.traders[0], world.traders[1]
    world.deposit(buyer, "USDC", usd(world, 100_000))
    call = world.instruments[CALL]
    world.trade(maker, buyer, call, -SIZE, 100 * WAD)              # the buyer pays 100 per call
    expiry = world.markets.instrument(call)[3]
    world.warp(expiry - 600 - world.now)
    world.set_price("ETH", 3000 * WAD)                              # the round current at expiry
    world.warp(1200)                                                # expiry + 600
    for step in range(48):                                          # two days of hourly rounds up to 3,400
        world.set_price("ETH", (3000 + 400 * (step + 1) // 48) * WAD)
        world.warp(HOUR)
    world.refresh()
    return maker, buyer, call, expiry


def _settle_late(world, call):
    """The holder settles two days after expiry, by whatever `settle` the protocol offers."""
    if hasattr(world, "settle"):
        world.settle(call)                                          # the round current at expiry (walked back)
    else:
        world.markets.settle(call, sender=world.admin)              # before the fix: the price now


def test_settling_two_days_late_pays_the_price_at_expiry(world):
    maker, buyer, call, expiry = _to_expiry_then_rally(world)
    assert world.now >= expiry + 2 * 86400
    before = world.vault.cash_of(buyer.account)
    _settle_late(world, call)
    world.clearing.settle_account(buyer.account, sender=world.admin)
    payout = world.vault.cash_of(buyer.account) - before
    price = world.markets.instrument(call)[4]
    print(f"\n[late settlement] index at expiry 3,000, two days later 3,400: settled at {price / WAD:,.2f}, "
          f"10 ATM calls paid {payout / WAD:,.2f}")
    assert price == 3000 * WAD, "the settlement price is the oracle's at expiry"
    assert payout == 0, "an option at the money at expiry pays nothing, however late it settles"


def test_a_hint_naming_another_round_reverts(world):
    maker, buyer, call, expiry = _to_expiry_then_rally(world)
    from crossmargin.chain.rounds import feed_round_at

    feed = world.feeds["ETH"]
    at_expiry = feed_round_at(feed, expiry)
    latest = feed.latestRoundData()[0]
    for wrong in (latest, at_expiry + 1, at_expiry - 1):      # 3,400 now; the first round after expiry; one before
        with pytest.raises(RevmRevert, match=E["BAD_ROUND_HINT"]):
            world.markets.settle(call, wrong, sender=buyer.address)
    with pytest.raises(RevmRevert, match=E["ROUND_HINT_REQUIRED"]):
        world.markets.settle(call, 0, sender=buyer.address)   # the current-price fallback is the admin's, not his
    world.settle(call)
    assert world.markets.instrument(call)[4] == 3000 * WAD
