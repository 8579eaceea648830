"""Volatility forecasts from daily closes: EWMA (RiskMetrics) and GARCH(1,1) with Student-t innovations.

Conventions (daily log returns r_t, decimals; "day t" is the close of date t):

    forecast[t]   the variance of r_{t+1} forecast at the close of day t, from r_1..r_t only (no look-ahead)
    EWMA          σ²_{t+1} = λ·σ²_t + (1 - λ)·r_t², λ = 0.94, seeded with the mean r² of the first 30 returns
    GARCH(1,1)-t  σ²_{t+1} = ω + α·r_t² + β·σ²_t, z_t ~ standardised Student-t(ν); fitted by `arch` (maximum
                  likelihood, its own optimiser) on an expanding window: first fit after `min_obs` returns,
                  re-fit every `refit_days` days on all returns up to that day (warm-started from the previous
                  fit); between re-fits the recursion runs forward with the last fitted (ω, α, β)

Horizon matching (H = `risk.horizon_days`, the margin model's liquidation horizon): the variance of the H-day
return is Σ_{k=1..H} E[σ²_{t+k}] = H·σ̄² + (σ²_{t+1} - σ̄²)·(1 - φ^H)/(1 - φ), with φ = α + β and
σ̄² = ω / (1 - φ) (GARCH); EWMA (φ = 1, and GARCH fits with φ >= 1) scale by H (square root of time, as
RiskMetrics does); H < 1 day scales the one-day variance by H. Annualised vol = sqrt(var_H / H · 365): the
number the VolOracle holds and the margin model reads (`shock_size` multiplies it back by sqrt(H / 365)).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from crossmargin.model.params import DAYS_PER_YEAR

LAMBDA = 0.94          # RiskMetrics daily decay
EWMA_SEED = 30         # returns averaged to start the EWMA recursion
MIN_OBS = 365          # returns before the first GARCH fit
REFIT_DAYS = 30        # expanding-window re-fit schedule
SCALE = 100.0          # arch fits percent returns (better conditioned); variances come back / SCALE²
INTEGRATED = 1.0 - 1e-6   # persistence at or above this: no long-run mean, forecasts scale with the horizon


def ewma_variance(r: np.ndarray, lam: float = LAMBDA, seed: int = EWMA_SEED) -> np.ndarray:
    """forecast[t] (see the module docstring) for one series; NaN until `seed` returns have been seen.

    `r` may start with NaNs (no price yet); a NaN after the first valid return is not allowed.
    """
    r = np.asarray(r, dtype=float)
    out = np.full(r.size, np.nan)
    first = _first_valid(r)
    if first is None or r.size - first < seed:
        return out
    _no_gaps(r, first)
    s = float(np.mean(r[first:first + seed] ** 2))
    t0 = first + seed - 1
    out[t0] = s  # the seed is the forecast made at the close of the seed's last day
    for t in range(t0 + 1, r.size):
        s = lam * s + (1.0 - lam) * r[t] ** 2
        out[t] = s
    return out


@dataclass(frozen=True)
class GarchFit:
    """One maximum-likelihood fit: daily variance parameters in decimal units (ω in r² units)."""

    omega: float
    alpha: float
    beta: float
    nu: float
    nobs: int
    loglik: float = float("nan")

    @property
    def persistence(self) -> float:
        return self.alpha + self.beta

    @property
    def long_run_vol(self) -> float:
        """sqrt(σ̄² · 365), annualised; +inf when φ >= 1 (integrated: no long-run mean)."""
        phi = self.persistence
        return math.inf if phi >= INTEGRATED else math.sqrt(self.omega / (1 - phi) * DAYS_PER_YEAR)

    def to_dict(self) -> dict:
        return {"omega": self.omega, "alpha": self.alpha, "beta": self.beta, "nu": self.nu, "nobs": self.nobs,
                "persistence": self.persistence, "long_run_vol": self.long_run_vol, "loglik": self.loglik}


def fit_garch(r: np.ndarray, start: GarchFit | None = None) -> tuple[GarchFit, float]:
    """GARCH(1,1), zero mean, standardised Student-t innovations, fitted by `arch` on the returns `r`
    (decimals, no NaN). Returns the fit and σ²_{n+1}, the next day's variance forecast from the fit."""
    from arch import arch_model

    model = arch_model(np.asarray(r) * SCALE, mean="Zero", vol="GARCH", p=1, q=1, dist="t", rescale=False)
    sv = None if start is None else np.array([start.omega * SCALE**2, start.alpha, start.beta, start.nu])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on short windows; the result is still the MLE found
        res = model.fit(disp="off", starting_values=sv, show_warning=False)
    p = res.params
    fit = GarchFit(float(p["omega"]) / SCALE**2, float(p["alpha[1]"]), float(p["beta[1]"]), float(p["nu"]),
                   int(res.nobs), float(res.loglikelihood))
    sigma2_last = float(res.conditional_volatility[-1]) ** 2 / SCALE**2
    nxt = fit.omega + fit.alpha * float(r[-1]) ** 2 + fit.beta * sigma2_last
    return fit, nxt


@dataclass(frozen=True)
class GarchPath:
    """Rolling GARCH forecasts of one series: forecast[t] and, per day, the fit it came from."""

    forecast: np.ndarray          # (T,) one-day variance forecasts, NaN before the first fit
    omega: np.ndarray             # (T,) parameters in force on each day (NaN before the first fit)
    alpha: np.ndarray
    beta: np.ndarray
    fits: tuple[tuple[int, GarchFit], ...] = field(repr=False)  # (day index of the fit, fit)


def garch_variance(r: np.ndarray, min_obs: int = MIN_OBS, refit_days: int = REFIT_DAYS) -> GarchPath:
    """forecast[t] from GARCH(1,1)-t re-fitted every `refit_days` on an expanding window (module docstring)."""
    if refit_days < 1 or min_obs < 30:
        raise ValueError(f"refit_days must be >= 1 and min_obs >= 30, got {refit_days}, {min_obs}")
    r = np.asarray(r, dtype=float)
    T = r.size
    out, om, al, be = (np.full(T, np.nan) for _ in range(4))
    fits: list[tuple[int, GarchFit]] = []
    first = _first_valid(r)
    if first is None or T - first < min_obs:
        return GarchPath(out, om, al, be, ())
    _no_gaps(r, first)
    fit = None
    for k in range(first + min_obs - 1, T, refit_days):
        fit, s = fit_garch(r[first:k + 1], fit)   # returns up to day k only
        fits.append((k, fit))
        end = min(k + refit_days, T)
        out[k] = s
        for t in range(k + 1, end):               # the recursion forward with the parameters fitted at k
            s = fit.omega + fit.alpha * r[t] ** 2 + fit.beta * s
            out[t] = s
        om[k:end], al[k:end], be[k:end] = fit.omega, fit.alpha, fit.beta
    return GarchPath(out, om, al, be, tuple(fits))


def horizon_variance(var1, horizon_days: float, omega=None, alpha=None, beta=None) -> np.ndarray:
    """Variance of the H-day return from the one-day forecast (module docstring); EWMA when omega is None."""
    var1 = np.asarray(var1, dtype=float)
    h = float(horizon_days)
    if h <= 0:
        raise ValueError(f"horizon must be > 0 days, got {h}")
    if omega is None or h <= 1:
        return var1 * h
    phi = np.asarray(alpha, dtype=float) + np.asarray(beta, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = np.asarray(omega, dtype=float) / (1.0 - phi)
        mean_reverting = h * lr + (var1 - lr) * (1.0 - phi**h) / (1.0 - phi)
    return np.where(phi < INTEGRATED, mean_reverting, var1 * h)


def annualised(var_h, horizon_days: float) -> np.ndarray:
    """sqrt(var_H / H · 365): the horizon-matched forecast as an annualised vol."""
    return np.sqrt(np.asarray(var_h, dtype=float) / horizon_days * DAYS_PER_YEAR)


def oracle_vol(forecast, vol_floor: float, min_vol: float, max_vol: float) -> np.ndarray:
    """The vol a feeder may post for a forecast: at least the underlying's `vol_floor`, inside the VolOracle's
    [min_vol, max_vol] (NaN stays NaN). The one place forecasts are floored and bounded."""
    f = np.asarray(forecast, dtype=float)
    return np.where(np.isnan(f), np.nan, np.clip(np.maximum(f, vol_floor), min_vol, max_vol))


def realised_vol(r: np.ndarray, window: int = 30) -> np.ndarray:
    """realised[t]: sqrt(mean r² over days t+1..t+window · 365), the vol that followed day t (NaN at the end)."""
    r = np.asarray(r, dtype=float)
    out = np.full(r.size, np.nan)
    r2 = np.where(np.isnan(r), np.nan, r * r)
    c = np.concatenate([[0.0], np.cumsum(np.nan_to_num(r2))])
    n = np.concatenate([[0], np.cumsum(~np.isnan(r2))])
    for_t = np.arange(r.size - window)
    cnt = n[for_t + window + 1] - n[for_t + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        out[for_t] = np.where(cnt == window, np.sqrt((c[for_t + window + 1] - c[for_t + 1]) / window * DAYS_PER_YEAR),
                              np.nan)
    return out


def qlike(var_forecast: np.ndarray, r_next: np.ndarray) -> float:
    """Mean QLIKE loss ln σ² + r²/σ² of one-day forecasts against the next day's return (lower is better;
    robust to the noise of r² as a proxy, Patton 2011). NaN pairs are skipped."""
    ok = ~(np.isnan(var_forecast) | np.isnan(r_next))
    v, x = var_forecast[ok], r_next[ok]
    return float(np.mean(np.log(v) + x * x / v)) if v.size else float("nan")


# ---------------------------------------------------------------------------------------------------------
# per underlying, for a price file
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VolForecasts:
    """Horizon-matched annualised forecasts per underlying, per day (NaN where none yet)."""

    dates: np.ndarray
    symbols: tuple[str, ...]
    horizon_days: float
    ewma: np.ndarray         # (T, U) annualised, horizon-matched
    garch: np.ndarray        # (T, U)
    realised: np.ndarray     # (T, U) 30-day forward realised (for the plot only)
    fits: dict               # symbol -> tuple of (day index, GarchFit)
    ewma_qlike: dict
    garch_qlike: dict
    refit_days: int
    min_obs: int

    def vol(self, method: str) -> np.ndarray:
        return {"ewma": self.ewma, "garch": self.garch}[method]

    def summary(self) -> list[dict]:
        """Per underlying: the latest forecasts, the last fit, and one-day QLIKE of EWMA vs GARCH."""
        rows = []
        for j, u in enumerate(self.symbols):
            fits = self.fits[u]
            last = fits[-1][1] if fits else None
            ok = ~np.isnan(self.garch[:, j])
            rows.append({
                "symbol": u, "date": str(self.dates[-1]),
                "ewma": _last(self.ewma[:, j]), "garch": _last(self.garch[:, j]),
                "first_forecast": str(self.dates[np.argmax(ok)]) if ok.any() else None,
                "fits": len(fits), "garch_fit": last.to_dict() if last else None,
                "qlike_ewma": self.ewma_qlike[u], "qlike_garch": self.garch_qlike[u],
            })
        return rows


def forecast_vols(prices, horizon_days: float, refit_days: int = REFIT_DAYS, min_obs: int = MIN_OBS,
                  lam: float = LAMBDA, with_garch: bool = True) -> VolForecasts:
    """EWMA and rolling GARCH(1,1)-t forecasts of every column of `prices` (a `history.Prices`); `with_garch=False`
    skips the fits (the GARCH columns stay NaN)."""
    r = prices.log_returns()
    T, U = r.shape
    ewma, garch, realised = np.full((T, U), np.nan), np.full((T, U), np.nan), np.full((T, U), np.nan)
    fits, q_e, q_g = {}, {}, {}
    for j, u in enumerate(prices.symbols):
        e1 = ewma_variance(r[:, j], lam)
        g = garch_variance(r[:, j], min_obs, refit_days) if with_garch else \
            GarchPath(*(np.full(T, np.nan) for _ in range(4)), ())
        ewma[:, j] = annualised(horizon_variance(e1, horizon_days), horizon_days)
        garch[:, j] = annualised(horizon_variance(g.forecast, horizon_days, g.omega, g.alpha, g.beta), horizon_days)
        realised[:, j] = realised_vol(r[:, j])
        fits[u] = g.fits
        both = ~np.isnan(g.forecast)  # compare the two on the same days
        nxt = np.append(r[1:, j], np.nan)
        q_e[u] = qlike(np.where(both, e1, np.nan), nxt)
        q_g[u] = qlike(g.forecast, nxt)
    return VolForecasts(prices.dates, prices.symbols, horizon_days, ewma, garch, realised, fits, q_e, q_g,
                        refit_days, min_obs)


def _first_valid(r: np.ndarray) -> int | None:
    ok = np.flatnonzero(~np.isnan(r))
    return int(ok[0]) if ok.size else None


def _no_gaps(r: np.ndarray, first: int) -> None:
    if np.isnan(r[first:]).any():
        raise ValueError("a price is missing after the series starts: fill or cut the file (forecasts need "
                         "consecutive daily returns)")


def _last(x: np.ndarray) -> float | None:
    return None if np.isnan(x[-1]) else float(x[-1])


# ---------------------------------------------------------------------------------------------------------
# from the chain's own oracle rounds (the vol feeder without a price file)
# ---------------------------------------------------------------------------------------------------------

HALF_LIFE_SECONDS = 86_400   # the rounds EWMA's half-life (a day: RiskMetrics' λ = 0.94 is a half-life of ~11 days
                             # of daily closes; rounds are intraday and a crash must show within the hour)


def rounds_vol(times, prices, seed_vol: float, half_life: float = HALF_LIFE_SECONDS) -> float:
    """Annualised vol from an oracle's rounds (irregular times, seconds; prices > 0), a time-weighted EWMA of
    the variance rate: starting at `seed_vol`² at the first round, each later round k moves it by

        s ← a·s + (1 - a)·r_k² / Δt_k · SECONDS_PER_YEAR,   a = 2^(-Δt_k / half_life),   r_k = ln(p_k / p_k-1)

    (RiskMetrics' recursion in continuous time: for small Δt the weight of a return is r²·ln 2 / half_life, however
    the rounds are spaced). Rounds at one timestamp count once (the last price); a round with no move still adds its
    time, so a quiet feed decays the estimate. Returns `seed_vol` when there is no return yet."""
    from crossmargin.model.params import SECONDS_PER_YEAR

    t = np.asarray(times, dtype=float)
    p = np.asarray(prices, dtype=float)
    if t.size != p.size:
        raise ValueError("times and prices differ in length")
    if half_life <= 0 or (p <= 0).any():
        raise ValueError("half_life must be > 0 and prices > 0")
    keep = np.append(t[1:] != t[:-1], True)          # the last price of each timestamp
    t, p = t[keep], p[keep]
    s = float(seed_vol) ** 2
    for k in range(1, t.size):
        dt = t[k] - t[k - 1]
        if dt <= 0:
            raise ValueError("round times must increase")
        a = 2.0 ** (-dt / half_life)
        r = math.log(p[k] / p[k - 1])
        s = a * s + (1.0 - a) * r * r / dt * SECONDS_PER_YEAR
    return math.sqrt(s)


def decide(current, post, age, refresh, min_change, min_vol, max_vol):
    """What the feeder sends (None: nothing): `post` (the clamped target) when the current value is outside the
    bounds or `post` moves it by more than `min_change` (relative), else the current value again once it is
    `refresh` seconds old (keeping it fresh). The one rule of the bot and of the simulator's vol path
    (`crossmargin.bots.vol`, `crossmargin.sim.paths.feeder_vol`); WAD integers on chain, floats in the simulator."""
    moved = not (min_vol <= current <= max_vol) or abs(post - current) > min_change * current
    if moved:
        return post
    return current if age >= refresh else None
