"""RiskEngine margin views on linear books: numbers against the model, rounding direction, funding,
settled futures, collateral haircuts, the revert paths of the evaluation, is_above_im."""

from decimal import Decimal

import boa
import pytest

from crossmargin.chain.engine_views import greeks_from_breakdown
from crossmargin.model.margin import requirements
from crossmargin.model.portfolio import Account, Position
from tests.differential.strategies_chain import ChainPortfolio
from crossmargin.model.params import Kind
from tests.unit.risk_engine.conftest import GENESIS, ZERO, P, pos, wad

WAD = 10**18
OK, DEGRADED, STALE = 0, 1, 2


def near(chain_wad: int, model: float, rel: float = 1e-12) -> bool:
    return abs(chain_wad / WAD - model) <= rel * max(1.0, abs(model))


def assert_matches_model(engine, aid, account, state):
    r = requirements(account, state, P)
    e_im, e_mm, im, mm, status = engine.margin(aid)
    assert status == OK
    for got, want in ((e_im, r.equity_im), (e_mm, r.equity_mm), (im, r.im), (mm, r.mm)):
        assert near(got, want), (got / WAD, want)
    return r


# ---------------------------------------------------------------- empty and simple books


@pytest.mark.parametrize("cash", [0.0, 1234.56, -10.0])
def test_empty_account_needs_nothing(engine, load, cash):
    aid = load(Account(cash=cash))
    assert engine.margin(aid) == (wad(cash), wad(cash), 0, 0, OK)
    assert engine.requirement_breakdown(aid) == []
    assert engine.is_above_im(aid) == (cash >= 0)
    r = engine.margin(aid)
    assert r[3] - r[1] == -wad(cash)  # MM - E_mm


@pytest.mark.parametrize("name, size", [("ETH-PERP", 2.5), ("ETH-PERP", -2.5), ("BTC-PERP", 0.3), ("ETH-30D", -4.0),
                                        ("SOL-PERP", 1000.0)])
def test_single_linear_position_matches_model(engine, load, reference_state, name, size):
    account = Account(cash=5000.0, positions=(pos(name, size, entry=P.underlying(P.market(name).underlying).price * 0.99),))
    aid = load(account)
    r = assert_matches_model(engine, aid, account, reference_state)
    (book,) = engine.requirement_breakdown(aid)
    u = r.per_underlying[P.market(name).underlying]
    assert book.underlying == P.underlying(u.symbol).id
    assert near(book.worst_loss, u.worst_loss) and near(book.linear, u.linear) and near(book.nonlinear, u.nonlinear)
    # L = WS = ±|D_u|·s_u; a future's basis shock (term row) adds |B|·(1 - s_u) to K_u, all of it in C_u
    assert book.directional == book.linear and abs(book.linear) + book.nonlinear == book.worst_loss
    assert (book.nonlinear == 0) == (P.market(name).kind is not Kind.FUTURE)
    assert near(book.concentration, u.addons.concentration) and book.basis == 0 and book.short_option == 0
    assert book.linear_size == book.net_delta == wad(size) and book.gross_size == wad(abs(size))


def test_mixed_book_matches_model(engine, load, reference_state):
    account = Account(cash=20_000.0, collateral={"WETH": 3.0, "WBTC": 0.25},
                      positions=(pos("ETH-PERP", 4.0), pos("ETH-30D", -1.5, 3050.0), pos("BTC-PERP", -0.4, 61_000.0),
                                 pos("SOL-PERP", 250.0, 140.0)))
    aid = load(account)
    assert_matches_model(engine, aid, account, reference_state)
    assert engine.margin_with(aid, False) == engine.margin(aid)


def test_im_is_im_factor_times_mm_rounded_up(engine, load):
    aid = load(Account(positions=(pos("ETH-PERP", 1.2345),)))
    _, _, im, mm, _ = engine.margin(aid)
    assert im == -(-mm * 125 // 100)   # im_factor = 1.25, ceil
    assert 0 < mm <= im


# ---------------------------------------------------------------- rounding favours the protocol


def test_requirement_rounds_up_and_equity_down(world, engine, reference_state):
    """Sizes with 18 decimals make every product inexact: chain requirement >= exact, equity <= exact."""
    world.set_market(reference_state)
    aid = world.open_account()
    size = WAD // 3 + 1   # 0.333...334 ETH, long
    world.positions.set_positions(aid, [(1, size, 0, 0), (2, -(WAD // 7), 0, 0)], sender=world.admin)
    e_im, e_mm, im, mm, status = engine.margin(aid)
    s_eth = min(Decimal("0.5"), max(Decimal("0.05"), 3 * Decimal("0.6") * (Decimal(86400) / Decimal(31536000)).sqrt()))
    s_btc = min(Decimal("0.5"), max(Decimal("0.05"), 3 * Decimal("0.5") * (Decimal(86400) / Decimal(31536000)).sqrt()))
    l_eth = Decimal(size) / WAD * 3000 * s_eth
    l_btc = -Decimal(WAD // 7) / WAD * 60000 * s_btc
    q = max(l_eth**2 + l_btc**2 + 2 * r * l_eth * l_btc
            for r in (Decimal("0.8"), Decimal("0.75") * Decimal("0.8") + Decimal("0.25"), Decimal("0.75") * Decimal("0.8")))
    conc = (Decimal("0.1") * (Decimal(size) / WAD * 3000) ** 2 / 20_000_000
            + Decimal("0.1") * (Decimal(WAD // 7) / WAD * 60000) ** 2 / 40_000_000)
    exact_mm = q.sqrt() + conc
    exact_equity = Decimal(size) / WAD * 3000 - Decimal(WAD // 7) / WAD * 60000
    # shock rounding (a wei of s_u) scales with the notional: the excess is ~1e-17 relative
    assert Decimal(mm) / WAD >= exact_mm and Decimal(mm) / WAD - exact_mm < exact_mm * Decimal("1e-16")
    assert Decimal(im) / WAD >= exact_mm * Decimal("1.25")
    assert Decimal(e_mm) / WAD <= exact_equity and exact_equity - Decimal(e_mm) / WAD < Decimal(2) / WAD
    assert e_im == e_mm


# ---------------------------------------------------------------- funding and settled futures


@pytest.mark.parametrize("size, move", [(2.0, 12.5), (2.0, -12.5), (-3.0, 7.25)])
def test_pending_funding_is_paid_by_the_position(engine, load, reference_state, size, move):
    spec = P.market("ETH-PERP")
    plain = ChainPortfolio(Account(cash=1000.0, positions=(pos("ETH-PERP", size),)))
    funded = ChainPortfolio(plain.account, funding={spec.name: (100.0, 100.0 + move)})
    e0 = engine.margin(load(plain))[1]
    aid = load(funded)
    e1 = engine.margin(aid)[1]
    assert e1 - e0 == -wad(size * move)   # size · Δindex is paid (longs pay when the index rises)
    assert_matches_model(engine, aid, funded.model_account(P), reference_state)


def test_funding_owed_rounds_up(world, engine, reference_state):
    world.set_market(reference_state)
    aid = world.open_account()
    world.markets.set_funding_index(1, 1, sender=world.admin)         # Δindex = 1 wei per unit
    world.positions.set_positions(aid, [(1, WAD // 2, 0, 0)], sender=world.admin)   # owes 0.5 wei
    e_mm = engine.margin(aid)[1]
    assert e_mm == 1500 * WAD - 1   # 0.5 · 3000 minus the half-wei owed, rounded up to 1


def test_settled_future_is_cash_without_risk_or_price(world, engine, load, reference_state):
    portfolio = ChainPortfolio(Account(cash=100.0, positions=(pos("ETH-30D", 2.0, 2900.0),)), settled={"ETH-30D": 3100.0})
    aid = load(portfolio)
    assert engine.margin(aid) == (wad(100.0 + 2 * 200.0), wad(100.0 + 2 * 200.0), 0, 0, OK)
    assert engine.requirement_breakdown(aid) == []
    world.feeds["ETH"].set_reverts(True)   # the ETH price is not needed
    assert engine.margin(aid)[4] == OK and engine.is_above_im(aid)


def test_expired_unsettled_future_is_margined_at_the_index(engine, load, reference_state):
    account = Account(cash=100.0, positions=(pos("ETH-30D", 2.0, 2900.0),))
    aid = load(account)
    boa.env.time_travel(seconds=31 * 86400)
    # expired: valued at the index like a perp, and no basis shock (the model at the same time, listed at GENESIS)
    expired = Account(cash=100.0, positions=(Position("ETH-30D", 2.0, account.positions[0].cost),))
    r = requirements(expired, reference_state.at(GENESIS + 31 * 86400), P.listed(GENESIS))
    assert r.per_underlying["ETH"].worst_loss == pytest.approx(2.0 * 3000.0 * r.per_underlying["ETH"].shock)
    assert near(engine.margin(aid)[3], r.mm)


def test_zero_size_positions_are_ignored(world, engine, reference_state):
    world.set_market(reference_state)
    aid = world.open_account()
    world.positions.set_positions(aid, [(1, 0, 5 * WAD, 0), (99, 0, 0, 0)], sender=world.admin)
    assert engine.margin(aid) == (0, 0, 0, 0, OK)


# ---------------------------------------------------------------- evaluation reverts


def test_unknown_instrument_kind(world, engine, errors):
    aid = world.open_account()
    world.positions.set_positions(aid, [(77, WAD, 0, 0)], sender=world.admin)   # never listed: kind 0
    with boa.reverts(errors.UNKNOWN_KIND):
        engine.margin(aid)


def test_unknown_underlying(world, engine, errors):
    world.markets.set_instrument(50, (1, 42, 0, 0, 0, WAD, WAD, True), sender=world.admin)
    aid = world.open_account()
    world.positions.set_positions(aid, [(50, WAD, 0, 0)], sender=world.admin)
    with boa.reverts(errors.UNKNOWN_UNDERLYING):
        engine.margin(aid)


def _priced_only(world, uids) -> None:
    """Give the router a feed for `uids` (books open with one oracle read) but leave the engine unconfigured."""
    for uid in uids:
        world.router.set_feed(uid, world.feeds["ETH"].address, ZERO, 10**9, 0, 0, sender=world.admin)


def test_too_many_underlyings(world, engine, errors):
    _priced_only(world, range(10, 19))
    rows = []
    for k in range(9):
        world.markets.set_instrument(60 + k, (1, 10 + k, 0, 0, 0, WAD, WAD, True), sender=world.admin)
        rows.append((60 + k, WAD, 0, 0))
    aid = world.open_account()
    world.positions.set_positions(aid, rows[:8], sender=world.admin)
    with boa.reverts(errors.UNKNOWN_UNDERLYING):   # 8 books are fine (then: not listed here)
        engine.margin(aid)
    world.positions.set_positions(aid, rows, sender=world.admin)
    with boa.reverts(errors.TOO_MANY_UNDERLYINGS):
        engine.margin(aid)


def test_too_many_underlyings_with_collateral(world, engine, load, errors):
    """Eight position books plus linked collateral on a ninth underlying."""
    _priced_only(world, range(10, 18))
    rows = []
    for k in range(8):
        world.markets.set_instrument(60 + k, (1, 10 + k, 0, 0, 0, WAD, WAD, True), sender=world.admin)
        rows.append((60 + k, WAD, 0, 0))
    aid = load(Account(collateral={"WETH": 1.0}))
    world.positions.set_positions(aid, rows, sender=world.admin)
    with boa.reverts(errors.TOO_MANY_UNDERLYINGS):
        engine.margin(aid)


# ---------------------------------------------------------------- collateral


def test_collateral_haircuts_match_model(engine, load, reference_state):
    account = Account(cash=0.0, collateral={"WETH": 10.0, "WBTC": 1.5})
    aid = load(account)
    r = assert_matches_model(engine, aid, account, reference_state)
    assert r.equity_im < r.equity_mm
    assert [b.underlying for b in engine.requirement_breakdown(aid)] == [1, 2]
    assert engine.margin(aid)[3] > 0   # a spot delta: it carries scenario risk


def test_haircut_saturates_at_one(engine, load):
    # h = 0.05 + 0.1 · value / 20M >= 1 once value >= 190M USD: 70,000 WETH at 3,000
    aid = load(Account(collateral={"WETH": 70_000.0}))
    e_im, e_mm, im, mm, status = engine.margin(aid)
    assert (e_im, e_mm, mm) == (0, 0, 0)


def test_unconfigured_collateral_is_worth_nothing_and_reads_no_price(world, engine, load):
    token = world.deploy("mocks/MockERC20", "Mock SOLX", "SOLX", 9)
    world.vault.list_asset(token.address, 3, 10**40, False, sender=world.admin)
    aid = load(Account(cash=10.0))
    token.mint(world.user, 10**12, sender=world.admin)
    token.approve(world.vault.address, 10**12, sender=world.user)
    world.vault.deposit(aid, token.address, 10**12, sender=world.user)
    world.feeds["SOL"].set_reverts(True)
    assert engine.margin(aid) == (wad(10.0), wad(10.0), 0, 0, OK)


def test_linked_collateral_hedges_a_short_perp(engine, load):
    naked = engine.margin(load(Account(positions=(pos("ETH-PERP", -10.0),))))[3]
    hedged = engine.margin(load(Account(collateral={"WETH": 10.0}, positions=(pos("ETH-PERP", -10.0),))))[3]
    assert hedged < naked / 5


def test_greeks_count_collateral_at_full_balance(engine, load):
    aid = load(Account(collateral={"WETH": 2.0}, positions=(pos("ETH-PERP", -5.0), pos("BTC-PERP", 0.1))))
    eth, btc = greeks_from_breakdown(engine.requirement_breakdown(aid))
    assert tuple(eth) == (1, wad(-3.0), wad(-9000.0), 0, 0, 0)
    assert tuple(btc) == (2, wad(0.1), wad(6000.0), 0, 0, 0)


# ---------------------------------------------------------------- health


def test_is_above_im_at_the_boundary(world, engine, load):
    aid = load(Account(positions=(pos("ETH-PERP", 3.0),)))
    e_im, _, im, _, _ = engine.margin(aid)
    world.vault.adjust_cash(aid, im - e_im, sender=world.clearing)
    assert engine.margin(aid)[0] == engine.margin(aid)[2]
    assert engine.is_above_im(aid)
    world.vault.adjust_cash(aid, -1, sender=world.clearing)
    assert not engine.is_above_im(aid)
