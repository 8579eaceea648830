"""Perp funding: mark EMA of fill prices, clamped premium rate, cumulative index accrued lazily, oracle freeze."""

import boa

from .conftest import ETH_PRICE, WAD

TAU = 1298
PERIOD = 3600
MAX_RATE = 5 * 10**14  # 0.05 % per period
CAP_USD = ETH_PRICE * MAX_RATE // WAD  # 1.5 USD per unit per period at 3,000


def expected_delta(mark: int, index: int, dt: int, period: int = PERIOD, max_rate: int = MAX_RATE) -> int:
    """Python mirror of Markets._accrued: clamp(mark - index, +-max_rate * index), times dt / period, truncated."""
    cap = index * max_rate // WAD
    premium = max(-cap, min(cap, mark - index))
    q = abs(premium * dt) // period
    return q if premium >= 0 else -q


def test_first_fill_sets_mark_and_no_funding_before(mk, listed, record):
    boa.env.time_travel(seconds=5000)
    assert mk.funding_index(listed.perp) == 0 and mk.funding_rate(listed.perp) == 0
    inst, index = record(listed.perp, 3010 * WAD)
    assert index == 0 and inst.kind == 1
    assert mk.mark_price(listed.perp) == 3010 * WAD
    state = mk.funding_state(listed.perp)
    assert (state.mark_time, state.last_update) == (boa.env.timestamp, boa.env.timestamp)


def test_mark_is_time_weighted_ema(mk, listed, record):
    record(listed.perp, 3000 * WAD)
    boa.env.time_travel(seconds=TAU // 2)  # alpha = 649 / 1298 = 1/2
    record(listed.perp, 3100 * WAD)
    assert mk.mark_price(listed.perp) == 3050 * WAD
    record(listed.perp, 3200 * WAD)  # same block: dt = 0, the mark does not move
    assert mk.mark_price(listed.perp) == 3050 * WAD
    boa.env.time_travel(seconds=TAU)  # alpha capped at 1
    record(listed.perp, 2990 * WAD)
    assert mk.mark_price(listed.perp) == 2990 * WAD


def test_mark_ema_rounds_down(mk, listed, record):
    record(listed.perp, 3000 * WAD)
    boa.env.time_travel(seconds=1)
    record(listed.perp, 3000 * WAD + 1)
    assert mk.mark_price(listed.perp) == (3000 * WAD * (TAU - 1) + (3000 * WAD + 1)) // TAU


def test_accrual_matches_formula(mk, listed, record, last_event):
    record(listed.perp, 3000 * WAD + WAD)  # premium 1 USD (inside the 1.5 cap)
    boa.env.time_travel(seconds=1800)
    want = expected_delta(3001 * WAD, ETH_PRICE, 1800)
    assert want == WAD // 2
    assert mk.funding_index(listed.perp) == want  # view includes the pending accrual
    assert mk.funding_rate(listed.perp) == WAD * WAD // ETH_PRICE  # 1 / 3000 per period
    assert mk.accrue(listed.perp) == want
    log = last_event(mk, "FundingAccrued")
    assert (log.id, log.cumulative, log.mark) == (listed.perp, want, 3001 * WAD)
    assert mk.funding_state(listed.perp).cumulative == want
    assert mk.accrue(listed.perp) == want  # same block: nothing more


def test_rate_is_clamped_both_ways(mk, listed, record):
    record(listed.perp, 3200 * WAD)
    boa.env.time_travel(seconds=PERIOD)
    assert mk.accrue(listed.perp) == CAP_USD
    assert mk.funding_rate(listed.perp) == MAX_RATE
    boa.env.time_travel(seconds=TAU)
    record(listed.perp, 2800 * WAD)  # accrues another +cap first, then the mark drops to 2,800
    boa.env.time_travel(seconds=2 * PERIOD)
    assert mk.funding_rate(listed.perp) == -MAX_RATE
    assert mk.funding_index(listed.perp) == CAP_USD + expected_delta(3200 * WAD, ETH_PRICE, TAU) - 2 * CAP_USD


def test_index_moves_with_the_oracle(mk, listed, record, eth_feed):
    record(listed.perp, 3000 * WAD)
    eth_feed.set_answer(2999 * 10**8)  # mark above index by 1 USD -> longs pay
    boa.env.time_travel(seconds=PERIOD)
    eth_feed.set_answer(2999 * 10**8)
    assert mk.accrue(listed.perp) == expected_delta(3000 * WAD, 2999 * WAD, PERIOD) == WAD


def test_funding_freezes_while_stale_and_catches_up(mk, listed, record, eth_feed):
    record(listed.perp, 3001 * WAD)
    boa.env.time_travel(seconds=86_401)  # the feed's one-day heartbeat has passed: STALE
    assert mk.funding_index(listed.perp) == 0
    assert mk.accrue(listed.perp) == 0
    assert mk.funding_state(listed.perp).last_update < boa.env.timestamp  # not advanced
    assert mk.funding_rate(listed.perp) == 0
    eth_feed.set_answer(3000 * 10**8)  # recovers: the whole gap accrues at the recovered index
    assert mk.accrue(listed.perp) == expected_delta(3001 * WAD, ETH_PRICE, 86_401)


def test_stale_fill_neither_moves_mark_nor_accrues(mk, listed, record):
    record(listed.perp, 3001 * WAD)
    boa.env.time_travel(seconds=86_401)
    _, index = record(listed.perp, 5000 * WAD)  # outside the band, but the band is not checked while stale
    assert index == 0 and mk.mark_price(listed.perp) == 3001 * WAD


def test_set_funding_params(mk, listed, record, risk_manager, alice, errors, last_event):
    record(listed.perp, 3001 * WAD)
    boa.env.time_travel(seconds=1000)
    with boa.env.prank(risk_manager):
        mk.set_funding_params(listed.perp, 7200, 10**15, 600)
        log = last_event(mk, "FundingParamsSet")
    assert (log.period, log.max_rate, log.ema_tau) == (7200, 10**15, 600)
    # accrued with the old parameters up to the change
    assert mk.funding_state(listed.perp).cumulative == expected_delta(3001 * WAD, ETH_PRICE, 1000)
    assert tuple(mk.funding_params(listed.perp)) == (7200, 10**15, 600)
    with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
        mk.set_funding_params(listed.perp, 7200, 10**15, 600)
    with boa.env.prank(risk_manager):
        for bad in [(59, 0, 600), (7 * 86400 + 1, 0, 600), (3600, 10**16 + 1, 600), (3600, 0, 59), (3600, 0, 7 * 86400 + 1)]:
            with boa.reverts(errors.BAD_FUNDING_PARAMS):
                mk.set_funding_params(listed.perp, *bad)
        with boa.reverts(errors.NOT_PERP):
            mk.set_funding_params(listed.future, 3600, 0, 600)
        with boa.reverts(errors.UNKNOWN_INSTRUMENT):
            mk.set_funding_params(99, 3600, 0, 600)


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
