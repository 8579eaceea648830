"""Calibration of the margin parameters on market history (`crossmargin risk calibrate`).

Proposes, from daily closes and the GARCH(1,1)-t forecasts of `crossmargin.sim.vol`:

    correlation ρ      EWMA correlation (λ = 0.94) of daily log returns at the file's last close, pair by pair on
                       the days both prices exist; made PSD if needed (eigenvalues clipped at 0, unit diagonal
                       restored), rounded to 2 decimals and checked with the model's `validate_correlation`
    corr_kappa κ       the stressed regime (1-κ)ρ + κJ must reach the stressed correlation of every pair:
                       κ = max_uv (ρs_uv - ρ_uv) / (1 - ρ_uv), rounded up to 0.05, where ρs is the co-movement
                       Σ r_u r_v / sqrt(Σ r_u² Σ r_v²) over the worst 1 % of days of the pair's equal-weight return
                       (uncentred: conditioning on a tail biases the centred correlation down). The model has one κ
                       for both stressed regimes, so the decorrelated one, (1-κ)ρ + κI, uses the same κ (the
                       low end of the EWMA correlation is reported beside it)
    vol_floor          per underlying, the 1st percentile of its GARCH forecast over the file, rounded down to 0.01
                       (at least the VolOracle's min_vol): a forecast never drops below what history has seen
    shock_max          the largest one-day |return| of any underlying, rounded up to 0.05, inside its bounds
    z, vol_up,         the least margin meeting the coverage target (MM coverage >= 99 % on every canonical book),
    shock_min          by bisection on grids inside their bounds, in three steps: the smallest z (0.05 steps) that
                       covers the linear books (no options: z is their only lever); then the smallest vol_up
                       (0.05 steps) that covers the option books at that z (their losses include the vol mark
                       moving with the forecast, which the vol-up scenario must cover); then the smallest shock_min
                       (0.01 steps, not above the current one) that keeps every book covered. Bisection assumes
                       coverage does not fall as a knob grows (true when MM is the scenario grid's worst loss)

Every candidate is a full backtest (`crossmargin.sim.backtest`) of the canonical books over the file with the GARCH
vol, so the proposal is evidenced by the same figures the backtest prints.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from crossmargin.model.params import Params, load_params, validate_correlation
from crossmargin.sim.backtest import TARGET, BookBacktest, canonical_book_set, book_vols, run_books
from crossmargin.sim.history import Prices
from crossmargin.sim.vol import LAMBDA, forecast_vols

WORST = 0.01            # the stressed regime comes from the worst 1 % of days
RISK_KNOBS = ("z", "vol_up", "shock_min", "shock_max", "corr_kappa")
Z_STEP, SHOCK_STEP = 0.05, 0.01


def ewma_correlation(r: np.ndarray, lam: float = LAMBDA, seed: int = 30) -> np.ndarray:
    """(T, U, U): the EWMA correlation at each close, pair by pair on the days both returns exist (NaN before)."""
    T, U = r.shape
    out = np.full((T, U, U), np.nan)
    for a in range(U):
        out[:, a, a] = np.where(np.isnan(r[:, a]), np.nan, 1.0)
        for b in range(a + 1, U):
            ok = np.flatnonzero(~np.isnan(r[:, a]) & ~np.isnan(r[:, b]))
            if ok.size <= seed:
                continue
            x, y = r[ok, a], r[ok, b]
            sxx, syy, sxy = np.mean(x[:seed] ** 2), np.mean(y[:seed] ** 2), np.mean(x[:seed] * y[:seed])
            for k in range(seed, ok.size):
                sxx = lam * sxx + (1 - lam) * x[k] ** 2
                syy = lam * syy + (1 - lam) * y[k] ** 2
                sxy = lam * sxy + (1 - lam) * x[k] * y[k]
                out[ok[k], a, b] = out[ok[k], b, a] = sxy / math.sqrt(sxx * syy)
    return out


def stressed_correlation(r: np.ndarray, worst: float = WORST) -> tuple[np.ndarray, np.ndarray]:
    """(ρs, days): per pair, the uncentred co-movement over the worst `worst` share of days of the pair's
    equal-weight return (at least 5 days), and how many days that was."""
    U = r.shape[1]
    rho, days = np.eye(U), np.zeros((U, U), dtype=int)
    for a in range(U):
        for b in range(a + 1, U):
            ok = ~np.isnan(r[:, a]) & ~np.isnan(r[:, b])
            x, y = r[ok, a], r[ok, b]
            k = max(5, int(math.ceil(worst * x.size)))
            w = np.argsort(x + y)[:k]
            rho[a, b] = rho[b, a] = float(np.sum(x[w] * y[w]) / math.sqrt(np.sum(x[w] ** 2) * np.sum(y[w] ** 2)))
            days[a, b] = days[b, a] = k
    return rho, days


def nearest_valid(rho: np.ndarray, symbols) -> np.ndarray:
    """ρ rounded to 2 decimals, made PSD if needed, and shrunk towards I by 0.01 steps until the model's
    `validate_correlation` accepts it."""
    w, v = np.linalg.eigh((rho + rho.T) / 2)
    if w.min() < 0:
        m = (v * np.maximum(w, 0)) @ v.T
        d = np.sqrt(np.diag(m))
        rho = m / np.outer(d, d)
    for shrink in np.arange(0, 1.0001, 0.01):
        c = np.round((1 - shrink) * rho + shrink * np.eye(len(rho)), 2)
        np.fill_diagonal(c, 1.0)
        c = (c + c.T) / 2
        try:
            validate_correlation(c, tuple(symbols))
            return c
        except ValueError:
            continue
    raise ValueError("no valid correlation matrix near the estimate")  # unreachable: I is valid


@dataclass(frozen=True)
class Trial:
    step: str                # which knob was searched: z (linear books), vol_up (option books), shock_min (all)
    z: float
    vol_up: float
    shock_min: float
    feasible: bool
    worst_book: str
    worst_coverage: float
    mean_mm_pct: float


@dataclass
class Calibration:
    base: Params
    proposed: Params
    changes: list[dict]
    correlation: dict
    trials: list[Trial]
    before: list[BookBacktest] = field(repr=False)
    after: list[BookBacktest] = field(repr=False)
    feasible: bool = True
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"base": self.base.name, "proposed": self.proposed.name, "target": TARGET, "feasible": self.feasible,
                "changes": self.changes, "correlation": self.correlation,
                "trials": [t.__dict__ for t in self.trials],
                "before": [b.to_dict() for b in self.before], "after": [b.to_dict() for b in self.after],
                "notes": self.notes}


def _evaluate(params: Params, prices: Prices, forecasts, horizon: int, only: str = "all",
              cache: dict | None = None) -> list[BookBacktest]:
    """Backtest the canonical books (`only`: "all", "linear" = no option leg, or "options") with the GARCH vol as
    the VolOracle holds it (`cache`: held vols by floors and oracle limits, which the risk knobs do not move)."""
    from crossmargin.sim.backtest import _rows

    p = params.listed(0)
    names, books = canonical_book_set(p)
    if only != "all":
        has_option = np.any(books.sizes[:, [j for j, m in enumerate(p.markets) if m.is_option]] != 0, axis=1)
        keep = [i for i in range(len(names)) if has_option[i] == (only == "options")]
        books, names = _rows(books, keep), tuple(names[i] for i in keep)
    key = (tuple(u.vol_floor for u in p.underlyings), p.oracle)
    vols = cache.get(key) if cache is not None else None
    if vols is None:
        vols = book_vols(p, prices, "garch", forecasts, rate_limit=True)
        if cache is not None:
            cache[key] = vols
    return run_books(p, books, names, prices, vols, horizon)


def _summary(step: str, p: Params, rows: list[BookBacktest]) -> Trial:
    rows = [r for r in rows if r.days]
    worst = min(rows, key=lambda r: r.coverage)
    mm = float(np.mean([r.mm.mean() / r.gross for r in rows]))
    return Trial(step, p.risk.z, p.risk.vol_up, p.risk.shock_min, all(r.coverage >= TARGET for r in rows),
                 worst.book, worst.coverage, mm)


def _grid(lo: float, hi: float, step: float) -> list[float]:
    n = int(math.floor((hi - lo) / step + 1e-9))
    return [round(lo + k * step, 10) for k in range(n + 1)]


def _smallest(grid: list[float], feasible) -> float | None:
    """The smallest grid value with feasible(value) True, by bisection (feasible assumed monotone)."""
    if not grid or not feasible(grid[-1]):
        return None
    lo, hi = -1, len(grid) - 1          # grid[hi] is feasible; grid[lo] is not (or off the grid)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if feasible(grid[mid]):
            hi = mid
        else:
            lo = mid
    return grid[hi]


def calibrate(base: Params, prices: Prices, refit_days: int = 30, progress=None) -> Calibration:
    """Propose parameters (module docstring) for `base` from `prices`; every underlying of `base` needs a column."""
    say = progress or (lambda msg: None)
    missing = [u for u in base.symbols if u not in prices.symbols]
    if missing:
        raise ValueError(f"the price file has no {', '.join(missing)} column (parameter set {base.name!r} needs "
                         f"{', '.join(base.symbols)})")
    horizon = base.risk.horizon_days
    if horizon != int(horizon) or horizon < 1:
        raise ValueError(f"calibration uses daily closes: horizon_days must be a whole number >= 1, got {horizon}")
    horizon = int(horizon)
    prices = prices.only(base.symbols)
    r = prices.log_returns()
    say("forecasting vols (GARCH re-fits)")
    f = forecast_vols(prices, horizon, refit_days=refit_days)
    notes = []

    # correlation regimes
    ew = ewma_correlation(r)
    last = ew[-1]
    rho = nearest_valid(np.where(np.isnan(last), np.array(base.rho), last), base.symbols)
    stressed, days = stressed_correlation(r)
    U = len(base.symbols)
    pairs = [(a, b) for a in range(U) for b in range(a + 1, U)]
    need = [(stressed[a, b] - rho[a, b]) / (1 - rho[a, b]) if rho[a, b] < 1 else 0.0 for a, b in pairs]
    kappa = round(min(1.0, max(0.0, math.ceil(max(need) / 0.05 - 1e-9) * 0.05)), 2)
    low = {f"{base.symbols[a]}:{base.symbols[b]}": float(np.nanpercentile(ew[:, a, b], 1)) for a, b in pairs}
    corr_info = {
        "symbols": list(base.symbols), "ewma_last": _matrix(last), "proposed": rho.tolist(),
        "stressed": _matrix(stressed), "stressed_days": days.tolist(), "kappa": kappa,
        "kappa_needed": {f"{base.symbols[a]}:{base.symbols[b]}": float(n) for (a, b), n in zip(pairs, need)},
        "ewma_1st_percentile": low, "min_eigenvalue": float(np.linalg.eigvalsh(rho).min()),
    }

    # vol floors and the shock cap
    o, bounds = base.oracle, base.risk.bounds
    floors = {}
    for j, u in enumerate(base.symbols):
        g = f.garch[:, j]
        g = g[~np.isnan(g)]
        floors[u] = max(o.min_vol, math.floor(float(np.percentile(g, 1)) * 100) / 100) if g.size else 0.0
    with np.errstate(invalid="ignore"):
        biggest = float(np.nanmax(np.abs(np.expm1(r))))
    lo_max, hi_max = bounds["shock_max"]
    shock_max = round(min(hi_max, max(lo_max, math.ceil(biggest / 0.05 - 1e-9) * 0.05)), 2)
    if biggest > shock_max:
        notes.append(f"the largest one-day move ({biggest:.1%}) is beyond shock_max's upper bound {hi_max}")

    und = tuple(_replace(u, vol_floor=floors[u.symbol]) for u in base.underlyings)
    trial_base = base.replace(underlyings=und, correlation=tuple(tuple(float(x) for x in row) for row in rho)) \
        .with_risk(corr_kappa=kappa, shock_max=shock_max)

    trials: list[Trial] = []
    held: dict = {}

    def feasible(step: str, only: str, **knobs) -> bool:
        p = trial_base.with_risk(**knobs)
        say(f"backtesting {', '.join(f'{k} = {v:g}' for k, v in knobs.items())} ({only} books)")
        t = _summary(step, p, _evaluate(p, prices, f, horizon, only, held))
        trials.append(t)
        return t.feasible

    z_lo, z_hi = bounds["z"]
    u_lo, u_hi = bounds["vol_up"]
    s_lo, s_hi = bounds["shock_min"]
    r0 = base.risk
    z = _smallest(_grid(z_lo, z_hi, Z_STEP), lambda x: feasible("z", "linear", z=x, shock_min=r0.shock_min))
    if z is None:
        z = z_hi
        notes.append(f"no z inside its bounds [{z_lo}, {z_hi}] covers the linear books; proposing z = {z_hi:g}")
    vol_up = _smallest(_grid(u_lo, u_hi, Z_STEP),
                       lambda x: feasible("vol_up", "options", z=z, vol_up=x, shock_min=r0.shock_min))
    if vol_up is None:
        vol_up = u_hi
        notes.append(f"no vol_up inside its bounds [{u_lo}, {u_hi}] covers the option books at z = {z:g}; "
                     f"proposing vol_up = {u_hi:g}")
    grid = [x for x in _grid(s_lo, min(s_hi, shock_max), SHOCK_STEP) if x <= r0.shock_min + 1e-12]
    shock_min = _smallest(grid, lambda x: feasible("shock_min", "all", z=z, vol_up=vol_up, shock_min=x)) \
        or r0.shock_min
    proposed = trial_base.with_risk(z=z, vol_up=vol_up, shock_min=shock_min).replace(name=f"{base.name}-calibrated")
    say("backtesting the base parameters")
    before = _evaluate(base, prices, f, horizon, cache=held)
    after = _evaluate(proposed, prices, f, horizon, cache=held)
    ok = all(r.coverage >= TARGET for r in after if r.days)
    if not ok:
        notes.append("the proposal does not cover every canonical book (see 'after'): coverage is not monotone "
                     "in the knobs for some book")
    return Calibration(base, proposed, _changes(base, proposed), corr_info, trials, before, after, ok, notes)


def _replace(u, **kw):
    import dataclasses

    return dataclasses.replace(u, **kw)


def _matrix(m: np.ndarray) -> list[list[float | None]]:
    return [[None if np.isnan(x) else float(x) for x in row] for row in m]


def _changes(a: Params, b: Params) -> list[dict]:
    out = []
    for name in RISK_KNOBS:
        x, y = getattr(a.risk, name), getattr(b.risk, name)
        if x != y:
            out.append({"name": name, "current": x, "proposed": y})
    for ua, ub in zip(a.underlyings, b.underlyings):
        if ua.vol_floor != ub.vol_floor:
            out.append({"name": f"vol_floor {ua.symbol}", "current": ua.vol_floor, "proposed": ub.vol_floor})
    s = a.symbols
    for i in range(len(s)):
        for j in range(i + 1, len(s)):
            x, y = float(a.rho[i, j]), float(b.rho[i, j])
            if x != y:
                out.append({"name": f"correlation {s[i]}:{s[j]}", "current": x, "proposed": y})
    return out


# ---------------------------------------------------------------------------------------------------------
# the params file
# ---------------------------------------------------------------------------------------------------------

def _num(x: float) -> str:
    return repr(float(round(x, 10)))


def params_text(source: str, base: Params, proposed: Params) -> str:
    """The TOML `source` of `base` with the proposal written in place (comments and layout kept): the [risk] values,
    each [[underlyings]]' vol_floor (added after its `concentration` line when absent), the correlation matrix and
    the name."""
    lines = source.splitlines()
    out, section, u_index = [], None, -1
    set_risk = {k: getattr(proposed.risk, k) for k in RISK_KNOBS if getattr(proposed.risk, k) != getattr(base.risk, k)}
    floor_written = False
    skip_matrix = False
    for line in lines:
        stripped = line.strip()
        if skip_matrix:
            if stripped.startswith("]"):
                skip_matrix = False
            continue
        head = re.match(r"^\s*(\[\[?)([^\]]+)\]\]?", line)
        if head:
            if section == "underlyings" and not floor_written and u_index >= 0:
                out.insert(_last_key(out), f"vol_floor = {_num(proposed.underlyings[u_index].vol_floor)}")
            section = head.group(2).strip()
            if section == "underlyings":
                u_index += 1
                floor_written = False
            out.append(line)
            continue
        key = re.match(r"^(\s*)([A-Za-z_]+)(\s*=\s*)([^#]*?)(\s*)(#.*)?$", line)
        if key:
            name = key.group(2)
            if section is None and name == "name":
                out.append(f'name = "{proposed.name}"')
                continue
            if section == "risk" and name in set_risk:
                out.append(_set(key, _num(set_risk[name]), f"# risk calibrate (was {key.group(4).strip()})"))
                continue
            if section == "underlyings" and name == "vol_floor":
                out.append(_set(key, _num(proposed.underlyings[u_index].vol_floor)))
                floor_written = True
                continue
            if section == "correlation" and name == "matrix":
                out.extend(_matrix_lines(proposed))
                skip_matrix = not stripped.endswith("]]")
                continue
        out.append(line)
    if section == "underlyings" and not floor_written and u_index >= 0:
        out.insert(_last_key(out), f"vol_floor = {_num(proposed.underlyings[u_index].vol_floor)}")
    if not any(re.match(r'^name\s*=', x) for x in out):
        out.insert(0, f'name = "{proposed.name}"')
    return "\n".join(out) + "\n"


def _last_key(out: list[str]) -> int:
    """Index after the last non-blank line (a new key goes at the end of the table, before blank lines)."""
    i = len(out)
    while i > 0 and not out[i - 1].strip():
        i -= 1
    return i


def _set(m: re.Match, value: str, comment: str | None = None) -> str:
    text = f"{m.group(1)}{m.group(2)}{m.group(3)}{value}"
    comment = comment or m.group(6)
    return f"{text:<25} {comment}" if comment else text


def _matrix_lines(p: Params) -> list[str]:
    s = p.symbols
    rows = ["matrix = [", "  # " + "  ".join(f"{x:<5}" for x in s).rstrip()]
    for i, row in enumerate(p.rho):
        rows.append("  [" + ", ".join(f"{float(x):.2f}" for x in row) + f"],   # {s[i]}")
    rows.append("]")
    return rows


def write_params(calibration: Calibration, source: Path, out: Path) -> tuple[Path, str]:
    """Write the proposal next to nothing else: `out` (a TOML file that `load_params` reads back to the same
    numbers) and return it with the unified diff against `source` (for a file that `extends` another, against the
    full file at the root of that chain: the proposal is written whole)."""
    root = _root_file(source)
    text = root.read_text()
    new = params_text(text, calibration.base if root == source else load_params(root), calibration.proposed)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(new)
    check = load_params(out)
    if check.risk != calibration.proposed.risk or not np.array_equal(check.rho, calibration.proposed.rho) or \
            [u.vol_floor for u in check.underlyings] != [u.vol_floor for u in calibration.proposed.underlyings]:
        raise AssertionError(f"{out} does not read back as the proposal")  # a bug here, not a user error
    diff = "".join(difflib.unified_diff(text.splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=str(root), tofile=str(out)))
    return out, diff


def _root_file(source: Path) -> Path:
    """The parameter file at the root of `source`'s `extends` chain (itself when it extends nothing)."""
    import tomllib

    from crossmargin.model.params import PARAMS_DIR

    seen = set()
    while True:
        base = tomllib.loads(source.read_text()).get("extends")
        if base is None or source.resolve() in seen:
            return source
        seen.add(source.resolve())
        nxt = Path(base)
        if nxt.suffix and not nxt.is_absolute():
            nxt = source.parent / nxt                 # a file path: relative to the file (as load_params reads it)
        source = nxt if nxt.suffix or nxt.exists() else PARAMS_DIR / f"{base}.toml"
