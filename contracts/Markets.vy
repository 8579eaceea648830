# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title crossmargin Markets
@custom:contract-name Markets
@license MIT
@notice The listed instruments and their market state.

        Glossary
        - instrument: id (1, 2, ...) from `list_*`; kind PERP, FUTURE, CALL or
          PUT on one underlying (OracleRouter id). Kind, underlying, strike and
          expiry never change after listing.
        - index: the OracleRouter price of the underlying (WAD USD).
        - mark (perps): time-weighted EMA of fill prices,
          `mark += alpha * (fill - mark)` with `alpha = min(1, dt / ema_tau)`,
          dt = seconds since the last mark update. The first fill sets it; with
          no fills the mark stays where it is (it does not decay towards the
          index). Several fills in one block move it only once (dt = 0 after).
        - premium rate (perps): `clamp((mark - index) / index, +-max_rate)` per
          funding period; 0 before the first fill.
        - cumulative funding index (perps): USD per unit of size, int256;
          `d index = rate * index * dt / period`. A position pays
          `size * (index_now - snapshot)` (longs pay when it rises); the
          Clearinghouse settles it lazily when it touches the position.
        - settlement price (dated): the first OK oracle price read by `settle`
          at or after expiry; recorded once.
        - price band: a fill of a linear instrument must lie within
          `+-price_band * index`; a call premium must not exceed the index and a
          put premium the strike. Checked only while the oracle is OK.

@dev Oracle status: funding accrues and the mark moves only while the index is
     OK. While it is DEGRADED or STALE the index is frozen (last_update is not
     advanced), so the gap accrues at the recovered index and current mark on
     recovery: nobody can erase funding by poking `accrue` during an outage.
     Entry points: checks -> accrue -> math -> storage -> event.
     Views are `@reentrant`: the RiskEngine reads them during a Clearinghouse
     fill. Rounding: the funding increment truncates towards zero; it is the
     same number for every position, so funding stays zero-sum.
"""

from ethereum.ercs import IERC165

from snekmate.auth import access_control

from .interfaces import IMarkets
from .lib import constants
from .lib import errors
from .lib import packing
from .lib import types

implements: IERC165
implements: IMarkets

initializes: access_control

exports: access_control.__interface__


# @dev The OracleRouter view Markets reads.
interface IOracleRouter:
    def price(_uid: uint256) -> (uint256, uint8): view


# @dev Role that records fills (the Clearinghouse).
CLEARING_ROLE: public(constant(bytes32)) = constants.CLEARING_ROLE
# @dev Role that sets funding parameters and the price band inside the bounds.
RISK_MANAGER_ROLE: public(constant(bytes32)) = constants.RISK_MANAGER_ROLE

# @dev Funding period of a newly listed perp (s).
DEFAULT_FUNDING_PERIOD: constant(uint256) = 3600
# @dev Premium rate cap of a newly listed perp, per period (WAD): 0.05 %.
DEFAULT_MAX_RATE: constant(uint256) = 5 * 10**14
# @dev Mark EMA time constant of a newly listed perp (s): ~ a 900 s half-life (900 / ln 2).
DEFAULT_EMA_TAU: constant(uint256) = 1298
# @dev Initial price band (WAD): fills within 10 % of the index.
DEFAULT_PRICE_BAND: constant(uint256) = 10**17
# @dev Seconds in a week (initial bounds).
WEEK: constant(uint256) = 7 * 86400

# @dev Oracle router the index prices come from.
_router: address
# @dev Number of instruments listed; valid ids are 1..instrument_count.
_instrument_count: uint256
# @dev Instrument terms per id, one word (read on every margin check): kind (bits 0-7, 0 = not listed),
#      active (8), underlying (16-47), expiry (48-111), strike (112-239).
_terms: HashMap[uint256, uint256]
# @dev Caps per id: max open interest (bits 0-127), max position (128-255); 2**128 - 1 = no cap.
_caps: HashMap[uint256, uint256]
# @dev Settlement price per dated id (WAD; 0 = not yet).
_settlement: HashMap[uint256, uint256]
# @dev Funding parameters per perp id, one word: period | max_rate << 64 | ema_tau << 128.
_funding_params: HashMap[uint256, uint256]
# @dev Cumulative funding index per perp id (FundingState.cumulative).
_cumulative: HashMap[uint256, int256]
# @dev The rest of the funding state per perp id, one word: last_update | mark_time << 64 | mark << 128.
_funding_clock: HashMap[uint256, uint256]
# @dev Bounds for the risk manager's settings.
_bounds: IMarkets.Bounds
# @dev Largest |fill - index| / index of a linear fill (WAD).
_price_band: uint256


# @dev Emitted when an instrument is listed.
event InstrumentListed:
    id: indexed(uint256)
    kind: uint8
    underlying: indexed(uint256)
    strike: uint256
    expiry: uint256
    max_open_interest: uint256
    max_position: uint256


# @dev Emitted when an instrument's caps change.
event CapsSet:
    id: indexed(uint256)
    max_open_interest: uint256
    max_position: uint256


# @dev Emitted when an instrument is halted or resumed.
event ActiveSet:
    id: indexed(uint256)
    active: bool


# @dev Emitted when the oracle router changes.
event RouterSet:
    router: indexed(address)


# @dev Emitted when the admin changes the bounds.
event BoundsSet:
    bounds: IMarkets.Bounds


# @dev Emitted when a perp's funding parameters change.
event FundingParamsSet:
    id: indexed(uint256)
    period: uint256
    max_rate: uint256
    ema_tau: uint256


# @dev Emitted when the price band changes.
event PriceBandSet:
    band: uint256


# @dev Emitted by `accrue` (fills accrue silently; the Clearinghouse logs the fill).
event FundingAccrued:
    id: indexed(uint256)
    cumulative: int256
    mark: uint256


# @dev Emitted once per dated instrument when its settlement price is recorded.
event InstrumentSettled:
    id: indexed(uint256)
    settlement_price: uint256


@deploy
def __init__(_router: address):
    """
    @notice Deploy Markets reading index prices from `_router`; the deployer
            becomes admin.
    @dev Grant CLEARING_ROLE to the Clearinghouse and RISK_MANAGER_ROLE to the
         risk manager afterwards. Initial bounds: funding period and EMA tau in
         [60 s, 1 week], rate cap <= 1 % per period, price band <= 50 %.
    @param _router OracleRouter.
    """
    assert _router != empty(address), errors.EMPTY_ADDRESS
    access_control.__init__()
    self._router = _router
    self._bounds = IMarkets.Bounds(
        min_period=60,
        max_period=WEEK,
        max_rate=10**16,
        min_tau=60,
        max_tau=WEEK,
        max_price_band=5 * 10**17,
    )
    self._price_band = DEFAULT_PRICE_BAND


# ---------------------------------------------------------------- admin


@external
def list_perp(_uid: uint256, _max_oi: uint256, _max_pos: uint256) -> uint256:
    """
    @notice List a perpetual future on underlying `_uid`.
    @dev Admin only. Funding starts with the defaults (3,600 s period, 0.05 %
         rate cap, 1,298 s EMA tau); the risk manager tunes them with
         `set_funding_params`.
    @param _uid Underlying id known to the router.
    @param _max_oi Open-interest cap (sum of long sizes, WAD units).
    @param _max_pos Largest |size| per account (WAD units).
    @return The new instrument id.
    """
    id: uint256 = self._list(constants.PERP, _uid, 0, 0, _max_oi, _max_pos)
    self._store_funding_params(id, DEFAULT_FUNDING_PERIOD, DEFAULT_MAX_RATE, DEFAULT_EMA_TAU)
    self._funding_clock[id] = block.timestamp
    return id


@external
def list_future(_uid: uint256, _expiry: uint256, _max_oi: uint256, _max_pos: uint256) -> uint256:
    """
    @notice List a dated future on underlying `_uid` expiring at `_expiry`.
    @dev Admin only.
    @param _uid Underlying id known to the router.
    @param _expiry Unix time of expiry (in the future).
    @param _max_oi Open-interest cap (WAD units).
    @param _max_pos Largest |size| per account (WAD units).
    @return The new instrument id.
    """
    assert _expiry > block.timestamp, errors.EXPIRY_PASSED
    return self._list(constants.FUTURE, _uid, 0, _expiry, _max_oi, _max_pos)


@external
def list_option(
    _uid: uint256, _is_call: bool, _strike: uint256, _expiry: uint256, _max_oi: uint256, _max_pos: uint256
) -> uint256:
    """
    @notice List a European cash-settled call or put on underlying `_uid`.
    @dev Admin only.
    @param _uid Underlying id known to the router.
    @param _is_call True for a call, False for a put.
    @param _strike Strike (WAD USD, > 0).
    @param _expiry Unix time of expiry (in the future).
    @param _max_oi Open-interest cap (WAD units).
    @param _max_pos Largest |size| per account (WAD units).
    @return The new instrument id.
    """
    assert _strike > 0, errors.ZERO_STRIKE
    assert _expiry > block.timestamp, errors.EXPIRY_PASSED
    kind: uint8 = constants.PUT
    if _is_call:
        kind = constants.CALL
    return self._list(kind, _uid, _strike, _expiry, _max_oi, _max_pos)


@external
def set_caps(_id: uint256, _max_oi: uint256, _max_pos: uint256):
    """
    @notice Change an instrument's open-interest and position caps.
    @dev Admin only. Lower caps block growth only; existing positions stay.
    @param _id Instrument id.
    @param _max_oi Open-interest cap (WAD units).
    @param _max_pos Largest |size| per account (WAD units).
    """
    self._check_role(access_control.DEFAULT_ADMIN_ROLE)
    self._listed(_id)
    self._caps[_id] = self._pack_caps(_max_oi, _max_pos)
    log CapsSet(id=_id, max_open_interest=_max_oi, max_position=_max_pos)


@external
def set_active(_id: uint256, _active: bool):
    """
    @notice Halt (or resume) trading in an instrument.
    @dev Admin only. A halted instrument accepts no fills, risk-reducing ones
         included; funding keeps accruing and dated settlement still works.
    @param _id Instrument id.
    @param _active False to halt.
    """
    self._check_role(access_control.DEFAULT_ADMIN_ROLE)
    self._listed(_id)
    word: uint256 = self._terms[_id] & ~convert(0xff00, uint256)
    if _active:
        word |= 1 << 8
    self._terms[_id] = word
    log ActiveSet(id=_id, active=_active)


@external
def set_router(_router: address):
    """
    @notice Rewire the oracle router.
    @dev Admin only. The new router must know every listed underlying.
    @param _router OracleRouter.
    """
    self._check_role(access_control.DEFAULT_ADMIN_ROLE)
    assert _router != empty(address), errors.EMPTY_ADDRESS
    self._router = _router
    log RouterSet(router=_router)


@external
def set_bounds(_bounds: IMarkets.Bounds):
    """
    @notice Set the bounds of the risk manager's settings.
    @dev Admin only. Settings already outside the new bounds stay until the
         risk manager changes them.
    @param _bounds (min_period, max_period, max_rate, min_tau, max_tau, max_price_band).
    """
    self._check_role(access_control.DEFAULT_ADMIN_ROLE)
    assert _bounds.min_period > 0 and _bounds.min_period <= _bounds.max_period, errors.BAD_BOUNDS
    assert _bounds.min_tau > 0 and _bounds.min_tau <= _bounds.max_tau, errors.BAD_BOUNDS
    assert _bounds.max_rate <= constants.WAD and _bounds.max_price_band <= constants.WAD, errors.BAD_BOUNDS
    self._bounds = _bounds
    log BoundsSet(bounds=_bounds)


# ---------------------------------------------------------------- risk manager


@external
def set_funding_params(_id: uint256, _period: uint256, _max_rate: uint256, _ema_tau: uint256):
    """
    @notice Set a perp's funding period, rate cap and mark EMA time constant.
    @dev Risk manager only, inside the bounds. Funding is accrued with the old
         parameters first.
    @param _id Perp instrument id.
    @param _period Seconds per funding period.
    @param _max_rate |premium rate| cap per period (WAD).
    @param _ema_tau Mark EMA time constant (s).
    """
    self._check_role(constants.RISK_MANAGER_ROLE)
    assert self._listed(_id).kind == constants.PERP, errors.NOT_PERP
    b: IMarkets.Bounds = self._bounds
    assert _period >= b.min_period and _period <= b.max_period, errors.BAD_FUNDING_PARAMS
    assert _max_rate <= b.max_rate, errors.BAD_FUNDING_PARAMS
    assert _ema_tau >= b.min_tau and _ema_tau <= b.max_tau, errors.BAD_FUNDING_PARAMS
    self._accrue(_id, self._unpack_terms(self._terms[_id]).underlying)
    self._store_funding_params(_id, _period, _max_rate, _ema_tau)
    log FundingParamsSet(id=_id, period=_period, max_rate=_max_rate, ema_tau=_ema_tau)


@external
def set_price_band(_band: uint256):
    """
    @notice Set the price band of linear fills around the index.
    @dev Risk manager only, at most `max_price_band`.
    @param _band Largest |fill - index| / index (WAD).
    """
    self._check_role(constants.RISK_MANAGER_ROLE)
    assert _band <= self._bounds.max_price_band, errors.BAD_PRICE_BAND
    self._price_band = _band
    log PriceBandSet(band=_band)


# ---------------------------------------------------------------- clearing


@external
def record_fill(_id: uint256, _price: uint256) -> (types.Instrument, int256):
    """
    @notice Check that `_id` is tradable at `_price`, accrue its funding and
            fold the fill into its mark.
    @dev Clearing role only (the Clearinghouse, once per fill, before it
         touches positions). Reverts for an unknown, halted or expired
         instrument, a zero price, or a price outside the band (band checked
         only while the oracle is OK; otherwise the mark does not move either).
    @param _id Instrument id.
    @param _price Fill price (WAD USD; the premium for options).
    @return The instrument and its cumulative funding index after accrual (0
            for non-perps).
    """
    self._check_role(constants.CLEARING_ROLE)
    inst: types.Instrument = self._listed(_id)
    assert inst.active, errors.INSTRUMENT_INACTIVE
    assert inst.expiry == 0 or block.timestamp < inst.expiry, errors.INSTRUMENT_EXPIRED
    assert _price > 0, errors.ZERO_PRICE

    index: uint256 = 0
    ok: bool = False
    index, ok = self._index(inst.underlying)
    if ok:
        self._check_band(inst, _price, index)
    if inst.kind != constants.PERP:
        return inst, 0

    state: IMarkets.FundingState = self._accrued(_id, index, ok)
    if ok:
        state.mark = self._ema(state, _price, self._load_funding_params(_id).ema_tau)
        state.mark_time = block.timestamp
    self._store_funding(_id, state)
    return inst, state.cumulative


# ---------------------------------------------------------------- anyone


@external
def accrue(_id: uint256) -> int256:
    """
    @notice Advance a perp's cumulative funding index to now.
    @dev Anyone. A no-op while the oracle is not OK (the gap accrues on recovery).
    @param _id Perp instrument id.
    @return The cumulative funding index (WAD USD per unit).
    """
    inst: types.Instrument = self._listed(_id)
    assert inst.kind == constants.PERP, errors.NOT_PERP
    state: IMarkets.FundingState = self._accrue(_id, inst.underlying)
    log FundingAccrued(id=_id, cumulative=state.cumulative, mark=state.mark)
    return state.cumulative


@external
def settle(_id: uint256) -> uint256:
    """
    @notice Record a dated instrument's settlement price, once, at or after expiry.
    @dev Anyone. Needs an OK oracle price; positions settle to cash when the
         Clearinghouse next touches their accounts.
    @param _id FUTURE, CALL or PUT instrument id.
    @return The settlement price (WAD USD).
    """
    inst: types.Instrument = self._listed(_id)
    assert inst.kind != constants.PERP, errors.NOT_DATED
    assert block.timestamp >= inst.expiry, errors.NOT_EXPIRED
    assert inst.settlement_price == 0, errors.ALREADY_SETTLED
    index: uint256 = 0
    ok: bool = False
    index, ok = self._index(inst.underlying)
    assert ok, errors.ORACLE_NOT_OK
    self._settlement[_id] = index
    log InstrumentSettled(id=_id, settlement_price=index)
    return index


# ---------------------------------------------------------------- views


@external
@view
@reentrant
def router() -> address:
    """
    @notice Oracle router of the index prices.
    @return Its address.
    """
    return self._router


@external
@view
@reentrant
def instrument_count() -> uint256:
    """
    @notice Number of instruments listed (the largest valid id).
    @return The count.
    """
    return self._instrument_count


@external
@view
@reentrant
def instrument(_id: uint256) -> types.Instrument:
    """
    @notice Data of an instrument.
    @param _id Instrument id.
    @return (kind, underlying, strike, expiry, settlement_price,
            max_open_interest, max_position, active); all zero if not listed.
    """
    return self._load(_id)


@external
@view
@reentrant
def margin_terms(_id: uint256) -> types.Instrument:
    """
    @notice What the margin engine needs of an instrument, from as few storage
            slots as possible.
    @dev Caps and `active` are left 0 (not read); the settlement price is
         read only once a dated instrument has expired.
    @param _id Instrument id.
    @return The instrument.
    """
    inst: types.Instrument = self._unpack_terms(self._terms[_id])
    if inst.kind != 0 and inst.kind != constants.PERP and inst.expiry <= block.timestamp:
        inst.settlement_price = self._settlement[_id]
    return inst


@external
@view
@reentrant
def funding_index_at(_id: uint256, _index: uint256, _ok: bool) -> int256:
    """
    @notice `funding_index` at an index price the caller read from this
            contract's router: the margin engine prices a perp's funding from
            the oracle read it makes anyway, not a second one.
    @dev A view: a caller passing another price only misleads itself.
    @param _id Perp id.
    @param _index Index price (WAD).
    @param _ok Whether that price is usable (status OK, > 0).
    @return WAD USD per unit (0 for non-perps).
    """
    return self._accrued(_id, _index, _ok).cumulative


@external
@view
@reentrant
def funding_index(_id: uint256) -> int256:
    """
    @notice Cumulative funding index of a perp including the pending accrual.
    @param _id Instrument id.
    @return WAD USD per unit (0 for non-perps).
    """
    inst: types.Instrument = self._unpack_terms(self._terms[_id])
    if inst.kind != constants.PERP:
        return 0
    index: uint256 = 0
    ok: bool = False
    index, ok = self._index(inst.underlying)
    return self._accrued(_id, index, ok).cumulative


@external
@view
@reentrant
def funding_rate(_id: uint256) -> int256:
    """
    @notice Current premium rate of a perp per funding period.
    @param _id Instrument id.
    @return clamp((mark - index) / index, +-max_rate) (WAD); 0 before the first
            fill, for non-perps and while the oracle is not OK.
    """
    inst: types.Instrument = self._unpack_terms(self._terms[_id])
    if inst.kind != constants.PERP:
        return 0
    index: uint256 = 0
    ok: bool = False
    index, ok = self._index(inst.underlying)
    mark: uint256 = self._funding_clock[_id] >> 128
    if not ok or mark == 0:
        return 0
    premium: int256 = self._premium(mark, index, self._load_funding_params(_id).max_rate)
    return premium * convert(constants.WAD, int256) // convert(index, int256)


@external
@view
@reentrant
def mark_price(_id: uint256) -> uint256:
    """
    @notice Mark price of a perp (EMA of fill prices).
    @param _id Instrument id.
    @return WAD USD (0 before the first fill or for non-perps).
    """
    return self._funding_clock[_id] >> 128


@external
@view
@reentrant
def funding_params(_id: uint256) -> IMarkets.FundingParams:
    """
    @notice Funding parameters of a perp.
    @param _id Instrument id.
    @return (period, max_rate, ema_tau).
    """
    return self._load_funding_params(_id)


@external
@view
@reentrant
def funding_state(_id: uint256) -> IMarkets.FundingState:
    """
    @notice Stored funding state of a perp (without the pending accrual).
    @param _id Instrument id.
    @return (cumulative, last_update, mark, mark_time).
    """
    return self._load_funding(_id)


@external
@view
@reentrant
def price_band() -> uint256:
    """
    @notice Largest |fill - index| / index of a linear fill.
    @return WAD fraction.
    """
    return self._price_band


@external
@view
@reentrant
def bounds() -> IMarkets.Bounds:
    """
    @notice Bounds of the risk manager's settings.
    @return (min_period, max_period, max_rate, min_tau, max_tau, max_price_band).
    """
    return self._bounds


# ---------------------------------------------------------------- internals


@internal
@view
def _check_role(_role: bytes32):
    """
    @dev Revert unless the caller holds `_role`.
    @param _role Role id.
    """
    assert access_control.hasRole[_role][msg.sender], errors.MISSING_ROLE


@internal
@view
def _listed(_id: uint256) -> types.Instrument:
    """
    @dev The instrument `_id`; reverts if it was never listed.
    @param _id Instrument id.
    @return Its data.
    """
    inst: types.Instrument = self._load(_id)
    assert inst.kind != 0, errors.UNKNOWN_INSTRUMENT
    return inst


@internal
@view
def _load(_id: uint256) -> types.Instrument:
    """
    @dev The instrument `_id` unpacked from its three words (all zero if not listed).
    @param _id Instrument id.
    @return Its data.
    """
    inst: types.Instrument = self._unpack_terms(self._terms[_id])
    caps: uint256 = self._caps[_id]
    inst.settlement_price = self._settlement[_id]
    inst.max_open_interest = self._cap(packing._get(caps, 0, 128))
    inst.max_position = self._cap(packing._get(caps, 128, 128))
    return inst


@internal
@pure
def _unpack_terms(_terms: uint256) -> types.Instrument:
    """
    @dev The fields of a terms word (settlement price and caps left 0): the one
         reader of the layout `_list` writes (kind bits 0-7, active 8-15,
         underlying 16-47, expiry 48-111, strike 112-239). Masks inline rather
         than `packing._get` calls: every margin check unpacks one word per position.
    @param _terms The word.
    @return The partial instrument.
    """
    return types.Instrument(
        kind=convert(_terms & packing.U8_MAX, uint8),
        underlying=(_terms >> 16) & packing.U32_MAX,
        strike=(_terms >> 112) & packing.U128_MAX,
        expiry=(_terms >> 48) & packing.U64_MAX,
        settlement_price=0,
        max_open_interest=0,
        max_position=0,
        active=(_terms >> 8) & packing.U8_MAX != 0,
    )


@internal
@pure
def _pack_caps(_max_oi: uint256, _max_pos: uint256) -> uint256:
    """
    @dev Both caps in one word; a cap of 2**128 - 1 or more means no cap.
    @param _max_oi Open-interest cap.
    @param _max_pos Position cap.
    @return The word.
    """
    return min(_max_oi, packing.U128_MAX) | (min(_max_pos, packing.U128_MAX) << 128)


@internal
@pure
def _cap(_field: uint256) -> uint256:
    """
    @dev A stored cap as the views show it (no cap: max uint256).
    @param _field 128-bit field.
    @return The cap.
    """
    if _field == packing.U128_MAX:
        return max_value(uint256)
    return _field


@internal
def _list(
    _kind: uint8, _uid: uint256, _strike: uint256, _expiry: uint256, _max_oi: uint256, _max_pos: uint256
) -> uint256:
    """
    @dev Admin check, underlying check (the router reverts for an unknown id),
         store and log a new instrument.
    @param _kind PERP, FUTURE, CALL or PUT.
    @param _uid Underlying id.
    @param _strike Strike (options) or 0.
    @param _expiry Expiry (dated) or 0.
    @param _max_oi Open-interest cap.
    @param _max_pos Position cap.
    @return The new id.
    """
    self._check_role(access_control.DEFAULT_ADMIN_ROLE)
    assert _uid != 0, errors.ZERO_ID
    self._index(_uid)  # dev: reverts "unknown underlying" if the router has no feed for it
    # dev: ids fit the Clearinghouse's 16-bit position lists
    id: uint256 = packing._fit(self._instrument_count + 1, 16)
    self._instrument_count = id
    self._terms[id] = (
        convert(_kind, uint256)
        | (1 << 8)
        | (packing._fit(_uid, 32) << 16)
        | (packing._fit(_expiry, 64) << 48)
        | (packing._fit(_strike, 128) << 112)
    )
    self._caps[id] = self._pack_caps(_max_oi, _max_pos)
    log InstrumentListed(
        id=id,
        kind=_kind,
        underlying=_uid,
        strike=_strike,
        expiry=_expiry,
        max_open_interest=_max_oi,
        max_position=_max_pos,
    )
    return id


@internal
@view
def _index(_uid: uint256) -> (uint256, bool):
    """
    @dev Index price of an underlying and whether it is usable (status OK, > 0).
    @param _uid Underlying id.
    @return (price WAD, ok).
    """
    price: uint256 = 0
    status: uint8 = 0
    price, status = staticcall IOracleRouter(self._router).price(_uid)
    return price, status == constants.OK and price > 0


@internal
@view
def _check_band(_inst: types.Instrument, _price: uint256, _index: uint256):
    """
    @dev Revert if a fill price is implausible against an OK index: linear
         fills within `price_band` of the index; a call premium at most the
         index, a put premium at most the strike (their values at r = 0).
    @param _inst Instrument.
    @param _price Fill price.
    @param _index OK index price.
    """
    if _inst.kind == constants.CALL:
        assert _price <= _index, errors.PRICE_OUTSIDE_BAND
    elif _inst.kind == constants.PUT:
        assert _price <= _inst.strike, errors.PRICE_OUTSIDE_BAND
    else:
        diff: uint256 = max(_price, _index) - min(_price, _index)
        assert diff * constants.WAD <= self._price_band * _index, errors.PRICE_OUTSIDE_BAND


@internal
def _accrue(_id: uint256, _uid: uint256) -> IMarkets.FundingState:
    """
    @dev Accrue a perp's funding to now and store it.
    @param _id Perp id.
    @param _uid Its underlying.
    @return The stored state.
    """
    index: uint256 = 0
    ok: bool = False
    index, ok = self._index(_uid)
    state: IMarkets.FundingState = self._accrued(_id, index, ok)
    self._store_funding(_id, state)
    return state


@internal
@view
def _accrued(_id: uint256, _index: uint256, _ok: bool) -> IMarkets.FundingState:
    """
    @dev A perp's funding state advanced to now (not written). Frozen while the
         index is not OK; no premium before the first fill.
    @param _id Perp id.
    @param _index Index price.
    @param _ok Whether the index is usable.
    @return The advanced state.
    """
    state: IMarkets.FundingState = self._load_funding(_id)
    if not _ok:
        return state
    dt: uint256 = block.timestamp - state.last_update
    if dt == 0:
        return state
    if state.mark != 0:
        params: IMarkets.FundingParams = self._load_funding_params(_id)
        premium: int256 = self._premium(state.mark, _index, params.max_rate)
        # dev: |premium| <= max_rate * index / WAD, dt <= 2**64 in practice: no overflow
        state.cumulative += premium * convert(dt, int256) // convert(params.period, int256)
    state.last_update = block.timestamp
    return state


@internal
@view
def _load_funding(_id: uint256) -> IMarkets.FundingState:
    """
    @dev A perp's stored funding state unpacked.
    @param _id Perp id.
    @return The state.
    """
    clock: uint256 = self._funding_clock[_id]
    # dev: masks inline (not `packing._get`): every margin check reads each perp's funding state
    return IMarkets.FundingState(
        cumulative=self._cumulative[_id],
        last_update=clock & packing.U64_MAX,
        mark=clock >> 128,
        mark_time=(clock >> 64) & packing.U64_MAX,
    )


@internal
def _store_funding(_id: uint256, _state: IMarkets.FundingState):
    """
    @dev Pack and write a perp's funding state (times < 2**64, mark < 2**128).
    @param _id Perp id.
    @param _state The state.
    """
    self._cumulative[_id] = _state.cumulative
    self._funding_clock[_id] = (
        packing._fit(_state.last_update, 64) | (packing._fit(_state.mark_time, 64) << 64) | (packing._fit(_state.mark, 128) << 128)
    )


@internal
@view
def _load_funding_params(_id: uint256) -> IMarkets.FundingParams:
    """
    @dev A perp's funding parameters unpacked.
    @param _id Perp id.
    @return The parameters.
    """
    word: uint256 = self._funding_params[_id]
    return IMarkets.FundingParams(period=word & packing.U64_MAX, max_rate=(word >> 64) & packing.U64_MAX, ema_tau=word >> 128)


@internal
def _store_funding_params(_id: uint256, _period: uint256, _max_rate: uint256, _ema_tau: uint256):
    """
    @dev Pack and write a perp's funding parameters (each < 2**64).
    @param _id Perp id.
    @param _period Seconds per funding period.
    @param _max_rate Rate cap per period (WAD).
    @param _ema_tau Mark EMA time constant (s).
    """
    self._funding_params[_id] = packing._fit(_period, 64) | (packing._fit(_max_rate, 64) << 64) | (packing._fit(_ema_tau, 64) << 128)


@internal
@pure
def _premium(_mark: uint256, _index: uint256, _max_rate: uint256) -> int256:
    """
    @dev Mark - index, clamped to +-max_rate * index (WAD USD per unit per period).
    @param _mark Mark price.
    @param _index Index price.
    @param _max_rate Rate cap (WAD).
    @return The clamped premium.
    """
    cap: int256 = convert(_index * _max_rate // constants.WAD, int256)
    premium: int256 = convert(_mark, int256) - convert(_index, int256)
    return max(-cap, min(cap, premium))


@internal
@view
def _ema(_state: IMarkets.FundingState, _price: uint256, _tau: uint256) -> uint256:
    """
    @dev Time-weighted EMA step: alpha = min(1, dt / tau); the first fill sets the mark.
    @param _state Funding state before the fill.
    @param _price Fill price.
    @param _tau EMA time constant (s, > 0).
    @return The new mark (rounded down).
    """
    if _state.mark == 0:
        return _price
    dt: uint256 = block.timestamp - _state.mark_time
    if dt >= _tau:
        return _price
    # dev: dt < tau, so tau - dt cannot underflow
    return (_state.mark * unsafe_sub(_tau, dt) + _price * dt) // _tau
