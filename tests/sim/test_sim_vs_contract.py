"""The simulator against the contracts (issue 13 §4), on the World (pyrevm): the walk's liquidation of a worked
case pays what the Liquidation contract pays (flag fee, partial bid at the Dutch-auction discount, fund fee), and the
VolOracle model under the replay's vol path accepts exactly the range the contract accepts, window by window."""

from __future__ import annotations

import numpy as np
import pytest

from crossmargin.fuzz.world import WAD, World
from crossmargin.model.portfolio import Account, MarketState
from crossmargin.sim.books import from_accounts
from crossmargin.sim.engine import LiquidationModel, MarginArrays, walk
from crossmargin.sim.paths import PricePath, VolOracleModel


@pytest.fixture(scope="module")
def world() -> World:
    w = World.revm(n_traders=3)
    w.seed_insurance_fund(100_000)
    w.deposit(w.traders[0], "USDC", w.units("USDC", 20_000_000))
    return w


def _events(w: World) -> dict:
    return dict(w.chain.last_events)


@pytest.mark.parametrize("wait", [300, 1200])
def test_walk_liquidation_matches_the_contract(world, wait):
    """200 ETH-PERP long at 3,000 on 100k USDC; ETH 2,750: the keeper opens the auction, and bids for everything
    `wait` seconds later (discount 5 % + 25 %·wait/900, at most 30 %): the contract sells f_max < 1 of the book.
    The walk over the same path (open at 3,000, breach at 2,750, bid one step later) charges the owner the same flag
    fee + f·V·d + fund fee and pays the fund the same fee."""
    w = world
    snap = w.chain.snapshot()
    try:
        maker, victim, keeper = w.traders
        w.deposit(victim, "USDC", w.units("USDC", 100_000))
        w.deposit(keeper, "USDC", w.units("USDC", 2_000_000))
        w.trade(maker, victim, "ETH-PERP", -200 * WAD, 3000 * WAD)
        t0 = w.now
        v_open = w.liquidation.mark_value(victim.account) / WAD
        w.set_price("ETH", 2750 * WAD)
        w.liquidation.start_auction(victim.account, keeper.account, sender=keeper.address)
        started = _events(w)["AuctionStarted"]
        t1 = w.now
        w.warp(wait)
        w.refresh()
        fund_before = w.vault.cash_of(1) / WAD
        w.liquidation.bid(victim.account, keeper.account, WAD, 2**200, sender=keeper.address)
        ev = _events(w)
        bid = ev["Bid"]
        t2 = w.now
        v_after = w.liquidation.mark_value(victim.account) / WAD
        chain = {"flag": started["flag_fee"] / WAD, "f": bid["fraction"] / WAD, "V": bid["value"] / WAD,
                 "d": bid["discount"] / WAD, "fund_fee": bid["fund_fee"] / WAD,
                 "owner_loss": v_open + 200 * (2750 - 3000) - v_after,
                 "fund_gain": w.vault.cash_of(1) / WAD - fund_before, "closed": "AuctionClosed" in ev}
    finally:
        w.chain.revert(snap)

    P = w.params
    spec = P.market("ETH-PERP")
    acct = Account(cash=100_000.0).with_trade(spec, 200.0, 3000.0)
    ref = MarketState.from_params(P)
    S = np.array([ref.spot[u] for u in P.symbols])
    spot = np.repeat(S[None, :], 3, axis=0)
    spot[1:, P.index("ETH")] = 2750.0
    vol = np.repeat(np.array([ref.vol[u] for u in P.symbols])[None, :], 3, axis=0)
    path = PricePath("worked", P.symbols, np.array([t0, t1, t2], dtype=float), spot, vol)
    fund0 = 100_000.0
    res = walk(MarginArrays(from_accounts(P, [acct])), path, LiquidationModel(delay_steps=1, schedule=P.liquidation),
               insurance_fund=fund0)
    fee = res.fund_path[-1] - fund0
    f_sim = fee / (chain["V"] * P.liquidation.fund_fee_rate)
    print(f"\n[sim vs contract, bid after {wait} s] d {chain['d']:.4f}; f contract {chain['f']:.6f} / sim {f_sim:.6f}; "
          f"owner's loss {chain['owner_loss']:,.2f} / {res.penalty[0]:,.2f} USD; fund fee {chain['fund_fee']:,.2f} / "
          f"{fee:,.2f}; flag fee {chain['flag']:,.2f}")
    assert 0 < chain["f"] < 1 and chain["closed"]                          # a partial bid that restored the account
    assert (res.auctions, res.bids, res.partial_bids) == (1, 1, 1) and res.bad_debt[0] == 0
    assert chain["d"] == pytest.approx(P.liquidation.discount(wait), abs=1e-15)
    assert f_sim == pytest.approx(chain["f"], rel=1e-6)
    assert fee == pytest.approx(chain["fund_fee"], rel=1e-6)
    assert res.penalty[0] == pytest.approx(chain["owner_loss"], rel=1e-6)


def test_vol_oracle_model_accepts_what_the_contract_accepts(world):
    """A feeder's day on the VolOracle (hourly and faster updates, up and down, windows reopening): before each
    update the model's range equals `vol_range` (to the wei's rounding), and a value just outside it reverts on
    chain and in the model alike."""
    w = world
    snap = w.chain.snapshot()
    try:
        uid = w.params.underlying("ETH").id
        v0 = w.vol.vol(uid)[0] / WAD            # fresh (a stale value reads marked up)
        w.warp(2 * 86_400)                      # both windows of the build-time value have closed
        w.refresh()
        base = w.now
        m = VolOracleModel(w.params.oracle)
        m.set(-1e9, v0)                         # the build's value, long ago
        moves = [(0, 1.9), (600, 1.05), (3000, 1.0), (0, 0.6), (3700, 1.8), (3600, 2.2), (3600, 1.3), (7200, 0.3),
                 (50_000, 3.0), (20_000, 0.5), (3600, 0.4)]
        checked = 0
        for dt, factor in moves:
            w.warp(dt)
            now = w.now - base
            lo, hi = (x / WAD for x in w.vol.vol_range(uid, 0))
            mlo, mhi = m.range(now)
            assert (mlo, mhi) == pytest.approx((lo, hi), rel=1e-12), (dt, factor)
            target = m.current * factor
            post = min(max(target, mlo), mhi)
            if target > mhi * (1 + 1e-9) or target < mlo * (1 - 1e-9):   # outside: both refuse
                with pytest.raises(Exception, match="rate"):
                    w.vol.set_vol(uid, int(target * WAD), sender=w.admin)
                with pytest.raises(ValueError):
                    m.set(now, target)
                checked += 1
            w.vol.set_vol(uid, int(post * WAD), sender=w.admin)
            m.set(now, int(post * WAD) / WAD)
        assert checked >= 3
    finally:
        w.chain.revert(snap)
