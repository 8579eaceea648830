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


# @dev This router, for the asset prices of a share id.
interface OracleRouterSelf:
    def prices(_uid: uint256) -> (uint256, uint256, uint8): view


# @dev The part of ERC-4626 read when a share feed is set (convertToAssets is read with a raw_call).
interface IERC4626Min:
    def decimals() -> uint8: view
    def asset() -> address: view

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
    # dev: the settlement unit's price is built in (1, OK)
    assert self._shares[_uid][0] == 0 and _uid != constants.SETTLEMENT_UID, errors.FEED_EXISTS
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
    if feed.primary == empty(address):
        # dev: not a Chainlink id: the settlement unit, a share id or unknown (the plain path pays only this branch)
        if _uid == constants.SETTLEMENT_UID:
            return constants.WAD, 0, constants.OK
        return self._share_prices(_uid)

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


# ---------------------------------------------------------------- ERC-4626 share feeds (issue 16)
#
# A share id prices one share (10**decimals share units, i.e. 1 token) of an ERC-4626 vault in USD:
#     P_share = rate · P_asset,  rate = min(live, cap)  (asset tokens per share token, WAD)
#     live    = convertToAssets(10**share_decimals) / 10**asset_decimals   (static raw_call; revert/0/short = 0)
#     cap     = r0 · (1 + max_rise_per_day · (now - t0) / 1 day)
# (P_asset = 1, OK, for a vault over the settlement asset: asset id SETTLEMENT_UID)
# where (r0, t0) is the last accepted rate and when it was accepted (`update_share_rate`, permissionless; set
# at listing). A rise (a donation, a first-depositor inflation) is credited at most at max_rise_per_day from
# the last accepted rate; a fall is taken at once (live < cap). Status: the asset's feed status, raised to
# DEGRADED when live < r0 · (1 - max_drop) (until a poke accepts the fall) and to STALE with price 0 when
# live = 0 (a reverting or drained vault): the RiskEngine then counts the shares 0 (liquidation mode: 0 in
# equity, the account stays liquidatable). Both prices (primary, secondary) are the asset's times the rate.


# @dev Seconds in a day (the unit of max_rise_per_day).
DAY: constant(uint256) = 86_400
# @dev Largest vault/asset decimals accepted.
MAX_SHARE_DECIMALS: constant(uint8) = 36


# @dev Share feed configuration and guard state, unpacked.
struct ShareFeed:
    vault: address
    asset_uid: uint256
    share_decimals: uint8
    asset_decimals: uint8
    max_rise_per_day: uint256
    max_drop: uint256
    rate: uint256
    updated_at: uint256


# @dev Per share id: [vault | asset_uid << 160 (64 bits) | share_decimals << 224 | asset_decimals << 232,
#      max_rise_per_day | max_drop << 128, last accepted rate (WAD, 192 bits) | its time << 192]; 0 = none.
_shares: HashMap[uint256, uint256[3]]


# @dev Emitted when a share feed is set.
event ShareFeedSet:
    uid: indexed(uint256)
    vault: address
    asset_uid: uint256
    max_rise_per_day: uint256
    max_drop: uint256
    rate: uint256


# @dev Emitted when a share feed's accepted rate moves (`update_share_rate`).
event ShareRateUpdated:
    uid: indexed(uint256)
    rate: uint256
    live: uint256


@external
def set_share_feed(
    _uid: uint256, _vault: address, _asset_uid: uint256, _max_rise_per_day: uint256, _max_drop: uint256, _max_rate: uint256
):
    """
    @notice Price id `_uid` as one share of the ERC-4626 vault `_vault` times the price of its asset's id.
    @dev Admin only. Setting it again replaces the vault and restarts the guard. `_asset_uid` must have Chainlink
         feeds here (no share-of-share) or be SETTLEMENT_UID: a vault over the settlement asset (a yield-bearing
         USDC vault), whose share is worth the guarded rate in USD (the RiskEngine: in no book). The accepted rate starts
         at min(live rate, `_max_rate`); the live rate must be positive. `_max_rate` (the rate seen when the
         listing was queued, plus a margin) stops a donation or first-depositor inflation made just before the
         Timelock executes the listing from becoming the accepted rate. List the share token in the Vault with
         underlying `_uid`.
    @param _uid Share price id (> 0, < SETTLEMENT_UID, no feeds of its own).
    @param _vault ERC-4626 vault (its share token).
    @param _asset_uid Id of the vault asset's price (SETTLEMENT_UID: the settlement asset, 1 USD).
    @param _max_rise_per_day Largest credited rise of the rate per day, relative (WAD, <= 1).
    @param _max_drop Fall below the accepted rate, relative, beyond which the status is DEGRADED (WAD, 0 < x <= 1).
    @param _max_rate Largest initial accepted rate (WAD asset tokens per share token, > 0).
    """
    assert access_control.hasRole[access_control.DEFAULT_ADMIN_ROLE][msg.sender], errors.MISSING_ROLE
    assert _uid != 0, errors.ZERO_ID
    assert _uid < constants.SETTLEMENT_UID and _asset_uid <= constants.SETTLEMENT_UID, errors.ID_TOO_LARGE
    assert self._feeds[_uid][0] == 0, errors.FEED_EXISTS
    # dev: the asset is priced by Chainlink feeds here or is the settlement asset (SETTLEMENT_UID: 1, OK)
    assert (
        _asset_uid == constants.SETTLEMENT_UID or packing._address_of(self._feeds[_asset_uid][0]) != empty(address)
    ), errors.UNKNOWN_UNDERLYING
    assert _vault != empty(address), errors.EMPTY_ADDRESS
    assert _max_rise_per_day <= constants.WAD and _max_drop > 0 and _max_drop <= constants.WAD, errors.BAD_SHARE_GUARD
    share_decimals: uint8 = staticcall IERC4626Min(_vault).decimals()
    asset_decimals: uint8 = staticcall IERC4626Min(staticcall IERC4626Min(_vault).asset()).decimals()
    assert share_decimals <= MAX_SHARE_DECIMALS and asset_decimals <= MAX_SHARE_DECIMALS, errors.BAD_FEED_DECIMALS
    word0: uint256 = (
        convert(_vault, uint256)
        | (_asset_uid << 160)
        | (convert(share_decimals, uint256) << 224)
        | (convert(asset_decimals, uint256) << 232)
    )
    live: uint256 = self._live_rate(_vault, share_decimals, asset_decimals)
    assert live != 0 and _max_rate != 0, errors.BAD_SHARE_RATE
    rate: uint256 = min(live, _max_rate)
    self._shares[_uid] = [word0, _max_rise_per_day | (_max_drop << 128), rate | (block.timestamp << 192)]
    log ShareFeedSet(
        uid=_uid, vault=_vault, asset_uid=_asset_uid, max_rise_per_day=_max_rise_per_day, max_drop=_max_drop, rate=rate
    )


@external
def update_share_rate(_uid: uint256) -> uint256:
    """
    @notice Accept the share rate now: (r0, t0) := (min(live, cap), now). Anyone may call.
    @dev Keeps the rise headroom `cap - r0` small (it grows with the time since the last call) and accepts a
         fall (clearing DEGRADED). A live rate of 0 (reverting vault) changes nothing.
    @param _uid Share price id.
    @return The accepted rate (WAD asset tokens per share token).
    """
    cfg: ShareFeed = self._load_share(_uid)
    live: uint256 = 0
    rate: uint256 = 0
    status: uint8 = 0
    live, rate, status = self._guarded_rate(cfg)
    if live == 0:
        return cfg.rate
    # dev: rate <= cap < 2**192 while cap stays below it; clamp so packing cannot overflow
    rate = min(rate, 2**192 - 1)
    self._shares[_uid][2] = rate | (block.timestamp << 192)
    log ShareRateUpdated(uid=_uid, rate=rate, live=live)
    return rate


@external
@view
def share_feed_of(_uid: uint256) -> ShareFeed:
    """
    @notice Share feed configuration and guard state.
    @param _uid Share price id.
    @return (vault, asset_uid, share_decimals, asset_decimals, max_rise_per_day, max_drop, rate, updated_at);
            all zero if `_uid` is not a share feed.
    """
    return self._unpack_share(_uid)


@external
@view
def share_rate(_uid: uint256) -> (uint256, uint256, uint8):
    """
    @notice The vault's live rate, the rate used for margin and the rate's own status.
    @param _uid Share price id.
    @return live_wad convertToAssets of one share token in asset tokens (WAD; 0 if reverting or 0).
    @return used_wad min(live, cap) (WAD).
    @return status OK (0), DEGRADED (1: fell beyond max_drop) or STALE (2: live = 0).
    """
    return self._guarded_rate(self._load_share(_uid))


@external
@view
def share_asset(_uid: uint256) -> uint256:
    """
    @notice The asset's price id of a share id (the underlying whose book the shares are netted into).
    @param _uid Price id.
    @return The asset's id; 0 if `_uid` is not a share feed.
    """
    return (self._shares[_uid][0] >> 160) & packing.U64_MAX


@external
@view
def share_state(_uid: uint256, _holder: address) -> (uint256, uint8, uint256):
    """
    @notice What the RiskEngine needs of a share collateral: the guarded rate, its status and the vault's
            liquidity for `_holder` (the protocol Vault). Never reverts on vault data.
    @dev Liquidity: `maxRedeem(_holder)` in share tokens (WAD), read with a static raw_call: a revert or
         short data is 0 (a paused vault: the RiskEngine then values the shares at 0 for margin).
    @param _uid Share price id (reverts "unknown underlying" if it is not one).
    @param _holder Whose redeemable shares count (the protocol Vault).
    @return rate min(live, cap) (WAD asset tokens per share token; 0 when the vault's rate is unusable).
    @return status OK, DEGRADED (fell beyond max_drop) or STALE (live = 0).
    @return liquidity Redeemable share tokens now (WAD, at most 2**128).
    """
    cfg: ShareFeed = self._load_share(_uid)
    live: uint256 = 0
    rate: uint256 = 0
    status: uint8 = 0
    live, rate, status = self._guarded_rate(cfg)
    ok: bool = False
    data: Bytes[32] = b""
    ok, data = raw_call(
        cfg.vault,
        abi_encode(_holder, method_id=method_id("maxRedeem(address)")),
        max_outsize=32,
        is_static_call=True,
        revert_on_failure=False,
    )
    liquidity: uint256 = 0
    if ok and len(data) == 32:
        # dev: an absurd answer is capped (the engine multiplies it by a price)
        liquidity = min(abi_decode(data, uint256), 2**128)
        liquidity = min(self._to_wad(liquidity, cfg.share_decimals), 2**128)
    return rate, status, liquidity


@internal
@view
def _share_prices(_uid: uint256) -> (uint256, uint256, uint8):
    """
    @dev Prices of a share id: the asset's prices times the guarded rate, the worse of both statuses.
    @param _uid Share price id (reverts "unknown underlying" if it is not one).
    @return (primary WAD, secondary WAD or 0, status).
    """
    cfg: ShareFeed = self._load_share(_uid)
    primary: uint256 = 0
    secondary: uint256 = 0
    status: uint8 = 0
    # dev: a static self-call (`_prices` cannot recurse); `set_share_feed` checked the asset id has feeds
    primary, secondary, status = staticcall OracleRouterSelf(self).prices(cfg.asset_uid)
    live: uint256 = 0
    rate: uint256 = 0
    rate_status: uint8 = 0
    live, rate, rate_status = self._guarded_rate(cfg)
    if rate != 0 and max(primary, secondary) > max_value(uint256) // rate:
        # dev: an absurd asset answer: unusable rather than a revert (the views never revert on feed data)
        return 0, 0, constants.STALE
    return primary * rate // constants.WAD, secondary * rate // constants.WAD, max(status, rate_status)


@internal
@view
def _guarded_rate(_cfg: ShareFeed) -> (uint256, uint256, uint8):
    """
    @dev (live, min(live, cap), status) of a share feed; rounded down.
    @param _cfg The share feed.
    @return (live WAD, used WAD, status).
    """
    live: uint256 = self._live_rate(_cfg.vault, _cfg.share_decimals, _cfg.asset_decimals)
    if live == 0:
        return 0, 0, constants.STALE
    # dev: t0 <= now (set by this contract); r0 < 2**192 and the factor is bounded, so no overflow
    grown: uint256 = _cfg.rate * _cfg.max_rise_per_day // constants.WAD * (block.timestamp - _cfg.updated_at) // DAY
    cap: uint256 = _cfg.rate + grown
    status: uint8 = constants.OK
    if live * constants.WAD < _cfg.rate * (constants.WAD - _cfg.max_drop):
        status = constants.DEGRADED
    return live, min(live, cap), status


@internal
@view
def _live_rate(_vault: address, _share_decimals: uint8, _asset_decimals: uint8) -> uint256:
    """
    @dev convertToAssets(one share token) in asset tokens (WAD), 0 when the call reverts, returns short data,
         0, or a value too large to scale. Never reverts.
    @param _vault ERC-4626 vault.
    @param _share_decimals Its decimals.
    @param _asset_decimals Its asset's decimals.
    @return The live rate (WAD).
    """
    ok: bool = False
    data: Bytes[32] = b""
    ok, data = raw_call(
        _vault,
        abi_encode(10 ** convert(_share_decimals, uint256), method_id=method_id("convertToAssets(uint256)")),
        max_outsize=32,
        is_static_call=True,
        revert_on_failure=False,
    )
    if not ok or len(data) != 32:
        return 0
    assets: uint256 = abi_decode(data, uint256)
    if assets == 0:
        return 0
    rate: uint256 = self._to_wad(assets, _asset_decimals)
    if rate >= 2**192:
        return 0
    return rate


@internal
@view
def _load_share(_uid: uint256) -> ShareFeed:
    """
    @dev The share feed of `_uid`; reverts for an id that is not one.
    @param _uid Share price id.
    @return The share feed.
    """
    cfg: ShareFeed = self._unpack_share(_uid)
    assert cfg.vault != empty(address), errors.UNKNOWN_UNDERLYING
    return cfg


@internal
@view
def _unpack_share(_uid: uint256) -> ShareFeed:
    """
    @dev The three words of a share feed unpacked (all zero if none).
    @param _uid Share price id.
    @return The share feed.
    """
    w0: uint256 = self._shares[_uid][0]
    if w0 == 0:
        return empty(ShareFeed)
    w1: uint256 = self._shares[_uid][1]
    w2: uint256 = self._shares[_uid][2]
    return ShareFeed(
        vault=packing._address_of(w0),
        asset_uid=(w0 >> 160) & packing.U64_MAX,
        share_decimals=convert((w0 >> 224) & 255, uint8),
        asset_decimals=convert((w0 >> 232) & 255, uint8),
        max_rise_per_day=w1 & (2**128 - 1),
        max_drop=w1 >> 128,
        rate=w2 & (2**192 - 1),
        updated_at=w2 >> 192,
    )
