"""Simulation tests: pure Python, fast (the whole folder runs in well under a minute)."""

import numpy as np
import pytest

from crossmargin.model.params import load_params
from crossmargin.model.portfolio import MarketState
from crossmargin.sim.simulate import build_books

P = load_params("default").listed(0)   # listed at t = 0: options and futures age along a path
S0 = MarketState.from_params(P)


@pytest.fixture(scope="session")
def params():
    return P


@pytest.fixture(scope="session")
def funded():
    """(cross books, isolated subaccounts, their health at the start): 300 random books, seed 11."""
    return build_books(P, 300, seed=11)


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(5)
