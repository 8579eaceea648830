"""RiskEngine unit fixtures (titanoboa): one configured stack per module, rolled back after every test.

`world` is a `tests.differential.strategies_chain.RiskWorld` built from the DEFAULT parameters: Vault (USDC
settlement, WETH -> ETH, WBTC -> BTC), OracleRouter with a primary and a secondary mock feed per underlying,
VolOracle, MockMarkets with every DEFAULT instrument, MockPositions, and the RiskEngine configured in deploy
order. `fresh_engine` is an unconfigured engine over the same sources, for the setter tests.
"""

from __future__ import annotations

import boa
import pytest

from crossmargin.model.params import to_wad
from crossmargin.model.portfolio import Account, MarketState, Position
from tests.differential.strategies_chain import DEFAULT, GENESIS, RiskWorld, engine_setup

P = DEFAULT
WAD = 10**18
ZERO = "0x" + "00" * 20


@pytest.fixture(scope="module")
def world():
    return RiskWorld.boa(P, secondary=True)


@pytest.fixture(autouse=True)
def _rollback(world):
    with boa.env.anchor():
        yield


@pytest.fixture
def engine(world):
    return world.engine


@pytest.fixture
def setup():
    return engine_setup(P)


@pytest.fixture
def fresh_engine(world):
    """A RiskEngine over the world's sources with nothing configured (deployer = admin)."""
    return world.deploy("RiskEngine", world.vault.address, world.markets.address, world.router.address,
                        world.vol.address, world.correlation_check.address)


@pytest.fixture
def reference_state():
    return MarketState.from_params(P, now=GENESIS)


@pytest.fixture
def load(world, reference_state):
    """load(account_or_portfolio, state=reference) -> account id with that portfolio on chain."""

    def _load(portfolio, state=None):
        return world.load(portfolio, state or reference_state)

    return _load


def pos(name: str, size: float, entry: float | None = None) -> Position:
    """A linear position in DEFAULT market `name` opened at `entry` (default: the reference price)."""
    spec = P.market(name)
    price = P.underlying(spec.underlying).price if entry is None else entry
    return Position.open(spec, size, price)


def wad(x) -> int:
    return to_wad(x)
