"""Issue 10 §1: a liquidatable account sells its book to its owner's other account at a bad price.

The Clearinghouse used to let a pure reduction below IM through whenever the MM shortfall (MM - E_mm) did not
grow. A reduction frees MM, so an account at a shortfall could give its counterparty value equal to the MM it
freed: account A at IM with a 250 ETH long, ETH -5 % (shortfall 15,324), the owner's second account bought the
whole long at 2,571.34 with the index at 2,850; A ended 15,322 below zero, its auction was insolvent and the
insurance fund paid the hole, i.e. the owner's pair of accounts gained 15,322 at the fund's expense. An account
already under water dug its hole deeper the same way, and it worked with an auction open.

Now a side left below IM passes only if it purely reduces, had E_mm > 0 and its E_mm / MM does not fall (a full
close: E'_mm >= 0), and an account with an open auction changes positions only through it. Each test runs the
attack as the owner would (the lowest price the Clearinghouse accepts, found by bisection; then the sibling opens
A's auction and bids for whatever is left) and prints the insurance fund's payment, the pair's combined mark value
and A's equity; run with `-s` to see them.
"""

from __future__ import annotations

import pytest

from crossmargin.chain.revm import RevmRevert
from crossmargin.fuzz.world import Trader
from tests.e2e.helpers import E, WAD, usd, value

LONG = 250 * WAD


def _owner_at_im(world, price_after: int):
    """Trader 1's account A: 250 ETH long at 3,000, cash withdrawn down to exactly IM; a sibling account of the
    same owner with 200,000 USDC; then ETH moves to `price_after`. Returns (owner, sibling as a maker Trader)."""
    maker, owner = world.traders[0], world.traders[1]
    sibling = Trader(owner.key, owner.address, world.vault.open_account(0, sender=owner.address))
    world.deposit(owner, "USDC", usd(world, 300_000))
    world.deposit(owner, "USDC", usd(world, 200_000), account=sibling.account)
    world.trade(maker, owner, "ETH-PERP", -LONG, 3000 * WAD)
    eq_im, _, im, _, _ = world.margin(owner.account)
    world.withdraw(owner, "USDC", (eq_im - im) // 10**12)
    eq_im, _, im, _, _ = world.margin(owner.account)
    assert 0 <= eq_im - im < 10**12, "A sits at IM"
    print(f"\n  pair at 3,000: {_usd(_pair(world, owner, sibling))}")
    world.set_price("ETH", price_after)
    return owner, sibling


def _usd(x: int) -> str:
    return f"{x / WAD:,.2f}"


def _pair(world, owner, sibling) -> int:
    return value(world, owner.account) + value(world, sibling.account)


def _dump(world, owner, sibling, price: int, size: int = LONG) -> None:
    """A sells `size` of its long into the sibling's standing bid at `price` (A is the taker)."""
    world.trade(sibling, owner, "ETH-PERP", size, price)


def _lowest_accepted(world, owner, sibling, index: int) -> tuple[int | None, str | None]:
    """The lowest price in cents (inside the 10 % band) at which the dump fills, and why one cent lower (or, if
    none fills, the index itself) reverts."""
    lo, hi = index * 9 // 10 // 10**16 + 1, index // 10**16

    def fills(cents: int) -> tuple[bool, str | None]:
        snap = world.chain.snapshot()
        try:
            _dump(world, owner, sibling, cents * 10**16)
            return True, None
        except RevmRevert as exc:
            return False, exc.reason
        finally:
            world.chain.revert(snap)

    ok, reason = fills(hi)
    if not ok:
        return None, reason
    while lo < hi:
        mid = (lo + hi) // 2
        if fills(mid)[0]:
            hi = mid
        else:
            lo = mid + 1
    return lo * 10**16, fills(lo - 1)[1]


def _attack(world, owner, sibling) -> dict:
    """The owner's play: dump A's book to the sibling at the lowest accepted price, then let the insurance fund
    pay A's hole (the sibling opens A's auction if none is open, and bids for all of it)."""
    index = world.prices["ETH"][0]
    fund0, pair0 = world.vault.cash_of(1), _pair(world, owner, sibling)
    out = {"E_mm before": world.margin(owner.account)[1], "pair before": pair0}
    price, reason = _lowest_accepted(world, owner, sibling, index)
    out["lowest price"], out["reason below it"] = price, reason
    if price is not None:
        _dump(world, owner, sibling, price)
    out["E_mm after dump"] = world.margin(owner.account)[1]
    liq = world.liquidation
    if not liq.auction(owner.account)[2]:
        try:
            liq.start_auction(owner.account, sibling.account, sender=owner.address)
        except RevmRevert as exc:
            out["auction"] = exc.reason
    if liq.auction(owner.account)[2]:
        liq.bid(owner.account, sibling.account, WAD, 2**200, sender=owner.address)
        out["auction"] = "bid by the sibling"
    out["fund paid"] = fund0 - world.vault.cash_of(1)
    out["pair after"] = _pair(world, owner, sibling)
    out["gain"] = out["pair after"] - pair0
    print(f"  ETH {_usd(index)}: A's E_mm {_usd(out['E_mm before'])}; lowest dump price "
          f"{_usd(price) if price else 'none'} (below it: {reason!r}); A's E_mm after {_usd(out['E_mm after dump'])}; "
          f"auction: {out.get('auction')}; insurance fund paid {_usd(out['fund paid'])}; "
          f"pair {_usd(pair0)} -> {_usd(out['pair after'])} (gain {_usd(out['gain'])})")
    return out


def test_liquidatable_account_cannot_hand_its_freed_margin_to_a_sibling(world):
    """ETH -5 %: A is liquidatable (shortfall 15,324). Before: the sibling bought at 2,571.34, A ended at
    -15,322 and the fund paid it. Now the best dump leaves A at E_mm >= 0 (2,632.63: A gives away no more than
    its own equity), nobody can liquidate an empty account with no debt, the fund pays nothing, and the pair's
    value does not grow."""
    owner, sibling = _owner_at_im(world, 2850 * WAD)
    eq_im, eq_mm, im, mm, _ = world.margin(owner.account)
    assert round((mm - eq_mm) / WAD) == 15_324
    out = _attack(world, owner, sibling)
    assert out["lowest price"] == 263_263 * 10**16 > 257_134 * 10**16, "the issue's price no longer fills"
    assert out["reason below it"] == E["MARGIN_RATIO_FELL"]
    assert 0 <= out["E_mm after dump"] < 250 * 10**16, "A gave away its equity, not one cent of debt"
    assert out["auction"] == E["NOT_LIQUIDATABLE"]
    assert out["fund paid"] == 0 and out["gain"] <= 0


def test_under_water_account_cannot_dig_its_hole_deeper(world):
    """ETH -13.3 % (2,600): A is already under water (E_mm -8,157). Before: the dump took it to -71,509 and the
    fund paid all of it. Now it cannot reduce at any price, not even at the index: its book goes through the
    auction, where the fund pays the honest hole plus the bidder's reward (-V + MM·d), as for any keeper."""
    owner, sibling = _owner_at_im(world, 2600 * WAD)
    v, mm = value(world, owner.account), world.margin(owner.account)[3]
    assert round(v / WAD) == -8_157
    out = _attack(world, owner, sibling)
    assert out["lowest price"] is None and out["reason below it"] == E["UNDER_WATER"]
    honest = -v + mm * world.params.liquidation.onchain()["discount_start"] // WAD
    assert out["fund paid"] == honest, "only the hole the market made, plus the usual bidder reward"


def test_account_in_auction_trades_only_through_the_auction(world):
    """ETH -5 % and a stranger has opened A's auction (flag fee 348.34 from A). Before: the dump still worked, A
    ended at -15,670 and the fund paid 15,669.93. Now any fill of A reverts, at any price and on either side,
    until the auction ends; the auction itself proceeds."""
    owner, sibling = _owner_at_im(world, 2850 * WAD)
    maker, stranger = world.traders[0], world.traders[2]
    world.liquidation.start_auction(owner.account, stranger.account, sender=stranger.address)
    snap = world.chain.snapshot()
    out = _attack(world, owner, sibling)
    world.chain.revert(snap)
    with pytest.raises(RevmRevert, match=E["ACCOUNT_IN_AUCTION"]):
        world.trade(maker, owner, "ETH-PERP", 10 * WAD, 2850 * WAD)     # a fair reduction at the index
    with pytest.raises(RevmRevert, match=E["ACCOUNT_IN_AUCTION"]):
        world.trade(owner, maker, "ETH-PERP", -10 * WAD, 2850 * WAD)    # as the maker
    assert out["lowest price"] is None and out["reason below it"] == E["ACCOUNT_IN_AUCTION"]
    assert out["auction"] == "bid by the sibling"
    assert out["fund paid"] <= 0 and out["gain"] <= 0, "a solvent bid: the sibling pays for what it takes, the fund earns its fee"


def test_fair_reductions_below_im_still_work(world):
    """Liveness: an account below IM (even below MM, before anyone opens its auction) still de-risks at the
    index, in steps or all at once, and each step keeps (here: raises) its E_mm / MM."""
    maker = world.traders[0]
    owner, _ = _owner_at_im(world, 2940 * WAD)                     # -2 %: between MM and IM
    eq_im, eq_mm, im, mm, _ = world.margin(owner.account)
    assert mm <= eq_mm and eq_im < im
    steps = [(2940, 25 * WAD), (2850, 25 * WAD), (2850, 100 * WAD), (2850, 100 * WAD)]   # then -5 %: below MM
    for index, size in steps:
        world.set_price("ETH", index * WAD)
        before = world.margin(owner.account)
        world.trade(maker, owner, "ETH-PERP", size, index * WAD)
        after = world.margin(owner.account)
        ratio = f"{after[1] / after[3]:.4f}" if after[3] else "flat"
        print(f"  sold {size // WAD} at the index {index:,}: E_mm/MM {before[1] / before[3]:.4f} -> {ratio}")
        assert after[1] * before[3] >= before[1] * after[3]
    assert world.clearing.positions_of(owner.account) == [] and world.margin(owner.account)[1] > 0
