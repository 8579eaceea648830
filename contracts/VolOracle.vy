# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title crossmargin VolOracle
@custom:contract-name VolOracle
@license MIT
@notice Annualised implied volatility (WAD, 0.8e18 = 80 %) per underlying id:
        an ATM value and optional per-expiry term points, pushed by the feeder
        role. Each underlying has parameters set by the admin: bounds
        [min_vol, max_vol], a heartbeat, a rate limit per unit of time and a
        staleness factor. A value older than the heartbeat reads as STALE,
        marked up by the staleness factor.
@dev Rate limit (per value: the ATM vol and each term point): a new value
     lies within [A_h / hour_factor, A_h · hour_factor] and
     [A_d / day_factor, A_d · day_factor], where the anchors A_h and A_d are
     the value in effect when the current hour (day) window opened. A window
     opens at the first update at least an hour (a day) after the previous
     one opened, and its anchor is then the value in effect until that
     update. So any number of updates in one block moves the vol by at most
     hour_factor, a genuine move of up to hour_factor can be posted in one
     update at most an hour after the window opened, and across a window
     boundary two windows' moves can follow each other (at most hour_factor²
     within an hour, day_factor² within a day). The first value (and the
     first value of a term point) may be anywhere within [min_vol, max_vol];
     so may the next one after the admin narrowed the bounds so that the
     current value falls outside them. `vol_at` uses the term point of that
     exact expiry if one was set and the expiry has not passed, otherwise the
     ATM value.
     Staleness: a value older than the heartbeat is returned as
     min(max_vol, vol · stale_factor) (rounded up) with status STALE: a
     missed update reads higher, never lower. New risk still needs OK; the
     RiskEngine's liquidation mode accepts it (TECH_SPEC "Liquidation mode").
"""

from ethereum.ercs import IERC165

from snekmate.auth import access_control

from .lib import constants
from .lib import errors
from .lib import fixed_point
from .lib import packing

implements: IERC165

initializes: access_control

exports: access_control.__interface__


# @dev Parameters of one underlying's vol.
struct VolParams:
    min_vol: uint256             # smallest accepted vol (WAD)
    max_vol: uint256             # largest accepted vol (WAD); also caps a stale value's mark-up
    heartbeat: uint256           # largest age before the value reads STALE (s)
    stale_factor: uint256        # a STALE value reads min(max_vol, vol · stale_factor) (WAD, in [1, 2])
    hour_factor: uint256         # largest ratio to the hour anchor (WAD, in (1, 4])
    day_factor: uint256          # largest ratio to the day anchor (WAD, in [hour_factor, 16])


# @dev One stored vol value and when it was set.
struct VolPoint:
    vol: uint256
    updated_at: uint256


# @dev Role that may push vols.
FEEDER_ROLE: public(constant(bytes32)) = constants.FEEDER_ROLE
# @dev Length of the rate limit's short and long windows (s).
HOUR: constant(uint256) = 3600
DAY: constant(uint256) = 86400
# @dev Hard bounds of the rate limit and staleness factors (WAD).
MAX_HOUR_FACTOR: constant(uint256) = 4 * 10**18
MAX_DAY_FACTOR: constant(uint256) = 16 * 10**18
MAX_STALE_FACTOR: constant(uint256) = 2 * 10**18

# @dev Parameters per underlying id in two words of 64-bit fields (max_vol == 0 = unknown id):
#      [min_vol | max_vol << 64 | heartbeat << 128 | stale_factor << 192, hour_factor | day_factor << 64].
#      A vol read needs the first word only.
_params: HashMap[uint256, uint256[2]]
# @dev ATM vol per underlying id, two words of 64-bit fields:
#      [vol | updated_at << 64 | hour anchor << 128 | hour window start << 192, day anchor | day window start << 64].
#      A vol read needs the first word only.
_atm: HashMap[uint256, uint256[2]]
# @dev Term vol per underlying id per expiry timestamp (same packing as `_atm`).
_term: HashMap[uint256, HashMap[uint256, uint256[2]]]


# @dev Emitted when an underlying's parameters are set.
event ParamsSet:
    uid: indexed(uint256)
    min_vol: uint256
    max_vol: uint256
    heartbeat: uint256
    stale_factor: uint256
    hour_factor: uint256
    day_factor: uint256


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
def set_params(
    _uid: uint256,
    _min_vol: uint256,
    _max_vol: uint256,
    _heartbeat: uint256,
    _stale_factor: uint256,
    _hour_factor: uint256,
    _day_factor: uint256,
):
    """
    @notice Set the parameters of underlying `_uid` (also makes the id known).
    @dev Admin only. The stored values and their windows are kept.
    @param _uid Underlying id (> 0).
    @param _min_vol Smallest accepted vol (WAD, > 0).
    @param _max_vol Largest accepted vol (WAD, >= _min_vol, < 2**64).
    @param _heartbeat Largest age before the value reads STALE (s, > 0).
    @param _stale_factor Mark-up of a STALE value (WAD, 1 <= factor <= 2).
    @param _hour_factor Largest ratio to the value when the hour window opened (WAD, 1 < factor <= 4).
    @param _day_factor Largest ratio to the value when the day window opened (WAD, hour_factor <= factor <= 16).
    """
    assert access_control.hasRole[access_control.DEFAULT_ADMIN_ROLE][msg.sender], errors.MISSING_ROLE
    assert _uid != 0, errors.ZERO_ID
    assert _min_vol > 0 and _min_vol <= _max_vol, errors.BAD_VOL_BOUNDS
    assert _heartbeat > 0, errors.BAD_HEARTBEAT
    assert _stale_factor >= constants.WAD and _stale_factor <= MAX_STALE_FACTOR, errors.BAD_VOL_FACTOR
    assert _hour_factor > constants.WAD and _hour_factor <= MAX_HOUR_FACTOR, errors.BAD_VOL_FACTOR
    assert _day_factor >= _hour_factor and _day_factor <= MAX_DAY_FACTOR, errors.BAD_VOL_FACTOR
    self._params[_uid] = [
        packing._fit(_min_vol, 64)
        | (packing._fit(_max_vol, 64) << 64)
        | (packing._fit(_heartbeat, 64) << 128)
        | (_stale_factor << 192),
        _hour_factor | (_day_factor << 64),
    ]
    log ParamsSet(
        uid=_uid,
        min_vol=_min_vol,
        max_vol=_max_vol,
        heartbeat=_heartbeat,
        stale_factor=_stale_factor,
        hour_factor=_hour_factor,
        day_factor=_day_factor,
    )


@external
def set_vol(_uid: uint256, _vol_wad: uint256):
    """
    @notice Push the ATM vol of underlying `_uid`.
    @dev Feeder only. Within [min_vol, max_vol] and the rate limit (header;
         free for the first value).
    @param _uid Underlying id.
    @param _vol_wad Annualised vol (WAD).
    """
    params: VolParams = self._checked_params(_uid, _vol_wad)
    self._atm[_uid] = self._rate_limited(self._atm[_uid], _vol_wad, params)
    log VolSet(uid=_uid, vol=_vol_wad, feeder=msg.sender)


@external
def set_term_vol(_uid: uint256, _expiry: uint256, _vol_wad: uint256):
    """
    @notice Push the vol of underlying `_uid` for options expiring at `_expiry`.
    @dev Feeder only. Same bounds as `set_vol`; the rate limit applies to this
         term point's own windows (free for the first value).
    @param _uid Underlying id.
    @param _expiry Expiry timestamp (> now).
    @param _vol_wad Annualised vol (WAD).
    """
    params: VolParams = self._checked_params(_uid, _vol_wad)
    assert _expiry > block.timestamp, errors.EXPIRY_PASSED
    self._term[_uid][_expiry] = self._rate_limited(self._term[_uid][_expiry], _vol_wad, params)
    log TermVolSet(uid=_uid, expiry=_expiry, vol=_vol_wad, feeder=msg.sender)


@external
@view
def vol(_uid: uint256) -> (uint256, uint8):
    """
    @notice ATM vol of an underlying and its status.
    @param _uid Underlying id.
    @return vol_wad Annualised vol (WAD; 0 if never set; marked up by the staleness factor when STALE).
    @return status OK (0), or STALE (2) if never set or older than the heartbeat.
    """
    word: uint256 = self._params[_uid][0]
    assert word != 0, errors.UNKNOWN_UNDERLYING
    return self._point(self._unpack_point(self._atm[_uid][0]), word)


@external
@view
def vol_at(_uid: uint256, _expiry: uint256) -> (uint256, uint8):
    """
    @notice Vol for options on `_uid` expiring at `_expiry`.
    @dev The term point of that expiry if set and not expired, else the ATM vol.
    @param _uid Underlying id.
    @param _expiry Expiry timestamp.
    @return vol_wad Annualised vol (WAD; marked up by the staleness factor when STALE).
    @return status OK (0) or STALE (2) for the value returned.
    """
    word: uint256 = self._params[_uid][0]
    assert word != 0, errors.UNKNOWN_UNDERLYING
    point: VolPoint = self._unpack_point(self._term[_uid][_expiry][0])
    if point.vol == 0 or _expiry <= block.timestamp:
        point = self._unpack_point(self._atm[_uid][0])
    return self._point(point, word)


@external
@view
def vol_range(_uid: uint256, _expiry: uint256) -> (uint256, uint256):
    """
    @notice The range an update would accept now (bounds and rate limit), for feeders.
    @param _uid Underlying id.
    @param _expiry 0 for the ATM vol, else the term point's expiry.
    @return lo Smallest accepted vol (WAD).
    @return hi Largest accepted vol (WAD).
    """
    params: VolParams = self._load_params(_uid)
    assert params.max_vol > 0, errors.UNKNOWN_UNDERLYING
    words: uint256[2] = self._atm[_uid]
    if _expiry != 0:
        words = self._term[_uid][_expiry]
    current: uint256 = words[0] & packing.U64_MAX
    lo: uint256 = params.min_vol
    hi: uint256 = params.max_vol
    if current < lo or current > hi:
        return lo, hi
    hour: uint256 = self._anchor(words[0] >> 128, current, HOUR)
    day: uint256 = self._anchor(words[1], current, DAY)
    # dev: the check accepts v with v·WAD <= a·f and a·WAD <= v·f: hi rounds down, lo up
    hi = min(hi, min(hour * params.hour_factor // constants.WAD, day * params.day_factor // constants.WAD))
    lo = max(lo, max(fixed_point._mul_div_up(hour, constants.WAD, params.hour_factor),
                     fixed_point._mul_div_up(day, constants.WAD, params.day_factor)))
    return lo, hi


@external
@view
def params_of(_uid: uint256) -> VolParams:
    """
    @notice Parameters of an underlying.
    @param _uid Underlying id.
    @return (min_vol, max_vol, heartbeat, stale_factor, hour_factor, day_factor); all zero if unknown.
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
    return (self._atm[_uid][0] >> 64) & packing.U64_MAX


@internal
@view
def _checked_params(_uid: uint256, _vol_wad: uint256) -> VolParams:
    """
    @dev Feeder role, known id, value within bounds.
    @param _uid Underlying id.
    @param _vol_wad Proposed vol.
    @return The underlying's parameters.
    """
    assert access_control.hasRole[constants.FEEDER_ROLE][msg.sender], errors.MISSING_ROLE
    params: VolParams = self._load_params(_uid)
    assert params.max_vol > 0, errors.UNKNOWN_UNDERLYING
    assert _vol_wad >= params.min_vol and _vol_wad <= params.max_vol, errors.VOL_OUT_OF_BOUNDS
    return params


@internal
@view
def _rate_limited(_words: uint256[2], _next: uint256, _params: VolParams) -> uint256[2]:
    """
    @dev The stored words after setting `_next` now, reverting outside the
         rate limit: windows that are an hour (a day) old reopen with the
         current value as their anchor; `_next` must be within the factors of
         both anchors. Free (both windows reopen at `_next`) when there is no
         current value inside the bounds (first value, or bounds narrowed since).
    @param _words Stored words of the value (zero if never set).
    @param _next Proposed value (within the bounds).
    @param _params The underlying's parameters.
    @return The new words.
    """
    current: uint256 = _words[0] & packing.U64_MAX
    hour: uint256 = _next
    day: uint256 = _next
    hour_start: uint256 = block.timestamp
    day_start: uint256 = block.timestamp
    if current >= _params.min_vol and current <= _params.max_vol:
        # dev: an anchor word is anchor | window start << 64 (`_anchor`); the hour one sits at bit 128
        if block.timestamp < (_words[0] >> 192) + HOUR:
            hour = (_words[0] >> 128) & packing.U64_MAX
            hour_start = _words[0] >> 192
        else:
            hour = current
        if block.timestamp < ((_words[1] >> 64) & packing.U64_MAX) + DAY:
            day = _words[1] & packing.U64_MAX
            day_start = (_words[1] >> 64) & packing.U64_MAX
        else:
            day = current
        # dev: ratios compared as products (no division): a·WAD <= v·f and v·WAD <= a·f
        assert _next * constants.WAD <= hour * _params.hour_factor, errors.VOL_RATE_LIMITED
        assert hour * constants.WAD <= _next * _params.hour_factor, errors.VOL_RATE_LIMITED
        assert _next * constants.WAD <= day * _params.day_factor, errors.VOL_RATE_LIMITED
        assert day * constants.WAD <= _next * _params.day_factor, errors.VOL_RATE_LIMITED
    return [
        _next | (block.timestamp << 64) | (hour << 128) | (hour_start << 192),
        day | (day_start << 64),
    ]


@internal
@view
def _anchor(_word: uint256, _current: uint256, _window: uint256) -> uint256:
    """
    @dev The anchor an update now would be checked against: the stored one
         while its window is open, else the current value.
    @param _word anchor | window start << 64.
    @param _current The current value.
    @param _window Window length (s).
    @return The anchor.
    """
    if block.timestamp < ((_word >> 64) & packing.U64_MAX) + _window:
        return _word & packing.U64_MAX
    return _current


@internal
@view
def _load_params(_uid: uint256) -> VolParams:
    """
    @dev An underlying's parameters unpacked (all zero if unknown).
    @param _uid Underlying id.
    @return The parameters.
    """
    w0: uint256 = self._params[_uid][0]
    w1: uint256 = self._params[_uid][1]
    return VolParams(
        min_vol=w0 & packing.U64_MAX,
        max_vol=(w0 >> 64) & packing.U64_MAX,
        heartbeat=(w0 >> 128) & packing.U64_MAX,
        stale_factor=w0 >> 192,
        hour_factor=w1 & packing.U64_MAX,
        day_factor=w1 >> 64,
    )


@internal
@pure
def _unpack_point(_word: uint256) -> VolPoint:
    """
    @dev A stored vol point (the first word of a value).
    @param _word The word.
    @return The point.
    """
    return VolPoint(vol=_word & packing.U64_MAX, updated_at=(_word >> 64) & packing.U64_MAX)


@internal
@view
def _point(_p: VolPoint, _params_word: uint256) -> (uint256, uint8):
    """
    @dev Value and status of a stored point: OK, or STALE (never set or older
         than the heartbeat) with the value marked up by the staleness factor,
         rounded up, capped at max_vol.
    @param _p Stored vol point.
    @param _params_word First parameter word (max_vol, heartbeat, stale_factor).
    @return (vol, OK or STALE).
    """
    # dev: masks inline (every margin check reads a vol per underlying and per live option)
    heartbeat: uint256 = (_params_word >> 128) & packing.U64_MAX
    if _p.updated_at != 0 and block.timestamp - _p.updated_at <= heartbeat:
        return _p.vol, constants.OK
    marked: uint256 = fixed_point._mul_div_up(_p.vol, _params_word >> 192, constants.WAD)
    return min(marked, (_params_word >> 64) & packing.U64_MAX), constants.STALE
