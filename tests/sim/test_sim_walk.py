"""The walk: liquidation when equity_mm < MM (the model's `liquidatable`), the outcome model, the insurance fund."""

import numpy as np
import pytest

from crossmargin.model.margin import requirements
from crossmargin.model.portfolio import Account, MarketState
from crossmargin.sim.books import from_accounts
from crossmargin.sim.engine import LiquidationModel, MarginArrays, walk
from crossmargin.sim.paths import PricePath
from crossmargin.sim.stress import SCENARIOS
from tests.sim.conftest import P, S0

PERP = P.market("ETH-PERP")


def eth_path(prices, vol=0.6):
    n = len(prices)
    spot = np.array([[x, 60000.0, 150.0] for x in prices])
    vols = np.array([[vol, 0.5, 0.9]] * n)
    return PricePath("hand", P.symbols, np.arange(n) * 3600.0, spot, vols)


def long_eth(size, cash):
    return Account(cash=cash).with_trade(PERP, size, 3000.0)


def test_liquidation_step_and_bad_debt_follow_the_model():
    path = eth_path([3000, 2950, 2850, 2600, 2000, 1900])
    accounts = [long_eth(10, 5000.0), long_eth(10, 9000.0), long_eth(1, 1e6)]
    books = from_accounts(P, accounts)
    liq = LiquidationModel(discount=0.25, delay_steps=1)
    w = walk(MarginArrays(books), path, liq, insurance_fund=1e9)
    for i in range(len(books)):
        acct = books.account(i)
        states = [path.state(t) for t in range(path.steps + 1)]
        health = [requirements(acct, s, P) for s in states]
        breach = next((t for t in range(1, path.steps + 1) if health[t].liquidatable), -1)
        assert w.liquidated_step[i] == breach
        if breach < 0:
            assert w.bad_debt[i] == 0 and w.penalty[i] == 0
            continue
        close = min(breach + 1, path.steps)
        owed = max(0.0, liq.discount * health[breach].mm - health[close].equity_mm)
        assert w.bad_debt[i] == pytest.approx(owed, rel=1e-12, abs=1e-9)
    assert w.liquidated_step.tolist()[2] == -1  # a small book with a big cushion survives the fall
    assert w.bad_debt[0] > 0                    # the thin book gaps through zero before its auction closes
    assert w.insurance_used == pytest.approx(w.bad_debt.sum()) and w.uncovered == 0


def test_insurance_fund_pays_in_time_order_then_bad_debt_is_uncovered():
    path = eth_path([3000, 2900, 2000, 1500, 1500])
    books = from_accounts(P, [long_eth(10, 4000.0), long_eth(20, 8000.0)])
    w = walk(MarginArrays(books), path, LiquidationModel(), insurance_fund=1000.0)
    total = w.bad_debt.sum()
    assert total > 1000.0
    assert w.insurance_used == pytest.approx(1000.0) and w.uncovered == pytest.approx(total - 1000.0)
    assert np.all(np.diff(w.fund_path) <= 0) and w.fund_path[-1] == 0.0


def test_zero_delay_closes_at_the_breach_price():
    path = eth_path([3000, 2990, 2700])
    books = from_accounts(P, [long_eth(10, 4000.0)])
    w = walk(MarginArrays(books), path, LiquidationModel(discount=0.0, delay_steps=0))
    t = int(w.liquidated_step[0])
    r = requirements(books.account(0), path.state(t), P)
    assert r.liquidatable and w.bad_debt[0] == max(0.0, -r.equity_mm)
    assert w.penalty[0] == 0.0


def test_healthy_accounts_are_never_liquidated_and_breaches_are_first_breaches(funded):
    """Every liquidated account breached MM at its step and not before (checked with the model)."""
    cross, _, _, h0 = funded
    path = SCENARIOS["2020-03-12"].path(P)
    w = walk(MarginArrays(cross), path)
    liquidated = np.flatnonzero(w.liquidated_step >= 0)
    survivors = np.flatnonzero(w.liquidated_step < 0)
    assert liquidated.size and survivors.size
    for i in liquidated[:40]:
        t, acct = int(w.liquidated_step[i]), cross.account(int(i))
        assert requirements(acct, path.state(t), P).liquidatable
        assert not requirements(acct, path.state(t - 1), P).liquidatable
    for i in survivors[:8]:
        acct = cross.account(int(i))
        assert not any(requirements(acct, path.state(t), P).liquidatable for t in range(path.steps + 1))


def test_walk_records_im_at_start(funded):
    cross, _, h, _ = funded
    w = walk(MarginArrays(cross), SCENARIOS["ftx"].path(P), start=h)
    assert w.im0.tolist() == h.im.tolist()
    assert w.im0[0] == requirements(cross.account(0), S0, P).im


def test_liquidation_model_is_validated():
    with pytest.raises(ValueError):
        LiquidationModel(discount=1.5)
    with pytest.raises(ValueError):
        LiquidationModel(delay_steps=-1)
