# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title crossmargin OptionPricer
@custom:contract-name OptionPricer
@license MIT
@notice Stateless Black-76 revaluation of a batch of European options on one
        underlying over the margin grid (DESIGN.md §4 step 2): the RiskEngine's
        option plug-in. A separate contract because the engine with Black-76
        inlined is 27.7 KB, over the EIP-170 limit (24,576 bytes). Every
        function is pure: the engine passes the oracle inputs and the time.

        Glossary (model function in brackets, `crossmargin/model/margin.py`)
        - leg         one option position: call/put, strike K, expiry, size
                      (signed WAD units, long > 0) and σ, its expiry's vol
                      (VolOracle.vol_at: term point or ATM).
        - T           time to expiry in seconds, max(0, expiry - now).
        - V           Black-76 value of one unit, forward = spot S (r = 0 unless
                      a rate is set) [option_price]; intrinsic value once T = 0.
        - grid        spot moves m_k = k/4·s, k = -4..4, × vol rows {down, flat,
                      up}; pnl[9·row + (k + 4)] [scenario_grid, vol_shocks].
        - vol rows    σ·(1 - vol_down·μ), σ, σ·(1 + vol_up·μ) with
                      μ = min(vol_shock_cap, sqrt(T_ref / T)): shorter expiries
                      get larger relative vol shocks. Expired legs (T = 0) are
                      worth their intrinsic value at every grid spot (no vol).
        - ΔV          Σ_leg size·(V(S·(1 + m_k), σ_row) - V(S, σ)) [scenario_pnl].
        - term row    per move m_k, Σ over expiries of the worst of that
                      expiry's three rows: each expiry's vol moves on its own
                      inside its range (parallel moves and twists of the term
                      structure) [scenario_pnl, row TERM]. `book_risk` folds it
                      with the book's linear delta D_u and the futures' basis
                      loss |B| into K_u and WS_u for the RiskEngine.

@dev Rounding favours the protocol. Black-76 prices carry a directed margin
     (black76.vy: ERR = (F + K)·1e-13 + 16 wei, >= 45x the measured error),
     so a price `_down` <= the exact price <= `_up`:
       - value (equity): long legs at V_down, short legs at V_up; size·V floored;
       - ΔV (requirement): long legs V_down(scenario) - V_up(now), short legs
         V_up(scenario) - V_down(now), so each leg's PnL is below the exact PnL
         in every scenario; Σ size·V is summed exactly (WAD² units) and floored
         once per scenario. The flat grid point at m = 0 therefore shows a loss
         of at most 2·ERR·|size| (~2e-13 of the notional), never a gain.
     Input truncations (F_k = S·(1 + m_k) and ln(1 + m_k) floored, μ and
     σ_row floored) move a price by a few wei per unit at most (|delta| <= 1,
     TV moves by at most max(F, K)·Δln), inside the 45x headroom of the margin.
     Sharing (DESIGN §4 gas bound): per call, F_k and ln(1 + m_k) once per move
     (shared by every leg); per leg one ln(S/K), one μ, three v = σ_row·sqrt(T);
     per scenario one `_d1` and one `_price_from_d` (one exp, two Mills ratios,
     no ln, no sqrt); the (flat, m = 0) point reuses the current value. Greeks
     (delta for the concentration add-on; gamma, vega, theta for the views) are
     black76 `_greeks`, truncated best estimates.
     Gas (py-evm): ~130k per live leg (26 re-prices at ~3.1k, the Greeks ~11k,
     the current value up, d1 and bookkeeping), ~18k per expired leg, ~28k per
     call (benchmarks/gas.py, "Black-76 (OptionPricer)" rows).
"""

from .lib import black76
from .lib import constants
from .lib import fixed_point
from .lib import margin_math


# @dev One option position of the batch (all on the same underlying).
struct OptionLeg:
    is_call: bool                # CALL (True) or PUT (False)
    strike: uint256              # K (WAD USD)
    expiry: uint256              # unix seconds
    vol: uint256                 # σ for this expiry (WAD); ignored once expired
    size: int256                 # signed WAD units of the underlying (long > 0)


# @dev The margin grid of the underlying and the valuation inputs.
struct Grid:
    spot: uint256                # S (WAD USD), forward = spot
    shock: uint256               # s (WAD fraction, < 1): spot moves k/4·s, k = -4..4
    vol_up: uint256              # relative vol-up shock at T = T_ref (WAD)
    vol_down: uint256            # relative vol-down shock at T = T_ref (WAD)
    vol_shock_cap: uint256       # cap of sqrt(T_ref / T) (WAD, >= 1)
    vol_t_ref_seconds: uint256   # T_ref
    rate: uint256                # Black-76 discount rate (WAD)
    now: uint256                 # valuation time (unix seconds)


# @dev Value, scenario PnL and Greeks of a batch (WAD USD unless noted).
struct BookValue:
    value: int256                # Σ size·V: long legs rounded down, short legs up
    pnl: int256[27]              # ΔV at pnl[9·row + k + 4], rows vol down/flat/up, rounded down
    delta: int256                # Σ size·∂V/∂S (WAD units of the underlying)
    gamma: int256                # Σ size·∂²V/∂S² (WAD per USD)
    vega: int256                 # Σ size·∂V/∂σ (WAD USD per 1.00 of vol)
    theta: int256                # Σ size·∂V/∂t (WAD USD per year)
    term: int256[9]              # term row: per move, Σ over expiries of the worst of that expiry's rows, rounded down


# @dev What the RiskEngine needs of one book with options (WAD USD unless noted): `book_risk`.
struct BookRisk:
    value: int256                # Σ size·V: long legs rounded down, short legs up
    worst_loss: uint256          # K_u = max(0, -min over the term row of ΔV + D_u·m - |B|·(1 + m)), rounded up
    directional: int256          # WS_u = ΔV + D_u·m at (+s, flat vol), rounded down
    delta: int256                # Σ size·∂V/∂S (WAD units of the underlying)
    gamma: int256                # Σ size·∂²V/∂S² (WAD per USD)
    vega: int256                 # Σ size·∂V/∂σ (WAD USD per 1.00 of vol)
    theta: int256                # Σ size·∂V/∂t (WAD USD per year)


# @dev Legs per batch: an account holds at most this many positions.
MAX_LEGS: constant(uint256) = constants.MAX_POSITIONS
# @dev Scenarios per underlying: 3 vol rows × 9 spot moves.
N_SCENARIOS: constant(uint256) = 27
# @dev Spot moves per vol row (k = -4..4).
N_MOVES: constant(uint256) = 9
# @dev Index of the (flat vol, m = 0) point: the current value.
FLAT_ZERO: constant(uint256) = 13
# @dev Index of the (flat vol, m = +s) point: the directional PnL WS_u.
WS_INDEX: constant(uint256) = 17
# @dev Fixed-point unit.
WAD: constant(uint256) = 10**18
# @dev Fixed-point unit, signed.
SWAD: constant(int256) = 10**18
# @dev WAD squared, signed (the scale of D_u·m).
WAD2_SIGNED: constant(int256) = 10**36


@external
@pure
def scenario_values(_grid: Grid, _legs: DynArray[OptionLeg, MAX_LEGS]) -> BookValue:
    """
    @notice Value, 27 scenario PnLs and aggregate Greeks of a batch of options
            on one underlying [position_value, scenario_pnl, net_delta, greeks].
    @dev Rounding as in the header: value down, PnL down. S == 0 (a feed
         answering <= 0: the engine reports such a book STALE) returns all
         zeros instead of reverting, so `margin()` reports STALE for option
         accounts as for linear ones. Reverts "zero strike" from black76 for
         K == 0. The caller keeps
         s < 1 and vol_down·vol_shock_cap < 1 (RiskEngine bounds), else the
         grid reverts on underflow.
    @param _grid Spot, shock, vol-shock parameters, rate and time.
    @param _legs The options (zero sizes are skipped).
    @return value, pnl[27] (rows vol down/flat/up, moves -s..+s), delta, gamma,
            vega, theta.
    """
    return self._scenario_values(_grid, _legs)


@external
@pure
def book_risk(
    _grid: Grid, _legs: DynArray[OptionLeg, MAX_LEGS], _delta_notional: int256, _basis: uint256
) -> BookRisk:
    """
    @notice What the RiskEngine needs of a book with options: the options'
            value and Greeks, and the grid folded into the book's worst loss
            K_u and directional PnL WS_u [scenario_pnl, worst_loss, directional].
    @dev The book's linear positions and linked collateral are affine in
         spot: the engine passes their delta notional D_u and each grid point
         gets D_u·m_k (floored) on top of the options' ΔV. K_u = max(0, -min)
         over the term row (TECH_SPEC "Term row"): at each move m_k, every
         expiry's options at the worst of their own three vol rows (parallel
         moves and twists alike), plus D_u·m_k, minus the futures' basis loss
         |B|·(1 + m_k) (rounded up). It is at or below every parallel row, so
         K_u covers all 27 points. WS_u at (+s, flat vol), without the basis.
         Rounding as in `scenario_values`: every point is below the exact PnL.
    @param _grid Spot, shock, vol-shock parameters, rate and time.
    @param _legs The options (zero sizes are skipped).
    @param _delta_notional D_u scaled by WAD (WAD² units): Σ linear size·S + collateral MM value·WAD.
    @param _basis |B|: the futures' basis loss at m = 0 (WAD USD, the engine's `basis_loss`).
    @return value, worst_loss, directional, delta, gamma, vega, theta.
    """
    v: BookValue = self._scenario_values(_grid, _legs)
    step: int256 = _delta_notional * convert(_grid.shock, int256)
    out: BookRisk = BookRisk(
        value=v.value, worst_loss=0, directional=0, delta=v.delta, gamma=v.gamma, vega=v.vega, theta=v.theta
    )
    # dev: WS_u at (+s, flat vol): the 27-point grid's directional point, no basis shock
    out.directional = v.pnl[WS_INDEX] + margin_math._sdiv_down(step * 4, 4 * WAD2_SIGNED)
    # dev: K_u from the term row, at or below every parallel row at each move; the basis loss |B|·(1 + m_k) rounded up
    worst: int256 = 0
    for k: uint256 in range(N_MOVES):
        lin: int256 = margin_math._sdiv_down(step * (convert(k, int256) - 4), 4 * WAD2_SIGNED)
        basis: uint256 = fixed_point._mul_div_up(_basis, 4 * WAD + k * _grid.shock - 4 * _grid.shock, 4 * WAD)
        worst = min(worst, v.term[k] + lin - convert(basis, int256))
    out.worst_loss = convert(-worst, uint256)
    return out


@internal
@pure
def _scenario_values(_grid: Grid, _legs: DynArray[OptionLeg, MAX_LEGS]) -> BookValue:
    """
    @dev The body of `scenario_values` (see there).
    @param _grid Spot, shock, vol-shock parameters, rate and time.
    @param _legs The options.
    @return value, pnl[27], delta, gamma, vega, theta.
    """
    out: BookValue = empty(BookValue)
    if _grid.spot == 0:
        return out
    # per move k: F_k = S·(1 + m_k) and ln(1 + m_k), m_k = (k - 4)/4·s, both floored
    spots: uint256[N_MOVES] = empty(uint256[N_MOVES])
    shifts: int256[N_MOVES] = empty(int256[N_MOVES])
    for k: uint256 in range(N_MOVES):
        # dev: 4·(1 + m_k) in WAD; 4·WAD > 4·s, so no underflow for s < 1
        four_factor: uint256 = 4 * WAD + k * _grid.shock - 4 * _grid.shock
        spots[k] = _grid.spot * four_factor // (4 * WAD)
        if k != 4:
            shifts[k] = fixed_point._wad_ln(four_factor // 4)
    rate: int256 = convert(_grid.rate, int256)
    # Σ size·V at each grid point and now (WAD² units, exact): floored once at the end
    grid_sum: int256[N_SCENARIOS] = empty(int256[N_SCENARIOS])
    now_sum: int256 = 0

    # the term row: per spot move, Σ over expiries of the worst of that expiry's three vol rows (WAD², exact)
    term_sum: int256[N_MOVES] = empty(int256[N_MOVES])
    n: uint256 = len(_legs)
    # legs are taken expiry by expiry: `first` is the first live leg of its expiry, the inner loop takes them all
    for first: uint256 in range(n, bound=MAX_LEGS):
        expiry: uint256 = _legs[first].expiry
        if _legs[first].size == 0:
            continue
        seen: bool = False
        for j: uint256 in range(first, bound=MAX_LEGS):
            if _legs[j].size != 0 and _legs[j].expiry == expiry:
                seen = True
                break
        if seen:
            continue
        # Σ size·V of this expiry's legs at each grid point
        group: int256[N_SCENARIOS] = empty(int256[N_SCENARIOS])
        for j: uint256 in range(first, n, bound=MAX_LEGS):
            leg: OptionLeg = _legs[j]
            size: int256 = leg.size
            if size == 0 or leg.expiry != expiry:
                continue
            t: uint256 = 0
            if leg.expiry > _grid.now:
                # dev: expiry > now checked
                t = unsafe_sub(leg.expiry, _grid.now)
            value_down: uint256 = 0
            d: int256 = 0
            g: int256 = 0
            vg: int256 = 0
            th: int256 = 0
            value_down, d, g, vg, th = self._leg_greeks(leg, _grid.spot, t, rate)
            out.delta += d
            out.gamma += g
            out.vega += vg
            out.theta += th
            disc: uint256 = black76._discount(rate, t)
            long: bool = size > 0

            # current value both ways (value_down comes with the Greeks); long legs: scenarios down, now up
            v_flat: uint256 = black76._sigma_sqrt_t(leg.vol, t)
            ell: int256 = 0
            if t != 0:
                ell = black76._log_moneyness(_grid.spot, leg.strike)
            value_up: uint256 = black76._price_from_d(
                leg.is_call, _grid.spot, leg.strike, self._d1_or_zero(ell, v_flat), v_flat, disc, True
            )
            if long:
                now_sum += size * convert(value_up, int256)
                out.value += margin_math._sdiv_down(size * convert(value_down, int256), SWAD)
            else:
                now_sum += size * convert(value_down, int256)
                out.value += margin_math._sdiv_down(size * convert(value_up, int256), SWAD)

            if t == 0:
                # expired, unsettled: intrinsic at every grid spot (exact), the same in every vol row
                for k: uint256 in range(N_MOVES):
                    p: int256 = size * convert(
                        black76._price_from_d(leg.is_call, spots[k], leg.strike, 0, 0, disc, False), int256
                    )
                    for row: uint256 in range(3):
                        group[row * N_MOVES + k] += p
                continue

            sigmas: uint256[3] = self._vol_rows(leg.vol, t, _grid)
            for row: uint256 in range(3):
                v: uint256 = v_flat
                if row != 1:
                    v = black76._sigma_sqrt_t(sigmas[row], t)
                live: bool = v >= black76.MIN_SIGMA_SQRT_T
                for k: uint256 in range(N_MOVES):
                    i: uint256 = row * N_MOVES + k
                    p: uint256 = 0
                    if i == FLAT_ZERO:
                        # the current value, in the scenario direction
                        p = value_down if long else value_up
                    else:
                        d1: int256 = 0
                        if live:
                            d1 = black76._d1(ell + shifts[k], v)
                        p = black76._price_from_d(leg.is_call, spots[k], leg.strike, d1, v, disc, not long)
                    group[i] += size * convert(p, int256)

        for k: uint256 in range(N_MOVES):
            term_sum[k] += min(group[k], min(group[N_MOVES + k], group[2 * N_MOVES + k]))
            for row: uint256 in range(3):
                grid_sum[row * N_MOVES + k] += group[row * N_MOVES + k]

    for i: uint256 in range(N_SCENARIOS):
        out.pnl[i] = margin_math._sdiv_down(grid_sum[i] - now_sum, SWAD)
    for k: uint256 in range(N_MOVES):
        out.term[k] = margin_math._sdiv_down(term_sum[k] - now_sum, SWAD)
    return out


@external
@pure
def greeks(
    _spot: uint256, _rate: uint256, _now: uint256, _legs: DynArray[OptionLeg, MAX_LEGS]
) -> (int256, int256, int256, int256, int256):
    """
    @notice Value and aggregate Greeks of a batch of options on one underlying,
            without the scenario grid (for bots and front ends).
    @dev Same numbers as `scenario_values` (value rounded down for long legs,
         up for short legs; Greeks truncated).
    @param _spot S (WAD USD).
    @param _rate Black-76 discount rate (WAD).
    @param _now Valuation time (unix seconds).
    @param _legs The options.
    @return value, delta (WAD units), gamma (WAD per USD), vega (WAD USD per
            1.00 vol), theta (WAD USD per year).
    """
    out: BookValue = empty(BookValue)
    rate: int256 = convert(_rate, int256)
    for leg: OptionLeg in _legs:
        if leg.size == 0:
            continue
        t: uint256 = 0
        if leg.expiry > _now:
            # dev: expiry > now checked
            t = unsafe_sub(leg.expiry, _now)
        v: uint256 = 0
        d: int256 = 0
        g: int256 = 0
        vg: int256 = 0
        th: int256 = 0
        v, d, g, vg, th = self._leg_greeks(leg, _spot, t, rate)
        out.delta += d
        out.gamma += g
        out.vega += vg
        out.theta += th
        p: uint256 = black76._price(leg.is_call, _spot, leg.strike, t, leg.vol, rate, leg.size < 0)
        out.value += margin_math._sdiv_down(leg.size * convert(p, int256), SWAD)
    return out.value, out.delta, out.gamma, out.vega, out.theta


@external
@pure
def price(
    _is_call: bool, _spot: uint256, _strike: uint256, _t: uint256, _sigma: uint256, _rate: uint256, _round_up: bool
) -> uint256:
    """
    @notice Black-76 price of one option on one unit (forward = spot).
    @param _is_call True for a call.
    @param _spot S (WAD USD, > 0).
    @param _strike K (WAD USD, > 0).
    @param _t Time to expiry in seconds (0 = intrinsic value).
    @param _sigma Annualised vol (WAD).
    @param _rate Discount rate (WAD).
    @param _round_up Round up (liabilities) instead of down (assets).
    @return The price (WAD USD).
    """
    return black76._price(_is_call, _spot, _strike, _t, _sigma, convert(_rate, int256), _round_up)


@internal
@pure
def _leg_greeks(
    _leg: OptionLeg, _spot: uint256, _t: uint256, _rate: int256
) -> (uint256, int256, int256, int256, int256):
    """
    @dev Unit price (rounded down) and size·(delta, gamma, vega, theta) of one leg, Greeks truncated.
    @param _leg The option.
    @param _spot S (WAD).
    @param _t Time to expiry (s).
    @param _rate Discount rate (signed WAD).
    @return Price of one unit (WAD, rounded down), delta (WAD units), gamma, vega, theta.
    """
    value: uint256 = 0
    delta: int256 = 0
    gamma: uint256 = 0
    vega: uint256 = 0
    theta: int256 = 0
    value, delta, gamma, vega, theta = black76._greeks(_leg.is_call, _spot, _leg.strike, _t, _leg.vol, _rate)
    return (
        value,
        _leg.size * delta // SWAD,
        _leg.size * convert(gamma, int256) // SWAD,
        _leg.size * convert(vega, int256) // SWAD,
        _leg.size * theta // SWAD,
    )


@internal
@pure
def _vol_rows(_sigma: uint256, _t: uint256, _grid: Grid) -> uint256[3]:
    """
    @dev [vol_shocks] σ·(1 - vol_down·μ), σ, σ·(1 + vol_up·μ) with
         μ = min(cap, sqrt(T_ref / T)), μ and the products floored.
    @param _sigma σ of the leg (WAD).
    @param _t Time to expiry (s, > 0).
    @param _grid Vol-shock parameters.
    @return The three vols (WAD).
    """
    mu: uint256 = min(_grid.vol_shock_cap, isqrt(_grid.vol_t_ref_seconds * WAD * WAD // _t))
    down: uint256 = _sigma * (WAD - _grid.vol_down * mu // WAD) // WAD
    up: uint256 = _sigma * (WAD + _grid.vol_up * mu // WAD) // WAD
    return [down, _sigma, up]


@internal
@pure
def _d1_or_zero(_log_fk: int256, _sigma_sqrt_t: uint256) -> int256:
    """
    @dev d1 from a log-moneyness, or 0 where black76 ignores it (total vol below 1e-9).
    @param _log_fk ln(F/K) (WAD).
    @param _sigma_sqrt_t Total vol v (WAD).
    @return d1 (WAD).
    """
    if _sigma_sqrt_t < black76.MIN_SIGMA_SQRT_T:
        return 0
    return black76._d1(_log_fk, _sigma_sqrt_t)
