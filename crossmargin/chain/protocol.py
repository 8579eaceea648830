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
from crossmargin.chain.engine_views import greeks_from_breakdown
from crossmargin.chain.manifest import Manifest
from crossmargin.chain.session import Session
from crossmargin.model.params import Params, load_params

WAD = 10**18
STATUS = {0: "OK", 1: "DEGRADED", 2: "STALE"}


class ProtocolError(ValueError):
    """Bad input caught before anything is sent (unknown asset, insufficient balance, ...)."""


def from_wad(value: int) -> Decimal:
    return Decimal(value) / WAD


def to_wad(value: Decimal, what: str) -> int:
    """An exact WAD amount (18 decimals) of a positive `value`, or a one-line error: never a silent 0."""
    units = Decimal(value) * WAD
    if units != units.to_integral_value():
        raise ProtocolError(f"{what} {value} has more than 18 decimals (the contracts' precision)")
    if units <= 0:
        raise ProtocolError(f"{what} must be positive, got {value}")
    return int(units)


def token_units(wad: int, decimals: int) -> str:
    """A WAD balance shown in the token's own decimals, rounded down (what could leave the Vault)."""
    from decimal import ROUND_DOWN

    value = from_wad(wad).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_DOWN)
    return format(value.normalize(), "f") if value else "0"


MAX_PRICE = Decimal(10) ** 12  # USD: a feed answer above this breaks margin arithmetic (and is never real)


def _artifact_abi(name: str) -> list:
    from crossmargin.chain.artifacts import artifact

    return artifact(name).abi


class Trading:
    """Markets, orders and margin views of a deployment (mixed into `Protocol`)."""

    @cached_property
    def markets(self):
        return at("Markets", self.manifest.address("Markets"))

    @cached_property
    def clearinghouse(self):
        return at("Clearinghouse", self.manifest.address("Clearinghouse"))

    @cached_property
    def liquidation(self):
        return at("Liquidation", self.manifest.address("Liquidation"))

    @cached_property
    def risk(self):
        return at("RiskEngine", self.manifest.address("RiskEngine"))

    @cached_property
    def listed_params(self) -> Params:
        """Parameters with absolute expiries (as listed on chain)."""
        return self.params.listed(int(self.manifest.parameters.get("listed_at", 0)))

    def instrument(self, name_or_id: str | int):
        try:
            return self.listed_params.market(int(name_or_id) if str(name_or_id).isdigit() else str(name_or_id).upper())
        except (KeyError, ValueError):
            known = ", ".join(m.name for m in self.params.markets)
            raise ProtocolError(f"unknown instrument {name_or_id!r} (listed: {known})") from None

    # -- orders ----------------------------------------------------------------------------------------
    def make_order(self, account_id: int, instrument: str | int, side: str, size: Decimal, price: Decimal,
                   signer=None, nonce: int | None = None, ttl: int = 3600, fee_rate: Decimal = Decimal(0)) -> dict:
        """Sign a maker order with the signer's key (EIP-712, this deployment's domain)."""
        import secrets

        from crossmargin.chain.orders import Order, order_hash, sign_order

        signer = signer or self.session.signer
        if side.lower() not in ("buy", "sell"):
            raise ProtocolError(f"side must be buy or sell, got {side!r}")
        self._check_account(account_id)
        spec = self.instrument(instrument)
        now = self.session.web3.eth.get_block("latest")["timestamp"]
        if ttl <= 0:
            raise ProtocolError(f"ttl must be a positive number of seconds, got {ttl}")
        if not 0 <= fee_rate < 1:
            raise ProtocolError(f"fee rate must be in [0, 1), got {fee_rate}")
        if nonce is not None and not 0 <= nonce < 2**256:
            raise ProtocolError(f"nonce must be in [0, 2^256), got {nonce}")
        order = Order(account=account_id, instrument=spec.id, is_buy=side.lower() == "buy",
                      size=to_wad(size, "size"), limit_price=to_wad(price, "price"),
                      nonce=nonce if nonce is not None else secrets.randbits(64), expiry=now + ttl,
                      fee_rate=int(fee_rate * WAD))
        key = getattr(signer, "private_key", None)
        if key is None:
            raise ProtocolError("this signer cannot sign orders off chain (use a test account or CROSSMARGIN_PRIVATE_KEY)")
        cid, ch = self.session.chain_id, self.clearinghouse.address
        signature = sign_order(key, order, cid, ch)
        return {"order": order.as_dict(), "signature": "0x" + signature.hex(),
                "hash": "0x" + order_hash(order, cid, ch).hex(), "instrument": spec.name}

    def fill(self, signed: dict, taker_account: int, size: Decimal | None = None, signer=None) -> dict:
        from crossmargin.chain.orders import Order

        signer = signer or self.session.signer
        self._check_account(taker_account)
        order = Order(**signed["order"])
        amount = to_wad(size, "size") if size is not None else order.size - self.clearinghouse.filled(signed["hash"])
        if amount <= 0:
            raise ProtocolError("order already fully filled")
        receipt = self.send(self.clearinghouse.fill, order.as_tuple(), bytes.fromhex(signed["signature"][2:]),
                            amount, taker_account, signer=signer)
        return {"hash": signed["hash"], "filled": str(Decimal(amount) / WAD), "taker": taker_account,
                "maker": order.account, "price": str(Decimal(order.limit_price) / WAD),
                "gas_used": receipt.gas_used}

    def trade(self, maker_account: int, maker, taker_account: int, taker, instrument: str | int,
              size: Decimal, price: Decimal) -> dict:
        """Maker signs, taker fills: the taker buys `size` (sells if negative) at `price`."""
        side = "sell" if size > 0 else "buy"  # the maker takes the other side
        signed = self.make_order(maker_account, instrument, side, abs(size), price, signer=maker)
        return self.fill(signed, taker_account, signer=taker)

    # -- settlement ------------------------------------------------------------------------------------
    def settle_expiry(self, instrument: str | int, signer=None) -> dict:
        """Fix an expired future/option's settlement price (anyone may call, once): the primary feed's round
        current at expiry, found by walking back from its latest round and proven on chain (`Markets.settle`)."""
        from crossmargin.chain.rounds import RoundNotFound, feed_round_at

        spec = self.instrument(instrument)
        inst = self.markets.instrument(spec.id)
        round_id = 0
        if inst[4] == 0:
            expiry = int(inst[3])
            feed = at("mocks/MockAggregator", self.router.feed_of(int(inst[1]))[0])  # only its AggregatorV3 ABI
            try:
                round_id = feed_round_at(feed, expiry)
            except RoundNotFound as e:
                grace_end = expiry + int(self.markets.settlement_grace())
                now = self.session.web3.eth.get_block("latest")["timestamp"]
                if now < grace_end:
                    raise ProtocolError(f"{spec.name}: no oracle round proves the price at expiry yet ({e}); "
                                        f"the admin's current-price fallback opens at {grace_end}") from None
                # round 0: the admin's fallback at the current price (reverts "round hint required" for anyone else)
            self.send(self.markets.settle, spec.id, round_id, signer=signer)
        return {"instrument": spec.name, "round": round_id,
                "settlement_price": str(from_wad(int(self.markets.instrument(spec.id)[4])))}

    def settle_account(self, account_id: int, signer=None) -> dict:
        """Realise funding and close settled expiries of an account to cash (anyone may call)."""
        self._check_account(account_id)
        before = self.vault.cash_of(account_id)
        self.send(self.clearinghouse.settle_account, account_id, signer=signer)
        return {"account": account_id, "cash_change": str(from_wad(self.vault.cash_of(account_id) - before))}

    # -- margin ----------------------------------------------------------------------------------------
    def margin(self, account_id: int) -> dict:
        self._check_account(account_id)
        r = self.risk.margin(account_id)
        eq_im, eq_mm, im, mm, status = (int(x) for x in r)
        health = "liquidatable" if eq_mm < mm else ("below IM" if eq_im < im else "healthy")
        positions = []
        for pos in self.clearinghouse.positions_of(account_id):
            spec = self.instrument(int(pos[0]))
            positions.append({"instrument": spec.name, "size": str(from_wad(int(pos[1]))),
                              "cost": str(from_wad(int(pos[2])))})
        return {"equity_im": str(from_wad(eq_im)), "equity_mm": str(from_wad(eq_mm)), "im": str(from_wad(im)),
                "mm": str(from_wad(mm)), "im_shortfall": str(from_wad(im - eq_im)),
                "mm_shortfall": str(from_wad(mm - eq_mm)), "status": STATUS[status], "health": health,
                # equity/IM at the contracts' precision (18 decimals, rounded down), not rounded further (tables do)
                "margin_ratio": (str(from_wad(eq_im * WAD // im)) if im else None),
                "positions": positions}

    def underlying_symbol(self, uid: int) -> str:
        """The symbol of a RiskEngine underlying id (share tokens are in their asset's book, not ids of their own)."""
        return self.params.underlying(uid).symbol

    def greeks(self, account_id: int) -> list[dict]:
        """Aggregate Greeks per underlying (delta in units and USD, gamma, vega per 1.00 vol, theta per year)."""
        rows = []
        for g in greeks_from_breakdown(self.risk.requirement_breakdown(account_id)):
            uid, delta, delta_usd, gamma, vega, theta = (int(x) for x in list(g)[:6])
            rows.append({"underlying": self.underlying_symbol(uid), "delta": str(from_wad(delta)),
                         "delta_usd": str(from_wad(delta_usd)), "gamma": str(from_wad(gamma)),
                         "vega": str(from_wad(vega)), "theta": str(from_wad(theta))})
        return rows

    def risk_breakdown(self, account_id: int) -> list[dict]:
        rows = []
        for u in self.risk.requirement_breakdown(account_id):
            d = dict(zip(["underlying", "spot", "vol", "status", "shock", "linear_size", "gross_size", "net_delta",
                          "collateral", "collateral_mm", "worst_loss", "directional"], list(u)[:12]))
            sym = self.underlying_symbol(int(d["underlying"]))
            rows.append({"underlying": sym, "spot": str(from_wad(d["spot"])), "shock": str(from_wad(d["shock"])),
                         "net_delta": str(from_wad(d["net_delta"])), "worst_loss": str(from_wad(d["worst_loss"])),
                         "directional": str(from_wad(d["directional"])), "status": STATUS[int(d["status"])]})
        return rows



@dataclass
class Protocol(Trading):
    session: Session
    manifest: Manifest
    params: Params

    @classmethod
    def load(cls, session: Session, verify: bool = True) -> "Protocol":
        """The deployment of `session.deployment` (or this chain's default file), checked against the node: same
        chain id and genesis, code at every recorded contract (`Manifest.verify`)."""
        manifest = Manifest.load(session.chain_id, path=getattr(session, "deployment", None))
        if verify:
            manifest.verify(session.web3)
        return cls(session, manifest, load_params(manifest.params_ref))

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
        return at("mocks/MockERC20", self.manifest.token(self.collateral(symbol).symbol))

    def collateral(self, symbol: str):
        """A listed collateral, or an ERC-4626 share token of `[[share_vaults]]` as one (`ShareVaultSpec.collateral`:
        its decimals, linked to its asset's underlying); symbols match case-insensitively."""
        try:
            return self.params.collateral(symbol.upper())
        except (KeyError, ValueError):
            pass
        for v in self.params.share_vaults:
            if v.symbol.upper() == symbol.upper():
                return v.collateral(self.params)
        known = ", ".join([c.symbol for c in self.params.collaterals] + [v.symbol for v in self.params.share_vaults])
        raise ProtocolError(f"unknown asset {symbol!r} (listed: {known})")

    def _all_collaterals(self) -> list:
        """Listed collaterals, then the share tokens (as `Collateral`s)."""
        return list(self.params.collaterals) + [v.collateral(self.params) for v in self.params.share_vaults]

    def share_vault(self, symbol: str):
        """The `[[share_vaults]]` entry of `symbol`, or None for a plain collateral."""
        return next((v for v in self.params.share_vaults if v.symbol.upper() == symbol.upper()), None)

    def _mint_shares(self, symbol: str, shares: int, signer, tx: dict) -> None:
        """Dev chains: get `shares` share units of vault `symbol` the way a user does, by depositing its asset
        (minted: a mock) into the ERC-4626 vault (`previewMint` rounds up, so it gets at least that many)."""
        spec = self.share_vault(symbol)
        vault = at("mocks/MockERC4626", self.manifest.token(spec.symbol))
        asset = self.token(spec.asset)
        assets = int(vault.previewMint(shares))
        asset.mint(signer.address, assets, **tx)
        asset.approve(vault.address, assets, **tx)
        vault.mint(shares, signer.address, **tx)

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
        kwargs = self.session.tx_kwargs(signer)
        address = kwargs["sender"].address
        if self.session.web3.eth.get_balance(address) == 0:
            raise ProtocolError(f"signer {address} has no ETH to pay gas on chain {self.session.chain_id}: fund it "
                                "first")
        return kwargs

    def send(self, method, *args, signer=None):
        """Send with a padded gas estimate: margin code reads `block.timestamp` (funding accrual, auction
        discounts), so a transaction mined a block later than its estimate can need more gas."""
        kwargs = self._tx(signer)
        estimate = method.estimate_gas_cost(*args, sender=kwargs["sender"])
        return method(*args, gas=int(estimate * 1.25) + 30_000, **kwargs)

    # -- accounts ------------------------------------------------------------------------------------------
    def open_account(self, signer=None, isolated_instrument: int | str = 0) -> int:
        """Open a cross account (`isolated_instrument` 0) or one isolated on an instrument (name or id)."""
        if isolated_instrument not in (0, "0", None, ""):
            isolated_instrument = self.instrument(isolated_instrument).id
        receipt = self.vault.open_account(int(isolated_instrument or 0), **self._tx(signer))
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
        decimals = self.collateral(symbol).decimals
        # every check before the first transaction: a refused deposit leaves no mint and no allowance behind
        info = self.vault.asset_info(token.address)
        wad = units * 10 ** (18 - decimals)
        if not info.listed:
            raise ProtocolError(f"{symbol.upper()} is not listed in this deployment's Vault")
        if int(info.total_wad) + wad > int(info.cap_wad):
            room = max(int(info.cap_wad) - int(info.total_wad), 0)
            raise ProtocolError(f"cap exceeded: {symbol.upper()} deposits are capped at {from_wad(int(info.cap_wad))}, "
                                f"{from_wad(int(info.total_wad))} deposited; at most {from_wad(room)} more")
        tx = self._tx(signer)
        have = token.balanceOf(signer.address)
        if have < units:
            if (mint if mint is not None else self.session.dev_chain) and self.share_vault(symbol):
                self._mint_shares(symbol, units - have, signer, tx)
            elif mint if mint is not None else self.session.dev_chain:
                token.mint(signer.address, units - have, **tx)
            else:
                raise ProtocolError(f"insufficient {symbol.upper()} in wallet {signer.address}: have "
                                    f"{Decimal(have) / 10**decimals}, need {amount}")
        allowance = token.allowance(signer.address, self.vault.address)
        if allowance != units:  # exactly this deposit, never an unlimited approval
            token.approve(self.vault.address, units, **tx)
        self.vault.deposit(account_id, token.address, units, **tx)
        return {"account": account_id, "asset": symbol.upper(), "deposited": str(amount)}

    def withdraw(self, account_id: int, symbol: str, amount: Decimal, to: str | None = None, signer=None) -> dict:
        from eth_utils import is_address, to_checksum_address

        signer = signer or self.session.signer
        owner = self._check_account(account_id)
        units = self._units(symbol, amount)
        token = self.token(symbol)
        if to is not None:
            if not is_address(to):
                raise ProtocolError(f"--to must be a 0x address of 40 hex digits, got {to!r}")
            to = to_checksum_address(to)
        wad = units * 10 ** (18 - self.collateral(symbol).decimals)
        have = self.vault.cash_of(account_id) if self.collateral(symbol).settlement else self.vault.balance_of(account_id, token.address)
        if have < wad:
            raise ProtocolError(f"insufficient balance: account {account_id} has {from_wad(max(have, 0))} {symbol.upper()}, asked {amount}")
        if not self._withdraw_ok(account_id, token.address, units, signer.address, to or signer.address):
            most = self.max_withdrawable(account_id, symbol, sender=signer.address)
            raise ProtocolError(f"withdrawing {amount} {symbol.upper()} would leave account {account_id} below initial "
                                f"margin: at most {most} now")
        # padded: the withdraw hook runs the margin engine, whose gas depends on block.timestamp
        self.send(self.vault.withdraw, account_id, token.address, units, to or signer.address, signer=signer)
        return {"account": account_id, "asset": symbol.upper(), "withdrawn": str(amount), "to": to or signer.address}

    def account(self, account_id: int) -> dict:
        owner = self._check_account(account_id)
        rows, most = {}, {}
        for c in self._all_collaterals():
            token = self.manifest.token(c.symbol)
            wad = self.vault.cash_of(account_id) if c.settlement else self.vault.balance_of(account_id, token)
            rows[c.symbol] = token_units(wad, c.decimals)  # in the token's own decimals (cash accrues in WAD)
            most[c.symbol] = str(self.max_withdrawable(account_id, c.symbol, balance_wad=wad, owner=owner))
        return {"account": account_id, "owner": owner,
                "isolated_instrument": int(self.vault.isolated_instrument(account_id)), "balances": rows,
                "max_withdrawable": most}

    # -- withdrawal limits ---------------------------------------------------------------------------------
    def _withdraw_ok(self, account_id: int, token: str, units: int, sender: str, receiver: str | None = None) -> bool:
        """Would `withdraw(units)` sent by `sender` pass the Vault's checks (initial margin, auctions, utilisation)?"""
        if units <= 0:
            return True
        vault = self.session.web3.eth.contract(self.vault.address, abi=self.manifest.abis.get("Vault")
                                               or _artifact_abi("Vault"))
        try:
            vault.functions.withdraw(account_id, token, units, receiver or sender).call({"from": sender})
            return True
        except Exception:  # noqa: BLE001 - any revert: not withdrawable
            return False

    def max_withdrawable(self, account_id: int, symbol: str, balance_wad: int | None = None,
                         owner: str | None = None, sender: str | None = None) -> Decimal:
        """The largest amount of `symbol` the owner can withdraw now (token units, rounded down to 6 significant
        digits below the exact limit): the whole balance when that passes, else a bisection on the Vault's own
        check (`withdraw` simulated with eth_call)."""
        c = self.collateral(symbol)
        token = self.manifest.token(c.symbol)
        owner = sender or owner or self.vault.owner_of(account_id)
        if balance_wad is None:
            balance_wad = self.vault.cash_of(account_id) if c.settlement else self.vault.balance_of(account_id, token)
        scale = 10 ** (18 - c.decimals)
        hi = max(int(balance_wad), 0) // scale
        if hi == 0 or self._withdraw_ok(account_id, token, hi, owner):
            return Decimal(hi) / 10**c.decimals
        lo = 0
        while hi - lo > max(1, hi // 10**6):
            mid = (lo + hi) // 2
            if self._withdraw_ok(account_id, token, mid, owner):
                lo = mid
            else:
                hi = mid
        return Decimal(lo) / 10**c.decimals

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
        if price > MAX_PRICE:
            raise ProtocolError(f"price must be at most {MAX_PRICE:,.0f} USD, got {price}")
        scaled = price * Decimal(10) ** u.feed_decimals
        if scaled != scaled.to_integral_value() or scaled <= 0:
            raise ProtocolError(f"{u.symbol}'s feed has {u.feed_decimals} decimals: {price} is not representable")
        answer = int(scaled)
        keys = [f"feed2:{u.symbol}"] if secondary else [f"feed:{u.symbol}", f"feed2:{u.symbol}"]
        for key in keys:
            # explicit gas: estimates for this mock can come out short after a same-value round (refunds)
            at("mocks/MockAggregator", self.manifest.address(key)).set_answer(answer, gas=200_000, **self._tx())
        return self.price(symbol)

    def set_vol(self, symbol: str, vol: Decimal) -> dict:
        u = self.underlying(symbol)
        self.vol_oracle.set_vol(u.id, int(vol * WAD), **self._tx())
        return self.price(symbol)
