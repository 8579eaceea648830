"""Probability of liquidation: P(E_mm < MM at some time within 1 h / 24 h), by vectorised Monte Carlo.

For one account (a model `Account` read from chain or from a book file) and the market it is valued in:

    paths       per underlying u, log S_u(t) = ln S_u(0) + σ_u·sqrt(t)·X_u(t) - ½σ_u²·t over the horizon H,
                σ_u the forecast vol (annualised; on chain the VolOracle's, i.e. what the vol feeder posted)
    X(t)        a unit-variance process with the configured correlation ρ (Cholesky): the endpoint X(H)
                drawn from the tail model, the path in between a Brownian bridge to it (exact for Brownian
                motion, so the `normal` model is GBM sampled at the steps)
                  normal   X(H) ~ N(0, ρ)
                  t        multivariate Student-t(ν) with scale c: one χ²_ν mixing draw per path scales the
                           endpoint AND the bridge, so the whole path is a scale mixture of Brownian motions and the
                           return over any part of the horizon is Student-t (tails do not average away over steps);
                           ν and c fitted (maximum likelihood, location 0) to the shipped history's EWMA-standardised
                           daily returns on the days with every underlying, pooled (shipped file: ν ≈ 3.7,
                           c ≈ 0.74 — a narrower body and fatter tails than N(0, 1); a unit-variance t with so low
                           a ν would shrink the typical move by a third)
                  fhs      filtered historical simulation: X(H) = a day of the shipped history's standardised
                           returns (r_t / σ_EWMA,t-1, all underlyings on the same day), re-coloured from the
                           history's correlation to the configured ρ (whiten, then Cholesky of ρ), keeping each
                           column's own scale (the forecast's bias on history is part of the sample); for H > 1 day
                           the sum of ceil(H) such days / sqrt(ceil(H))
    vol         the oracle vol moves with spot as the feeder's forecast does on history: the daily variance
                follows the EWMA recursion along the path, v ← v + a·(r² - f·v) per step (r the step's log
                return, f the step in days, a = 1 - λ = 0.06 as in `crossmargin.sim.vol`), inside the
                VolOracle's rate limit (×/÷ vol_hour_factor per started hour, at most vol_day_factor) and bounds
    revaluation E_mm and MM of the account at every step of every path with the model's formulas
                (`crossmargin.model.margin.requirements`, vectorised over states by `Revaluer`): equity with MM
                haircuts, the 3 × 9 scenario grid with full Black-76 revaluation of options (vol shocks, time to
                expiry at the step), correlation regimes, add-ons. Linear-only underlyings use the closed form
                of the grid (K = |X|·s, L = X·s, C = 0 with X = net size·S + linked collateral value), which
                is what the grid gives for them
    event       liquidated on a path iff E_mm < MM at some step k >= 1 (already liquidatable: P = 1)

P is the fraction of paths with the event; `stderr` = sqrt(P(1-P)/paths). Discrete monitoring (steps of
1 minute for 1 h, 5 minutes for 24 h by default) slightly under-counts barrier crossings between steps.

Reproducible: paths come in chunks of `CHUNK` paths, chunk c drawn from `numpy.random.default_rng([seed, c])`,
so the result depends only on (seed, paths), not on how chunks are scheduled (single process or Dask).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from crossmargin.model.margin import GRID_STEPS, VOL_FLAT, correlation_regimes, crowding_level, vol_shocks
from crossmargin.model.params import Kind
from crossmargin.model.params import DAYS_PER_YEAR, SECONDS_PER_YEAR, Params
from crossmargin.model.portfolio import Account, MarketState, Position
from crossmargin.model.pricing import black76_greeks, black76_price

CHUNK = 2048                      # paths per seeded chunk
HORIZONS_H = (1.0, 24.0)          # the two horizons reported
STEPS = {1.0: 60, 24.0: 288}      # monitoring steps per horizon (1 min, 5 min)
METHODS = ("t", "fhs", "normal")
VOL_RESPONSE = 0.06               # a = 1 - λ of the RiskMetrics EWMA (crossmargin.sim.vol.LAMBDA = 0.94)
DEFAULT_NU = 4.0                  # used when no history is available
_UNIT = np.arange(-GRID_STEPS, GRID_STEPS + 1) / GRID_STEPS   # grid moves per unit shock


# ---------------------------------------------------------------------------------------------------------
# the account, revalued on many states at once
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Option:
    u: int
    size: float
    is_call: bool
    strike: float
    spec: object


class Revaluer:
    """E_mm and MM of one account over N market states at once (the model's `requirements`, vectorised).

    `health(S, vol, now)`: S and vol (N, U) in `params.symbols` order, `now` one time for all states.
    Returns (equity_mm, mm), each (N,). Equal to `requirements(account, state, params)` up to float rounding
    (sums are regrouped: linear sizes are netted per underlying first).
    """

    def __init__(self, account: Account, params: Params, crowding=None, deposits=None):
        """`crowding` / `deposits`: the protocol aggregates of `MarketState` (TECH_SPEC "Crowding"), held at their
        smoothed MM level along the paths; absent = the account's own size, as in the model."""
        account = account.resolved(params)
        self.params, self.account = params, account
        p, U = params, len(params.symbols)
        self.U = U
        self.cash = float(account.cash + account.funding)
        self.net, self.gross = np.zeros(U), np.zeros(U)
        self.cost = 0.0
        self.options: list[_Option] = []
        self.futures: list[tuple[int, float, object]] = []   # (u, size, spec): the term row's basis shock
        for pos in account.positions:
            u = p.index(pos.spec.underlying)
            self.cost += pos.cost
            if pos.spec.is_linear:
                self.net[u] += pos.size
                self.gross[u] += abs(pos.size)
                if pos.spec.kind is Kind.FUTURE:
                    self.futures.append((u, float(pos.size), pos.spec))
            else:
                self.options.append(_Option(u, float(pos.size), bool(pos.spec.is_call), float(pos.spec.strike),
                                            pos.spec))
        self.coll = []   # (u index, Collateral, balance)
        for symbol, bal in account.collateral.items():
            c = p.collateral(symbol)
            if c.settlement:
                raise ValueError(f"{symbol} is the settlement asset: hold it as Account.cash")
            if bal:
                self.coll.append((p.index(c.underlying), c, float(bal)))
        touched = {o.u for o in self.options} | {u for u, _, _ in self.coll}
        touched |= {u for u in range(U) if self.gross[u] != 0}
        self.touched = sorted(touched)
        self.with_options = {o.u for o in self.options}
        self.regimes = correlation_regimes(p.rho, p.risk.corr_kappa)
        self.lam = np.array([x.concentration for x in p.underlyings])
        self.crowd = np.array([crowding_level((crowding or {}).get(x.symbol), "mm") for x in p.underlyings])
        self.deposit_level = {c.symbol: crowding_level((deposits or {}).get(c.symbol), "mm") for _, c, _ in self.coll}
        self.depth = np.array([x.depth_usd for x in p.underlyings])

    @property
    def linear(self) -> bool:
        return not self.options

    def _cv(self, c, bal: float, P: np.ndarray, kind: str) -> np.ndarray:
        value = max(bal, self.deposit_level.get(c.symbol, 0.0), 0.0) * P
        h = np.minimum(1.0, c.haircut_base(kind) + c.haircut_slope * value / c.depth_usd)
        return bal * P * (1.0 - h)

    def _aggregate(self, L: np.ndarray) -> np.ndarray:
        """max over regimes of sqrt(max(0, Lᵀ ρ_r L)), over the touched underlyings only (the regimes' diagonals
        are 1, so one underlying gives |L|)."""
        t = self.touched
        if not t:
            return np.zeros(L.shape[0])
        if len(t) == 1:
            return np.abs(L[:, t[0]])
        diag = sum(L[:, u] * L[:, u] for u in t)
        pairs = [(u, v, L[:, u] * L[:, v]) for i, u in enumerate(t) for v in t[i + 1:]]
        best = None
        for rho in self.regimes:
            q = diag + sum(2.0 * rho[u, v] * x for u, v, x in pairs)
            best = q if best is None else np.maximum(best, q)
        return np.sqrt(np.maximum(0.0, best))

    def shock(self, vol: np.ndarray) -> np.ndarray:
        r = self.params.risk
        return np.clip(r.z * vol * math.sqrt(r.horizon_years), r.shock_min, r.shock_max)

    def health(self, S: np.ndarray, vol: np.ndarray, now: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        S, vol = np.asarray(S, dtype=float), np.asarray(vol, dtype=float)
        N = S.shape[0]
        r = self.params.risk
        equity = np.full(N, self.cash - self.cost)
        L = np.zeros((N, self.U))
        C = np.zeros(N)
        addons = np.zeros(N)
        cv_mm_u = {}
        for u, c, bal in self.coll:
            cv = self._cv(c, bal, S[:, u], "mm")
            equity += cv
            cv_mm_u[u] = cv_mm_u.get(u, 0.0) + cv
        opt_v, opt_d = {}, {}
        for i, o in enumerate(self.options):
            T = o.spec.time_to_expiry(now)
            g = black76_greeks(o.is_call, S[:, o.u], o.strike, T, vol[:, o.u], r.rate)
            opt_v[i], opt_d[i] = g.price, g.delta
            equity += o.size * g.price
        for u in self.touched:
            Su, s = S[:, u], self.shock(vol[:, u])
            X = self.net[u] * Su + cv_mm_u.get(u, 0.0)
            equity += self.net[u] * Su
            delta = np.full(N, self.net[u])
            short = 0.0
            # |B|: the futures' basis loss of the term row (model.margin.basis_shock), all bases the same way
            B = np.abs(sum((size * Su * self.params.scenarios.basis_vol * vol[:, u] * max(0.0, spec.time_to_expiry(now))
                            for fu, size, spec in self.futures if fu == u), np.zeros(N)))
            if u not in self.with_options:
                Lu = X * s
                Cu = np.maximum(0.0, B + s * np.abs(X - B)) - np.abs(Lu)   # K of the term row, closed form
            else:
                m = s[:, None] * _UNIT[None, :]                                  # (N, 9)
                pnl = np.repeat((X[:, None] * m)[:, None, :], 4, axis=1)         # (N, 4, 9): 3 vol rows + term
                pnl[:, 3, :] -= B[:, None] * (1.0 + m)
                F = (Su[:, None] * (1.0 + m))[:, None, :]
                groups: dict[float, np.ndarray] = {}
                for i, o in enumerate(self.options):
                    if o.u != u:
                        continue
                    T = o.spec.time_to_expiry(now)
                    vols = vol[:, u][:, None, None] * vol_shocks(T, r)[None, :, None]
                    leg = o.size * (black76_price(o.is_call, F, o.strike, T, vols, r.rate) - opt_v[i][:, None, None])
                    pnl[:, :3, :] += leg
                    key = max(T, 0.0)
                    groups[key] = groups[key] + leg if key in groups else leg
                    delta = delta + o.size * opt_d[i]
                    short += -o.size if o.size < 0 else 0.0
                for leg in groups.values():
                    pnl[:, 3, :] += leg.min(axis=1)
                K = np.maximum(0.0, -pnl.reshape(N, -1).min(axis=1))
                WS = pnl[:, VOL_FLAT, -1]
                Lu = np.minimum(K, np.maximum(-K, WS))
                Cu = K - np.abs(Lu)
            L[:, u] = Lu
            C = C + Cu
            Nu = np.abs(delta) * Su
            addons += (r.basis_rate * (self.gross[u] - abs(self.net[u])) * Su + r.short_option_rate * short * Su
                       + self.lam[u] * Nu * np.maximum(self.crowd[u] * Su, Nu) / self.depth[u])
        R = self._aggregate(L) + C
        return equity, R + addons


# ---------------------------------------------------------------------------------------------------------
# the tail model (from the shipped history) and the paths
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShockModel:
    """How the horizon's shocks are drawn (module docstring). `residuals` (N, U) for `fhs`, unit variance,
    configured correlation; `nu` for `t`."""

    method: str = "t"
    rho: np.ndarray = field(default_factory=lambda: np.eye(1))
    nu: float = DEFAULT_NU
    scale: float = 1.0
    residuals: np.ndarray | None = field(default=None, repr=False)
    vol_response: float = VOL_RESPONSE
    source: str = ""

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.method == "t" and not self.nu > 2:
            raise ValueError(f"Student-t needs nu > 2 (finite variance), got {self.nu}")
        if self.method == "fhs" and (self.residuals is None or len(self.residuals) < 30):
            raise ValueError("filtered historical simulation needs at least 30 days of standardised residuals")

    def to_dict(self) -> dict:
        return {"method": self.method, "nu": self.nu if self.method == "t" else None,
                "scale": self.scale if self.method == "t" else None,
                "fhs_days": None if self.residuals is None else int(len(self.residuals)),
                "vol_response": self.vol_response, "source": self.source}


def cholesky(rho: np.ndarray) -> np.ndarray:
    rho = np.asarray(rho, dtype=float)
    w, v = np.linalg.eigh(rho)
    if w.min() <= 1e-12:   # PSD but singular: clip (the margin model accepts any valid correlation matrix)
        rho = (v * np.maximum(w, 1e-12)) @ v.T
    return np.linalg.cholesky(rho)


def standardised_residuals(prices, symbols) -> tuple[np.ndarray, np.ndarray]:
    """Days of r_t / σ_EWMA,t-1 (one-day forecast made the day before: no look-ahead) with every symbol
    present, (N, U) in `symbols` order, and their dates."""
    from crossmargin.sim.vol import ewma_variance

    r = prices.only(list(symbols)).log_returns()
    z = np.full(r.shape, np.nan)
    for j in range(r.shape[1]):
        v = ewma_variance(r[:, j])
        z[1:, j] = r[1:, j] / np.sqrt(v[:-1])
    ok = ~np.isnan(z).any(axis=1)
    return z[ok], prices.dates[ok]


@lru_cache(maxsize=8)
def _history_fit(path: str | None, symbols: tuple[str, ...]) -> tuple[tuple[float, float], tuple, str]:
    from scipy import stats

    from crossmargin.sim.history import load_prices

    prices = load_prices(path)
    have = tuple(u for u in symbols if u in prices.symbols)
    if not have:
        raise ValueError(f"{prices.source}: no column for any of {', '.join(symbols)}")
    z, dates = standardised_residuals(prices, have)
    return fit_t(z.ravel()), (z, have), f"{prices.source}: {len(z)} days {dates[0]} .. {dates[-1]}"


def fit_t(z: np.ndarray) -> tuple[float, float]:
    """(ν, scale) of a location-0 Student-t fitted by maximum likelihood; ν kept in [2.2, 30]."""
    from scipy import stats

    z = np.asarray(z, dtype=float)
    z = z[~np.isnan(z)]
    if z.size < 100:
        return DEFAULT_NU, math.sqrt((DEFAULT_NU - 2) / DEFAULT_NU)
    nu, _, scale = stats.t.fit(z, floc=0.0)
    return float(min(max(nu, 2.2), 30.0)), float(scale)


def shock_model(params: Params, method: str = "fhs", prices_path: str | None = None, nu: float | None = None,
                vol_response: float = VOL_RESPONSE) -> ShockModel:
    """The tail model for `params`' underlyings, fitted to the shipped history (or `prices_path`).

    `fhs` residuals of underlyings with no history column are drawn as independent normals before re-colouring."""
    rho = params.rho
    if method == "normal":
        return ShockModel("normal", rho, vol_response=vol_response, source="Gaussian")
    (fit_nu, fit_scale), (z, have), source = _history_fit(prices_path, tuple(params.symbols))
    if method == "t":
        if nu:   # a given ν: unit variance
            return ShockModel("t", rho, float(nu), math.sqrt((nu - 2) / nu), vol_response=vol_response, source="given")
        return ShockModel("t", rho, fit_nu, fit_scale, vol_response=vol_response, source=source)
    U = len(params.symbols)
    full = np.random.default_rng(12345).standard_normal((len(z), U))
    for j, u in enumerate(have):
        full[:, params.symbols.index(u)] = z[:, j]
    sd = full.std(axis=0)
    full = (full - full.mean(axis=0)) / sd
    hist = np.corrcoef(full, rowvar=False)
    recolour = cholesky(rho) @ np.linalg.inv(cholesky(hist))
    return ShockModel("fhs", rho, residuals=(full @ recolour.T) * sd, vol_response=vol_response, source=source)


def simulate_paths(S0: np.ndarray, sigma: np.ndarray, horizon_h: float, steps: int, paths: int, model: ShockModel,
                   rng: np.random.Generator, params: Params, pending=None) -> tuple[np.ndarray, np.ndarray]:
    """(spot, oracle vol), each (steps + 1, paths, U): step 0 is the start (module docstring)."""
    S0, sigma = np.asarray(S0, dtype=float), np.asarray(sigma, dtype=float)
    U = S0.size
    A = cholesky(model.rho)
    Hy = horizon_h * 3600.0 / SECONDS_PER_YEAR
    if model.method == "fhs":
        m = max(1, math.ceil(horizon_h / 24.0 - 1e-9))
        rows = rng.integers(0, len(model.residuals), size=(paths, m))
        Y = model.residuals[rows].sum(axis=1) / math.sqrt(m)
        mix = np.ones((paths, 1))
    else:
        Y = rng.standard_normal((paths, U)) @ A.T
        if model.method == "t":
            mix = model.scale * np.sqrt(model.nu / rng.chisquare(model.nu, size=(paths, 1)))
            Y = Y * mix
        else:
            mix = np.ones((paths, 1))
    eps = rng.standard_normal((steps, paths, U)) @ A.T
    B = np.cumsum(eps, axis=0) / math.sqrt(steps)
    k = (np.arange(1, steps + 1) / steps)[:, None, None]
    X = k * Y[None] + (B - k * B[-1][None]) * mix[None]
    t = k * Hy
    logS = np.log(S0)[None, None, :] + sigma[None, None, :] * math.sqrt(Hy) * X - 0.5 * sigma**2 * t
    spot = np.empty((steps + 1, paths, U))
    spot[0] = S0
    spot[1:] = np.exp(logS)
    return spot, oracle_vol_path(spot, sigma, horizon_h, model.vol_response, params, pending)


def oracle_vol_path(spot: np.ndarray, sigma: np.ndarray, horizon_h: float, vol_response: float,
                    params: Params, pending=None) -> np.ndarray:
    """The oracle vol along spot paths (steps + 1, P, U) over `horizon_h` (module docstring): the daily variance
    follows v_i = v_{i-1} + a·(r_i² - f·v_{i-1}), inside the VolOracle's rate limit and bounds; step 0 = sigma.

    `pending` = (δ (U,), hours): what the feeder's next post adds for the moves already made since its last one
    (δ = a·(r_sofar² - f_elapsed·v), daily variance units) and in how many hours it posts: from that step on the
    variance carries δ·c^(i - k) (the recursion is linear in v). None: the posted vol is up to date."""
    steps = spot.shape[0] - 1
    o, a = params.oracle, vol_response
    f = horizon_h / 24.0 / steps                      # step in days
    # v_i = c^i·(v_0 + a·Σ_{j<=i} r_j²·c^-j), c = 1 - a·f: the recursion without a loop over steps
    c = 1.0 - a * f
    ret = np.diff(np.log(spot), axis=0)
    powers = c ** np.arange(1, steps + 1)[:, None, None]
    v = powers * (sigma**2 / DAYS_PER_YEAR + a * np.cumsum(ret * ret / powers, axis=0))
    if pending is not None:
        delta, in_hours = np.asarray(pending[0], dtype=float), float(pending[1])
        k = max(1, math.ceil(in_hours / horizon_h * steps - 1e-9))
        if k <= steps:
            v[k - 1:] = np.maximum(v[k - 1:] + delta[None, None, :] * (c ** np.arange(steps - k + 1))[:, None, None],
                                   1e-12)
    hours = np.arange(1, steps + 1) * horizon_h / steps
    factor = np.minimum(o.vol_day_factor, o.vol_hour_factor ** np.ceil(hours - 1e-9))[:, None, None]
    vol = np.empty_like(spot)
    vol[0] = sigma
    vol[1:] = np.clip(np.sqrt(v * DAYS_PER_YEAR), sigma / factor, sigma * factor)
    return np.clip(vol, o.min_vol, o.max_vol, out=vol)


# ---------------------------------------------------------------------------------------------------------
# the probability
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LiqProb:
    """P(liquidation) of one account per horizon."""

    horizons_h: tuple[float, ...]
    p: tuple[float, ...]              # fraction of paths with E_mm < MM at some step
    stderr: tuple[float, ...]
    paths: int
    steps: tuple[int, ...]
    equity_mm: float                  # at the start
    mm: float
    method: str
    seconds: float = 0.0
    revaluations: int = 0             # account-state revaluations done (paths · steps, summed over horizons)
    first_step: tuple[tuple[float, ...], ...] = ()   # per horizon: quantiles (10/50/90 %) of the breach time, h
    target: float = 0.01              # the probability `topup` and `spare` refer to
    topup: tuple[float, ...] = ()     # per horizon: cash (USD) to deposit now for P <= target (0 if already)
    spare: tuple[float, ...] = ()     # per horizon: the target-quantile of the path's smallest cushion min(E_mm - MM):
                                      # cash that could leave with P staying <= target (negative: = -topup)

    def at(self, horizon_h: float) -> float:
        return self.p[self.horizons_h.index(horizon_h)]

    def to_dict(self) -> dict:
        return {"horizons_h": list(self.horizons_h), "p_liquidation": list(self.p), "stderr": list(self.stderr),
                "paths": self.paths, "steps": list(self.steps), "equity_mm": self.equity_mm, "mm": self.mm,
                "mm_ratio": (self.equity_mm / self.mm) if self.mm else None, "method": self.method,
                "target": self.target, "topup_usd": list(self.topup), "spare_usd": list(self.spare),
                "seconds": round(self.seconds, 4), "revaluations": self.revaluations,
                "revaluations_per_s": round(self.revaluations / self.seconds) if self.seconds else None}


def chunk_breaches(revs: list[Revaluer], state: MarketState, sigma: np.ndarray, horizon_h: float, steps: int,
                   paths: int, model: ShockModel, seed: int, chunk: int, pending=None) -> np.ndarray:
    """(2, A, paths): [0] the first breach step (1..steps, 0 = none) per account and path of chunk `chunk`,
    [1] the path's smallest cushion min_k (E_mm - MM) over the steps (cash enters E_mm alone, not MM, so a deposit
    of x saves exactly the paths with -x <= cushion < 0). Every account sees the same paths (common random
    numbers). A pure function of its arguments: the unit of
    work of a sweep."""
    p = revs[0].params
    S0 = np.array([state.spot[u] for u in p.symbols], dtype=float)
    rng = np.random.default_rng([int(seed), int(round(horizon_h * 3600)), int(chunk)])
    spot, vol = simulate_paths(S0, sigma, horizon_h, steps, paths, model, rng, p, pending)
    U = len(p.symbols)
    out = np.zeros((2, len(revs), paths))
    flat_S, flat_V = spot[1:].reshape(-1, U), vol[1:].reshape(-1, U)
    dt = horizon_h * 3600.0 / steps
    for a, rev in enumerate(revs):
        if rev.linear:   # time does not enter: all steps in one call
            e, mm = rev.health(flat_S, flat_V)
            cushion = (e - mm).reshape(steps, paths)
        else:
            cushion = np.empty((steps, paths))
            for i in range(1, steps + 1):
                e, mm = rev.health(spot[i], vol[i], state.now + i * dt)
                cushion[i - 1] = e - mm
        breach = cushion < 0
        hit = breach.any(axis=0)
        out[0, a] = np.where(hit, breach.argmax(axis=0) + 1, 0)
        out[1, a] = cushion.min(axis=0)
    return out


def probabilities(accounts: list[Account], state: MarketState, params: Params, model: ShockModel | None = None,
                  paths: int = 10_000, horizons_h=HORIZONS_H, steps=None, seed: int = 0, sigma: dict | None = None,
                  mapper=None, target: float = 0.01, pending=None) -> list[LiqProb]:
    """P(E_mm < MM at some step within each horizon) for every account at `state` (module docstring), all on the
    same paths.

    `sigma`: forecast vols {symbol: annualised} driving the paths (default: the state's oracle vols, i.e. the
    posted forecast). `mapper(fn, tasks)` -> results in task order: how the chunks run (default: here, one after
    the other; `crossmargin.sim.sweep` runs them on Dask). `target`: the probability the top-up and spare cash
    are computed for (`LiqProb.topup`, `LiqProb.spare`). `pending`: the vol feeder's next post (`oracle_vol_path`).
    """
    import time

    model = model or ShockModel("normal", params.rho)
    steps = tuple(steps) if steps is not None else tuple(STEPS.get(float(h), 60) for h in horizons_h)
    revs = [Revaluer(a, params, state.crowding, state.deposits) for a in accounts]
    sig = np.array([(sigma or {}).get(u, state.vol[u]) for u in params.symbols], dtype=float)
    S0 = np.array([[state.spot[u] for u in params.symbols]], dtype=float)
    vol0 = np.array([[state.vol[u] for u in params.symbols]], dtype=float)
    start = [rev.health(S0, vol0, state.now) for rev in revs]
    started = time.perf_counter()
    firsts = []
    for h, n in zip(horizons_h, steps):
        tasks = [(h, n, c, min(CHUNK, paths - c * CHUNK)) for c in range(-(-paths // CHUNK))]
        run = _ChunkTask(revs, state, sig, model, seed, pending)
        parts = list(mapper(run, tasks)) if mapper else [run(t) for t in tasks]
        firsts.append(np.concatenate(parts, axis=2))
    seconds = time.perf_counter() - started
    out = []
    for a, (e0, mm0) in enumerate(start):
        ps, ses, qs = [], [], []
        tops = []
        for (h, n, both) in zip(horizons_h, steps, firsts):
            first, cushion = both[0], both[1]
            tops.append(max(0.0, -_kth(np.minimum(cushion[a], e0[0] - mm0[0]), target)))
            if e0[0] < mm0[0]:
                ps.append(1.0), ses.append(0.0), qs.append((0.0, 0.0, 0.0))
                continue
            p = float(np.mean(first[a] > 0))
            ps.append(p)
            ses.append(math.sqrt(p * (1 - p) / paths))
            hit = first[a][first[a] > 0] * h / n
            qs.append(tuple(float(np.quantile(hit, q)) for q in (0.1, 0.5, 0.9)) if hit.size else ())
        out.append(LiqProb(tuple(float(h) for h in horizons_h), tuple(ps), tuple(ses), paths, steps, float(e0[0]),
                           float(mm0[0]), model.method, seconds, paths * sum(steps) * len(accounts), tuple(qs),
                           target, tuple(tops), tuple(_kth(both[1][a], target) for both in firsts)))
    return out


def _kth(cushion: np.ndarray, target: float) -> float:
    """The cushion c with at most floor(target·n) paths strictly below it: adding -c of cash leaves P <= target."""
    k = min(cushion.size - 1, int(target * cushion.size))
    return float(np.partition(cushion, k)[k])


@dataclass(frozen=True)
class _ChunkTask:
    """chunk_breaches as a picklable callable of a task (horizon_h, steps, chunk, paths)."""

    revs: list
    state: MarketState
    sigma: np.ndarray
    model: ShockModel
    seed: int
    pending: tuple | None = None

    def __call__(self, task) -> np.ndarray:
        h, n, c, size = task
        return chunk_breaches(self.revs, self.state, self.sigma, h, n, size, self.model, self.seed, c, self.pending)


def liquidation_probability(account: Account, state: MarketState, params: Params, model: ShockModel | None = None,
                            paths: int = 10_000, horizons_h=HORIZONS_H, steps=None, seed: int = 0,
                            sigma: dict | None = None, mapper=None, target: float = 0.01, pending=None) -> LiqProb:
    """`probabilities` of one account."""
    return probabilities([account], state, params, model, paths, horizons_h, steps, seed, sigma, mapper, target,
                         pending)[0]


# ---------------------------------------------------------------------------------------------------------
# book files
# ---------------------------------------------------------------------------------------------------------

def load_book(path) -> tuple[Params, MarketState, list[tuple[str, Account]]]:
    """A book file (JSON or TOML):

        params = "default"                  # parameter set name or TOML path (optional, default "default")
        now = 0                             # unix time of the valuation (optional; expiries listed at 0)
        [spot]   ETH = 2900.0 ...           # optional: overrides the reference prices
        [vol]    ETH = 0.7 ...              # optional: overrides the reference vols (the oracle's view)
        [[accounts]]
        name = "carry"
        cash = 20000.0                      # settlement cash, USD
        collateral = { WETH = 10.0 }        # linked collateral, token units
        positions = [ { instrument = "ETH-PERP", size = -10.0, entry = 3000.0 } ]   # entry: linear only

    Returns the listed parameters, the market state and (name, Account) pairs.
    """
    import json
    import tomllib
    from pathlib import Path

    from crossmargin.model.params import load_params

    path = Path(path)
    text = path.read_text()
    data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    params = load_params(data.get("params", "default")).listed(0)
    state = MarketState.from_params(params, int(data.get("now", 0)))
    unknown = [u for u in {**data.get("spot", {}), **data.get("vol", {})} if u not in params.symbols]
    if unknown:
        raise ValueError(f"{path}: unknown underlying(s) {', '.join(unknown)} (have {', '.join(params.symbols)})")
    state = state.with_spot(**{k: float(v) for k, v in data.get("spot", {}).items()})
    state = state.with_vol(**{k: float(v) for k, v in data.get("vol", {}).items()})
    accounts = []
    for i, a in enumerate(data.get("accounts", [])):
        acct = Account(cash=float(a.get("cash", 0.0)),
                       collateral={k: float(v) for k, v in a.get("collateral", {}).items()})
        for pos in a.get("positions", []):
            spec = params.market(pos["instrument"])
            size = float(pos["size"])
            cost = size * float(pos.get("entry", state.spot[spec.underlying])) if spec.is_linear else 0.0
            acct = dataclasses.replace(acct, positions=acct.positions + (Position(spec, size, cost),))
        accounts.append((str(a.get("name", f"account {i + 1}")), acct))
    if not accounts:
        raise ValueError(f"{path}: no [[accounts]]")
    return params, state, accounts


# ---------------------------------------------------------------------------------------------------------
# on chain (plain web3, as the bots read)
# ---------------------------------------------------------------------------------------------------------

def chain_account(dep, account_id: int, block="latest") -> tuple[Account, MarketState, dict]:
    """Account `account_id` of a deployment (`crossmargin.bots.reads.Deployment`) as a model Account, the oracles'
    MarketState, and the chain's own margin numbers. Accrued funding and interest the model does not see are
    folded into cash so the model's E_mm equals the chain's at the start."""
    WAD = 10**18
    params = dep.listed
    call = lambda f: f.call(block_identifier=block)  # noqa: E731
    cash = call(dep.vault.functions.cash_of(account_id)) / WAD
    coll = {}
    for c in params.collaterals:
        if not c.settlement:
            bal = call(dep.vault.functions.balance_of(account_id, dep.manifest.token(c.symbol))) / WAD
            if bal:
                coll[c.symbol] = bal
    positions = []
    for pos in call(dep.clearinghouse.functions.positions_of(account_id)):
        spec = params.market(int(pos[0]))
        positions.append(Position(spec, int(pos[1]) / WAD, int(pos[2]) / WAD))
    vol_oracle = dep.contract("VolOracle")
    spot, vol = {}, {}
    for u in params.underlyings:
        spot[u.symbol] = int(call(dep.router.functions.price(u.id))[0]) / WAD
        vol[u.symbol] = int(call(vol_oracle.functions.vol(u.id))[0]) / WAD
    now = int(dep.w3.eth.get_block(block)["timestamp"])
    eq_im, eq_mm, im, mm, status = (int(x) for x in call(dep.risk.functions.margin(account_id)))
    account = Account(cash=cash, collateral=coll, positions=tuple(positions))
    crowding = {u.symbol: tuple(int(x) / WAD for x in call(dep.clearinghouse.functions.crowding(u.id)))
                for u in params.underlyings}
    deposits = {c.symbol: tuple(int(x) / WAD for x in call(dep.vault.functions.deposits(dep.manifest.token(c.symbol))))
                for c in params.collaterals if not c.settlement}
    state = MarketState(spot, vol, now, crowding, deposits)
    touched = {p.spec.underlying for p in positions} | {params.collateral(k).underlying for k in coll}
    for u in params.symbols:  # an unused underlying's feed may be unset on a dev chain: any positive value works
        if u not in touched and not spot[u] > 0:
            state = state.with_spot(**{u: params.underlying(u).price})
        if u not in touched and not vol[u] > 0:
            state = state.with_vol(**{u: params.underlying(u).vol})
    rev = Revaluer(account, params, crowding, deposits)
    S = np.array([[state.spot[u] for u in params.symbols]])
    V = np.array([[state.vol[u] for u in params.symbols]])
    e_model, _ = rev.health(S, V, now)
    drift = eq_mm / WAD - float(e_model[0])       # accrued funding / interest: folded into cash
    account = dataclasses.replace(account, cash=cash + drift)
    return account, state, {"equity_mm": eq_mm / WAD, "mm": mm / WAD, "equity_im": eq_im / WAD, "im": im / WAD,
                            "status": status, "cash_adjustment": drift}


def keeper_column(dep, rows, cache: dict, top: int = 3, every: int = 10, warmup: int = 5,
                  paths: int = 1024) -> dict:
    """The keeper's live-table column (`crossmargin keeper run`): {"p_liq_24h": P, "p_liq_acct": id}, the largest
    P(liquidation, 24 h) among the `top` riskiest healthy accounts of the last scan (lowest E_mm / MM).

    Never blocks and never raises: it starts the computation (reads of the accounts, the Monte Carlo: 1,024 paths,
    48 steps) in one background thread, and shows the last finished result ({} before the first one). A job
    starts only when the keeper is idle (no liquidatable account and no open auction in the scan, so it never
    competes with a liquidation for the CPU), after `warmup` calls and then at most every `every` calls. `cache`
    is the caller's dict that keeps the thread and the result between calls.
    """
    from concurrent.futures import ThreadPoolExecutor

    cache["n"] = n = cache.get("n", 0) + 1
    job = cache.get("job")
    if job is not None and job.done():
        cache.pop("job")
        try:
            cache["value"] = job.result()
        except Exception:  # noqa: BLE001 - advice, not a reason to stop the keeper
            pass
    busy = any(h.liquidatable or h.in_auction for h in rows)
    if "job" not in cache and not busy and n > warmup and n - cache.get("started", -every) >= every:
        healthy = sorted((h for h in rows if h.mm > 0), key=lambda h: h.mm_ratio)[:top]
        if healthy:
            pool = cache.setdefault("pool", ThreadPoolExecutor(max_workers=1, thread_name_prefix="liqprob"))
            cache["job"] = pool.submit(_riskiest, dep, [h.account for h in healthy], cache, paths)
            cache["started"] = n
    return cache.get("value", {})


def _riskiest(dep, accounts: list[int], cache: dict, paths: int) -> dict:
    model = cache.get("model") or shock_model(dep.listed, "fhs")
    cache["model"] = model
    best, who = -1.0, None
    for a in accounts:
        account, state, _ = chain_account(dep, a)
        p = liquidation_probability(account, state, dep.listed, model, paths=paths, horizons_h=(24.0,),
                                    steps=(48,)).p[0]
        if p > best:
            best, who = p, a
    return {} if who is None else {"p_liq_24h": round(best, 4), "p_liq_acct": who}
