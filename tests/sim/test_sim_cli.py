"""`crossmargin simulate` and `crossmargin report efficiency`, in process (click's CliRunner), small sizes."""

import json

import click
import pytest
from click.testing import CliRunner

from crossmargin.cli.sim import register


@pytest.fixture(scope="module")
def cli():
    group = click.Group("crossmargin")
    register(group)
    return group


@pytest.fixture
def run(cli, tmp_path):
    runner = CliRunner(mix_stderr=False)

    def invoke(*args):
        return runner.invoke(cli, list(args), env={"CROSSMARGIN_REPORTS": str(tmp_path / "reports")},
                             catch_exceptions=False)

    return invoke


def test_simulate_json(run, tmp_path):
    res = run("simulate", "--books", "40", "--paths", "2", "--scenario", "gbm", "--scenario", "ftx",
              "--seed", "1", "--json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert [s["key"] for s in data["scenarios"]] == ["gbm", "ftx"]
    assert data["population"]["books"] == 40
    assert data["population"]["capital_cross"] < data["population"]["capital_isolated"]
    names = {p.split("/")[-1] for p in data["files"]}
    assert names == {"sim_paths.png", "sim_capital.png", "sim_liquidations.png", "sim_bad_debt.png", "sim_summary.json"}
    for f in data["files"]:
        assert (tmp_path / "reports" / f.split("/")[-1]).stat().st_size > 0


def test_simulate_table_and_out_dir(run, tmp_path):
    out = tmp_path / "elsewhere"
    res = run("simulate", "--books", "20", "--scenario", "2024-08-05", "--no-plots", "--out", str(out))
    assert res.exit_code == 0, res.stderr
    assert "capital required" in res.stdout and "2024-08-0" in res.stdout and "uncovered" in res.stdout
    assert (out / "sim_summary.json").exists() and not (out / "sim_paths.png").exists()


def test_report_efficiency_json(run, tmp_path):
    res = run("report", "efficiency", "--json")
    assert res.exit_code == 0, res.stderr
    books = {b["book"]: b for b in json.loads(res.stdout)["books"]}
    assert books["basis trade"]["cross_vs_isolated"] <= 0.10
    assert books["correlated longs"]["cross"] > books["diversified longs"]["cross"]
    assert (tmp_path / "reports" / "efficiency.png").stat().st_size > 0


def test_report_efficiency_table(run):
    res = run("report", "efficiency", "--params", "demo", "--no-plots")
    assert res.exit_code == 0, res.stderr
    assert "basis trade" in res.stdout and "naive sum" in res.stdout


@pytest.mark.parametrize("args, message", [
    (("simulate", "--params", "nope"), "no parameter file"),
    (("report", "efficiency", "--params", "nope"), "no parameter file"),
    (("simulate", "--scenario", "1929"), "Invalid value"),
    (("simulate", "--books", "0"), "Invalid value"),
])
def test_bad_input_is_one_clear_error(run, args, message):
    res = run(*args)
    assert res.exit_code != 0
    assert message in (res.stderr + res.stdout)
