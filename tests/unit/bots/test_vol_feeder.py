"""The vol feeder's rule (crossmargin.bots.vol): one clamp into the range the VolOracle accepts now (`vol_range`:
bounds and the per-time rate limit, in the contract's integers), and the number of hourly moves to a target."""

import math

import pytest

from crossmargin.bots.vol import WAD, VolLimits, _steps, clamp

# bounds 0.05..5.0; the value an hour ago 0.6 with an hour factor of 2: the oracle accepts 0.3..1.2 now
LIM = VolLimits(min_vol=WAD // 20, max_vol=5 * WAD, lo=3 * WAD // 10, hi=12 * WAD // 10, heartbeat=86_400,
                hour_factor=2.0)


@pytest.mark.parametrize("target, expected", [
    (0.44, 0.44),        # inside the range: the target
    (0.10, 0.30),        # down: at most ÷2 from the hour's anchor
    (2.00, 1.20),        # up: at most ×2
    (9.00, 1.20),
])
def test_clamp_into_the_accepted_range(target, expected):
    assert clamp(int(target * WAD), LIM) == int(expected * WAD)


@pytest.mark.parametrize("target", [0, 1, LIM.lo - 1, LIM.lo, LIM.hi, LIM.hi + 1, 10**30])
def test_posted_wad_is_inside_the_contracts_range(target):
    assert LIM.lo <= clamp(target, LIM) <= LIM.hi


def test_hourly_moves_to_the_target():
    assert _steps(0.6, 1.2, 2.0) == 1 and _steps(0.6, 1.3, 2.0) == 2
    assert _steps(0.6, 0.25, 2.0) == 2
    assert _steps(0.5, 5.0, 2.0) == math.ceil(math.log(10) / math.log(2))
    assert _steps(0.5, 0.5, 2.0) == 0 and _steps(0.0, 0.5, 2.0) == 1


def test_decide_sends_moves_and_refreshes():
    from crossmargin.bots.vol import decide

    assert decide(0.60, 0.62, 10, 100, 0.01, 0.05, 5.0) == 0.62          # moved more than 1 %
    assert decide(0.60, 0.603, 10, 100, 0.01, 0.05, 5.0) is None         # too small, fresh
    assert decide(0.60, 0.603, 100, 100, 0.01, 0.05, 5.0) == 0.60        # too small, old: refreshed as is
    assert decide(0.0, 0.5, 0, 100, 0.01, 0.05, 5.0) == 0.5              # no value yet


def test_round_history_walks_back_across_phases():
    """Phase 1 has rounds 1..4 (t = 100..400), phase 2 rounds 1..3 (t = 500..700); round 2 of phase 2 has no
    usable answer."""
    from crossmargin.bots.vol import round_history

    feed = {(1 << 64) | n: (1000 + n, 100 * n) for n in range(1, 5)}
    feed |= {(2 << 64) | 1: (2001, 500), (2 << 64) | 2: (0, 600), (2 << 64) | 3: (2003, 700)}
    latest = (2 << 64) | 3
    assert round_history(feed.get, latest, 0, 100) == [(100, 1001), (200, 1002), (300, 1003), (400, 1004),
                                                      (500, 2001), (700, 2003)]
    assert round_history(feed.get, latest, 350, 100) == [(300, 1003), (400, 1004), (500, 2001), (700, 2003)]
    assert round_history(feed.get, latest, 0, 2) == [(500, 2001), (700, 2003)]


def test_rounds_vol_recovers_a_known_vol_and_decays_when_quiet():
    import numpy as np

    from crossmargin.model.params import SECONDS_PER_YEAR
    from crossmargin.sim.vol import rounds_vol

    rng = np.random.default_rng(1)
    dt = 300 + 600 * rng.random(30 * 24 * 6)              # irregular rounds, 5-15 minutes apart, 30 days
    t = np.concatenate([[0.0], np.cumsum(dt)])
    p = 3000 * np.exp(np.concatenate([[0.0], np.cumsum(0.8 * np.sqrt(dt / SECONDS_PER_YEAR)
                                                       * rng.standard_normal(dt.size))]))
    assert rounds_vol(t, p, 0.3, 86_400) == pytest.approx(0.8, rel=0.15)    # forgets the seed, finds 0.8
    assert rounds_vol(t[:1], p[:1], 0.6) == 0.6                             # no return: the seed
    quiet = rounds_vol([0, 86_400, 2 * 86_400], [3000, 3000, 3000], 0.6, 86_400)
    assert quiet == pytest.approx(0.6 / 2, rel=1e-12)                       # two half-lives of no move: s / 4
    # a -3.5 % round 5 minutes in, half-life a day: s = a·0.36 + (1 - a)·r²/Δt·year
    a = 2 ** (-300 / 86_400)
    r = math.log(0.965)
    assert rounds_vol([0, 300], [3000, 2895], 0.6, 86_400) == pytest.approx(
        math.sqrt(a * 0.36 + (1 - a) * r * r / 300 * SECONDS_PER_YEAR), rel=1e-12)
