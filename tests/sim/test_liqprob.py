"""Probability of liquidation (crossmargin.sim.liqprob): the Monte Carlo against the closed-form first passage of
GBM, the vectorised revaluation against the model, and the tail models' moments."""

import dataclasses
import math

import numpy as np
import pytest
from scipy.stats import norm

from crossmargin.model.margin import requirements
from crossmargin.model.params import load_params
from crossmargin.model.portfolio import Account, MarketState, Position
from crossmargin.sim.liqprob import (CHUNK, Revaluer, ShockModel, liquidation_probability, load_book, probabilities,
                                     shock_model, simulate_paths)

BG = 0.5826  # Broadie-Glasserman: a barrier monitored every Δt acts like a continuous one shifted by e^{-β σ sqrt Δt}


@pytest.fixture(scope="module")
def params():
    return load_params("default").listed(0)


def _first_passage(b: float, sigma: float, T: float) -> float:
    """P(min_{t<=T} ln S_t/S_0 <= b), b < 0, for the martingale GBM (drift -σ²/2)."""
    mu, s = -0.5 * sigma**2, sigma * math.sqrt(T)
    return float(norm.cdf((b - mu * T) / s) + math.exp(2 * mu * b / sigma**2) * norm.cdf((b + mu * T) / s))


@pytest.mark.parametrize("horizon_h,steps,cash", [(24.0, 288, 3900.0), (1.0, 60, 3100.0)])
def test_single_perp_matches_gbm_first_passage(params, horizon_h, steps, cash):
    # one long perp, no concentration add-on, constant vol: E_mm = c + q(S - S0), MM = q·S·s, so the account is
    # liquidated when S first falls below B = (q·S0 - c) / (q·(1 - s)): a barrier problem with a closed form
    p = params.replace(underlyings=tuple(dataclasses.replace(u, concentration=0.0) for u in params.underlyings))
    state = MarketState.from_params(p)
    S0, sigma, q = state.spot["ETH"], state.vol["ETH"], 10.0
    acct = Account(cash=cash, positions=(Position(p.market("ETH-PERP"), q, q * S0),))
    s = min(p.risk.shock_max, max(p.risk.shock_min, p.risk.z * sigma * math.sqrt(p.risk.horizon_years)))
    B = (q * S0 - cash) / (q * (1 - s))
    T = horizon_h / (24 * 365)
    b = math.log(B / S0) - BG * sigma * math.sqrt(T / steps)
    expected = _first_passage(b, sigma, T)
    r = liquidation_probability(acct, state, p, ShockModel("normal", p.rho, vol_response=0.0), paths=12_000,
                                horizons_h=(horizon_h,), steps=(steps,), seed=7)
    print(f"H {horizon_h} h: MC {r.p[0]:.4f} ± {r.stderr[0]:.4f}, closed form {expected:.4f} "
          f"(continuous barrier {_first_passage(math.log(B / S0), sigma, T):.4f})")
    assert 0.05 < expected < 0.5
    assert abs(r.p[0] - expected) < 4 * r.stderr[0] + 0.005


def test_revaluer_equals_model_requirements(params):
    from crossmargin.sim.books import random_books

    books = random_books(params, 40, np.random.default_rng(3))
    rng = np.random.default_rng(4)
    now = 5 * 86_400
    S = np.array([[u.price for u in params.underlyings]]) * np.exp(0.1 * rng.standard_normal((3, 3)))
    V = np.array([[u.vol for u in params.underlyings]]) * np.exp(0.3 * rng.standard_normal((3, 3)))
    kinds = set()
    for i in range(len(books)):
        acct = books.account(i).with_collateral("WBTC", 0.5)
        e, mm = Revaluer(acct, params).health(S, V, now)
        kinds.add(books.kind[i])
        for k in range(3):
            m = requirements(acct, MarketState(dict(zip(params.symbols, S[k])), dict(zip(params.symbols, V[k])), now),
                             params)
            assert e[k] == pytest.approx(m.equity_mm, rel=1e-11, abs=1e-6)
            assert mm[k] == pytest.approx(m.mm, rel=1e-11, abs=1e-6)
    assert kinds == {"basis", "option seller", "directional", "hedged"}


def test_shock_models_fat_tails_configured_correlation(params):
    from scipy import stats

    state = MarketState.from_params(params)
    S0 = np.array([state.spot[u] for u in params.symbols])
    sigma = np.array([state.vol[u] for u in params.symbols])
    for method in ("t", "fhs"):
        model = shock_model(params, method)
        spot, vol = simulate_paths(S0, sigma, 24.0, 8, 40_000, model, np.random.default_rng(1), params)
        r = (np.log(spot[-1] / S0) + 0.5 * sigma**2 / 365) / (sigma * math.sqrt(1 / 365))
        if method == "t":   # the fitted Student-t's quartiles at the horizon
            q = stats.t.ppf(0.75, model.nu) * model.scale
            assert np.allclose(np.quantile(r, 0.75, axis=0), q, rtol=0.05), (q, np.quantile(r, 0.75, axis=0))
        else:               # the history's own scale (EWMA forecasts ran a little low: std ≈ 1.05-1.1)
            assert np.allclose(r.std(axis=0), model.residuals.std(axis=0), rtol=0.05)
        spearman = stats.spearmanr(r).statistic
        assert np.allclose(spearman, params.rho, atol=0.07), (method, spearman)
        kurt = ((r - r.mean(0)) ** 4).mean(0) / r.var(0) ** 2
        assert (kurt > 4).all(), (method, kurt)       # fat tails survive at the horizon
        # the oracle vol moves with |moves| (EWMA recursion) and stays inside the day's rate limit
        for j in range(len(sigma)):
            assert (vol[-1, np.abs(r[:, j]) > 3, j] > sigma[j]).all()
        assert (vol <= 4 * sigma + 1e-12).all()
    model = shock_model(params, "t")
    assert 2.2 <= model.nu < 6 and 0.5 < model.scale < 0.9


def test_seeded_chunks_and_book_file(params, tmp_path):
    book = tmp_path / "book.toml"
    book.write_text('params = "default"\n[spot]\nETH = 3000.0\n'
                    '[[accounts]]\nname = "thin"\ncash = 4000.0\npositions = [{ instrument = "ETH-PERP", size = 10.0 }]\n'
                    '[[accounts]]\nname = "carry"\ncash = 3000.0\ncollateral = { WETH = 10.0 }\n'
                    'positions = [{ instrument = "ETH-PERP", size = -10.0, entry = 3000.0 }]\n')
    p, state, accounts = load_book(book)
    model = shock_model(p, "t")
    paths = CHUNK + 500   # two chunks, the second partial
    a = probabilities([acct for _, acct in accounts], state, p, model, paths=paths, horizons_h=(24.0,), steps=(48,))
    b = [liquidation_probability(acct, state, p, model, paths=paths, horizons_h=(24.0,), steps=(48,))
         for _, acct in accounts]
    assert [x.p for x in a] == [x.p for x in b]          # same paths whatever else is in the book
    assert a[0].p[0] > 0.05 and a[1].p[0] < a[0].p[0]


def test_topup_brings_probability_to_target(params):
    state = MarketState.from_params(params)
    acct = Account(cash=4000.0, positions=(Position(params.market("ETH-PERP"), 10.0, 30_000.0),))
    model = shock_model(params, "t")
    kw = dict(paths=CHUNK, horizons_h=(24.0,), steps=(48,), target=0.02)
    r = liquidation_probability(acct, state, params, model, **kw)
    assert r.p[0] > 0.1 and r.topup[0] > 0
    after = liquidation_probability(dataclasses.replace(acct, cash=acct.cash + r.topup[0] + 1e-6), state, params,
                                    model, **kw)
    print(f"P {r.p[0]:.3f} -> {after.p[0]:.4f} after depositing {r.topup[0]:,.0f} USD")
    assert after.p[0] <= 0.02 and after.spare[0] >= -1e-6


def test_pending_vol_post_lifts_the_oracle_vol_when_it_lands(params):
    state = MarketState.from_params(params)
    S0 = np.array([state.spot[u] for u in params.symbols])
    sigma = np.array([state.vol[u] for u in params.symbols])
    model = ShockModel("normal", params.rho)
    v = sigma**2 / 365
    delta = model.vol_response * (0.2**2 - 0.75 * v)     # a 20 % move over the last 18 h, posted in 6 h
    a = simulate_paths(S0, sigma, 24.0, 24, 500, model, np.random.default_rng(5), params)[1]
    b = simulate_paths(S0, sigma, 24.0, 24, 500, model, np.random.default_rng(5), params, pending=(delta, 6.0))[1]
    assert np.array_equal(a[:6], b[:6]) and (b[6:] > a[6:]).all()
    assert np.allclose(b[6].mean(axis=0), np.sqrt((v + delta) * 365), rtol=0.01)


def test_revaluer_prices_the_protocol_crowding_like_the_model(params):
    """Issue 12 §1 on the chain's aggregates: concentration on max(A_s·S, N), haircuts on max(bal, D_s)."""
    from crossmargin.sim.books import random_books

    books = random_books(params, 12, np.random.default_rng(5))
    state = MarketState.from_params(params, 5 * 86_400)
    crowding = {u: (4_000.0, 3_000.0) for u in params.symbols}
    deposits = {c.symbol: (900.0, 800.0) for c in params.collaterals if not c.settlement}
    crowded = state.with_crowding(crowding, deposits)
    S = np.array([[state.spot[u] for u in params.symbols]])
    V = np.array([[state.vol[u] for u in params.symbols]])
    for i in range(len(books)):
        acct = books.account(i).with_collateral("WBTC", 0.5)
        e, mm = Revaluer(acct, params, crowding, deposits).health(S, V, state.now)
        m = requirements(acct, crowded, params)
        assert m.equity_mm < requirements(acct, state, params).equity_mm   # WBTC haircut on D_s, not 0.5
        assert e[0] == pytest.approx(m.equity_mm, rel=1e-11, abs=1e-6)
        assert mm[0] == pytest.approx(m.mm, rel=1e-11, abs=1e-6)
