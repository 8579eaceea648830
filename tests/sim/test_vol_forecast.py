"""Vol forecasts (crossmargin.sim.vol, §1 of issue 13): GARCH recovers known parameters, no look-ahead,
horizon matching, the shipped price file, and `crossmargin vol forecast`."""

import json
import math

import numpy as np
import pytest

from crossmargin.sim.history import SHIPPED, load_prices
from crossmargin.sim.vol import (LAMBDA, annualised, ewma_variance, fit_garch, forecast_vols, garch_variance,
                                 horizon_variance)

TRUE = {"omega": 1.8e-5, "alpha": 0.08, "beta": 0.90, "nu": 5.0}   # daily σ̄ = 3 %, persistence 0.98


def simulate_garch_t(n, omega, alpha, beta, nu, seed, burn=500):
    """A GARCH(1,1) path with standardised Student-t(ν) innovations (written out, independent of arch)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_t(nu, n + burn) * math.sqrt((nu - 2) / nu)
    r, s = np.empty(n + burn), omega / (1 - alpha - beta)
    for t in range(n + burn):
        r[t] = math.sqrt(s) * z[t]
        s = omega + alpha * r[t] ** 2 + beta * s
    return r[burn:]


def test_garch_fit_recovers_known_parameters():
    # 4,000 daily returns: tolerances ≈ 2-3 standard errors at this length (seeds 0-7 all stay within
    # α ± 0.013, β ± 0.019, ν ± 0.27, ω within ×0.85..×1.43 of the truth)
    r = simulate_garch_t(4000, **TRUE, seed=3)
    fit, nxt = fit_garch(r)
    assert abs(fit.alpha - TRUE["alpha"]) < 0.025
    assert abs(fit.beta - TRUE["beta"]) < 0.03
    assert abs(fit.persistence - 0.98) < 0.015
    assert abs(fit.nu - TRUE["nu"]) < 1.0
    assert 0.5 < fit.omega / TRUE["omega"] < 2.0
    assert abs(fit.long_run_vol - 0.03 * math.sqrt(365)) < 0.15 * 0.03 * math.sqrt(365)
    assert nxt > 0 and fit.nobs == 4000


def test_garch_forecasts_use_only_the_past():
    """The forecast made on day t is the same whether or not the file goes on after t (same re-fit days)."""
    r = np.concatenate([[np.nan], simulate_garch_t(700, **TRUE, seed=1)])
    full = garch_variance(r, min_obs=400, refit_days=100)
    k = 560
    cut = garch_variance(r[:k + 1], min_obs=400, refit_days=100)
    np.testing.assert_array_equal(cut.forecast, full.forecast[:k + 1])
    assert np.isnan(full.forecast[:400]).all() and not np.isnan(full.forecast[400:]).any()
    assert [k for k, _ in full.fits] == [400, 500, 600, 700]


def test_ewma_is_the_riskmetrics_recursion():
    r = np.concatenate([[np.nan, np.nan], np.random.default_rng(2).normal(0, 0.02, 100)])
    f = ewma_variance(r, seed=30)
    s = np.mean(r[2:32] ** 2)
    assert np.isnan(f[:31]).all() and f[31] == s
    for t in range(32, r.size):
        s = LAMBDA * s + (1 - LAMBDA) * r[t] ** 2
        assert f[t] == pytest.approx(s, rel=1e-15)
    r2 = r.copy()
    r2[80:] *= 3   # the future does not move the past
    np.testing.assert_array_equal(ewma_variance(r2)[:80], f[:80])


def test_horizon_matching():
    v1 = np.array([4e-4])
    assert horizon_variance(v1, 1.0, 1e-5, 0.1, 0.85)[0] == pytest.approx(4e-4)
    assert horizon_variance(v1, 0.25)[0] == pytest.approx(1e-4)                 # sub-day: scale the variance
    assert horizon_variance(v1, 5.0)[0] == pytest.approx(2e-3)                  # EWMA: square root of time
    lr = 1e-5 / 0.05                                                             # σ̄² = 2e-4
    expected = sum(lr + 0.95 ** (k - 1) * (4e-4 - lr) for k in range(1, 6))     # Σ E[σ²_{t+k}], k = 1..5
    assert horizon_variance(v1, 5.0, 1e-5, 0.1, 0.85)[0] == pytest.approx(expected, rel=1e-12)
    assert horizon_variance(v1, 5.0, 0.0, 0.1, 0.9)[0] == pytest.approx(2e-3)   # integrated: like EWMA
    assert annualised(np.array([4e-4]), 1.0)[0] == pytest.approx(0.02 * math.sqrt(365))


def test_shipped_prices_and_their_crashes():
    p = load_prices()
    assert p.symbols == ("BTC", "ETH", "SOL") and str(p.dates[0]) == "2016-01-01" and str(p.dates[-1]) == "2023-06-30"
    assert np.isnan(p.column("SOL")[p.dates < np.datetime64("2020-04-11")]).all()
    assert not np.isnan(p.column("SOL")[p.dates >= np.datetime64("2020-04-11")]).any()
    d = {str(x): i for i, x in enumerate(p.dates)}
    eth = p.column("ETH")
    assert eth[d["2020-03-12"]] == pytest.approx(194.2, rel=1e-3) and eth[d["2020-03-13"]] == pytest.approx(110.6, rel=1e-3)
    assert SHIPPED.with_name("PROVENANCE.md").exists()


@pytest.mark.parametrize("text, error", [
    ("day,BTC\n2020-01-01,1\n2020-01-02,2\n", "first column must be 'date'"),
    ("date,BTC\n2020-01-01,1\n2020-01-03,2\n", "consecutive days"),
    ("date,BTC\n2020-01-01,1\n2020-01-02,-2\n", "positive price"),
    ("date,BTC\n2020-01-01,1\n2020-01-02,x\n", "not a number"),
])
def test_bad_price_files_are_named(tmp_path, text, error):
    f = tmp_path / "p.csv"
    f.write_text(text)
    with pytest.raises(ValueError, match=error):
        load_prices(f)


def slice_file(tmp_path, start, end, symbols=("BTC", "ETH")):
    p = load_prices().between(start, end).only(symbols)
    f = tmp_path / "slice.csv"
    lines = ["date," + ",".join(p.symbols)]
    for d, row in zip(p.dates, p.close):
        lines.append(f"{d}," + ",".join("" if np.isnan(x) else repr(float(x)) for x in row))
    f.write_text("\n".join(lines) + "\n")
    return f


def test_forecast_vols_on_a_slice(tmp_path):
    p = load_prices(slice_file(tmp_path, "2019-01-01", "2020-12-31"))
    f = forecast_vols(p, 1.0, refit_days=120)
    rows = {r["symbol"]: r for r in f.summary()}
    for u in ("BTC", "ETH"):
        assert 0.2 < rows[u]["ewma"] < 2.0 and 0.2 < rows[u]["garch"] < 2.0
        assert rows[u]["fits"] == len(range(365, len(p), 120))
    # March 2020: both forecasts jump by half or more from their February level
    j, d = p.symbols.index("ETH"), {str(x): i for i, x in enumerate(p.dates)}
    for method in ("ewma", "garch"):
        v = f.vol(method)[:, j]
        assert v[d["2020-03-20"]] > 1.5 * v[d["2020-02-20"]]


def test_cli_vol_forecast(tmp_path):
    import click
    from click.testing import CliRunner

    from crossmargin.cli.history import register

    group = click.Group("crossmargin")
    register(group)
    f = slice_file(tmp_path, "2019-06-01", "2020-12-31", ("ETH", "SOL"))
    res = CliRunner(mix_stderr=False).invoke(
        group, ["vol", "forecast", "--prices", str(f), "--refit-days", "200", "--plot", "--json"],
        env={"CROSSMARGIN_REPORTS": str(tmp_path / "reports")}, catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["horizon_days"] == 1 and [r["symbol"] for r in data["underlyings"]] == ["ETH", "SOL"]
    eth, sol = data["underlyings"]
    assert eth["garch"] > 0 and eth["garch_fit"]["nu"] > 2
    assert sol["garch"] is None and sol["ewma"] > 0       # SOL from 2020-04-11: too short for a GARCH fit
    assert data["files"][0].endswith("vol_forecast.png") and (tmp_path / "reports" / "vol_forecast.png").exists()
