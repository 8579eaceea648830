"""The band agent's forecast policy and the keeper's P(liq) column, without a node (chain reads stubbed)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

import crossmargin.sim.liqprob as lp
from crossmargin.bots.band import BandAgent, BandConfig
from crossmargin.bots.reads import Health
from crossmargin.model.params import load_params
from crossmargin.model.portfolio import Account, MarketState, Position

WAD = 10**18


@pytest.fixture
def chain(monkeypatch):
    """chain_account stubbed: a long 10 ETH-PERP with `cash` USDC (cash set per test)."""
    params = load_params("default").listed(0)
    state = {"cash": 4000.0}

    def fake(dep, account_id, block="latest"):
        acct = Account(cash=state["cash"], positions=(Position(params.market("ETH-PERP"), 10.0, 30_000.0),))
        return acct, MarketState.from_params(params), {}

    monkeypatch.setattr(lp, "chain_account", fake)
    return SimpleNamespace(dep=SimpleNamespace(listed=params), state=state)


def _agent(chain, **config) -> tuple[BandAgent, list]:
    agent = BandAgent.__new__(BandAgent)
    agent.config = BandConfig(max_pliq=0.01, pliq_paths=2048, **config)
    agent.dep, agent.account = chain.dep, 7
    agent.forecast = agent.forecast_block = agent.model = None
    calls = []
    agent._top_up = lambda h, head, need=None, fraction_of=None: calls.append(("top_up", need, fraction_of)) or "deposit"
    agent._withdraw = lambda h, head, cap=None: calls.append(("withdraw", cap)) or "withdraw"
    return agent, calls


def test_forecast_policy_tops_up_before_the_breach(chain):
    agent, calls = _agent(chain)
    h = Health(7, equity_mm=4000 * WAD, mm=3300 * WAD, equity_im=4000 * WAD, im=4125 * WAD, status=0)
    record = agent._forecast_policy(h, head=100, record={})
    assert record["p_liq_24h"] > 0.01 and calls[0][0] == "top_up"
    need = calls[0][1] / WAD
    assert need == pytest.approx(agent.forecast.topup[0]) and need > 0
    assert 0 < calls[0][2](need / 2) <= 1           # reserve short by half the need: a partial reduction
    agent._forecast_policy(h, head=101, record={})   # no fresh forecast yet: no second deposit
    assert len(calls) == 1
    chain.state["cash"] += need                      # deposited to p / 2 on those paths: new paths stay below p
    record = agent._forecast_policy(h, head=110, record={})
    assert record["p_liq_24h"] <= 0.01 and len(calls) == 1


def test_forecast_policy_withdraws_only_its_spare_cash(chain):
    chain.state["cash"] = 40_000.0
    agent, calls = _agent(chain)
    h = Health(7, equity_mm=40_000 * WAD, mm=3300 * WAD, equity_im=40_000 * WAD, im=4125 * WAD, status=0)
    record = agent._forecast_policy(h, head=100, record={})
    assert record["p_liq_24h"] == 0 and calls[0][0] == "withdraw"
    assert calls[0][1] / WAD == pytest.approx(agent.forecast.spare[0])
    assert 0 < agent.forecast.spare[0] < 40_000


def test_keeper_column_never_blocks(chain):
    rows = [Health(a, equity_mm=(4000 + a) * WAD, mm=3300 * WAD, equity_im=0, im=0, status=0) for a in (3, 4, 5, 6)]
    cache = {}
    busy = rows + [Health(9, equity_mm=WAD, mm=3300 * WAD, equity_im=0, im=0, status=0)]
    for _ in range(8):   # warm-up calls, then a keeper busy with a liquidatable account: nothing starts
        assert lp.keeper_column(chain.dep, busy, cache) == {}
    assert "job" not in cache
    t = time.perf_counter()
    assert lp.keeper_column(chain.dep, rows, cache) == {}        # idle: started in the background
    assert time.perf_counter() - t < 0.5
    cache["job"].result(timeout=120)
    out = lp.keeper_column(chain.dep, rows, cache)
    assert out["p_liq_acct"] in (3, 4, 5) and 0 < out["p_liq_24h"] < 1
    cache["pool"].shutdown()
