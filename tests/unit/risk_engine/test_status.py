"""Oracle status propagation: the worst price/vol status among the underlyings an account touches.
STALE -> status STALE and is_above_im False (whatever the equity); DEGRADED -> is_above_im False;
`margin_with(.., True)` prices at the secondary feeds."""

import boa
import pytest

from crossmargin.model.margin import requirements
from crossmargin.model.portfolio import Account
from tests.unit.risk_engine.conftest import P, pos, wad

WAD = 10**18
OK, DEGRADED, STALE = 0, 1, 2
RICH = 10_000_000.0


def make_stale(feed):
    """answeredInRound < roundId: the router reads the answer as unusable (price kept, status STALE)."""
    _, answer, started, updated, _ = feed.latestRoundData()
    feed.set_round_data(5, answer, started, updated, 4)


@pytest.fixture
def eth_account(load):
    return load(Account(cash=RICH, positions=(pos("ETH-PERP", 1.0),)))


def test_fresh_prices_are_ok(engine, eth_account):
    assert engine.margin(eth_account)[4] == OK
    assert engine.is_above_im(eth_account)


def test_stale_price_blocks_is_above_im(world, engine, eth_account):
    make_stale(world.feeds["ETH"])
    e_im, e_mm, im, mm, status = engine.margin(eth_account)
    assert status == STALE and e_im > im
    assert not engine.is_above_im(eth_account)
    assert mm > 0 and e_mm > 0   # still computed under STALE: risk-reducing trades compare E_mm/MM
    assert engine.requirement_breakdown(eth_account)[0].status == STALE


def test_stale_vol_blocks_is_above_im(world, engine, eth_account):
    world.vol.set_params(1, wad(P.oracle.min_vol), wad(P.oracle.max_vol), 60, WAD, 2 * WAD, 4 * WAD, sender=world.admin)
    boa.env.time_travel(seconds=61)
    assert engine.margin(eth_account)[4] == STALE
    assert not engine.is_above_im(eth_account)


def test_zero_price_is_stale_and_does_not_revert(world, engine, eth_account):
    world.feeds["ETH"].set_answer(0)
    e_im, e_mm, im, mm, status = engine.margin(eth_account)
    assert status == STALE and not engine.is_above_im(eth_account)
    assert e_mm == wad(RICH) - wad(3000.0)   # the position is worth 0 at price 0 (cost 3,000)


def test_untouched_underlying_does_not_matter(world, engine, eth_account):
    make_stale(world.feeds["BTC"])
    world.feeds["SOL"].set_reverts(True)
    assert engine.margin(eth_account)[4] == OK
    assert engine.is_above_im(eth_account)


def test_linked_collateral_touches_its_underlying(world, engine, load):
    aid = load(Account(collateral={"WBTC": 1.0}))
    make_stale(world.feeds["BTC"])
    assert engine.margin(aid)[4] == STALE
    assert not engine.is_above_im(aid)


def test_worst_status_wins(world, engine, load):
    aid = load(Account(cash=RICH, positions=(pos("ETH-PERP", 1.0), pos("BTC-PERP", 0.1))))
    world.feeds2["ETH"].set_answer(3300 * 10**8)   # 10 % off: DEGRADED
    assert engine.margin(aid)[4] == DEGRADED
    make_stale(world.feeds["BTC"])
    assert engine.margin(aid)[4] == STALE


def test_degraded_blocks_is_above_im(world, engine, eth_account):
    world.feeds2["ETH"].set_answer(3300 * 10**8)
    assert engine.margin(eth_account)[4] == DEGRADED
    assert not engine.is_above_im(eth_account)


def test_margin_with_secondary_prices_at_the_secondary(world, engine, load, reference_state):
    account = Account(cash=1000.0, collateral={"WETH": 1.0}, positions=(pos("ETH-PERP", -2.0),))
    aid = load(account)
    world.feeds2["ETH"].set_answer(3300 * 10**8)
    primary, secondary = engine.margin_with(aid, False), engine.margin_with(aid, True)
    assert primary == engine.margin(aid)
    want = requirements(account, reference_state.with_spot(ETH=3300.0), P)
    assert secondary[4] == DEGRADED
    for got, exp in zip(secondary[:4], (want.equity_im, want.equity_mm, want.im, want.mm)):
        assert abs(got / WAD - exp) <= 1e-12 * max(1.0, abs(exp))
    assert secondary[1] < primary[1]   # short ETH loses when ETH is higher


def test_margin_with_secondary_unusable_is_stale(world, engine, eth_account):
    world.feeds2["ETH"].set_reverts(True)
    assert engine.margin(eth_account)[4] == DEGRADED       # the router: primary fine, secondary unusable
    assert engine.margin_with(eth_account, True)[4] == STALE
    assert engine.margin_with(eth_account, True)[:4] == engine.margin(eth_account)[:4]   # priced at the primary


def test_margin_with_secondary_falls_back_without_a_secondary_feed(world, engine, eth_account):
    world.router.set_feed(1, world.feeds["ETH"].address, "0x" + "00" * 20, 10**9, 0, 0, sender=world.admin)
    assert engine.margin_with(eth_account, True) == engine.margin(eth_account)
    assert engine.margin(eth_account)[4] == OK


@pytest.mark.parametrize("answer", [0, -1])
def test_option_account_under_a_non_positive_feed_is_stale_and_does_not_revert(world, engine, load, answer):
    """Issue 10 §7: a feed answering <= 0 used to make margin() revert "zero spot" for any account holding options
    (Black-76 at S = 0); it reports STALE as a linear account does."""
    aid = load(Account(cash=RICH, positions=(pos("ETH-C-3000-30D", 2.0), pos("ETH-P-3000-30D", -1.0),
                                             pos("ETH-PERP", 1.0))))
    world.feeds["ETH"].set_answer(answer)
    e_im, e_mm, im, mm, status = engine.margin(aid)
    assert status == STALE and not engine.is_above_im(aid)
    assert engine.requirement_breakdown(aid)[0].status == STALE
    assert mm >= 0
