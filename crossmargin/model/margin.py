"""The margin engine: DESIGN.md §4 in numpy, function by function, with the names the Vyper RiskEngine uses.

Read it beside the contract. Every quantity is a float in USD (or units of the underlying, or a fraction);
the contract computes the same numbers in WAD and must agree within the differential tests' tolerance.

Glossary
    S_u, σ_u      index price and annualised ATM implied vol of underlying u (OracleRouter, VolOracle)
    h_k           haircut of collateral k: min(1, base_k + slope_k · max(bal_k, D_k)·P_k / depth_k); IM and MM
                  bases; D_k the protocol-wide deposits of k (smoothed D_s for MM, max(D, D_s) for IM).
                  ERC-4626 share token (`MarketState.shares`): P_k = S_u · guarded rate in its asset's book,
                  depth_k capped at SHARE_LIQUIDITY_FACTOR · liquidity · P_k (h = 1 without liquidity).
                  Unit collateral (`Collateral.unit`: shares of a vault over the settlement asset): P_k = the
                  guarded rate (× 1 USD), the same haircut and cap, in no underlying's book (no delta)
    E             equity: cash + Σ_k bal_k·P_k·(1 - h_k) + Σ_i (value_i - cost_i) + accrued funding
    s_u           shock size: clamp(z · σ_u · sqrt(H), shock_min, shock_max)
    grid          spot moves m = k/4 · s_u, k = -4..4, × vol {down, flat, up}: 27 scenarios per underlying
    term row      per spot move, every expiry's options at the worst of their own vol rows (down, flat, up at
                  that tenor's scale, chosen independently per expiry: parallel moves and twists), and the
                  futures' basis at its adverse shock b_T = basis_vol · σ_u · T (T in years to expiry)
    ΔV_u          scenario PnL matrix, shape (4, 9): rows vol down/flat/up (parallel), term; columns m = -s_u .. +s_u
    K_u           worst loss: max(0, -min ΔV_u) (the term row is the lowest at every spot move)
    WS_u          directional PnL: ΔV_u at (+s_u, flat vol)
    L_u, C_u      linear part clamp(WS_u, -K_u, K_u) and non-linear remainder K_u - |L_u|
    R             correlated scenario requirement: max over 3 regimes of sqrt(max(0, Lᵀ ρ L)) + Σ C_u
    add-ons       basis, short option, concentration (per underlying)
    A_u           crowding aggregate: open interest of u summed over its instruments, protocol-wide (units);
                  A_s smoothed (lib/aggregates.vy). Concentration λ_u · N_u · max(A·S_u, N_u) / depth_u
    MM, IM        MM = R + Σ add-ons (MM parameters, A_s); IM = im_factor · (MM + Σ_u (conc_im,u - conc_u)),
                  conc_im on max(A, A_s)
    shortfall     IM - E_im, MM - E_mm; liquidatable iff MM shortfall > 0

Function by function (DESIGN §4)
    equity              haircut, collateral_value, position_value (option_price), equity, mark_value (V)
    1. shock size       shock_size
    2. scenarios        scenario_grid, vol_shocks, basis_shock, scenario_pnl, worst_loss, directional
    3. correlation      split, correlation_regimes, correlated_requirement
    4. add-ons          net_delta, addons
    health              underlyings_of, underlying_risk, requirements, is_risk_reducing
    liquidation mode    stale_vol, liquidation_requirements (a doubtful input penalised, never blocking)
    views               greeks, isolated_requirements (the isolated-margin comparator)

Conventions the contract shares
    - Linear instruments (PERP, FUTURE) are worth size · S_u (forward = spot, never a protocol-made price).
    - Options are worth size · Black-76(F = S_u, K, T, σ, r); after expiry (T <= 0) their intrinsic value.
    - Linked collateral is a spot delta in its underlying's scenarios: ΔV += bal·P·m·(1 - h_mm), with h_mm
      taken at today's price (the haircut is not re-evaluated in the scenario).
    - The requirement uses MM parameters (MM haircuts in ΔV); IM scales the whole MM requirement.
    - N_u, the net delta notional behind the concentration add-on, counts positions only: collateral size is
      already priced by its haircut slope.
    - Crowding (TECH_SPEC "Crowding"): the concentration add-on and the haircut slope are linear in the account's
      own exposure times the protocol's aggregate (open interest of the underlying, deposits of the token), so
      splitting a book across accounts never lowers their sum; `MarketState.crowding` / `.deposits` carry the
      aggregates, (0, 0) when absent (then the own exposure stands in: today's per-account quadratic).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np

from crossmargin.model.params import Collateral, Kind, MarketSpec, Params, RiskParams, ScenarioParams, _kind
from crossmargin.model.portfolio import Account, MarketState, Position
from crossmargin.model.pricing import black76_greeks, black76_price

CROWDING_WINDOW = 3_600            # seconds for a smoothed aggregate to reach its current value (lib/aggregates.vy WINDOW)
SHARE_LIQUIDITY_FACTOR = 100       # k of an ERC-4626 share token's depth min(depth, k·liquidity·P) (RiskEngine LIQUIDITY_DEPTH_FACTOR)
GRID_STEPS = 4                      # spot moves k/GRID_STEPS · s_u for k = -GRID_STEPS..GRID_STEPS
VOL_DOWN, VOL_FLAT, VOL_UP, TERM = 0, 1, 2, 3  # rows of a scenario PnL matrix
REGIMES = ("base", "high", "low")     # correlation regimes: ρ, (1-κ)ρ + κJ, (1-κ)ρ + κI


# ---------------------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Addons:
    """Add-ons of one underlying (USD, MM level)."""

    basis: float          # basis_rate · (gross - |net|) linear notional
    short_option: float   # short_option_rate · Σ |size|·S over short options
    concentration: float  # λ_u · N_u · max(A_s·S_u, N_u) / depth_u (MM level: smoothed aggregate)
    concentration_im: float | None = None   # λ_u · N_u · max(A·S_u, A_s·S_u, N_u) / depth_u; None = concentration

    def __post_init__(self) -> None:
        if self.concentration_im is None:
            object.__setattr__(self, "concentration_im", self.concentration)

    @property
    def total(self) -> float:
        return self.basis + self.short_option + self.concentration

    @property
    def im_extra(self) -> float:
        """What IM's concentration adds over MM's (before im_factor): today's crowding above the smoothed one."""
        return self.concentration_im - self.concentration


@dataclass(frozen=True)
class UnderlyingRisk:
    """Everything the engine computed for one underlying (MM level)."""

    symbol: str
    spot: float
    vol: float
    shock: float                 # s_u
    pnl: np.ndarray              # ΔV_u, shape (4, 9): vol down/flat/up, term row
    worst_loss: float            # K_u
    directional: float           # WS_u
    linear: float                # L_u
    nonlinear: float             # C_u
    net_delta: float             # Σ position deltas, units of the underlying (collateral excluded)
    gross_linear_notional: float
    net_linear_notional: float
    short_option_notional: float
    addons: Addons


@dataclass(frozen=True)
class MarginResult:
    """Health of an account (DESIGN §4). Shortfalls > 0 are deficits, < 0 surpluses."""

    equity_im: float
    equity_mm: float
    im: float
    mm: float
    im_shortfall: float           # im - equity_im
    mm_shortfall: float           # mm - equity_mm
    scenario: float               # R (MM level)
    addons: float                 # Σ_u add-ons (MM level)
    regime: str                   # correlation regime that set R
    per_underlying: Mapping[str, UnderlyingRisk]

    @property
    def liquidatable(self) -> bool:
        return self.mm_shortfall > 0

    @property
    def above_im(self) -> bool:
        return self.im_shortfall <= 0


@dataclass(frozen=True)
class IsolatedResult:
    """The isolated comparator: every position alone in its own subaccount, and every linked collateral
    holding alone (it is a spot delta), each margined by the same engine. Sums are over the items."""

    items: tuple[tuple[str, MarginResult], ...]

    @property
    def mm(self) -> float:
        return sum(r.mm for _, r in self.items)

    @property
    def im(self) -> float:
        return sum(r.im for _, r in self.items)

    @property
    def scenario(self) -> float:
        return sum(r.scenario for _, r in self.items)


@dataclass(frozen=True)
class Greeks:
    """Aggregate Greeks of one underlying (Black-76 sensitivities; linear instruments: delta = size)."""

    delta: float      # units of the underlying: positions + linked collateral balances (economic exposure)
    delta_usd: float  # delta · S
    gamma: float      # ∂delta/∂S, units per USD
    vega: float       # ∂V/∂σ, USD per 1.00 (100 vol points)
    theta: float      # ∂V/∂t, USD per year (negative for long options)


# ---------------------------------------------------------------------------------------------------------
# equity
# ---------------------------------------------------------------------------------------------------------

def collateral_price(collateral: Collateral, state: MarketState) -> float:
    """P_k: the index price of the underlying the collateral is linked to (the settlement asset is 1); an ERC-4626
    share token (in `state.shares`) is its asset's underlying price times the guarded rate (TECH_SPEC "ERC-4626
    shares netted into the asset's book"). Unit collateral (shares of a vault over the settlement asset) is the
    guarded rate times 1 USD, in no book."""
    if collateral.settlement:
        return 1.0
    if collateral.unit:
        return share_rate_of(collateral, state)
    return state.spot[collateral.underlying] * share_rate_of(collateral, state)


def share_rate_of(collateral: Collateral, state: MarketState) -> float:
    """Asset tokens per token: the guarded rate of an ERC-4626 share token, 1 for a plain token."""
    share = state.shares.get(collateral.symbol)
    return 1.0 if share is None else share[0]


def share_liquidity(collateral: Collateral, state: MarketState) -> float | None:
    """Share tokens the vault would redeem now (its `maxRedeem` for the protocol Vault; 0 when it reverts), None
    for a plain token."""
    share = state.shares.get(collateral.symbol)
    return None if share is None else share[1]


def smoothed(current: float, last: float, t_last: float, now: float) -> float:
    """[lib/aggregates._smoothed] A_s(now) = A_last + (A - A_last) · min(now - t_last, WINDOW) / WINDOW: the smoothed
    crowding aggregate, checkpointed (A_last = A_s, t_last = now) whenever the current value A changes."""
    return last + (current - last) * min(max(now - t_last, 0.0), CROWDING_WINDOW) / CROWDING_WINDOW


def crowding_level(aggregate: tuple[float, float] | None, kind: str = "mm") -> float:
    """The aggregate a requirement is priced on: the smoothed one for MM, max(current, smoothed) for IM (opening
    risk pays today's crowding at once; maintenance follows it over the window)."""
    if not aggregate:
        return 0.0
    current, smooth = aggregate
    return max(current, smooth) if _kind(kind) == "im" else smooth


def haircut(collateral: Collateral, balance: float, price: float, kind: str = "mm",
            deposits: tuple[float, float] | None = None, liquidity: float | None = None) -> float:
    """h_k = min(1, base_k + slope_k · max(bal_k, D_k) · P_k / depth_k), base_k and D_k of the IM or MM flavour.

    D_k: the token's protocol-wide deposits (`crowding_level`; none = this balance alone). The haircut rate does
    not depend on how the deposits are split among accounts, so splitting a holding cannot lower it. The
    settlement asset has no haircut. An ERC-4626 share token's depth is min(depth_k, SHARE_LIQUIDITY_FACTOR ·
    liquidity · P_k) (`liquidity`: share tokens the vault would redeem now); none (0) or P_k = 0: h = 1.
    """
    if collateral.settlement:
        return 0.0
    depth = collateral.depth_usd
    if liquidity is not None:
        depth = min(depth, SHARE_LIQUIDITY_FACTOR * liquidity * price)
        if depth <= 0:
            return 1.0
    value = max(balance, crowding_level(deposits, kind), 0.0) * price
    return min(1.0, collateral.haircut_base(kind) + collateral.haircut_slope * value / depth)


def collateral_value(collateral: Collateral, balance: float, price: float, kind: str = "mm",
                     deposits: tuple[float, float] | None = None, liquidity: float | None = None) -> float:
    """bal_k · P_k · (1 - h_k): what a collateral holding contributes to equity."""
    return balance * price * (1.0 - haircut(collateral, balance, price, kind, deposits, liquidity))


def position_value(pos: Position, spot, vol, now: float, rate: float = 0.0):
    """value_i: linear size · S; option size · Black-76(F = S, K, T, σ, r), intrinsic once expired.

    `spot` and `vol` may be numpy arrays (they broadcast): this is how the scenario grid revalues.
    A FUTURE past expiry is marked like a PERP here; on chain it settles at its recorded settlement price,
    which a caller models by passing that price as `spot`.
    """
    if pos.spec.is_linear:
        return _float_or_array(pos.size * np.asarray(spot, dtype=float))
    return pos.size * option_price(pos.spec, spot, vol, now, rate)


def option_price(spec: MarketSpec, spot, vol, now: float, rate: float = 0.0):
    """Black-76 price of one unit of an option with forward = spot; intrinsic value at or after expiry."""
    return black76_price(spec.is_call, spot, spec.strike, spec.time_to_expiry(now), vol, rate)


def equity(account: Account, state: MarketState, params: Params, kind: str = "mm") -> float:
    """E = cash + Σ_k bal_k·P_k·(1 - h_k) + Σ_i (value_i - cost_i) + accrued funding, with IM or MM haircuts."""
    return _book_value(account, state, params, lambda c, symbol, balance: collateral_value(
        c, balance, collateral_price(c, state), kind, state.deposits.get(symbol), share_liquidity(c, state)))


def mark_value(account: Account, state: MarketState, params: Params) -> float:
    """[Liquidation.mark_value] V = cash + Σ_k bal_k·P_k + Σ_i (value_i - cost_i) + accrued funding: the equity
    with no haircuts, what an auction sells the portfolio on. A vault's liquidity is a haircut, not a value: an
    ERC-4626 share token counts bal·S_u·rate however little the vault would redeem now (paused included); a
    vault whose rate is unusable (rate 0) counts 0."""
    return _book_value(account, state, params, lambda c, symbol, balance: balance * collateral_price(c, state))


def _book_value(account: Account, state: MarketState, params: Params, collateral_term) -> float:
    """cash + funding + Σ_k collateral_term(c_k, symbol_k, bal_k) + Σ_i (value_i - cost_i), in this order (the
    sim's mirrors sum in the same order, to the last bit)."""
    account = account.resolved(params)
    e = account.cash + account.funding
    for symbol, balance in account.collateral.items():
        c = params.collateral(symbol)
        if c.settlement:
            raise ValueError(f"{symbol} is the settlement asset: hold it as Account.cash, not as collateral")
        e += collateral_term(c, symbol, balance)
    for pos in account.positions:
        u = pos.spec.underlying
        e += position_value(pos, state.spot[u], state.vol[u], state.now, params.risk.rate) - pos.cost
    return float(e)


# ---------------------------------------------------------------------------------------------------------
# scenarios, per underlying
# ---------------------------------------------------------------------------------------------------------

def shock_size(sigma: float, risk: RiskParams) -> float:
    """s_u = clamp(z · σ_u · sqrt(H), shock_min, shock_max), H in years: the shock grows with the vol oracle."""
    return min(risk.shock_max, max(risk.shock_min, risk.z * sigma * math.sqrt(risk.horizon_years)))


def scenario_grid(shock: float) -> np.ndarray:
    """Spot moves m = k/4 · s_u for k = -4..4 (9 relative moves, ascending; the last one is +s_u)."""
    return np.arange(-GRID_STEPS, GRID_STEPS + 1) / GRID_STEPS * shock


def vol_shocks(T_years: float, risk: RiskParams) -> np.ndarray:
    """Vol multipliers (down, flat, up) = (1 - vol_down·m, 1, 1 + vol_up·m), m = min(cap, sqrt(T_ref / T)).

    Short expiries get larger relative vol shocks, up to the cap (bounds keep vol_down · cap < 1).
    """
    m = risk.vol_shock_cap if T_years <= 0 else min(risk.vol_shock_cap, math.sqrt(risk.vol_t_ref_years / T_years))
    return np.array([1.0 - risk.vol_down * m, 1.0, 1.0 + risk.vol_up * m])


def basis_shock(T_years: float, sigma: float, scenarios: ScenarioParams) -> float:
    """b_T = basis_vol · σ_u · T: the relative move of a dated future's basis to spot in the term row.

    A future's basis F/S - 1 is about its carry rate times its time to expiry; stress moves the annualised
    carry rate by basis_vol · σ_u, so the shock grows with vol and with the time to expiry (0 for a perp,
    which tracks the index through funding, and for an expired future)."""
    return scenarios.basis_vol * sigma * max(0.0, T_years)


def scenario_pnl(u: str, account: Account, state: MarketState, params: Params) -> np.ndarray:
    """ΔV_u, shape (4, 9): the PnL of everything on u in each scenario (full revaluation, not Greeks).

    Rows VOL_DOWN, VOL_FLAT, VOL_UP: every expiry's vol at that row of its own `vol_shocks` (parallel).
    Linear positions: size · S · m. Options: value at (S·(1+m), σ·vol multiplier) minus value now.
    Linked collateral: bal · P · m · (1 - h_mm), a spot delta worth its haircut value.
    Row TERM, at each spot move: the linear and collateral PnL, plus for each expiry the worst of its three
    vol rows (each expiry on its own: parallel moves, twists short end up / long end down and the reverse,
    and every other combination of the tenors' own ranges), minus the futures' basis loss |B|·(1 + m) with
    B = Σ_futures size · S · b_T (all bases shocked the same way, in the book's adverse direction).
    """
    account = account.resolved(params)
    spot, sigma, rate = state.spot[u], state.vol[u], params.risk.rate
    moves = scenario_grid(shock_size(sigma, params.risk))
    pnl = np.zeros((4, moves.size))
    groups: dict[float, np.ndarray] = {}  # time to expiry -> PnL (3, 9) of that expiry's options
    basis = 0.0
    for pos in _on(u, account):
        spec = pos.spec
        if spec.is_linear:
            pnl += pos.size * spot * moves
            if spec.kind is Kind.FUTURE:
                basis += pos.size * spot * basis_shock(spec.time_to_expiry(state.now), sigma, params.scenarios)
        else:
            T = spec.time_to_expiry(state.now)
            vols = sigma * vol_shocks(T, params.risk)[:, None]
            leg = position_value(pos, spot * (1.0 + moves)[None, :], vols, state.now, rate) \
                - position_value(pos, spot, sigma, state.now, rate)
            pnl[:3] += leg
            key = max(T, 0.0)
            groups[key] = groups[key] + leg if key in groups else leg
    for leg in groups.values():
        pnl[TERM] += leg.min(axis=0)
    for c in params.linked_collaterals(u):
        balance = account.collateral.get(c.symbol, 0.0)
        if balance:
            pnl += collateral_value(c, balance, spot * share_rate_of(c, state), "mm", state.deposits.get(c.symbol),
                                    share_liquidity(c, state)) * moves
    pnl[TERM] -= abs(basis) * (1.0 + moves)
    return pnl


def worst_loss(pnl: np.ndarray) -> float:
    """K_u = max(0, -min ΔV_u): the worst loss over the grid (the term row is the lowest at every move)."""
    return max(0.0, -float(np.min(pnl)))


def directional(pnl: np.ndarray) -> float:
    """WS_u: the signed PnL of the +s_u spot move at flat vol (the directional part)."""
    return float(pnl[VOL_FLAT, -1])


def split(K: float, WS: float) -> tuple[float, float]:
    """(L_u, C_u): linear part L = clamp(WS, -K, K) and non-linear remainder C = K - |L| >= 0."""
    L = min(K, max(-K, WS))
    return L, K - abs(L)


# ---------------------------------------------------------------------------------------------------------
# across underlyings
# ---------------------------------------------------------------------------------------------------------

def correlation_regimes(rho: np.ndarray, kappa: float) -> np.ndarray:
    """The three regimes, shape (3, n, n): ρ, (1-κ)ρ + κJ (towards 1), (1-κ)ρ + κI (towards 0).

    Convex blends of PSD matrices with unit diagonal stay valid correlation matrices.
    """
    n = rho.shape[0]
    return np.stack([rho, (1 - kappa) * rho + kappa * np.ones((n, n)), (1 - kappa) * rho + kappa * np.eye(n)])


def correlated_requirement(L: np.ndarray, C: np.ndarray, params: Params) -> tuple[float, str]:
    """R = max over regimes of sqrt(max(0, Σ_u Σ_v ρ_uv L_u L_v)) + Σ_u C_u, and the regime that set it.

    The linear parts aggregate like ISDA SIMM delta margin (correlated longs add, cross hedges net); the
    non-linear parts add up with no diversification. With one underlying, R = K_u exactly.
    """
    L = np.asarray(L, dtype=float)
    quad = np.einsum("u,ruv,v->r", L, correlation_regimes(params.rho, params.risk.corr_kappa), L)
    linear = np.sqrt(np.maximum(0.0, quad))
    best = int(np.argmax(linear))
    return float(linear[best] + np.sum(C)), REGIMES[best]


# ---------------------------------------------------------------------------------------------------------
# add-ons
# ---------------------------------------------------------------------------------------------------------

def net_delta(u: str, account: Account, state: MarketState, params: Params) -> float:
    """Σ position deltas on u in units of the underlying (linear: size; options: size · Black-76 delta)."""
    account = account.resolved(params)
    total = 0.0
    for pos in _on(u, account):
        total += pos.size * (1.0 if pos.spec.is_linear else
                             option_greeks(pos.spec, state.spot[u], state.vol[u], state.now, params.risk.rate)[0])
    return total


def addons(u: str, account: Account, state: MarketState, params: Params) -> Addons:
    """Add-ons of underlying u (MM level).

    basis          basis_rate · (gross - |net|) of the linear book (PERP + FUTURE notionals at S_u):
                   futures against perps are not a perfect hedge; a one-sided book pays none.
    short_option   short_option_rate · Σ |size| · S_u over short options.
    concentration  λ_u · N_u · max(A_s·S_u, N_u) / depth_u, N_u = |net delta| · S_u of the positions and A_s
                   the smoothed open interest of u (`state.crowding`); IM's flavour on max(A, A_s).
    """
    account = account.resolved(params)
    return _addons(u, _notionals(u, account, state.spot[u]), net_delta(u, account, state, params), state, params)


def _on(u: str, account: Account) -> list[Position]:
    return [p for p in account.positions if p.spec.underlying == u]


def _notionals(u: str, account: Account, spot: float) -> tuple[float, float, float]:
    """(gross linear, |net| linear, short option) notionals on u, USD."""
    linear = [p.size for p in _on(u, account) if p.spec.is_linear]
    short_options = sum(-p.size for p in _on(u, account) if p.spec.is_option and p.size < 0)
    return sum(abs(x) for x in linear) * spot, abs(sum(linear)) * spot, short_options * spot


def _addons(u: str, notionals: tuple[float, float, float], delta: float, state: MarketState, params: Params) -> Addons:
    gross, net, short_options = notionals
    S = state.spot[u]
    N = abs(delta) * S
    und = params.underlying(u)
    aggregate = state.crowding.get(u)
    return Addons(
        basis=params.risk.basis_rate * (gross - net),
        short_option=params.risk.short_option_rate * short_options,
        concentration=und.concentration * N * max(crowding_level(aggregate, "mm") * S, N) / und.depth_usd,
        concentration_im=und.concentration * N * max(crowding_level(aggregate, "im") * S, N) / und.depth_usd,
    )


# ---------------------------------------------------------------------------------------------------------
# the account
# ---------------------------------------------------------------------------------------------------------

def underlyings_of(account: Account, params: Params) -> tuple[str, ...]:
    """The underlyings an account touches (positions and linked collateral), in `params.symbols` order."""
    account = account.resolved(params)
    touched = {p.spec.underlying for p in account.positions}
    touched |= {params.collateral(k).underlying for k, bal in account.collateral.items() if bal}   # unit: None
    return tuple(u for u in params.symbols if u in touched)


def underlying_risk(u: str, account: Account, state: MarketState, params: Params) -> UnderlyingRisk:
    """Steps 1, 2 and 4 of DESIGN §4 for one underlying: s_u, ΔV_u, K_u, WS_u, L_u, C_u and add-ons."""
    account = account.resolved(params)
    pnl = scenario_pnl(u, account, state, params)
    K, WS = worst_loss(pnl), directional(pnl)
    L, C = split(K, WS)
    delta = net_delta(u, account, state, params)
    notionals = _notionals(u, account, state.spot[u])
    return UnderlyingRisk(
        symbol=u, spot=state.spot[u], vol=state.vol[u], shock=shock_size(state.vol[u], params.risk), pnl=pnl,
        worst_loss=K, directional=WS, linear=L, nonlinear=C, net_delta=delta,
        gross_linear_notional=notionals[0], net_linear_notional=notionals[1], short_option_notional=notionals[2],
        addons=_addons(u, notionals, delta, state, params),
    )


def requirements(account: Account, state: MarketState, params: Params) -> MarginResult:
    """Equity, IM, MM and shortfalls of an account.

    MM = R + Σ_u add-ons_u (MM haircuts inside the scenarios); IM = im_factor · (MM + Σ_u (conc_im,u - conc_u)),
    so 0 <= MM <= IM (IM's concentration prices today's crowding, MM's the smoothed one).
    Only the underlyings the account touches are evaluated (and need a price and a vol): L_u = C_u = 0
    elsewhere, so an account's health never depends on a feed it has no exposure to.
    """
    account = account.resolved(params)
    per = {u: underlying_risk(u, account, state, params) for u in underlyings_of(account, params)}
    L = np.array([per[u].linear if u in per else 0.0 for u in params.symbols])
    C = np.array([per[u].nonlinear if u in per else 0.0 for u in params.symbols])
    R, regime = correlated_requirement(L, C, params)
    total_addons = sum(r.addons.total for r in per.values())
    mm = R + total_addons
    im = params.risk.im_factor * (mm + sum(r.addons.im_extra for r in per.values()))
    e_im, e_mm = equity(account, state, params, "im"), equity(account, state, params, "mm")
    return MarginResult(
        equity_im=e_im, equity_mm=e_mm, im=im, mm=mm, im_shortfall=im - e_im, mm_shortfall=mm - e_mm,
        scenario=R, addons=total_addons, regime=regime, per_underlying=per,
    )


def stale_vol(vol: float, params: Params) -> float:
    """[VolOracle._point] What a vol older than its heartbeat reads: marked up by the staleness factor, at most
    max_vol."""
    return min(vol * params.oracle.vol_stale_factor, params.oracle.max_vol)


def liquidation_requirements(account: Account, state: MarketState, params: Params,
                             stale_prices: Iterable[str] = (), stale_vols: Iterable[str] = ()) -> tuple[MarginResult, float]:
    """[margin_for_liquidation] The liquidation test's view (TECH_SPEC "Liquidation mode"): a doubtful input
    makes the account look worse instead of blocking. `state` holds the last prices and the vols as read (a stale
    vol already marked up: `stale_vol`). For every underlying u in doubt (its price in `stale_prices`, or its vol
    in `stale_vols`): equity loses K_u (positions at their worst scenario), and when its price is stale its
    linked collateral counts 0 in equity (still a spot delta in the scenarios, so MM and IM do not move).
    Returns the result with those penalties taken and the penalty on E_mm (E_mm + penalty = the equity at the
    last inputs)."""
    account = account.resolved(params)
    base = requirements(account, state, params)
    prices, vols = set(stale_prices), set(stale_vols)
    pen_im = pen_mm = 0.0
    for u, risk in base.per_underlying.items():
        if u not in prices and u not in vols:
            continue
        pen_im += risk.worst_loss
        pen_mm += risk.worst_loss
        if u in prices:
            for symbol, balance in account.collateral.items():
                c = params.collateral(symbol)
                if c.underlying == u:
                    price = collateral_price(c, state)
                    liq = share_liquidity(c, state)
                    pen_im += collateral_value(c, balance, price, "im", state.deposits.get(symbol), liq)
                    pen_mm += collateral_value(c, balance, price, "mm", state.deposits.get(symbol), liq)
    e_im, e_mm = base.equity_im - pen_im, base.equity_mm - pen_mm
    result = dataclasses.replace(base, equity_im=e_im, equity_mm=e_mm, im_shortfall=base.im - e_im,
                                 mm_shortfall=base.mm - e_mm)
    return result, pen_mm


def isolated_requirements(account: Account, state: MarketState, params: Params) -> IsolatedResult:
    """The isolated comparator: each position margined alone (its own subaccount, no collateral), and each
    linked collateral holding alone. Same engine, same formulas (DESIGN §3 "Accounts")."""
    account = account.resolved(params)
    items = [(pos.spec.name, requirements(account.only(pos), state, params)) for pos in account.positions]
    for symbol, balance in account.collateral.items():
        if balance and params.collateral(symbol).underlying is not None:
            items.append((symbol, requirements(Account(collateral={symbol: balance}), state, params)))
    return IsolatedResult(tuple(items))


def is_risk_reducing(before: MarginResult, after: MarginResult) -> bool:
    """A trade is risk-reducing iff the post-trade MM shortfall is no worse than before."""
    return after.mm_shortfall <= before.mm_shortfall


# ---------------------------------------------------------------------------------------------------------
# greeks
# ---------------------------------------------------------------------------------------------------------

def option_greeks(spec: MarketSpec, spot: float, vol: float, now: float, rate: float = 0.0) -> tuple[float, float, float, float]:
    """(delta, gamma, vega, theta) of one unit of an option: Black-76 with forward = spot (pricing module
    units: delta per unit of S, gamma per unit of S², vega per 1.00 vol, theta dV/dt per year). Expired:
    delta ±1 in the money, 0 otherwise, the rest 0."""
    g = black76_greeks(spec.is_call, spot, spec.strike, spec.time_to_expiry(now), vol, rate)
    return g.delta, g.gamma, g.vega, g.theta


def greeks(account: Account, state: MarketState, params: Params) -> dict[str, Greeks]:
    """Aggregate Greeks per touched underlying. Delta includes linked collateral at its full balance (the
    hedge orchestrator's view of exposure); gamma, vega and theta come from options only."""
    account = account.resolved(params)
    out = {}
    for u in underlyings_of(account, params):
        spot, sigma = state.spot[u], state.vol[u]
        d = g = v = t = 0.0
        for pos in _on(u, account):
            if pos.spec.is_linear:
                d += pos.size
            else:
                od, og, ov, ot = option_greeks(pos.spec, spot, sigma, state.now, params.risk.rate)
                d, g, v, t = d + pos.size * od, g + pos.size * og, v + pos.size * ov, t + pos.size * ot
        d += sum(account.collateral.get(c.symbol, 0.0) * share_rate_of(c, state) for c in params.linked_collaterals(u))
        out[u] = Greeks(delta=d, delta_usd=d * spot, gamma=g, vega=v, theta=t)
    return out


# ---------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------

def _float_or_array(x: np.ndarray):
    return x if x.ndim else float(x)
