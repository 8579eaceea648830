"""Fixtures for the option-math modules (contracts/lib/fixed_point.vy, normal.vy, black76.vy).

The modules are stateless; `contracts/test_harness/Black76Harness.vy` exports external wrappers of them.
One deployment serves the whole session (every wrapper is `pure`).
"""

import re
from pathlib import Path
from types import SimpleNamespace

import boa
import pytest

ROOT = Path(__file__).resolve().parents[3]
HARNESS = ROOT / "contracts" / "test_harness" / "Black76Harness.vy"
BLACK76 = ROOT / "contracts" / "lib" / "black76.vy"

_REASON = re.compile(r'^([A-Z][A-Z0-9_]*):\s*constant\(String\[\d+\]\)\s*=\s*"([^"]*)"', re.MULTILINE)


@pytest.fixture(scope="session")
def b76():
    """The Black76Harness: fixed_point / normal / black76 internals as external pure functions."""
    return boa.load(str(HARNESS))


@pytest.fixture(scope="session")
def b76_errors():
    """Revert reasons declared in black76.vy (ZERO_SPOT, ZERO_STRIKE), read from the source, never retyped."""
    return SimpleNamespace(**dict(_REASON.findall(BLACK76.read_text())))
