"""A typed facade over a deployment: what the CLI, scripts and bots call instead of raw contract methods.

Amounts cross this boundary as `Decimal` token units (e.g. `Decimal("1.5")` WETH); inside, the contracts use
WAD. Symbols (USDC, WETH, ETH) are resolved through the manifest and the parameters, so callers never handle
addresses.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from crossmargin.chain.contracts import at
from crossmargin.chain.manifest import Manifest
from crossmargin.chain.session import Session
from crossmargin.model.params import Params, load_params

WAD = 10**18
STATUS = {0: "OK", 1: "DEGRADED", 2: "STALE"}


class ProtocolError(ValueError):
    """Bad input caught before anything is sent (unknown asset, insufficient balance, ...)."""


def from_wad(value: int) -> Decimal:
    return Decimal(value) / WAD


@dataclass
class Protocol:
    session: Session
    manifest: Manifest
    params: Params

    @classmethod
    def load(cls, session: Session) -> "Protocol":
        manifest = Manifest.load(session.chain_id)
        return cls(session, manifest, load_params(manifest.params_name))

    # -- contracts -----------------------------------------------------------------------------------------
    @cached_property
    def vault(self):
        return at("Vault", self.manifest.address("Vault"))

    @cached_property
    def router(self):
        return at("OracleRouter", self.manifest.address("OracleRouter"))

    @cached_property
    def vol_oracle(self):
        return at("VolOracle", self.manifest.address("VolOracle"))

    def token(self, symbol: str):
        self.collateral(symbol)
        return at("mocks/MockERC20", self.manifest.token(symbol))

    def collateral(self, symbol: str):
        try:
            return self.params.collateral(symbol.upper())
        except (KeyError, ValueError):
            known = ", ".join(c.symbol for c in self.params.collaterals)
            raise ProtocolError(f"unknown asset {symbol!r} (listed: {known})") from None

    def underlying(self, symbol: str):
        try:
            return self.params.underlying(symbol.upper())
        except (KeyError, ValueError):
            known = ", ".join(u.symbol for u in self.params.underlyings)
            raise ProtocolError(f"unknown underlying {symbol!r} (known: {known})") from None

    def _units(self, symbol: str, amount: Decimal) -> int:
        decimals = self.collateral(symbol).decimals
        units = amount * (Decimal(10) ** decimals)
        if units != units.to_integral_value():
            raise ProtocolError(f"{symbol} has {decimals} decimals: {amount} is not representable")
        return int(units)

    def _tx(self, signer=None) -> dict:
        return self.session.tx_kwargs(signer)

    # -- accounts ------------------------------------------------------------------------------------------
    def open_account(self, signer=None, isolated_instrument: int = 0) -> int:
        receipt = self.vault.open_account(isolated_instrument, **self._tx(signer))
        events = receipt.decode_logs(self.vault.AccountOpened)
        return int(events[-1].id)

    def _check_account(self, account_id: int) -> str:
        count = self.vault.account_count()
        if not 1 <= account_id <= count:
            raise ProtocolError(f"account {account_id} does not exist (accounts: 1..{count})")
        return self.vault.owner_of(account_id)

    def deposit(self, account_id: int, symbol: str, amount: Decimal, signer=None, mint: bool | None = None) -> dict:
        """Approve and deposit `amount` of `symbol`. On dev chains the mock token is minted first if short."""
        signer = signer or self.session.signer
        self._check_account(account_id)
        units = self._units(symbol, amount)
        token = self.token(symbol)
        have = token.balanceOf(signer.address)
        if have < units:
            if mint if mint is not None else self.session.dev_chain:
                token.mint(signer.address, units - have, **self._tx(signer))
            else:
                raise ProtocolError(f"insufficient {symbol} in wallet: have {Decimal(have) / 10**self.collateral(symbol).decimals}, need {amount}")
        if token.allowance(signer.address, self.vault.address) < units:
            token.approve(self.vault.address, units, **self._tx(signer))
        self.vault.deposit(account_id, token.address, units, **self._tx(signer))
        return {"account": account_id, "asset": symbol.upper(), "deposited": str(amount)}

    def withdraw(self, account_id: int, symbol: str, amount: Decimal, to: str | None = None, signer=None) -> dict:
        signer = signer or self.session.signer
        self._check_account(account_id)
        units = self._units(symbol, amount)
        token = self.token(symbol)
        wad = units * 10 ** (18 - self.collateral(symbol).decimals)
        have = self.vault.cash_of(account_id) if self.collateral(symbol).settlement else self.vault.balance_of(account_id, token.address)
        if have < wad:
            raise ProtocolError(f"insufficient balance: account {account_id} has {from_wad(max(have, 0))} {symbol.upper()}, asked {amount}")
        self.vault.withdraw(account_id, token.address, units, to or signer.address, **self._tx(signer))
        return {"account": account_id, "asset": symbol.upper(), "withdrawn": str(amount), "to": to or signer.address}

    def account(self, account_id: int) -> dict:
        owner = self._check_account(account_id)
        rows = {}
        for c in self.params.collaterals:
            token = self.manifest.token(c.symbol)
            wad = self.vault.cash_of(account_id) if c.settlement else self.vault.balance_of(account_id, token)
            rows[c.symbol] = str(from_wad(wad))
        return {"account": account_id, "owner": owner,
                "isolated_instrument": int(self.vault.isolated_instrument(account_id)), "balances": rows}

    # -- oracles -------------------------------------------------------------------------------------------
    def price(self, symbol: str) -> dict:
        u = self.underlying(symbol)
        price, status = self.router.price(u.id)
        vol, vol_status = self.vol_oracle.vol(u.id)
        return {"underlying": u.symbol, "price": str(from_wad(price)), "status": STATUS[int(status)],
                "vol": str(from_wad(vol)), "vol_status": STATUS[int(vol_status)]}

    def set_price(self, symbol: str, price: Decimal, secondary: bool = False) -> dict:
        """Move a mock feed (dev chains only): both feeds unless `secondary` (then only the secondary one,
        to make the two disagree)."""
        if not self.session.dev_chain:
            raise ProtocolError("oracle set works on dev chains only (feeds are mocks there)")
        u = self.underlying(symbol)
        answer = int(price * Decimal(10) ** u.feed_decimals)
        keys = [f"feed2:{u.symbol}"] if secondary else [f"feed:{u.symbol}", f"feed2:{u.symbol}"]
        for key in keys:
            at("mocks/MockAggregator", self.manifest.address(key)).set_answer(answer, **self._tx())
        return self.price(symbol)

    def set_vol(self, symbol: str, vol: Decimal) -> dict:
        u = self.underlying(symbol)
        self.vol_oracle.set_vol(u.id, int(vol * WAD), **self._tx())
        return self.price(symbol)
