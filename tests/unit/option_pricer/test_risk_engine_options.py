"""The RiskEngine's option plug-in (titanoboa, WIDE parameters): wiring of the OptionPricer, option books against
the model, settled and expired-but-unsettled options, the short-option add-on, per-expiry vols from
`VolOracle.vol_at` and their status, and the Greeks view."""

from __future__ import annotations

import boa
import pytest

from crossmargin.chain.engine_views import greeks_from_breakdown
from crossmargin.model.margin import greeks as model_greeks
from crossmargin.model.margin import requirements
from crossmargin.model.params import to_wad
from crossmargin.model.portfolio import Account, MarketState, Position
from tests.differential.strategies_chain import WIDE, ChainPortfolio, engine_setup, risk_tuple
from tests.unit.option_pricer.conftest import WAD

P = WIDE
REL = 1e-9
ZERO = "0x" + "00" * 20
OK, STALE = 0, 2


@pytest.fixture
def state(world):
    return MarketState.from_params(P, now=world.listed_at)


def opt(name: str, size: float) -> Position:
    return Position(P.market(name), size, 0.0)


def perp(symbol: str, size: float, entry: float) -> Position:
    return Position.open(P.market(f"{symbol}-PERP"), size, entry)


def near(chain: int, model: float, scale: float) -> bool:
    return abs(chain / WAD - model) <= REL * max(abs(model), scale)


def assert_matches_model(world, account: Account, state: MarketState, portfolio=None):
    aid = world.load(portfolio or account, state)
    e_im, e_mm, im, mm, status = world.engine.margin(aid)
    expected = requirements(account, state, P)
    notional = sum(abs(p.size) * state.spot[P.market(p.instrument).underlying] for p in account.positions)
    assert status == OK
    for got, want, name in ((e_im, expected.equity_im, "equity_im"), (e_mm, expected.equity_mm, "equity_mm"),
                            (im, expected.im, "im"), (mm, expected.mm, "mm")):
        assert near(got, want, notional * 0.02 + abs(account.cash)), (name, got / WAD, want)
    assert mm / WAD >= expected.mm - REL * notional and e_mm / WAD <= expected.equity_mm + REL * notional
    return aid, expected


# ---------------------------------------------------------------- wiring


def _engine_without_pricer(world):
    engine = world.deploy("RiskEngine", world.vault.address, world.markets.address, world.router.address,
                          world.vol.address, world.correlation_check.address)
    setup = engine_setup(P)
    engine.set_positions(world.positions.address, sender=world.admin)
    engine.set_bounds(setup.bounds, sender=world.admin)
    engine.grantRole(engine.RISK_MANAGER_ROLE(), world.admin, sender=world.admin)
    engine.set_risk_params(risk_tuple(P), sender=world.admin)
    for uid, depth, lam in setup.underlyings:
        engine.set_underlying(uid, depth, lam, sender=world.admin)
    return engine


def test_options_need_a_pricer(world, state, errors):
    engine = _engine_without_pricer(world)
    assert engine.option_pricer() == ZERO
    aid = world.load(Account(positions=(opt("ETH-C-3000-30D", 1.0),)), state)
    with boa.reverts(errors.OPTIONS_NOT_SUPPORTED):
        engine.margin(aid)
    linear = world.load(Account(positions=(perp("ETH", 1.0, 3000.0),)), state)
    assert engine.margin(linear)[4] == OK          # linear books do not need it


def test_set_option_pricer(world, errors, last_event):
    engine = _engine_without_pricer(world)
    with boa.reverts(errors.MISSING_ROLE):
        engine.set_option_pricer(world.pricer.address, sender=world.user)
    with boa.reverts(errors.EMPTY_ADDRESS):
        engine.set_option_pricer(ZERO, sender=world.admin)
    engine.set_option_pricer(world.pricer.address, sender=world.admin)
    assert last_event(engine, "OptionPricerSet").pricer == world.pricer.address
    assert engine.option_pricer() == world.pricer.address


# ---------------------------------------------------------------- books against the model


@pytest.mark.parametrize("positions", [
    [("ETH-C-3000-30D", 2.0)],
    [("ETH-P-2500-30D", -5.0)],
    [("ETH-C-3000-30D", -3.0), ("ETH-P-3000-30D", -3.0)],
    [("ETH-C-3000-7D", 10.0), ("ETH-C-3300-180D", -4.0), ("BTC-P-60000-30D", -0.5), ("SOL-C-165-1D", 100.0)],
    [("ETH-C-3000-EXPIRED", 2.0), ("ETH-P-3000-EXPIRED", -1.0)],
], ids=["long call", "short put", "short straddle", "three underlyings", "expired unsettled"])
def test_option_books_match_model(world, state, positions):
    account = Account(cash=100_000.0, positions=tuple(opt(n, s) for n, s in positions))
    assert_matches_model(world, account, state.with_spot(ETH=3100.0))


def test_hedged_book_matches_model(world, state):
    account = Account(cash=50_000.0, collateral={"WETH": 1.5}, positions=(
        opt("ETH-C-3000-30D", -10.0), perp("ETH", 5.2, 2990.0), Position.open(P.market("ETH-30D"), 1.0, 3010.0)))
    assert_matches_model(world, account, state)


def test_expired_unsettled_option_is_worth_its_intrinsic_value(world, state):
    account = Account(positions=(opt("ETH-C-3000-EXPIRED", 2.0),))
    aid, expected = assert_matches_model(world, account, state.with_spot(ETH=3100.0))
    assert world.engine.margin(aid)[1] == 200 * WAD                    # 2 · (3,100 - 3,000), exact
    (book,) = world.engine.requirement_breakdown(aid)
    assert book.option_value == 200 * WAD and book.vega == 0 and book.gamma == 0 and book.theta == 0


def test_settled_option_is_a_cash_claim(world, state):
    spec = P.market("ETH-P-3000-30D")
    portfolio = ChainPortfolio(Account(cash=10.0, positions=(opt(spec.name, -3.0),)), settled={spec.name: 2800.0})
    aid = world.load(portfolio, state)
    assert world.engine.requirement_breakdown(aid) == []               # no scenario risk, no vol read
    assert world.engine.margin(aid) == (10 * WAD - 600 * WAD, 10 * WAD - 600 * WAD, 0, 0, OK)


def test_short_option_addon(world, state):
    aid = world.load(Account(cash=1e6, positions=(opt("ETH-C-3000-30D", -7.0), opt("ETH-P-2500-30D", 2.0))), state)
    (book,) = world.engine.requirement_breakdown(aid)
    assert book.short_options == 7 * WAD
    assert book.short_option == 7 * 3000 * WAD // 100                  # 1 % of 7 · 3,000, exact
    assert book.basis == 0


# ---------------------------------------------------------------- vols


def test_term_vol_of_the_expiry_is_used(world, state):
    """A term point for the option's expiry overrides the ATM vol in the option's value and scenarios; the
    shock size still follows the ATM vol (both clamp at shock_min here, so the model with vol = term agrees)."""
    spec = P.market("ETH-C-3000-30D")
    uid, expiry = P.underlying("ETH").id, world.listed_at + spec.expiry_seconds
    low = state.with_vol(ETH=0.2)
    account = Account(positions=(opt(spec.name, 1.0),))
    aid = world.load(account, low)
    before = world.engine.requirement_breakdown(aid)[0].option_value
    world.vol.set_term_vol(uid, expiry, to_wad(0.3), sender=world.feeder)
    after = world.engine.requirement_breakdown(aid)[0]
    assert after.option_value > before and after.vol == to_wad(0.2)
    e_im, e_mm, im, mm, status = world.engine.margin(aid)
    expected = requirements(account, low.with_vol(ETH=0.3), P)
    assert near(e_mm, expected.equity_mm, 3000 * 0.02) and near(mm, expected.mm, 3000 * 0.02)


def test_stale_term_vol_makes_the_account_stale(world, state):
    spec = P.market("ETH-C-3000-30D")
    uid, o = P.underlying("ETH").id, P.onchain()["oracle"]
    world.vol.set_params(uid, o["min_vol"], o["max_vol"], 3600, WAD, 2 * WAD, 4 * WAD, sender=world.admin)
    world.vol.set_term_vol(uid, world.listed_at + spec.expiry_seconds, to_wad(0.6), sender=world.feeder)
    options = world.load(Account(positions=(opt(spec.name, 1.0),)))
    linear = world.load(Account(positions=(perp("ETH", 1.0, 3000.0),)))
    boa.env.time_travel(seconds=7200)
    world.vol.set_vol(uid, to_wad(0.6), sender=world.feeder)           # the ATM vol is fresh again
    assert world.engine.margin(linear)[4] == OK
    assert world.engine.margin(options)[4] == STALE
    assert not world.engine.is_above_im(options)


# ---------------------------------------------------------------- Greeks view


def test_greeks_view_matches_model(world, state):
    account = Account(collateral={"WETH": 2.0}, positions=(
        opt("ETH-C-3000-30D", 3.0), opt("ETH-P-2500-30D", -2.0), perp("ETH", -1.0, 3000.0),
        opt("BTC-C-60000-30D", 0.25)))
    aid = world.load(account, state)
    expected = model_greeks(account, state, P)
    for uid, delta, delta_usd, gamma, vega, theta in greeks_from_breakdown(world.engine.requirement_breakdown(aid)):
        e = expected[P.underlying(uid).symbol]
        assert abs(delta / WAD - e.delta) <= 1e-12 * 10
        assert abs(delta_usd / WAD - e.delta_usd) <= 1e-12 * 10 * 60_000
        assert abs(gamma / WAD - e.gamma) <= 1e-9 * abs(e.gamma) + 1e-17
        assert abs(vega / WAD - e.vega) <= 1e-9 * abs(e.vega) + 1e-15
        assert abs(theta / WAD - e.theta) <= 1e-9 * abs(e.theta) + 1e-15
    assert {P.underlying(g[0]).symbol for g in greeks_from_breakdown(world.engine.requirement_breakdown(aid))} == {"ETH", "BTC"}
