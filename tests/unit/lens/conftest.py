"""Lens unit fixtures (titanoboa): a Lens over the real RiskEngine (DEFAULT parameters, mock markets and
positions) for the numbers, and a Lens over `FlakyEngine` for accounts whose margin call fails.
Both rolled back after every test."""

from __future__ import annotations

from pathlib import Path

import boa
import pytest

from tests.differential.strategies_chain import DEFAULT, RiskWorld

HERE = Path(__file__).resolve().parent
CONTRACTS = HERE.parents[2] / "contracts"


@pytest.fixture(scope="session")
def lens_deployer():
    return boa.load_partial(str(CONTRACTS / "Lens.vy"))


@pytest.fixture(scope="module")
def world():
    return RiskWorld.boa(DEFAULT)


@pytest.fixture(autouse=True)
def _rollback(world):
    with boa.env.anchor():
        yield


@pytest.fixture
def lens(lens_deployer, world, admin):
    with boa.env.prank(admin):
        return lens_deployer.deploy(world.engine.address)


@pytest.fixture
def flaky():
    return boa.load_partial(str(HERE / "FlakyEngine.vy")).deploy()


@pytest.fixture
def flaky_lens(lens_deployer, flaky, admin):
    with boa.env.prank(admin):
        return lens_deployer.deploy(flaky.address)


@pytest.fixture
def auctions():
    return boa.load_partial(str(CONTRACTS / "mocks" / "MockAuctions.vy")).deploy()
