"""The account agents as real processes on anvil (1 s blocks): market maker, collateral band, hedge orchestrator.

Population: the maker (20M USDC); the band account (key 5): 5,700 USDC, long 10 ETH-PERP, a 1,500 USDC reserve
in its owner's wallet; the hedged account (key 6): 50,000 USDC, long 10 ETH-PERP.
"""

from __future__ import annotations

import json
import random
import time

import pytest

from crossmargin.bots.core import dev_key
from crossmargin.chain.engine_views import greeks_from_breakdown
from tests.integration.bots_world import BotWorld, assert_no_errors

pytestmark = pytest.mark.integration

WAD = 10**18
LOW, TARGET, HIGH = 1.3, 1.6, 2.2


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = BotWorld(tmp_path_factory.mktemp("agents")).start()
    try:
        sc = w.sc
        [w.maker] = sc.open_accounts(w.maker_key, 1)
        sc.deposit(w.maker_key, [w.maker], "USDC", 20_000_000)
        w.band_key, w.hedge_key = dev_key(5), dev_key(6)
        [w.band] = sc.open_accounts(w.band_key, 1)
        sc.deposit(w.band_key, [w.band], "USDC", 5_700)  # equity/IM 1.61 once long 10 ETH
        sc.mint(w.band_key.address, "USDC", 1_500)  # the band agent's reserve
        [w.hedged] = sc.open_accounts(w.hedge_key, 1)
        sc.deposit(w.hedge_key, [w.hedged], "USDC", 50_000)
        sc.trade(w.maker_key, w.maker, w.band_key, [(w.band, "ETH-PERP", 10)], price=3000)
        sc.trade(w.maker_key, w.maker, w.hedge_key, [(w.hedged, "ETH-PERP", 10)], price=3000)
        w.take_snapshot()
        yield w
    finally:
        w.close()


def maker(w: BotWorld, *extra: str):
    return w.bot("agent", "maker", "--account", "TEST::1", "--account-id", str(w.maker), *extra, name="maker")


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


# ---------------------------------------------------------------------------------------------------------


def test_maker_quotes_both_sides_around_the_oracle_and_cancels_stale_rounds(world):
    w = world
    w.reset()
    w.blocks()
    m = maker(w, "--spread", "0.002")
    m.started()
    book_file = w.folder / "cache" / "book" / f"{w.dep.manifest.chain_id}.json"
    book = wait_until(lambda: book_file.exists() and json.loads(book_file.read_text()), 10, "the book")
    now = w.w3.eth.get_block("latest")["timestamp"]
    linear = {m_.id: m_ for m_ in w.dep.linear_markets(now)}
    prices = w.dep.prices()
    sides: dict[int, set] = {}
    for q in book["quotes"]:
        o = q["order"]
        spec = linear[o["instrument"]]
        index = prices[w.dep.params.underlying(spec.underlying).id][0]
        assert o["account"] == w.maker and o["expiry"] > now
        assert (o["limit_price"] < index) if o["is_buy"] else (o["limit_price"] > index)
        assert abs(o["limit_price"] - index) <= index * 0.0011  # half the spread (+ inventory skew)
        sides.setdefault(o["instrument"], set()).add(o["is_buy"])
    assert set(sides) == set(linear) and all(s == {True, False} for s in sides.values())

    old_nonce = book["nonce"]
    w.move_price(3060)  # +2 %: the old round would be picked off
    fresh = wait_until(lambda: (b := json.loads(book_file.read_text())).get("nonce") != old_nonce and b, 10,
                       "a new round")
    eth_perp = w.dep.listed.market("ETH-PERP").id
    bid = next(q["order"] for q in fresh["quotes"] if q["order"]["instrument"] == eth_perp and q["order"]["is_buy"])
    assert 3050 * WAD < bid["limit_price"] < 3060 * WAD
    wait_until(lambda: w.dep.clearinghouse.functions.is_cancelled(w.maker, old_nonce).call(), 10,
               "the old round cancelled on chain")
    summary = m.interrupt()
    assert summary["rounds"] >= 2
    assert json.loads(book_file.read_text())["quotes"] == [], "a stopped maker withdraws its quotes"
    assert_no_errors(m)


def test_band_agent_keeps_the_ratio_inside_the_band_through_a_random_price_path(world):
    w = world
    w.reset()
    w.blocks()
    m = maker(w)
    band = w.bot("agent", "band", "--account", "TEST::5", "--account-id", str(w.band), "--target", str(TARGET),
                 "--low", str(LOW), "--high", str(HIGH), name="band")
    m.started()
    band.started()

    def settled():
        h = w.health([w.band])[w.band]
        return h if LOW - 1e-6 <= h.ratio <= HIGH + 1e-6 and not band.events("loop")[-1].get("pending") else None

    wait_until(settled, 10, "a ratio inside the band")

    rng = random.Random(7)
    moves = [-rng.uniform(0.03, 0.05) for _ in range(4)] + [rng.uniform(0.03, 0.05) for _ in range(5)] + \
        [-rng.uniform(0.02, 0.04) for _ in range(2)]
    price = 3000.0
    worst = float("inf")
    for move in moves:
        price *= 1 + move
        block = w.move_price(price)
        h = w.reader.scan([w.band], block=block)[0]
        worst = min(worst, h.mm_ratio)
        assert not h.liquidatable
        wait_until(settled, 8, f"the ratio back inside [{LOW}, {HIGH}] after ETH {price:.0f}")
    w.wait_blocks(2)
    h = w.health([w.band])[w.band]
    assert LOW <= h.ratio <= HIGH and not h.liquidatable

    actions = {r["purpose"] for r in band.events("tx") if r["status"] == "ok"}
    assert {"deposit", "withdraw"} <= actions, actions
    assert band.events("send", purpose="reduce"), "the reserve ran out: the agent reduced risk"
    summary = band.interrupt()
    assert summary["deposited"] > 0 and summary["withdrawn"] > 0
    # the only reverts allowed: a reducing fill that raced the maker's cancel of a stale round
    assert all(r["purpose"] == "reduce" and r["reason"] == "order cancelled"
               for r in band.events("tx") if r["status"] == "reverted")
    # its own actions never pushed the account towards liquidation: every withdrawal stopped at the target
    after_withdraw = [r for r in band.events("loop") if r.get("action") is None and r["withdrawn"] > 0]
    assert all(r["ratio"] >= LOW for r in after_withdraw)
    m.interrupt()
    assert_no_errors(band, m)
    print(f"\nband: {len(moves)} moves, worst MM ratio before the agent acted {worst:.2f}, "
          f"deposited {summary['deposited']}, withdrew {summary['withdrawn']}, reductions {summary['reductions']}")


def test_hedge_orchestrator_brings_delta_under_its_limit_after_a_shock(world):
    w = world
    w.reset()
    w.blocks()
    m = maker(w)
    hedge = w.bot("agent", "hedge", "--account", "TEST::6", "--account-id", str(w.hedged), "--max-delta", "10000",
                  name="hedge")
    m.started()
    hedge.started()

    def delta_usd(block="latest") -> float:
        return sum(int(g[2]) for g in greeks_from_breakdown(w.dep.risk.functions.requirement_breakdown(w.hedged).call(block_identifier=block))) / WAD

    wait_until(lambda: abs(delta_usd()) <= 10_000, 15, "the initial 30k delta hedged")

    # the shock, in one block mined by hand (the agent must not hedge the deposit before the price moves):
    # 20 WETH land in the account (a spot delta) and ETH jumps 5 %
    w.manual()
    w.sc.deposit(w.admin, [w.hedged], "WETH", 20, wait=False)
    shock = w.move_price(3150)
    assert delta_usd(shock) > 50_000
    wait_until(lambda: abs(delta_usd()) <= 10_000, 15, "delta back under 10k")
    hedged_at = w.head()
    assert hedged_at - shock <= 5
    h = w.health([w.hedged])[w.hedged]
    assert h.equity_im >= h.im, "hedges respect IM"
    summary = hedge.interrupt()
    assert summary["ok"] >= 2 and summary["reverted"] == 0
    m.interrupt()
    assert_no_errors(hedge, m)
