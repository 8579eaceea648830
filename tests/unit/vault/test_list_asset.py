"""Asset listing: list_asset, set_cap, assets, asset_info, settlement_asset; admin-only."""

import boa

WAD = 10**18
DEFAULT_CAP_WAD = 10**12 * WAD  # tests/unit/conftest.py

ZERO = "0x0000000000000000000000000000000000000000"


def test_list_assets_and_read_back(bare_vault, admin, usdc, weth, wbtc):
    with boa.env.prank(admin):
        bare_vault.list_asset(usdc.address, 0, 5 * WAD, True)
        bare_vault.list_asset(wbtc.address, 2, 7 * WAD, False)
        bare_vault.list_asset(weth.address, 1, 9 * WAD, False)
    log = bare_vault.get_logs()[-1]
    assert bare_vault.assets() == [usdc.address, wbtc.address, weth.address]
    assert bare_vault.settlement_asset() == usdc.address
    assert tuple(bare_vault.asset_info(usdc.address)) == (6, 0, 5 * WAD, 0, True, True)
    assert tuple(bare_vault.asset_info(wbtc.address)) == (8, 2, 7 * WAD, 0, False, True)
    assert tuple(bare_vault.asset_info(weth.address)) == (18, 1, 9 * WAD, 0, False, True)
    assert type(log).__name__ == "AssetListed" and log.token == weth.address and log.underlying_id == 1


def test_unlisted_asset_info_is_empty(bare_vault, usdc):
    assert tuple(bare_vault.asset_info(usdc.address)) == (0, 0, 0, 0, False, False)
    assert bare_vault.settlement_asset() == ZERO
    assert bare_vault.assets() == []


def test_list_asset_requires_admin(bare_vault, alice, usdc, errors):
    with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
        bare_vault.list_asset(usdc.address, 0, WAD, True)


def test_list_asset_twice_reverts(bare_vault, admin, weth, errors):
    with boa.env.prank(admin):
        bare_vault.list_asset(weth.address, 1, WAD, False)
        with boa.reverts(errors.ALREADY_LISTED):
            bare_vault.list_asset(weth.address, 1, WAD, False)


def test_only_one_settlement_asset(bare_vault, admin, usdc, make_token, errors):
    other = make_token(6, "USDT")
    with boa.env.prank(admin):
        bare_vault.list_asset(usdc.address, 0, WAD, True)
        with boa.reverts(errors.SETTLEMENT_EXISTS):
            bare_vault.list_asset(other.address, 0, WAD, True)


def test_settlement_asset_has_no_underlying(bare_vault, admin, usdc, errors):
    with boa.env.prank(admin), boa.reverts(errors.SETTLEMENT_LINKED):
        bare_vault.list_asset(usdc.address, 1, WAD, True)


def test_list_asset_rejects_more_than_18_decimals(bare_vault, admin, make_token, errors):
    token = make_token(19, "D19")
    with boa.env.prank(admin), boa.reverts(errors.BAD_DECIMALS):
        bare_vault.list_asset(token.address, 0, WAD, False)


def test_list_asset_accepts_0_decimals(bare_vault, admin, make_token):
    token = make_token(0, "D0")
    with boa.env.prank(admin):
        bare_vault.list_asset(token.address, 0, WAD, False)
    assert bare_vault.asset_info(token.address).decimals == 0


def test_list_asset_rejects_empty_address(bare_vault, admin, errors):
    with boa.env.prank(admin), boa.reverts(errors.EMPTY_ADDRESS):
        bare_vault.list_asset(ZERO, 0, WAD, False)


def test_list_asset_bounded_by_max_assets(bare_vault, admin, make_token, errors):
    with boa.env.prank(admin):
        for i in range(16):
            bare_vault.list_asset(make_token(18, f"A{i}").address, 0, WAD, False)
        extra = make_token(18, "A16")
        with boa.reverts(errors.TOO_MANY_ASSETS):
            bare_vault.list_asset(extra.address, 0, WAD, False)
    assert len(bare_vault.assets()) == 16


def test_set_cap(vault, admin, weth):
    with boa.env.prank(admin):
        vault.set_cap(weth.address, 3 * WAD)
    log = vault.get_logs()[-1]
    assert vault.asset_info(weth.address).cap_wad == 3 * WAD
    assert type(log).__name__ == "CapSet" and log.cap_wad == 3 * WAD


def test_set_cap_requires_admin_and_listing(vault, admin, alice, weth, make_token, errors):
    with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
        vault.set_cap(weth.address, WAD)
    with boa.env.prank(admin), boa.reverts(errors.NOT_LISTED):
        vault.set_cap(make_token(18).address, WAD)
    assert vault.asset_info(weth.address).cap_wad == DEFAULT_CAP_WAD


def test_set_margin_checker(vault, admin, alice, errors):
    checker = boa.env.generate_address("checker")
    with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
        vault.set_margin_checker(checker)
    with boa.env.prank(admin):
        vault.set_margin_checker(checker)
    assert type(vault.get_logs()[-1]).__name__ == "MarginCheckerSet"
    assert vault.margin_checker() == checker


def test_roles_are_keccak_of_names(vault, roles):
    assert vault.CLEARING_ROLE() == roles.CLEARING
    assert vault.GUARDIAN_ROLE() == roles.GUARDIAN
    assert vault.DEFAULT_ADMIN_ROLE() == roles.ADMIN


def test_admin_grants_and_revokes_roles(vault, admin, alice, roles):
    with boa.env.prank(admin):
        vault.grantRole(roles.CLEARING, alice)
        assert vault.hasRole(roles.CLEARING, alice)
        vault.revokeRole(roles.CLEARING, alice)
    assert not vault.hasRole(roles.CLEARING, alice)
