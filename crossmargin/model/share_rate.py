"""ERC-4626 share price guard (issue 16), the model of `OracleRouter`'s share feeds (integer WAD, same rounding).

    live = convertToAssets(10**share_decimals) scaled to WAD asset tokens per share token (0: reverting / 0)
    cap  = r0 + floor(floor(r0 · max_rise_per_day / WAD) · (now - t0) / DAY)
    used = min(live, cap); status DEGRADED if live·WAD < r0·(WAD - max_drop), STALE (used 0) if live = 0
    P_share = floor(P_asset · used / WAD)

`update_share_rate` sets (r0, t0) := (used, now) when live > 0.
"""

from __future__ import annotations

from dataclasses import dataclass

WAD = 10**18
DAY = 86_400
OK, DEGRADED, STALE = 0, 1, 2


@dataclass(frozen=True)
class ShareGuard:
    """Guard parameters of one share feed: the largest credited rise per day and the fall marked DEGRADED."""

    max_rise_per_day: float = 0.001    # 0.1 %/day: ~10x a staked-ETH yield; a pump is credited at most this fast
    max_drop: float = 0.05             # a fall of more than 5 % below the accepted rate: DEGRADED

    def __post_init__(self) -> None:
        if not 0 <= self.max_rise_per_day <= 1:
            raise ValueError(f"[share_guard] max_rise_per_day = {self.max_rise_per_day}: outside [0, 1]")
        if not 0 < self.max_drop <= 1:
            raise ValueError(f"[share_guard] max_drop = {self.max_drop}: outside (0, 1]")

    @property
    def max_rise_per_day_wad(self) -> int:
        return round(self.max_rise_per_day * WAD)

    @property
    def max_drop_wad(self) -> int:
        return round(self.max_drop * WAD)


def live_rate(assets_per_share: int, asset_decimals: int) -> int:
    """convertToAssets(one share token) in asset units -> WAD asset tokens (0 stays 0; too large -> 0)."""
    if assets_per_share <= 0:
        return 0
    rate = assets_per_share * 10 ** (18 - asset_decimals) if asset_decimals <= 18 else \
        assets_per_share // 10 ** (asset_decimals - 18)
    return rate if 0 < rate < 2**192 else 0


def guarded_rate(live: int, r0: int, t0: int, now: int, max_rise_wad: int, max_drop_wad: int) -> tuple[int, int]:
    """(used rate WAD, status) of a share feed."""
    if live == 0:
        return 0, STALE
    cap = r0 + r0 * max_rise_wad // WAD * (now - t0) // DAY
    status = DEGRADED if live * WAD < r0 * (WAD - max_drop_wad) else OK
    return min(live, cap), status


def share_price(asset_price: int, asset_status: int, live: int, r0: int, t0: int, now: int, max_rise_wad: int,
                max_drop_wad: int) -> tuple[int, int]:
    """(price WAD, status) of one share token: the asset's price times the guarded rate."""
    used, status = guarded_rate(live, r0, t0, now, max_rise_wad, max_drop_wad)
    return asset_price * used // WAD, max(asset_status, status)
