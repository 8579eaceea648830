"""Timelock unit fixtures: the whole protocol on pyrevm (`crossmargin.fuzz.world.World`, which hands every admin and
risk-manager role to the Timelock exactly as `crossmargin deploy` does), built once per module and rolled back
after each test. Cast: `world.admin` is the proposer, executor, guardian (canceller, tightener) and feeder;
traders[0] an outsider."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from crossmargin.chain.errors import reasons
from crossmargin.fuzz.world import World

E = SimpleNamespace(**reasons())


@pytest.fixture(scope="module")
def _world():
    w = World.revm(n_traders=3)
    w.base = w.chain.snapshot()
    return w


@pytest.fixture
def world(_world):
    prices, params = dict(_world.prices), _world.params
    yield _world
    _world.chain.revert(_world.base)
    _world.prices, _world.params = prices, params
