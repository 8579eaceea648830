"""Liquidation unit fixtures: the whole protocol on pyrevm (`crossmargin.fuzz.world.World`: every contract is the
real one, orders are EIP-712 signed), built once per module and rolled back after each test. The Clearinghouse's
`transfer_portfolio` is tested with titanoboa on the clearinghouse fixtures (see test_transfer_portfolio.py).

Cast: traders[0] `maker` (20M USDC, the other side of every trade), traders[1] `victim`, traders[2] `keeper`
(starts auctions and bids; 2M USDC), traders[3] `other`. `underwater(...)` opens the victim's ETH long and
moves the price so it is liquidatable.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from crossmargin.chain.errors import reasons
from crossmargin.fuzz.world import WAD, World

E = SimpleNamespace(**reasons())


@pytest.fixture(scope="module")
def _world():
    w = World.revm(n_traders=4)
    w.seed_insurance_fund(100_000)
    w.deposit(w.traders[0], "USDC", w.units("USDC", 20_000_000))
    w.deposit(w.traders[2], "USDC", w.units("USDC", 2_000_000))
    w.base = w.chain.snapshot()
    return w


@pytest.fixture
def world(_world):
    prices = dict(_world.prices)
    params = _world.params
    yield _world
    _world.chain.revert(_world.base)
    _world.prices, _world.params = prices, params


@pytest.fixture
def cast(world):
    maker, victim, keeper, other = world.traders
    return SimpleNamespace(maker=maker, victim=victim, keeper=keeper, other=other)


@pytest.fixture
def underwater(world, cast):
    """underwater(size_eth=200, cash_usd=100_000, price=2750, collateral_weth=0) -> victim account id: a long
    of `size_eth` ETH-PERP bought at 3,000 from the maker, then ETH at `price`."""

    def _make(size_eth: float = 200, cash_usd: float = 100_000, price: float = 2750, collateral_weth: float = 0):
        v = cast.victim
        if cash_usd:
            world.deposit(v, "USDC", world.units("USDC", cash_usd))
        if collateral_weth:
            world.deposit(v, "WETH", world.units("WETH", collateral_weth))
        world.trade(cast.maker, v, "ETH-PERP", -int(size_eth * WAD), 3000 * WAD)
        world.set_price("ETH", int(price * WAD))
        return v.account

    return _make


@pytest.fixture
def health(world):
    """health(account) -> E_mm - MM (WAD)."""
    return lambda account: (lambda r: r[1] - r[3])(world.margin(account))


@pytest.fixture
def start(world, cast):
    """start(account): the keeper opens the auction."""
    return lambda account: world.liquidation.start_auction(account, cast.keeper.account, sender=cast.keeper.address)


@pytest.fixture
def stale(world):
    """stale(symbol): the primary feed's answer becomes older than its heartbeat."""

    def _stale(symbol: str) -> None:
        feed = world.feeds[symbol]
        rid, answer, started, _, _ = feed.latestRoundData()
        heartbeat = world.params.underlying(symbol).heartbeat
        feed.set_round_data(rid, answer, started, world.now - heartbeat - 1, rid, sender=world.admin)

    return _stale


@pytest.fixture
def sequencer_down(world):
    """sequencer_down(): the L2 sequencer uptime feed answers "down": every price STALE, liquidation mode too.
    The feed is installed "up" when the fixture is set up (through the Timelock, a day before the test body)."""
    uptime = world.backend.deploy("mocks/MockAggregator", 0, 0)
    world.govern(world.router, "set_sequencer", uptime.address, 3600)

    def _down() -> None:
        uptime.set_answer(1, sender=world.admin)

    return _down
