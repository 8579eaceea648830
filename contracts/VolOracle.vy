# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title crossmargin VolOracle
@custom:contract-name VolOracle
@license MIT
@notice Annualised implied volatility (WAD, 0.8e18 = 80 %) per underlying id:
        an ATM value and optional per-expiry term points, pushed by the feeder
        role. Each underlying has bounds set by the admin: [min_vol, max_vol],
        a largest relative step per update and a heartbeat. A value older than
        the heartbeat reads as STALE.
@dev The first ATM value (and the first value of a term point) may be anywhere
     within [min_vol, max_vol]; later values move at most `max_step_wad`
     relative to the current one. If the admin narrows the bounds so that the
     current value falls outside them, the next update is again free within
     the new bounds. `vol_at` uses the term point of that exact expiry if one
     was set and the expiry has not passed, otherwise the ATM value.
"""

from ethereum.ercs import IERC165

from snekmate.auth import access_control

from .lib import constants
from .lib import errors
from .lib import packing

implements: IERC165

initializes: access_control

exports: access_control.__interface__


# @dev Bounds of one underlying's vol.
struct VolParams:
    min_vol: uint256
    max_vol: uint256
    max_step_wad: uint256
    heartbeat: uint256


# @dev One stored vol value and when it was set.
struct VolPoint:
    vol: uint256
    updated_at: uint256


# @dev Role that may push vols.
FEEDER_ROLE: public(constant(bytes32)) = constants.FEEDER_ROLE

# @dev Bounds per underlying id in one word of 64-bit fields (max_vol == 0 = unknown id):
#      min_vol | max_vol << 64 | max_step_wad << 128 | heartbeat << 192.
_params: HashMap[uint256, uint256]
# @dev ATM vol per underlying id, one word: vol (bits 0-127) | updated_at << 128.
_atm: HashMap[uint256, uint256]
# @dev Term vol per underlying id per expiry timestamp (same packing as `_atm`).
_term: HashMap[uint256, HashMap[uint256, uint256]]


# @dev Emitted when an underlying's bounds are set.
event ParamsSet:
    uid: indexed(uint256)
    min_vol: uint256
    max_vol: uint256
    max_step_wad: uint256
    heartbeat: uint256


# @dev Emitted on every ATM update.
event VolSet:
    uid: indexed(uint256)
    vol: uint256
    feeder: indexed(address)


# @dev Emitted on every term-point update.
event TermVolSet:
    uid: indexed(uint256)
    expiry: indexed(uint256)
    vol: uint256
    feeder: indexed(address)


@deploy
def __init__():
    """
    @notice Deploy the oracle; the deployer becomes admin. Grant FEEDER_ROLE afterwards.
    """
    access_control.__init__()


@external
def set_params(_uid: uint256, _min_vol: uint256, _max_vol: uint256, _max_step_wad: uint256, _heartbeat: uint256):
    """
    @notice Set the bounds of underlying `_uid` (also makes the id known).
    @dev Admin only.
    @param _uid Underlying id (> 0).
    @param _min_vol Smallest accepted vol (WAD, > 0).
    @param _max_vol Largest accepted vol (WAD, >= _min_vol).
    @param _max_step_wad Largest |new - current| / current per update (WAD, 0 < step <= 1).
    @param _heartbeat Largest age before the value reads STALE (s, > 0).
    """
    assert access_control.hasRole[access_control.DEFAULT_ADMIN_ROLE][msg.sender], errors.MISSING_ROLE
    assert _uid != 0, errors.ZERO_ID
    assert _min_vol > 0 and _min_vol <= _max_vol, errors.BAD_VOL_BOUNDS
    assert _max_step_wad > 0 and _max_step_wad <= constants.WAD, errors.BAD_STEP
    assert _heartbeat > 0, errors.BAD_HEARTBEAT
    self._params[_uid] = (
        packing._fit(_min_vol, 64)
        | (packing._fit(_max_vol, 64) << 64)
        | (_max_step_wad << 128)
        | (packing._fit(_heartbeat, 64) << 192)
    )
    log ParamsSet(uid=_uid, min_vol=_min_vol, max_vol=_max_vol, max_step_wad=_max_step_wad, heartbeat=_heartbeat)


@external
def set_vol(_uid: uint256, _vol_wad: uint256):
    """
    @notice Push the ATM vol of underlying `_uid`.
    @dev Feeder only. Within [min_vol, max_vol]; at most `max_step_wad`
         relative to the current value (free for the first value).
    @param _uid Underlying id.
    @param _vol_wad Annualised vol (WAD).
    """
    params: VolParams = self._checked_params(_uid, _vol_wad)
    self._check_step(self._unpack_point(self._atm[_uid]).vol, _vol_wad, params)
    self._atm[_uid] = self._pack_point(_vol_wad)
    log VolSet(uid=_uid, vol=_vol_wad, feeder=msg.sender)


@external
def set_term_vol(_uid: uint256, _expiry: uint256, _vol_wad: uint256):
    """
    @notice Push the vol of underlying `_uid` for options expiring at `_expiry`.
    @dev Feeder only. Same bounds as `set_vol`; the step is relative to this
         term point's current value (free for the first value).
    @param _uid Underlying id.
    @param _expiry Expiry timestamp (> now).
    @param _vol_wad Annualised vol (WAD).
    """
    params: VolParams = self._checked_params(_uid, _vol_wad)
    assert _expiry > block.timestamp, errors.EXPIRY_PASSED
    self._check_step(self._unpack_point(self._term[_uid][_expiry]).vol, _vol_wad, params)
    self._term[_uid][_expiry] = self._pack_point(_vol_wad)
    log TermVolSet(uid=_uid, expiry=_expiry, vol=_vol_wad, feeder=msg.sender)


@external
@view
def vol(_uid: uint256) -> (uint256, uint8):
    """
    @notice ATM vol of an underlying and its status.
    @param _uid Underlying id.
    @return vol_wad Annualised vol (WAD; 0 if never set).
    @return status OK (0), or STALE (2) if never set or older than the heartbeat.
    """
    params: VolParams = self._load_params(_uid)
    assert params.max_vol > 0, errors.UNKNOWN_UNDERLYING
    return self._point(self._unpack_point(self._atm[_uid]), params.heartbeat)


@external
@view
def vol_at(_uid: uint256, _expiry: uint256) -> (uint256, uint8):
    """
    @notice Vol for options on `_uid` expiring at `_expiry`.
    @dev The term point of that expiry if set and not expired, else the ATM vol.
    @param _uid Underlying id.
    @param _expiry Expiry timestamp.
    @return vol_wad Annualised vol (WAD).
    @return status OK (0) or STALE (2) for the value returned.
    """
    params: VolParams = self._load_params(_uid)
    assert params.max_vol > 0, errors.UNKNOWN_UNDERLYING
    point: VolPoint = self._unpack_point(self._term[_uid][_expiry])
    if point.vol == 0 or _expiry <= block.timestamp:
        point = self._unpack_point(self._atm[_uid])
    return self._point(point, params.heartbeat)


@external
@view
def params_of(_uid: uint256) -> VolParams:
    """
    @notice Bounds of an underlying.
    @param _uid Underlying id.
    @return (min_vol, max_vol, max_step_wad, heartbeat); all zero if unknown.
    """
    return self._load_params(_uid)


@external
@view
def last_update(_uid: uint256) -> uint256:
    """
    @notice When the ATM vol was last set.
    @param _uid Underlying id.
    @return Timestamp (0 if never).
    """
    return self._atm[_uid] >> 128


@internal
@view
def _checked_params(_uid: uint256, _vol_wad: uint256) -> VolParams:
    """
    @dev Feeder role, known id, value within bounds.
    @param _uid Underlying id.
    @param _vol_wad Proposed vol.
    @return The underlying's bounds.
    """
    assert access_control.hasRole[constants.FEEDER_ROLE][msg.sender], errors.MISSING_ROLE
    params: VolParams = self._load_params(_uid)
    assert params.max_vol > 0, errors.UNKNOWN_UNDERLYING
    assert _vol_wad >= params.min_vol and _vol_wad <= params.max_vol, errors.VOL_OUT_OF_BOUNDS
    return params


@internal
@pure
def _check_step(_current: uint256, _next: uint256, _params: VolParams):
    """
    @dev |next - current| <= max_step * current, unless there is no current
         value inside the bounds (first value, or bounds narrowed since).
    @param _current Stored value (0 if none).
    @param _next Proposed value.
    @param _params The underlying's bounds.
    """
    if _current < _params.min_vol or _current > _params.max_vol:
        return
    diff: uint256 = max(_current, _next) - min(_current, _next)
    # dev: rounding: compare products, no division
    assert diff * constants.WAD <= _params.max_step_wad * _current, errors.VOL_STEP_TOO_LARGE


@internal
@view
def _load_params(_uid: uint256) -> VolParams:
    """
    @dev An underlying's bounds unpacked (all zero if unknown).
    @param _uid Underlying id.
    @return The bounds.
    """
    word: uint256 = self._params[_uid]
    # dev: masks inline (not `packing._get` calls: every margin check reads an underlying's bounds)
    return VolParams(
        min_vol=word & packing.U64_MAX,
        max_vol=(word >> 64) & packing.U64_MAX,
        max_step_wad=(word >> 128) & packing.U64_MAX,
        heartbeat=word >> 192,
    )


@internal
@view
def _pack_point(_vol_wad: uint256) -> uint256:
    """
    @dev A vol point set now (vol <= max_vol < 2**64).
    @param _vol_wad The vol.
    @return The word.
    """
    return _vol_wad | (block.timestamp << 128)


@internal
@pure
def _unpack_point(_word: uint256) -> VolPoint:
    """
    @dev A stored vol point (vol < 2**128: bounded by max_vol).
    @param _word The word.
    @return The point.
    """
    return VolPoint(vol=_word & packing.U128_MAX, updated_at=_word >> 128)


@internal
@view
def _point(_p: VolPoint, _heartbeat: uint256) -> (uint256, uint8):
    """
    @dev Value and status of a stored point.
    @param _p Stored vol point.
    @param _heartbeat Largest age (s).
    @return (vol, OK or STALE).
    """
    if _p.updated_at == 0 or block.timestamp - _p.updated_at > _heartbeat:
        return _p.vol, constants.STALE
    return _p.vol, constants.OK
