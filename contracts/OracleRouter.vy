# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title crossmargin OracleRouter
@custom:contract-name OracleRouter
@license MIT
@notice Spot prices per underlying id from Chainlink `AggregatorV3Interface`
        feeds, normalised to WAD, with a status the margin engine acts on:
        - OK: the primary (and the secondary, if set) are fresh and agree.
        - DEGRADED: a secondary exists and differs from the primary by more
          than `max_deviation_wad` (relative to the primary), or the secondary
          is unusable. Blocks new risk; liquidation needs both prices when
          they disagree, and uses the fresh primary when only the secondary
          is unusable (secondary returned as 0).
        - STALE: the L2 sequencer is down or inside its grace period, or the
          primary is unusable (call failed, answer <= 0, updatedAt == 0,
          answeredInRound < roundId, updatedAt in the future or older than its
          heartbeat). Blocks new risk and withdrawals; liquidation only while
          the sequencer is down or in its grace period (`sequencer_up`):
          otherwise the RiskEngine's liquidation mode penalises the price in
          doubt instead (TECH_SPEC "Liquidation mode").
@dev The views never revert on bad feed data (feeds are read with a static
     `raw_call` that tolerates reverts and short or malformed return data); they
     revert only for an unknown underlying id. Prices are returned even when
     STALE if the answer is positive (0 otherwise): callers must read the status.
"""

from ethereum.ercs import IERC165

from snekmate.auth import access_control

from .interfaces import IAggregatorV3
from .lib import constants
from .lib import errors
from .lib import packing

implements: IERC165

initializes: access_control

exports: access_control.__interface__


# @dev Feed configuration of one underlying.
struct Feed:
    primary: address
    secondary: address
    heartbeat_primary: uint256
    heartbeat_secondary: uint256
    max_deviation_wad: uint256
    decimals_primary: uint8
    decimals_secondary: uint8


# @dev One feed read: WAD price (0 if the answer is not positive) and whether it is usable.
struct Reading:
    price: uint256
    fresh: bool


# @dev Largest feed decimals accepted (answers are scaled to WAD).
MAX_FEED_DECIMALS: constant(uint8) = 36
# @dev Byte length of an ABI-encoded `latestRoundData` answer (five words).
ROUND_DATA_SIZE: constant(uint256) = 160

# @dev Feed configuration per underlying id in three words (primary empty = unknown id), read on every
#      price: [primary | heartbeat_primary << 160 | decimals_primary << 224, the same for the secondary,
#      max_deviation_wad] (the last two only when a secondary is set).
_feeds: HashMap[uint256, uint256[3]]
# @dev L2 sequencer uptime feed (empty = L1, no check).
_sequencer: address
# @dev Seconds after the sequencer comes back up during which prices stay STALE.
_grace_period: uint256


# @dev Emitted when the feeds of an underlying are set.
event FeedSet:
    uid: indexed(uint256)
    primary: address
    secondary: address
    heartbeat_primary: uint256
    heartbeat_secondary: uint256
    max_deviation_wad: uint256


# @dev Emitted when the sequencer uptime feed or the grace period changes.
event SequencerSet:
    feed: address
    grace_period: uint256


@deploy
def __init__():
    """
    @notice Deploy the router; the deployer becomes admin. No sequencer feed
            (L1); the grace period defaults to 3,600 s.
    """
    access_control.__init__()
    self._grace_period = constants.DEFAULT_GRACE_PERIOD


@external
def set_feed(
    _uid: uint256,
    _primary: address,
    _secondary: address,
    _heartbeat_primary: uint256,
    _heartbeat_secondary: uint256,
    _max_deviation_wad: uint256,
):
    """
    @notice Set (or replace) the feeds of underlying `_uid`.
    @dev Admin only. Feed decimals are read once here. Without a secondary the
         secondary heartbeat and the deviation are ignored (stored as 0).
    @param _uid Underlying id (> 0).
    @param _primary Primary AggregatorV3 feed.
    @param _secondary Secondary feed, or the empty address.
    @param _heartbeat_primary Largest age of the primary answer (s).
    @param _heartbeat_secondary Largest age of the secondary answer (s).
    @param _max_deviation_wad Largest |primary - secondary| / primary before DEGRADED (WAD, <= 1).
    """
    assert access_control.hasRole[access_control.DEFAULT_ADMIN_ROLE][msg.sender], errors.MISSING_ROLE
    assert _uid != 0, errors.ZERO_ID
    assert _primary != empty(address), errors.EMPTY_ADDRESS
    assert _heartbeat_primary > 0, errors.BAD_HEARTBEAT
    decimals_primary: uint8 = staticcall IAggregatorV3(_primary).decimals()
    assert decimals_primary <= MAX_FEED_DECIMALS, errors.BAD_FEED_DECIMALS

    feed: Feed = Feed(
        primary=_primary,
        secondary=empty(address),
        heartbeat_primary=_heartbeat_primary,
        heartbeat_secondary=0,
        max_deviation_wad=0,
        decimals_primary=decimals_primary,
        decimals_secondary=0,
    )
    if _secondary != empty(address):
        assert _heartbeat_secondary > 0, errors.BAD_HEARTBEAT
        assert _max_deviation_wad > 0 and _max_deviation_wad <= constants.WAD, errors.BAD_DEVIATION
        decimals_secondary: uint8 = staticcall IAggregatorV3(_secondary).decimals()
        assert decimals_secondary <= MAX_FEED_DECIMALS, errors.BAD_FEED_DECIMALS
        feed.secondary = _secondary
        feed.heartbeat_secondary = _heartbeat_secondary
        feed.max_deviation_wad = _max_deviation_wad
        feed.decimals_secondary = decimals_secondary

    self._feeds[_uid] = [
        self._pack_feed(feed.primary, feed.heartbeat_primary, feed.decimals_primary),
        self._pack_feed(feed.secondary, feed.heartbeat_secondary, feed.decimals_secondary),
        feed.max_deviation_wad,
    ]
    log FeedSet(
        uid=_uid,
        primary=_primary,
        secondary=feed.secondary,
        heartbeat_primary=_heartbeat_primary,
        heartbeat_secondary=feed.heartbeat_secondary,
        max_deviation_wad=feed.max_deviation_wad,
    )


@external
def set_sequencer(_feed: address, _grace_period: uint256):
    """
    @notice Set the L2 sequencer uptime feed and its grace period.
    @dev Admin only. The empty address means L1 (no check). Uptime feed
         answer 0 = up, 1 = down; `startedAt` is when that status began.
    @param _feed Sequencer uptime feed, or the empty address.
    @param _grace_period Seconds after recovery during which prices stay STALE (> 0 with a feed).
    """
    assert access_control.hasRole[access_control.DEFAULT_ADMIN_ROLE][msg.sender], errors.MISSING_ROLE
    if _feed != empty(address):
        assert _grace_period > 0, errors.BAD_GRACE_PERIOD
    self._sequencer = _feed
    self._grace_period = _grace_period
    log SequencerSet(feed=_feed, grace_period=_grace_period)


@external
@view
def price(_uid: uint256) -> (uint256, uint8):
    """
    @notice Primary price of an underlying and its status.
    @param _uid Underlying id.
    @return price_wad Primary price (WAD; 0 if its answer is not positive).
    @return status OK (0), DEGRADED (1) or STALE (2).
    """
    primary: uint256 = 0
    secondary: uint256 = 0
    status: uint8 = 0
    primary, secondary, status = self._prices(_uid)
    return primary, status


@external
@view
def prices(_uid: uint256) -> (uint256, uint256, uint8):
    """
    @notice Both prices of an underlying, for "liquidatable at both prices".
    @param _uid Underlying id.
    @return primary_wad Primary price (WAD; 0 if its answer is not positive).
    @return secondary_wad Secondary price (WAD; 0 if none or unusable).
    @return status OK (0), DEGRADED (1) or STALE (2), as in `price`.
    """
    return self._prices(_uid)


@external
@view
def feed_of(_uid: uint256) -> Feed:
    """
    @notice Feed configuration of an underlying.
    @param _uid Underlying id.
    @return (primary, secondary, heartbeat_primary, heartbeat_secondary,
            max_deviation_wad, decimals_primary, decimals_secondary); all zero if unknown.
    """
    return self._load_feed(_uid)


@external
@view
def sequencer() -> address:
    """
    @notice L2 sequencer uptime feed.
    @return Its address (empty = L1).
    """
    return self._sequencer


@external
@view
def grace_period() -> uint256:
    """
    @notice Seconds after sequencer recovery during which prices stay STALE.
    @return The grace period.
    """
    return self._grace_period


@external
@view
def sequencer_up() -> bool:
    """
    @notice Whether the sequencer is up and past its grace period (always True on L1).
    @return True if prices may be OK.
    """
    return self._sequencer_up()


@internal
@view
def _prices(_uid: uint256) -> (uint256, uint256, uint8):
    """
    @dev Read both feeds and derive the status.
    @param _uid Underlying id.
    @return (primary WAD, secondary WAD or 0, status).
    """
    feed: Feed = self._load_feed(_uid)
    assert feed.primary != empty(address), errors.UNKNOWN_UNDERLYING

    primary: Reading = self._read(feed.primary, feed.decimals_primary, feed.heartbeat_primary)
    if feed.secondary == empty(address):
        if not primary.fresh or not self._sequencer_up():
            return primary.price, 0, constants.STALE
        return primary.price, 0, constants.OK

    secondary: Reading = self._read(feed.secondary, feed.decimals_secondary, feed.heartbeat_secondary)
    if not secondary.fresh:
        secondary.price = 0
    if not primary.fresh or not self._sequencer_up():
        return primary.price, secondary.price, constants.STALE
    if not secondary.fresh:
        return primary.price, 0, constants.DEGRADED
    # dev: primary.price > 0 because a fresh answer is positive
    diff: uint256 = max(primary.price, secondary.price) - min(primary.price, secondary.price)
    if diff * constants.WAD > feed.max_deviation_wad * primary.price:
        return primary.price, secondary.price, constants.DEGRADED
    return primary.price, secondary.price, constants.OK


@internal
@view
def _load_feed(_uid: uint256) -> Feed:
    """
    @dev The feed configuration unpacked; one slot when there is no secondary.
    @param _uid Underlying id.
    @return The configuration (all zero if unknown).
    """
    # dev: `packing._get` inline (an internal call per field: ~120 gas; every margin check reads a feed per underlying)
    word: uint256 = self._feeds[_uid][0]
    feed: Feed = empty(Feed)
    feed.primary = packing._address_of(word)
    feed.heartbeat_primary = (word >> 160) & packing.U64_MAX
    feed.decimals_primary = convert(word >> 224, uint8)
    if feed.primary == empty(address):
        return feed
    word = self._feeds[_uid][1]
    if word == 0:
        return feed
    feed.secondary = packing._address_of(word)
    feed.heartbeat_secondary = (word >> 160) & packing.U64_MAX
    feed.decimals_secondary = convert(word >> 224, uint8)
    feed.max_deviation_wad = self._feeds[_uid][2]
    return feed


@internal
@pure
def _pack_feed(_feed: address, _heartbeat: uint256, _decimals: uint8) -> uint256:
    """
    @dev One feed's word: address | heartbeat << 160 | decimals << 224.
    @param _feed Feed address.
    @param _heartbeat Heartbeat (s, < 2**64).
    @param _decimals Feed decimals.
    @return The word.
    """
    return convert(_feed, uint256) | (packing._fit(_heartbeat, 64) << 160) | (convert(_decimals, uint256) << 224)


@internal
@view
def _read(_feed: address, _decimals: uint8, _heartbeat: uint256) -> Reading:
    """
    @dev Read `latestRoundData` without reverting: a failed call or malformed
         data is simply not fresh.
    @param _feed AggregatorV3 feed.
    @param _decimals Feed decimals.
    @param _heartbeat Largest answer age (s).
    @return The WAD price (0 if answer <= 0) and whether it is usable.
    """
    ok: bool = False
    data: Bytes[ROUND_DATA_SIZE] = b""
    ok, data = raw_call(
        _feed,
        method_id("latestRoundData()"),
        max_outsize=ROUND_DATA_SIZE,
        is_static_call=True,
        revert_on_failure=False,
    )
    if not ok or len(data) != ROUND_DATA_SIZE:
        return Reading(price=0, fresh=False)

    # dev: decoded as full words so out-of-range uint80 values cannot make abi_decode revert
    round_id: uint256 = 0
    answer: int256 = 0
    started_at: uint256 = 0
    updated_at: uint256 = 0
    answered_in_round: uint256 = 0
    round_id, answer, started_at, updated_at, answered_in_round = abi_decode(
        data, (uint256, int256, uint256, uint256, uint256)
    )
    if answer <= 0:
        return Reading(price=0, fresh=False)

    price: uint256 = self._to_wad(convert(answer, uint256), _decimals)
    fresh: bool = (
        price > 0
        and updated_at != 0
        and answered_in_round >= round_id
        and updated_at <= block.timestamp
        and block.timestamp - updated_at <= _heartbeat
    )
    return Reading(price=price, fresh=fresh)


@internal
@view
def _sequencer_up() -> bool:
    """
    @dev True on L1; on L2 the uptime feed must answer 0 (up) and have been up
         for longer than the grace period. A failed read counts as down.
    @return Whether the sequencer is up past its grace period.
    """
    feed: address = self._sequencer
    if feed == empty(address):
        return True
    ok: bool = False
    data: Bytes[ROUND_DATA_SIZE] = b""
    ok, data = raw_call(
        feed,
        method_id("latestRoundData()"),
        max_outsize=ROUND_DATA_SIZE,
        is_static_call=True,
        revert_on_failure=False,
    )
    if not ok or len(data) != ROUND_DATA_SIZE:
        return False
    round_id: uint256 = 0
    answer: int256 = 0
    started_at: uint256 = 0
    updated_at: uint256 = 0
    answered_in_round: uint256 = 0
    round_id, answer, started_at, updated_at, answered_in_round = abi_decode(
        data, (uint256, int256, uint256, uint256, uint256)
    )
    if answer != 0 or started_at == 0 or started_at > block.timestamp:
        return False
    return block.timestamp - started_at > self._grace_period


@internal
@pure
def _to_wad(_answer: uint256, _decimals: uint8) -> uint256:
    """
    @dev Scale a feed answer to WAD (truncates when decimals > 18). An answer
         too large to scale counts as 0, i.e. unusable, instead of reverting.
    @param _answer Positive feed answer.
    @param _decimals Feed decimals (<= 36).
    @return WAD price.
    """
    if _decimals <= 18:
        factor: uint256 = 10 ** convert(18 - _decimals, uint256)
        if _answer > max_value(uint256) // factor:
            return 0
        return _answer * factor
    return _answer // 10 ** convert(_decimals - 18, uint256)


# ---------------------------------------------------------------- settlement rounds (Markets.settle)


# @dev One historical round of a feed: WAD price (0 if not usable) and when it was updated (0 = no such round).
struct Round:
    price: uint256
    updated_at: uint256


@external
@view
def price_at(_uid: uint256, _time: uint256, _round_id: uint256) -> uint256:
    """
    @notice The primary feed's price current at `_time`, proven by the round
            current then: round `_round_id` was updated at or before `_time`
            and the round after it later than `_time`.
    @dev For dated settlement. The round after `_round_id` is `_round_id + 1`
         or, when that has no data, the first round of the next phase
         (Chainlink proxy ids are phase << 64 | aggregator round). Returns the
         hinted round's answer when usable (answer > 0, answeredInRound >=
         roundId) and fresh at `_time` (at most the primary heartbeat old);
         else the next round's (the first answer after `_time`). A round is
         read with `getRoundData` through a static `raw_call`: a revert,
         malformed data or updatedAt 0 is "no such round".
    @param _uid Underlying id.
    @param _time The time to price at (an expiry).
    @param _round_id The primary's round id current at `_time`.
    @return The WAD price.
    """
    feed: Feed = self._load_feed(_uid)
    assert feed.primary != empty(address), errors.UNKNOWN_UNDERLYING
    here: Round = self._round(feed.primary, feed.decimals_primary, _round_id)
    assert here.updated_at != 0 and here.updated_at <= _time, errors.BAD_ROUND_HINT
    after: Round = self._round(feed.primary, feed.decimals_primary, _round_id + 1)
    if after.updated_at == 0:
        after = self._round(feed.primary, feed.decimals_primary, (((_round_id >> 64) + 1) << 64) | 1)
    assert after.updated_at != 0, errors.ROUND_NOT_CLOSED
    assert after.updated_at > _time, errors.BAD_ROUND_HINT
    if here.price != 0 and _time - here.updated_at <= feed.heartbeat_primary:
        return here.price
    assert after.price != 0, errors.NO_USABLE_ROUND
    return after.price


@internal
@view
def _round(_feed: address, _decimals: uint8, _round_id: uint256) -> Round:
    """
    @dev `getRoundData(_round_id)` without reverting (ids >= 2**80 do not exist).
    @param _feed AggregatorV3 feed.
    @param _decimals Feed decimals.
    @param _round_id Round id.
    @return Its WAD price (0 if not usable) and updatedAt (0 if the round does not exist).
    """
    if _round_id >= 2**80:
        return empty(Round)
    ok: bool = False
    data: Bytes[ROUND_DATA_SIZE] = b""
    ok, data = raw_call(
        _feed,
        abi_encode(_round_id, method_id=method_id("getRoundData(uint80)")),
        max_outsize=ROUND_DATA_SIZE,
        is_static_call=True,
        revert_on_failure=False,
    )
    if not ok or len(data) != ROUND_DATA_SIZE:
        return empty(Round)
    round_id: uint256 = 0
    answer: int256 = 0
    started_at: uint256 = 0
    updated_at: uint256 = 0
    answered_in_round: uint256 = 0
    round_id, answer, started_at, updated_at, answered_in_round = abi_decode(
        data, (uint256, int256, uint256, uint256, uint256)
    )
    if answer <= 0 or answered_in_round < round_id:
        return Round(price=0, updated_at=updated_at)
    return Round(price=self._to_wad(convert(answer, uint256), _decimals), updated_at=updated_at)
