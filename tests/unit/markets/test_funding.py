"""Perp funding: the mark premium is a notional-weighted EMA of fill premiums that decays towards the index,
the premium rate is clamped, the cumulative index accrues the exact integral of the decaying premium, lazily,
frozen while the oracle is not OK."""

import math

import boa
import pytest

from .conftest import ETH_PRICE, WAD

TAU = 1298
PERIOD = 3600
MAX_RATE = 5 * 10**14  # 0.05 % per period
DEPTH = 10**6 * WAD  # the default mark depth (USD)


def weight(size: int, price: int, depth: int = DEPTH) -> float:
    n = size * price // WAD
    return n / (n + depth)


def fold(p: float, price: int, size: int, index: int = ETH_PRICE, depth: int = DEPTH) -> float:
    """Python mirror of Markets._fold (floats)."""
    f = (price - index) / index
    return p + (f - p) * weight(size, price, depth)


def accrual(p0: float, dt: int, index: int = ETH_PRICE, tau: int = TAU, period: int = PERIOD,
            max_rate: int = MAX_RATE) -> tuple[float, float]:
    """Python mirror of Markets._advance: (d cumulative in WAD USD, premium after), floats."""
    integral = p0 * tau * (1 - math.exp(-dt / tau))
    cap = max_rate / WAD * dt
    integral = max(-cap, min(cap, integral))
    return integral * index / WAD / period, p0 * math.exp(-dt / tau)


def premium(mk, id_) -> float:
    return mk.funding_state(id_).premium / WAD


def test_no_premium_before_the_first_fill_which_moves_it_by_its_weight(mk, listed, record):
    boa.env.time_travel(seconds=5000)
    assert mk.funding_index(listed.perp) == 0 and mk.funding_rate(listed.perp) == 0
    assert mk.mark_price(listed.perp) == 0
    inst, index = record(listed.perp, 3030 * WAD, 100 * WAD)  # +1 %, 303,000 of notional against a 1M depth
    assert index == 0 and inst.kind == 1
    want = 0.01 * 303_000 / 1_303_000
    assert premium(mk, listed.perp) == pytest.approx(want, rel=1e-15)
    assert mk.mark_price(listed.perp) == pytest.approx(3000 * (1 + want) * WAD, rel=1e-15)
    state = mk.funding_state(listed.perp)
    assert (state.mark_time, state.last_update) == (boa.env.timestamp, boa.env.timestamp)


def test_dust_fills_move_the_premium_by_dust(mk, listed, record):
    for _ in range(50):  # many fills in one block all count, each by its notional
        record(listed.perp, 3300 * WAD, 10**9)  # 1e-9 ETH at the band edge
    assert 0 < premium(mk, listed.perp) < 1e-10
    assert mk.mark_price(listed.perp) - ETH_PRICE < WAD // 10**6


def test_fills_totalling_x_move_it_in_proportion_to_x(mk, listed, record):
    record(listed.perp, 3300 * WAD, 10 * WAD)  # 33,000 of notional in one fill
    one = premium(mk, listed.perp)
    record(listed.perp, 3000 * WAD, 10**6 * WAD)  # back to ~0 with a huge fill at the index
    assert abs(premium(mk, listed.perp)) < 1e-4
    start = premium(mk, listed.perp)
    for _ in range(10):
        record(listed.perp, 3300 * WAD, WAD)  # the same 33,000 in ten fills
    ten = premium(mk, listed.perp) - start
    assert ten == pytest.approx(one, rel=0.02)
    assert one == pytest.approx(0.1 * 33_000 / 1_033_000, rel=1e-12)


def test_premium_decays_towards_the_index_without_fills(mk, listed, record, eth_feed):
    record(listed.perp, 3300 * WAD, 1000 * WAD)
    p0 = premium(mk, listed.perp)
    boa.env.time_travel(seconds=900)  # ~ tau ln 2: half
    eth_feed.set_answer(3000 * 10**8)
    mark = mk.mark_price(listed.perp)
    assert (mark - ETH_PRICE) / WAD == pytest.approx(3000 * p0 * math.exp(-900 / TAU), rel=1e-9)
    assert mk.funding_rate(listed.perp) == MAX_RATE  # still far above the cap
    boa.env.time_travel(seconds=40 * TAU)
    eth_feed.set_answer(3000 * 10**8)
    assert mk.mark_price(listed.perp) - ETH_PRICE < WAD // 10**6


def test_accrual_is_the_integral_of_the_decaying_premium(mk, listed, record, last_event, eth_feed):
    record(listed.perp, 3003 * WAD, 1000 * WAD)  # f = 0.1 %, weight 0.75: P = 0.075 %, its mean over 1,800 s 0.04 %
    p0 = premium(mk, listed.perp)
    boa.env.time_travel(seconds=1800)
    eth_feed.set_answer(3000 * 10**8)
    want, p1 = accrual(p0, 1800)
    got = mk.funding_index(listed.perp)  # the view includes the pending accrual
    assert got / WAD == pytest.approx(want, rel=1e-9)
    assert mk.accrue(listed.perp) == got
    log = last_event(mk, "FundingAccrued")
    assert log.cumulative == got and log.premium / WAD == pytest.approx(p1, rel=1e-9)
    assert mk.funding_state(listed.perp).cumulative == got
    assert mk.accrue(listed.perp) == got  # same block: nothing more


def test_rate_is_clamped_both_ways(mk, listed, record, eth_feed):
    record(listed.perp, 3300 * WAD, 10**5 * WAD)  # P ~ +10 %: far above the cap for a long while
    boa.env.time_travel(seconds=600)
    eth_feed.set_answer(3000 * 10**8)
    assert mk.funding_rate(listed.perp) == MAX_RATE
    cap_usd = ETH_PRICE * MAX_RATE // WAD
    assert mk.accrue(listed.perp) == cap_usd * 600 // PERIOD
    record(listed.perp, 2700 * WAD, 10**6 * WAD)  # a large fill at -10 %
    assert mk.funding_rate(listed.perp) == -MAX_RATE
    boa.env.time_travel(seconds=600)
    eth_feed.set_answer(3000 * 10**8)
    assert mk.accrue(listed.perp) == cap_usd * 600 // PERIOD - cap_usd * 600 // PERIOD


def test_the_mark_follows_the_index(mk, listed, record, eth_feed):
    record(listed.perp, 3030 * WAD, 10**6 * WAD)  # P ~ 0.5 %
    p = premium(mk, listed.perp)
    eth_feed.set_answer(2000 * 10**8)  # the index moves; the premium is relative to it
    assert mk.mark_price(listed.perp) / WAD == pytest.approx(2000 * (1 + p), rel=1e-12)


def test_funding_freezes_while_stale_and_catches_up(mk, listed, record, eth_feed):
    record(listed.perp, 3003 * WAD, 1000 * WAD)
    p0 = premium(mk, listed.perp)
    boa.env.time_travel(seconds=86_401)  # the feed's one-day heartbeat has passed: STALE
    assert mk.funding_index(listed.perp) == 0
    assert mk.accrue(listed.perp) == 0
    assert mk.funding_state(listed.perp).last_update < boa.env.timestamp  # not advanced
    assert mk.funding_rate(listed.perp) == 0
    eth_feed.set_answer(3000 * 10**8)  # recovers: the whole gap accrues at the recovered index
    assert mk.accrue(listed.perp) / WAD == pytest.approx(accrual(p0, 86_401)[0], rel=1e-9)


def test_stale_fill_neither_moves_the_premium_nor_accrues(mk, listed, record):
    record(listed.perp, 3003 * WAD, 1000 * WAD)
    before = mk.funding_state(listed.perp)
    boa.env.time_travel(seconds=86_401)
    _, index = record(listed.perp, 5000 * WAD, 10**6 * WAD)  # outside the band: not checked while stale
    assert index == 0 and tuple(mk.funding_state(listed.perp)) == tuple(before)


def test_set_funding_params(mk, listed, record, risk_manager, alice, errors, last_event, eth_feed):
    record(listed.perp, 3003 * WAD, 1000 * WAD)
    p0 = premium(mk, listed.perp)
    boa.env.time_travel(seconds=1000)
    eth_feed.set_answer(3000 * 10**8)
    with boa.env.prank(risk_manager):
        mk.set_funding_params(listed.perp, 7200, 10**15, 600, 5 * 10**5 * WAD)
        log = last_event(mk, "FundingParamsSet")
    assert (log.period, log.max_rate, log.ema_tau, log.depth) == (7200, 10**15, 600, 5 * 10**5 * WAD)
    # accrued with the old parameters up to the change
    assert mk.funding_state(listed.perp).cumulative / WAD == pytest.approx(accrual(p0, 1000)[0], rel=1e-9)
    assert tuple(mk.funding_params(listed.perp)) == (7200, 10**15, 600, 5 * 10**5 * WAD)
    with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
        mk.set_funding_params(listed.perp, 7200, 10**15, 600, DEPTH)
    with boa.env.prank(risk_manager):
        for bad in [(59, 0, 600, DEPTH), (7 * 86400 + 1, 0, 600, DEPTH), (3600, 10**16 + 1, 600, DEPTH),
                    (3600, 0, 59, DEPTH), (3600, 0, 7 * 86400 + 1, DEPTH), (3600, 0, 600, 999 * WAD),
                    (3600, 0, 600, 10**12 * WAD + 1)]:
            with boa.reverts(errors.BAD_FUNDING_PARAMS):
                mk.set_funding_params(listed.perp, *bad)
        with boa.reverts(errors.NOT_PERP):
            mk.set_funding_params(listed.future, 3600, 0, 600, DEPTH)
        with boa.reverts(errors.UNKNOWN_INSTRUMENT):
            mk.set_funding_params(99, 3600, 0, 600, DEPTH)


def test_set_price_band(mk, risk_manager, alice, errors, last_event):
    with boa.env.prank(risk_manager):
        mk.set_price_band(2 * 10**17)
        assert last_event(mk, "PriceBandSet").band == 2 * 10**17
        with boa.reverts(errors.BAD_PRICE_BAND):
            mk.set_price_band(5 * 10**17 + 1)
    assert mk.price_band() == 2 * 10**17
    with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
        mk.set_price_band(0)


def test_accrue_reverts_for_non_perps(mk, listed, errors):
    with boa.reverts(errors.NOT_PERP):
        mk.accrue(listed.call)
    with boa.reverts(errors.UNKNOWN_INSTRUMENT):
        mk.accrue(99)
    assert mk.funding_index(listed.future) == 0 and mk.funding_rate(listed.put) == 0
    assert mk.mark_price(listed.future) == 0
