"""Dust wash fills (issue 10 §3): an attacker trades 1e-9 ETH between two of its own accounts at the edge of the
price band (+10 %, zero fees), one fill every 10 minutes for 4 days, first in each block. With a mark that is a
time-weighted EMA of fill prices ignoring size, those dust fills pinned the mark at 3,300 against a 3,000 index,
funding sat at its cap, an honest 50-ETH fill at the index in the same blocks did not move the mark, and an honest
7.5x long (100 ETH on 40,000 USDC) paid ~14,375 of funding in 4 days with a flat index.

The mark is now index * (1 + P), P a notional-weighted EMA of fill premiums (a fill of notional n moves P by
n / (n + depth) of the way) that decays without fills: 576 dust fills carry ~0.002 USD of notional and move funding
by nothing measurable, while honest size at the index pulls the mark back in proportion to its notional.
"""

from __future__ import annotations

from tests.e2e.helpers import WAD, usd

DUST = 10**9                # 1e-9 ETH
STEP = 600                  # one wash fill every 10 minutes ...
STEPS = 576                 # ... for 4 days
INDEX = 3000 * WAD
EDGE = 3300 * WAD           # the +10 % band edge


def _setup(world):
    maker, wash_buy, wash_sell, long, honest = world.traders[:5]
    for t in (wash_buy, wash_sell):
        world.deposit(t, "USDC", usd(world, 100_000))
    world.deposit(long, "USDC", usd(world, 40_000))
    world.deposit(honest, "USDC", usd(world, 5_000_000))
    world.trade(maker, long, "ETH-PERP", -100 * WAD, INDEX)       # the honest 7.5x long: 300,000 on 40,000
    return maker, wash_buy, wash_sell, long, honest


def _tick(world, seconds: int) -> None:
    """Time passes; the feeds and the vol oracle are kept fresh (the index stays at 3,000)."""
    world.warp(seconds)
    world.refresh()
    for u in world.params.underlyings:
        world.set_vol(u.symbol, int(u.vol * WAD))


def _funding_paid(world, account: int) -> int:
    """Realise the account's funding; what it paid (WAD USD, > 0 = paid)."""
    before = world.vault.cash_of(account)
    world.clearing.settle_account(account, sender=world.admin)
    return before - world.vault.cash_of(account)


def _cap(world) -> int:
    return world.params.market("ETH-PERP").funding_max_rate


def test_dust_wash_fills_do_not_move_funding(world):
    maker, wash_buy, wash_sell, long, honest = _setup(world)
    perp = world.instruments["ETH-PERP"]
    cap_wad = int(_cap(world) * WAD)
    rates = []
    for _ in range(STEPS):
        _tick(world, STEP)
        world.trade(wash_sell, wash_buy, perp, -DUST, EDGE)        # the attacker's dust fill, first in the block
        rates.append(world.markets.funding_rate(perp))
    paid = _funding_paid(world, long.account)
    mark = world.markets.mark_price(perp)
    worst = max(abs(r) for r in rates)
    print(f"\n[dust wash] {STEPS} fills of 1e-9 ETH at 3,300 over 4 days (index 3,000): "
          f"mark {mark / WAD:,.4f}, largest funding rate {worst / cap_wad:.4%} of the cap, "
          f"the honest 7.5x long paid {paid / WAD:,.2f} USD of funding")
    assert worst < cap_wad // 100, "the dust campaign moves funding by < 1 % of its cap"
    assert paid < 144 * WAD, "the honest long pays < 1 % of the 14,375 a capped rate costs over 4 days"
    assert abs(mark - INDEX) < INDEX // 10**4, "the mark stays at the index (within 1 bp)"


def test_honest_size_at_the_index_pulls_the_mark_back(world):
    maker, wash_buy, wash_sell, long, honest = _setup(world)
    perp = world.instruments["ETH-PERP"]
    # a real (not dust) wash trade at the band edge does move the mark: size is what counts
    world.trade(wash_sell, wash_buy, perp, -20 * WAD, EDGE)
    pushed = world.markets.mark_price(perp)
    print(f"\n[honest size] a 20-ETH wash fill at 3,300 moves the mark to {pushed / WAD:,.2f}")
    assert pushed > INDEX + 10 * WAD
    marks = [pushed]
    for _ in range(3):
        _tick(world, 12)
        world.trade(wash_sell, wash_buy, perp, -DUST, EDGE)       # dust first in the block ...
        world.trade(maker, honest, perp, 50 * WAD, INDEX)         # ... then an honest 50-ETH fill at the index
        marks.append(world.markets.mark_price(perp))
    print("[honest size] after each block (dust at 3,300, then 50 ETH at 3,000): "
          + ", ".join(f"{m / WAD:,.2f}" for m in marks[1:]))
    premiums = [m - INDEX for m in marks]
    for before, after in zip(premiums, premiums[1:]):
        # 150,000 of notional against a 1M depth: at least 13 % of the premium goes each block (decay helps too)
        assert after <= before * 87 // 100, "honest size at the index pulls the mark back in proportion"
    assert premiums[-1] < premiums[0] * 2 // 3
