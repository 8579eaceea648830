"""Gap risk and the insurance fund (crossmargin.sim.fund, §5 of issue 13): the gap path, negative equity and bad
debt on a worked book, Cover 2 on a worked price file, and `crossmargin report fund`."""

import json

import numpy as np
import pytest

from crossmargin.model.params import load_params
from crossmargin.model.portfolio import Account
from crossmargin.sim.books import from_accounts, perp
from crossmargin.sim.fund import cover2, gap_path, gap_table
from crossmargin.sim.history import Prices

P = load_params("default").listed(0)


def longs(cash_per_account):
    """Accounts each long 1M USD of the ETH perp (at the reference price) with the given cash."""
    spec, S = perp(P, "ETH"), P.underlying("ETH").price
    return from_accounts(P, [Account(cash=c).with_trade(spec, 1e6 / S, S) for c in cash_per_account])


def test_gap_path():
    path = gap_path(P, "ETH", 0.2)
    eth = P.index("ETH")
    assert path.steps == 2 and path.spot[1, eth] == pytest.approx(0.8 * path.spot[0, eth])
    assert path.vol[1, eth] == 2 * path.vol[0, eth] and (path.spot[1] == path.spot[2]).all()
    others = [j for j in range(len(P.symbols)) if j != eth]
    assert (path.spot[1, others] == path.spot[0, others]).all()
    with pytest.raises(ValueError):
        gap_path(P, "ETH", 1.2)


def test_gap_table_on_a_worked_book():
    """1M long ETH with 100k cash: a g gap leaves 100k - g·1M of equity; the walk's bidder keeps 25 % of MM."""
    books = longs([100_000.0, 300_000.0])
    rows = gap_table(P, books, fund=50_000.0, gaps=(0.05, 0.15, 0.30))
    by = {round(r.gap, 2): r for r in rows}
    assert by[0.05].negative_equity == 0 and by[0.05].bad_debt == 0
    assert by[0.15].negative_equity == pytest.approx(50_000.0, rel=1e-9)          # 150k loss on 100k
    assert by[0.30].negative_equity == pytest.approx(200_000.0 + 0.0, rel=1e-9)   # 300k loss; 300k account at 0
    assert by[0.30].liquidated == 2
    for r in rows:
        assert r.bad_debt >= r.negative_equity - 1e-6                             # the discount only adds
        assert r.insurance_used == pytest.approx(min(r.bad_debt, 50_000.0)) and \
            r.uncovered == pytest.approx(max(0.0, r.bad_debt - 50_000.0))
    assert [r.bad_debt for r in rows] == sorted(r.bad_debt for r in rows)


def test_cover2_on_a_worked_history():
    """Day 3 is the worst: ETH -20 % (x1.5 = -30 %): the accounts lose 300k each on 50k, 100k, 250k of cash."""
    dates = np.arange(np.datetime64("2021-01-01"), np.datetime64("2021-01-05"))
    close = np.array([[3000.0, 60000.0], [2940.0, 60000.0], [3000.0, 59000.0], [2400.0, 60000.0]])
    prices = Prices(dates, ("ETH", "BTC"), close, "worked")
    c = cover2(P, longs([50_000.0, 100_000.0, 250_000.0]), prices, stress=1.5)
    assert c.worst_day == "2021-01-04" and c.moves["ETH"] == pytest.approx(-0.3)
    assert c.largest == pytest.approx([250_000.0, 200_000.0], rel=1e-9)
    assert c.cover2 == pytest.approx(450_000.0, rel=1e-9) and c.cover_all == pytest.approx(500_000.0, rel=1e-9)
    assert c.proxies == ["SOL"]


def test_cli_report_fund(tmp_path):
    import click
    from click.testing import CliRunner

    from crossmargin.cli import history, sim

    group = click.Group("crossmargin")
    sim.register(group)
    history.register(group)
    assert {"efficiency", "fund"} <= set(group.commands["report"].commands)
    f = tmp_path / "p.csv"
    f.write_text("date,BTC,ETH,SOL\n2022-11-07,20000,1500,33\n2022-11-08,18500,1330,29.5\n"
                 "2022-11-09,16000,1100,24.2\n2022-11-10,17500,1290,14.0\n")
    res = CliRunner(mix_stderr=False).invoke(
        group, ["report", "fund", "--prices", str(f), "--books", "40", "--json"],
        env={"CROSSMARGIN_REPORTS": str(tmp_path / "reports")}, catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert set(data["gaps"]) == {"random books, cross", "random books, isolated", "demo books (demo params)"}
    assert [round(r["gap"], 2) for r in data["gaps"]["random books, cross"]] == [0.05, 0.1, 0.15, 0.2, 0.25, 0.3,
                                                                                0.35, 0.4]
    assert data["funds"]["demo books"] == 25_000 and data["cover2"]["demo books"]["worst_day"] in (
        "2022-11-08", "2022-11-09", "2022-11-10")
    assert (tmp_path / "reports" / "fund.png").exists()
