"""Splitting a book across accounts to dodge crowding (issue 12 §1). Before: the concentration add-on was
λ·N²/depth of each account's own net delta notional N and the collateral haircut slope grew with each account's
own balance, so one book split m ways paid 1/m of those terms: more unrealised profit withdrawable, more
collateral value, for the same risk to the protocol.

Now both are priced on what the protocol holds (TECH_SPEC "Crowding"): concentration λ·N·max(A·S, N)/depth with
A the open interest of the underlying over all accounts, haircut slope on max(balance, D) with D the token's
deposits over all accounts; MM on the smoothed aggregates, IM on max(current, smoothed). Σ over accounts of N·A
is the same however the book is split, so splitting (one owner or many) never lowers the total requirement or
the total haircut. Each case builds the book once in one account and once split, in two fresh worlds, and
compares the totals (within 1 %): IM in the block the book is built (it prices today's aggregate), MM once the
smoothed aggregate has caught up (`settle`: one WINDOW later; inside the window MM of the split book is lower by
at most λ·N·(N - A_s·S)/depth, and it paid the full crowding IM to open).
"""

from __future__ import annotations

import dataclasses

from crossmargin.fuzz.world import World
from tests.e2e.helpers import WAD, usd

TOLERANCE = 0.01
WINDOW = 3_600   # contracts/lib/aggregates.vy


def _world() -> World:
    w = World.revm(n_traders=3)
    w.deposit(w.traders[0], "USDC", usd(w, 100_000_000))
    return w


def _accounts(w: World, trader, n: int) -> list:
    """`n` accounts of one owner: the trader's own and n - 1 fresh ones."""
    out = [trader]
    for _ in range(n - 1):
        out.append(dataclasses.replace(trader, account=w.vault.open_account(0, sender=trader.address)))
    return out


def _read(view):
    """A view for the printout only (absent before the crowding aggregates existed)."""
    try:
        return view()
    except Exception:  # noqa: BLE001 - printing only
        return "n/a"


def settle(*worlds: World) -> None:
    """Let the smoothed aggregates reach their current values (one WINDOW; feeds refreshed)."""
    for w in worlds:
        w.warp(WINDOW)
        w.refresh()


def _totals(w: World, accounts) -> tuple[int, int, int, int]:
    """Σ (equity_im, equity_mm, im, mm) over the accounts (WAD)."""
    rows = [w.margin(a.account)[:4] for a in accounts]
    return tuple(sum(r[i] for r in rows) for i in range(4))


def _book(parts: int, legs: list[tuple[str, int]], cash: int) -> tuple[World, list]:
    """Fresh world; the legs (market, WAD size) bought from the maker by `parts` accounts of trader 1, each
    taking 1/parts of every leg on cash/parts USDC."""
    w = _world()
    maker, owner = w.traders[0], w.traders[1]
    accounts = _accounts(w, owner, parts)
    price = w.prices["ETH"][0]
    for a in accounts:
        w.deposit(a, "USDC", usd(w, cash // parts), account=a.account)
        for market, size in legs:
            w.trade(maker, a, market, -(size // parts), price)
    return w, accounts


def test_long_split_twenty_ways_pays_the_same_crowding():
    """2,000 ETH long: one account vs 20 accounts of 100 ETH. Before: IM 931,622 -> 717,872 (-23 %)."""
    legs = [("ETH-PERP", 2_000 * WAD)]
    w1, one = _book(1, legs, 2_000_000)
    w20, twenty = _book(20, legs, 2_000_000)
    _, _, im1, _ = _totals(w1, one)
    _, _, im20, _ = _totals(w20, twenty)
    settle(w1, w20)
    _, _, _, mm1 = _totals(w1, one)
    _, _, _, mm20 = _totals(w20, twenty)
    print(f"\n2,000 ETH long: IM one account {im1 / WAD:,.0f}, split 20 ways {im20 / WAD:,.0f} "
          f"({im20 / im1 - 1:+.2%}); MM {mm1 / WAD:,.0f} -> {mm20 / WAD:,.0f} "
          f"(A = {_read(lambda: w20.clearing.crowding(1)[0] / WAD)} ETH)")
    assert im20 >= im1 * (1 - TOLERANCE), "splitting lowered the initial margin"
    assert mm20 >= mm1 * (1 - TOLERANCE), "splitting lowered the maintenance margin"
    # the unrealised profit each version may withdraw after +10 %: no more when split
    for w in (w1, w20):
        w.set_price("ETH", 3300 * WAD)
    free1 = sum(e - i for e, _, i, _ in [w1.margin(a.account)[:4] for a in one])
    free20 = sum(e - i for e, _, i, _ in [w20.margin(a.account)[:4] for a in twenty])
    print(f"withdrawable after +10 %: one account {free1 / WAD:,.0f}, split {free20 / WAD:,.0f}")
    assert free20 <= free1 + abs(im1) * TOLERANCE


def test_collateral_split_ten_ways_keeps_its_haircut():
    """10,000 WETH: one account vs 10 accounts of 1,000. Before: value after the IM haircut 23.10M -> 27.15M."""
    values = {}
    for parts in (1, 10):
        w = _world()
        accounts = _accounts(w, w.traders[1], parts)
        for a in accounts:
            w.deposit(a, "WETH", w.units("WETH", 10_000 // parts), account=a.account)
        eq_im, _, _, _ = _totals(w, accounts)
        settle(w)
        _, eq_mm, _, _ = _totals(w, accounts)
        values[parts] = (eq_im, eq_mm)
        print(f"\n10,000 WETH in {parts} account(s): equity at IM haircuts {eq_im / WAD:,.0f}, at MM {eq_mm / WAD:,.0f} "
              f"(deposits now/smoothed {_read(lambda: [x / WAD for x in w.vault.deposits(w.tokens['WETH'].address)])})")
    assert values[10][0] <= values[1][0] * (1 + TOLERANCE), "splitting raised the collateral value (IM)"
    assert values[10][1] <= values[1][1] * (1 + TOLERANCE), "splitting raised the collateral value (MM)"


def test_perp_and_future_in_two_accounts_pay_as_one():
    """+5M ETH-PERP and +5M ETH-30D: one account vs one account per leg. Before: MM 1,442,163 -> 1,192,163."""
    size = 5_000_000 * WAD // 3000
    results = {}
    for label in ("one", "two"):
        w = _world()
        maker, owner = w.traders[0], w.traders[1]
        accounts = _accounts(w, owner, 1 if label == "one" else 2)
        for a in accounts:
            w.deposit(a, "USDC", usd(w, 2_000_000), account=a.account)
        price = w.prices["ETH"][0]
        w.trade(maker, accounts[0], "ETH-PERP", -size, price)
        w.trade(maker, accounts[-1], "ETH-30D", -size, price)
        im = _totals(w, accounts)[2]
        settle(w)
        results[label] = _totals(w, accounts)[:2] + (im, _totals(w, accounts)[3])
        print(f"\n+5M ETH-PERP & +5M ETH-30D in {label} account(s): MM {results[label][3] / WAD:,.0f}, "
              f"IM {results[label][2] / WAD:,.0f}")
    assert results["two"][3] >= results["one"][3] * (1 - TOLERANCE)
    assert results["two"][2] >= results["one"][2] * (1 - TOLERANCE)
