"""Hyperliquid, 12 March 2025: a whale opened a ~$300M ETH long at high leverage, withdrew ~$17M of unrealised
profit (which the exchange allowed down to maintenance margin), and let the position be liquidated: the
liquidity vault (HLP) took it over at a loss of ~$4M. Hyperliquid then required 20 % margin after a withdrawal.

Here:
- withdrawals stop at initial margin, never maintenance, and IM carries the concentration add-on
  λ·N²/depth: the bigger the book, the more of its unrealised profit stays in;
- when the price then turns, the whale is liquidated by a Dutch auction of fractions of its portfolio, each
  paid for by the bidder at a bounded discount: while the portfolio is worth more than nothing the insurance
  fund pays nothing (it earns the liquidation fee) and no loss is socialised;
- withdrawing during the auction is impossible (below IM).
"""

from __future__ import annotations

import pytest

from crossmargin.chain.revm import RevmRevert
from tests.e2e.helpers import E, WAD, breakdown, health, usd, value


def test_withdrawing_unrealised_profit_into_liquidation(world):
    maker, whale, keeper = world.traders[0], world.traders[1], world.traders[2]
    world.deposit(whale, "USDC", usd(world, 2_000_000))
    world.deposit(keeper, "USDC", usd(world, 5_000_000))
    world.trade(maker, whale, "ETH-PERP", -2000 * WAD, 3000 * WAD)   # a 6M USD long on 2M of cash

    world.set_price("ETH", 3300 * WAD)                                # +600k unrealised
    eq_im, eq_mm, im, mm, _ = world.margin(whale.account)
    concentration = breakdown(world, whale.account)[0]["concentration"]
    assert concentration > 200_000 * WAD, "λ·N²/depth on 6.6M of ETH delta"
    headroom = (eq_im - im) // 10**12
    assert headroom < (eq_mm - mm) // 10**12, "the IM limit, not the MM one"
    with pytest.raises(RevmRevert, match=E["BELOW_INITIAL_MARGIN"]):
        world.withdraw(whale, "USDC", headroom + 1)
    world.withdraw(whale, "USDC", headroom)                            # all it may take: down to IM

    world.set_price("ETH", 3135 * WAD)                                # -5 %: into liquidation, still solvent
    assert health(world, whale.account) < 0 and value(world, whale.account) > 0
    with pytest.raises(RevmRevert, match=E["BELOW_INITIAL_MARGIN"]):
        world.withdraw(whale, "USDC", 1)

    fund_before = world.vault.cash_of(1)
    world.liquidation.start_auction(whale.account, keeper.account, sender=keeper.address)
    world.warp(300)
    world.refresh()
    bids = 0
    while world.liquidation.auction(whale.account)[2]:
        before = health(world, whale.account)
        payment, cap = world.liquidation.quote(whale.account, WAD // 4)
        assert payment > 0, "the bidder pays for what it takes"
        world.liquidation.bid(whale.account, keeper.account, WAD // 4, payment, sender=keeper.address)
        assert health(world, whale.account) >= before
        bids += 1
        assert bids < 20
    # dev: back above MM (the auction closed); IM's crowding term prices the whole open interest, which the bids
    # do not lower (the keeper holds the lots), so the rest of the book may sit between MM and IM (TECH_SPEC "Crowding")
    _, eq_mm, _, mm, _ = world.margin(whale.account)
    assert eq_mm >= mm, "restored above MM, the rest of the book kept"
    assert world.clearing.position(whale.account, world.instruments["ETH-PERP"])[1] > 0
    assert world.liquidation.losses() == (0, 0, 0), "no fund payment, nothing socialised, no bad debt"
    assert world.vault.cash_of(1) > fund_before, "the insurance fund earned the liquidation fee"
    eq_im, _, im, _, _ = world.margin(keeper.account)
    assert eq_im >= im
