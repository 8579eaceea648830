"""Calibration (crossmargin.sim.calibrate, §3 of issue 13): correlation estimates, the PSD repair, the search
for the least margin meeting the coverage target on a slice, the written parameter file and `risk calibrate`."""

import json
import math

import numpy as np
import pytest

from crossmargin.model.params import PARAMS_DIR, load_params, validate_correlation
from crossmargin.sim.backtest import TARGET
from crossmargin.sim.calibrate import (calibrate, ewma_correlation, nearest_valid, params_text, stressed_correlation,
                                       write_params)
from crossmargin.sim.history import load_prices


def test_ewma_correlation_recursion():
    rng = np.random.default_rng(4)
    x = rng.normal(0, 0.02, 200)
    y = 0.6 * x + 0.8 * rng.normal(0, 0.02, 200)
    r = np.column_stack([x, y, -x])
    r[:50, 1] = np.nan                                  # y starts later
    c = ewma_correlation(r, lam=0.94, seed=30)
    assert np.isnan(c[:80, 0, 1]).all() and not np.isnan(c[80:, 0, 1]).any()
    np.testing.assert_allclose(c[30:, 0, 2], -1.0, atol=1e-12)
    ok = np.arange(50, 200)
    sxx, syy, sxy = np.mean(x[ok[:30]] ** 2), np.mean(y[ok[:30]] ** 2), np.mean(x[ok[:30]] * y[ok[:30]])
    for t in ok[30:]:
        sxx, syy, sxy = (0.94 * sxx + 0.06 * x[t] ** 2, 0.94 * syy + 0.06 * y[t] ** 2, 0.94 * sxy + 0.06 * x[t] * y[t])
    assert c[-1, 0, 1] == pytest.approx(sxy / math.sqrt(sxx * syy), rel=1e-12)


def test_stressed_correlation_reads_the_worst_days():
    rng = np.random.default_rng(1)
    x, y = rng.normal(0, 0.01, 1000), rng.normal(0, 0.01, 1000)   # independent on normal days ...
    crash = np.arange(0, 1000, 100)
    x[crash], y[crash] = -0.2, -0.15                                # ... and falling together on 10 crash days
    rho, days = stressed_correlation(np.column_stack([x, y]))
    assert days[0, 1] == 10 and rho[0, 1] == pytest.approx(1.0, abs=1e-12)
    assert abs(np.corrcoef(x[np.setdiff1d(np.arange(1000), crash)], y[np.setdiff1d(np.arange(1000), crash)])[0, 1]) < 0.1


def test_nearest_valid_repairs_and_rounds():
    bad = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
    assert np.linalg.eigvalsh(bad).min() < -0.5
    fixed = nearest_valid(bad, ("A", "B", "C"))
    validate_correlation(fixed, ("A", "B", "C"))
    assert np.array_equal(fixed, np.round(fixed, 2)) and np.all(np.diag(fixed) == 1.0)
    good = np.array([[1.0, 0.8], [0.8, 1.0]])
    assert np.array_equal(nearest_valid(good, ("A", "B")), good)


@pytest.fixture(scope="module")
def calibration():
    """2020-04-11 .. 2021-12-31 (SOL's first 20 months): GARCH forecasts from 2021-04, ~270 backtest days."""
    prices = load_prices().between("2020-04-11", "2021-12-31")
    return calibrate(load_params("default"), prices, refit_days=90), prices


def test_proposal_meets_the_target_with_the_least_margin(calibration):
    cal, _ = calibration
    p = cal.proposed
    assert cal.feasible and all(b.coverage >= TARGET for b in cal.after if b.days)
    assert sum(b.days > 200 for b in cal.after) == 7
    step = {"z": 0.05, "vol_up": 0.05, "shock_min": 0.01}
    for knob, only_fails in (("z", "z"), ("vol_up", "vol_up")):
        value = getattr(p.risk, knob)
        lower = [t for t in cal.trials if t.step == only_fails and math.isclose(getattr(t, knob), value - step[knob])]
        assert value == p.risk.bounds[knob][0] or (lower and not lower[0].feasible), knob  # one step less fails
    # correlation: EWMA at the last close, PSD, κ reaches the stressed co-movement of every pair
    validate_correlation(p.rho, p.symbols)
    assert cal.correlation["kappa"] == p.risk.corr_kappa >= max(cal.correlation["kappa_needed"].values())
    stressed = np.array(cal.correlation["stressed"])
    top = (1 - p.risk.corr_kappa) * p.rho + p.risk.corr_kappa
    assert np.all(top >= stressed - 1e-12)
    for u in p.underlyings:
        assert u.vol_floor >= p.oracle.min_vol and u.vol_floor == round(u.vol_floor, 2)
    assert p.risk.shock_max >= 0.2 and all(c["current"] != c["proposed"] for c in cal.changes)


def test_written_file_reads_back_and_diffs(calibration, tmp_path):
    cal, _ = calibration
    path, diff = write_params(cal, PARAMS_DIR / "default.toml", tmp_path / "p.toml")
    back = load_params(path)
    assert back.name == "default-calibrated" and back.risk == cal.proposed.risk
    assert np.array_equal(back.rho, cal.proposed.rho)
    assert [u.vol_floor for u in back.underlyings] == [u.vol_floor for u in cal.proposed.underlyings]
    assert back.markets == load_params("default").markets               # nothing else moved
    assert f"+z = {cal.proposed.risk.z!r}" in diff and "+vol_floor = " in diff and "-name = \"default\"" in diff
    # idempotent: writing the proposal over the proposed file changes nothing
    assert params_text(path.read_text(), back, back) == path.read_text().replace(
        'name = "default-calibrated"', 'name = "default-calibrated"')


def test_a_proposal_over_a_file_that_extends_another_is_written_whole(calibration, tmp_path):
    """A file holding only vol_up over default.toml: a proposal made against it is written on the full
    default.toml (every value the proposal moves from it, vol_up included) and reads back as the proposal."""
    import dataclasses

    cal, _ = calibration
    (tmp_path / "over.toml").write_text('extends = "default"\nname = "over"\n[risk]\nvol_up = 0.5\n')
    over = dataclasses.replace(cal, base=load_params(tmp_path / "over.toml"))
    path, diff = write_params(over, tmp_path / "over.toml", tmp_path / "p.toml")
    back = load_params(path)
    assert back.risk == cal.proposed.risk and np.array_equal(back.rho, cal.proposed.rho)
    assert "default.toml" in diff.splitlines()[0] and "extends" not in path.read_text()


def test_cli_risk_calibrate(tmp_path):
    import click
    from click.testing import CliRunner

    from crossmargin.cli import history, risk

    group = click.Group("crossmargin")
    risk.register(group)
    history.register(group)
    assert {"show", "set", "correlation", "calibrate"} <= set(group.commands["risk"].commands)
    p = load_prices().between("2020-04-11", "2021-09-30")
    f = tmp_path / "slice.csv"
    f.write_text("date,BTC,ETH,SOL\n" + "".join(f"{d}," + ",".join(repr(float(x)) for x in row) + "\n"
                                             for d, row in zip(p.dates, p.close)))
    out = tmp_path / "cal.toml"
    res = CliRunner(mix_stderr=False).invoke(
        group, ["risk", "calibrate", "--prices", str(f), "--refit-days", "120", "--write", str(out), "--json"],
        env={"CROSSMARGIN_REPORTS": str(tmp_path / "reports")}, catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["file"] == str(out) and load_params(out).name == "default-calibrated"
    assert data["apply"][0].startswith("crossmargin risk set ") and "--- " in data["diff"]
    noso = tmp_path / "noso.csv"
    noso.write_text("date,BTC\n2020-01-01,1\n2020-01-02,2\n")
    bad = CliRunner(mix_stderr=False).invoke(group, ["risk", "calibrate", "--prices", str(noso)])
    assert bad.exit_code != 0 and "no ETH, SOL column" in bad.stderr + str(bad.exception)
