# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title crossmargin RiskEngine
@custom:contract-name RiskEngine
@license MIT
@notice Equity, initial and maintenance margin of an account from its net
        portfolio risk: DESIGN.md §4 on chain, the mirror of
        `crossmargin/model/margin.py` (same steps, same names, WAD integers).

        Glossary (model function in brackets)
        - S_u, σ_u    index price of underlying u (OracleRouter; the secondary
                      feed in `margin_with(.., True)`) and its ATM implied vol
                      (VolOracle). Never a price made by the protocol's trades.
        - book        what an account holds on one underlying u: open linear size
                      (net and gross) and linked collateral. One `UnderlyingRisk`.
        - h_k         haircut of collateral k: min(1, base_k + slope_k·max(bal_k, D_k)·P_k /
                      depth_k), with the IM or the MM base; D_k the Vault's deposits of k,
                      smoothed D_s for MM, max(D, D_s) for IM [haircut]. An ERC-4626
                      share token sits in its asset's book at P_k = S_u·rate (the router's
                      guarded rate), depth_k capped at k·liquidity·P_k (its vault's
                      maxRedeem; none: worth 0) [collateral_price, haircut]. A share of a
                      vault over the settlement asset (asset id SETTLEMENT_UID) is unit
                      collateral: P_k = rate (× 1 USD), the same guards, in no book.
        - E           equity: cash + Σ_k bal_k·P_k·(1 - h_k) + Σ_i (value_i - cost_i)
                      - pending perp funding [equity]; linear value size·S_u, option
                      value size·Black-76 (OptionPricer). A dated position with a
                      recorded settlement price counts as size·settlement (options:
                      size·intrinsic) - cost and carries no scenario risk. E_im and
                      E_mm differ only in the haircut base.
        - s_u         shock size clamp(z·σ_u·sqrt(H), shock_min, shock_max) [shock_size].
        - grid        spot moves m = k/4·s_u, k = -4..4, × vol {down, flat, up}
                      [scenario_grid, vol_shocks].
        - D_u         delta notional: Σ size·S_u of open linear positions plus linked
                      collateral at its MM haircut value (a spot delta).
        - ΔV_u        scenario PnL of the book [scenario_pnl]. Linear value is affine
                      in spot, so its PnL is D_u·m in every vol row; options are
                      revalued at each of the 27 points by the OptionPricer, each at
                      its expiry's vol σ_T (VolOracle.vol_at: term point or ATM)
                      scaled by the vol row, with shocks min(cap, sqrt(T_ref/T))
                      times larger for short expiries; expired but unsettled
                      options at their intrinsic value (no vol).
        - term row    per spot move: every expiry's options at the worst of
                      their own three vol rows (parallel moves and twists), plus
                      D_u·m, minus the futures' basis loss |B|·(1 + m) with
                      B = Σ size·S_u·b_T, b_T = basis_vol·σ_u·T [basis_shock];
                      at or below every parallel row (TECH_SPEC "Term row").
        - K_u, WS_u   worst loss max(0, -min) over the term row [worst_loss] and
                      the PnL of the +s_u move at flat vol, no basis [directional].
        - L_u, C_u    linear part clamp(WS_u, -K_u, K_u) and non-linear rest
                      K_u - |L_u| [split].
        - R           max over the regimes ρ, (1-κ)ρ + κJ, (1-κ)ρ + κI of
                      sqrt(max(0, Lᵀ ρ L)) + Σ_u C_u [correlated_requirement].
        - add-ons     basis_rate·(gross - |net|)·S_u of the linear book, short
                      option rate·short option notional, crowding λ_u·N_u·max(A_s, |net|)·S_u / depth_u
                      with N_u = |net delta|·S_u and A_s the Clearinghouse's smoothed
                      open interest of u (IM: max(A, A_s, |net|)) [addons].
        - MM, IM      MM = R + Σ_u add-ons; IM = im_factor·(MM + Σ_u (conc_im - conc_mm)) [requirements].
        - status      worst oracle status (price, ATM vol and each live option's
                      vol) among the underlyings the account touches: OK,
                      DEGRADED or STALE.
        - liquidation mode  `margin_for_liquidation`: a book whose primary or
                      vol is stale is in doubt (status OK): its linked
                      collateral counts 0 in equity, its positions their worst
                      scenario (E -= K_u); an unusable secondary leaves the
                      fresh primary. Penalties lower equity only [liquidation_requirements].

@dev Rounding favours the protocol: every requirement term (s_u, K_u, |L_u|,
     the quadratic form, its square root, add-ons, IM) rounds up, every equity
     term (position and collateral values) rounds down, funding owed rounds up.
     Haircuts round up. Each rounding is at most a few wei, except option
     prices: they carry black76's directed margin ((F + K)·1e-13 + 16 wei per
     unit), long options valued down and short ones up in equity, and every
     option scenario PnL below the exact one (OptionPricer header).
     Gas: one `positions_of`, one `instrument` per position, one
     `funding_index` per perp, two Vault reads, then per underlying one price
     and one vol read; positions are aggregated per underlying in one pass, so
     the scenario and add-on math runs once per underlying, not per position.
     Risk parameters are packed four to a word (64-bit fields, bounded by the
     admin's bounds) so a margin check reads two words of them.
     Options: Black-76 lives in the OptionPricer (the engine with it inlined
     exceeds EIP-170). Per underlying with options, one `vol_at` per live option
     and one `scenario_values` call returning the options' value (long legs
     rounded down, short legs up), their 27 scenario PnLs (rounded down) and
     Greeks; `_scenario_pnl` adds D_u·m to each point. ~130k gas per option
     (26 re-prices + Greeks). Without a pricer (`set_option_pricer`), an account
     holding an option reverts with "options not supported".
     Configuration (deploy order): `set_positions`, `set_option_pricer`, `set_bounds` (once),
     `set_risk_params`, `set_underlying` per underlying, `set_correlation`,
     `set_collateral_risk` per non-settlement collateral. Views revert with
     "risk engine not configured" until the first two risk steps are done.
"""

from ethereum.ercs import IERC165

from snekmate.auth import access_control

from .interfaces import IMarginChecker
from .interfaces import IMarkets
from .interfaces import IRiskEngine
from . import OptionPricer
from .lib import constants
from .lib import errors
from .lib import fixed_point
from .lib import margin_math
from .lib import types

implements: IERC165
implements: IMarginChecker
implements: IRiskEngine

initializes: access_control

exports: access_control.__interface__


# @dev Listing data of a Vault asset (layout of `Vault.asset_info`).
struct AssetInfo:
    decimals: uint8
    underlying_id: uint256
    cap_wad: uint256
    total_wad: uint256
    is_settlement: bool
    listed: bool


interface IVault:
    def cash_of(_id: uint256) -> int256: view
    def collateral_of(_id: uint256) -> (DynArray[address, constants.MAX_ASSETS], DynArray[uint256, constants.MAX_ASSETS]): view
    def asset_info(_token: address) -> AssetInfo: view
    def deposits(_token: address) -> (uint256, uint256): view


interface IPositions:
    def positions_of(_account: uint256) -> DynArray[types.Position, constants.MAX_POSITIONS]: view
    def crowding(_uid: uint256) -> (uint256, uint256): view


interface IOracleRouter:
    def prices(_uid: uint256) -> (uint256, uint256, uint8): view
    def share_asset(_uid: uint256) -> uint256: view
    def share_state(_uid: uint256, _holder: address) -> (uint256, uint8, uint256): view
    def sequencer_up() -> bool: view


# @dev The OptionPricer's `book_risk` with at most MAX_OPTION_POSITIONS legs (the Clearinghouse's cap): the same ABI,
#      a smaller call buffer in every margin check's memory.
interface IPricer:
    def book_risk(_grid: OptionPricer.Grid, _legs: DynArray[OptionPricer.OptionLeg, constants.MAX_OPTION_POSITIONS], _delta_notional: int256, _basis: uint256) -> OptionPricer.BookRisk: view


# @dev CorrelationCheck: the shape and PSD tests of `set_correlation` (outside the engine's EIP-170 budget).
interface ICorrelationCheck:
    def validate(_uids: DynArray[uint256, constants.MAX_UNDERLYINGS], _rho: DynArray[DynArray[int256, constants.MAX_UNDERLYINGS], constants.MAX_UNDERLYINGS]) -> bool: view


interface IVolOracle:
    def vol(_uid: uint256) -> (uint256, uint8): view
    def vol_at(_uid: uint256, _expiry: uint256) -> (uint256, uint8): view


# @dev Inclusive range a parameter must stay inside.
struct Bound:
    lo: uint256
    hi: uint256


# @dev Global risk parameters (names and units of `Params.onchain()["risk"]`; WAD unless `_seconds`).
struct RiskParams:
    z: uint256                   # confidence multiplier
    horizon_seconds: uint256     # liquidation horizon H
    shock_min: uint256           # floor of the spot shock (fraction of spot)
    shock_max: uint256           # cap of the spot shock (< 1)
    vol_up: uint256              # relative vol-up shock at T = T_ref
    vol_down: uint256            # relative vol-down shock at T = T_ref
    vol_shock_cap: uint256       # cap of sqrt(T_ref / T)
    vol_t_ref_seconds: uint256   # T_ref
    im_factor: uint256           # IM = im_factor · MM (>= 1)
    basis_rate: uint256          # add-on per USD of hedged linear notional
    short_option_rate: uint256   # add-on per USD of short option notional
    corr_kappa: uint256          # κ of the stressed correlation regimes
    rate: uint256                # Black-76 discount rate
    basis_vol: uint256           # basis shock b_T = basis_vol·σ_u·T of dated futures (term row)


# @dev Bounds of every settable parameter (`Params.onchain()["risk"]["bounds"]`), set once by the admin.
struct RiskBounds:
    z: Bound
    horizon_seconds: Bound
    shock_min: Bound
    shock_max: Bound
    vol_up: Bound
    vol_down: Bound
    vol_shock_cap: Bound
    vol_t_ref_seconds: Bound
    im_factor: Bound
    basis_rate: Bound
    short_option_rate: Bound
    corr_kappa: Bound
    rate: Bound
    basis_vol: Bound
    haircut_base_mm: Bound
    haircut_base_im: Bound
    haircut_slope: Bound
    concentration: Bound


# @dev Haircut parameters of one collateral token.
struct CollateralRisk:
    underlying: uint256          # linked underlying id (prices it; its scenarios see it as spot delta)
    base_mm: uint256             # MM haircut base (WAD)
    base_im: uint256             # IM haircut base (WAD, >= base_mm)
    slope: uint256               # haircut slope per unit of value / depth (WAD)
    depth: uint256               # depth of the token's market (WAD USD)


# @dev One underlying of an account: inputs, scenario results and add-ons (MM level).
struct UnderlyingRisk:
    underlying: uint256          # underlying id
    spot: uint256                # S_u used (WAD)
    vol: uint256                 # σ_u (WAD)
    status: uint8                # worst of the price and the vol status
    shock: uint256               # s_u (WAD fraction)
    linear_size: int256          # Σ size of open linear positions (WAD units)
    gross_size: uint256          # Σ |size| of open linear positions (WAD units)
    net_delta: int256            # Σ position deltas (WAD units; linear: size)
    collateral: uint256          # Σ linked collateral balances (WAD units)
    collateral_mm: uint256       # their value at MM haircuts (WAD USD): the spot delta in the scenarios
    worst_loss: uint256          # K_u
    directional: int256          # WS_u
    linear: int256               # L_u
    nonlinear: uint256           # C_u
    basis: uint256               # basis add-on
    short_option: uint256        # short option add-on
    concentration: uint256       # concentration add-on
    short_options: uint256       # Σ |size| of short options (WAD units)
    option_value: int256         # Σ size·V of the options (long down, short up; WAD USD)
    gamma: int256                # Σ size·gamma of the options (OptionPricer units)
    vega: int256                 # Σ size·vega
    theta: int256                # Σ size·theta


# @dev `margin_for_liquidation`'s answer: the ABI of the tuple (MarginResult, penalty, haircut, collateral_free),
#      returned from the evaluation's buffer without copying it (a copy of the evaluation cost ~6 kB more memory on
#      every liquidation check).
struct Judged:
    result: types.MarginResult   # equity, requirements, status (penalties taken)
    penalty: uint256             # what the doubt rules took off E_mm (WAD USD; 0 outside liquidation mode)
    haircut: uint256             # Σ bal·P - value_mm over the collateral (WAD USD; 0 outside liquidation mode)
    collateral_free: bool        # the Vault lists no collateral token for the account


# @dev What `_requirements` returns (memory only): a struct, not a tuple, so a view that needs one member reads
#      it from the call's return buffer (a tuple assignment copies the whole return through a second buffer:
#      ~6 kB more memory on every margin check). `penalty` sits before `books`: after the DynArray it cost
#      ~1.2k gas on every margin check.
struct Evaluation:
    judged: Judged               # the margin result and the liquidation-mode penalty
    books: DynArray[UnderlyingRisk, constants.MAX_UNDERLYINGS]   # one per underlying, in first-touch order


# @dev A linked collateral holding of the account being evaluated (memory only).
struct Leg:
    book: uint256                # index of its underlying's book (max_value: none, a vault over the settlement asset)
    balance: uint256             # WAD units
    packed: uint256              # packed CollateralRisk (see `_collateral`)
    depth: uint256               # WAD USD
    rate: uint256                # price factor: WAD for a plain token; an ERC-4626 share's guarded rate (WAD)
    liquidity: uint256           # share tokens the vault would redeem now (WAD; unused for a plain token)
    level_mm: uint256            # max(balance, D_s): the deposits its MM haircut slope is priced on (WAD units)
    level_im: uint256            # max(balance, D, D_s): the same for IM


# @dev Role that may set risk parameters inside the bounds.
RISK_MANAGER_ROLE: public(constant(bytes32)) = constants.RISK_MANAGER_ROLE
# @dev Seconds per year (365 days), as in the model and black76.
YEAR: constant(uint256) = 31_536_000
# @dev WAD squared: the scale of products of two WAD amounts.
WAD2: constant(uint256) = 10**36
# @dev WAD as a signed integer.
SWAD: constant(int256) = 10**18
# @dev Where each RiskParams field is stored (4·word + field; `_risk`): z and horizon in word 3, shock_min/max and
#      im_factor in word 0, vol shocks in word 2, basis_rate, corr_kappa, short_option_rate, basis_vol in word 1.
#      One nibble per field, field i at bits 4i: [12, 13, 1, 2, 8, 9, 10, 11, 3, 4, 6, 5, 14, 7].
RISK_FIELD_MAP: constant(uint256) = 35560695958872540
# @dev Mask of the low 128 bits (packed underlying parameters).
LOW_128: constant(uint256) = 2**128 - 1

# @dev Vault: cash, collateral balances and listing data.
vault: public(immutable(IVault))
# @dev Markets: instruments and perp funding indices.
markets: public(immutable(IMarkets))
# @dev OracleRouter: index prices and their status.
router: public(immutable(IOracleRouter))
# @dev VolOracle: ATM implied vols and their status.
vol_oracle: public(immutable(IVolOracle))
# @dev CorrelationCheck: the shape and PSD checks of a correlation matrix (`set_correlation`).
correlation_check: public(immutable(ICorrelationCheck))

# @dev Contract listing each account's positions (the Clearinghouse); empty until wired.
_positions: address
# @dev OptionPricer: Black-76 over the grid for option books; empty = options revert.
_pricer: address
# @dev Bounds of every settable parameter.
_bounds: RiskBounds
# @dev Whether the bounds were set (they can be set once).
_bounds_set: bool
# @dev Risk parameters, 64-bit fields: [shock_coef, shock_min, shock_max, im_factor],
#      [basis_rate, corr_kappa, short_option_rate, basis_vol], [vol_up, vol_down, vol_shock_cap,
#      vol_t_ref_seconds], [z, horizon_seconds, rate, 0]; shock_coef = z·sqrt(H / YEAR). Word 0 is 0 until set.
#      Words 0 and 1 are read by every margin check, words 2 and 3 only for books with options.
_risk: uint256[4]
# @dev Per underlying id: depth (low 128 bits, WAD USD, > 0 once set) | λ (high 128 bits, WAD).
_underlying: HashMap[uint256, uint256]
# @dev Number of listed underlyings (ids with a non-zero `_underlying` word); `set_correlation` takes them all.
underlying_count: public(uint256)
# @dev Correlation per pair of underlying ids, lower id first (signed WAD; unset pairs 0).
_rho: HashMap[uint256, HashMap[uint256, int256]]
# @dev Per collateral token: 64-bit fields [base_mm, base_im, slope, underlying id]; 0 = not collateral (h = 1).
_collateral: HashMap[address, uint256]
# @dev Per collateral token: depth of its market (WAD USD, low 128 bits) | its share price id << 128 (an ERC-4626
#      share token netted into its asset's book; 0 for a plain token).
_collateral_depth: HashMap[address, uint256]


# @dev Emitted when the positions source (Clearinghouse) is wired.
event PositionsSet:
    positions: indexed(address)


# @dev Emitted when the option pricer is wired.
event OptionPricerSet:
    pricer: indexed(address)


# @dev Emitted once, when the admin stores the parameter bounds.
event BoundsSet:
    admin: indexed(address)


# @dev Emitted when the risk manager sets the global risk parameters.
event RiskParamsSet:
    params: RiskParams


# @dev Emitted when an underlying's depth and concentration factor are set.
event UnderlyingSet:
    uid: indexed(uint256)
    depth: uint256
    concentration: uint256


# @dev Emitted when correlations among a set of underlyings are set.
event CorrelationSet:
    uids: DynArray[uint256, constants.MAX_UNDERLYINGS]


# @dev Emitted when a collateral token's haircut parameters are set.
event CollateralRiskSet:
    token: indexed(address)
    underlying: indexed(uint256)
    base_mm: uint256
    base_im: uint256
    slope: uint256
    depth: uint256


@deploy
def __init__(_vault: address, _markets: address, _router: address, _vol_oracle: address, _correlation_check: address):
    """
    @notice Deploy the engine over its data sources; the deployer becomes admin.
    @dev Then (in this order): `set_positions`, `set_option_pricer`, `set_bounds`, grant
         RISK_MANAGER_ROLE, `set_risk_params`, `set_underlying` per underlying,
         `set_correlation`, `set_collateral_risk` per collateral, and
         `Vault.set_margin_checker(engine)`.
    @param _vault Vault.
    @param _markets Markets.
    @param _router OracleRouter.
    @param _vol_oracle VolOracle.
    @param _correlation_check CorrelationCheck (the shape and PSD tests of `set_correlation`).
    """
    assert _vault != empty(address), errors.EMPTY_ADDRESS
    assert _markets != empty(address), errors.EMPTY_ADDRESS
    assert _router != empty(address), errors.EMPTY_ADDRESS
    assert _vol_oracle != empty(address), errors.EMPTY_ADDRESS
    assert _correlation_check != empty(address), errors.EMPTY_ADDRESS
    access_control.__init__()
    vault = IVault(_vault)
    markets = IMarkets(_markets)
    router = IOracleRouter(_router)
    vol_oracle = IVolOracle(_vol_oracle)
    correlation_check = ICorrelationCheck(_correlation_check)


# ---------------------------------------------------------------- configuration


@external
def set_positions(_positions: address):
    """
    @notice Wire the contract that lists positions (the Clearinghouse).
    @dev Admin only. Separate from the constructor because the Clearinghouse
         is deployed with the engine's address (circular wiring).
    @param _positions Contract with `positions_of(account)`.
    """
    self._only_admin()
    assert _positions != empty(address), errors.EMPTY_ADDRESS
    self._positions = _positions
    log PositionsSet(positions=_positions)


@external
def set_option_pricer(_pricer: address):
    """
    @notice Wire (or upgrade) the OptionPricer that revalues option books.
    @dev Admin only. Until it is set, an account holding an option reverts
         "options not supported".
    @param _pricer OptionPricer.
    """
    self._only_admin()
    assert _pricer != empty(address), errors.EMPTY_ADDRESS
    self._pricer = _pricer
    log OptionPricerSet(pricer=_pricer)


@external
def set_bounds(_bounds: RiskBounds):
    """
    @notice Store the bounds of every settable parameter, once.
    @dev Admin only. Besides lo <= hi < 2**64 each, the bounds must imply the
         model's safety constraints for every value the risk manager could set:
         im_factor >= 1 (MM <= IM), 0 < shock_min <= shock_max < 1 (shocked
         prices stay > 0), vol_down·vol_shock_cap < 1 (shocked vols stay > 0),
         vol_shock_cap >= 1, basis_rate <= shock_min (a hedged linear book never
         needs more than the naked one), κ <= 1 (convex blends keep ρ valid),
         horizon and T_ref > 0, haircut bases <= 1.
    @param _bounds The bounds (units of `RiskParams`; haircuts and λ WAD).
    """
    self._only_admin()
    assert not self._bounds_set, errors.BOUNDS_ALREADY_SET
    b: RiskBounds = _bounds
    for bound: Bound in [
        b.z, b.horizon_seconds, b.shock_min, b.shock_max, b.vol_up, b.vol_down, b.vol_shock_cap,
        b.vol_t_ref_seconds, b.im_factor, b.basis_rate, b.short_option_rate, b.corr_kappa, b.rate, b.basis_vol,
        b.haircut_base_mm, b.haircut_base_im, b.haircut_slope, b.concentration,
    ]:
        assert bound.lo <= bound.hi and bound.hi <= margin_math.FIELD_MAX, errors.BAD_BOUNDS
    assert b.im_factor.lo >= constants.WAD, errors.BAD_BOUNDS
    assert b.shock_min.lo > 0 and b.shock_min.hi <= b.shock_max.lo, errors.BAD_BOUNDS
    assert b.shock_max.hi < constants.WAD, errors.BAD_BOUNDS
    assert b.vol_down.hi * b.vol_shock_cap.hi < WAD2, errors.BAD_BOUNDS
    assert b.vol_shock_cap.lo >= constants.WAD, errors.BAD_BOUNDS
    assert b.basis_rate.hi <= b.shock_min.lo, errors.BAD_BOUNDS
    assert b.corr_kappa.hi <= constants.WAD, errors.BAD_BOUNDS
    assert b.horizon_seconds.lo > 0 and b.vol_t_ref_seconds.lo > 0, errors.BAD_BOUNDS
    assert b.haircut_base_mm.hi <= constants.WAD and b.haircut_base_im.hi <= constants.WAD, errors.BAD_BOUNDS
    self._bounds = b
    self._bounds_set = True
    log BoundsSet(admin=msg.sender)


@external
def set_risk_params(_params: RiskParams):
    """
    @notice Set the global risk parameters.
    @dev RISK_MANAGER_ROLE only; every value inside its stored bound (so the
         safety constraints of `set_bounds` hold). Caches the shock coefficient
         z·sqrt(H / YEAR), rounded up.
    @param _params The parameters (WAD; `_seconds` fields in seconds).
    """
    assert access_control.hasRole[constants.RISK_MANAGER_ROLE][msg.sender], errors.MISSING_ROLE
    assert self._bounds_set, errors.BOUNDS_NOT_SET
    p: RiskParams = _params
    b: RiskBounds = self._bounds
    values: uint256[14] = [
        p.z, p.horizon_seconds, p.shock_min, p.shock_max, p.vol_up, p.vol_down, p.vol_shock_cap,
        p.vol_t_ref_seconds, p.im_factor, p.basis_rate, p.short_option_rate, p.corr_kappa, p.rate, p.basis_vol,
    ]
    limits: Bound[14] = [
        b.z, b.horizon_seconds, b.shock_min, b.shock_max, b.vol_up, b.vol_down, b.vol_shock_cap,
        b.vol_t_ref_seconds, b.im_factor, b.basis_rate, b.short_option_rate, b.corr_kappa, b.rate, b.basis_vol,
    ]
    for i: uint256 in range(14):
        self._check_in(values[i], limits[i])
    # dev: sqrt(H / YEAR) in WAD = sqrt(H·WAD² / YEAR), both steps rounded up
    sqrt_h: uint256 = margin_math._sqrt_up(fixed_point._mul_div_up(p.horizon_seconds, WAD2, YEAR))
    coef: uint256 = fixed_point._mul_div_up(p.z, sqrt_h, constants.WAD)
    self._risk = [
        margin_math._pack(coef, p.shock_min, p.shock_max, p.im_factor),
        margin_math._pack(p.basis_rate, p.corr_kappa, p.short_option_rate, p.basis_vol),
        margin_math._pack(p.vol_up, p.vol_down, p.vol_shock_cap, p.vol_t_ref_seconds),
        margin_math._pack(p.z, p.horizon_seconds, p.rate, 0),
    ]
    log RiskParamsSet(params=p)


@external
def set_underlying(_uid: uint256, _depth: uint256, _concentration: uint256):
    """
    @notice List (or retune) an underlying for margining.
    @dev Admin only. Its price and vol feeds must exist in the OracleRouter and
         the VolOracle before an account touches it (their views revert otherwise).
         At most MAX_UNDERLYINGS are listed (`set_correlation` takes them all).
         A new one is uncorrelated with the others until `set_correlation`
         (ρ extended block-diagonally by 1 stays positive semi-definite).
    @param _uid Underlying id (0 < id < 2**64 - 1: collateral parameters pack it in 64 bits; the largest is
                SETTLEMENT_UID, the settlement unit's price id).
    @param _depth Market depth, the concentration add-on's denominator (WAD USD, 0 < depth < 2**128).
    @param _concentration λ_u (WAD), inside its bound.
    """
    self._only_admin()
    assert _uid != 0, errors.ZERO_ID
    assert _uid < constants.SETTLEMENT_UID, errors.ID_TOO_LARGE
    assert _depth > 0 and _depth <= LOW_128, errors.BAD_DEPTH
    assert self._bounds_set, errors.BOUNDS_NOT_SET
    self._check_in(_concentration, self._bounds.concentration)
    if self._underlying[_uid] == 0:
        assert self.underlying_count < constants.MAX_UNDERLYINGS, errors.TOO_MANY_UNDERLYINGS
        self.underlying_count += 1
    self._underlying[_uid] = _depth | (_concentration << 128)
    log UnderlyingSet(uid=_uid, depth=_depth, concentration=_concentration)


@external
def set_correlation(
    _uids: DynArray[uint256, constants.MAX_UNDERLYINGS],
    _rho: DynArray[DynArray[int256, constants.MAX_UNDERLYINGS], constants.MAX_UNDERLYINGS],
):
    """
    @notice Set the correlation matrix of every listed underlying.
    @dev Admin or RISK_MANAGER_ROLE. `_uids` lists every listed underlying
         (`underlying_count` of them, any order; "partial correlation matrix"
         otherwise: a partial update could make the whole matrix indefinite
         even when its block is not). Checked: square, distinct listed ids,
         unit diagonal, symmetric, |ρ| <= 1 ("bad correlation"), then positive
         semi-definite ("correlation not semi-definite"): with λ its smallest
         eigenvalue, accepted when λ >= -9e-12 and rejected when λ <= -1e-11
         (`CorrelationCheck.validate`, lib/psd.vy; `validate_correlation` requires λ >= -1e-12, so it
         passes). The convexity of the correlated norm, which the liquidation
         bid proof relies on, needs it. The regimes are convex blends with J
         and I, so they stay valid.
    @param _uids Every listed underlying id, in the order of the matrix rows.
    @param _rho Correlation matrix (signed WAD).
    """
    self._only_admin_or_risk_manager()
    n: uint256 = len(_uids)
    assert n == self.underlying_count, errors.PARTIAL_CORRELATION
    # dev: shape ("bad correlation", reverted inside the check) and PSD, before the writes that rely on the shape
    assert staticcall correlation_check.validate(_uids, _rho), errors.NOT_PSD
    for i: uint256 in range(n, bound=constants.MAX_UNDERLYINGS):
        assert self._underlying[_uids[i]] != 0, errors.UNKNOWN_UNDERLYING
        for j: uint256 in range(i + 1, n, bound=constants.MAX_UNDERLYINGS):
            self._rho[min(_uids[i], _uids[j])][max(_uids[i], _uids[j])] = _rho[i][j]
    log CorrelationSet(uids=_uids)


@external
def set_collateral_risk(_token: address, _base_mm: uint256, _base_im: uint256, _slope: uint256, _depth: uint256):
    """
    @notice Set the haircut parameters of a non-settlement collateral token.
    @dev Admin or RISK_MANAGER_ROLE. The token must be listed in the Vault and
         linked to an underlying set here. h = min(1, base + slope·value / depth).
         A listed token without parameters is worth nothing (h = 1). A token the
         Vault links to an ERC-4626 share price id (OracleRouter `share_asset`)
         is netted into its asset's book (TECH_SPEC "ERC-4626 shares netted"); one over the settlement asset
         (asset id SETTLEMENT_UID) is book-less: cash-like, worth rate·(1 - h), no delta.
    @param _token Collateral token.
    @param _base_mm MM haircut base (WAD), inside its bound.
    @param _base_im IM haircut base (WAD), inside its bound and >= `_base_mm`.
    @param _slope Haircut slope (WAD), inside its bound.
    @param _depth Depth of the token's market (WAD USD, > 0).
    """
    self._only_admin_or_risk_manager()
    info: AssetInfo = staticcall vault.asset_info(_token)
    assert info.listed, errors.NOT_LISTED
    assert not info.is_settlement, errors.NOT_COLLATERAL
    # dev: an ERC-4626 share token (the Vault links it to a share price id) is netted into its asset's book
    book: uint256 = staticcall router.share_asset(info.underlying_id)
    share: uint256 = info.underlying_id
    if book == 0:
        book = share
        share = 0
    # dev: a vault over the settlement asset (asset id SETTLEMENT_UID) sits in no book; a plain token linked to that
    # id is refused (it would count 1 USD a token with no oracle: a depeg unseen). No underlying has the id.
    assert (book == constants.SETTLEMENT_UID and share != 0) or self._underlying[book] != 0, errors.UNKNOWN_UNDERLYING
    assert self._bounds_set, errors.BOUNDS_NOT_SET
    b: RiskBounds = self._bounds
    self._check_in(_base_mm, b.haircut_base_mm)
    self._check_in(_base_im, b.haircut_base_im)
    self._check_in(_slope, b.haircut_slope)
    assert _base_im >= _base_mm, errors.BAD_HAIRCUT
    assert _depth > 0 and _depth <= LOW_128, errors.BAD_DEPTH
    self._collateral[_token] = margin_math._pack(_base_mm, _base_im, _slope, book)
    self._collateral_depth[_token] = _depth | (share << 128)
    log CollateralRiskSet(token=_token, underlying=book, base_mm=_base_mm, base_im=_base_im, slope=_slope, depth=_depth)


# ---------------------------------------------------------------- margin views


@external
@view
@reentrant
def margin(_account: uint256) -> types.MarginResult:
    """
    @notice Equity and requirements of an account at the primary index prices.
    @param _account Account id.
    @return (equity_im, equity_mm, im, mm, status): WAD USD; status is the worst
            oracle status (price or vol) among the underlyings the account touches.
    """
    return self._requirements(_account, False, False).judged.result


@external
@view
@reentrant
def margin_with(_account: uint256, _use_secondary: bool) -> types.MarginResult:
    """
    @notice `margin` at the primary or at the secondary prices (DEGRADED checks:
            "liquidatable at both prices").
    @dev With `_use_secondary`, an underlying without a secondary feed uses its
         primary; one whose secondary exists but is unusable reports STALE.
    @param _account Account id.
    @param _use_secondary True for the secondary feeds.
    @return (equity_im, equity_mm, im, mm, status), as in `margin`.
    """
    return self._requirements(_account, _use_secondary, False).judged.result


@external
@view
@reentrant
def margin_for_liquidation(_account: uint256, _use_secondary: bool) -> Judged:
    """
    @notice `margin_with` in liquidation mode: a doubtful input makes the
            account look worse instead of blocking (TECH_SPEC "Liquidation mode").
    @dev Per underlying the account touches: a secondary feed that is
         unusable leaves the fresh primary, status OK; a primary that is stale
         while the sequencer is up (a positive last answer, or a book of
         collateral only) is in doubt: its linked collateral counts 0 in equity
         (still a spot delta in the scenarios) and its positions are valued at
         their worst scenario (E -= K_u); a STALE vol (read marked up by the
         VolOracle's staleness factor) puts the book in doubt the same way.
         A book in doubt reports OK. STALE remains for a sequencer that is
         down or in its grace period, and for a book holding positions whose
         primary gives no positive answer. MM and IM are the normal ones:
         penalties only lower equity, so health never rises.
    @param _account Account id.
    @param _use_secondary True for the secondary feeds.
    @return (result, penalty, haircut, collateral_free): result (equity_im, equity_mm, im, mm,
            status) with the penalties taken; penalty what they took off E_mm (WAD USD): E_mm + penalty
            is the equity at the last prices and vols; haircut Σ_k bal_k·P_k - value_mm,k over the
            collateral at the prices used (WAD USD; a share token the engine counts 0 adds its whole
            bal·P): E_mm + penalty + haircut is the mark value V (Liquidation); collateral_free whether
            the Vault lists no collateral token for the account.
    """
    return self._requirements(_account, _use_secondary, True).judged


@external
@view
@reentrant
def is_above_im(_account: uint256) -> bool:
    """
    @notice Whether the account may take new risk or withdraw: every price and
            vol it depends on is OK and equity_im >= im (IMarginChecker).
    @param _account Account id.
    @return True if above initial margin with usable prices.
    """
    result: types.MarginResult = self._requirements(_account, False, False).judged.result
    return result.status == constants.OK and result.equity_im >= convert(result.im, int256)


@external
@view
@reentrant
def requirement_breakdown(_account: uint256) -> DynArray[UnderlyingRisk, constants.MAX_UNDERLYINGS]:
    """
    @notice Per underlying: inputs, K_u, WS_u, L_u, C_u and add-ons (MM level), for the CLI.
    @param _account Account id.
    @return One `UnderlyingRisk` per underlying the account touches, in first-touch order.
    """
    return self._requirements(_account, False, False).books


# ---------------------------------------------------------------- parameter views


@external
@view
@reentrant
def option_pricer() -> address:
    """
    @notice OptionPricer that revalues option books.
    @return Its address (empty until wired: options revert "options not supported").
    """
    return self._pricer


@external
@view
@reentrant
def bounds() -> RiskBounds:
    """
    @notice Bounds of every settable parameter.
    @return The bounds (all zero until set).
    """
    return self._bounds


@external
@view
@reentrant
def risk_params() -> uint256[14]:
    """
    @notice Global risk parameters, in `RiskParams` order (the same ABI as the struct: 14 static words).
    @dev Unpacked from the four stored words by a field map (bytes: the struct literal cost ~300 more).
    @return z, horizon_seconds, shock_min, shock_max, vol_up, vol_down, vol_shock_cap, vol_t_ref_seconds,
            im_factor, basis_rate, short_option_rate, corr_kappa, rate, basis_vol (all zero until set).
    """
    w: uint256[4] = self._risk
    out: uint256[14] = empty(uint256[14])
    for i: uint256 in range(14):
        # dev: nibble i of RISK_FIELD_MAP = 4·word + field of the i-th parameter
        at: uint256 = (RISK_FIELD_MAP >> (i << 2)) & 15
        out[i] = (w[at >> 2] >> ((at & 3) << 6)) & margin_math.FIELD_MAX
    return out


@external
@view
@reentrant
def underlying_params(_uid: uint256) -> (uint256, uint256):
    """
    @notice Margin parameters of an underlying.
    @param _uid Underlying id.
    @return depth Market depth (WAD USD; 0 = not set).
    @return concentration λ_u (WAD).
    """
    packed: uint256 = self._underlying[_uid]
    return packed & LOW_128, packed >> 128


@external
@view
@reentrant
def correlation(_u: uint256, _v: uint256) -> int256:
    """
    @notice Correlation of two underlyings (base regime).
    @param _u Underlying id.
    @param _v Underlying id.
    @return Signed WAD (1e18 when `_u == _v`).
    """
    if _u == _v:
        return SWAD
    return self._rho[min(_u, _v)][max(_u, _v)]


@external
@view
@reentrant
def collateral_risk(_token: address) -> CollateralRisk:
    """
    @notice Haircut parameters of a collateral token.
    @dev `underlying` is the id that prices one token: its book's underlying, or for an ERC-4626 share token
         its share price id (asset price × guarded rate; the shares sit in the asset's book). `depth` is the
         configured one (the margin views cap a share token's by the vault's liquidity).
    @param _token Token address.
    @return (underlying, base_mm, base_im, slope, depth); all zero if not collateral.
    """
    packed: uint256 = self._collateral[_token]
    word: uint256 = self._collateral_depth[_token]
    price_id: uint256 = word >> 128
    if price_id == 0:
        price_id = margin_math._field(packed, 3)
    return CollateralRisk(
        underlying=price_id,
        base_mm=margin_math._field(packed, 0),
        base_im=margin_math._field(packed, 1),
        slope=margin_math._field(packed, 2),
        depth=word & LOW_128,
    )


# ---------------------------------------------------------------- the margin model


@internal
@view
def _requirements(
    _account: uint256, _use_secondary: bool, _liquidation: bool
) -> Evaluation:
    """
    @dev [requirements] Equity, MM and IM of an account, and its books.
         Pass 1: positions -> books (open linear size, short option size; one
         oracle read when a book opens: spot, status, funding price) and option
         legs; cash, costs, funding and settled dated positions -> the
         position-value-free part of equity; collateral balances -> legs. Pass 2,
         per book: vol, shock, option vols and the OptionPricer, position and
         collateral values, scenario PnL, split, add-ons. Then the correlated
         requirement across books.
    @param _account Account id.
    @param _use_secondary Price books at the secondary feeds.
    @param _liquidation Liquidation mode (`margin_for_liquidation`): doubtful inputs penalised, not STALE.
    @return The margin result, the books and the liquidation-mode penalty.
    """
    w0: uint256 = self._risk[0]
    source: address = self._positions
    assert w0 != 0 and source != empty(address), errors.NOT_CONFIGURED

    uids: DynArray[uint256, constants.MAX_UNDERLYINGS] = []
    books: DynArray[UnderlyingRisk, constants.MAX_UNDERLYINGS] = []
    # price-free part of equity: cash - Σ cost - funding owed + settled dated positions
    base: int256 = staticcall vault.cash_of(_account)

    # option positions (vol and size filled in per book in pass 2), their book and size
    options: DynArray[OptionPricer.OptionLeg, constants.MAX_OPTION_POSITIONS] = []
    option_books: DynArray[uint256, constants.MAX_OPTION_POSITIONS] = []
    option_sizes: DynArray[int256, constants.MAX_OPTION_POSITIONS] = []
    # per book: the primary price when Markets would accrue funding at it (status OK), else 0
    funding_prices: DynArray[uint256, constants.MAX_UNDERLYINGS] = []
    # per book: Σ size·(expiry - now) of its open futures (WAD units × seconds); not in the book (gas: a smaller
    # UnderlyingRisk is cheaper to copy on every check)
    tenors: DynArray[int256, constants.MAX_UNDERLYINGS] = []

    # ---- pass 1: positions
    for pos: types.Position in staticcall IPositions(source).positions_of(_account):
        if pos.size == 0:
            continue
        inst: types.Instrument = staticcall markets.margin_terms(pos.instrument)
        is_option: bool = inst.kind == constants.CALL or inst.kind == constants.PUT
        if inst.settlement_price != 0 and (is_option or inst.kind == constants.FUTURE):
            # dev: settled: a cash claim size·settlement (options: size·intrinsic) - cost, no scenario risk
            base += self._position_value(pos.size, self._settlement_value(inst)) - pos.cost
            continue
        if not is_option and inst.kind != constants.PERP and inst.kind != constants.FUTURE:
            raise errors.UNKNOWN_KIND
        base -= pos.cost
        b: uint256 = self._book_index(uids, inst.underlying)
        if b == len(uids):
            # dev: [underlyings_of] a new book, priced by its one oracle read (built in place: a returned book
            # would cost two more struct buffers in every margin check's memory)
            assert b < constants.MAX_UNDERLYINGS, errors.TOO_MANY_UNDERLYINGS
            uids.append(inst.underlying)
            books.append(empty(UnderlyingRisk))
            books[b].underlying = inst.underlying
            fp: uint256 = 0
            books[b].spot, books[b].status, fp = self._spot(inst.underlying, _use_secondary, _liquidation)
            funding_prices.append(fp)
            tenors.append(0)
        if inst.kind == constants.PERP:
            # dev: the funding index at the book's own oracle read (no second one)
            fp: uint256 = funding_prices[b]
            base -= self._funding_owed(pos, staticcall markets.funding_index_at(pos.instrument, fp, fp != 0))
        if is_option:
            options.append(
                OptionPricer.OptionLeg(
                    is_call=inst.kind == constants.CALL, strike=inst.strike, expiry=inst.expiry, vol=0, size=0
                )
            )
            option_books.append(b)
            option_sizes.append(pos.size)
            if pos.size < 0:
                books[b].short_options += margin_math._abs(pos.size)
        else:
            books[b].linear_size += pos.size
            books[b].gross_size += margin_math._abs(pos.size)
            if inst.kind == constants.FUTURE and inst.expiry > block.timestamp:
                # dev: [basis_shock] an open future's basis moves in the term row; expired, unsettled ones have none.
                # Unchecked: |size| < 2**127 (Clearinghouse packing), expiry < 2**64 (Markets packing), ≤ 32 terms
                tenors[b] = unsafe_add(
                    tenors[b], unsafe_mul(pos.size, convert(unsafe_sub(inst.expiry, block.timestamp), int256))
                )

    # ---- pass 1: linked collateral (a listed token without haircut parameters is worth nothing)
    status: uint8 = constants.OK
    equity_im: int256 = base
    equity_mm: int256 = base
    legs: DynArray[Leg, constants.MAX_ASSETS] = []
    # liquidation mode: Σ bal·P - value_mm over the collateral (`Judged.haircut`)
    haircut: uint256 = 0
    tokens: DynArray[address, constants.MAX_ASSETS] = []
    balances: DynArray[uint256, constants.MAX_ASSETS] = []
    tokens, balances = staticcall vault.collateral_of(_account)
    for i: uint256 in range(len(tokens), bound=constants.MAX_ASSETS):
        balance: uint256 = balances[i]
        if balance == 0:
            continue
        packed: uint256 = self._collateral[tokens[i]]
        if packed == 0:
            continue
        uid: uint256 = margin_math._field(packed, 3)
        # dev: [unit collateral] shares of a vault over the settlement asset sit in no book (b = max: never a
        # book's index, never len(uids))
        b: uint256 = max_value(uint256)
        if uid != constants.SETTLEMENT_UID:
            b = self._book_index(uids, uid)
        if b == len(uids):
            # dev: [underlyings_of] a new book, priced by its one oracle read (built in place: a returned book
            # would cost two more struct buffers in every margin check's memory)
            assert b < constants.MAX_UNDERLYINGS, errors.TOO_MANY_UNDERLYINGS
            uids.append(uid)
            books.append(empty(UnderlyingRisk))
            books[b].underlying = uid
            fp: uint256 = 0
            books[b].spot, books[b].status, fp = self._spot(uid, _use_secondary, _liquidation)
            funding_prices.append(fp)
            tenors.append(0)
        word: uint256 = self._collateral_depth[tokens[i]]
        rate: uint256 = constants.WAD
        liquidity: uint256 = max_value(uint256)
        if word > LOW_128:
            # dev: [share collateral] an ERC-4626 share token in its asset's book: priced at S_u·rate (the router's
            # guarded rate: 0 when the vault's rate is unusable), its depth capped by the vault's liquidity; the
            # rate's status joins the book's, or the account's for a vault over the settlement asset (liquidation
            # mode: the rate, already the lower of live and cap, is used)
            rate_status: uint8 = 0
            rate, rate_status, liquidity = staticcall router.share_state(word >> 128, vault.address)
            if not _liquidation:
                if b == max_value(uint256):
                    status = max(status, rate_status)
                else:
                    books[b].status = max(books[b].status, rate_status)
        # [crowding] the haircut slope is priced on the token's protocol-wide deposits: D_s for MM, max(D, D_s) for IM
        d_now: uint256 = 0
        d_smooth: uint256 = 0
        d_now, d_smooth = staticcall vault.deposits(tokens[i])
        level: uint256 = max(balance, d_smooth)
        legs.append(
            Leg(
                book=b,
                balance=balance,
                packed=packed,
                depth=word & LOW_128,
                rate=rate,
                liquidity=liquidity,
                level_mm=level,
                level_im=max(level, d_now),
            )
        )
        if b == max_value(uint256):
            # dev: [unit collateral] cash-like: rate·(1 - h) in equity (price 1), no spot delta (pass 2 skips
            # its leg: no book has its index)
            v_im: uint256 = 0
            v_mm: uint256 = 0
            v: uint256 = 0
            v_im, v_mm, v = self._collateral_value(legs[len(legs) - 1], constants.WAD)
            if _liquidation:
                haircut += v - v_mm
            equity_im += convert(v_im, int256)
            equity_mm += convert(v_mm, int256)
            continue
        books[b].collateral += balance * rate // constants.WAD

    # ---- pass 2: per underlying
    w1: uint256 = self._risk[1]
    addons: uint256 = 0
    # [crowding] Σ_u (conc_im - conc_mm): what IM's concentration (today's aggregate) adds over MM's
    crowd_im: uint256 = 0
    nonlinear: uint256 = 0
    # liquidation mode: Σ over books in doubt of their collateral's MM value and K_u, taken off equity
    penalty: uint256 = 0
    # L_u per book, in book order (`uids` holds their ids in the same order)
    linear: DynArray[int256, constants.MAX_UNDERLYINGS] = []
    for b: uint256 in range(len(books), bound=constants.MAX_UNDERLYINGS):
        book: UnderlyingRisk = books[b]
        und: uint256 = self._underlying[book.underlying]
        assert und != 0, errors.UNKNOWN_UNDERLYING
        has_options: bool = b in option_books
        # [liquidation mode] a stale primary with the sequencer up is in doubt (not for a book holding
        # positions without any positive price: nothing bounds a short's value there)
        price_doubt: bool = False
        if _liquidation and book.status == constants.STALE:
            if book.spot != 0 or (book.gross_size == 0 and not has_options):
                price_doubt = staticcall router.sequencer_up()
                if price_doubt:
                    book.status = constants.OK
        doubt: bool = price_doubt
        vol_status: uint8 = 0
        book.vol, vol_status = staticcall vol_oracle.vol(book.underlying)
        if _liquidation and vol_status == constants.STALE:
            # dev: the VolOracle marked the stale vol up; the book is in doubt
            vol_status = constants.OK
            doubt = True
        book.status = max(book.status, vol_status)
        book.shock = self._shock_size(book.vol, w0)

        # [collateral_value] linked collateral, IM and MM haircuts
        for leg: Leg in legs:
            if leg.book != b:
                continue
            v_im: uint256 = 0
            v_mm: uint256 = 0
            v: uint256 = 0
            v_im, v_mm, v = self._collateral_value(leg, book.spot)
            book.collateral_mm += v_mm
            if _liquidation:
                # dev: [mark value] what the MM haircut took off bal·P (the price-doubt penalty holds value_mm)
                haircut += v - v_mm
            if price_doubt:
                # dev: liquidation mode, stale price: worth 0 in equity, still a spot delta in the scenarios
                penalty += v_mm
                continue
            equity_im += convert(v_im, int256)
            equity_mm += convert(v_mm, int256)
        delta_notional: int256 = book.linear_size * convert(book.spot, int256) + convert(book.collateral_mm, int256) * SWAD
        tenor: int256 = tenors[b]
        basis_loss: uint256 = 0
        if tenor != 0:
            # [basis_shock] |B| = S_u·|Σ size·T|·basis_vol·σ_u / YEAR (basis_vol: field 3 of word 1), each step
            # rounded up. Plain checked arithmetic, not 512-bit mul_div (gas on every book with futures): it
            # overflows only past |size|·T·S_u ~ 1e59 USD·s, far beyond any position cap and price
            if tenor < 0:
                tenor = -tenor
            notional_time: uint256 = (convert(tenor, uint256) * book.spot + constants.WAD - 1) // constants.WAD
            rate_shock: uint256 = ((w1 >> 192) * book.vol + constants.WAD - 1) // constants.WAD
            basis_loss = (notional_time * rate_shock + constants.WAD * YEAR - 1) // (constants.WAD * YEAR)

        # [option_price, scenario_pnl, worst_loss, directional, net_delta] the book's options, each at its
        # expiry's vol (VolOracle.vol_at; expired ones are worth their intrinsic value and need none). The
        # pricer gets every option leg, those of other books with size 0 (it skips them), and D_u: it folds
        # the grid into K_u and WS_u. Without options, `_scenario_pnl` does it here.
        opt: OptionPricer.BookRisk = empty(OptionPricer.BookRisk)
        if has_options:
            for i: uint256 in range(len(options), bound=constants.MAX_OPTION_POSITIONS):
                options[i].size = 0
                if option_books[i] != b:
                    continue
                options[i].size = option_sizes[i]
                if options[i].expiry > block.timestamp:
                    options[i].vol, vol_status = staticcall vol_oracle.vol_at(book.underlying, options[i].expiry)
                    if _liquidation and vol_status == constants.STALE:
                        vol_status = constants.OK
                        doubt = True
                    book.status = max(book.status, vol_status)
            pricer: address = self._pricer
            assert pricer != empty(address), errors.OPTIONS_NOT_SUPPORTED
            w2: uint256 = self._risk[2]
            w3: uint256 = self._risk[3]
            opt = staticcall IPricer(pricer).book_risk(
                OptionPricer.Grid(
                    spot=book.spot,
                    shock=book.shock,
                    vol_up=margin_math._field(w2, 0),
                    vol_down=margin_math._field(w2, 1),
                    vol_shock_cap=margin_math._field(w2, 2),
                    vol_t_ref_seconds=margin_math._field(w2, 3),
                    rate=margin_math._field(w3, 2),
                    now=block.timestamp,
                ),
                options,
                delta_notional,
                basis_loss,
            )
            book.option_value = opt.value
            book.gamma = opt.gamma
            book.vega = opt.vega
            book.theta = opt.theta
            book.worst_loss = opt.worst_loss
            book.directional = opt.directional
        else:
            book.worst_loss, book.directional = self._scenario_pnl(delta_notional, book.shock, basis_loss)
        status = max(status, book.status)

        # [equity] open linear positions at the index price and options, rounded down
        value: int256 = self._position_value(book.linear_size, book.spot) + opt.value
        equity_im += value
        equity_mm += value

        # [split]
        book.net_delta = book.linear_size + opt.delta
        book.linear, book.nonlinear = self._split(book.worst_loss, book.directional)
        nonlinear += book.nonlinear
        if doubt:
            # dev: liquidation mode: positions at their worst scenario (value - K_u); MM keeps K_u
            equity_im -= convert(book.worst_loss, int256)
            equity_mm -= convert(book.worst_loss, int256)
            penalty += book.worst_loss

        # [addons] crowding: the open interest of u over all accounts, A now and A_s smoothed (read only
        # when the book has a net delta); MM's concentration on max(A_s, |net|), IM's on max(A, A_s, |net|)
        book.basis, book.short_option = self._addons(book.gross_size, book.linear_size, book.short_options, book.spot, w1)
        net: uint256 = margin_math._abs(book.net_delta)
        if net != 0:
            a_now: uint256 = 0
            a_mm: uint256 = 0
            a_now, a_mm = staticcall IPositions(source).crowding(book.underlying)
            a_mm = max(a_mm, net)
            # dev: λ_u·N_u·(level·S_u) / depth_u = N_u·ceil(level·S_u·λ_u / WAD²) / depth_u, every step rounded up;
            # plain checked products (λ_u < 2**64 by its bound, A < 2**96 in the Clearinghouse): they could only
            # overflow at prices and sizes no oracle or cap admits
            level_k: uint256 = (a_mm * book.spot * (und >> 128) + WAD2 - 1) // WAD2
            n: uint256 = fixed_point._mul_div_up(net, book.spot, constants.WAD)
            book.concentration = fixed_point._mul_div_up(n, level_k, und & LOW_128)
            if a_now > a_mm:
                # dev: IM's flavour: the MM add-on scaled by A / max(A_s, |net|), rounded up
                crowd_im += (book.concentration * a_now + a_mm - 1) // a_mm - book.concentration
        addons += book.basis + book.short_option + book.concentration
        books[b] = book
        linear.append(book.linear)

    # ---- across underlyings
    mm: uint256 = self._correlated_requirement(uids, linear, margin_math._field(w1, 1)) + nonlinear + addons
    im: uint256 = fixed_point._mul_div_up(mm + crowd_im, margin_math._field(w0, 3), constants.WAD)
    return Evaluation(
        judged=Judged(
            result=types.MarginResult(equity_im=equity_im, equity_mm=equity_mm, im=im, mm=mm, status=status),
            penalty=penalty,
            haircut=haircut,
            collateral_free=len(tokens) == 0,
        ),
        books=books,
    )


@internal
@view
def _spot(_uid: uint256, _use_secondary: bool, _liquidation: bool) -> (uint256, uint8, uint256):
    """
    @dev S_u and its status from the OracleRouter (a price of 0 comes with STALE).
         Secondary: used when present; a configured but unusable secondary
         (router says DEGRADED, secondary 0) cannot be checked against: STALE,
         except in liquidation mode, where the fresh primary is used, OK.
         Also the price Markets accrues funding at (the primary when OK, else
         0: frozen), so funding needs no second oracle read.
    @param _uid Underlying id.
    @param _use_secondary Use the secondary feed.
    @param _liquidation Liquidation mode.
    @return (price WAD, status, funding price WAD or 0).
    """
    primary: uint256 = 0
    secondary: uint256 = 0
    status: uint8 = 0
    primary, secondary, status = staticcall router.prices(_uid)
    funding: uint256 = 0
    if status == constants.OK:
        funding = primary
    if status == constants.DEGRADED and secondary == 0 and _liquidation:
        # dev: only the secondary is unusable: liquidate on the fresh primary
        return primary, constants.OK, funding
    if not _use_secondary:
        return primary, status, funding
    if secondary != 0:
        return secondary, status, funding
    if status == constants.DEGRADED:
        return primary, constants.STALE, funding
    return primary, status, funding


@internal
@pure
def _book_index(_uids: DynArray[uint256, constants.MAX_UNDERLYINGS], _uid: uint256) -> uint256:
    """
    @dev [underlyings_of] Index of `_uid` among the books, or len(_uids) if new.
    @param _uids Underlying ids of the books so far.
    @param _uid Underlying id.
    @return Its index.
    """
    for i: uint256 in range(len(_uids), bound=constants.MAX_UNDERLYINGS):
        if _uids[i] == _uid:
            return i
    return len(_uids)


@internal
@pure
def _position_value(_size: int256, _price: uint256) -> int256:
    """
    @dev [position_value] Linear value size·price, rounded down (an asset when long, a liability when short).
    @param _size Signed WAD size.
    @param _price WAD price.
    @return Signed WAD USD.
    """
    return margin_math._sdiv_down(_size * convert(_price, int256), SWAD)


@internal
@pure
def _settlement_value(_inst: types.Instrument) -> uint256:
    """
    @dev What one unit of a settled dated instrument pays: a future its
         settlement price, a call (settlement - strike)+, a put (strike - settlement)+.
    @param _inst The instrument (settlement price recorded).
    @return WAD USD per unit.
    """
    if _inst.kind == constants.FUTURE:
        return _inst.settlement_price
    if _inst.kind == constants.CALL:
        return _inst.settlement_price - min(_inst.strike, _inst.settlement_price)
    return _inst.strike - min(_inst.strike, _inst.settlement_price)


@internal
@pure
def _funding_owed(_pos: types.Position, _index: int256) -> int256:
    """
    @dev Pending perp funding the position pays: size·(index - snapshot), rounded up.
    @param _pos The position.
    @param _index Current cumulative funding index (incl. pending accrual).
    @return Signed WAD USD owed (negative = receivable).
    """
    return margin_math._sdiv_up(_pos.size * (_index - _pos.funding_snapshot), SWAD)


@internal
@pure
def _collateral_value(_leg: Leg, _spot: uint256) -> (uint256, uint256, uint256):
    """
    @dev [haircut, collateral_value] bal·P·(1 - h) with h = min(1, base + slope·level·P / depth),
         level = max(bal, D_s) for MM and max(bal, D, D_s) for IM (the token's
         protocol-wide deposits: splitting a holding cannot lower the rate).
         The slope term uses level·P rounded up and is itself rounded up
         (larger haircut; IM's is MM's times level_im / level_mm, rounded up);
         the value is rounded down.
         ERC-4626 shares: P = floor(S_u·rate / WAD) (the router's share price) and
         depth = min(depth, LIQUIDITY_DEPTH_FACTOR·liquidity·P / WAD): a vault that
         would redeem little now raises the slope term; none (paused, reverting
         `maxRedeem`) or a zero price: worth 0 (its mark value stays bal·P).
    @param _leg The holding.
    @param _spot S_u: its book's index price (WAD).
    @return (IM value, MM value, mark value bal·P), WAD USD.
    """
    price: uint256 = _spot * _leg.rate // constants.WAD
    value: uint256 = _leg.balance * price // constants.WAD
    depth: uint256 = _leg.depth
    if _leg.liquidity != max_value(uint256):
        # dev: liquidity < 2**128 (router), factor·liquidity·price cannot overflow at any admitted price
        depth = min(depth, constants.LIQUIDITY_DEPTH_FACTOR * _leg.liquidity * price // constants.WAD)
        if depth == 0:
            return 0, 0, value
    value_up: uint256 = fixed_point._mul_div_up(_leg.level_mm, price, constants.WAD)
    slope_mm: uint256 = fixed_point._mul_div_up(margin_math._field(_leg.packed, 2), value_up, depth)
    slope_im: uint256 = slope_mm
    if _leg.level_im != _leg.level_mm:
        # dev: IM's slope term: MM's scaled by max(D, D_s) / max(bal, D_s), rounded up
        slope_im = fixed_point._mul_div_up(slope_mm, _leg.level_im, _leg.level_mm)
    h_mm: uint256 = min(constants.WAD, margin_math._field(_leg.packed, 0) + slope_mm)
    h_im: uint256 = min(constants.WAD, margin_math._field(_leg.packed, 1) + slope_im)
    return value * (constants.WAD - h_im) // constants.WAD, value * (constants.WAD - h_mm) // constants.WAD, value


@internal
@pure
def _shock_size(_sigma: uint256, _w0: uint256) -> uint256:
    """
    @dev [shock_size] clamp(z·sqrt(H)·σ, shock_min, shock_max), rounded up.
    @param _sigma Annualised vol (WAD).
    @param _w0 Packed risk word 0 (shock_coef, shock_min, shock_max, im_factor).
    @return s_u (WAD fraction).
    """
    # dev: coef < 2**64 (packed) and σ < 2**128 (VolOracle bounds): the plain product cannot overflow (same ceil as
    # 512-bit mul_div, cheaper on every book)
    s: uint256 = (margin_math._field(_w0, 0) * _sigma + constants.WAD - 1) // constants.WAD
    return min(max(s, margin_math._field(_w0, 1)), margin_math._field(_w0, 2))


@internal
@pure
def _scenario_pnl(_delta_notional: int256, _shock: uint256, _basis: uint256) -> (uint256, int256):
    """
    @dev [scenario_pnl, worst_loss, directional] Worst loss K_u and directional
         PnL WS_u of a book without options. Linear positions and linked
         collateral are affine in spot: their PnL is D_u·m in every vol row,
         and the term row takes the futures' basis loss |B|·(1 + m) off it:
         (D_u - |B|)·m - |B|, lowest at m = ∓s_u, so K_u = |B| + s_u·|D_u - |B||
         (|D_u|·s_u without futures). WS_u = D_u·s_u (no basis shock). Both
         rounded away from zero (without futures |WS_u| = K_u exactly, so
         L_u = WS_u, C_u = 0; the basis part of K_u is in C_u). A book with
         options takes the full grid instead (`OptionPricer.book_risk`).
    @param _delta_notional D_u scaled by WAD (WAD² units).
    @param _shock s_u (WAD).
    @param _basis |B| (WAD USD).
    @return (K_u, WS_u), WAD USD.
    """
    # dev: plain checked arithmetic, rounded up, not 512-bit mul_div (every book without options pays it): |D_u|·s_u
    # overflows only past |D_u| ~ 1e59 WAD² (1e23 USD of delta notional), far beyond any position cap and price
    loss: uint256 = (margin_math._abs(_delta_notional) * _shock + WAD2 - 1) // WAD2
    directional: int256 = convert(loss, int256)
    if _delta_notional < 0:
        directional = -directional
    if _basis == 0:
        return loss, directional
    # dev: D_u - |B| in WAD² units, plain checked arithmetic rounded up (same bound as above)
    net: int256 = _delta_notional - convert(_basis, int256) * SWAD
    return _basis + (margin_math._abs(net) * _shock + WAD2 - 1) // WAD2, directional


@internal
@pure
def _split(_worst: uint256, _directional: int256) -> (int256, uint256):
    """
    @dev [split] L = clamp(WS, -K, K) and C = K - |L| >= 0.
    @param _worst K_u.
    @param _directional WS_u.
    @return (L_u, C_u).
    """
    k: int256 = convert(_worst, int256)
    linear: int256 = min(k, max(-k, _directional))
    return linear, _worst - margin_math._abs(linear)


@internal
@pure
def _addons(_gross: uint256, _linear: int256, _short_options: uint256, _spot: uint256, _w1: uint256) -> (uint256, uint256):
    """
    @dev [addons] Basis: basis_rate·(gross - |net|)·S_u of the open linear book.
         Short option: short_option_rate·Σ|size|·S_u over short options (expired
         but unsettled ones included). Both rounded up. Concentration (crowding,
         TECH_SPEC "Crowding", in `_requirements`): λ_u·N_u·(level·S_u) / depth_u with
         N_u = |net delta|·S_u (positions only) and level the open interest of u
         over all accounts (A_s for MM, max(A, A_s) for IM), at least |net|: linear
         in the own exposure, so splitting a book across accounts cannot lower the sum.
         Takes the book's fields, not the book (a struct argument is copied into the frame).
    @param _gross Σ |size| of the open linear positions (WAD units).
    @param _linear Σ size of the open linear positions (WAD units).
    @param _short_options Σ |size| of short options (WAD units).
    @param _spot S_u (WAD).
    @param _w1 Packed risk word 1 (basis_rate, corr_kappa, short_option_rate, rate).
    @return (basis, short_option), WAD USD.
    """
    basis: uint256 = fixed_point._mul_div_up((_gross - margin_math._abs(_linear)) * _spot, margin_math._field(_w1, 0), WAD2)
    short_option: uint256 = fixed_point._mul_div_up(_short_options * _spot, margin_math._field(_w1, 2), WAD2)
    return basis, short_option


@internal
@view
def _correlated_requirement(
    _uids: DynArray[uint256, constants.MAX_UNDERLYINGS],
    _linear: DynArray[int256, constants.MAX_UNDERLYINGS],
    _kappa: uint256,
) -> uint256:
    """
    @dev [correlated_requirement, correlation_regimes] The linear part
         max over regimes of sqrt(max(0, Lᵀ ρ_r L)), rounded up (the caller adds Σ C_u).
         With Q = Lᵀ ρ L, S1 = (Σ L)², S2 = Σ L² (WAD² units):
         Lᵀ((1-κ)ρ + κJ)L = Q + κ(S1 - Q) and Lᵀ((1-κ)ρ + κI)L = Q + κ(S2 - Q).
         Every product with ρ or κ is rounded up, so each quadratic form is an
         upper bound of the exact one; with one underlying, R = |L_u| exactly.
         Takes the ids and L_u, not the books: internal arguments are copied
         into the callee's frame, and a smaller frame is cheaper memory on
         every margin check.
    @param _uids Underlying id of each book.
    @param _linear L_u of each book, aligned with `_uids`.
    @param _kappa κ (WAD).
    @return The linear part of R, WAD USD.
    """
    n: uint256 = len(_linear)
    if n == 0:
        return 0
    sum_l: int256 = 0
    sum_sq: int256 = 0
    pairs: int256 = 0
    for i: uint256 in range(n, bound=constants.MAX_UNDERLYINGS):
        li: int256 = _linear[i]
        ui: uint256 = _uids[i]
        sum_l += li
        sum_sq += li * li
        for j: uint256 in range(i + 1, n, bound=constants.MAX_UNDERLYINGS):
            uj: uint256 = _uids[j]
            rho: int256 = self._rho[min(ui, uj)][max(ui, uj)]
            pairs += margin_math._smul_wad_up(li * _linear[j], rho)
    q: int256 = sum_sq + 2 * pairs
    k: int256 = convert(_kappa, int256)
    q_high: int256 = q + margin_math._smul_wad_up(sum_l * sum_l - q, k)
    q_low: int256 = q + margin_math._smul_wad_up(sum_sq - q, k)
    worst: int256 = max(q, max(q_high, q_low))
    if worst <= 0:
        return 0
    return margin_math._sqrt_up(convert(worst, uint256))


# ---------------------------------------------------------------- checks


@internal
@view
def _only_admin():
    """
    @dev DEFAULT_ADMIN_ROLE only.
    """
    assert access_control.hasRole[access_control.DEFAULT_ADMIN_ROLE][msg.sender], errors.MISSING_ROLE


@internal
@view
def _only_admin_or_risk_manager():
    """
    @dev DEFAULT_ADMIN_ROLE or RISK_MANAGER_ROLE.
    """
    assert (
        access_control.hasRole[access_control.DEFAULT_ADMIN_ROLE][msg.sender]
        or access_control.hasRole[constants.RISK_MANAGER_ROLE][msg.sender]
    ), errors.MISSING_ROLE


@internal
@pure
def _check_in(_value: uint256, _bound: Bound):
    """
    @dev Revert unless lo <= value <= hi.
    @param _value The value.
    @param _bound Its bound.
    """
    assert _value >= _bound.lo and _value <= _bound.hi, errors.OUT_OF_BOUNDS
