"""The issue-14 commands end to end in one process (small sizes): account risk --book, report liquidation-forecast,
report band-forecast."""

import json

import click
import pytest
from click.testing import CliRunner

from crossmargin.cli import account, forecast, sim

BOOK = ('[[accounts]]\nname = "thin"\ncash = 4000.0\npositions = [{ instrument = "ETH-PERP", size = 10.0 }]\n'
        '[[accounts]]\nname = "straddle"\ncash = 9000.0\npositions = [{ instrument = "ETH-C-3000-30D", size = -10.0 },'
        ' { instrument = "ETH-P-3000-30D", size = -10.0 }]\n')


@pytest.fixture(scope="module")
def cli():
    group = click.Group("crossmargin")
    for module in (account, sim, forecast):
        module.register(group)
    return group


def _run(cli, *args):
    out = CliRunner(mix_stderr=False).invoke(cli, list(args), catch_exceptions=False)
    assert out.exit_code == 0, out.stderr
    return json.loads(out.stdout)


def test_account_risk_book(cli, tmp_path):
    (tmp_path / "b.toml").write_text(BOOK)
    d = _run(cli, "account", "risk", "--book", str(tmp_path / "b.toml"), "--paths", "300", "--json")
    thin, straddle = d["accounts"]
    assert thin["p_liquidation"][0] <= thin["p_liquidation"][1] and 0 < thin["p_liquidation"][1] < 1
    assert thin["topup_usd"][1] > 0 and thin["steps"] == [60, 96]
    assert straddle["p_liquidation"][1] > 0 and d["model"]["method"] == "fhs" and d["ran_on"] == "this process"


def test_reports_small(cli, tmp_path):
    d = _run(cli, "report", "liquidation-forecast", "--windows", "2", "--books", "2", "--paths", "64", "--steps", "6",
             "--workers", "0", "--out", str(tmp_path), "--json")
    assert d["n"] == 2 * d["windows"] >= 2 and 0 <= d["brier"] <= 1 and (tmp_path / "liquidation_forecast.png").exists()
    d = _run(cli, "report", "band-forecast", "--named", "2021-05-19", "--books", "1", "--workers", "0", "--out",
             str(tmp_path), "--json")
    w = d["windows"]["2021-05-19"]
    assert w["plain"]["books"] == w["forecast"]["books"] == 1
