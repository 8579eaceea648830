"""The demo's cast: who trades what, with how much collateral (USD and token units).

Sized for the demo parameters (depths / 10, so concentration and haircuts show on books of a few hundred
thousand USD). Every trader trades against the market maker at the oracle price.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal as D


@dataclass(frozen=True)
class Book:
    name: str                     # label in the report
    role: str                     # what it demonstrates
    deposits: dict[str, D]        # asset -> token units
    trades: list[tuple[str, D]]   # (instrument, signed size: + buys from the maker)
    isolated: bool = False        # one isolated subaccount per trade, collateral split as in `split`
    split: dict[str, dict[str, D]] = field(default_factory=dict)  # instrument -> deposits (isolated only)
    band: bool = False            # operated by the collateral-band agent
    withdraw_after: dict[str, D] = field(default_factory=dict)  # surplus taken out once the book is on


MAKER_DEPOSIT = {"USDC": D(5_000_000)}
KEEPER_DEPOSIT = {"USDC": D(1_000_000)}
INSURANCE_DEPOSIT = {"USDC": D(25_000)}
BAND_RESERVE = {"USDC": D(50_000)}

BOOKS: list[Book] = [
    Book("basis (cross)", "long future / short perp: netting leaves only the basis add-on",
         {"USDC": D(8_000)}, [("ETH-30D", D(20)), ("ETH-PERP", D(-20))],
         withdraw_after={"USDC": D(5_000)}),
    Book("basis (isolated twin)", "the same book, one isolated subaccount per leg",
         {}, [("ETH-30D", D(20)), ("ETH-PERP", D(-20))], isolated=True,
         split={"ETH-30D": {"USDC": D(10_000)}, "ETH-PERP": {"USDC": D(10_000)}}),
    Book("cash and carry", "WETH collateral hedged by a short perp",
         {"WETH": D(30), "USDC": D(2_000)}, [("ETH-PERP", D(-30))]),
    Book("staked-ETH hedge", "ERC-4626 staked-ETH vault shares hedged by a short perp, a USDC-vault reserve",
         {"stETH": D(30), "USDC": D(2_000), "yUSD": D(3_000)}, [("ETH-PERP", D(-30))]),
    Book("directional", "long ETH and BTC perps: correlated longs",
         {"USDC": D(15_000)}, [("ETH-PERP", D(10)), ("BTC-PERP", D("0.5"))]),
    Book("option seller", "short ETH puts, collateral in WBTC and USDC",
         {"USDC": D(20_000), "WBTC": D("0.5")}, [("ETH-P-2500-30D", D(-20))]),
    Book("reckless", "10x long SOL: runs into the insurance fund",
         {"USDC": D(12_000)}, [("SOL-PERP", D(400))]),
    Book("band-managed", "long ETH perp; the band agent tops up collateral from a reserve",
         {"USDC": D(8_000)}, [("ETH-PERP", D(15))], band=True),
]
