"""RiskEngine.margin_for_liquidation: the liquidation test's view, where a stale or doubtful input makes an account
look worse instead of blocking (TECH_SPEC "Liquidation mode"), against the model's `liquidation_requirements`."""

import boa
import pytest

from crossmargin.model.margin import liquidation_requirements, mark_value, requirements, stale_vol
from crossmargin.model.portfolio import Account
from tests.unit.risk_engine.conftest import P, pos, wad
from tests.unit.risk_engine.test_status import make_stale

WAD = 10**18
OK, DEGRADED, STALE = 0, 1, 2
MIXED = Account(cash=50_000.0, collateral={"WETH": 2.0, "WBTC": 0.5},
                positions=(pos("ETH-PERP", -3.0), pos("BTC-PERP", 0.2), pos("SOL-PERP", 10.0)))


def near(chain_wad: int, model: float, rel: float = 1e-12) -> bool:
    return abs(chain_wad / WAD - model) <= rel * max(1.0, abs(model))


def health(r) -> int:
    return r[1] - r[3]


def check_against_model(got, penalty, account, state, stale_prices=(), stale_vols=()):
    want, want_penalty = liquidation_requirements(account, state, P, stale_prices, stale_vols)
    assert got[4] == OK
    for g, w in zip(got[:4], (want.equity_im, want.equity_mm, want.im, want.mm)):
        assert near(g, w), (g / WAD, w)
    assert near(penalty, want_penalty)


def test_fresh_inputs_change_nothing(engine, load):
    aid = load(MIXED)
    result, penalty = engine.margin_for_liquidation(aid, False)[:2]
    assert (tuple(result), penalty) == (tuple(engine.margin(aid)), 0)
    assert tuple(engine.margin_for_liquidation(aid, True)[0]) == tuple(engine.margin_with(aid, True))


def test_an_unusable_secondary_leaves_the_fresh_primary(world, engine, load):
    aid = load(MIXED)
    world.feeds2["ETH"].set_reverts(True)
    make_stale(world.feeds2["BTC"])
    assert engine.margin(aid)[4] == DEGRADED and engine.margin_with(aid, True)[4] == STALE
    for use_secondary in (False, True):
        result, penalty = engine.margin_for_liquidation(aid, use_secondary)[:2]
        assert tuple(result) == tuple(engine.margin(aid)[:4]) + (OK,) and penalty == 0


def test_a_disagreeing_secondary_stays_degraded(world, engine, load):
    aid = load(MIXED)
    world.feeds2["ETH"].set_answer(3300 * 10**8)
    assert engine.margin_for_liquidation(aid, False)[0][4] == DEGRADED
    assert tuple(engine.margin_for_liquidation(aid, True)[0]) == tuple(engine.margin_with(aid, True))


def test_a_stale_primary_penalises_collateral_and_positions(world, engine, load, reference_state):
    aid = load(MIXED)
    make_stale(world.feeds["BTC"])
    assert engine.margin(aid)[4] == STALE
    result, penalty = engine.margin_for_liquidation(aid, False)[:2]
    check_against_model(result, penalty, MIXED, reference_state, stale_prices={"BTC"})
    normal = engine.margin(aid)
    assert result[2:4] == normal[2:4], "IM and MM unchanged: the collateral is still a spot delta"
    assert result[1] + penalty == normal[1], "E_mm + penalty: the equity at the last prices"
    assert health(result) < health(normal)


@pytest.mark.parametrize("stale", [None, "BTC"])
def test_haircut_adds_back_to_the_mark_value(world, engine, load, reference_state, stale):
    """[mark value] `haircut` is Σ bal·P - value_mm over the collateral, so E_mm + penalty + haircut = the model's
    mark value V (no haircut) — fresh, and with a stale primary (its collateral's value_mm in the penalty, the rest
    in `haircut`): the V Liquidation sells at (it no longer recomputes the haircuts)."""
    aid = load(MIXED)
    if stale:
        make_stale(world.feeds[stale])
    result, penalty, haircut, collateral_free = engine.margin_for_liquidation(aid, False)
    assert not collateral_free and haircut > 0
    want = mark_value(MIXED, reference_state, P)
    assert near(haircut, want - requirements(MIXED, reference_state, P).equity_mm)
    assert near(result[1] + penalty + haircut, want)


def test_no_collateral_token_is_collateral_free_with_no_haircut(engine, load):
    aid = load(Account(cash=10_000.0, positions=(pos("ETH-PERP", 1.0),)))
    assert tuple(engine.margin_for_liquidation(aid, False)[2:]) == (0, True)
    aid = load(Account(cash=1_000.0, collateral={"WBTC": 1.0}))
    assert engine.margin_for_liquidation(aid, False)[3] is False


def test_collateral_alone_on_a_feed_without_any_price_counts_zero(world, engine, load):
    aid = load(Account(cash=1_000.0, collateral={"WBTC": 1.0}))
    world.feeds["BTC"].set_reverts(True)
    result, penalty = engine.margin_for_liquidation(aid, False)[:2]
    assert result[4] == OK and result[1] == wad(1_000.0) and penalty == 0


def test_positions_without_any_price_stay_stale(world, engine, load):
    aid = load(Account(cash=1_000.0, positions=(pos("BTC-PERP", -0.1),)))
    world.feeds["BTC"].set_answer(0)
    assert engine.margin_for_liquidation(aid, False)[0][4] == STALE, "nothing bounds a short's value at price 0"


def test_a_sequencer_down_still_blocks(world, engine, load):
    aid = load(MIXED)
    uptime = world.deploy("mocks/MockAggregator", 0, 1)            # answer 1: down
    world.router.set_sequencer(uptime.address, 3600, sender=world.admin)
    assert engine.margin_for_liquidation(aid, False)[0][4] == STALE


def test_a_stale_vol_is_marked_up_and_the_book_in_doubt(world, engine, load, reference_state):
    aid = load(MIXED)
    o = P.onchain()["oracle"]
    world.vol.set_params(P.underlying("SOL").id, o["min_vol"], o["max_vol"], 60, o["vol_stale_factor"],
                         o["vol_hour_factor"], o["vol_day_factor"], sender=world.admin)
    boa.env.time_travel(seconds=61)
    sol = reference_state.vol["SOL"]
    assert world.vol.vol(P.underlying("SOL").id) == (wad(sol) * 5 // 4, STALE)
    result, penalty = engine.margin_for_liquidation(aid, False)[:2]
    state = reference_state.at(reference_state.now + 61).with_vol(SOL=stale_vol(sol, P))
    check_against_model(result, penalty, MIXED, state, stale_vols={"SOL"})
    marked = requirements(MIXED, state, P)
    assert result[3] > wad(requirements(MIXED, reference_state.at(reference_state.now + 61), P).mm) - 10**6
    assert penalty >= wad(marked.per_underlying["SOL"].worst_loss) - 10**6


@pytest.mark.parametrize("stale", ["ETH", "BTC", "SOL"])
def test_a_doubtful_input_never_raises_health(world, engine, load, stale):
    aid = load(MIXED)
    before = engine.margin(aid)
    make_stale(world.feeds[stale])
    result, penalty = engine.margin_for_liquidation(aid, False)[:2]
    assert result[4] == OK and penalty > 0
    assert health(result) <= health(before) and result[0] <= before[0]
