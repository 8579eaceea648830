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
        - premium (perps): P, a notional-weighted EMA of fill premiums
          f = (fill - index) / index (signed WAD). A fill of notional
          n = size * price moves it `P += (f - P) * n / (n + depth)`: fills
          totalling x << depth of notional move it in proportion to x, so dust
          fills move it by dust, however many. Without fills P decays towards 0
          (mark -> index) as `P * exp(-dt / ema_tau)`. 0 before the first fill.
        - mark (perps): `index * (1 + P)` (a view; 0 before the first fill).
        - premium rate (perps): `clamp(P, +-max_rate)` per funding period.
        - cumulative funding index (perps): USD per unit of size, int256;
          over dt, `d index = clamp(avg P, +-max_rate) * index * dt / period`
          with avg P the exact mean of the decaying premium over dt. A
          position pays `size * (index_now - snapshot)` (longs pay when it
          rises); the Clearinghouse settles it lazily when it touches it.
        - settlement price (dated): the primary feed's round current at expiry
          (`settle(id, round_hint)`, checked on chain by the router's
          `price_at`: the hinted round's updatedAt <= expiry < the next
          round's); if that round was stale at expiry, the next round's. For a
          feed whose history cannot prove expiry, the admin may settle with
          hint 0 at the current OK price once `settlement_grace` has passed
          (TECH_SPEC "Markets"). Recorded once.
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
from .lib import fixed_point
from .lib import packing
from .lib import types

implements: IERC165
implements: IMarkets

initializes: access_control

exports: access_control.__interface__


# @dev The OracleRouter views Markets reads.
interface IOracleRouter:
    def price(_uid: uint256) -> (uint256, uint8): view
    def price_at(_uid: uint256, _time: uint256, _round_id: uint256) -> uint256: view


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
# @dev Mark depth of a newly listed perp (WAD USD of notional): a fill of this notional moves the premium half way.
DEFAULT_MARK_DEPTH: constant(uint256) = 10**6 * 10**18
# @dev Initial settlement grace (s): how long after expiry only a round proof can settle a dated instrument.
DEFAULT_SETTLEMENT_GRACE: constant(uint256) = 86400
# @dev Bounds of the settlement grace (s).
MIN_SETTLEMENT_GRACE: constant(uint256) = 3600
MAX_SETTLEMENT_GRACE: constant(uint256) = 30 * 86400
# @dev Signed WAD.
SWAD: constant(int256) = 10**18
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
# @dev Funding parameters per perp id, one word: period (bits 0-31) | ema_tau (32-63) | max_rate (64-127) | depth (128-255).
_funding_params: HashMap[uint256, uint256]
# @dev Cumulative funding index per perp id (FundingState.cumulative).
_cumulative: HashMap[uint256, int256]
# @dev The rest of the funding state per perp id, one word: last_update (bits 0-63) | mark_time (64-127) |
#      premium (128-255, int128 two's complement).
_funding_clock: HashMap[uint256, uint256]
# @dev Bounds for the risk manager's settings.
_bounds: IMarkets.Bounds
# @dev Largest |fill - index| / index of a linear fill (WAD).
_price_band: uint256
# @dev Seconds after expiry during which a dated instrument settles only with a round proof.
_settlement_grace: uint256


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
    depth: uint256


# @dev Emitted when the settlement grace changes.
event SettlementGraceSet:
    grace: uint256


# @dev Emitted when the price band changes.
event PriceBandSet:
    band: uint256


# @dev Emitted by `accrue` (fills accrue silently; the Clearinghouse logs the fill).
event FundingAccrued:
    id: indexed(uint256)
    cumulative: int256
    premium: int256


# @dev Emitted once per dated instrument when its settlement price is recorded.
event InstrumentSettled:
    id: indexed(uint256)
    settlement_price: uint256
    round_id: uint256


@deploy
def __init__(_router: address):
    """
    @notice Deploy Markets reading index prices from `_router`; the deployer
            becomes admin.
    @dev Grant CLEARING_ROLE to the Clearinghouse and RISK_MANAGER_ROLE to the
         risk manager afterwards. Initial bounds: funding period and EMA tau in
         [60 s, 1 week], rate cap <= 1 % per period, price band <= 50 %, mark
         depth in [1,000, 10**12] USD. Settlement grace 1 day.
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
        min_depth=10**3 * 10**18,
        max_depth=10**12 * 10**18,
    )
    self._price_band = DEFAULT_PRICE_BAND
    self._settlement_grace = DEFAULT_SETTLEMENT_GRACE


# ---------------------------------------------------------------- admin


@external
def list_perp(_uid: uint256, _max_oi: uint256, _max_pos: uint256) -> uint256:
    """
    @notice List a perpetual future on underlying `_uid`.
    @dev Admin only. Funding starts with the defaults (3,600 s period, 0.05 %
         rate cap, 1,298 s EMA tau, 1M USD mark depth); the risk manager tunes
         them with `set_funding_params`.
    @param _uid Underlying id known to the router.
    @param _max_oi Open-interest cap (sum of long sizes, WAD units).
    @param _max_pos Largest |size| per account (WAD units).
    @return The new instrument id.
    """
    id: uint256 = self._list(constants.PERP, _uid, 0, 0, _max_oi, _max_pos)
    self._store_funding_params(id, DEFAULT_FUNDING_PERIOD, DEFAULT_MAX_RATE, DEFAULT_EMA_TAU, DEFAULT_MARK_DEPTH)
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
    @param _bounds (min_period, max_period, max_rate, min_tau, max_tau, max_price_band, min_depth, max_depth).
    """
    self._check_role(access_control.DEFAULT_ADMIN_ROLE)
    assert _bounds.min_period > 0 and _bounds.min_period <= _bounds.max_period, errors.BAD_BOUNDS
    assert _bounds.min_tau > 0 and _bounds.min_tau <= _bounds.max_tau, errors.BAD_BOUNDS
    assert _bounds.min_depth > 0 and _bounds.min_depth <= _bounds.max_depth, errors.BAD_BOUNDS
    assert _bounds.max_rate <= constants.WAD and _bounds.max_price_band <= constants.WAD, errors.BAD_BOUNDS
    self._bounds = _bounds
    log BoundsSet(bounds=_bounds)


# ---------------------------------------------------------------- risk manager


@external
def set_funding_params(_id: uint256, _period: uint256, _max_rate: uint256, _ema_tau: uint256, _depth: uint256):
    """
    @notice Set a perp's funding period, rate cap, premium decay time
            constant and mark depth.
    @dev Risk manager only, inside the bounds. Funding is accrued with the old
         parameters first.
    @param _id Perp instrument id.
    @param _period Seconds per funding period.
    @param _max_rate |premium rate| cap per period (WAD).
    @param _ema_tau Premium decay time constant (s): P * exp(-dt / tau) without fills.
    @param _depth Mark depth (WAD USD): a fill of notional n moves the premium by n / (n + depth) of the way.
    """
    self._check_role(constants.RISK_MANAGER_ROLE)
    assert self._listed(_id).kind == constants.PERP, errors.NOT_PERP
    b: IMarkets.Bounds = self._bounds
    assert _period >= b.min_period and _period <= b.max_period, errors.BAD_FUNDING_PARAMS
    assert _max_rate <= b.max_rate, errors.BAD_FUNDING_PARAMS
    assert _ema_tau >= b.min_tau and _ema_tau <= b.max_tau, errors.BAD_FUNDING_PARAMS
    assert _depth >= b.min_depth and _depth <= b.max_depth, errors.BAD_FUNDING_PARAMS
    self._accrue(_id, self._unpack_terms(self._terms[_id]).underlying)
    self._store_funding_params(_id, _period, _max_rate, _ema_tau, _depth)
    log FundingParamsSet(id=_id, period=_period, max_rate=_max_rate, ema_tau=_ema_tau, depth=_depth)


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


@external
def set_settlement_grace(_grace: uint256):
    """
    @notice Set how long after expiry a dated instrument settles only with a
            round proof (`settle(id, round_hint)`) before the admin's
            current-price fallback opens.
    @dev Admin only, in [1 hour, 30 days].
    @param _grace Seconds.
    """
    self._check_role(access_control.DEFAULT_ADMIN_ROLE)
    assert _grace >= MIN_SETTLEMENT_GRACE and _grace <= MAX_SETTLEMENT_GRACE, errors.BAD_SETTLEMENT_GRACE
    self._settlement_grace = _grace
    log SettlementGraceSet(grace=_grace)


# ---------------------------------------------------------------- clearing


@external
def record_fill(_id: uint256, _price: uint256, _size: uint256) -> (types.Instrument, int256):
    """
    @notice Check that `_id` is tradable at `_price`, accrue its funding and
            fold the fill into its mark premium, weighted by its notional.
    @dev Clearing role only (the Clearinghouse, once per fill, before it
         touches positions). Reverts for an unknown, halted or expired
         instrument, a zero price, or a price outside the band (band checked
         only while the oracle is OK; otherwise the mark does not move either).
    @param _id Instrument id.
    @param _price Fill price (WAD USD; the premium for options).
    @param _size Fill size (WAD units of the underlying).
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

    params: IMarkets.FundingParams = self._load_funding_params(_id)
    state: IMarkets.FundingState = self._load_funding(_id)
    if ok:
        state = self._advance(state, params, index)
        state.premium = self._fold(state.premium, _price, _size, index, params.depth)
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
    log FundingAccrued(id=_id, cumulative=state.cumulative, premium=state.premium)
    return state.cumulative


@external
def settle(_id: uint256, _round_hint: uint256) -> uint256:
    """
    @notice Record a dated instrument's settlement price, once: the price of
            the oracle round current at expiry, `_round_hint`.
    @dev Anyone. The router's `price_at` checks the hint on chain (the primary
         feed's round `_round_hint` was updated at or before expiry and the
         next round after it) and returns its answer, or the next round's if
         that one was stale at expiry. Find the hint by walking back from the
         feed's `latestRoundData`. Fallback (hint 0), for a feed whose round
         history cannot prove the expiry: the admin only, once
         `settlement_grace` has passed since expiry, at the current OK index
         (a permissionless current-price fallback would hand the timing back
         to whoever profits from waiting). Positions settle to cash when the
         Clearinghouse next touches their accounts.
    @param _id FUTURE, CALL or PUT instrument id.
    @param _round_hint The primary feed's round id current at expiry, or 0 for the fallback.
    @return The settlement price (WAD USD).
    """
    inst: types.Instrument = self._listed(_id)
    assert inst.kind != constants.PERP, errors.NOT_DATED
    assert block.timestamp >= inst.expiry, errors.NOT_EXPIRED
    assert inst.settlement_price == 0, errors.ALREADY_SETTLED
    price: uint256 = 0
    if _round_hint != 0:
        # dev: reverts unless the hinted round is the one current at expiry
        price = staticcall IOracleRouter(self._router).price_at(inst.underlying, inst.expiry, _round_hint)
    else:
        # dev: the fallback waits out the grace, during which anyone can prove the price at expiry, and is the
        # admin's: a holder who profits from a later price cannot wait it out and pick the time
        assert access_control.hasRole[access_control.DEFAULT_ADMIN_ROLE][msg.sender], errors.ROUND_HINT_REQUIRED
        assert block.timestamp >= inst.expiry + self._settlement_grace, errors.GRACE_NOT_OVER
        ok: bool = False
        price, ok = self._index(inst.underlying)
        assert ok, errors.ORACLE_NOT_OK
    assert price != 0, errors.ZERO_PRICE
    self._settlement[_id] = price
    log InstrumentSettled(id=_id, settlement_price=price, round_id=_round_hint)
    return price


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
    @return clamp(P, +-max_rate) (WAD) with P the premium decayed to now; 0
            before the first fill, for non-perps and while the oracle is not OK.
    """
    inst: types.Instrument = self._unpack_terms(self._terms[_id])
    if inst.kind != constants.PERP:
        return 0
    index: uint256 = 0
    ok: bool = False
    index, ok = self._index(inst.underlying)
    if not ok:
        return 0
    cap: int256 = convert(self._load_funding_params(_id).max_rate, int256)
    return max(-cap, min(cap, self._accrued(_id, index, ok).premium))


@external
@view
@reentrant
def mark_price(_id: uint256) -> uint256:
    """
    @notice Mark price of a perp: index * (1 + P), P its premium (the
            notional-weighted EMA of fill premiums) decayed to now.
    @param _id Instrument id.
    @return WAD USD (0 before the first fill or for non-perps).
    """
    inst: types.Instrument = self._unpack_terms(self._terms[_id])
    if inst.kind != constants.PERP or (self._funding_clock[_id] >> 64) & packing.U64_MAX == 0:
        return 0
    index: uint256 = 0
    ok: bool = False
    index, ok = self._index(inst.underlying)
    premium: int256 = self._accrued(_id, index, ok).premium
    return convert(convert(index, int256) * (SWAD + premium) // SWAD, uint256)


@external
@view
@reentrant
def funding_params(_id: uint256) -> IMarkets.FundingParams:
    """
    @notice Funding parameters of a perp.
    @param _id Instrument id.
    @return (period, max_rate, ema_tau, depth).
    """
    return self._load_funding_params(_id)


@external
@view
@reentrant
def funding_state(_id: uint256) -> IMarkets.FundingState:
    """
    @notice Stored funding state of a perp (without the pending accrual and decay).
    @param _id Instrument id.
    @return (cumulative, last_update, premium, mark_time).
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
    @return (min_period, max_period, max_rate, min_tau, max_tau, max_price_band, min_depth, max_depth).
    """
    return self._bounds


@external
@view
@reentrant
def settlement_grace() -> uint256:
    """
    @notice Seconds after expiry during which a dated instrument settles only
            with a round proof.
    @return The grace.
    """
    return self._settlement_grace


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
         index is not OK; no premium (no funding) before the first fill.
    @param _id Perp id.
    @param _index Index price.
    @param _ok Whether the index is usable.
    @return The advanced state.
    """
    state: IMarkets.FundingState = self._load_funding(_id)
    if not _ok or state.last_update == block.timestamp:
        return state
    if state.premium == 0:
        state.last_update = block.timestamp
        return state
    return self._advance(state, self._load_funding_params(_id), _index)


@internal
@view
def _advance(
    _state: IMarkets.FundingState, _params: IMarkets.FundingParams, _index: uint256
) -> IMarkets.FundingState:
    """
    @dev Accrue funding from `last_update` to now at an OK index and decay the
         premium: P(s) = P0 * exp(-s / tau), its integral over dt is
         I = P0 * tau * (1 - exp(-dt / tau)) (WAD * s), clamped to
         +-max_rate * dt; d cumulative = I * index / (period * WAD).
    @param _state Stored state.
    @param _params Its funding parameters.
    @param _index OK index price.
    @return The state at now.
    """
    state: IMarkets.FundingState = _state
    dt: uint256 = block.timestamp - state.last_update
    if dt == 0:
        return state
    state.last_update = block.timestamp
    if state.premium == 0:
        return state
    # dev: dt < 2**64 and tau >= 1, so the exponent fits; exp of a very negative exponent is 0
    decay: uint256 = fixed_point._wad_exp(-convert(dt * constants.WAD // _params.ema_tau, int256))
    # dev: |P0| < 2**127, tau < 2**32, WAD - decay <= WAD: no overflow
    integral: int256 = state.premium * convert(_params.ema_tau * (constants.WAD - decay), int256) // SWAD
    cap: int256 = convert(_params.max_rate * dt, int256)
    integral = max(-cap, min(cap, integral))
    state.cumulative += integral * convert(_index, int256) // convert(_params.period * constants.WAD, int256)
    state.premium = state.premium * convert(decay, int256) // SWAD
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
    # dev: masks inline (not `packing._get`): every margin check reads each perp's funding state; the premium is
    # the top 128 bits, sign-extended by the arithmetic shift
    return IMarkets.FundingState(
        cumulative=self._cumulative[_id],
        last_update=clock & packing.U64_MAX,
        premium=convert(convert(clock, bytes32), int256) >> 128,
        mark_time=(clock >> 64) & packing.U64_MAX,
    )


@internal
def _store_funding(_id: uint256, _state: IMarkets.FundingState):
    """
    @dev Pack and write a perp's funding state (times < 2**64, |premium| < 2**127).
    @param _id Perp id.
    @param _state The state.
    """
    self._cumulative[_id] = _state.cumulative
    self._funding_clock[_id] = (
        packing._fit(_state.last_update, 64)
        | (packing._fit(_state.mark_time, 64) << 64)
        | (packing._int_bits(_state.premium, 128) << 128)
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
    return IMarkets.FundingParams(
        period=word & packing.U32_MAX,
        max_rate=(word >> 64) & packing.U64_MAX,
        ema_tau=(word >> 32) & packing.U32_MAX,
        depth=word >> 128,
    )


@internal
def _store_funding_params(_id: uint256, _period: uint256, _max_rate: uint256, _ema_tau: uint256, _depth: uint256):
    """
    @dev Pack and write a perp's funding parameters.
    @param _id Perp id.
    @param _period Seconds per funding period (< 2**32).
    @param _max_rate Rate cap per period (WAD, < 2**64).
    @param _ema_tau Premium decay time constant (s, < 2**32).
    @param _depth Mark depth (WAD USD, < 2**128).
    """
    self._funding_params[_id] = (
        packing._fit(_period, 32)
        | (packing._fit(_ema_tau, 32) << 32)
        | (packing._fit(_max_rate, 64) << 64)
        | (packing._fit(_depth, 128) << 128)
    )


@internal
@pure
def _fold(_premium: int256, _price: uint256, _size: uint256, _index: uint256, _depth: uint256) -> int256:
    """
    @dev Notional-weighted EMA step of the premium: P + (f - P) * n / (n + depth),
         f = (price - index) / index, n = size * price (rounded towards zero).
    @param _premium Premium at now (WAD).
    @param _price Fill price (within the band of the OK index).
    @param _size Fill size (WAD units).
    @param _index OK index price (> 0).
    @param _depth Mark depth (WAD USD, > 0).
    @return The new premium (WAD).
    """
    fill: int256 = (convert(_price, int256) - convert(_index, int256)) * SWAD // convert(_index, int256)
    notional: uint256 = _size * _price // constants.WAD
    # dev: |fill - P| <= 2 WAD (band <= 100 %), notional < 2**200 in practice: no overflow
    return _premium + (fill - _premium) * convert(notional, int256) // convert(notional + _depth, int256)
