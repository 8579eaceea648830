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
