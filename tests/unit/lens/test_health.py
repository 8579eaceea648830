"""`Lens.health`: the RiskEngine's margin of every account, in order, in one call; failures reported per row."""

from __future__ import annotations

import boa
import pytest

from crossmargin.chain.engine_views import greeks_from_breakdown
from crossmargin.model.portfolio import Account, Position
from tests.differential.strategies_chain import DEFAULT

WAD = 10**18
FAILED = 255


def _row(h):
    return (h[0], h[1], h[2], h[3], h[4], h[5], h[6])


def _load_books(world):
    """Five accounts: empty, cash only, long ETH perp, hedged ETH/BTC, and one under water."""
    eth, btc = DEFAULT.market("ETH-PERP"), DEFAULT.market("BTC-PERP")
    books = [
        Account(cash=0.0),
        Account(cash=10_000.0),
        Account(cash=5_000.0, positions=(Position.open(eth, 10.0, 3000.0),)),
        Account(cash=20_000.0, positions=(Position.open(eth, 20.0, 3000.0), Position.open(btc, -1.0, 60000.0))),
        Account(cash=100.0, positions=(Position.open(eth, -50.0, 3000.0),)),
    ]
    return [world.load(book) for book in books]


def test_health_equals_engine_margin(lens, world):
    ids = _load_books(world)
    rows = lens.health(ids)
    assert [r[0] for r in rows] == ids
    for aid, row in zip(ids, rows):
        eq_im, eq_mm, im, mm, status = world.engine.margin(aid)
        assert _row(row) == (aid, eq_mm, mm, eq_im, im, status, False)
    liquidatable = [r[0] for r in rows if r[2] > r[1]]
    assert liquidatable == [ids[-1]]


def test_order_and_duplicates_preserved(lens, world):
    ids = _load_books(world)
    asked = [ids[3], ids[0], ids[3], 999]
    assert [r[0] for r in lens.health(asked)] == asked


def test_unopened_account_is_empty_and_ok(lens):
    assert _row(lens.health([12345])[0]) == (12345, 0, 0, 0, 0, 0, False)


def test_empty_batch(lens):
    assert lens.health([]) == []


def test_batch_of_500(flaky_lens, flaky):
    flaky.set_result(7, (5 * WAD, 4 * WAD, 3 * WAD, 2 * WAD, 1))
    rows = flaky_lens.health(list(range(1, 501)))
    assert len(rows) == 500 and rows[6][1:6] == (4 * WAD, 2 * WAD, 5 * WAD, 3 * WAD, 1)


def test_more_than_500_is_rejected(flaky_lens):
    with pytest.raises(Exception):
        flaky_lens.health(list(range(501)))


def test_reverting_account_is_failed_not_fatal(flaky_lens, flaky):
    flaky.set_result(1, (10 * WAD, 9 * WAD, 2 * WAD, 1 * WAD, 0))
    flaky.set_reverts(2, True)
    flaky.set_short(3, True)
    rows = flaky_lens.health([1, 2, 3])
    assert _row(rows[0]) == (1, 9 * WAD, 1 * WAD, 10 * WAD, 2 * WAD, 0, False)
    assert _row(rows[1]) == (2, 0, 0, 0, 0, FAILED, False)
    assert _row(rows[2]) == (3, 0, 0, 0, 0, FAILED, False)
    assert flaky_lens.FAILED() == FAILED


def test_status_passes_through(flaky_lens, flaky):
    for aid, status in ((1, 0), (2, 1), (3, 2)):
        flaky.set_result(aid, (0, 0, 0, 0, status))
    assert [r[5] for r in flaky_lens.health([1, 2, 3])] == [0, 1, 2]


def test_in_auction_follows_liquidation(flaky_lens, auctions, admin):
    auctions.set_auction(1, 100, False, True)
    auctions.set_auction(2, 100, True, False)
    assert [r[6] for r in flaky_lens.health([1, 2, 3])] == [False, False, False]  # not wired yet
    with boa.env.prank(admin):
        flaky_lens.set_liquidation(auctions.address)
    assert [r[6] for r in flaky_lens.health([1, 2, 3])] == [True, False, False]


def test_broken_liquidation_reads_as_no_auction(flaky_lens, auctions, admin):
    auctions.set_auction(1, 100, False, True)
    auctions.set_broken(True)
    with boa.env.prank(admin):
        flaky_lens.set_liquidation(auctions.address)
    assert flaky_lens.health([1])[0][6] is False


def test_failed_account_skips_auction_read(flaky_lens, flaky, auctions, admin):
    flaky.set_reverts(1, True)
    auctions.set_auction(1, 100, False, True)
    with boa.env.prank(admin):
        flaky_lens.set_liquidation(auctions.address)
    assert flaky_lens.health([1])[0][5:] == (FAILED, False)


# ---------------------------------------------------------------- liquidation mode (issue 18)


def test_health_for_liquidation_equals_engine_liquidation_mode(lens, world):
    ids = _load_books(world)
    rows = lens.health_for_liquidation(ids)
    for aid, row in zip(ids, rows):
        (eq_im, eq_mm, im, mm, status), _penalty = world.engine.margin_for_liquidation(aid, False)[:2]
        assert _row(row) == (aid, eq_mm, mm, eq_im, im, status, False)


def test_stale_feeds_do_not_hide_a_liquidatable_account(lens, world):
    """Every feed older than its heartbeat: `health` reports STALE (a keeper reading it would wait), the
    liquidation-mode row prices the stale underlying at its worst scenario, as `start_auction` does."""
    ids = _load_books(world)
    boa.env.time_travel(seconds=2 * 3600)
    normal = lens.health(ids)
    liq = lens.health_for_liquidation(ids)
    STALE = 2
    assert any(r[5] == STALE for r in normal)
    for n, r in zip(normal, liq):
        (eq_im, eq_mm, im, mm, status), _ = world.engine.margin_for_liquidation(r[0], False)[:2]
        assert _row(r) == (r[0], eq_mm, mm, eq_im, im, status, False)
        assert r[5] != STALE
        assert r[1] <= n[1] or n[5] == STALE  # never healthier than the normal read
    assert [r[0] for r in liq if r[2] > r[1]], "liquidation mode finds the account under water"


def test_health_for_liquidation_reports_failures_per_row(flaky_lens):
    """An engine without the call (or reverting in it) gives FAILED rows, never a reverted batch."""
    rows = flaky_lens.health_for_liquidation([1, 2])
    assert [_row(r) for r in rows] == [(1, 0, 0, 0, 0, FAILED, False), (2, 0, 0, 0, 0, FAILED, False)]


# `Lens.greeks` (moved from the RiskEngine for bytes): equal to the off-chain `greeks_from_breakdown`
def test_greeks_equal_the_breakdown(lens, world):
    eth, btc = DEFAULT.market("ETH-PERP"), DEFAULT.market("BTC-PERP")
    aid = world.load(Account(cash=50_000.0, collateral={"WETH": 2.0},
                             positions=(Position.open(eth, -5.0, 3000.0), Position.open(btc, 0.1, 60000.0))))
    got = [tuple(g) for g in lens.greeks(aid)]
    assert got == greeks_from_breakdown(world.engine.requirement_breakdown(aid))
    (u_eth, d_eth, usd_eth, *_), (u_btc, d_btc, *_) = got
    assert (d_eth, d_btc) == (-3 * WAD, WAD // 10)          # -5 perp + 2 WETH; the BTC perp
    assert usd_eth < 0 and lens.greeks(12345) == []
