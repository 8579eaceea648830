"""Inflating the crowding aggregate to push a rival into liquidation in one block (issue 12 §1).

Crowding is priced on what the protocol holds (TECH_SPEC "Crowding"): a trader's concentration add-on is
λ·N·A·S/depth, with A the open interest of the underlying over all accounts. So anyone can raise A: wash-open a
huge long in one account against a short in another of their own, and every holder of that underlying owes
more. If maintenance margin followed A at once, the attacker could push a rival just above MM below it in the
same block, start the auction and buy the rival's book at a discount (the attacker's wash costs only fees: both
legs are its own, the capital is locked, not lost).

Defence: MM is priced on the smoothed aggregate A_s, which moves towards A over WINDOW seconds after each change
(lib/aggregates.vy), so in the block of the wash the rival's MM does not move at all, and after t seconds it has
moved by at most (A - A_s)·t/WINDOW of the jump; IM (new risk, withdrawals) prices max(A, A_s) at once, which
also warns the rival. Open-interest caps bound A, hence the largest crowding any holder can be made to pay.

The test prints the rival's MM and health before and after the wash, what a naive MM on A would have been (the
attack succeeds there: the rival is below it), and asserts the auction cannot start.
"""

from __future__ import annotations

import dataclasses

import pytest

from crossmargin.chain.revm import RevmRevert
from tests.e2e.helpers import WAD, health, usd

WINDOW = 3_600   # contracts/lib/aggregates.vy


def test_wash_opening_cannot_liquidate_a_rival_in_one_block(world):
    maker, rival, attacker = world.traders[0], world.traders[1], world.traders[2]
    price = world.prices["ETH"][0]
    # the rival: 1,000 ETH long on barely more than its initial margin, settled in for a window
    world.deposit(rival, "USDC", usd(world, 420_000))
    world.trade(maker, rival, "ETH-PERP", -1_000 * WAD, price)
    world.warp(WINDOW)
    world.refresh()
    eq_im, eq_mm, im, mm, _ = world.margin(rival.account)
    h0 = eq_mm - mm
    assert 0 < h0 < 200_000 * WAD, f"the rival sits just above MM ({h0 / WAD:,.0f})"

    # the attacker wash-opens 20,000 ETH between two of its own accounts (A: 1,000 -> 21,000 ETH)
    other = dataclasses.replace(attacker, account=world.vault.open_account(0, sender=attacker.address))
    for a in (attacker, other):
        world.deposit(a, "USDC", usd(world, 40_000_000), account=a.account)
    world.trade(other, attacker, "ETH-PERP", -20_000 * WAD, price)
    a_now, a_smooth = world.clearing.crowding(1)
    assert a_now == 21_000 * WAD

    eq_im1, eq_mm1, im1, mm1, _ = world.margin(rival.account)
    naive_mm = im1 * WAD // int(world.params.risk.im_factor * WAD)   # IM = im_factor·MM at A now
    print(f"\nrival: MM {mm / WAD:,.0f} -> {mm1 / WAD:,.0f} in the wash's block (health {h0 / WAD:,.0f} -> "
          f"{(eq_mm1 - mm1) / WAD:,.0f}); IM {im / WAD:,.0f} -> {im1 / WAD:,.0f}; a naive MM on A now would be "
          f"{naive_mm / WAD:,.0f} (health {(eq_mm1 - naive_mm) / WAD:,.0f})")
    assert naive_mm > eq_mm1, "on an unsmoothed aggregate the wash would have made the rival liquidatable"
    assert mm1 == mm and eq_mm1 - mm1 == h0, "the wash did not move the rival's MM in its block"
    assert im1 > im, "IM prices today's crowding at once (the rival is warned; no new risk at the old price)"
    with pytest.raises(RevmRevert):
        world.liquidation.start_auction(rival.account, attacker.account, sender=attacker.address)

    # five minutes on: MM has moved by at most 300/3600 of the jump
    world.warp(300)
    world.refresh()
    _, eq_mm2, _, mm2, _ = world.margin(rival.account)
    step = (naive_mm - mm) * 300 // WINDOW
    print(f"after 300 s: MM {mm2 / WAD:,.0f} (at most {(mm + step) / WAD:,.0f}), health {(eq_mm2 - mm2) / WAD:,.0f}")
    assert mm2 <= mm + step + step // 100 + WAD
    assert health(world, rival.account) > 0
