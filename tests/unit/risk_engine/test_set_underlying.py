"""RiskEngine.set_underlying: admin only, depth > 0 and packable, concentration inside its bound; at most 8
listed."""

import boa

from tests.differential.strategies_chain import BOUND_FIELDS

WAD = 10**18


def test_admin_only(world, engine, errors):
    with boa.reverts(errors.MISSING_ROLE):
        engine.set_underlying(4, 10**6 * WAD, WAD // 10, sender=world.risk_manager)


def test_rejects_zero_id(world, engine, errors):
    with boa.reverts(errors.ZERO_ID):
        engine.set_underlying(0, 10**6 * WAD, WAD // 10, sender=world.admin)


def test_rejects_bad_depth(world, engine, errors):
    with boa.reverts(errors.BAD_DEPTH):
        engine.set_underlying(4, 0, WAD // 10, sender=world.admin)
    with boa.reverts(errors.BAD_DEPTH):
        engine.set_underlying(4, 2**128, WAD // 10, sender=world.admin)


def test_needs_bounds(world, fresh_engine, errors):
    with boa.reverts(errors.BOUNDS_NOT_SET):
        fresh_engine.set_underlying(4, 10**6 * WAD, WAD // 10, sender=world.admin)


def test_rejects_concentration_outside_bound(world, engine, setup, errors):
    lo, hi = setup.bounds[BOUND_FIELDS.index("concentration")]
    with boa.reverts(errors.OUT_OF_BOUNDS):
        engine.set_underlying(4, 10**6 * WAD, hi + 1, sender=world.admin)


def test_stores_and_logs(world, engine, last_event):
    engine.set_underlying(4, 2**128 - 1, 5 * WAD, sender=world.admin)
    log = last_event(engine, "UnderlyingSet")
    assert (log.uid, log.depth, log.concentration) == (4, 2**128 - 1, 5 * WAD)
    assert engine.underlying_params(4) == (2**128 - 1, 5 * WAD)
    assert engine.underlying_params(1) == (20_000_000 * WAD, WAD // 10)   # from DEFAULT
    assert engine.underlying_params(99) == (0, 0)


def test_rejects_id_beyond_64_bits(world, engine, errors):
    """Ids pack in 64 bits; the largest, 2**64 - 1, is SETTLEMENT_UID (the settlement unit's price id, the asset
    id of a vault over USDC: book-less collateral), so no underlying may take it."""
    for uid in (2**64, 2**64 - 1):
        with boa.reverts(errors.ID_TOO_LARGE):
            engine.set_underlying(uid, 10**6 * WAD, WAD // 10, sender=world.admin)
    engine.set_underlying(2**64 - 2, 10**6 * WAD, WAD // 10, sender=world.admin)


def test_counts_listed_underlyings(world, engine, errors):
    """The first listing of an id counts, a retune does not; at most MAX_UNDERLYINGS = 8 (set_correlation takes
    them all in one matrix)."""
    assert engine.underlying_count() == 3   # DEFAULT: ETH, BTC, SOL
    engine.set_underlying(1, 10**6 * WAD, WAD // 10, sender=world.admin)
    assert engine.underlying_count() == 3
    for uid in range(4, 9):
        engine.set_underlying(uid, 10**6 * WAD, WAD // 10, sender=world.admin)
    assert engine.underlying_count() == 8
    with boa.reverts(errors.TOO_MANY_UNDERLYINGS):
        engine.set_underlying(9, 10**6 * WAD, WAD // 10, sender=world.admin)
    engine.set_underlying(8, 2 * 10**6 * WAD, WAD // 10, sender=world.admin)   # retuning the eighth is fine
    assert engine.underlying_count() == 8
