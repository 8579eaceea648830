# pragma version ~=0.4.3
"""
@title MockAggregator
@notice Chainlink AggregatorV3 stand-in for tests: a price feed, or an L2
        sequencer uptime feed (answer 0 = up, 1 = down; `startedAt` = when the
        status began). Anyone may set the data.
@dev Never deploy to production.
"""

from ..interfaces import IAggregatorV3

implements: IAggregatorV3


# @dev Feed decimals.
decimals: public(uint8)
# @dev Latest round id.
_round_id: uint80
# @dev Latest answer.
_answer: int256
# @dev When the latest round started.
_started_at: uint256
# @dev When the latest answer was written.
_updated_at: uint256
# @dev Round in which the latest answer was computed.
_answered_in_round: uint80
# @dev When True, `latestRoundData` reverts (a broken feed).
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
def set_round_data(
    _round_id: uint80, _answer: int256, _started_at: uint256, _updated_at: uint256, _answered_in_round: uint80
):
    """
    @notice Set every field of the latest round (edge cases).
    @param _round_id Round id.
    @param _answer Answer.
    @param _started_at Round start.
    @param _updated_at Answer timestamp.
    @param _answered_in_round Round the answer was computed in.
    """
    self._round_id = _round_id
    self._answer = _answer
    self._started_at = _started_at
    self._updated_at = _updated_at
    self._answered_in_round = _answered_in_round


@external
def set_reverts(_reverts: bool):
    """
    @notice Make `latestRoundData` revert (or stop reverting).
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
    return self._round_id, self._answer, self._started_at, self._updated_at, self._answered_in_round


@internal
def _set_answer(_answer: int256):
    """
    @dev New round with `_answer` at the current time.
    @param _answer Answer.
    """
    round_id: uint80 = self._round_id + 1
    self._round_id = round_id
    self._answer = _answer
    self._started_at = block.timestamp
    self._updated_at = block.timestamp
    self._answered_in_round = round_id
