"""End-to-end exploit replays: the whole protocol (crossmargin.fuzz.world.World on pyrevm), one file per historical
failure, each named after it. Every test builds its own world (~0.1 s) and tells its story with the real entry
points: deposits, EIP-712 signed orders, oracle moves, auctions and bids. Helpers live in helpers.py.
"""

from __future__ import annotations

import pytest

from crossmargin.fuzz.world import World


@pytest.fixture
def world() -> World:
    """Protocol deployed from default.toml; traders[0] is a well-funded market maker, the insurance fund
    holds 100,000 USDC."""
    w = World.revm(n_traders=5)
    w.seed_insurance_fund(100_000)
    w.deposit(w.traders[0], "USDC", w.units("USDC", 20_000_000))
    return w
