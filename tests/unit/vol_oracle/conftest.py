"""VolOracle fixtures: ETH (uid 1) with bounds [5 %, 500 %], 1 h heartbeat, staleness factor 1.25, rate limit
×/÷ 2 per hour window and ×/÷ 4 per day window."""

from types import SimpleNamespace

import boa
import pytest

WAD = 10**18


@pytest.fixture(scope="session")
def eth_params():
    return SimpleNamespace(MIN=5 * WAD // 100, MAX=5 * WAD, HEARTBEAT=3600, STALE=5 * WAD // 4, HOUR=2 * WAD,
                           DAY=4 * WAD)


def vol_args(p, **over):
    """`set_params` arguments after the id, with overrides by field name (lower case)."""
    f = {"min": p.MIN, "max": p.MAX, "heartbeat": p.HEARTBEAT, "stale": p.STALE, "hour": p.HOUR, "day": p.DAY}
    f.update(over)
    return f["min"], f["max"], f["heartbeat"], f["stale"], f["hour"], f["day"]


@pytest.fixture
def eth_vol(vol_oracle, admin, eth_params):
    with boa.env.prank(admin):
        vol_oracle.set_params(1, *vol_args(eth_params))
    return vol_oracle
