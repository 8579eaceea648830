"""The vol feeder's rule (crossmargin.bots.vol): one clamp inside the VolOracle's limits, WADs the contract's
integer checks accept, and the number of updates to a target."""

import math

import pytest

from crossmargin.bots.vol import WAD, VolLimits, _steps, clamp, to_wad_inside

LIM = VolLimits(min_vol=0.05, max_vol=5.0, max_step=0.25, heartbeat=86_400)


@pytest.mark.parametrize("current, target, expected", [
    (0.6, 0.44, 0.45),        # down one step at most
    (0.6, 0.70, 0.70),        # inside the step: the target
    (0.6, 2.00, 0.75),        # up one step at most
    (0.0, 2.00, 2.00),        # no value yet: the first one is free
    (0.0, 9.00, 5.00),        # ... inside the bounds
    (6.0, 0.30, 0.30),        # the current value is out of bounds (narrowed): free again
    (0.06, 0.01, 0.05),       # never below min_vol
])
def test_clamp(current, target, expected):
    assert clamp(current, target, LIM) == pytest.approx(expected)


def contract_accepts(current_wad: int, new_wad: int, lim: VolLimits) -> bool:
    """VolOracle.set_vol's checks, in integers (bounds; diff·WAD <= step·current from a value in bounds)."""
    lo, hi, step = int(lim.min_vol * WAD), int(lim.max_vol * WAD), int(lim.max_step * WAD)
    if not lo <= new_wad <= hi:
        return False
    if current_wad < lo or current_wad > hi:
        return True
    return abs(new_wad - current_wad) * WAD <= step * current_wad


@pytest.mark.parametrize("current_wad", [600_000_000_000_000_001, 333_333_333_333_333_333, 50_000_000_000_000_000, 0])
@pytest.mark.parametrize("target", [0.01, 0.2, 0.44, 3.0, 9.0])
def test_posted_wad_passes_the_contracts_checks(current_wad, target):
    v = clamp(current_wad / WAD, target, LIM)
    wad = to_wad_inside(v, current_wad, LIM)
    assert contract_accepts(current_wad, wad, LIM)
    assert abs(wad / WAD - v) <= 1e-15 * max(1.0, v)          # the clamped value, to the wei


def test_steps_to_the_target():
    assert _steps(0.6, 0.45, 0.25) == 1 and _steps(0.6, 0.44, 0.25) == 2
    assert _steps(0.5, 2.0, 0.25) == math.ceil(math.log(4) / math.log(1.25))
    assert _steps(0.5, 0.5, 0.25) == 0 and _steps(0.0, 0.5, 0.25) == 1
