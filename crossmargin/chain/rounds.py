"""The Chainlink round current at a time: the hint `Markets.settle(id, round_hint)` needs.

`round_at(get_round, latest_round_id, time)` walks back from the feed's latest round (`latestRoundData`) to the round
whose `updatedAt <= time` while the next round's `updatedAt > time`, the condition `OracleRouter.price_at` checks on
chain. Round ids are Chainlink proxy ids, `phase << 64 | aggregator round`: inside a phase `updatedAt` grows with the
id, so the search is a binary search there; when the time is before a phase's first round, it moves to the previous
phase (whose last round is found by probing, a proxy does not report it). `get_round(round_id)` returns the round's
`updatedAt`, or None when the round does not exist (a revert, or updatedAt 0).
"""

from __future__ import annotations

from typing import Callable

PHASE_SHIFT = 64
AGGREGATOR_MASK = (1 << PHASE_SHIFT) - 1


class RoundNotFound(LookupError):
    """No round of the feed proves the price at that time (the time is before the feed's history, or after its
    latest round: the next round does not exist yet)."""


def _last_round_of_phase(get_round: Callable[[int], int | None], phase: int) -> int | None:
    """The largest existing aggregator round of `phase` (exponential probe, then binary search), or None."""
    base = phase << PHASE_SHIFT
    if get_round(base | 1) is None:
        return None
    lo, hi = 1, 2
    while hi <= AGGREGATOR_MASK and get_round(base | hi) is not None:
        lo, hi = hi, hi * 2
    while hi - lo > 1:  # lo exists, hi does not
        mid = (lo + hi) // 2
        if get_round(base | mid) is not None:
            lo = mid
        else:
            hi = mid
    return base | lo


def round_at(get_round: Callable[[int], int | None], latest_round_id: int, time: int) -> int:
    """The id of the round current at `time`: updatedAt <= time < the next round's updatedAt (which must exist)."""
    latest = get_round(latest_round_id)
    if latest is None or latest <= time:
        raise RoundNotFound(f"the latest round {latest_round_id} is not after {time}: no next round yet")
    last = latest_round_id
    while True:
        phase = last >> PHASE_SHIFT
        base = phase << PHASE_SHIFT
        first = get_round(base | 1)
        if first is not None and first <= time:
            lo, hi = base | 1, last  # updatedAt(lo) <= time < updatedAt(hi)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                at = get_round(mid)
                if at is not None and at <= time:
                    lo = mid
                else:
                    hi = mid
            return lo
        if phase == 0:
            raise RoundNotFound(f"the feed's history starts after {time}")
        previous = _last_round_of_phase(get_round, phase - 1)
        if previous is None:
            raise RoundNotFound(f"phase {phase - 1} of the feed has no rounds")
        at = get_round(previous)
        if at is not None and at <= time:
            return previous  # the last round of the previous phase; the next one is this phase's first
        last = previous


def contract_round_reader(feed) -> Callable[[int], int | None]:
    """`get_round` for a web3/Ape/revm contract object with `getRoundData` (a revert means no such round)."""

    def get_round(round_id: int) -> int | None:
        if round_id >= 1 << 80:
            return None
        try:
            updated_at = int(feed.getRoundData(round_id)[3])
        except Exception:  # noqa: BLE001 -- any revert or decode failure: the round does not exist
            return None
        return updated_at or None

    return get_round


def feed_round_at(feed, time: int) -> int:
    """The round of `feed` (a contract object) current at `time`, walking back from its `latestRoundData`."""
    return round_at(contract_round_reader(feed), int(feed.latestRoundData()[0]), time)
