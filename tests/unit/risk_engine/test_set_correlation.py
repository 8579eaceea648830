"""RiskEngine.set_correlation: admin or risk manager; square, listed distinct ids, unit diagonal,
symmetric, |ρ| <= 1 (PSD is checked off chain)."""

import boa
import pytest

WAD = 10**18
I3 = [[WAD, 0, 0], [0, WAD, 0], [0, 0, WAD]]


def m(*rows):
    return [list(r) for r in rows]


@pytest.mark.parametrize("who", ["admin", "risk_manager"])
def test_admin_or_risk_manager(world, engine, who, last_event):
    engine.set_correlation([1, 2], m([WAD, WAD // 2], [WAD // 2, WAD]), sender=getattr(world, who))
    assert list(last_event(engine, "CorrelationSet").uids) == [1, 2]
    assert engine.correlation(1, 2) == engine.correlation(2, 1) == WAD // 2
    assert engine.correlation(1, 3) == 7 * WAD // 10   # untouched pair keeps its value
    assert engine.correlation(3, 3) == WAD


def test_others_rejected(world, engine, errors):
    with boa.reverts(errors.MISSING_ROLE):
        engine.set_correlation([1, 2, 3], I3, sender=world.user)


def test_rejects_unknown_underlying(world, engine, errors):
    with boa.reverts(errors.UNKNOWN_UNDERLYING):
        engine.set_correlation([1, 7], m([WAD, 0], [0, WAD]), sender=world.admin)


@pytest.mark.parametrize("uids, rho", [
    pytest.param([1, 2, 3], m([WAD, 0], [0, WAD]), id="too few rows"),
    pytest.param([1, 2], m([WAD, 0, 0], [0, WAD, 0]), id="rows too long"),
    pytest.param([1, 2], m([WAD, 0], [0]), id="ragged"),
    pytest.param([1, 2], m([WAD, 0], [0, WAD - 1]), id="diagonal not one"),
    pytest.param([1, 2], m([WAD, WAD // 2], [WAD // 3, WAD]), id="asymmetric"),
    pytest.param([1, 2], m([WAD, WAD + 1], [WAD + 1, WAD]), id="above one"),
    pytest.param([1, 2], m([WAD, -WAD - 1], [-WAD - 1, WAD]), id="below minus one"),
    pytest.param([1, 1], m([WAD, WAD], [WAD, WAD]), id="duplicate id"),
])
def test_rejects_malformed(world, engine, errors, uids, rho):
    with boa.reverts(errors.BAD_CORRELATION):
        engine.set_correlation(uids, rho, sender=world.admin)


def test_accepts_extremes(world, engine):
    engine.set_correlation([2, 1], m([WAD, -WAD], [-WAD, WAD]), sender=world.admin)
    assert engine.correlation(1, 2) == -WAD
