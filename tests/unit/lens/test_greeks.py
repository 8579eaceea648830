"""`Lens.greeks`: the aggregate Greeks per underlying (moved from the RiskEngine for bytes) equal the off-chain
`greeks_from_breakdown` of the engine's `requirement_breakdown`, collateral counted at its full balance."""

from __future__ import annotations

from crossmargin.chain.engine_views import greeks_from_breakdown
from crossmargin.model.portfolio import Account, Position
from tests.differential.strategies_chain import DEFAULT

WAD = 10**18


def test_greeks_equal_the_breakdown(lens, world):
    eth, btc = DEFAULT.market("ETH-PERP"), DEFAULT.market("BTC-PERP")
    aid = world.load(Account(cash=50_000.0, collateral={"WETH": 2.0},
                             positions=(Position.open(eth, -5.0, 3000.0), Position.open(btc, 0.1, 60000.0))))
    got = [tuple(g) for g in lens.greeks(aid)]
    assert got == greeks_from_breakdown(world.engine.requirement_breakdown(aid))
    (u_eth, d_eth, usd_eth, *_), (u_btc, d_btc, *_) = got
    assert (d_eth, d_btc) == (-3 * WAD, WAD // 10)          # -5 perp + 2 WETH; the BTC perp
    assert usd_eth < 0 and lens.greeks(12345) == []
