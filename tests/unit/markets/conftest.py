"""Markets fixtures: the shared `markets` (tests/unit/conftest.py) with CLEARING_ROLE granted to the `clearing`
address, so tests can call `record_fill` directly, and a small listing factory."""

from __future__ import annotations

from types import SimpleNamespace

import boa
import pytest

WAD = 10**18
DAY = 86_400
ETH_PRICE = 3000 * WAD
CAP = 10**6 * WAD


@pytest.fixture
def mk(markets, admin, clearing, roles):
    """Markets where `clearing` may record fills."""
    with boa.env.prank(admin):
        markets.grantRole(roles.CLEARING, clearing)
    return markets


@pytest.fixture
def listed(mk, admin):
    """ETH perp (1), ETH future (2), ETH call 3000 (3), ETH put 3000 (4), all expiring in 30 days."""
    expiry = boa.env.timestamp + 30 * DAY
    with boa.env.prank(admin):
        return SimpleNamespace(
            perp=mk.list_perp(1, CAP, CAP),
            future=mk.list_future(1, expiry, CAP, CAP),
            call=mk.list_option(1, True, ETH_PRICE, expiry, CAP, CAP),
            put=mk.list_option(1, False, ETH_PRICE, expiry, CAP, CAP),
            expiry=expiry,
        )


@pytest.fixture
def record(mk, clearing):
    """record(id, price, size=1 unit) -> (instrument, funding index), as the Clearinghouse calls it."""

    def _record(id: int, price: int, size: int = WAD):
        with boa.env.prank(clearing):
            return mk.record_fill(id, price, size)

    return _record
