"""Protocol parameters: the one source for deploy, the reference model and the tests.

A parameter set is a TOML file (`crossmargin/params/<name>.toml`) read by `load_params` into frozen
dataclasses. The model reads the floats (USD, years, fractions); deploy sends `Params.onchain()`, the same
numbers as exact integers (WAD = 1e18, seconds, token decimals). Nothing else in the repository writes a
risk number down twice.

Units (model side)
    prices, values, notionals, depths      USD (the settlement asset's unit)
    vols, rates, haircuts, shocks, ρ, κ, λ  plain fractions (0.6 = 60 %, annualised where it is a vol)
    sizes, caps, open interest             units of the underlying / of the token
    horizon, T_ref, expiries               days in the file; `*_years` helpers convert (year = 365 days)
    heartbeats, funding periods            seconds

Ids (TECH_SPEC "Units and ids"): underlyings carry their `id` in the file (ETH=1, BTC=2, SOL=3);
instrument ids are the 1-based listing order of `[[markets]]` (deploy lists them in file order);
`Kind` values are the on-chain instrument kinds.

Exactness: every number in a TOML file must be a decimal with at most 15 significant digits, so the float
the model uses round-trips to the literal and `to_wad(float)` is the exact WAD of what the file says.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from crossmargin.model.share_rate import ShareGuard
from crossmargin.paths import CONTRACTS

WAD = 10**18
SECONDS_PER_DAY = 86_400
DAYS_PER_YEAR = 365
SECONDS_PER_YEAR = DAYS_PER_YEAR * SECONDS_PER_DAY
PARAMS_DIR = Path(__file__).resolve().parents[1] / "params"
# Smallest eigenvalue allowed for a correlation matrix is -PSD_TOLERANCE. The chain (RiskEngine.set_correlation,
# contracts/lib/psd.vy) accepts every matrix with smallest eigenvalue >= -9e-12 and rejects those <= -1e-11, so
# whatever passes here passes there (TECH_SPEC, RiskEngine).
PSD_TOLERANCE = 1e-12
# Mark depth of a PERP whose parameters give none (USD of fill notional that moves the mark premium half way).
DEFAULT_MARK_DEPTH = 1_000_000.0


def _vyper_constant(name: str) -> int:
    """An integer constant of contracts/lib/constants.vy, the one place it is written."""
    m = re.search(rf"^{name}\s*:\s*constant\(\w+\)\s*=\s*(\d+)\s*$", (CONTRACTS / "lib" / "constants.vy").read_text(),
                  re.M)
    if m is None:
        raise LookupError(f"{name} is not an integer constant of contracts/lib/constants.vy")
    return int(m.group(1))


MAX_UNDERLYINGS = _vyper_constant("MAX_UNDERLYINGS")  # the RiskEngine lists at most this many
# Price id of the settlement asset (1 USD, OK; OracleRouter): the asset id of an ERC-4626 vault over it (2**64 - 1).
SETTLEMENT_PRICE_ID = _vyper_constant("SETTLEMENT_UID")


# ---------------------------------------------------------------------------------------------------------
# exact conversion to on-chain integers
# ---------------------------------------------------------------------------------------------------------

def _exact(x: Any) -> Fraction:
    """The exact rational a parameter stands for (a float stands for its shortest round-trip decimal)."""
    if isinstance(x, bool):
        raise TypeError(f"expected a number, got bool {x!r}")
    if isinstance(x, (int, np.integer)):
        return Fraction(int(x))
    if isinstance(x, (float, np.floating)):
        if not math.isfinite(x):
            raise ValueError(f"cannot convert non-finite {x!r} to an integer amount")
        return Fraction(repr(float(x)))
    if isinstance(x, (str, Decimal, Fraction)):
        return Fraction(x)
    raise TypeError(f"cannot convert {type(x).__name__} {x!r} to an integer amount")


def to_units(x: Any, decimals: int, *, rounding: str | None = None) -> int:
    """`x · 10**decimals` as an int, computed exactly (Fraction, never binary floating point).

    A float is read as its shortest round-trip decimal (`repr`): `to_units(0.6, 18) == 6 * 10**17`.
    `rounding=None` (default) raises ValueError unless the result is a whole number;
    `"down"`/`"up"` floor/ceil (name the direction that favours the protocol), `"nearest"` rounds half-even.
    """
    q = _exact(x) * 10**decimals
    if q.denominator == 1:
        return int(q)
    if rounding == "down":
        return math.floor(q)
    if rounding == "up":
        return math.ceil(q)
    if rounding == "nearest":
        return round(q)
    if rounding is None:
        raise ValueError(f"{x!r} is not a whole number of 1e-{decimals} units; pass rounding='down'|'up'|'nearest'")
    raise ValueError(f"unknown rounding {rounding!r}")


def to_wad(x: Any, *, rounding: str | None = None) -> int:
    """`x · 1e18` as an int, exact (see `to_units`). `to_wad(0.6) == 600_000_000_000_000_000`."""
    return to_units(x, 18, rounding=rounding)


def from_wad(n: int) -> float:
    """A WAD integer as the nearest float (for comparing chain numbers with the model)."""
    return int(n) / WAD


# ---------------------------------------------------------------------------------------------------------
# parameter objects
# ---------------------------------------------------------------------------------------------------------

class Kind(enum.IntEnum):
    """Instrument kind, with its on-chain value (`KIND_*` in contracts/lib/constants.vy)."""

    PERP = 1
    FUTURE = 2
    CALL = 3
    PUT = 4


@dataclass(frozen=True)
class Underlying:
    """A risk factor with a price feed and a vol feed (ETH, BTC, ...)."""

    symbol: str
    id: int                    # on-chain underlying id, >= 1
    price: float               # reference spot, USD (mock feeds start here; MarketState.from_params)
    vol: float                 # reference annualised implied vol (VolOracle starts here)
    depth_usd: float           # market depth: the concentration add-on divides by it
    concentration: float       # λ_u: add-on λ_u · N_u · max(A_u·S_u, N_u) / depth_usd (A_u: protocol open interest)
    heartbeat: int = 3600      # seconds a price feed answer stays fresh
    feed_decimals: int = 8     # Chainlink answer decimals
    # -- vol feeder (off chain; issue 13): the feeder never posts a forecast below this (0 = oracle.min_vol only)
    vol_floor: float = 0.0     # annualised; `crossmargin risk calibrate` proposes it from history

    def __post_init__(self) -> None:
        where = f"underlying {self.symbol}"
        _check(0 <= self.vol_floor < 10, f"{where}: vol_floor must be in [0, 10), got {self.vol_floor}")
        _check(self.id >= 1, f"{where}: id must be >= 1 (0 means 'none'), got {self.id}")
        _check(self.price > 0, f"{where}: price must be > 0, got {self.price}")
        _check(self.vol > 0, f"{where}: vol must be > 0, got {self.vol}")
        _check(self.depth_usd > 0, f"{where}: depth_usd must be > 0, got {self.depth_usd}")
        _check(self.concentration >= 0, f"{where}: concentration must be >= 0, got {self.concentration}")
        _check(self.heartbeat > 0, f"{where}: heartbeat must be > 0 seconds, got {self.heartbeat}")
        _check(0 <= self.feed_decimals <= 18, f"{where}: feed_decimals must be in [0, 18], got {self.feed_decimals}")


@dataclass(frozen=True)
class Collateral:
    """A token the Vault accepts. Exactly one is the settlement asset (its balance is the account's cash);
    every other one is linked to an underlying, whose feed prices it and in whose scenarios it is a spot delta."""

    symbol: str
    decimals: int                   # the token's ERC20 decimals (<= 18)
    settlement: bool = False        # the settlement asset (USDC): cash, no haircut
    underlying: str | None = None   # linked underlying symbol (WETH -> ETH); None for settlement and unit collateral
    unit: bool = False              # priced in the settlement unit (shares of an ERC-4626 vault over USDC): worth
                                    # bal·rate·(1 - h) in equity, in no underlying's book (no delta, no vol)
    cap: float = 0.0                # deposit cap, token units (total over all accounts)
    haircut_base_mm: float = 0.0    # h = min(1, base + slope · value / depth), MM flavour
    haircut_base_im: float = 0.0    # IM flavour, >= base_mm
    haircut_slope: float = 0.0
    depth_usd: float = 0.0          # depth of the token's own market (haircut grows with value / depth)

    def __post_init__(self) -> None:
        where = f"collateral {self.symbol}"
        _check(0 <= self.decimals <= 18, f"{where}: decimals must be in [0, 18], got {self.decimals}")
        _check(self.cap >= 0, f"{where}: cap must be >= 0, got {self.cap}")
        _check(self.haircut_base_im >= self.haircut_base_mm,
               f"{where}: haircut_base_im ({self.haircut_base_im}) must be >= haircut_base_mm ({self.haircut_base_mm})")
        _check(self.haircut_base_mm >= 0 and self.haircut_slope >= 0, f"{where}: haircuts must be >= 0")
        if self.settlement or self.unit:
            _check(not (self.settlement and self.unit), f"{where}: the settlement asset is not unit collateral")
            _check(self.underlying is None, f"{where}: the settlement asset and unit collateral cannot be linked to "
                   "an underlying")
        if self.unit:
            _check(self.depth_usd > 0, f"{where}: depth_usd must be > 0, got {self.depth_usd}")
        elif self.settlement:
            _check(self.haircut_base_mm == self.haircut_base_im == self.haircut_slope == 0,
                   f"{where}: the settlement asset is cash and takes no haircut")
        else:
            _check(self.underlying is not None,
                   f"{where}: non-settlement collateral must be linked to an underlying (its price feed)")
            _check(self.depth_usd > 0, f"{where}: depth_usd must be > 0, got {self.depth_usd}")

    def haircut_base(self, kind: str) -> float:
        """The base haircut of the IM (`"im"`) or MM (`"mm"`) flavour."""
        return {"im": self.haircut_base_im, "mm": self.haircut_base_mm}[_kind(kind)]


@dataclass(frozen=True)
class MarketSpec:
    """An instrument: PERP, dated FUTURE or European CALL/PUT (cash-settled) on one underlying.

    `expiry_days` is relative to listing; `expiry` is the absolute unix time once listed (`listed(at)`).
    An unlisted dated spec is valued as if listed at the valuation time (T = expiry_days / 365).
    """

    name: str
    kind: Kind
    underlying: str
    max_open_interest: float                 # units of the underlying, per side
    max_position: float                      # |size| cap per account, units of the underlying
    expiry_days: float | None = None         # FUTURE/CALL/PUT only
    strike: float | None = None              # CALL/PUT only, USD
    funding_period: int | None = None        # PERP only: seconds per funding period
    funding_max_rate: float | None = None    # PERP only: |rate| cap per period, fraction of index
    funding_half_life: int | None = None     # PERP only: mark premium half-life without fills, seconds
    mark_depth: float | None = None          # PERP only: USD of fill notional that moves the mark premium half way
    id: int = 0                              # instrument id (listing order, 1-based); 0 = unassigned
    expiry: int | None = None                # absolute unix expiry time, set by `listed`

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", Kind[self.kind] if isinstance(self.kind, str) else Kind(self.kind))
        where = f"market {self.name}"
        _check(self.max_open_interest > 0 and self.max_position > 0,
               f"{where}: max_open_interest and max_position must be > 0")
        _check(self.max_position <= self.max_open_interest, f"{where}: max_position must be <= max_open_interest")
        perp_fields = (self.funding_period, self.funding_max_rate, self.funding_half_life)
        if self.kind is Kind.PERP:
            _check(self.expiry_days is None and self.strike is None, f"{where}: a PERP has no expiry and no strike")
            _check(None not in perp_fields, f"{where}: a PERP needs funding_period, funding_max_rate, funding_half_life")
            _check(self.funding_period > 0 and self.funding_half_life > 0 and 0 < self.funding_max_rate < 1,
                   f"{where}: funding_period and funding_half_life must be > 0 s, funding_max_rate in (0, 1)")
            if self.mark_depth is None:
                object.__setattr__(self, "mark_depth", DEFAULT_MARK_DEPTH)
            _check(self.mark_depth > 0, f"{where}: mark_depth must be > 0 USD")
        else:
            _check(all(f is None for f in perp_fields + (self.mark_depth,)),
                   f"{where}: funding parameters are for PERPs only")
            _check(self.expiry_days is not None and self.expiry_days > 0, f"{where}: {self.kind.name} needs expiry_days > 0")
            _check((_exact(self.expiry_days) * SECONDS_PER_DAY).denominator == 1,
                   f"{where}: expiry_days must be a whole number of seconds")
        if self.is_option:
            _check(self.strike is not None and self.strike > 0, f"{where}: an option needs strike > 0")
        elif self.kind is Kind.FUTURE:
            _check(self.strike is None, f"{where}: a FUTURE has no strike")

    @property
    def is_option(self) -> bool:
        return self.kind in (Kind.CALL, Kind.PUT)

    @property
    def is_linear(self) -> bool:
        return self.kind in (Kind.PERP, Kind.FUTURE)

    @property
    def is_call(self) -> bool:
        return self.kind is Kind.CALL

    @property
    def expiry_seconds(self) -> int | None:
        """Expiry relative to listing, seconds (None for a PERP)."""
        return None if self.expiry_days is None else int(_exact(self.expiry_days) * SECONDS_PER_DAY)

    def listed(self, at: int, id: int | None = None) -> MarketSpec:
        """This spec as listed at unix time `at`: absolute `expiry` fixed (and `id`, if given)."""
        expiry = None if self.expiry_seconds is None else int(at) + self.expiry_seconds
        return dataclasses.replace(self, expiry=expiry, id=self.id if id is None else id)

    def time_to_expiry(self, now: float) -> float:
        """Years to expiry at unix time `now` (may be <= 0 after expiry; +inf for a PERP)."""
        if self.kind is Kind.PERP:
            return math.inf
        if self.expiry is None:
            return self.expiry_days / DAYS_PER_YEAR
        return (self.expiry - now) / SECONDS_PER_YEAR


# Parameters the risk manager may set on chain, each only inside its stored (min, max) bounds.
RISK_SETTABLE = (
    "z", "horizon_days", "shock_min", "shock_max", "vol_up", "vol_down", "vol_shock_cap", "vol_t_ref_days",
    "im_factor", "basis_rate", "short_option_rate", "corr_kappa", "rate",
)
ASSET_SETTABLE = ("haircut_base_mm", "haircut_base_im", "haircut_slope", "concentration")
BOUNDED = RISK_SETTABLE + ASSET_SETTABLE


@dataclass(frozen=True)
class RiskParams:
    """The margin model's knobs (DESIGN §4) and the on-chain bounds of everything settable.

    shock s_u = clamp(z · σ_u · sqrt(horizon), shock_min, shock_max); spot moves k/4 · s_u, k = -4..4;
    vol multipliers 1 - vol_down·m, 1, 1 + vol_up·m with m = min(vol_shock_cap, sqrt(T_ref / T));
    IM = im_factor · MM; correlation regimes ρ, (1-κ)ρ + κJ, (1-κ)ρ + κI with κ = corr_kappa.
    """

    z: float                      # confidence multiplier (≈ 3: a 3-sigma move over the horizon)
    horizon_days: float           # liquidation horizon H
    shock_min: float              # floor of the spot shock (fraction of spot)
    shock_max: float              # cap of the spot shock, < 1 so shocked prices stay > 0
    vol_up: float                 # relative vol-up shock at T = T_ref
    vol_down: float               # relative vol-down shock at T = T_ref
    vol_shock_cap: float          # cap on the short-expiry scaling sqrt(T_ref / T)
    vol_t_ref_days: float         # T_ref
    im_factor: float              # IM = im_factor · MM, >= 1
    basis_rate: float             # add-on per USD of hedged linear notional (gross - |net|) per underlying
    short_option_rate: float      # add-on per USD of short option notional
    corr_kappa: float             # κ: how far the stressed correlation regimes move towards J and I
    rate: float = 0.0             # Black-76 discount rate (0 = forward is spot, no discounting)
    max_positions: int = 32       # positions per (sub)account: keeps the on-chain loop finite
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # on-chain (min, max) per name in BOUNDED

    def __post_init__(self) -> None:
        bounds = {k: tuple(v) for k, v in dict(self.bounds).items()}
        object.__setattr__(self, "bounds", MappingProxyType(bounds))
        unknown = set(bounds) - set(BOUNDED)
        _check(not unknown, f"risk.bounds: unknown parameter(s) {sorted(unknown)}; settable are {list(BOUNDED)}")
        missing = [k for k in BOUNDED if k not in bounds]
        _check(not missing, f"risk.bounds: missing bounds for {missing}")
        for name, b in bounds.items():
            _check(len(b) == 2 and b[0] <= b[1], f"risk.bounds.{name}: expected [min, max] with min <= max, got {list(b)}")
        for name in RISK_SETTABLE:
            self.check_bounds(name, getattr(self, name), f"risk.{name}")
        # Constraints that must hold for every value the risk manager could set, so they are checked on the
        # bounds (which then imply them for the values, already inside their bounds).
        _check(self.bounds["im_factor"][0] >= 1, "risk.bounds.im_factor: min must be >= 1 (IM >= MM by construction)")
        _check(self.bounds["shock_min"][0] > 0, "risk.bounds.shock_min: min must be > 0")
        _check(self.bounds["shock_min"][1] <= self.bounds["shock_max"][0],
               "risk.bounds: shock_min max must be <= shock_max min (so shock_min <= shock_max always)")
        _check(self.bounds["shock_max"][1] < 1, "risk.bounds.shock_max: max must be < 1 (shocked prices stay > 0)")
        _check(self.bounds["vol_down"][1] * self.bounds["vol_shock_cap"][1] < 1,
               "risk.bounds: vol_down max · vol_shock_cap max must be < 1 (shocked vols stay > 0)")
        _check(self.bounds["vol_shock_cap"][0] >= 1, "risk.bounds.vol_shock_cap: min must be >= 1")
        _check(self.bounds["basis_rate"][1] <= self.bounds["shock_min"][0],
               "risk.bounds: basis_rate max must be <= shock_min min (a hedged linear book never needs more than the naked one)")
        _check(0 <= self.bounds["corr_kappa"][0] and self.bounds["corr_kappa"][1] <= 1,
               "risk.bounds.corr_kappa: must lie in [0, 1] (convex blends keep ρ PSD)")
        _check(self.bounds["horizon_days"][0] > 0 and self.bounds["vol_t_ref_days"][0] > 0,
               "risk.bounds: horizon_days and vol_t_ref_days must be > 0")
        for name in ("horizon_days", "vol_t_ref_days"):
            v = _exact(getattr(self, name)) * SECONDS_PER_DAY
            _check(v.denominator == 1, f"risk.{name}: must be a whole number of seconds, got {getattr(self, name)} days")
        _check(1 <= self.max_positions <= 256, f"risk.max_positions must be in [1, 256], got {self.max_positions}")

    def check_bounds(self, name: str, value: float, where: str) -> None:
        lo, hi = self.bounds[name]
        _check(lo <= value <= hi, f"{where} = {value} is outside its on-chain bounds [{lo}, {hi}]")

    @property
    def horizon_years(self) -> float:
        return self.horizon_days / DAYS_PER_YEAR

    @property
    def vol_t_ref_years(self) -> float:
        return self.vol_t_ref_days / DAYS_PER_YEAR


@dataclass(frozen=True)
class OracleParams:
    """OracleRouter and VolOracle settings (TECH_SPEC OracleRouter / VolOracle)."""

    max_deviation: float          # primary vs secondary relative difference above which a price is DEGRADED
    vol_hour_factor: float        # a vol update stays within ×/÷ this of the value when the hour window opened
    vol_day_factor: float         # ... and within ×/÷ this of the value when the day window opened
    vol_stale_factor: float       # a vol older than its heartbeat reads marked up by this (liquidation mode uses it)
    min_vol: float                # vol bounds accepted by the VolOracle
    max_vol: float
    vol_heartbeat: int            # seconds a vol stays fresh
    sequencer_grace: int = 3600   # seconds after the L2 sequencer comes back up during which prices are STALE

    def __post_init__(self) -> None:
        _check(0 < self.max_deviation < 1, f"oracle.max_deviation must be in (0, 1), got {self.max_deviation}")
        _check(1 < self.vol_hour_factor <= 4 and self.vol_hour_factor <= self.vol_day_factor <= 16,
               f"oracle: need 1 < vol_hour_factor <= 4 and vol_hour_factor <= vol_day_factor <= 16, got "
               f"{self.vol_hour_factor}, {self.vol_day_factor}")
        _check(1 <= self.vol_stale_factor <= 2, f"oracle.vol_stale_factor must be in [1, 2], got {self.vol_stale_factor}")
        _check(0 < self.min_vol < self.max_vol, f"oracle: need 0 < min_vol < max_vol, got {self.min_vol}, {self.max_vol}")
        _check(self.vol_heartbeat > 0 and self.sequencer_grace >= 0, "oracle: vol_heartbeat > 0 and sequencer_grace >= 0")


@dataclass(frozen=True)
class ScenarioParams:
    """Term-structure and basis scenarios (issue 12 §2-§3; TECH_SPEC RiskEngine "Term row"), an optional
    `[scenarios]` table. The term row of each underlying's grid takes, at each spot move, every expiry's options at
    the worst of that expiry's own vol rows (parallel moves and twists, no parameter: the ranges are the vol rows')
    and shocks the dated futures' basis to spot by b_T = basis_vol · σ_u · T (T in years to expiry), in the
    book's adverse direction. On chain `basis_vol` is a RiskEngine risk parameter (RiskParams / RiskBounds,
    after `rate`), settable by the risk manager inside `basis_vol_bounds`."""

    basis_vol: float = 0.1                                  # annualised carry-rate shock per unit of σ_u
    basis_vol_bounds: tuple[float, float] = (0.0, 0.5)      # on-chain bounds of basis_vol

    def __post_init__(self) -> None:
        lo, hi = (float(x) for x in self.basis_vol_bounds)
        object.__setattr__(self, "basis_vol_bounds", (lo, hi))
        _check(0 <= lo <= hi <= 1, f"scenarios.basis_vol_bounds must satisfy 0 <= min <= max <= 1, got {[lo, hi]}")
        _check(lo <= self.basis_vol <= hi,
               f"scenarios.basis_vol = {self.basis_vol} is outside its on-chain bounds [{lo}, {hi}]")

    @classmethod
    def defaults(cls) -> ScenarioParams:
        """The values of default.toml (used when a parameter set has no `[scenarios]` table)."""
        return cls()


@dataclass(frozen=True)
class LiquidationParams:
    """Dutch auctions of under-margined portfolios (TECH_SPEC "Liquidation"); every key is required in a
    `[liquidation]` table. Reference: Derive mainnet's auctions (discount 5 % -> 30 % over 15 minutes; ours over
    180 s by default, sized to 2 s blocks: issue 18) and
    Aave's close factor (whole positions when small or deep under water)."""

    discount_start: float       # d(0): discount on the mark value when the auction opens
    discount_max: float         # d(T) and after
    auction_seconds: int        # T: seconds for the discount to ramp from start to max
    flag_fee_rate: float        # the starter's fee, fraction of the account's MM ...
    flag_fee_cap: float         # ... capped at this many USD (and at the account's mark value)
    fund_fee_rate: float        # fee to the insurance fund, fraction of the mark value sold
    min_partial_mm: float       # USD: accounts whose MM is at most this may be taken whole
    full_close_health: float    # E_mm / MM at or below which the whole portfolio may be taken
    # -- auction life (TECH_SPEC "Liquidation", stale auctions and loss hold): an auction takes bids for
    # max_age_seconds after its (re)start, then expires (restartable at d_start); it is also the longest time
    # an insolvent auction's known loss holds settlement-cash withdrawals. Bounds: [auction_seconds, 86400].
    max_age_seconds: int = 3600
    # -- escalation of an auction nobody bids (issue 18; TECH_SPEC "Liquidation", escalation): once an auction has
    # run escalation_delay seconds since its (re)start (counted from the start, not from the ramp's end), a full
    # bid on a sliver (0 < V < escalation_reward·MM: a larger V is worth a bid at d_max and keeps the d(t) floor)
    # also earns a reward growing linearly over auction_seconds up to escalation_reward·MM, paid out of the
    # owner's proceeds at d(t) first, then by the insurance fund, then socialised. Bounds: delay in [0, 86400],
    # reward in [0, 0.5].
    escalation_delay: int = 0
    escalation_reward: float = 0.3

    def __post_init__(self) -> None:
        _check(0 <= self.discount_start <= self.discount_max, "liquidation: need 0 <= discount_start <= discount_max")
        _check(self.fund_fee_rate >= 0 and self.discount_max + self.fund_fee_rate <= 0.9,
               "liquidation: discount_max + fund_fee_rate must be <= 0.9 (a solvent bid always pays something)")
        _check(60 <= self.auction_seconds <= 86_400, f"liquidation.auction_seconds must be in [60, 86400], got {self.auction_seconds}")
        _check(0 <= self.flag_fee_rate <= 0.1, f"liquidation.flag_fee_rate must be in [0, 0.1], got {self.flag_fee_rate}")
        _check(self.flag_fee_cap >= 0 and self.min_partial_mm >= 0, "liquidation: flag_fee_cap and min_partial_mm must be >= 0")
        _check(0 <= self.full_close_health <= 1, f"liquidation.full_close_health must be in [0, 1], got {self.full_close_health}")
        _check(self.auction_seconds <= self.max_age_seconds <= 86_400,
               f"liquidation.max_age_seconds must be in [auction_seconds, 86400], got {self.max_age_seconds}")
        _check(0 <= self.escalation_delay <= 86_400,
               f"liquidation.escalation_delay must be in [0, 86400], got {self.escalation_delay}")
        _check(0 <= self.escalation_reward <= 0.5,
               f"liquidation.escalation_reward must be in [0, 0.5], got {self.escalation_reward}")

    @classmethod
    def defaults(cls) -> LiquidationParams:
        """The values of default.toml (used when a parameter set has no `[liquidation]` table)."""
        return cls(discount_start=0.05, discount_max=0.3, auction_seconds=180, flag_fee_rate=0.005,
                   flag_fee_cap=500.0, fund_fee_rate=0.01, min_partial_mm=1000.0, full_close_health=0.5,
                   max_age_seconds=3600, escalation_delay=0, escalation_reward=0.3)

    def discount(self, seconds: float) -> float:
        """d(t) = min(d_max, d_start + (d_max - d_start) · t / T)."""
        t = min(max(seconds, 0.0), self.auction_seconds)
        return self.discount_start + (self.discount_max - self.discount_start) * t / self.auction_seconds

    def onchain(self) -> dict[str, int]:
        """`LiquidationParams` of contracts/Liquidation.vy: WAD, except `auction_seconds`."""
        return {"discount_start": to_wad(self.discount_start), "discount_max": to_wad(self.discount_max),
                "auction_seconds": int(self.auction_seconds), "flag_fee_rate": to_wad(self.flag_fee_rate),
                "flag_fee_cap": to_wad(self.flag_fee_cap), "fund_fee_rate": to_wad(self.fund_fee_rate),
                "min_partial_mm": to_wad(self.min_partial_mm), "full_close_health": to_wad(self.full_close_health),
                "max_age_seconds": int(self.max_age_seconds), "escalation_delay": int(self.escalation_delay),
                "escalation_reward": to_wad(self.escalation_reward)}

    def escalated(self, seconds: float, value: float, mm: float) -> bool:
        """Whether a full bid `seconds` after the auction's (re)start on an account worth `value` is escalated
        (mirror of `Liquidation._reward`): escalation_delay has passed and 0 < V < escalation_reward·MM."""
        return seconds >= self.escalation_delay and 0 < value < self.escalation_reward * mm

    def escalation_reward_at(self, seconds: float, value: float, mm: float) -> float:
        """Reward of a full bid on an auction `seconds` after its (re)start whose account is worth `value`:
        escalation_reward·MM·min(1, t_e / T), t_e the seconds since it escalated (escalation_delay after the
        (re)start); 0 before, or when the account is not a sliver (V outside (0, escalation_reward·MM))."""
        if not self.escalated(seconds, value, mm):
            return 0.0
        t = seconds - self.escalation_delay
        return self.escalation_reward * mm * min(t, self.auction_seconds) / self.auction_seconds

    def escalated_bid(self, value: float, mm: float, reward: float, fund: float,
                      discount: float | None = None) -> dict[str, float]:
        """Split of a full bid on an escalated auction (0 < V < escalation_reward·MM) at the discount d(t)
        (`discount`, d_max when None; mirror of `Liquidation._escalated_bid`, without rounding): the owner is owed
        V·(1 - d) and pays the fund V·r; the reward R comes out of that first, then from the fund (`fund`: its
        cash), then from the loss index. The owner never gets more than a full bid at d(t) would pay him."""
        d = self.discount_max if discount is None else discount
        net = value * (1 - d - self.fund_fee_rate)
        own = min(reward, net)
        paid = min(reward - own, max(fund, 0.0) + value * self.fund_fee_rate)
        return {"owner": net - own, "owner_paid": own, "fund_paid": paid, "socialized": reward - own - paid,
                "bidder_gain": value * d + reward}


# Field order of the contract's `LiquidationParams` struct (deploy sends a tuple in this order).
LIQUIDATION_FIELDS = ("discount_start", "discount_max", "auction_seconds", "flag_fee_rate", "flag_fee_cap",
                      "fund_fee_rate", "min_partial_mm", "full_close_health", "max_age_seconds", "escalation_delay",
                      "escalation_reward")


@dataclass(frozen=True)
class LendingParams:
    """Settlement cash lending in the Vault (TECH_SPEC Vault "lending"): negative cash pays the kinked
    utilisation rate, positive cash earns it net of the reserve factor (the insurance fund's share);
    every key is required in a `[lending]` table. The bounds are the Vault's constants. Reference: Aave v3's
    stablecoin reserves (0 % base, kink 80-92 %, slope2 60-300 %) and Compound's jump-rate model."""

    base_rate: float            # borrow rate per year at zero utilisation
    slope1: float               # added linearly from 0 to the kink
    slope2: float               # added linearly from the kink to 100 % utilisation
    kink: float                 # utilisation where slope2 starts
    reserve_factor: float       # share of interest credited to the insurance fund
    withdraw_cap: float         # a settlement withdrawal may not leave utilisation above it
    hard_cap: float             # utilisation at or above which the deleveraging clock runs
    delever_target: float       # deleveraging brings utilisation down to it; below it the clock stops
    delever_grace: int          # seconds at or above the hard cap before deleveraging opens
    delever_discount: float     # price discount of a deleveraging buyer (<= the MM haircut of the collateral)

    def __post_init__(self) -> None:
        _check(0 <= self.base_rate <= 1 and 0 <= self.slope1 <= 2 and 0 <= self.slope2 <= 10,
               "lending: need 0 <= base_rate <= 1, 0 <= slope1 <= 2, 0 <= slope2 <= 10 (per year)")
        _check(0.1 <= self.kink <= 0.99, f"lending.kink must be in [0.1, 0.99], got {self.kink}")
        _check(0 <= self.reserve_factor <= 0.5, f"lending.reserve_factor must be in [0, 0.5], got {self.reserve_factor}")
        _check(0.3 <= self.delever_target < self.hard_cap <= self.withdraw_cap <= 1 and self.withdraw_cap >= 0.5,
               "lending: need 0.3 <= delever_target < hard_cap <= withdraw_cap <= 1 and withdraw_cap >= 0.5")
        _check(3600 <= self.delever_grace <= 30 * 86400, f"lending.delever_grace must be in [3600, 2592000], got {self.delever_grace}")
        _check(0 <= self.delever_discount <= 0.1, f"lending.delever_discount must be in [0, 0.1], got {self.delever_discount}")

    @classmethod
    def defaults(cls) -> LendingParams:
        """The values of default.toml (used when a parameter set has no `[lending]` table)."""
        return cls(base_rate=0.0, slope1=0.1, slope2=3.0, kink=0.8, reserve_factor=0.1, withdraw_cap=0.9,
                   hard_cap=0.9, delever_target=0.8, delever_grace=3 * 86400, delever_discount=0.02)

    def rate(self, utilisation: float) -> float:
        """Borrow rate per year at a utilisation (the Vault's `_borrow_rate`, in floats)."""
        u = min(max(utilisation, 0.0), 1.0)
        if u <= self.kink:
            return self.base_rate + self.slope1 * u / self.kink
        return self.base_rate + self.slope1 + self.slope2 * (u - self.kink) / (1 - self.kink)

    def onchain(self) -> dict[str, int]:
        """`LendingParams` of contracts/Vault.vy: WAD, except `delever_grace` (seconds)."""
        return {n: (int(getattr(self, n)) if n == "delever_grace" else to_wad(getattr(self, n))) for n in LENDING_FIELDS}


# Field order of the Vault's `LendingParams` struct.
@dataclass(frozen=True)
class ShareVaultSpec:
    """An ERC-4626 vault whose share token is margin collateral (`[[share_vaults]]`; TECH_SPEC "ERC-4626 share
    feeds"). On dev chains `crossmargin deploy` deploys it as a MockERC4626 of the collateral `asset` and lists it
    through `crossmargin.fuzz.shares.list_share_vault` (share price id `uid`, guards from `[share_guard]`)."""

    symbol: str                  # the share token's symbol (<= 5 characters: the mock's limit)
    asset: str                   # the vault's asset: a non-settlement collateral (its underlying prices the shares),
                                 # or the settlement asset (a yield-bearing USDC vault: unit collateral, its own haircuts)
    uid: int                     # the share price id (OracleRouter only: no vol, no RiskEngine underlying); not an underlying's id
    decimals_offset: int = 0     # share decimals - asset decimals (virtual shares); share decimals must be <= 18
    seed: float = 0.0            # asset units the deployer deposits before listing (the rate must be positive)
    yield_per_day: float = 0.0   # demo: the vault's rate grows this much per day (asset donated to the vault)
    # a vault over the settlement asset only (the others take their asset's): h = min(1, base + slope·value / depth)
    haircut_base_mm: float = 0.0
    haircut_base_im: float = 0.0
    haircut_slope: float = 0.0
    depth_usd: float = 0.0

    def __post_init__(self) -> None:
        where = f"share vault {self.symbol}"
        _check(1 <= len(self.symbol) <= 5, f"{where}: symbol must have 1 to 5 characters")
        _check(self.uid >= 1, f"{where}: uid must be >= 1, got {self.uid}")
        _check(0 <= self.decimals_offset <= 18, f"{where}: decimals_offset must be in [0, 18]")
        _check(self.seed >= 0 and 0 <= self.yield_per_day < 0.01,
               f"{where}: seed must be >= 0 and yield_per_day in [0, 0.01)")

    def decimals(self, params: "Params") -> int:
        """The share token's decimals: the asset's plus the offset."""
        return params.collateral(self.asset).decimals + self.decimals_offset

    def collateral(self, params: "Params") -> Collateral:
        """The share token as a `Collateral` (decimals; linked to the asset's underlying, the asset's haircuts):
        what wallets, deposits and withdrawals need. The cap is the listing's (`fuzz.shares.CAP`: never binds).
        Over the settlement asset: unit collateral (no underlying) with this entry's haircuts."""
        a = params.collateral(self.asset)
        if a.settlement:
            return Collateral(symbol=self.symbol, decimals=self.decimals(params), unit=True,
                              haircut_base_mm=self.haircut_base_mm, haircut_base_im=self.haircut_base_im,
                              haircut_slope=self.haircut_slope, depth_usd=self.depth_usd)
        return dataclasses.replace(a, symbol=self.symbol, decimals=self.decimals(params), cap=0.0)

    def price_asset_id(self, params: "Params") -> int:
        """The OracleRouter id of the asset's price: its underlying's, or SETTLEMENT_PRICE_ID (1 USD)."""
        a = params.collateral(self.asset)
        return SETTLEMENT_PRICE_ID if a.settlement else params.underlying(a.underlying).id


LENDING_FIELDS = ("base_rate", "slope1", "slope2", "kink", "reserve_factor", "withdraw_cap", "hard_cap",
                  "delever_target", "delever_grace", "delever_discount")


@dataclass(frozen=True)
class Params:
    """A whole parameter set. Lookups: `underlying("ETH" | 1)`, `collateral("WETH")`, `market("ETH-PERP" | 1)`;
    `rho` is the correlation matrix (ndarray) in `underlyings` order; `onchain()` gives the integers to send."""

    underlyings: tuple[Underlying, ...]
    collaterals: tuple[Collateral, ...]
    markets: tuple[MarketSpec, ...]
    risk: RiskParams
    oracle: OracleParams
    correlation: tuple[tuple[float, ...], ...]   # ρ in `underlyings` order (ndarray view: `rho`)
    name: str = "custom"
    liquidation: LiquidationParams = field(default_factory=LiquidationParams.defaults)
    lending: LendingParams = field(default_factory=LendingParams.defaults)
    scenarios: ScenarioParams = field(default_factory=ScenarioParams.defaults)
    share_guard: ShareGuard = field(default_factory=ShareGuard)   # ERC-4626 share feeds (issue 16; `[share_guard]`)
    share_vaults: tuple[ShareVaultSpec, ...] = ()   # ERC-4626 vaults listed as collateral (`[[share_vaults]]`)

    def __post_init__(self) -> None:
        object.__setattr__(self, "underlyings", tuple(self.underlyings))
        object.__setattr__(self, "collaterals", tuple(self.collaterals))
        markets = tuple(self.markets)
        if all(m.id == 0 for m in markets):  # ids are the listing order
            markets = tuple(dataclasses.replace(m, id=i) for i, m in enumerate(markets, start=1))
        object.__setattr__(self, "markets", markets)
        object.__setattr__(self, "correlation", tuple(tuple(float(x) for x in row) for row in np.asarray(self.correlation, dtype=float)))
        self._validate()

    # -- lookups ---------------------------------------------------------------------------------------------
    @property
    def symbols(self) -> tuple[str, ...]:
        """Underlying symbols in matrix order."""
        return tuple(u.symbol for u in self.underlyings)

    @property
    def rho(self) -> np.ndarray:
        """Correlation matrix in `symbols` order (a fresh read-only array)."""
        a = np.array(self.correlation, dtype=float)
        a.flags.writeable = False
        return a

    def index(self, key: str | int) -> int:
        """Position of an underlying in `symbols` (matrix row)."""
        return self.underlyings.index(self.underlying(key))

    def underlying(self, key: str | int) -> Underlying:
        for u in self.underlyings:
            if u.symbol == key or (isinstance(key, int) and u.id == key):
                return u
        raise KeyError(f"unknown underlying {key!r}; known: {list(self.symbols)}")

    def collateral(self, symbol: str) -> Collateral:
        for c in self.collaterals:
            if c.symbol == symbol:
                return c
        raise KeyError(f"unknown collateral {symbol!r}; known: {[c.symbol for c in self.collaterals]}")

    @property
    def settlement(self) -> Collateral:
        return next(c for c in self.collaterals if c.settlement)

    def market(self, key: str | int | MarketSpec) -> MarketSpec:
        """A market by name or instrument id (a MarketSpec is returned as is)."""
        if isinstance(key, MarketSpec):
            return key
        for m in self.markets:
            if m.name == key or (isinstance(key, int) and m.id == key):
                return m
        raise KeyError(f"unknown market {key!r}; known: {[m.name for m in self.markets]}")

    def markets_on(self, underlying: str) -> tuple[MarketSpec, ...]:
        return tuple(m for m in self.markets if m.underlying == underlying)

    def share_vault(self, symbol: str) -> ShareVaultSpec:
        for v in self.share_vaults:
            if v.symbol == symbol:
                return v
        raise KeyError(f"unknown share vault {symbol!r}; known: {[v.symbol for v in self.share_vaults]}")

    def linked_collaterals(self, underlying: str) -> tuple[Collateral, ...]:
        return tuple(c for c in self.collaterals if c.underlying == underlying)

    # -- derived sets ----------------------------------------------------------------------------------------
    def replace(self, **changes: Any) -> Params:
        """A validated copy with top-level fields replaced."""
        return dataclasses.replace(self, **changes)

    def with_risk(self, **changes: Any) -> Params:
        """A validated copy with risk parameters replaced (`params.with_risk(z=4.0)`)."""
        return dataclasses.replace(self, risk=dataclasses.replace(self.risk, **changes))

    def with_scenarios(self, **changes: Any) -> Params:
        """A validated copy with scenario parameters replaced (`params.with_scenarios(basis_vol=0.2)`)."""
        return dataclasses.replace(self, scenarios=dataclasses.replace(self.scenarios, **changes))

    def listed(self, at: int) -> Params:
        """This set with every dated market's absolute expiry fixed as if listed at unix time `at`."""
        return dataclasses.replace(self, markets=tuple(m.listed(at) for m in self.markets))

    # -- validation ------------------------------------------------------------------------------------------
    def _validate(self) -> None:
        syms = self.symbols
        _check(1 <= len(syms) <= MAX_UNDERLYINGS,
               f"params: 1 to {MAX_UNDERLYINGS} underlyings (the RiskEngine lists at most that many), got {len(syms)}")
        _check(len(set(syms)) == len(syms), f"params: duplicate underlying symbols {list(syms)}")
        ids = [u.id for u in self.underlyings]
        _check(len(set(ids)) == len(ids), f"params: duplicate underlying ids {ids}")

        coll = [c.symbol for c in self.collaterals]
        _check(len(set(coll)) == len(coll), f"params: duplicate collateral symbols {coll}")
        n_settle = sum(c.settlement for c in self.collaterals)
        _check(n_settle == 1, f"params: exactly one settlement collateral is required, got {n_settle}")
        for c in self.collaterals:
            if c.underlying is not None:
                _check(c.underlying in syms, f"collateral {c.symbol}: unknown underlying {c.underlying!r}")
            if not c.settlement:
                for name in ("haircut_base_mm", "haircut_base_im", "haircut_slope"):
                    self.risk.check_bounds(name, getattr(c, name), f"collateral {c.symbol}: {name}")
        for u in self.underlyings:
            self.risk.check_bounds("concentration", u.concentration, f"underlying {u.symbol}: concentration")
            _check(self.oracle.min_vol <= u.vol <= self.oracle.max_vol,
                   f"underlying {u.symbol}: vol {u.vol} outside oracle [min_vol, max_vol] = [{self.oracle.min_vol}, {self.oracle.max_vol}]")

        names = [m.name for m in self.markets]
        _check(len(set(names)) == len(names), f"params: duplicate market names {names}")
        mids = [m.id for m in self.markets]
        _check(all(i >= 1 for i in mids) and len(set(mids)) == len(mids), f"params: market ids must be unique and >= 1, got {mids}")
        for m in self.markets:
            _check(m.underlying in syms, f"market {m.name}: unknown underlying {m.underlying!r}")

        validate_correlation(np.array(self.correlation, dtype=float), syms)
        object.__setattr__(self, "share_vaults", tuple(self.share_vaults))
        # share vaults: each a price id of its own (OracleRouter) whose token is netted into a non-settlement
        # asset's book (TECH_SPEC "ERC-4626 shares netted into the asset's book")
        share_syms, share_ids = [v.symbol for v in self.share_vaults], [v.uid for v in self.share_vaults]
        _check(len(set(share_syms)) == len(share_syms), f"[[share_vaults]]: duplicate symbols {share_syms}")
        _check(len(set(share_ids)) == len(share_ids), f"[[share_vaults]]: duplicate uids {share_ids}")
        for v in self.share_vaults:
            _check(v.asset in coll, f"share vault {v.symbol}: unknown asset {v.asset!r}")
            haircuts = (v.haircut_base_mm, v.haircut_base_im, v.haircut_slope, v.depth_usd)
            if self.collateral(v.asset).settlement:
                # a vault over the settlement asset: priced rate x 1 USD, in no book, with haircuts of its own
                v.collateral(self)
            else:
                _check(not any(haircuts), f"share vault {v.symbol}: haircuts are the asset's ({v.asset}); only a "
                       "vault over the settlement asset sets its own")
            _check(v.symbol not in coll, f"share vault {v.symbol}: the symbol is a collateral's")
            _check(v.uid not in ids, f"share vault {v.symbol}: uid {v.uid} is an underlying's id")
            _check(v.decimals(self) <= 18, f"share vault {v.symbol}: share decimals above 18 (offset too large)")

    # -- on chain --------------------------------------------------------------------------------------------
    def onchain(self) -> dict[str, Any]:
        """Every parameter as the exact integer the contracts take.

        Values are WAD (1e18) unless the key ends in `_seconds` (seconds) or is an id, a count, `decimals`,
        `feed_decimals`, `kind` (`Kind` value) or a bool. Token amounts (caps) are WAD too (TECH_SPEC: inside
        the Vault every balance is WAD). `underlying_id` 0 means none. `strike` is 0 for non-options and
        `expiry_seconds` is relative to listing (0 for a PERP). Correlations are signed WAD (`int256`) in
        underlying order; bounds are `(min, max)` pairs in the same units as their parameter.
        """
        uid = {u.symbol: u.id for u in self.underlyings}
        r = self.risk

        def seconds(days: float) -> int:
            return int(_exact(days) * SECONDS_PER_DAY)

        def bound(name: str) -> tuple[int, int]:
            lo, hi = r.bounds[name]
            if name.endswith("_days"):
                return seconds(lo), seconds(hi)
            return to_wad(lo), to_wad(hi)

        risk = {name: to_wad(getattr(r, name)) for name in RISK_SETTABLE if not name.endswith("_days")}
        risk["horizon_seconds"] = seconds(r.horizon_days)
        risk["vol_t_ref_seconds"] = seconds(r.vol_t_ref_days)
        risk["max_positions"] = r.max_positions
        risk["bounds"] = {(n.replace("_days", "_seconds")): bound(n) for n in BOUNDED}
        # [scenarios] (RiskEngine RiskParams / RiskBounds after `rate`)
        risk["basis_vol"] = to_wad(self.scenarios.basis_vol)
        risk["bounds"]["basis_vol"] = tuple(to_wad(x) for x in self.scenarios.basis_vol_bounds)
        return {
            "name": self.name,
            "underlyings": [
                {"id": u.id, "symbol": u.symbol, "price": to_wad(u.price),
                 "feed_answer": to_units(u.price, u.feed_decimals), "feed_decimals": u.feed_decimals,
                 "vol": to_wad(u.vol), "heartbeat_seconds": u.heartbeat, "depth_usd": to_wad(u.depth_usd),
                 "concentration": to_wad(u.concentration)}
                for u in self.underlyings
            ],
            "collaterals": [
                {"symbol": c.symbol, "decimals": c.decimals, "is_settlement": c.settlement,
                 "underlying_id": uid[c.underlying] if c.underlying else 0, "cap": to_wad(c.cap),
                 "haircut_base_mm": to_wad(c.haircut_base_mm), "haircut_base_im": to_wad(c.haircut_base_im),
                 "haircut_slope": to_wad(c.haircut_slope), "depth_usd": to_wad(c.depth_usd)}
                for c in self.collaterals
            ],
            "markets": [
                {"id": m.id, "name": m.name, "kind": int(m.kind), "underlying_id": uid[m.underlying],
                 "expiry_seconds": m.expiry_seconds or 0, "strike": to_wad(m.strike or 0),
                 "max_open_interest": to_wad(m.max_open_interest), "max_position": to_wad(m.max_position),
                 "funding_period_seconds": m.funding_period or 0, "funding_max_rate": to_wad(m.funding_max_rate or 0),
                 "funding_half_life_seconds": m.funding_half_life or 0, "mark_depth": to_wad(m.mark_depth or 0)}
                for m in self.markets
            ],
            "risk": risk,
            "oracle": {
                "max_deviation": to_wad(self.oracle.max_deviation),
                "sequencer_grace_seconds": self.oracle.sequencer_grace,
                "vol_hour_factor": to_wad(self.oracle.vol_hour_factor),
                "vol_day_factor": to_wad(self.oracle.vol_day_factor),
                "vol_stale_factor": to_wad(self.oracle.vol_stale_factor),
                "min_vol": to_wad(self.oracle.min_vol), "max_vol": to_wad(self.oracle.max_vol),
                "vol_heartbeat_seconds": self.oracle.vol_heartbeat,
            },
            "correlation": [[to_wad(x) for x in row] for row in self.correlation],
            "liquidation": self.liquidation.onchain(),
            "lending": self.lending.onchain(),
            "share_vaults": [
                {"symbol": v.symbol, "asset": v.asset, "uid": v.uid, "decimals_offset": v.decimals_offset,
                 "decimals": v.decimals(self), "seed": to_units(v.seed, self.collateral(v.asset).decimals),
                 "max_rise_per_day": self.share_guard.max_rise_per_day_wad, "max_drop": self.share_guard.max_drop_wad,
                 "asset_uid": v.price_asset_id(self),
                 **({k: to_wad(getattr(v, k)) for k in ("haircut_base_mm", "haircut_base_im", "haircut_slope",
                                                         "depth_usd")} if v.depth_usd else {})}
                for v in self.share_vaults
            ],
        }


def validate_correlation(rho: np.ndarray, symbols: tuple[str, ...] | None = None) -> None:
    """Raise ValueError unless ρ is a valid correlation matrix: square of the right size, symmetric,
    unit diagonal, entries in [-1, 1], positive semi-definite (smallest eigenvalue >= -1e-12; the chain's own
    check, looser by design, accepts down to -9e-12)."""
    n = len(symbols) if symbols is not None else rho.shape[0]
    names = symbols or tuple(str(i) for i in range(n))
    _check(rho.shape == (n, n), f"correlation matrix must be {n}x{n} (one row per underlying, in order), got shape {rho.shape}")
    _check(bool(np.all(np.isfinite(rho))), "correlation matrix has non-finite entries")
    for i in range(n):
        _check(rho[i, i] == 1.0, f"correlation matrix diagonal must be 1: rho[{names[i]},{names[i]}] = {rho[i, i]}")
        for j in range(n):
            _check(-1.0 <= rho[i, j] <= 1.0, f"correlation rho[{names[i]},{names[j]}] = {rho[i, j]} is outside [-1, 1]")
            _check(rho[i, j] == rho[j, i],
                   f"correlation matrix is not symmetric: rho[{names[i]},{names[j]}] = {rho[i, j]} but rho[{names[j]},{names[i]}] = {rho[j, i]}")
    smallest = float(np.linalg.eigvalsh(rho).min())
    _check(smallest >= -PSD_TOLERANCE,
           f"correlation matrix is not positive semi-definite: smallest eigenvalue {smallest:.3e} < -{PSD_TOLERANCE:g}")


# ---------------------------------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------------------------------

def load_params(path_or_name: str | Path = "default") -> Params:
    """Read and validate a parameter set: a TOML path, or a name in `crossmargin/params/` (`"default"`, `"demo"`).

    Raises ValueError with the offending key on unknown keys, missing keys, numbers that a float cannot hold
    exactly (more than 15 significant digits) and every validation failure.

    A file with a top-level `extends = "NAME"` (a set's name, or a TOML path relative to the file) holds only what
    differs from that set: its tables are merged key by key into the base's (arrays, such as `[[underlyings]]` or
    the correlation matrix, are replaced whole).
    """
    return params_from_dict(*_load_doc(path_or_name))


def _load_doc(path_or_name: str | Path, seen: tuple[str, ...] = ()) -> tuple[dict, str]:
    """(document, default name) of a parameter file, its `extends` chain resolved."""
    path = Path(path_or_name)
    if not path.suffix and not path.exists():
        path = PARAMS_DIR / f"{path_or_name}.toml"
    if not path.exists():
        known = sorted(p.stem for p in PARAMS_DIR.glob("*.toml"))
        raise FileNotFoundError(f"no parameter file {str(path_or_name)!r} (a path, or one of {known})")
    with path.open("rb") as f:
        doc = _floats(tomllib.load(f, parse_float=Decimal), "")
    base = doc.pop("extends", None)
    if base is not None:
        _check(isinstance(base, str) and str(path.resolve()) not in seen,
               f"{path.name}: extends must name another parameter file (no cycles), got {base!r}")
        if Path(base).suffix and not Path(base).is_absolute():
            base = str(path.parent / base)            # a file path: relative to this file
        parent, _ = _load_doc(base, (*seen, str(path.resolve())))
        parent.pop("name", None)
        doc = _merged(parent, doc)
    return doc, path.stem


def _merged(base: dict, over: dict) -> dict:
    """`over` merged into `base`: tables key by key, anything else (arrays included) replaced."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def params_from_dict(doc: Mapping[str, Any], default_name: str = "custom") -> Params:
    """Build `Params` from the TOML document's structure (plain floats/ints/strings)."""
    doc = dict(doc)
    _keys(doc, {"name", "risk", "oracle", "underlyings", "correlation", "collaterals", "markets", "liquidation",
                "lending", "scenarios", "share_guard", "share_vaults"}, "top level",
          optional={"name", "liquidation", "lending", "scenarios", "share_guard", "share_vaults"})
    risk = dict(doc["risk"])
    risk["bounds"] = {k: tuple(v) for k, v in dict(risk.get("bounds", {})).items()}
    corr = dict(doc["correlation"])
    _keys(corr, {"matrix"}, "[correlation]")
    return Params(
        underlyings=tuple(_build(Underlying, t, f"[[underlyings]] #{i + 1}") for i, t in enumerate(doc["underlyings"])),
        collaterals=tuple(_build(Collateral, t, f"[[collaterals]] #{i + 1}") for i, t in enumerate(doc["collaterals"])),
        markets=tuple(_build(MarketSpec, t, f"[[markets]] #{i + 1}") for i, t in enumerate(doc["markets"])),
        risk=_build(RiskParams, risk, "[risk]"),
        oracle=_build(OracleParams, doc["oracle"], "[oracle]"),
        correlation=corr["matrix"],
        name=doc.get("name", default_name),
        liquidation=(_build(LiquidationParams, doc["liquidation"], "[liquidation]") if "liquidation" in doc
                     else LiquidationParams.defaults()),
        lending=(_build(LendingParams, doc["lending"], "[lending]") if "lending" in doc
                 else LendingParams.defaults()),
        scenarios=(_build(ScenarioParams, doc["scenarios"], "[scenarios]") if "scenarios" in doc
                   else ScenarioParams.defaults()),
        share_guard=(_build(ShareGuard, doc["share_guard"], "[share_guard]") if "share_guard" in doc
                     else ShareGuard()),
        share_vaults=tuple(_build(ShareVaultSpec, t, f"[[share_vaults]] #{i + 1}")
                           for i, t in enumerate(doc.get("share_vaults", ()))),
    )


def _build(cls: type, table: Mapping[str, Any], where: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    settable_in_file = set(fields) - {"id", "expiry"} if cls is MarketSpec else set(fields)
    required = {n for n, f in fields.items()
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    _keys(dict(table), settable_in_file, where, optional=settable_in_file - required)
    try:
        return cls(**table)
    except (TypeError, KeyError) as e:  # e.g. kind = "SWAP"
        raise ValueError(f"{where}: {e}") from None


def _keys(table: Mapping[str, Any], allowed: set[str], where: str, optional: set[str] = frozenset()) -> None:
    unknown = set(table) - allowed
    _check(not unknown, f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    missing = allowed - optional - set(table)
    _check(not missing, f"{where}: missing key(s) {sorted(missing)}")


def _floats(x: Any, where: str) -> Any:
    """Decimals from the TOML parser -> floats, refusing any a float cannot represent exactly."""
    if isinstance(x, Decimal):
        f = float(x)
        _check(math.isfinite(f) and Fraction(repr(f)) == Fraction(x),
               f"{where or 'value'} = {x}: more significant digits than a float holds exactly (max 15)")
        return f
    if isinstance(x, dict):
        return {k: _floats(v, f"{where}.{k}" if where else k) for k, v in x.items()}
    if isinstance(x, list):
        return [_floats(v, f"{where}[{i}]") for i, v in enumerate(x)]
    return x


def _kind(kind: str) -> str:
    if kind not in ("im", "mm"):
        raise ValueError(f"margin kind must be 'im' or 'mm', got {kind!r}")
    return kind


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)
