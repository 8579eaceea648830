"""End to end with the real Markets and Clearinghouse (not the mocks): signed fills go through the
Clearinghouse, which asks this RiskEngine for margin around each fill; the engine reads positions from the
Clearinghouse (under its lock, through `@reentrant` views) and funding from Markets, and its numbers equal the
model's for the resulting accounts."""

from __future__ import annotations

import boa
import pytest
from eth_account import Account as Key
from eth_utils import keccak

from crossmargin.chain.orders import Order, sign_order
from crossmargin.model.margin import requirements
from crossmargin.model.portfolio import Account, MarketState, Position
from tests.differential.strategies_chain import engine_setup
from tests.unit.risk_engine.conftest import P

WAD = 10**18
USDC = 10**6
MAKER = Key.from_key(keccak(text="risk engine e2e maker"))
TAKER = Key.from_key(keccak(text="risk engine e2e taker"))


@pytest.fixture
def e2e(world, roles):
    a = world.admin
    world.set_market(MarketState.from_params(P))   # fresh feeds and vols at the reference prices
    markets = world.deploy("Markets", world.router.address)
    engine = world.deploy("RiskEngine", world.vault.address, markets.address, world.router.address, world.vol.address,
                          world.correlation_check.address)
    ch = world.deploy("Clearinghouse", world.vault.address, markets.address, engine.address)
    markets.grantRole(roles.CLEARING, ch.address, sender=a)
    world.vault.grantRole(roles.CLEARING, ch.address, sender=a)
    setup = engine_setup(P)
    engine.grantRole(roles.RISK_MANAGER, world.risk_manager, sender=a)
    engine.set_positions(ch.address, sender=a)
    engine.set_bounds(setup.bounds, sender=a)
    engine.set_risk_params(setup.risk, sender=world.risk_manager)
    for uid, depth, lam in setup.underlyings:
        engine.set_underlying(uid, depth, lam, sender=a)
    engine.set_correlation(*setup.correlation, sender=a)
    for symbol, *args in setup.collaterals:
        engine.set_collateral_risk(world.tokens[symbol].address, *args, sender=a)
    world.vault.set_margin_checker(engine.address, sender=a)
    perp = markets.list_perp(1, 10**6 * WAD, 10**6 * WAD, sender=a)
    accounts = {}
    usdc = world.tokens["USDC"]
    for name, key, cash in (("maker", MAKER, 100_000), ("taker", TAKER, 2_000)):
        aid = world.vault.open_account(0, sender=key.address)
        usdc.mint(key.address, cash * USDC, sender=a)
        usdc.approve(world.vault.address, cash * USDC, sender=key.address)
        world.vault.deposit(aid, usdc.address, cash * USDC, sender=key.address)
        accounts[name] = aid
    return engine, ch, perp, accounts


def trade(ch, maker_acct, taker_acct, instrument, size, price, nonce):
    order = Order(account=maker_acct, instrument=instrument, is_buy=size > 0, size=abs(size), limit_price=price,
                  nonce=nonce, expiry=boa.env.timestamp + 3600, fee_rate=0)
    sig = sign_order(MAKER.key, order, boa.env.evm.patch.chain_id, ch.address)
    with boa.env.prank(TAKER.address):
        return ch.fill(order.as_tuple(), sig, order.size, taker_acct)


def test_fill_then_margin_equals_model(world, e2e):
    engine, ch, perp, acc = e2e
    trade(ch, acc["maker"], acc["taker"], perp, 5 * WAD, 3000 * WAD, 1)   # maker buys 5 ETH-PERP from the taker
    state = MarketState.from_params(P)
    spec = P.market("ETH-PERP")
    for name, cash, size in (("maker", 100_000.0, 5.0), ("taker", 2_000.0, -5.0)):
        want = requirements(Account(cash=cash, positions=(Position(spec, size, size * 3000.0),)), state, P)
        got = engine.margin(acc[name])
        for g, w in zip(got[:4], (want.equity_im, want.equity_mm, want.im, want.mm)):
            assert abs(g / WAD - w) <= 1e-12 * max(1.0, abs(w))
        assert got[4] == 0


def test_clearinghouse_rejects_a_fill_below_im(world, e2e, errors):
    engine, ch, perp, acc = e2e
    # the taker (2,000 USD) cannot sell 10 ETH (IM ~ 3,530 USD)
    with boa.reverts(errors.BELOW_INITIAL_MARGIN):
        trade(ch, acc["maker"], acc["taker"], perp, 10 * WAD, 3000 * WAD, 2)
    trade(ch, acc["maker"], acc["taker"], perp, 5 * WAD, 3000 * WAD, 3)
    assert engine.is_above_im(acc["taker"])


def test_stale_price_blocks_new_risk_through_the_engine(world, e2e, errors):
    engine, ch, perp, acc = e2e
    trade(ch, acc["maker"], acc["taker"], perp, WAD, 3000 * WAD, 4)
    feed = world.feeds["ETH"]
    _, answer, started, updated, _ = feed.latestRoundData()
    feed.set_round_data(9, answer, started, updated, 8)   # answeredInRound < roundId: STALE
    assert engine.margin(acc["maker"])[4] == 2
    with boa.reverts():
        trade(ch, acc["maker"], acc["taker"], perp, WAD, 3000 * WAD, 5)
