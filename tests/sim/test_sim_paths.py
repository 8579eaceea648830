"""Price paths: reproducible GBM with the parameters' correlation, and stylised stress replays whose shapes
match the figures they state."""

import math

import numpy as np
import pytest

from crossmargin.sim.paths import GBMConfig, cholesky, gbm_paths
from crossmargin.sim.stress import SCENARIOS, stress_paths
from tests.sim.conftest import P

PLAIN = GBMConfig(days=1500, steps_per_day=1, jump_intensity=0.0, p_calm_to_stress=0.0)


def test_gbm_is_reproducible_by_seed():
    a, b, c = (gbm_paths(P, 3, seed=s) for s in (7, 7, 8))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.spot, y.spot)
        np.testing.assert_array_equal(x.vol, y.vol)
    assert not np.array_equal(a[0].spot, c[0].spot)


def test_gbm_starts_at_reference_prices_and_vols():
    for p in gbm_paths(P, 2, seed=1):
        assert p.spot[0].tolist() == [u.price for u in P.underlyings]
        assert p.vol[0].tolist() == [u.vol for u in P.underlyings]
        assert p.times[0] == 0 and p.times[-1] == 7 * 86400 and p.steps == 7 * 24


def test_gbm_log_returns_have_the_parameters_correlation_and_vol():
    p = gbm_paths(P, 1, seed=2, config=PLAIN)[0]
    r = np.diff(np.log(p.spot), axis=0)
    np.testing.assert_allclose(np.corrcoef(r.T), P.rho, atol=0.06)
    sigma = np.array([u.vol for u in P.underlyings]) * math.sqrt(1 / 365)
    np.testing.assert_allclose(r.std(axis=0), sigma, rtol=0.06)


def test_gbm_prices_are_martingales_with_jumps_and_regimes():
    cfg = GBMConfig(days=7, steps_per_day=6, jump_intensity=30.0)
    paths = gbm_paths(P, 400, seed=4, config=cfg)
    end = np.array([p.spot[-1] / p.spot[0] for p in paths])
    mean, se = end.mean(axis=0), end.std(axis=0) / math.sqrt(len(paths))
    assert np.all(np.abs(mean - 1) < 4 * se)
    assert any(p.regime.any() for p in paths)  # some paths visit the stressed regime


def test_oracle_vol_stays_in_bounds_and_within_its_rate_limit():
    o = P.oracle
    for p in gbm_paths(P, 20, seed=5, config=GBMConfig(start_stressed=True)) + stress_paths(P):
        assert np.all((p.vol >= o.min_vol) & (p.vol <= o.max_vol))
        step = float(p.times[1] - p.times[0])
        for window, factor in ((3600, o.vol_hour_factor), (86400, o.vol_day_factor)):
            lag = max(1, int(np.ceil(window / step)))
            ratio = p.vol[lag:] / p.vol[:-lag]
            assert np.all((ratio <= factor * (1 + 1e-12)) & (ratio >= 1 / factor * (1 - 1e-12)))


def test_cholesky_factor_reproduces_rho():
    A = cholesky(P.rho)
    np.testing.assert_allclose(A @ A.T, P.rho, atol=1e-12)
    singular = np.ones((2, 2))
    np.testing.assert_allclose(cholesky(singular) @ cholesky(singular).T, singular, atol=1e-12)


@pytest.mark.parametrize("key", list(SCENARIOS))
def test_stress_path_troughs_match_the_stated_drawdowns(key):
    sc = SCENARIOS[key]
    path = sc.path(P)
    assert path.stylised and "stylised" in path.title
    assert path.spot[0].tolist() == [u.price for u in P.underlyings]
    assert path.times[-1] == sc.hours[-1] * 3600 and path.steps == sc.hours[-1]  # hourly steps
    for i, u in enumerate(P.symbols):
        assert path.trough()[i] == pytest.approx(sc.stated_trough[u], abs=1e-12)
        assert path.max_drawdown()[i] >= -sc.stated_trough[u] - 1e-12
        assert f"{round(-100 * sc.stated_trough[u])} %" in sc.sources or u == "SOL" and key == "2020-03-12"


def test_black_thursday_uses_the_documented_figures():
    sc = SCENARIOS["2020-03-12"]
    assert sc.stated_trough["ETH"] == pytest.approx(-0.43) and sc.stated_trough["BTC"] == pytest.approx(-0.39)
    assert "ETH about -43 % intraday" in sc.sources and "BTC about -39 %" in sc.sources
    assert "proxy" in sc.sources  # SOL was not trading yet


def test_stress_vol_rises_into_the_crash():
    for p in stress_paths(P):
        low = int(np.argmin(p.spot[:, 0]))
        assert np.all(p.vol[low] > 1.5 * p.vol[0])


def test_unknown_scenario_is_refused():
    with pytest.raises(KeyError, match="unknown stress scenario"):
        stress_paths(P, ["1987-10-19"])
