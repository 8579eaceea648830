"""Listing and admin: list_perp / list_future / list_option, caps, halting, rewiring, bounds, roles."""

import boa

from .conftest import CAP, DAY, ETH_PRICE, WAD

PERP, FUTURE, CALL, PUT = 1, 2, 3, 4


def test_list_all_kinds(mk, admin, last_event):
    expiry = boa.env.timestamp + 7 * DAY
    with boa.env.prank(admin):
        perp = mk.list_perp(1, 100 * WAD, 10 * WAD)
        log = last_event(mk, "InstrumentListed")
        future = mk.list_future(2, expiry, CAP, CAP)
        call = mk.list_option(1, True, ETH_PRICE, expiry, CAP, CAP)
        put = mk.list_option(1, False, 2500 * WAD, expiry, CAP, CAP)
    assert (perp, future, call, put) == (1, 2, 3, 4) and mk.instrument_count() == 4
    assert (log.id, log.kind, log.underlying, log.max_open_interest, log.max_position) == (1, PERP, 1, 100 * WAD, 10 * WAD)
    assert tuple(mk.instrument(perp)) == (PERP, 1, 0, 0, 0, 100 * WAD, 10 * WAD, True)
    assert tuple(mk.instrument(future)) == (FUTURE, 2, 0, expiry, 0, CAP, CAP, True)
    assert tuple(mk.instrument(call)) == (CALL, 1, ETH_PRICE, expiry, 0, CAP, CAP, True)
    assert tuple(mk.instrument(put))[:3] == (PUT, 1, 2500 * WAD)
    assert tuple(mk.funding_params(perp)) == (3600, 5 * 10**14, 1298, 10**6 * WAD)
    assert mk.funding_state(perp).last_update == boa.env.timestamp
    assert tuple(mk.instrument(99)) == (0, 0, 0, 0, 0, 0, 0, False)


def test_list_reverts(mk, admin, alice, errors):
    expiry = boa.env.timestamp + DAY
    with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
        mk.list_perp(1, CAP, CAP)
    with boa.env.prank(admin):
        with boa.reverts(errors.ZERO_ID):
            mk.list_perp(0, CAP, CAP)
        with boa.reverts(errors.UNKNOWN_UNDERLYING):
            mk.list_perp(7, CAP, CAP)
        with boa.reverts(errors.EXPIRY_PASSED):
            mk.list_future(1, boa.env.timestamp, CAP, CAP)
        with boa.reverts(errors.EXPIRY_PASSED):
            mk.list_option(1, True, ETH_PRICE, boa.env.timestamp, CAP, CAP)
        with boa.reverts(errors.ZERO_STRIKE):
            mk.list_option(1, False, 0, expiry, CAP, CAP)
    assert mk.instrument_count() == 0


def test_set_caps_and_active(mk, listed, admin, alice, errors, last_event):
    with boa.env.prank(admin):
        mk.set_caps(listed.perp, 5 * WAD, 2 * WAD)
        log = last_event(mk, "CapsSet")
        mk.set_active(listed.perp, False)
    assert (log.id, log.max_open_interest, log.max_position) == (listed.perp, 5 * WAD, 2 * WAD)
    inst = mk.instrument(listed.perp)
    assert (inst.max_open_interest, inst.max_position, inst.active) == (5 * WAD, 2 * WAD, False)
    with boa.env.prank(admin):
        with boa.reverts(errors.UNKNOWN_INSTRUMENT):
            mk.set_caps(99, 1, 1)
        with boa.reverts(errors.UNKNOWN_INSTRUMENT):
            mk.set_active(99, True)
    with boa.env.prank(alice):
        with boa.reverts(errors.MISSING_ROLE):
            mk.set_caps(listed.perp, 1, 1)
        with boa.reverts(errors.MISSING_ROLE):
            mk.set_active(listed.perp, True)


def test_set_router(mk, admin, alice, errors, last_event):
    new = boa.env.generate_address("router2")
    with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
        mk.set_router(new)
    with boa.env.prank(admin):
        with boa.reverts(errors.EMPTY_ADDRESS):
            mk.set_router("0x" + "00" * 20)
        mk.set_router(new)
        assert last_event(mk, "RouterSet").router == new
    assert mk.router() == new


def test_set_bounds(mk, admin, alice, errors):
    good = (10, 100, 10**15, 20, 200, 10**17, WAD, 10**9 * WAD)
    with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
        mk.set_bounds(good)
    with boa.env.prank(admin):
        for bad in [
            (0, 100, 0, 20, 200, 0, 1, 1),  # zero min period
            (101, 100, 0, 20, 200, 0, 1, 1),  # min > max period
            (10, 100, 0, 0, 200, 0, 1, 1),  # zero min tau
            (10, 100, 0, 201, 200, 0, 1, 1),  # min > max tau
            (10, 100, WAD + 1, 20, 200, 0, 1, 1),  # rate cap above 100 %
            (10, 100, 0, 20, 200, WAD + 1, 1, 1),  # band above 100 %
            (10, 100, 0, 20, 200, 0, 0, 1),  # zero min depth
            (10, 100, 0, 20, 200, 0, 2, 1),  # min > max depth
        ]:
            with boa.reverts(errors.BAD_BOUNDS):
                mk.set_bounds(bad)
        mk.set_bounds(good)
    assert tuple(mk.bounds()) == good


def test_constructor_rejects_empty_router(markets_deployer, errors):
    with boa.reverts(errors.EMPTY_ADDRESS):
        markets_deployer.deploy("0x" + "00" * 20)
