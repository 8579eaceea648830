"""The walk with the Liquidation contract's Dutch-auction schedule (issue 13 §4): worked cases by hand, solvent
(a partial bid, f_max) and insolvent (the whole portfolio), against TECH_SPEC "Liquidation", and perp funding as
Markets accrues it. The same case on the contracts: tests/sim/test_sim_vs_contract.py."""

import numpy as np
import pytest

from crossmargin.model.margin import requirements
from crossmargin.model.params import load_params
from crossmargin.model.portfolio import Account, MarketState
from crossmargin.sim.books import from_accounts, perp
from crossmargin.sim.engine import LiquidationModel, MarginArrays, walk
from crossmargin.sim.paths import PricePath

P = load_params("default").listed(0)
L = P.liquidation


def path(prices, dt):
    ref = MarketState.from_params(P)
    S = np.array([ref.spot[u] for u in P.symbols])
    V = np.array([ref.vol[u] for u in P.symbols])
    eth = P.index("ETH")
    spot = np.repeat(S[None, :], len(prices), axis=0)
    spot[:, eth] = prices
    return PricePath("worked", P.symbols, np.arange(len(prices)) * float(dt), spot, np.repeat(V[None, :], len(prices), 0))


@pytest.mark.parametrize("dt, delay", [(450, 1), (60, 2), (3600, 1), (300, 0)])
def test_solvent_partial_bid_follows_the_schedule(dt, delay):
    """1M long ETH perp, 120k cash: ETH 3000 -> 2850 breaches MM (flag fee); the bid clears `delay` steps later at
    2820 and takes f_max, the fraction that puts the account back above IM; the auction ends there."""
    spec, S0 = perp(P, "ETH"), 3000.0
    q = 1e6 / S0
    acct = Account(cash=120_000.0).with_trade(spec, q, S0)
    prices = [S0, 2850.0, 2820.0, 2820.0]
    books = from_accounts(P, [acct])
    w = walk(MarginArrays(books), path(prices, dt), LiquidationModel(delay_steps=delay, schedule=L),
             insurance_fund=1_000.0)
    breach = MarketState.from_params(P).with_spot(ETH=2850.0).at(dt)
    mm = requirements(acct, breach, P).mm
    start = requirements(acct, MarketState.from_params(P), P)
    assert start.equity_mm > start.mm and requirements(acct, breach, P).equity_mm < mm and w.liquidated_step[0] == 1
    close = min(1 + delay, 3)
    flag = min(L.flag_fee_rate * mm, L.flag_fee_cap, 120_000.0 + q * (2850.0 - S0))
    after_flag = Account(cash=120_000.0 - flag).with_trade(spec, q, S0)
    at = requirements(after_flag, MarketState.from_params(P).with_spot(ETH=prices[close]).at(close * dt), P)
    V = at.equity_mm                                   # a perp and cash: no haircut, V = E_mm = E_im
    d = min(L.discount_max, L.discount_start + (L.discount_max - L.discount_start) * delay * dt / L.auction_seconds)
    assert at.equity_mm > L.full_close_health * at.mm and at.mm > L.min_partial_mm     # a partial bid
    slack = 1e-4 + at.mm / 1e6
    f = (at.im - V + 3 * slack) / (at.im - V + V * (1 - d - L.fund_fee_rate))
    assert 0 < f < 1
    assert w.penalty[0] == pytest.approx(flag + f * V * (d + L.fund_fee_rate), rel=1e-12)
    assert (w.auctions, w.bids, w.partial_bids) == (1, 1, 1)                   # back above IM: one bid ends it
    assert w.bad_debt[0] == 0 and w.insurance_used == 0
    assert w.fund_path[-1] == pytest.approx(1_000.0 + f * V * L.fund_fee_rate, rel=1e-12)   # the fund earned its fee


def test_insolvent_full_bid_costs_the_fund_minus_v_plus_mm_d():
    """10k cash on 1M long: ETH -5 % breaches, -20 % at the bid (V = -190k); the fund pays -V + MM·d, rest uncovered."""
    spec, S0 = perp(P, "ETH"), 3000.0
    q = 1e6 / S0
    acct = Account(cash=10_000.0).with_trade(spec, q, S0)
    prices = [S0, 2850.0, 2400.0]
    w = walk(MarginArrays(from_accounts(P, [acct])), path(prices, 600), LiquidationModel(schedule=L),
             insurance_fund=50_000.0)
    V = 10_000.0 + q * (2400.0 - S0)
    mm_bid = requirements(acct, MarketState.from_params(P).with_spot(ETH=2400.0).at(1200), P).mm
    d = L.discount(600)                                    # d(t) of the step: d_max once the ramp is over
    need = -V + mm_bid * d
    assert V < 0 and w.bad_debt[0] == pytest.approx(need, rel=1e-12)
    assert w.insurance_used == pytest.approx(50_000.0) and w.uncovered == pytest.approx(need - 50_000.0, rel=1e-12)
    assert (w.bids, w.partial_bids) == (1, 0)


def test_default_model_is_unchanged():
    assert LiquidationModel().schedule is None and LiquidationModel().discount == 0.25


def test_funding_accrues_as_markets_does():
    """A constant premium above the cap pays the capped rate: 1M long over 3 hours at 3000 pays
    max_rate·S·q per period; a short receives it; a beta turns a fall into a negative premium."""
    from crossmargin.sim.engine import FundingModel

    spec, S0 = perp(P, "ETH"), 3000.0
    q = 1e6 / S0
    long_, short = (Account(cash=500_000.0).with_trade(spec, s, S0) for s in (q, -q))
    p = path([S0] * 4, 3600)
    books = from_accounts(P, [long_, short])
    lm = LiquidationModel(schedule=L, funding=FundingModel(premium=1.0))
    w = walk(MarginArrays(books), p, lm)
    hours = 3 * spec.funding_max_rate * S0 * q * 3600 / spec.funding_period
    assert w.funding_paid == pytest.approx(0.0, abs=1e-6) and w.auctions == 0
    F = FundingModel(premium=1.0).index_steps(P, p)
    assert F[-1, P.markets.index(spec)] * q == pytest.approx(hours, rel=1e-12)
    # trailing-day return: ETH -10 % over a day, beta 0.001 -> premium -1e-4 (a discount: longs receive)
    fall = path([S0, S0, 0.9 * S0, 0.9 * S0], 43_200)
    G = FundingModel(beta=0.001).index_steps(P, fall)[:, P.markets.index(spec)]
    assert G[2] == 0 and G[3] == pytest.approx(0.001 * np.log(0.9) * 0.9 * S0 * 43_200 / spec.funding_period)


def test_a_sliver_left_unbid_is_escalated():
    """Issue 18: 100 ETH long on 36k cash, ETH at 2,655 (V ≈ 1.4k, a sliver of MM ≈ 25k); the bid comes
    escalation_delay + T/2 after the start: everything goes at d(t) (mid-ramp with the default delay 0) and the
    bidder earns half the reward cap, out of the owner's proceeds first, the rest from the fund (TECH_SPEC
    "Escalation of an auction nobody bids")."""
    spec, S0 = perp(P, "ETH"), 3000.0
    acct = Account(cash=36_000.0).with_trade(spec, 100.0, S0)
    dt = L.escalation_delay + L.auction_seconds // 2
    w = walk(MarginArrays(from_accounts(P, [acct])), path([S0, 2655.0, 2655.0], dt),
             LiquidationModel(delay_steps=1, schedule=L), insurance_fund=100_000.0)
    breach = requirements(acct, MarketState.from_params(P).with_spot(ETH=2655.0).at(dt), P)
    flag = min(L.flag_fee_rate * breach.mm, L.flag_fee_cap)
    after = Account(cash=36_000.0 - flag).with_trade(spec, 100.0, S0)
    at = requirements(after, MarketState.from_params(P).with_spot(ETH=2655.0).at(2 * dt), P)
    V = at.equity_mm
    reward = L.escalation_reward_at(dt, V, at.mm)
    d = L.discount(dt)
    split = L.escalated_bid(V, at.mm, reward, 100_000.0, discount=d)
    assert 0 < V < L.escalation_reward * at.mm and reward == pytest.approx(L.escalation_reward * at.mm / 2)
    assert (w.bids, w.partial_bids) == (1, 0)
    assert w.insurance_used == pytest.approx(split["fund_paid"], rel=1e-9) and w.uncovered == 0
    assert w.penalty[0] == pytest.approx(flag + V * (d + L.fund_fee_rate) + split["owner_paid"], rel=1e-9)
