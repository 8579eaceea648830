"""RiskEngine.set_correlation: admin or risk manager; the whole matrix of every listed underlying (a partial
one reverts); square, distinct listed ids, unit diagonal, symmetric, |ρ| <= 1; positive semi-definite
(contracts/lib/psd.vy: with λ the smallest eigenvalue, accepted when λ >= -9e-12, rejected when λ <= -1e-11;
`validate_correlation`'s λ >= -1e-12 always passes). TECH_SPEC, RiskEngine."""

from __future__ import annotations

import boa
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossmargin.model.params import validate_correlation
from tests.differential.strategies_chain import DEFAULT as P, engine_setup

WAD = 10**18
I3 = [[WAD, 0, 0], [0, WAD, 0], [0, 0, WAD]]
FIXTURES = [HealthCheck.function_scoped_fixture]


def m(*rows):
    return [list(r) for r in rows]


def to_chain(a) -> list[list[int]]:
    """A float matrix as set_correlation takes it: WAD, unit diagonal, symmetric, |ρ| <= 1."""
    n = len(a)
    lower = [[max(-WAD, min(WAD, round(float(a[i][j]) * WAD))) for j in range(i)] for i in range(n)]
    return [[WAD if i == j else lower[max(i, j)][min(i, j)] for j in range(n)] for i in range(n)]


def smallest_eigenvalue(rho: list[list[int]]) -> float:
    return float(np.linalg.eigvalsh(np.array(rho, dtype=float) / WAD).min())


def python_accepts(rho: list[list[int]]) -> bool:
    try:
        validate_correlation(np.array(rho, dtype=float) / WAD)
    except ValueError:
        return False
    return True


def shifted(c: np.ndarray, lam: float) -> np.ndarray:
    """(C - t·I) / (1 - t) for a singular PSD C: unit diagonal, smallest eigenvalue exactly `lam` (< 0)."""
    t = -lam / (1 - lam)
    return (c - t * np.eye(len(c))) / (1 - t)


def circle(n: int) -> np.ndarray:
    """Rank-2 correlation matrix cos(θ_i - θ_j), θ spread over half a turn: PSD, λ_min = 0, |ρ_ij| < 1."""
    theta = np.linspace(0, 0.9 * np.pi, n)
    return np.cos(theta[:, None] - theta[None, :])


@pytest.fixture(scope="module")
def engines(world):
    """n -> a RiskEngine with underlyings 1..n listed (1 <= n <= 8), built once per module."""
    setup = engine_setup(P)
    out = {}
    for n in range(1, 9):
        e = world.deploy("RiskEngine", world.vault.address, world.markets.address, world.router.address,
                         world.vol.address, world.correlation_check.address)
        e.set_bounds(setup.bounds, sender=world.admin)
        for uid in range(1, n + 1):
            e.set_underlying(uid, 10**6 * WAD, setup.underlyings[0][2], sender=world.admin)
        out[n] = e
    return out


def stored(engine, uids, rho) -> bool:
    n = len(uids)
    return all(engine.correlation(uids[i], uids[j]) == rho[i][j] for i in range(n) for j in range(n))


# ---------------------------------------------------------------- roles, shape


@pytest.mark.parametrize("who", ["admin", "risk_manager"])
def test_admin_or_risk_manager(world, engine, who, last_event):
    rho = m([WAD, WAD // 2, 0], [WAD // 2, WAD, -WAD // 4], [0, -WAD // 4, WAD])
    engine.set_correlation([1, 2, 3], rho, sender=getattr(world, who))
    assert list(last_event(engine, "CorrelationSet").uids) == [1, 2, 3]
    assert stored(engine, [1, 2, 3], rho)
    assert engine.correlation(2, 1) == WAD // 2


def test_rows_in_any_order(world, engine):
    rho = m([WAD, WAD // 2, 0], [WAD // 2, WAD, -WAD // 4], [0, -WAD // 4, WAD])
    engine.set_correlation([3, 1, 2], rho, sender=world.admin)
    assert stored(engine, [3, 1, 2], rho)
    assert engine.correlation(1, 3) == WAD // 2


def test_others_rejected(world, engine, errors):
    with boa.reverts(errors.MISSING_ROLE):
        engine.set_correlation([1, 2, 3], I3, sender=world.user)


def test_rejects_unknown_underlying(world, engine, errors):
    with boa.reverts(errors.UNKNOWN_UNDERLYING):
        engine.set_correlation([1, 2, 7], I3, sender=world.admin)


@pytest.mark.parametrize("uids, rho", [
    pytest.param([1, 2, 3], m([WAD, 0], [0, WAD]), id="too few rows"),
    pytest.param([1, 2, 3], m([WAD, 0, 0, 0], [0, WAD, 0, 0], [0, 0, WAD, 0]), id="rows too long"),
    pytest.param([1, 2, 3], m([WAD, 0, 0], [0, WAD], [0, 0, WAD]), id="ragged"),
    pytest.param([1, 2, 3], m([WAD, 0, 0], [0, WAD - 1, 0], [0, 0, WAD]), id="diagonal not one"),
    pytest.param([1, 2, 3], m([WAD, WAD // 2, 0], [WAD // 3, WAD, 0], [0, 0, WAD]), id="asymmetric"),
    pytest.param([1, 2, 3], m([WAD, WAD + 1, 0], [WAD + 1, WAD, 0], [0, 0, WAD]), id="above one"),
    pytest.param([1, 2, 3], m([WAD, -WAD - 1, 0], [-WAD - 1, WAD, 0], [0, 0, WAD]), id="below minus one"),
    pytest.param([1, 1, 2], m([WAD, WAD, 0], [WAD, WAD, 0], [0, 0, WAD]), id="duplicate id"),
])
def test_rejects_malformed(world, engine, errors, uids, rho):
    with boa.reverts(errors.BAD_CORRELATION):
        engine.set_correlation(uids, rho, sender=world.admin)


# ---------------------------------------------------------------- every listed underlying


@pytest.mark.parametrize("uids", [[1, 2], [1], [], [1, 2, 3, 4]],
                         ids=["two of three", "one", "none", "unlisted fourth"])
def test_partial_matrix_reverts(world, engine, errors, uids):
    rho = [[WAD if i == j else 0 for j in range(len(uids))] for i in range(len(uids))]
    with boa.reverts(errors.PARTIAL_CORRELATION):
        engine.set_correlation(uids, rho, sender=world.admin)


def test_partial_update_cannot_make_the_matrix_indefinite(world, engine, errors):
    """What a block check would let through: with ρ_12 = ρ_13 = 0.9 standing, ρ_23 = -0.9 alone is a valid
    2x2, but the whole matrix is then indefinite."""
    x, y = 9 * WAD // 10, 8 * WAD // 10
    engine.set_correlation([1, 2, 3], m([WAD, x, x], [x, WAD, y], [x, y, WAD]), sender=world.admin)
    with boa.reverts(errors.PARTIAL_CORRELATION):
        engine.set_correlation([2, 3], m([WAD, -x], [-x, WAD]), sender=world.admin)
    with boa.reverts(errors.NOT_PSD):
        engine.set_correlation([1, 2, 3], m([WAD, x, x], [x, WAD, -x], [x, -x, WAD]), sender=world.admin)
    assert engine.correlation(2, 3) == y


def test_new_underlying_joins_uncorrelated(world, engine, errors):
    before = [[engine.correlation(u, v) for v in (1, 2, 3)] for u in (1, 2, 3)]
    engine.set_underlying(4, 10**6 * WAD, WAD // 10, sender=world.admin)
    assert engine.underlying_count() == 4
    assert [engine.correlation(u, 4) for u in (1, 2, 3)] == [0, 0, 0]
    with boa.reverts(errors.PARTIAL_CORRELATION):
        engine.set_correlation([1, 2, 3], before, sender=world.admin)
    rho = [row + [WAD // 2] for row in before] + [[WAD // 2] * 3 + [WAD]]
    engine.set_correlation([1, 2, 3, 4], rho, sender=world.admin)
    assert stored(engine, [1, 2, 3, 4], rho)


# ---------------------------------------------------------------- positive semi-definite: exact cases


@pytest.mark.parametrize("rho", [
    pytest.param(I3, id="identity"),
    pytest.param(m([WAD] * 3, [WAD] * 3, [WAD] * 3), id="all ones (rank 1)"),
    pytest.param(m([WAD, -WAD, 0], [-WAD, WAD, 0], [0, 0, WAD]), id="rho = -1 pair"),
    pytest.param(m([WAD, WAD, WAD // 2], [WAD, WAD, WAD // 2], [WAD // 2, WAD // 2, WAD]), id="rho = 1 pair"),
    pytest.param(m([WAD, WAD, -WAD], [WAD, WAD, -WAD], [-WAD, -WAD, WAD]), id="+-1 rank 1"),
    pytest.param(m([WAD, -WAD // 2, -WAD // 2], [-WAD // 2, WAD, -WAD // 2], [-WAD // 2, -WAD // 2, WAD]),
                 id="-1/2 everywhere (singular)"),
])
def test_accepts_boundary_matrices(world, engine, rho):
    engine.set_correlation([1, 2, 3], rho, sender=world.admin)
    assert stored(engine, [1, 2, 3], rho)


@pytest.mark.parametrize("rho", [
    pytest.param(m([WAD, 9 * WAD // 10, 9 * WAD // 10], [9 * WAD // 10, WAD, -9 * WAD // 10],
                   [9 * WAD // 10, -9 * WAD // 10, WAD]), id="0.9 0.9 -0.9"),
    pytest.param(m([WAD, WAD, WAD], [WAD, WAD, -WAD], [WAD, -WAD, WAD]), id="+-1 inconsistent"),
    pytest.param(m([WAD, WAD, 0], [WAD, WAD, WAD // 10**4], [0, WAD // 10**4, WAD]), id="rho = 1, 1e-4 apart"),
])
def test_rejects_indefinite(world, engine, errors, rho):
    assert smallest_eigenvalue(rho) < -1e-9
    before = [[engine.correlation(u, v) for v in (1, 2, 3)] for u in (1, 2, 3)]
    with boa.reverts(errors.NOT_PSD):
        engine.set_correlation([1, 2, 3], rho, sender=world.admin)
    assert [[engine.correlation(u, v) for v in (1, 2, 3)] for u in (1, 2, 3)] == before


def test_accepts_rounding_level_indefinite(world, engine):
    """WAD rounding can tip a singular matrix below 0 by ~1e-18: well inside the tolerance."""
    h = -WAD // 2
    rho = m([WAD, h - 1, h], [h - 1, WAD, h], [h, h, WAD])
    assert sum(map(sum, rho)) == -2   # (1, 1, 1)·ρ·(1, 1, 1) < 0: indefinite, λ_min ~ -7e-19
    engine.set_correlation([1, 2, 3], rho, sender=world.admin)
    assert stored(engine, [1, 2, 3], rho)


# ---------------------------------------------------------------- the tolerance, at its edges


@pytest.mark.parametrize("n", [3, 5, 8])
@pytest.mark.parametrize("lam, chain, python", [
    (0.0, True, True),
    (-0.99e-12, True, True),    # validate_correlation's edge: must pass on chain
    (-5e-12, True, False),      # the gap: looser on chain by design
    (-8.9e-12, True, False),
    (-1.01e-11, False, False),  # the chain's edge
    (-1e-9, False, False),
    (-1e-6, False, False),
])
def test_tolerance_edges(world, engines, errors, n, lam, chain, python):
    rho = to_chain(shifted(circle(n), lam) if lam else circle(n))
    assert abs(smallest_eigenvalue(rho) - lam) < 1e-15
    assert python_accepts(rho) is python
    engine = engines[n]
    uids = list(range(1, n + 1))
    if chain:
        engine.set_correlation(uids, rho, sender=world.admin)
        assert stored(engine, uids, rho)
    else:
        with boa.reverts(errors.NOT_PSD):
            engine.set_correlation(uids, rho, sender=world.admin)


def test_accepts_near_singular_leading_block(world, engine):
    """ρ_12 = 1 - 1e-9 and λ_min = -1e-12 (validate_correlation accepts): an unshifted LDLᵀ finds a pivot of
    -7.5e-4 after the tiny one; the shifted one accepts, as it must."""
    a, d, lo, hi = 0.5, 1e-9, 0.0, 1e-3
    for _ in range(200):   # bisect the gap γ = ρ_13 - ρ_23 to λ_min = -0.99e-12
        g = (lo + hi) / 2
        lam = np.linalg.eigvalsh(np.array([[1, 1 - d, a], [1 - d, 1, a - g], [a, a - g, 1]])).min()
        lo, hi = (g, hi) if lam > -0.99e-12 else (lo, g)
    rho = to_chain([[1, 1 - d, a], [1 - d, 1, a - lo], [a, a - lo, 1]])
    assert -1e-12 <= smallest_eigenvalue(rho) < -0.9e-12 and python_accepts(rho)
    engine.set_correlation([1, 2, 3], rho, sender=world.admin)
    assert stored(engine, [1, 2, 3], rho)


# ---------------------------------------------------------------- random matrices


@st.composite
def gram(draw):
    """Normalised Gram matrix B·Bᵀ of n random rows in k <= n dimensions (rank-deficient when k < n), small
    integer entries so that equal and opposite rows (ρ = ±1) come up."""
    n = draw(st.integers(1, 8))
    k = draw(st.integers(1, n))
    rows = draw(st.lists(st.lists(st.integers(-3, 3), min_size=k, max_size=k), min_size=n, max_size=n))
    b = np.array([r if any(r) else [1] + [0] * (k - 1) for r in rows], dtype=float)
    b /= np.linalg.norm(b, axis=1)[:, None]
    return to_chain(b @ b.T)


def pattern(s: float) -> list[list[float]]:
    """[[1, s, s], [s, 1, -s], [s, -s, 1]]: eigenvalues 1 + s (twice) and 1 - 2s, along (1, -1, -1)."""
    return [[1, s, s], [s, 1, -s], [s, -s, 1]]


@st.composite
def indefinite(draw):
    """A unit-diagonal symmetric matrix with λ_min < -1e-6, built, not filtered. Either the 3x3 `pattern` with
    λ = -e (e log-uniform in [2e-6, 1]) next to a normalised Gram block, rows and columns permuted: λ_min = -e
    exactly; or any symmetric matrix with the pattern planted on three rows (s > 0.55): λ_min <= 1 - 2s by
    interlacing."""
    if draw(st.booleans()):
        e = 10 ** draw(st.floats(np.log10(2e-6), 0))
        rest = np.array(draw(gram()), dtype=float) / WAD if draw(st.booleans()) else np.zeros((0, 0))
        k = len(rest)
        if k > 5:
            rest = rest[:5, :5]
            k = 5
        a = np.zeros((3 + k, 3 + k))
        a[:3, :3] = pattern(0.5 + e / 2)
        a[3:, 3:] = rest
        perm = draw(st.permutations(range(3 + k)))
        return to_chain(a[np.ix_(perm, perm)])
    n = draw(st.integers(3, 8))
    a = np.array(draw(st.lists(st.floats(-1, 1), min_size=n * n, max_size=n * n))).reshape(n, n)
    rows = draw(st.permutations(range(n)))[:3]
    a[np.ix_(rows, rows)] = pattern(draw(st.floats(0.55, 1)))
    a = np.tril(a) + np.tril(a, -1).T
    return to_chain(a)


def uniform(n: int):
    """Any symmetric unit-diagonal matrix with entries in [-1, 1] (mostly indefinite for n >= 3)."""
    entries = st.lists(st.floats(-1, 1), min_size=n * n, max_size=n * n)
    return entries.map(lambda x: to_chain(np.reshape(x, (n, n))))


@settings(max_examples=30, deadline=None, suppress_health_check=FIXTURES)
@given(rho=gram(), data=st.data())
def test_random_psd_accepted_and_stored(world, engines, rho, data):
    n = len(rho)
    uids = data.draw(st.permutations(range(1, n + 1)))
    assert smallest_eigenvalue(rho) > -1e-13   # 0 up to numpy's error (~n·‖ρ‖·2e-16)
    with boa.env.anchor():
        engines[n].set_correlation(uids, rho, sender=world.admin)
        assert stored(engines[n], uids, rho)


@settings(max_examples=30, deadline=None, suppress_health_check=FIXTURES)
@given(rho=indefinite())
def test_random_indefinite_rejected(world, engines, errors, rho):
    n = len(rho)
    uids = list(range(1, n + 1))
    assert smallest_eigenvalue(rho) < -1e-6
    engine = engines[n]
    before = [[engine.correlation(u, v) for v in uids] for u in uids]
    with boa.reverts(errors.NOT_PSD):
        engine.set_correlation(uids, rho, sender=world.admin)
    assert [[engine.correlation(u, v) for v in uids] for u in uids] == before


@settings(max_examples=30, deadline=None, suppress_health_check=FIXTURES)
@given(rho=st.one_of(gram(), indefinite(), st.integers(2, 8).flatmap(uniform)))
def test_python_and_chain_agree(world, engines, errors, rho):
    """validate_correlation and set_correlation agree on every matrix outside the gap (-1e-11, -1e-12), where
    only the chain accepts (a random matrix does not land there)."""
    n = len(rho)
    uids = list(range(1, n + 1))
    assert not -1e-11 < smallest_eigenvalue(rho) < -1e-12
    with boa.env.anchor():
        if python_accepts(rho):
            engines[n].set_correlation(uids, rho, sender=world.admin)
        else:
            with boa.reverts(errors.NOT_PSD):
                engines[n].set_correlation(uids, rho, sender=world.admin)
