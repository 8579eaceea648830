"""Real crash replays (crossmargin.sim.replay, §4 of issue 13, partly): the Brownian bridge hits the daily closes
exactly, has the bridge's variance in between, the oracle vol respects the VolOracle's rate limit, and
`crossmargin replay` walks books along it."""

import json

import numpy as np
import pytest

from crossmargin.model.params import load_params
from crossmargin.sim.backtest import book_vols
from crossmargin.sim.history import load_prices
from crossmargin.sim.replay import bridge, bridge_path
from crossmargin.sim.vol import forecast_vols

P = load_params("default")


@pytest.fixture(scope="module")
def ftx():
    prices = load_prices().between("2022-09-01", "2022-11-30")
    vols = book_vols(P.listed(0), prices, "ewma", forecast_vols(prices, 1.0, with_garch=False))
    return prices, vols


def test_bridge_hits_the_daily_closes_exactly(ftx):
    prices, vols = ftx
    path = bridge_path(P, prices, vols, "2022-11-06", "2022-11-12", steps_per_day=24, seed=3)
    assert path.steps == 6 * 24 and path.times[24] == 86_400
    i0 = int(np.flatnonzero(prices.dates == np.datetime64("2022-11-06"))[0])
    ref = np.array([u.price for u in P.underlyings])
    for j, u in enumerate(P.symbols):
        closes = prices.column(u)[i0:i0 + 7]
        anchors = path.spot[::24, j]
        np.testing.assert_array_equal(anchors, closes / closes[0] * ref[j])        # exactly the rebased closes
    sol = P.index("SOL")
    assert path.spot[96, sol] / path.spot[48, sol] == pytest.approx(
        prices.column("SOL")[i0 + 4] / prices.column("SOL")[i0 + 2], rel=1e-12)  # FTX: SOL 29.5 -> 14.0 in two days
    assert path.spot[96, sol] / path.spot[48, sol] < 0.5
    inside = path.spot[1:24, 0]
    assert not np.isin(inside, path.spot[::24, 0]).any()                         # the bridge moves in between


def test_jump_is_a_wick_at_the_days_low(ftx):
    """--jump 3: each day's lowest inner step (ETH's) is marked down by 3 day-sigmas of its forecast for that step
    only; the closes and every other step are the plain bridge's."""
    prices, vols = ftx
    plain = bridge_path(P, prices, vols, "2022-11-06", "2022-11-12", steps_per_day=24, seed=3)
    wick = bridge_path(P, prices, vols, "2022-11-06", "2022-11-12", steps_per_day=24, seed=3, jump=3.0)
    i0 = int(np.flatnonzero(prices.dates == np.datetime64("2022-11-06"))[0])
    ratio = wick.spot / plain.spot
    for d in range(6):
        k = d * 24 + 1 + int(np.argmin(plain.spot[d * 24 + 1:d * 24 + 24, 0]))
        np.testing.assert_allclose(ratio[k], np.exp(-3.0 * vols[i0 + d] / np.sqrt(365.0)), rtol=1e-12)
        others = [t for t in range(d * 24, d * 24 + 25) if t != k]
        np.testing.assert_array_equal(ratio[others], 1.0)                    # the closes stay exact
    assert "3-sigma wick" in wick.title


def test_bridge_variance_and_endpoints():
    n, reps = 24, 20_000
    eps = np.random.default_rng(0).standard_normal((reps, n))
    paths = np.array([bridge(np.array([0.0]), np.array([0.1]), np.array([0.01]), e[:, None])[:, 0] for e in eps[:2000]])
    assert (paths[:, 0] == 0).all() and np.allclose(paths[:, -1], 0.1, atol=1e-15)
    B = np.cumsum(eps, axis=1)
    mid = 0.05 + 0.01 * (B[:, n // 2 - 1] - 0.5 * B[:, -1])
    # a bridge over n steps of variance s² has variance s²·k(n-k)/n at step k: 0.01² · 6 at the midpoint
    assert mid.mean() == pytest.approx(0.05, abs=3e-4)
    assert mid.var() == pytest.approx(1e-4 * 6, rel=0.05)


def test_oracle_vol_follows_the_feeder_within_the_rate_limit(ftx):
    prices, vols = ftx
    path = bridge_path(P, prices, vols, "2022-11-06", "2022-11-12", steps_per_day=24)
    step = path.vol[1:] / path.vol[:-1]            # hourly updates: each within ×/÷ the hour factor
    f = P.oracle.vol_hour_factor
    assert (step <= f * (1 + 1e-12)).all() and (step >= 1 / f * (1 - 1e-12)).all()
    i0 = int(np.flatnonzero(prices.dates == np.datetime64("2022-11-06"))[0])
    np.testing.assert_array_equal(path.vol[0], vols[i0])


def test_missing_history_uses_a_named_proxy():
    prices = load_prices().between("2019-12-01", "2020-03-31")   # no SOL yet
    vols = book_vols(P.listed(0), prices, "ewma", forecast_vols(prices, 1.0, with_garch=False))
    path = bridge_path(P, prices, vols, "2020-03-10", "2020-03-16", steps_per_day=4)
    assert "SOL: no history, ETH log moves x 1.50" in path.sources
    eth, sol = P.index("ETH"), P.index("SOL")
    np.testing.assert_allclose(np.log(path.spot[::4, sol] / path.spot[0, sol]),
                               1.5 * np.log(path.spot[::4, eth] / path.spot[0, eth]), rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="both must be days of the file"):
        bridge_path(P, prices, vols, "2020-03-10", "2021-01-01")


def test_cli_replay(tmp_path):
    import click
    from click.testing import CliRunner

    from crossmargin.cli.history import register

    group = click.Group("crossmargin")
    register(group)
    p = load_prices().between("2022-09-01", "2022-11-30")
    f = tmp_path / "slice.csv"
    f.write_text("date,BTC,ETH,SOL\n" + "".join(f"{d}," + ",".join(repr(float(x)) for x in row) + "\n"
                                             for d, row in zip(p.dates, p.close)))
    res = CliRunner(mix_stderr=False).invoke(
        group, ["replay", "--prices", str(f), "--named", "2022-11-ftx", "--books", "60", "--vol", "ewma", "--json"],
        env={"CROSSMARGIN_REPORTS": str(tmp_path / "reports")}, catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    (r,) = data["replays"]
    assert r["key"] == "2022-11-ftx" and r["steps"] == 144 and r["trough"]["SOL"] < -0.55
    assert r["cross"]["books_hit"] <= r["isolated"]["books_hit"] and r["cross"]["accounts"] == 60
    bad = CliRunner(mix_stderr=False).invoke(group, ["replay", "--prices", str(f), "--from", "2022-11-06"])
    assert bad.exit_code != 0


def test_simulate_from_to_is_the_replay(tmp_path):
    import click
    from click.testing import CliRunner

    from crossmargin.cli import history, sim

    group = click.Group("crossmargin")
    sim.register(group)
    history.register(group)
    p = load_prices().between("2021-09-01", "2022-11-30")   # GARCH: a year of closes before the window
    f = tmp_path / "slice.csv"
    f.write_text("date,BTC,ETH,SOL\n" + "".join(f"{d}," + ",".join(repr(float(x)) for x in row) + "\n"
                                             for d, row in zip(p.dates, p.close)))
    res = CliRunner(mix_stderr=False).invoke(
        group, ["simulate", "--prices", str(f), "--from", "2022-11-08", "--to", "2022-11-10", "--books", "30",
                "--json"], env={"CROSSMARGIN_REPORTS": str(tmp_path / "reports")}, catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["liquidation"] == "dutch" and data["liq_delay_steps"] == 1
    (r,) = data["replays"]
    assert r["key"] == "2022-11-08..2022-11-10" and r["steps"] == 48
