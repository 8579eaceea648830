"""MM backtest (crossmargin.sim.backtest, §2 of issue 13): Kupiec and Christoffersen against textbook values,
the daily MM is the model's, the realised loss is the book's, no look-ahead, and `crossmargin backtest`."""

import json
import math

import numpy as np
import pytest

from crossmargin.model.margin import requirements
from crossmargin.model.params import load_params
from crossmargin.model.portfolio import Account, MarketState
from crossmargin.sim.backtest import (BookBacktest, backtest, book_vols, christoffersen_independence, held_vols,
                                      kupiec_pof, run_books, traffic_light, transitions)
from crossmargin.sim.books import from_accounts, perp
from crossmargin.sim.history import load_prices
from crossmargin.sim.vol import forecast_vols


# Kupiec (1995) non-rejection regions at the 5 % level, as tabulated by Jorion (Value at Risk, table 6-3):
# (breach probability, days) -> (fewest, most) breaches accepted
JORION = {(0.01, 510): (2, 10), (0.01, 1000): (5, 16),
          (0.05, 255): (7, 20), (0.05, 510): (17, 35), (0.05, 1000): (38, 64)}


@pytest.mark.parametrize("p, n", list(JORION))
def test_kupiec_matches_the_textbook_table(p, n):
    accepted = [x for x in range(0, 120) if kupiec_pof(x, n, p)[1] >= 0.05]
    assert (accepted[0], accepted[-1]) == JORION[(p, n)]
    assert accepted == list(range(accepted[0], accepted[-1] + 1))


def test_kupiec_values():
    lr, p = kupiec_pof(0, 255)         # Jorion's table gives "N < 7" at 255 days; its upper end:
    assert lr == pytest.approx(-2 * 255 * math.log(0.99)) and p < 0.05   # zero breaches is itself rejected
    assert kupiec_pof(6, 255)[1] >= 0.05 > kupiec_pof(7, 255)[1]
    assert kupiec_pof(5, 250)[0] == pytest.approx(1.9568, abs=1e-4)      # x = 5 of 250 at 1 %
    assert kupiec_pof(10, 1000) == (0.0, 1.0)                           # exactly the expected rate
    lr, p = kupiec_pof(12, 1000)
    assert p == pytest.approx(math.erfc(math.sqrt(lr / 2)))             # χ²(1) tail = erfc(sqrt(LR/2))


def test_christoffersen_against_the_formula():
    hits = np.zeros(1000, dtype=bool)
    hits[[100, 101, 300, 301, 302, 500, 700, 900]] = True                # clustered
    n00, n01, n10, n11 = transitions(hits)
    assert (n00, n01, n10, n11) == (986, 5, 5, 3)
    pi, pi0, pi1 = 8 / 999, 5 / 991, 3 / 8
    expected = -2 * ((991 * math.log(1 - pi) + 8 * math.log(pi))
                     - (986 * math.log(1 - pi0) + 5 * math.log(pi0) + 5 * math.log(1 - pi1) + 3 * math.log(pi1)))
    lr, p = christoffersen_independence(hits)
    assert lr == pytest.approx(expected, rel=1e-12) and lr == pytest.approx(19.72, abs=0.01)
    assert p < 0.001
    spread = np.zeros(1000, dtype=bool)
    spread[np.arange(50, 1000, 100)] = True                              # 10 isolated breaches
    lr, p = christoffersen_independence(spread)
    assert lr == pytest.approx(-2 * (989 * math.log(1 - 10 / 999) + 10 * math.log(10 / 999)
                                     - 979 * math.log(1 - 10 / 989) - 10 * math.log(10 / 989)), rel=1e-12)
    assert p > 0.5
    assert christoffersen_independence(np.zeros(50, dtype=bool)) == (0.0, 1.0)


def test_verdicts():
    d = np.arange(1000)
    book = lambda x: BookBacktest("b", d, np.ones(1000), np.where(np.arange(1000) < x, 2.0, 0.5))  # noqa: E731
    assert book(10).verdict == "pass" and book(10).coverage == 0.99
    assert book(25).verdict == "under-covered" and book(11).verdict == "under-covered"   # 98.9 %: below the target
    # safety is one-sided: too few breaches still pass, flagged over-margined (two-sided Kupiec rejects low)
    assert book(0).verdict == "pass" and book(0).over_margined and book(0).label == "pass, over-margined"
    assert book(4).kupiec[1] < 0.05 and book(4).over_margined and not book(5).over_margined
    assert not book(10).over_margined and not book(25).over_margined
    assert book(0).to_dict()["over_margined"] is True and book(10).to_dict()["over_margined"] is False
    assert book(0).traffic_light[0] == "green" and book(16).traffic_light[0] == "yellow"
    assert book(25).traffic_light[0] == "red"


def test_traffic_light_is_the_basel_table():
    """Basel Committee (1996), 250 days at 99 %: 0-4 breaches green, 5-9 yellow, 10 and more red; one-sided."""
    zones = [traffic_light(x, 250)[0] for x in range(13)]
    assert zones == ["green"] * 5 + ["yellow"] * 5 + ["red"] * 3
    assert traffic_light(4, 250)[1] == pytest.approx(0.8922, abs=1e-4)     # the Basel table's cumulative column
    assert traffic_light(9, 250)[1] == pytest.approx(0.9997, abs=1e-4)
    assert traffic_light(0, 10_000)[0] == "green"                          # conservative is never rejected


def test_a_book_without_loss_is_not_testable():
    """Zero loss on every day: no margin can be breached, so Kupiec (which would say 'over-margined') and the
    traffic light are not asked; a single day of loss makes it testable again."""
    d = np.arange(500)
    flat = BookBacktest("basis", d, np.full(500, 5_000.0), np.zeros(500), gross=2e6)
    assert flat.verdict == "not testable" and flat.traffic_light == (None, None)
    assert flat.to_dict()["verdict_reason"] == "no loss on index data" and flat.kupiec[1] < 0.05
    moved = BookBacktest("b", d, np.full(500, 5_000.0), np.where(d == 7, 100.0, 0.0), gross=2e6)
    assert moved.testable and moved.verdict == "pass" and moved.over_margined and moved.traffic_light[0] == "green"
    assert not flat.over_margined


def test_held_vols_follow_the_oracle_rate_limit():
    """The vol an hour after each close: two feeder posts (x2 per hour window, x4 per day window): a x1.5 or x3.6
    jump is held in full, a x5 one is cut at x4 and reached the next day; a first value is free, NaN stays NaN."""
    o = load_params("default").oracle
    f = np.array([[np.nan, 0.5], [0.6, 0.5], [0.9, 0.5 * 3.6], [0.9, 1.8], [4.5, 1.8], [4.5, 1.8], [0.8, 1.8]])
    h = held_vols(f, o)
    assert np.isnan(h[0, 0]) and h[1, 0] == 0.6 and h[2, 0] == pytest.approx(0.9)
    assert h[2, 1] == pytest.approx(1.8) and h[4, 0] == pytest.approx(3.6) and h[5, 0] == pytest.approx(4.5)
    assert h[6, 0] == pytest.approx(4.5 / 4)                             # the way down is limited alike


@pytest.fixture(scope="module")
def eth_slice():
    return load_prices().between("2019-09-01", "2020-06-30").only(["BTC", "ETH"])


def test_mm_is_the_models_and_loss_is_the_books(eth_slice):
    """A long ETH perp (1M USD): each day's MM is `requirements` at the day's forecast vol, the loss is the
    notional times the day's fall, and a breach is a fall beyond the shock."""
    P = load_params("default").listed(0)
    spec = perp(P, "ETH")
    S = P.underlying("ETH").price
    acct = Account(cash=0.0).with_trade(spec, 1e6 / S, S)
    f = forecast_vols(eth_slice, 1.0, refit_days=60, min_obs=120)
    vols = book_vols(P, eth_slice, "ewma", f)
    (res,) = run_books(P, from_accounts(P, [acct]), ["eth"], eth_slice, vols, 1)
    assert res.days == len(eth_slice) - 30 - 1     # EWMA seed of 30 returns, and the last day has no t + 1
    close = eth_slice.column("ETH")
    idx = {str(x): i for i, x in enumerate(eth_slice.dates)}
    ref = MarketState.from_params(P)
    for k in (0, 100, res.days - 1):
        t = idx[str(res.dates[k])]
        state = ref.with_vol(ETH=float(vols[t, P.index("ETH")]))
        assert res.mm[k] == requirements(acct, state, P).mm
        assert res.loss[k] == pytest.approx(-1e6 * (close[t + 1] / close[t] - 1), rel=1e-9)
    t = idx["2020-03-12"]
    k = int(np.flatnonzero(res.dates == eth_slice.dates[t])[0])
    assert res.hits[k] and res.loss[k] > 0.4e6    # ETH 194 -> 111: a 43 % loss on 1M
    falls = np.array([-(close[idx[str(d)] + 1] / close[idx[str(d)]] - 1) for d in res.dates])
    assert (res.hits == (falls * 1e6 > res.mm * (1 + 1e-12))).all() or (res.hits == (falls * 1e6 > res.mm)).all()


def test_no_look_ahead(eth_slice):
    """Changing prices after day t changes nothing about days <= t - 1 (their MM and loss)."""
    P = load_params("default")
    a = backtest(P, eth_slice, "ewma", book="correlated longs")
    changed = eth_slice.close.copy()
    changed[200:] *= np.linspace(1.0, 3.0, changed.shape[0] - 200)[:, None]
    from crossmargin.sim.history import Prices
    b = backtest(P, Prices(eth_slice.dates, eth_slice.symbols, changed), "ewma", book="correlated longs")
    (ra,), (rb,) = a.books, b.books
    n = int(np.sum(ra.dates < eth_slice.dates[199]))
    np.testing.assert_array_equal(ra.mm[:n + 1], rb.mm[:n + 1])
    np.testing.assert_array_equal(ra.loss[:n], rb.loss[:n])
    assert not np.array_equal(ra.mm, rb.mm)


def test_cli_backtest(tmp_path):
    import click
    from click.testing import CliRunner

    from crossmargin.cli.history import register

    group = click.Group("crossmargin")
    register(group)
    p = load_prices().between("2020-01-01", "2020-12-31").only(["BTC", "ETH"])
    f = tmp_path / "slice.csv"
    f.write_text("date,BTC,ETH\n" + "".join(f"{d},{a!r},{b!r}\n" for d, (a, b) in zip(p.dates, p.close)))
    res = CliRunner(mix_stderr=False).invoke(
        group, ["backtest", "--prices", str(f), "--vol", "ewma", "--from", "2020-02-15", "--random", "20", "--json"],
        env={"CROSSMARGIN_REPORTS": str(tmp_path / "reports")}, catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    books = {b["book"]: b for b in data["books"]}
    assert len(books) == 7 and books["diversified longs"]["days"] == 0     # no SOL in the file
    cl = books["correlated longs"]
    assert cl["from"] == "2020-02-15" and cl["days"] == 320 and 0 <= cl["kupiec_p"] <= 1
    assert books["basis trade"]["breaches"] == 0                           # futures = spot: no basis moves
    assert books["basis trade"]["verdict"] == "not testable" and books["basis trade"]["traffic_light"] is None
    assert books["cash-and-carry"]["traffic_light"] in ("green", "yellow", "red")
    assert data["rate_limit"] and set(data["rate_limited_days"]) == {"ETH", "BTC", "SOL"}
    assert data["oracle_const"]["vol"] == "oracle-const" and 0 < data["random"]["books"] <= 20  # SOL books: no data
    assert (tmp_path / "reports" / "backtest.png").exists()
    bad = CliRunner(mix_stderr=False).invoke(group, ["backtest", "--prices", str(f), "--book", "nope"])
    assert bad.exit_code != 0 and "no canonical book" in bad.stderr + str(bad.exception)


def test_vol_up_0_8_raises_only_the_option_books(eth_slice):
    """The default vol_up 0.8 against the 0.5 it replaced (README "Backtest"): the same MM for books without
    options, more for the option books, every day; on 2019-09 .. 2020-06 the straddle's breaches fall."""
    cal = load_params("default")
    base = cal.with_risk(vol_up=0.5)
    assert cal.risk.vol_up == 0.8
    f = forecast_vols(eth_slice, 1.0, with_garch=False)
    a, b = (backtest(p, eth_slice, "ewma", f) for p in (base, cal))
    for x, y in zip(a.books, b.books):
        if not x.days:
            continue
        if x.book in ("covered call", "delta-hedged short straddle"):
            assert (y.mm > x.mm).all() and y.breaches <= x.breaches
        else:
            np.testing.assert_array_equal(x.mm, y.mm)
    s_a, s_b = (next(r for r in res.books if "straddle" in r.book) for res in (a, b))
    assert s_b.breaches < s_a.breaches
