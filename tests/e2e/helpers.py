"""Helpers of the end-to-end exploit replays (fixtures in conftest.py)."""

from __future__ import annotations

from crossmargin.chain.errors import reasons
from crossmargin.fuzz.world import WAD, World

E = reasons()   # revert reasons by name, from contracts/lib/errors.vy


def usd(w: World, amount: float) -> int:
    return w.units("USDC", amount)


def health(w: World, account: int) -> int:
    eq_im, eq_mm, im, mm, status = w.margin(account)
    return eq_mm - mm


def value(w: World, account: int) -> int:
    """Mark value (no haircuts) of an account's portfolio."""
    return w.liquidation.mark_value(account)


def breakdown(w: World, account: int) -> list[dict]:
    """`RiskEngine.requirement_breakdown` as dicts keyed by the struct's field names (read from the ABI)."""
    from crossmargin.chain.artifacts import artifact

    entry = next(e for e in artifact("RiskEngine").abi if e.get("name") == "requirement_breakdown")
    names = [c["name"] for c in entry["outputs"][0]["components"]]
    return [dict(zip(names, row)) for row in w.engine.requirement_breakdown(account)]


def price(w: World, symbol: str) -> int:
    return w.prices[symbol][0]


__all__ = ["E", "WAD", "breakdown", "health", "price", "usd", "value"]


def share_margined(w: World, symbol: str = "sETH"):
    """(maker, victim, keeper, vault, shares): the victim holds 100 sETH (~300k, of a vault seeded with 100 WETH by
    others) as margin, the keeper 2M USDC to bid with. The share-vault attack replays start here."""
    from crossmargin.fuzz.shares import deposit_shares, list_share_vault

    maker, victim, keeper = w.traders[0], w.traders[1], w.traders[2]
    v = list_share_vault(w, symbol, seed_assets=100 * WAD)
    shares = deposit_shares(w, victim, v, 100 * WAD)
    w.deposit(keeper, "USDC", w.units("USDC", 2_000_000))
    return maker, victim, keeper, v, shares
