"""The keeper's decisions that need no node: which phase an account is in, which shard acts when."""

from __future__ import annotations

import pytest

from crossmargin.bots.base import BotOptions, round_size
from crossmargin.bots.core import BotError
from crossmargin.bots.keeper import Keeper, KeeperConfig, _max_cost, _phase, parse_shard
from crossmargin.bots.reads import FAILED, Health

WAD = 10**18


def row(equity_mm, mm, equity_im=None, im=None, status=0, in_auction=False):
    return Health(7, equity_mm * WAD, mm * WAD, (equity_im if equity_im is not None else equity_mm) * WAD,
                  (im if im is not None else mm * 5 // 4) * WAD, status, in_auction)


def test_phases_never_touch_a_healthy_account():
    assert _phase(row(100, 50)) is None                                      # healthy
    assert _phase(row(40, 50)) == "start"                                    # liquidatable, no auction yet
    assert _phase(row(40, 50, in_auction=True)) == "bid"                     # auction open, below MM
    assert _phase(row(60, 50, equity_im=60, im=55, in_auction=True)) == "close"  # back above IM: end it
    # above MM, still below IM: a bid reverts "not liquidatable", the auction is ended (a later dip starts afresh)
    assert _phase(row(55, 50, equity_im=55, im=62, in_auction=True)) == "close"


def test_failed_rows_are_not_liquidatable():
    assert not Health(1, 0, 0, 0, 0, FAILED).liquidatable


@pytest.mark.parametrize("text,expected", [("0/1", (0, 1)), ("2/3", (2, 3))])
def test_parse_shard(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["3/3", "1", "a/b", "-1/2", "0/0"])
def test_bad_shard(text):
    with pytest.raises(BotError):
        parse_shard(text)


def _keeper(shard: int, shards: int, takeover: int = 3) -> Keeper:
    return Keeper(None, None, BotOptions(), KeeperConfig(shard=shard, shards=shards, takeover_blocks=takeover))


def test_each_account_has_one_owner_and_a_ranked_succession():
    keepers = [_keeper(i, 3) for i in range(3)]
    for account in range(1, 40):
        ranks = sorted(k._rank(account) for k in keepers)
        assert ranks == [0, 1, 2]  # exactly one owner, then one successor per rank


def test_takeover_waits_rank_times_the_timeout():
    k = _keeper(shard=1, shards=3, takeover=3)
    own, next_of_own, far = 4, 3, 5  # owners 1, 0, 2 -> ranks 0, 1, 2
    assert k._my_turn(own, first_seen=100, head=100)
    assert not k._my_turn(next_of_own, first_seen=100, head=102) and k._my_turn(next_of_own, 100, 103)
    assert not k._my_turn(far, first_seen=100, head=105) and k._my_turn(far, 100, 106)


def test_backoff_doubles_and_is_capped():
    k = _keeper(0, 1)
    k.sender = type("S", (), {"busy": staticmethod(lambda key: False)})()
    key = ("bid", 9)
    waits = []
    for _ in range(8):
        k._fail(key, head=100)
        waits.append(k.state.backoff[key][0] - 100)
    assert waits == [2, 4, 8, 16, 32, 64, 64, 64]
    assert k._waiting(key, 150) and not k._waiting(key, 164)


def test_max_cost_guard_and_size_rounding():
    assert _max_cost(1000 * WAD) == 1006 * WAD          # +0.5 % +1 USD
    assert _max_cost(-1000 * WAD) == -994 * WAD         # paid by the fund: accept a little less
    assert round_size(123456789 * 10**10) == 12345 * 10**14 and round_size(-123456789 * 10**10) == -12345 * 10**14


def test_a_revert_is_a_lost_race_only_when_another_keeper_got_there_first():
    from crossmargin.bots.core import Outcome
    from crossmargin.bots.keeper import LOST_BID, LOST_START

    k = _keeper(0, 1)
    for status, reason, lost in [("reverted", "auction active", LOST_START), ("reverted", "no auction", LOST_BID),
                                 ("reverted", "price above max cost", LOST_BID), ("reverted", None, LOST_BID),
                                 ("ok", None, LOST_BID), ("dropped", None, LOST_START)]:
        k._count_revert(Outcome(None, status, reason=reason), lost)
    assert k.state.lost_races == 2
    assert k.state.failures == {"price above max cost": 1, "unknown": 1}


def test_the_wait_for_profit_counts_the_discount_and_the_escalation_reward_together():
    """`_blocks_to_profit` (issue 18): a sliver's gross profit grows by V·Δd on the ramp and by the escalation
    reward's slope (escalation_reward·MM/T from escalation_delay after the start); the wait is the first block
    where the two together cover the deficit, 30 when nothing grows (not a sliver, at d_max)."""
    from types import SimpleNamespace

    from crossmargin.bots.liquidation import Auction, BidQuote, LiquidationAdapter

    T, d0, d1, rate = 180, 5 * 10**16, 3 * 10**17, 3 * 10**17
    liq = LiquidationAdapter(SimpleNamespace(liquidation=SimpleNamespace(abi=[{"name": "escalation"}])))
    liq._escalation_params[1] = (T, 0, rate)
    k = Keeper(None, None, BotOptions(), KeeperConfig())
    k.liq, k._ramp, k._block_time = liq, (d0, d1, T), 2.0
    liq.last_auction[7] = Auction(start=1_000, insolvent=False, active=True, expiry=10**9, version=1)
    mm, value = 10_000 * WAD, 1_000 * WAD                 # a sliver: V < 0.3·MM
    quote = BidQuote(fraction=WAD, payment=0, f_max=WAD, discount=d0, value=value)
    h = row(500, 10_000)
    # per 2 s block: V·Δd = 1,000·0.25·2/180 = 2.78 USD, reward 0.3·10,000·2/180 = 33.3 USD: 36.1 a block
    assert k._blocks_to_profit(h, quote, 100.0, now=1_000) == 3           # 2 blocks: 72.2 < 100
    liq._escalation_params[1] = (T, 0, 0)                                 # no escalation: the discount alone
    assert k._blocks_to_profit(h, quote, 100.0, now=1_000) == 30          # 36 blocks needed: capped at 30
    liq._escalation_params[1] = (T, 0, rate)
    assert k._blocks_to_profit(h, quote, 100.0, now=1_000 + 2 * T) == 30, "d_max, reward at its cap: nothing grows"
    liq.last_auction[7] = Auction(start=1_000, insolvent=False, active=True, expiry=10**9, version=2)
    liq._escalation_params[2] = (T, 10, rate)                             # escalation 10 s (5 blocks) after the start
    # block k >= 5: 2.78·k + 33.3·(k - 5): 86.1 at k = 7, 122 at k = 8
    assert k._blocks_to_profit(h, quote, 100.0, now=1_000) == 8
