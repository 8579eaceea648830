"""VolOracle fixtures: ETH (uid 1) with bounds [5 %, 500 %], 20 % relative step, 1 h heartbeat."""

from types import SimpleNamespace

import boa
import pytest

WAD = 10**18


@pytest.fixture(scope="session")
def eth_params():
    return SimpleNamespace(MIN=5 * WAD // 100, MAX=5 * WAD, STEP=WAD // 5, HEARTBEAT=3600)


@pytest.fixture
def eth_vol(vol_oracle, admin, eth_params):
    with boa.env.prank(admin):
        vol_oracle.set_params(1, eth_params.MIN, eth_params.MAX, eth_params.STEP, eth_params.HEARTBEAT)
    return vol_oracle
