"""What the margin engine looks at: positions, an account, and the market it is valued in.

Units as in `params`: USD, units of the underlying, token units for collateral balances, unix seconds.

- `Position(instrument, size, cost)`: `size` signed units of the underlying (long > 0). `cost` is the entry
  notional for linear instruments (`size · entry price`, so PnL = `size · index - cost`) and 0 for options,
  whose premium is paid in cash at the trade (so an option's contribution to equity is its value).
- `Account(cash, collateral, positions, funding)`: `cash` is the settlement asset balance (USD, may be
  negative), `collateral` the other tokens' balances in token units, `funding` accrued unsettled funding (USD,
  signed, + = receivable).
- `MarketState(spot, vol, now, crowding, deposits)`: index price and ATM implied vol per underlying symbol, the
  time, and the protocol-wide crowding aggregates (TECH_SPEC "Crowding"): per underlying its open interest summed
  over its instruments, per collateral token the deposits of all accounts, each as (current, smoothed). Absent =
  (0, 0): every term then falls back to the account's own exposure (the account is the whole market).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from crossmargin.model.params import MarketSpec, Params


@dataclass(frozen=True)
class Position:
    """A signed position in one instrument (a `MarketSpec`, or its id / name to resolve with `Params`)."""

    instrument: MarketSpec | int | str
    size: float
    cost: float = 0.0

    @classmethod
    def open(cls, spec: MarketSpec, size: float, price: float) -> Position:
        """A position opened at `price`: linear cost = size · price, option cost 0 (premium goes through cash)."""
        return cls(spec, size, size * price if spec.is_linear else 0.0)

    def resolved(self, params: Params) -> Position:
        """This position with `instrument` as a `MarketSpec`."""
        spec = params.market(self.instrument)
        return self if spec is self.instrument else dataclasses.replace(self, instrument=spec)

    @property
    def spec(self) -> MarketSpec:
        if not isinstance(self.instrument, MarketSpec):
            raise TypeError(f"position on {self.instrument!r} is not resolved; use position.resolved(params)")
        return self.instrument


@dataclass(frozen=True)
class Account:
    """One margin account (or isolated subaccount): cash, collateral balances, positions, accrued funding."""

    cash: float = 0.0
    collateral: Mapping[str, float] = field(default_factory=dict)   # {symbol: token units}, non-settlement
    positions: tuple[Position, ...] = ()
    funding: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "collateral", MappingProxyType(dict(self.collateral)))
        object.__setattr__(self, "positions", tuple(self.positions))

    def resolved(self, params: Params) -> Account:
        """This account with every position's instrument resolved to a `MarketSpec`."""
        return dataclasses.replace(self, positions=tuple(p.resolved(params) for p in self.positions))

    def with_trade(self, spec: MarketSpec, size: float, price: float, fee: float = 0.0) -> Account:
        """This account after trading `size` of `spec` at `price` (paying `fee` in cash).

        Sizes and costs on the same instrument net (cost is additive, so equity is the same whether or not a
        venue realises PnL into cash on a partial reduction); a position closed to zero realises its PnL
        (`-cost`) into cash and disappears. An option's premium `size · price` is paid from cash.
        """
        cash = self.cash - fee - (size * price if spec.is_option else 0.0)
        delta = Position.open(spec, size, price)
        positions, merged = [], False
        for p in self.positions:
            if _same(p.instrument, spec):
                p = Position(spec, p.size + delta.size, p.cost + delta.cost)
                merged = True
            if p.size == 0:
                cash -= p.cost
            else:
                positions.append(p)
        if not merged and delta.size != 0:
            positions.append(delta)
        return dataclasses.replace(self, cash=cash, positions=tuple(positions))

    def with_collateral(self, symbol: str, amount: float) -> Account:
        """This account with `amount` token units of `symbol` added (negative to remove)."""
        balances = dict(self.collateral)
        balances[symbol] = balances.get(symbol, 0.0) + amount
        return dataclasses.replace(self, collateral=balances)

    def only(self, position: Position, collateral: Mapping[str, float] | None = None) -> Account:
        """An isolated subaccount holding just `position` (and `collateral`, none by default), no cash."""
        return Account(cash=0.0, collateral=collateral or {}, positions=(position,))


@dataclass(frozen=True)
class MarketState:
    """Oracle view at time `now`: index price and annualised ATM vol per underlying symbol."""

    spot: Mapping[str, float]
    vol: Mapping[str, float]
    now: int = 0
    crowding: Mapping[str, tuple[float, float]] = field(default_factory=dict)   # underlying -> (A, A_s), units
    deposits: Mapping[str, tuple[float, float]] = field(default_factory=dict)   # collateral -> (D, D_s), tokens
    # ERC-4626 share collateral -> (guarded rate: asset tokens per share token, liquidity: share tokens the vault
    # would redeem now for the protocol Vault); a symbol here is priced at spot x rate in its asset's book
    shares: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "spot", MappingProxyType(dict(self.spot)))
        object.__setattr__(self, "vol", MappingProxyType(dict(self.vol)))
        object.__setattr__(self, "crowding", MappingProxyType({k: tuple(v) for k, v in dict(self.crowding).items()}))
        object.__setattr__(self, "deposits", MappingProxyType({k: tuple(v) for k, v in dict(self.deposits).items()}))
        object.__setattr__(self, "shares", MappingProxyType({k: tuple(v) for k, v in dict(self.shares).items()}))

    @classmethod
    def from_params(cls, params: Params, now: int = 0) -> MarketState:
        """The reference prices and vols of a parameter set."""
        return cls({u.symbol: u.price for u in params.underlyings}, {u.symbol: u.vol for u in params.underlyings}, now)

    def with_spot(self, **spot: float) -> MarketState:
        return dataclasses.replace(self, spot={**self.spot, **spot})

    def with_vol(self, **vol: float) -> MarketState:
        return dataclasses.replace(self, vol={**self.vol, **vol})

    def at(self, now: int) -> MarketState:
        return dataclasses.replace(self, now=now)

    def with_shares(self, **shares: tuple[float, float]) -> MarketState:
        """This state with ERC-4626 share collateral (rate, liquidity) replaced for the given symbols."""
        return dataclasses.replace(self, shares={**self.shares, **shares})

    def with_crowding(self, crowding: Mapping[str, tuple[float, float]] | None = None,
                      deposits: Mapping[str, tuple[float, float]] | None = None) -> MarketState:
        """This state with crowding aggregates (current, smoothed) replaced for the given keys."""
        return dataclasses.replace(self, crowding={**self.crowding, **(crowding or {})},
                                   deposits={**self.deposits, **(deposits or {})})


def _same(instrument: MarketSpec | int | str, spec: MarketSpec) -> bool:
    if isinstance(instrument, MarketSpec):
        return instrument.name == spec.name
    return instrument in (spec.id, spec.name)
