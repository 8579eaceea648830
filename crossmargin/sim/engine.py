"""The margin engine over many accounts at once, and the walk of a book set along a price path.

`MarginArrays.health(state)` computes, for every account of a `BookSet`, the quantities of
`crossmargin.model.margin.requirements` (DESIGN §4) with numpy over the account axis. Per-instrument numbers
come from the model's own functions (`shock_size`, `scenario_grid`, `vol_shocks`, `correlation_regimes`, and
Black-76 from `crossmargin.model.pricing` with the arguments `option_price` / `option_greeks` use); what is
vectorised is the sum over positions, the worst loss, the linear/non-linear split, the correlated aggregation
and the add-ons. Every sum runs in the model's order (positions in market order, then linked collateral), so
the results equal `requirements(books.account(i), ...)` to the last bit (tests/sim assert equality); an
underlying an account does not touch contributes exact zeros, as in the model.

Per account and underlying u (one step):
    ΔV_u  = Σ_{j on u} size_j·(V_j(scenario) - V_j) + Σ_{k linked to u} bal_k·P_k·(1 - h_mm,k)·m  (3 × 9 grid)
    K_u, WS_u, L_u, C_u as in the model; R = max_regime sqrt(max(0, Lᵀ ρ_r L)) + Σ C_u
    add-ons: basis_rate·(gross - |net|) linear notional, short_option_rate·short option notional,
             λ_u·(|Σ size_j·delta_j|·S_u)² / depth_u
    MM = R + Σ add-ons, IM = im_factor·MM;  E = cash + Σ_k bal·P·(1 - h) + Σ_j (size_j·V_j - cost_j)

The walk (`walk`): at every step after the start, an account still open with equity_mm < MM is liquidated.
Liquidation outcome model: the whole portfolio is sold in one auction that clears `delay_steps` later at
that step's prices, the bidder keeping a discount of `discount · MM` (MM at the breach: the bidder is paid for
the risk it takes over). The account is left with E_mm(close) - discount·MM; if that is negative it is bad
debt, paid by the insurance fund in time order; what the fund cannot pay is socialised ("uncovered").
Owners are passive (no top-ups, no reduction); funding payments are not simulated.
With `LiquidationModel(schedule=params.liquidation)` the walk follows the Liquidation contract instead
(`_auction_walk`, TECH_SPEC "Liquidation"), step by step:
    start     an account below MM and not in auction opens one: the starter's flag fee
              min(flag_fee_rate·MM, flag_fee_cap, max(V, 0)) leaves its cash; its first bid is `delay_steps` later
    bid       a keeper asks for the whole portfolio at the auction's discount d(t) = min(d_max, d_start +
              (d_max - d_start)·t/T) (t since the start; after max_age_seconds the auction restarts at d_start, no
              new fee). Solvent (V > 0): it gets f = min(1, cap) of every position, collateral balance and cash,
              paying f·V·(1 - d) to the account, which pays the fund f·V·r; the cap is 1 when MM <= min_partial_mm
              or E_mm <= full_close_health·MM, else f_max = (IM - E_im + 3·slack) / (IM - E_im + V·(1 - d - r))
              (the fraction that puts the account back above IM; slack = 1e-4 + MM·1e-6 USD). Insolvent (V <= 0):
              everything, the fund paying need = -V + MM·d (the rest uncovered, socialised). Escalated (t >=
              escalation_delay, 0 < V < escalation_reward·MM): everything, at d(t), plus the reward
              escalation_reward·MM·min(1, t_e / T) out of the owner's proceeds first, the rest paid like a need
    after     an account no longer below MM ends its auction (it is open again: a new breach opens a new auction
              and pays a new flag fee); one still below MM is bid again at the next step
    funding   with a `FundingModel`, perps pay funding each step as Markets accrues it: the index grows by
              clamp(P, ±funding_max_rate)·S·dt / funding_period (longs pay when P > 0), P the mark premium of the
              model (a constant plus `beta` × the trailing day's log return: perps trade at a discount in a crash)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from crossmargin.model.margin import VOL_FLAT, basis_shock, correlation_regimes, scenario_grid, shock_size, vol_shocks
from crossmargin.model.params import Kind, LiquidationParams, Params
from crossmargin.model.portfolio import MarketState
from crossmargin.model.pricing import black76_greeks, black76_price
from crossmargin.sim.books import BookSet
from crossmargin.sim.paths import PricePath

N_MOVES = scenario_grid(0.1).size          # 9 spot moves
WS_INDEX = VOL_FLAT * N_MOVES + N_MOVES - 1  # (+s_u, flat vol) in a flattened 3 × 9 grid


@dataclass(frozen=True)
class Units:
    """Per-instrument numbers at one state: what one unit of each held market is worth and risks."""

    S: np.ndarray       # (U,) index prices
    V: np.ndarray       # (M,) value of one unit (linear: S; option: Black-76)
    grid: np.ndarray    # (M, 27) options: value of one unit in each scenario, the 3 × 9 grid flattened row by row
    delta: np.ndarray   # (M,) delta of one unit (linear: 1)
    moves: list         # per underlying, its 9 relative spot moves tiled 3 times (one per vol row)
    sig: np.ndarray     # (U,) vols


@dataclass(frozen=True)
class Health:
    """Per-account margin numbers at one state (USD, MM-level scenario/add-ons like `MarginResult`)."""

    equity_im: np.ndarray
    equity_mm: np.ndarray
    im: np.ndarray
    mm: np.ndarray
    scenario: np.ndarray    # R
    addons: np.ndarray      # Σ_u add-ons

    @property
    def liquidatable(self) -> np.ndarray:
        """mm_shortfall > 0, i.e. equity_mm < MM (the model's `MarginResult.liquidatable`)."""
        return self.mm - self.equity_mm > 0


class MarginArrays:
    """`requirements` for every account of a BookSet, vectorised over accounts (see the module docstring)."""

    def __init__(self, books: BookSet):
        p = books.params
        self.books, self.params = books, p
        self.symbols = p.symbols
        self.und = np.array([p.index(m.underlying) for m in p.markets], dtype=int)
        self.linear = np.array([m.is_linear for m in p.markets])
        self.is_call = np.array([m.is_call for m in p.markets])
        self.strike = np.array([m.strike or 0.0 for m in p.markets])
        colls = books.collaterals
        self.c_und = np.array([p.index(c.underlying) for c in colls], dtype=int)
        self.c_base = {"im": np.array([c.haircut_base_im for c in colls]),
                       "mm": np.array([c.haircut_base_mm for c in colls])}
        self.c_slope = np.array([c.haircut_slope for c in colls])
        self.c_depth = np.array([c.depth_usd for c in colls])
        self.regimes = correlation_regimes(p.rho, p.risk.corr_kappa)
        self.lam = np.array([u.concentration for u in p.underlyings])
        self.depth = np.array([u.depth_usd for u in p.underlyings])
        # Sparse layout, fixed for the book set: per underlying u the accounts touching it (`rows[u]`), and per
        # held market j on u (in market order) the positions of its non-zero sizes within rows[u] and the sizes.
        U, sizes, bal = len(self.symbols), books.sizes, books.collateral
        self.held = np.flatnonzero(np.any(sizes != 0, axis=0))       # only held markets need pricing
        self.rows, self.cols, self.colls = [], [], []
        for u in range(U):
            on = [j for j in self.held if self.und[j] == u]
            linked = [k for k in range(bal.shape[1]) if self.c_und[k] == u]
            touch = np.zeros(len(books), dtype=bool)
            for j in on:
                touch |= sizes[:, j] != 0
            for k in linked:
                touch |= bal[:, k] != 0
            rows = np.flatnonzero(touch)
            local = np.full(len(books), -1)
            local[rows] = np.arange(rows.size)
            self.rows.append(rows)
            held_by = {j: np.flatnonzero(sizes[:, j]) for j in on}
            self.cols.append([(j, local[held_by[j]], sizes[held_by[j], j]) for j in on])
            self.colls.append([(k, local[np.flatnonzero(bal[:, k])], np.flatnonzero(bal[:, k])) for k in linked])
        self.pos = [(j, np.flatnonzero(sizes[:, j])) for j in self.held]  # for equity: rows holding j

    def __len__(self) -> int:
        return len(self.books)

    # -- per instrument ----------------------------------------------------------------------------------------
    def units(self, state: MarketState) -> Units:
        """Value, scenario values and delta of one unit of every held market at `state`.

        Options are priced in one batched Black-76 call with exactly the arguments `option_price` /
        `option_greeks` / `scenario_pnl` pass per option (F = S·(1 + m), σ·vol multiplier, T from `now`).
        """
        p, r = self.params, self.params.risk
        S = np.array([state.spot[u] for u in self.symbols], dtype=float)
        sig = np.array([state.vol[u] for u in self.symbols], dtype=float)
        moves = [scenario_grid(shock_size(s, r)) for s in sig]
        M = len(p.markets)
        V, grid, delta = np.zeros(M), np.zeros((M, 3 * N_MOVES)), np.zeros(M)
        lin = self.held[self.linear[self.held]]
        V[lin], delta[lin] = S[self.und[lin]], 1.0
        opt = self.held[~self.linear[self.held]]
        if opt.size:
            specs = [p.markets[j] for j in opt]
            u = self.und[opt]
            T = np.array([m.time_to_expiry(state.now) for m in specs])
            is_call, K = self.is_call[opt], self.strike[opt]
            g = black76_greeks(is_call, S[u], K, T, sig[u], r.rate)
            V[opt], delta[opt] = g.price, g.delta
            F = np.stack([S[i] * (1.0 + moves[i]) for i in u])[:, None, :]                  # (n, 1, 9)
            vols = np.stack([sig[i] * vol_shocks(t, r) for i, t in zip(u, T)])[:, :, None]  # (n, 3, 1)
            grid[opt] = black76_price(is_call[:, None, None], F, K[:, None, None], T[:, None, None], vols,
                                      r.rate).reshape(opt.size, -1)
        return Units(S, V, grid, delta, [np.tile(m, 3) for m in moves], sig)

    def collateral_values(self, S: np.ndarray, kind: str) -> np.ndarray:
        """(A, K) bal·P·(1 - h), h = min(1, base + slope·max(bal, 0)·P / depth) (model `collateral_value`)."""
        bal = self.books.collateral
        if bal.shape[1] == 0:
            return bal
        P = S[self.c_und][None, :]
        value = np.maximum(bal, 0.0) * P
        h = np.minimum(1.0, self.c_base[kind][None, :] + self.c_slope[None, :] * value / self.c_depth[None, :])
        return bal * P * (1.0 - h)

    # -- per account ---------------------------------------------------------------------------------------------
    # Sums run position by position in market order, as the model's loops do, so the floating-point results are
    # the model's to the last bit (tests/sim check equality); zero sizes add exact zeros.
    def equity(self, state: MarketState, kind: str = "mm") -> np.ndarray:
        """E per account with IM or MM haircuts (funding accrual is 0 in the simulation)."""
        x = self.units(state)
        return self._equity(x, self.collateral_values(x.S, kind))

    def mark_value(self, state: MarketState) -> np.ndarray:
        """V per account: equity with no haircuts (the Liquidation contract's mark value; funding is 0 here)."""
        x = self.units(state)
        bal = self.books.collateral
        return self._equity(x, bal * x.S[self.c_und][None, :] if bal.shape[1] else bal)

    def _equity(self, x: Units, cv: np.ndarray) -> np.ndarray:
        b = self.books
        e = b.cash + 0.0
        for k in range(cv.shape[1]):
            e = e + cv[:, k]
        for j, rows in self.pos:
            e[rows] = e[rows] + (b.sizes[rows, j] * x.V[j] - b.costs[rows, j])
        return e

    def health(self, state: MarketState) -> Health:
        """Equity, IM, MM, R and add-ons of every account at `state` (the model's `requirements`, vectorised)."""
        x = self.units(state)
        r = self.params.risk
        A, U = len(self.books), len(self.symbols)
        cv_mm = self.collateral_values(x.S, "mm")
        L, C, addons = np.zeros((A, U)), np.zeros((A, U)), np.zeros(A)
        for u in range(U):
            rows = self.rows[u]
            if not rows.size:
                continue
            n, S, moves = rows.size, x.S[u], x.moves[u][None, :]
            m9 = x.moves[u][None, :N_MOVES]
            pnl = np.zeros((n, 3 * N_MOVES))
            term, fut = np.zeros((n, N_MOVES)), np.zeros(n)   # model: the TERM row and Σ size·S·b_T
            groups: dict[float, np.ndarray] = {}                # time to expiry -> (n, 27) of that expiry's options
            gross, lin_net, short_opt, delta = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
            for j, at, size in self.cols[u]:  # position by position (model: scenario_pnl, _notionals, net_delta)
                spec = self.params.markets[j]
                if self.linear[j]:
                    pnl[at] = pnl[at] + (size * S)[:, None] * moves
                    term[at] = term[at] + (size * S)[:, None] * m9
                    gross[at], lin_net[at] = gross[at] + np.abs(size), lin_net[at] + size
                    if spec.kind is Kind.FUTURE:
                        fut[at] = fut[at] + size * S * basis_shock(spec.time_to_expiry(state.now), x.sig[u],
                                                                   self.params.scenarios)
                else:
                    leg = size[:, None] * x.grid[j][None, :] - (size * x.V[j])[:, None]
                    pnl[at] = pnl[at] + leg
                    key = max(spec.time_to_expiry(state.now), 0.0)
                    g = groups.setdefault(key, np.zeros((n, 3 * N_MOVES)))
                    g[at] = g[at] + leg
                    short_opt[at] = short_opt[at] + np.where(size < 0, -size, 0.0)
                delta[at] = delta[at] + size * x.delta[j]
            for g in groups.values():
                term = term + g.reshape(n, 3, N_MOVES).min(axis=1)
            for k, at, src in self.colls[u]:
                pnl[at] = pnl[at] + cv_mm[src, k][:, None] * moves
                term[at] = term[at] + cv_mm[src, k][:, None] * m9
            term = term - np.abs(fut)[:, None] * (1.0 + m9)
            K = np.maximum(0.0, -np.minimum(pnl.min(axis=1), term.min(axis=1)))
            Lu = np.minimum(K, np.maximum(-K, pnl[:, WS_INDEX]))
            L[rows, u], C[rows, u] = Lu, K - np.abs(Lu)
            N = np.abs(delta) * S
            basis = r.basis_rate * (gross * S - np.abs(lin_net) * S)
            concentration = self.lam[u] * N * N / self.depth[u]
            addons[rows] = addons[rows] + (basis + r.short_option_rate * (short_opt * S) + concentration)
        # Σ_u Σ_v L_u ρ_ruv L_v per regime, in np.einsum's own order (bit-equal to the model, faster)
        quad = np.zeros((A, len(self.regimes)))
        for u in range(U):
            for v in range(U):
                quad = quad + (L[:, u, None] * self.regimes[None, :, u, v]) * L[:, v, None]
        R = np.sqrt(np.maximum(0.0, quad.max(axis=1))) + C.sum(axis=1)
        mm = R + addons
        return Health(equity_im=self._equity(x, self.collateral_values(x.S, "im")), equity_mm=self._equity(x, cv_mm),
                      im=r.im_factor * mm, mm=mm, scenario=R, addons=addons)


# ---------------------------------------------------------------------------------------------------------
# the walk
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LiquidationModel:
    """How a liquidation ends (see the module docstring)."""

    discount: float = 0.25     # the bidder keeps discount · MM (MM at the breach)
    delay_steps: int = 1       # the auction clears this many path steps after the breach (gap risk)
    # -- the contract's Dutch auction (issue 13): with a schedule, `discount` is unused and a full bid clears at
    # the close step with the contract's d(t) on the mark value V (TECH_SPEC "Liquidation"): the starter's flag
    # fee min(flag_fee_rate·MM, flag_fee_cap, max(V, 0)) at the breach; solvent (V > 0): the account keeps
    # V·(1 - d - r), the fund earns V·r; insolvent (V <= 0): the fund owes -V + MM·d (MM at the bid)
    schedule: LiquidationParams | None = None
    funding: FundingModel | None = None    # perp funding along the path (with a schedule only)

    def __post_init__(self) -> None:
        if not (0 <= self.discount <= 1) or self.delay_steps < 0:
            raise ValueError(f"liquidation discount must be in [0, 1] and delay >= 0, "
                             f"got {self.discount}, {self.delay_steps}")
        if self.funding is not None and self.schedule is None:
            raise ValueError("funding is simulated with the contract's auction (a schedule) only")


@dataclass(frozen=True)
class FundingModel:
    """The perps' mark premium P along a path (per funding period, fraction of the index): `premium` plus `beta`
    × the log return of the underlying over the trailing day (0 before a day has passed). Markets' funding rate is
    clamp(P, ±funding_max_rate) per `funding_period`; the cumulative index grows by rate·S·dt / period (longs pay
    when positive). Without fills the chain's premium is 0: this is the model's stand-in for the fills that make
    it (a premium of 1e-4 per hour is 0.01 % per hour, ~88 % a year: use small values)."""

    premium: float = 0.0
    beta: float = 0.0

    def index_steps(self, params: Params, path: PricePath) -> np.ndarray:
        """(T+1, M) cumulative funding index per unit (USD) of every market at every step (0 at the start; 0 for
        markets that are not perps)."""
        T, M = path.steps, len(params.markets)
        out = np.zeros((T + 1, M))
        dt = np.diff(path.times)
        for j, m in enumerate(params.markets):
            if m.kind != Kind.PERP:
                continue
            S = path.spot[:, params.index(m.underlying)]
            day = np.searchsorted(path.times, path.times - 86_400.0)          # the step a day earlier (or 0)
            trailing = np.where(path.times >= 86_400.0, np.log(S / S[day]), 0.0)
            P = self.premium + self.beta * trailing[:-1]                     # premium during each step
            rate = np.clip(P, -m.funding_max_rate, m.funding_max_rate)
            out[1:, j] = np.cumsum(rate * S[:-1] * dt / m.funding_period)
        return out


@dataclass(frozen=True)
class WalkResult:
    """One book set (cross accounts or isolated subaccounts) walked along one path. Arrays are per account."""

    path: str
    im0: np.ndarray              # IM at the start (the capital the account must hold)
    liquidated_step: np.ndarray  # step of the MM breach, -1 if never
    bad_debt: np.ndarray         # USD the account owed after its liquidation (0 if none)
    penalty: np.ndarray          # USD the owner lost to the bidder's discount
    insurance_fund: float        # fund at the start, USD
    insurance_used: float        # paid by the fund
    uncovered: float             # bad debt the fund could not pay (socialised)
    fund_path: np.ndarray = field(repr=False)  # fund balance after each step, (T+1,)
    auctions: int = 0            # auctions opened (the contract's walk; an account may have several)
    bids: int = 0                # bids taken
    partial_bids: int = 0        # bids capped below the whole portfolio (f_max < 1)
    funding_paid: float = 0.0    # USD of perp funding paid by the accounts, net (the contract's walk)

    @property
    def liquidations(self) -> int:
        return int((self.liquidated_step >= 0).sum())

    @property
    def total_bad_debt(self) -> float:
        return float(self.bad_debt.sum())


def walk(engine: MarginArrays, path: PricePath, liquidation: LiquidationModel = LiquidationModel(),
         insurance_fund: float = 0.0, start: Health | None = None) -> WalkResult:
    """Walk every account of `engine` along `path` (see the module docstring); `start`: health at step 0."""
    if liquidation.schedule is not None:
        return _auction_walk(engine, path, liquidation, insurance_fund, start)
    A, T = len(engine), path.steps
    h0 = start or engine.health(path.state(0))
    open_ = np.ones(A, dtype=bool)
    liq_step = np.full(A, -1, dtype=int)
    mm_breach = np.zeros(A)
    bad_debt, penalty = np.zeros(A), np.zeros(A)
    pending: dict[int, np.ndarray] = {}
    fund, used, uncovered = float(insurance_fund), 0.0, 0.0
    fund_path = np.full(T + 1, fund)
    for t in range(1, T + 1):
        state = path.state(t)
        h = engine.health(state)
        new = np.flatnonzero(open_ & h.liquidatable)
        if new.size:
            open_[new], liq_step[new], mm_breach[new] = False, t, h.mm[new]
            close = min(t + liquidation.delay_steps, T)
            pending[close] = np.concatenate([pending.get(close, np.empty(0, dtype=int)), new])
        due = pending.pop(t, None)
        if due is not None:
            disc = liquidation.discount * mm_breach[due]
            left = h.equity_mm[due] - disc
            penalty[due] = np.clip(h.equity_mm[due], 0.0, disc)
            bad_debt[due] = np.maximum(0.0, -left)
            owed = float(bad_debt[due].sum())
            pay = min(fund, owed)
            fund, used, uncovered = fund - pay, used + pay, uncovered + owed - pay
        fund_path[t] = fund
    return WalkResult(path.name, h0.im.copy(), liq_step, bad_debt, penalty, float(insurance_fund), used, uncovered,
                      fund_path)


PROOF_SLACK = 1e-4         # USD: Liquidation._slack = PROOF_SLACK + MM / PROOF_SLACK_PARTS
PROOF_SLACK_PARTS = 1e6


def fraction_cap(sched: LiquidationParams, V, d, mm, im, equity_mm, equity_im) -> np.ndarray:
    """The largest fraction a solvent bid may take (Liquidation._fraction_cap, in floats): 1 when MM <=
    min_partial_mm or E_mm <= full_close_health·MM, else (IM - E_im + 3·slack) / (IM - E_im + V·(1 - d - r)), at
    most 1."""
    gap = np.asarray(im, dtype=float) - equity_im
    slack = PROOF_SLACK + np.asarray(mm, dtype=float) / PROOF_SLACK_PARTS
    with np.errstate(divide="ignore", invalid="ignore"):
        f = (gap + 3 * slack) / (gap + V * (1.0 - d - sched.fund_fee_rate))
    whole = (mm <= sched.min_partial_mm) | (equity_mm <= sched.full_close_health * mm) | ~np.isfinite(f)
    return np.where(whole, 1.0, np.clip(f, 0.0, 1.0))


def _auction_walk(engine: MarginArrays, path: PricePath, liq: LiquidationModel, insurance_fund: float,
                  start: Health | None) -> WalkResult:
    """The walk with the Liquidation contract's auctions, partial bids and (optionally) perp funding (module
    docstring). The book set is copied: accounts shrink as bids take fractions of them."""
    sched = liq.schedule
    b0 = engine.books
    books = dataclasses.replace(b0, sizes=b0.sizes.copy(), costs=b0.costs.copy(), premiums=b0.premiums.copy(),
                                cash=b0.cash.astype(float, copy=True), collateral=b0.collateral.copy())
    eng = MarginArrays(books)
    A, T = len(eng), path.steps
    h0 = start or eng.health(path.state(0))
    first = np.full(A, -1, dtype=int)           # step of the first auction start
    in_auction = np.zeros(A, dtype=bool)
    began = np.zeros(A)                         # time the auction (re)started
    next_bid = np.zeros(A, dtype=int)
    emptied = np.zeros(A, dtype=bool)
    bad_debt, penalty, paid_funding = np.zeros(A), np.zeros(A), np.zeros(A)
    fund, used, uncovered = float(insurance_fund), 0.0, 0.0
    fund_path = np.full(T + 1, fund)
    n_bids = n_partial = n_auctions = 0
    F = liq.funding.index_steps(books.params, path) if liq.funding is not None else None
    for t in range(1, T + 1):
        state = path.state(t)
        if F is not None:                       # funding accrued over the step, settled into cash
            owed = books.sizes @ (F[t] - F[t - 1])
            books.cash[:] -= owed
            paid_funding += owed
        h = eng.health(state)
        V = eng.mark_value(state)
        below = h.liquidatable & ~emptied
        new = np.flatnonzero(below & ~in_auction)
        if new.size:                            # start_auction: the flag fee leaves the account's cash
            fee = np.minimum(np.minimum(sched.flag_fee_rate * h.mm[new], sched.flag_fee_cap), np.maximum(V[new], 0.0))
            books.cash[new] -= fee
            penalty[new] += fee
            in_auction[new], began[new], next_bid[new] = True, state.now, t + liq.delay_steps
            first[new] = np.where(first[new] < 0, t, first[new])
            n_auctions += new.size
            h = dataclasses.replace(h, equity_mm=h.equity_mm - _spread(A, new, fee),
                                    equity_im=h.equity_im - _spread(A, new, fee))
            V = V - _spread(A, new, fee)
        ended = in_auction & ~below             # close_auction: no longer below MM
        in_auction[ended] = False
        due = np.flatnonzero(in_auction & (next_bid <= t))
        if due.size:
            old = state.now - began[due] > sched.max_age_seconds        # expired: restart at d_start, no fee
            began[due[old]] = state.now
            d = np.array([sched.discount(float(state.now - began[i])) for i in due])
            Vd, mm = V[due], h.mm[due]
            solvent = Vd > 0
            # escalation (issue 18): a full bid on a sliver left unbid escalation_delay since its (re)start is taken
            # whole at d(t) and earns a reward, out of the owner's proceeds first, then the fund
            # (`LiquidationParams.escalated_bid`)
            age = [float(state.now - began[i]) for i in due]
            reward = np.array([sched.escalation_reward_at(a, V[i], h.mm[i]) for a, i in zip(age, due)])
            esc = solvent & np.array([sched.escalated(a, V[i], h.mm[i]) for a, i in zip(age, due)], dtype=bool)
            f = np.where(solvent, fraction_cap(sched, Vd, d, mm, h.im[due], h.equity_mm[due], h.equity_im[due]), 1.0)
            f = np.where(esc, 1.0, f)
            keep = 1.0 - f
            pay = np.where(solvent, f * Vd * (1.0 - d), 0.0)
            fee = np.where(solvent, f * Vd * sched.fund_fee_rate, 0.0)
            own = np.where(esc, np.minimum(reward, pay - fee), 0.0)
            pay = pay - own
            need = np.where(solvent, reward - own, -Vd + mm * d)
            books.sizes[due] *= keep[:, None]
            books.costs[due] *= keep[:, None]
            books.premiums[due] *= keep[:, None]
            books.collateral[due] *= keep[:, None]
            books.cash[due] = np.where(solvent, books.cash[due] * keep + pay - fee, 0.0)
            penalty[due] += np.where(solvent, f * Vd * d + fee + own, 0.0)
            bad_debt[due] += need
            fund += float(fee.sum())            # fund fees come in before the bad debt goes out
            owed = float(need.sum())
            pay_fund = min(fund, owed)
            fund, used, uncovered = fund - pay_fund, used + pay_fund, uncovered + owed - pay_fund
            n_bids += due.size
            n_partial += int((f < 1.0).sum())
            emptied[due[f >= 1.0]] = True
            in_auction[due[f >= 1.0]] = False
            eng = MarginArrays(books)           # the shrunk accounts
            still = eng.health(state).liquidatable[due] & ~emptied[due]
            in_auction[due[~still]] = False     # restored: the bid closes the auction
            next_bid[due[still]] = t + 1        # still below MM: bid again at the next step
        fund_path[t] = fund
    return WalkResult(path.name, h0.im.copy(), first, bad_debt, penalty, float(insurance_fund), used, uncovered,
                      fund_path, auctions=n_auctions, bids=n_bids, partial_bids=n_partial,
                      funding_paid=float(paid_funding.sum()))


def _spread(n: int, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
    out = np.zeros(n)
    out[rows] = x
    return out
