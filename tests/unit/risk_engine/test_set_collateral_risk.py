"""RiskEngine.set_collateral_risk: admin or risk manager; listed, non-settlement, linked to a known
underlying; bases and slope inside bounds, IM base >= MM base, depth > 0."""

import boa
import pytest

from tests.differential.strategies_chain import BOUND_FIELDS

WAD = 10**18
ARGS = (WAD // 10, WAD // 5, WAD // 2, 10**7 * WAD)   # base_mm, base_im, slope, depth


@pytest.mark.parametrize("who", ["admin", "risk_manager"])
def test_admin_or_risk_manager(world, engine, who, last_event):
    weth = world.tokens["WETH"].address
    engine.set_collateral_risk(weth, *ARGS, sender=getattr(world, who))
    log = last_event(engine, "CollateralRiskSet")
    assert (log.token, log.underlying, log.base_mm, log.base_im, log.slope, log.depth) == (weth, 1, *ARGS)
    assert tuple(engine.collateral_risk(weth)) == (1, *ARGS)


def test_others_rejected(world, engine, errors):
    with boa.reverts(errors.MISSING_ROLE):
        engine.set_collateral_risk(world.tokens["WETH"].address, *ARGS, sender=world.user)


def test_rejects_unlisted_token(world, engine, errors):
    with boa.reverts(errors.NOT_LISTED):
        engine.set_collateral_risk(world.user, *ARGS, sender=world.admin)


def test_rejects_settlement_asset(world, engine, errors):
    with boa.reverts(errors.NOT_COLLATERAL):
        engine.set_collateral_risk(world.tokens["USDC"].address, *ARGS, sender=world.admin)


def test_rejects_token_linked_to_unknown_underlying(world, engine, errors):
    token = world.deploy("mocks/MockERC20", "Mock SOLX", "SOLX", 9)
    world.vault.list_asset(token.address, 9, 10**30, False, sender=world.admin)
    with boa.reverts(errors.UNKNOWN_UNDERLYING):
        engine.set_collateral_risk(token.address, *ARGS, sender=world.admin)


def test_fresh_engine_knows_no_underlying(world, fresh_engine, errors):
    with boa.reverts(errors.UNKNOWN_UNDERLYING):   # set_underlying (which needs the bounds) comes first
        fresh_engine.set_collateral_risk(world.tokens["WETH"].address, *ARGS, sender=world.admin)


@pytest.mark.parametrize("index, name", [(0, "haircut_base_mm"), (1, "haircut_base_im"), (2, "haircut_slope")])
def test_rejects_outside_bounds(world, engine, setup, errors, index, name):
    lo, hi = setup.bounds[BOUND_FIELDS.index(name)]
    args = list(ARGS)
    args[index] = hi + 1
    if index == 0:
        args[1] = hi + 1   # keep im >= mm so only the bound fails
    with boa.reverts(errors.OUT_OF_BOUNDS):
        engine.set_collateral_risk(world.tokens["WETH"].address, *args, sender=world.admin)


def test_rejects_im_base_below_mm_base(world, engine, errors):
    with boa.reverts(errors.BAD_HAIRCUT):
        engine.set_collateral_risk(world.tokens["WETH"].address, WAD // 5, WAD // 10, WAD // 2, WAD, sender=world.admin)


def test_rejects_zero_depth(world, engine, errors):
    with boa.reverts(errors.BAD_DEPTH):
        engine.set_collateral_risk(world.tokens["WETH"].address, *ARGS[:3], 0, sender=world.admin)


def test_unconfigured_token_reads_zero(world, engine):
    assert tuple(engine.collateral_risk(world.tokens["USDC"].address)) == (0, 0, 0, 0, 0)


def test_vault_over_the_settlement_asset_is_book_less(world, engine, last_event):
    """A yield-bearing USDC vault: its share id's asset is SETTLEMENT_UID (no underlying is listed there), so the
    listing needs no book; the token is priced at its share id (rate x 1 USD), in no book."""
    a = world.admin
    usdc = world.tokens["USDC"]
    yusd = world.deploy("mocks/MockERC4626", "Vault yUSD", "yUSD", usdc.address, 0)
    usdc.mint(a, 10**12, sender=a)
    usdc.approve(yusd.address, 10**12, sender=a)
    yusd.deposit(10**12, a, sender=a)
    world.router.set_share_feed(11, yusd.address, 2**64 - 1, WAD // 1000, WAD // 20, 2 * WAD, sender=a)
    world.vault.list_asset(yusd.address, 11, 10**30, False, sender=a)
    engine.set_collateral_risk(yusd.address, *ARGS, sender=a)
    log = last_event(engine, "CollateralRiskSet")
    assert (log.token, log.underlying) == (yusd.address, 2**64 - 1)     # its "book": the settlement unit (none)
    assert tuple(engine.collateral_risk(yusd.address)) == (11, *ARGS)   # priced at the share id


def test_plain_token_linked_to_the_settlement_unit_refused(world, engine, errors):
    """A plain token the Vault links to SETTLEMENT_UID (no share feed) would count 1 USD per token with no oracle
    (a stablecoin's depeg unseen): only a vault over the settlement asset may sit in no book."""
    token = world.deploy("mocks/MockERC20", "Mock USDX", "USDX", 6)
    world.vault.list_asset(token.address, 2**64 - 1, 10**30, False, sender=world.admin)
    with boa.reverts(errors.UNKNOWN_UNDERLYING):
        engine.set_collateral_risk(token.address, *ARGS, sender=world.admin)
