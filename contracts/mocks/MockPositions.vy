# pragma version ~=0.4.3
"""
@title MockPositions
@notice Stand-in for the Clearinghouse's `positions_of(account)`: positions are
        set directly per account. Stored as a DynArray of `types.Position` per
        account, as the real contract lists them.
@dev Never deploy to production. Anyone may set anything.
"""

from ..lib import constants
from ..lib import types


# @dev Open positions per account.
_positions: HashMap[uint256, DynArray[types.Position, constants.MAX_POSITIONS]]


@external
def set_positions(_account: uint256, _positions: DynArray[types.Position, constants.MAX_POSITIONS]):
    """
    @notice Replace the positions of `_account`.
    @param _account Account id.
    @param _positions Its positions.
    """
    self._positions[_account] = _positions


@external
@view
def positions_of(_account: uint256) -> DynArray[types.Position, constants.MAX_POSITIONS]:
    """
    @notice Open positions of `_account`.
    @param _account Account id.
    @return The positions.
    """
    return self._positions[_account]


# @dev Crowding aggregate per underlying: (current, smoothed), WAD units (0, 0 unless set).
_crowding: HashMap[uint256, uint256[2]]


@external
def set_crowding(_uid: uint256, _current: uint256, _smoothed: uint256):
    """
    @notice Set the crowding aggregate `crowding(_uid)` returns.
    @param _uid Underlying id.
    @param _current A (WAD units).
    @param _smoothed A_s (WAD units).
    """
    self._crowding[_uid] = [_current, _smoothed]


@external
@view
def crowding(_uid: uint256) -> (uint256, uint256):
    """
    @notice The Clearinghouse's crowding aggregate, as set.
    @param _uid Underlying id.
    @return (current, smoothed), WAD units.
    """
    c: uint256[2] = self._crowding[_uid]
    return c[0], c[1]
