"""Stylised stress replays shaped on documented crypto crashes.

These are STYLISED paths, not tick data: a few anchor points per underlying (hours from the start, price
relative to the start), joined linearly in log price at hourly steps, with an implied-vol multiplier path
(applied to the parameter set's reference vols and passed through the VolOracle's per-update step bound).
Every path starts at the reference prices, so the same books can be replayed through every scenario. The
anchor figures are approximate peak-to-trough moves as commonly reported at the time (exchange spot prices;
lows differ by venue); they are listed with each scenario in `sources`.

An underlying a scenario does not list (a custom parameter set) follows the scenario's ETH log-returns
scaled by its reference vol over ETH's (or the first listed symbol's): stated in the path's `sources`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

import numpy as np

from crossmargin.model.params import Params
from crossmargin.sim.paths import PricePath, oracle_vol

SECONDS_PER_HOUR = 3600


@dataclass(frozen=True)
class StressScenario:
    """A stylised crash: anchors (hour, {symbol: price / start price}) and an implied-vol multiplier path."""

    key: str                                   # CLI name
    title: str
    start: str                                 # UTC start of the window the anchors describe
    hours: tuple[float, ...]                   # anchor times, hours from the start (first 0)
    levels: Mapping[str, tuple[float, ...]]    # price / start price at each anchor, per underlying
    vol_mult: tuple[float, ...]                # implied vol / reference vol at each anchor (all underlyings)
    sources: str                               # the figures used

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", MappingProxyType(dict(self.levels)))
        n = len(self.hours)
        if self.hours[0] != 0 or any(b <= a for a, b in zip(self.hours, self.hours[1:])):
            raise ValueError(f"{self.key}: anchor hours must start at 0 and increase")
        for sym, lv in self.levels.items():
            if len(lv) != n or lv[0] != 1.0 or min(lv) <= 0:
                raise ValueError(f"{self.key}: {sym} needs {n} positive levels starting at 1.0")
        if len(self.vol_mult) != n:
            raise ValueError(f"{self.key}: vol_mult needs {n} anchors")

    @property
    def stated_trough(self) -> dict[str, float]:
        """The lowest anchor per listed underlying, as a return (-0.43 = 43 % down from the start)."""
        return {s: min(lv) - 1.0 for s, lv in self.levels.items()}

    def path(self, params: Params, steps_per_hour: int = 1) -> PricePath:
        """The replay on `params`' underlyings, starting at their reference prices and vols."""
        grid = np.linspace(0.0, self.hours[-1], int(round(self.hours[-1] * steps_per_hour)) + 1)
        anchors = np.asarray(self.hours, dtype=float)
        base = "ETH" if "ETH" in self.levels else next(iter(self.levels))
        base_vol = params.underlying(base).vol if base in params.symbols else None
        cols, notes = [], []
        for u in params.underlyings:
            if u.symbol in self.levels:
                log_lv = np.log(np.asarray(self.levels[u.symbol], dtype=float))
            else:  # not covered by the scenario: the base asset's moves scaled by relative vol
                scale = u.vol / (base_vol or u.vol)
                log_lv = scale * np.log(np.asarray(self.levels[base], dtype=float))
                notes.append(f"{u.symbol}: {base} log-returns x {scale:.2f} (not covered by the scenario)")
            cols.append(u.price * np.exp(np.interp(grid, anchors, log_lv)))
        spot = np.stack(cols, axis=1)
        mult = np.interp(grid, anchors, np.asarray(self.vol_mult, dtype=float))
        ref = np.array([u.vol for u in params.underlyings])
        vol = oracle_vol(ref[None, :] * mult[:, None], params.oracle, start=ref, step_seconds=3600.0 / steps_per_hour)
        sources = self.sources + ("" if not notes else " " + "; ".join(notes) + ".")
        return PricePath(self.key, params.symbols, grid * SECONDS_PER_HOUR, spot, vol, stylised=True,
                         title=f"{self.title} (stylised)", sources=sources)


def _lv(*returns: float) -> tuple[float, ...]:
    """Levels from returns in percent: _lv(0, -5, -43) -> (1.0, 0.95, 0.57)."""
    return tuple(round(1.0 + r / 100.0, 6) for r in returns)


_SOL_2020 = tuple(round(float(np.exp(1.2 * np.log(x))), 6) for x in _lv(0, -6, -25, -30, -43, -33, -31))

SCENARIOS: Mapping[str, StressScenario] = MappingProxyType({s.key: s for s in (
    StressScenario(
        key="2020-03-12", title="Black Thursday, 2020-03-12", start="2020-03-12 00:00 UTC",
        hours=(0, 8, 13, 20, 26, 36, 48),
        levels={"ETH": _lv(0, -6, -25, -30, -43, -33, -31),
                "BTC": _lv(0, -5, -22, -27, -39, -30, -29),
                "SOL": _SOL_2020},
        vol_mult=(1.0, 1.1, 1.6, 1.9, 2.5, 2.2, 2.0),
        sources="ETH about -43 % intraday (~$194 -> ~$111 at the low early on 03-13 UTC), BTC about -39 % "
                "(~$7,950 -> ~$4,850 on major spot venues), per common market reports; partial rebound "
                "(ETH -31 %, BTC -29 % after 48 h); BTC/ETH ATM implied vol ~2.5x its pre-crash level at the "
                "low. SOL was not trading yet (mainnet beta 2020-03-16): proxy = ETH log-returns x 1.2.",
    ),
    StressScenario(
        key="luna", title="LUNA/UST collapse, 2022-05-05..13", start="2022-05-05 00:00 UTC",
        hours=(0, 24, 96, 120, 144, 176, 192),
        levels={"ETH": _lv(0, -7, -22, -20, -30, -42, -31),
                "BTC": _lv(0, -8, -22, -21, -26, -33, -26),
                "SOL": _lv(0, -9, -27, -25, -37, -57, -44)},
        vol_mult=(1.0, 1.1, 1.3, 1.3, 1.5, 1.8, 1.6),
        sources="2022-05-05 to the 05-12 lows, per common market reports: BTC ~$39,700 -> ~$26,700 (-33 %), "
                "ETH ~$2,940 -> ~$1,700 (-42 %), SOL ~$88 -> ~$37.5 (-57 %); rebound on 05-13 "
                "(BTC -26 %, ETH -31 %, SOL -44 % from the start); implied vol ~1.8x at the low.",
    ),
    StressScenario(
        key="ftx", title="FTX collapse, 2022-11-06..11", start="2022-11-06 00:00 UTC",
        hours=(0, 24, 48, 60, 84, 92, 100, 120),
        levels={"ETH": _lv(0, -4, -12, -22, -30, -33, -28, -21),
                "BTC": _lv(0, -3, -10, -18, -24, -26, -22, -18),
                "SOL": _lv(0, -8, -25, -35, -55, -60, -65, -55)},
        vol_mult=(1.0, 1.05, 1.3, 1.5, 1.8, 1.9, 1.8, 1.6),
        sources="2022-11-06 to the 11-09/10 lows, per common market reports: BTC ~$21,300 -> ~$15,700 (-26 %), "
                "ETH ~$1,620 -> ~$1,080 (-33 %), SOL ~$35.5 -> ~$12.4 (-65 %, the FTX/Alameda-linked asset "
                "decoupling from BTC); implied vol ~1.9x at the low.",
    ),
    StressScenario(
        key="2024-08-05", title="Yen carry unwind, 2024-08-05", start="2024-08-02 00:00 UTC",
        hours=(0, 24, 48, 66, 72, 78, 96, 120),
        levels={"ETH": _lv(0, -7, -11, -17, -22, -34, -25, -23),
                "BTC": _lv(0, -5, -8, -12, -15, -25, -16, -14),
                "SOL": _lv(0, -6, -12, -18, -22, -36, -23, -20)},
        vol_mult=(1.0, 1.05, 1.15, 1.3, 1.5, 2.0, 1.5, 1.3),
        sources="2024-08-02 to the 08-05 ~06:00 UTC lows, per common market reports: BTC ~$65,300 -> ~$49,100 "
                "(-25 %), ETH ~$3,200 -> ~$2,110 (-34 %, about -20 % within hours on 08-05), SOL ~$172 -> ~$110 "
                "(-36 %); sharp rebound by 08-06; BTC implied vol (DVOL) roughly doubled intraday.",
    ),
)})


def stress_paths(params: Params, keys: list[str] | None = None) -> list[PricePath]:
    """The replays named by `keys` (default: all), on `params`."""
    keys = list(SCENARIOS) if keys is None else keys
    unknown = [k for k in keys if k not in SCENARIOS]
    if unknown:
        raise KeyError(f"unknown stress scenario(s) {unknown}; known: {list(SCENARIOS)}")
    return [SCENARIOS[k].path(params) for k in keys]
