# pragma version ~=0.4.3
"""
@title BrokenAggregator
@notice A DELIBERATELY BROKEN MockAggregator (the node fuzzer's planted bug,
        tests/integration/test_fuzz_node.py): a round older than a minute is
        reported as updated a minute ago, so a price that went stale never
        reads STALE. Same storage layout as MockAggregator (its code can be put
        at a MockAggregator's address). Otherwise a copy of MockAggregator:
        a price feed, or an L2
        sequencer uptime feed (answer 0 = up, 1 = down; `startedAt` = when the
        status began). Anyone may set the data. Keeps every round, like
        Chainlink: `getRoundData` answers for any round written, and reverts
        "No data present" for one that never was.
@dev Never deploy to production. Round ids count up from 1 in phase 0;
     `start_phase` moves to the next phase as a proxy does when its
     aggregator is replaced (ids phase << 64 | round, the new phase's first
     round is 1).
"""

from ..interfaces import IAggregatorV3

implements: IAggregatorV3


# @dev One round as Chainlink reports it.
struct RoundData:
    answer: int256
    started_at: uint256
    updated_at: uint256
    answered_in_round: uint80


# @dev Feed decimals.
decimals: public(uint8)
# @dev Latest round id.
_round_id: uint80
# @dev Every round written, by id.
_rounds: HashMap[uint80, RoundData]
# @dev When True, `latestRoundData` and `getRoundData` revert (a broken feed).
reverts: public(bool)


@deploy
def __init__(_decimals: uint8, _answer: int256):
    """
    @notice Deploy a feed with round 1 = `_answer` at the current time.
    @param _decimals Feed decimals.
    @param _answer Initial answer.
    """
    self.decimals = _decimals
    self._set_answer(_answer)


@external
def set_answer(_answer: int256):
    """
    @notice Start a new round with `_answer`, started and updated now.
    @param _answer New answer.
    """
    self._set_answer(_answer)


@external
def start_phase(_answer: int256):
    """
    @notice Start the next phase (a new aggregator behind the proxy): its
            first round, id (phase + 1) << 64 | 1, with `_answer` now.
    @param _answer Its answer.
    """
    round_id: uint80 = convert((((convert(self._round_id, uint256) >> 64) + 1) << 64) | 1, uint80)
    self._write(round_id, RoundData(answer=_answer, started_at=block.timestamp, updated_at=block.timestamp,
                                    answered_in_round=round_id))


@external
def set_round_data(
    _round_id: uint80, _answer: int256, _started_at: uint256, _updated_at: uint256, _answered_in_round: uint80
):
    """
    @notice Write round `_round_id` with every field given and make it the latest (edge cases).
    @param _round_id Round id.
    @param _answer Answer.
    @param _started_at Round start.
    @param _updated_at Answer timestamp.
    @param _answered_in_round Round the answer was computed in.
    """
    self._write(_round_id, RoundData(answer=_answer, started_at=_started_at, updated_at=_updated_at,
                                     answered_in_round=_answered_in_round))


@external
def set_reverts(_reverts: bool):
    """
    @notice Make `latestRoundData` and `getRoundData` revert (or stop reverting).
    @param _reverts True to revert.
    """
    self.reverts = _reverts


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    """
    @notice Latest round, Chainlink layout.
    @return (roundId, answer, startedAt, updatedAt, answeredInRound).
    """
    assert not self.reverts  # dev: simulated broken feed
    return self._get(self._round_id)


@external
@view
def getRoundData(_round_id: uint80) -> (uint80, int256, uint256, uint256, uint80):
    """
    @notice Round `_round_id`, Chainlink layout.
    @dev Reverts "No data present" for a round never written (FluxAggregator behaviour).
    @param _round_id Round id.
    @return (roundId, answer, startedAt, updatedAt, answeredInRound).
    """
    assert not self.reverts  # dev: simulated broken feed
    assert self._rounds[_round_id].updated_at != 0 or self._rounds[_round_id].answered_in_round != 0, "No data present"
    return self._get(_round_id)


@external
@view
def latest_round() -> uint80:
    """
    @notice Latest round id.
    @return The id.
    """
    return self._round_id


@internal
@view
def _get(_round_id: uint80) -> (uint80, int256, uint256, uint256, uint80):
    """
    @dev A stored round in Chainlink layout.
    @param _round_id Round id.
    @return (roundId, answer, startedAt, updatedAt, answeredInRound).
    """
    r: RoundData = self._rounds[_round_id]
    # dev: the planted bug: stale rounds are re-stamped as one minute old
    updated_at: uint256 = max(r.updated_at, block.timestamp - 60)
    return _round_id, r.answer, r.started_at, updated_at, r.answered_in_round


@internal
def _write(_round_id: uint80, _data: RoundData):
    """
    @dev Store round `_round_id` and make it the latest.
    @param _round_id Round id.
    @param _data The round.
    """
    self._round_id = _round_id
    self._rounds[_round_id] = _data


@internal
def _set_answer(_answer: int256):
    """
    @dev New round with `_answer` at the current time.
    @param _answer Answer.
    """
    round_id: uint80 = self._round_id + 1
    self._write(round_id, RoundData(answer=_answer, started_at=block.timestamp, updated_at=block.timestamp,
                                    answered_in_round=round_id))
