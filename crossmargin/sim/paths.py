"""Price paths for the simulation: correlated GBM with Merton jumps and a two-state vol regime.

A `PricePath` is what the oracles report along one path: index price and annualised implied vol per
underlying at each step (times in seconds from the start, when every book is opened at the parameter set's
reference prices). The stylised stress replays (`crossmargin.sim.stress`) produce the same object.

GBM model (per underlying u, step dt in years, one draw per step)
    regime        a market-wide Markov chain, calm <-> stressed; per-day switch probabilities
                  `p_calm_to_stress`, `p_stress_to_calm` (scaled to the step)
    diffusion     σ_u,t = σ_u · (1 or `stress_vol_mult`);  Z = chol(ρ) · ε, ρ = the parameters' correlation
    jumps         a common (market-wide) Poisson count, intensity `jump_intensity` per year (× `stress_jump_mult`
                  when stressed); jump log-size J ~ N(jump_mean, jump_vol) scaled per underlying by σ_u / mean σ,
                  so a crash hits every asset at once and the volatile ones harder
    log return    (-½σ² - λ·κ_u)·dt + σ·sqrt(dt)·Z + Σ jumps, κ_u = E[e^J_u - 1]: prices are martingales
    implied vol   the VolOracle's view: it follows the regime's vol (one update per step) within its rate limit,
                  ×/÷ `oracle.vol_hour_factor` of the value an hour earlier and `oracle.vol_day_factor` of the
                  value a day earlier, clipped to [oracle.min_vol, oracle.max_vol]

Reproducible: the same `seed` gives the same paths (numpy `default_rng`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from crossmargin.model.params import SECONDS_PER_DAY, SECONDS_PER_YEAR, OracleParams, Params
from crossmargin.model.portfolio import MarketState


@dataclass(frozen=True)
class PricePath:
    """Oracle prices and vols along one path. Arrays have one row per step (step 0 = the start)."""

    name: str                    # "gbm#3", "2020-03-12", ...
    symbols: tuple[str, ...]     # underlyings, in params order (the columns)
    times: np.ndarray            # (T+1,) seconds since the start
    spot: np.ndarray             # (T+1, U) USD
    vol: np.ndarray              # (T+1, U) annualised implied vol
    stylised: bool = False       # a stylised replay of a documented crash (not tick data)
    title: str = ""
    sources: str = ""            # the figures the stylised path was built from
    regime: np.ndarray | None = field(default=None, repr=False)  # (T+1,) 1 = stressed (GBM only)

    @property
    def steps(self) -> int:
        return self.spot.shape[0] - 1

    def state(self, t: int) -> MarketState:
        """The `MarketState` the margin engine sees at step t."""
        return MarketState(dict(zip(self.symbols, self.spot[t].tolist())),
                           dict(zip(self.symbols, self.vol[t].tolist())), int(self.times[t]))

    def trough(self) -> np.ndarray:
        """Lowest price relative to the start, minus 1, per underlying (-0.43 = a 43 % fall at the low)."""
        return self.spot.min(axis=0) / self.spot[0] - 1.0

    def max_drawdown(self) -> np.ndarray:
        """Largest peak-to-trough fall per underlying (a positive fraction)."""
        peak = np.maximum.accumulate(self.spot, axis=0)
        return (1.0 - self.spot / peak).max(axis=0)


@dataclass(frozen=True)
class GBMConfig:
    """Knobs of the GBM generator (see the module docstring). Defaults: a week of hourly steps."""

    days: float = 7.0
    steps_per_day: int = 24
    stress_vol_mult: float = 1.75      # realised and target implied vol × this in the stressed regime
    p_calm_to_stress: float = 0.03     # per day
    p_stress_to_calm: float = 0.2      # per day
    jump_intensity: float = 8.0        # market-wide jumps per year in the calm regime
    stress_jump_mult: float = 4.0      # intensity × this when stressed
    jump_mean: float = -0.05           # mean log jump of an average-vol asset
    jump_vol: float = 0.05             # stdev of the log jump of an average-vol asset
    start_stressed: bool = False

    def __post_init__(self) -> None:
        if self.days <= 0 or self.steps_per_day < 1:
            raise ValueError(f"GBM needs days > 0 and steps_per_day >= 1, got {self.days}, {self.steps_per_day}")


def cholesky(rho: np.ndarray) -> np.ndarray:
    """A lower-triangular-ish factor A with A·Aᵀ = ρ (Cholesky; eigen-square-root if ρ is only semi-definite)."""
    try:
        return np.linalg.cholesky(rho)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(rho)
        return v * np.sqrt(np.clip(w, 0.0, None))


def oracle_vol(target: np.ndarray, oracle: OracleParams, start: np.ndarray | None = None,
               step_seconds: float = 3600.0) -> np.ndarray:
    """The vol the VolOracle reports when fed `target` (T+1, U), one update every `step_seconds`: each update
    stays within ×/÷ `vol_hour_factor` of the value an hour earlier and ×/÷ `vol_day_factor` of the value a day
    earlier (the chain's rate limit, its windows taken as sliding) and in [min_vol, max_vol]. Starts at `start`
    (default: target[0])."""
    out = np.empty_like(target)
    v = np.clip(target[0] if start is None else start, oracle.min_vol, oracle.max_vol)
    out[0] = v
    lag_h = max(1, int(np.ceil(3600.0 / step_seconds)))
    lag_d = max(1, int(np.ceil(86400.0 / step_seconds)))
    for t in range(1, target.shape[0]):
        h, d = out[max(0, t - lag_h)], out[max(0, t - lag_d)]
        lo = np.maximum(h / oracle.vol_hour_factor, d / oracle.vol_day_factor)
        hi = np.minimum(h * oracle.vol_hour_factor, d * oracle.vol_day_factor)
        out[t] = np.clip(np.clip(target[t], lo, hi), oracle.min_vol, oracle.max_vol)
    return out


class VolOracleModel:
    """The VolOracle's rate limit for one value in floats (contracts/VolOracle.vy `_rate_limited`, `vol_range`):
    an hour window and a day window, each with an anchor and a start; a window an hour (a day) old reopens at
    the current value when the next update comes; an update must stay within ×/÷ hour_factor of the hour anchor
    and ×/÷ day_factor of the day anchor, inside [min_vol, max_vol]; the first value (or one while the current
    is out of bounds) is free and opens both windows at itself."""

    HOUR, DAY = 3600.0, 86_400.0

    def __init__(self, oracle: OracleParams):
        self.o = oracle
        self.current = 0.0
        self.updated = -np.inf
        self.hour = self.day = 0.0
        self.hour_start = self.day_start = -np.inf

    def _inside(self) -> bool:
        return self.o.min_vol <= self.current <= self.o.max_vol

    def range(self, now: float) -> tuple[float, float]:
        """`vol_range`: the smallest and largest value an update accepts at `now`."""
        lo, hi = self.o.min_vol, self.o.max_vol
        if not self._inside():
            return lo, hi
        h = self.hour if now < self.hour_start + self.HOUR else self.current
        d = self.day if now < self.day_start + self.DAY else self.current
        return (max(lo, h / self.o.vol_hour_factor, d / self.o.vol_day_factor),
                min(hi, h * self.o.vol_hour_factor, d * self.o.vol_day_factor))

    def set(self, now: float, v: float) -> None:
        """`set_vol`: raises ValueError outside the accepted range (the contract reverts)."""
        lo, hi = self.range(now)
        if not lo * (1 - 1e-12) <= v <= hi * (1 + 1e-12):
            raise ValueError(f"vol {v} outside [{lo}, {hi}] at {now}")
        if self._inside():
            if now >= self.hour_start + self.HOUR:
                self.hour, self.hour_start = self.current, now
            if now >= self.day_start + self.DAY:
                self.day, self.day_start = self.current, now
        else:
            self.hour = self.day = v
            self.hour_start = self.day_start = now
        self.current, self.updated = v, now


def feeder_vol(target: np.ndarray, times: np.ndarray, oracle: OracleParams, start: np.ndarray,
               min_change: float = 0.01, refresh: float | None = None) -> np.ndarray:
    """The vol the VolOracle holds along a path when the feeder of `crossmargin agent vol` runs at every step:
    `start` (U,) is the value already on chain at step 0; at each later step the feeder clamps the
    target (T+1, U) into `vol_range` and sends it by its own rule (`crossmargin.sim.vol.decide`: only moves larger
    than `min_change`, or a refresh after `refresh` seconds, default half the heartbeat); the oracle keeps it
    within its windows (`VolOracleModel`)."""
    from crossmargin.sim.vol import decide

    refresh = oracle.vol_heartbeat / 2 if refresh is None else refresh
    out = np.empty_like(target, dtype=float)
    for u in range(target.shape[1]):
        m = VolOracleModel(oracle)
        m.set(float(times[0]), float(np.clip(start[u], oracle.min_vol, oracle.max_vol)))
        out[0, u] = m.current
        for t in range(1, target.shape[0]):
            now = float(times[t])
            lo, hi = m.range(now)
            post = min(max(float(target[t, u]), lo), hi)
            v = decide(m.current, post, now - m.updated, refresh, min_change, oracle.min_vol, oracle.max_vol)
            if v is not None:
                m.set(now, v)
            out[t, u] = m.current
    return out


def gbm_paths(params: Params, n_paths: int, seed: int | np.random.Generator = 0,
              config: GBMConfig = GBMConfig()) -> list[PricePath]:
    """`n_paths` correlated jump-diffusion paths starting at the reference prices and vols of `params`."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    c = config
    T = max(1, int(round(c.days * c.steps_per_day)))
    dt_days = 1.0 / c.steps_per_day
    dt = dt_days * SECONDS_PER_DAY / SECONDS_PER_YEAR
    s0 = np.array([u.price for u in params.underlyings])
    sigma0 = np.array([u.vol for u in params.underlyings])
    A = cholesky(params.rho)
    beta = sigma0 / sigma0.mean()                       # jump scale per underlying
    mu_j, sd_j = c.jump_mean * beta, c.jump_vol * beta
    kappa = np.exp(mu_j + 0.5 * sd_j**2) - 1.0          # E[e^J - 1] per underlying
    times = np.arange(T + 1) * dt_days * SECONDS_PER_DAY

    out = []
    for k in range(n_paths):
        # regime chain (shared by every underlying)
        regime = np.empty(T + 1, dtype=np.int8)
        regime[0] = 1 if c.start_stressed else 0
        u_switch = rng.random(T)
        for t in range(T):
            p = c.p_stress_to_calm if regime[t] else c.p_calm_to_stress
            regime[t + 1] = 1 - regime[t] if u_switch[t] < p * dt_days else regime[t]
        mult = np.where(regime[:-1, None] == 1, c.stress_vol_mult, 1.0)          # (T, 1)
        sigma = sigma0[None, :] * mult                                            # (T, U)
        lam = c.jump_intensity * np.where(regime[:-1] == 1, c.stress_jump_mult, 1.0)  # (T,)
        eps = rng.standard_normal((T, len(s0))) @ A.T
        counts = rng.poisson(lam * dt)                                            # (T,)
        z_jump = rng.standard_normal(T)
        # the sum of n i.i.d. normal jumps: n·μ + sqrt(n)·sd·z (one common draw scaled per underlying)
        jumps = counts[:, None] * mu_j[None, :] + np.sqrt(counts)[:, None] * sd_j[None, :] * z_jump[:, None]
        logret = (-0.5 * sigma**2 - lam[:, None] * kappa[None, :]) * dt + sigma * np.sqrt(dt) * eps + jumps
        spot = s0[None, :] * np.exp(np.vstack([np.zeros(len(s0)), np.cumsum(logret, axis=0)]))
        target = sigma0[None, :] * np.where(regime[:, None] == 1, c.stress_vol_mult, 1.0)
        vol = oracle_vol(target, params.oracle, start=sigma0, step_seconds=dt_days * SECONDS_PER_DAY)
        out.append(PricePath(f"gbm#{k}", params.symbols, times, spot, vol, stylised=False,
                             title=f"correlated GBM + jumps + vol regimes, path {k}", regime=regime))
    return out
