"""The vol feeder as a real process on anvil (1 s blocks): it walks the VolOracle to the forecast within the
oracle's rate limit, is restart-safe (a restarted feeder at the target sends nothing) and sends nothing dry-run."""

from __future__ import annotations


import pytest

from tests.integration.bots_world import BotWorld, assert_no_errors

pytestmark = pytest.mark.integration

WAD = 10**18


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = BotWorld(tmp_path_factory.mktemp("vol")).start()
    try:
        w.take_snapshot()
        yield w
    finally:
        w.close()


def vols(w):
    vo = w.dep.contract("VolOracle")
    return {u.symbol: vo.functions.vol(u.id).call()[0] / WAD for u in w.dep.params.underlyings}


def feeder(w, *extra):
    from crossmargin.sim.history import SHIPPED

    return w.bot("agent", "vol", "--account", "TEST::0", "--prices", str(SHIPPED), "--method", "ewma", *extra,
                 name="vol")


def test_feeder_walks_to_the_forecast_within_the_rate_limit_and_restarts_idle(world):
    w = world
    w.reset()
    w.blocks()
    before = vols(w)
    f = feeder(w)
    f.started()
    targets = f.events("started")[0]["targets"]
    factor = w.dep.params.oracle.vol_hour_factor
    # targets are logged to 6 decimals
    f.wait_for(lambda: all(abs(vols(w)[u] - t) < 1e-6 for u, t in targets.items()), 60, "the oracle at the targets")
    sends = f.events("send")
    print(f"\nvol feeder: {before} -> targets {targets}; {len(sends)} updates")
    last = dict(before)
    for s in sends:
        u = s["underlying"]
        # the rate limit: within ×/÷ the hour factor of the value before (which was set within the hour)
        assert last[u] / factor * (1 - 1e-12) <= s["to"] <= last[u] * factor * (1 + 1e-12)
        last[u] = s["to"]
    assert len(sends) >= len(targets) and all(e["status"] == "ok" for e in f.events("tx"))
    f.interrupt()
    assert_no_errors(f)
    g = feeder(w)   # restart: the chain already holds the targets
    g.started()
    g.wait_for(lambda: len(g.events("loop")) >= 3, 20, "three loops")
    assert not g.events("send") and all(e["sent"] == 0 for e in g.events("loop"))
    g.interrupt()


def test_dry_run_sends_nothing(world):
    w = world
    w.reset()
    w.blocks()
    before = vols(w)
    f = feeder(w, "--dry-run", "--floor", "1.2")   # every target at 1.2 at least: far from the current values
    f.started()
    f.wait_for(lambda: len(f.events("would_send")) >= 3, 20, "would_send records")
    assert vols(w) == before and not f.events("send")
    f.interrupt()


def test_without_a_price_file_it_forecasts_from_the_oracle_rounds(world):
    """No --prices: the feeder reads the feeds' own rounds. A -10 % ETH round raises ETH's forecast far above the
    hour factor: the oracle goes to x2 (the rate limit), BTC (no move) stays within a few % of where it was."""
    w = world
    w.reset()
    w.blocks()
    before = vols(w)
    f = w.bot("agent", "vol", "--account", "TEST::0", "--half-life", "3600", name="vol")
    f.started()
    assert f.events("started")[0]["method"] == "rounds-ewma"
    f.wait_for(lambda: len(f.events("loop")) >= 2, 20, "two loops")
    eth = w.dep.params.underlying("ETH")
    w.move_price(eth.price * 0.9)
    factor = w.dep.params.oracle.vol_hour_factor
    f.wait_for(lambda: vols(w)["ETH"] >= before["ETH"] * factor * (1 - 1e-9), 30, "ETH vol at the hour's limit")
    after = vols(w)
    print(f"\nvol feeder from rounds: {before} -> {after}")
    assert after["ETH"] <= before["ETH"] * factor * (1 + 1e-12)
    assert abs(after["BTC"] / before["BTC"] - 1) < 0.05
    assert all(e["status"] == "ok" for e in f.events("tx"))
    f.interrupt()
    assert_no_errors(f)
