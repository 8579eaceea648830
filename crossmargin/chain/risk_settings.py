"""What the risk manager reads and changes on a live deployment: the RiskEngine's global parameters (inside their
on-chain bounds), the correlation matrix (validated here, then checked again on chain, PSD included), collateral
haircuts, and an underlying's depth and concentration.

Every change is *queued* on the Timelock (TECH_SPEC "Timelock"): it takes effect only when executed after the delay
(24 h by default), and the guardian may cancel it meanwhile; `show` lists the pending ones with their eta. On dev
chains `warp=True` advances the node's clock past the delay and executes at once (prices and vols then need a fresh
update: the CLI says so). Everything is checked before anything is sent, with the bounds and roles read from the
chain itself, so bad input costs no gas and changes nothing (the chain checks again at execution). Names are the
contract's (`horizon_seconds`, not the parameter file's `horizon_days`): `_seconds` fields are whole seconds, the
others WAD numbers given as decimals.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import numpy as np

from datetime import datetime, timezone
from functools import cached_property

from crossmargin.chain.deploy import RISK_BOUNDS_ORDER, RISK_PARAMS_ORDER
from crossmargin.chain.governance import STATES, TIMELOCK_ROLES, Operation, calldata, describe
from crossmargin.chain.protocol import Protocol, ProtocolError, from_wad
from crossmargin.model.params import validate_correlation

WAD = 10**18
HAIRCUT_FIELDS = ("base_mm", "base_im", "slope", "depth")  # set_collateral_risk's argument order


def _is_seconds(name: str) -> bool:
    return name.endswith("_seconds")


def _show(name: str, value: int) -> str:
    return str(value) if _is_seconds(name) else str(from_wad(value))


class RiskSettings:
    """The RiskEngine's settable state on one deployment (`Protocol`)."""

    def __init__(self, protocol: Protocol):
        self.p = protocol
        self.risk = protocol.risk

    # -- reads ---------------------------------------------------------------------------------------------
    def params(self) -> dict[str, int]:
        return dict(zip(RISK_PARAMS_ORDER, (int(v) for v in self.risk.risk_params())))

    def bounds(self) -> dict[str, tuple[int, int]]:
        return {name: (int(b[0]), int(b[1])) for name, b in zip(RISK_BOUNDS_ORDER, self.risk.bounds())}

    def symbols(self) -> list[str]:
        """Listed underlyings in matrix order (an ERC-4626 share price id is none: its shares are netted into the
        asset's book); the chain must list exactly the deployment's."""
        symbols = [u.symbol for u in self.p.params.underlyings]
        listed = int(self.risk.underlying_count())
        if listed != len(symbols):
            raise ProtocolError(f"the RiskEngine lists {listed} underlyings, the deployment's parameters "
                                f"{len(symbols)}: set the correlation with the deploy tooling")
        return symbols

    def correlation_wad(self, symbols: list[str]) -> list[list[int]]:
        """The on-chain matrix (signed WAD) in the order of `symbols` (from `symbols()`)."""
        ids = [self._uid(s) for s in symbols]
        n = len(ids)
        rho = [[WAD if i == j else 0 for j in range(n)] for i in range(n)]
        for i in range(n):
            for j in range(i + 1, n):
                rho[i][j] = rho[j][i] = int(self.risk.correlation(ids[i], ids[j]))
        return rho

    def show(self) -> dict:
        values, bounds = self.params(), self.bounds()
        symbols = self.symbols()
        wad = self.correlation_wad(symbols)
        rho = np.array(wad, dtype=float) / WAD
        return {
            "params": [{"name": n, "value": _show(n, values[n]), "min": _show(n, bounds[n][0]),
                        "max": _show(n, bounds[n][1])} for n in RISK_PARAMS_ORDER],
            "underlyings": symbols,
            "correlation": [[str(Decimal(x) / WAD) for x in row] for row in wad],  # exact, as stored (decimal strings)
            "min_eigenvalue": f"{float(np.linalg.eigvalsh(rho).min()):.9f}",
            "underlying_params": [{"symbol": s, **{n: _show(n, v) for n, v in self._underlying(s).items()}}
                                  for s in symbols],
            "collaterals": [{"symbol": c.symbol, **{n: _show(n, v) for n, v in
                                                    self._haircuts(self.p.manifest.token(c.symbol)).items()}}
                            for c in self.p._all_collaterals() if not c.settlement],
            "share_feeds": self.share_feeds(),
            "timelock": {"delay_seconds": int(self.timelock.delay()), "grace_seconds": self._grace},
            "pending": [self._row(op) for op in self.operations() if op.state == "queued"],
        }

    def _uid(self, symbol: str) -> int:
        """The RiskEngine id of an underlying."""
        return self.p.underlying(symbol).id

    def share_feeds(self) -> list[dict]:
        """Each share collateral's guard (OracleRouter `share_feed_of` / `share_rate`): the vault, its asset, the book
        it sits in (the asset's underlying; none for a vault over the settlement asset), the accepted rate r0 and its age, the live rate, the cap r0·(1 + max_rise_per_day·age/day), the rate used for
        margin, the guard parameters and the rate's status. Rates are asset tokens per share token."""
        from crossmargin.chain.protocol import STATUS
        from crossmargin.model.share_rate import DAY

        now = int(self.p.session.web3.eth.get_block("latest")["timestamp"])
        out = []
        for v in self.p.params.share_vaults:
            f = self.p.router.share_feed_of(v.uid)
            live, used, status = (int(x) for x in self.p.router.share_rate(v.uid))
            r0, t0, rise = int(f.rate), int(f.updated_at), int(f.max_rise_per_day)
            cap = r0 + r0 * rise // WAD * max(now - t0, 0) // DAY
            asset = self.p.params.collateral(v.asset)
            # the book the shares sit in: the asset's underlying (a spot delta), none for a vault over the
            # settlement asset (rate x 1 USD, no delta)
            book = "none (× 1 USD)" if asset.settlement else asset.underlying
            out.append({"symbol": v.symbol, "uid": v.uid, "vault": f.vault, "asset": v.asset, "book": book,
                        "accepted_rate": str(from_wad(r0)), "accepted_age_seconds": max(now - t0, 0),
                        "live_rate": str(from_wad(live)), "cap": str(from_wad(cap)), "used_rate": str(from_wad(used)),
                        "headroom": float((cap - r0) / r0) if r0 else 0.0,
                        "max_rise_per_day": str(from_wad(rise)), "max_drop": str(from_wad(int(f.max_drop))),
                        "status": STATUS[status]})
        return out

    def _underlying(self, symbol: str) -> dict[str, int]:
        depth, concentration = (int(x) for x in self.risk.underlying_params(self._uid(symbol)))
        return {"depth": depth, "concentration": concentration}

    def _haircuts(self, token: str) -> dict[str, int]:
        c = self.risk.collateral_risk(token)
        return {"base_mm": int(c.base_mm), "base_im": int(c.base_im), "slope": int(c.slope), "depth": int(c.depth)}

    def _haircut_bounds(self) -> dict[str, tuple[int, int] | None]:
        b = self.bounds()
        return {"base_mm": b["haircut_base_mm"], "base_im": b["haircut_base_im"], "slope": b["haircut_slope"],
                "depth": None}

    def _collateral(self, symbol: str) -> str:
        c = self.p.collateral(symbol)
        if c.settlement:
            raise ProtocolError(f"{c.symbol} is the settlement asset: it has no haircut")
        return self.p.manifest.token(c.symbol)

    # -- the timelock --------------------------------------------------------------------------------------
    @cached_property
    def timelock(self):
        from crossmargin.chain.contracts import at

        try:
            address = self.p.manifest.address("Timelock")
        except Exception:
            raise ProtocolError("this deployment has no Timelock: redeploy with `crossmargin deploy`") from None
        return at("Timelock", address)

    @cached_property
    def _grace(self) -> int:
        return int(self.timelock.GRACE_PERIOD())

    def _web3_timelock(self):
        from crossmargin.chain.artifacts import artifact

        return self.p.session.web3.eth.contract(address=self.timelock.address, abi=artifact("Timelock").abi)

    def _now(self) -> int:
        return int(self.p.session.web3.eth.get_block("latest")["timestamp"])

    def operations(self) -> list[Operation]:
        """Every operation ever queued (from the `Queued` events since the deploy block) with its current state."""
        events = self._web3_timelock().events.Queued().get_logs(from_block=int(self.p.manifest.start_block or 0))
        out = []
        for e in events:
            op_id = int(e["args"]["id"])
            _, eta, state = self.timelock.operations(op_id)
            out.append(Operation(op_id, e["args"]["target"], bytes(e["args"]["data"]), int(eta),
                                 STATES.get(int(state), str(state)), e["args"]["proposer"]))
        return out

    def _operation(self, op_id: int) -> Operation:
        for op in self.operations():
            if op.id == op_id:
                return op
        raise ProtocolError(f"no operation {op_id} in the timelock (queued: 1..{int(self.timelock.operation_count())})")

    def _abis(self) -> dict[str, tuple[str, list]]:
        from crossmargin.chain.artifacts import artifact

        names = ("Vault", "OracleRouter", "VolOracle", "Markets", "RiskEngine", "Clearinghouse", "Liquidation",
                 "Lens", "Timelock")
        return {self.p.manifest.contracts[n].lower(): (n, artifact(n).abi) for n in names
                if n in self.p.manifest.contracts}

    def _row(self, op: Operation, now: int | None = None) -> dict:
        now = self._now() if now is None else now
        if op.state != "queued":
            when = op.state
        elif now < op.eta:
            when = f"in {_duration(op.eta - now)}"
        elif now <= op.eta + self._grace:
            when = "ready"
        else:
            when = "expired"
        return {"id": op.id, "call": describe(self._abis(), op.target, op.data), "eta": op.eta,
                "eta_utc": datetime.fromtimestamp(op.eta, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
                "status": when, "proposer": op.proposer}

    def _queue(self, fn: str, args: tuple, signer=None, warp: bool = False) -> dict:
        """Queue `RiskEngine.fn(*args)` on the Timelock (proposers only); with `warp` (dev chains) advance the clock
        past the delay and execute it."""
        from crossmargin.chain.artifacts import artifact

        who = (signer or self.p.session.signer).address
        if not self.timelock.hasRole(TIMELOCK_ROLES["PROPOSER_ROLE"], who):
            raise ProtocolError(f"{who} may not queue {fn}: only a proposer of the Timelock (pass --account)")
        if warp and not self.p.session.dev_chain:
            raise ProtocolError("--warp moves the clock of dev chains only")
        data = calldata(artifact("RiskEngine").abi, fn, *args)
        receipt = self.p.send(self.timelock.queue, self.risk.address, data, signer=signer)
        op_id = int(receipt.decode_logs(self.timelock.Queued)[-1].id)
        out = {"queued": self._row(self._operation(op_id))}
        if warp:
            out["executed"] = self.execute([op_id], signer=signer, warp=True)["executed"]
        return {**out, **self.show()}

    def execute(self, ids: list[int] | None = None, signer=None, warp: bool = False) -> dict:
        """Execute operations by id, or every ready one (`ids=None`). `warp` (dev chains) first advances the clock
        to the latest eta among them."""
        ops = self.operations()
        chosen = [op for op in ops if op.state == "queued"] if ids is None else [
            next((op for op in ops if op.id == i), None) or self._operation(i) for i in ids]
        for op in chosen:
            if op.state != "queued":
                raise ProtocolError(f"operation {op.id} is {op.state}, not queued")
        now = self._now()
        if warp and chosen:
            if not self.p.session.dev_chain:
                raise ProtocolError("--warp moves the clock of dev chains only")
            latest = max(op.eta for op in chosen)
            if latest > now:
                self._warp(latest - now + 1)
                now = self._now()
        if ids is None:
            chosen = [op for op in chosen if op.ready(now, self._grace)]
        for op in chosen:
            if now < op.eta:
                raise ProtocolError(f"operation {op.id} is not ready: eta {self._row(op, now)['eta_utc']} "
                                    f"({self._row(op, now)['status']})")
            if now > op.eta + self._grace:
                raise ProtocolError(f"operation {op.id} expired (eta + {self._grace // 86400} days): queue it again")
        who = (signer or self.p.session.signer).address
        role = TIMELOCK_ROLES["EXECUTOR_ROLE"]
        if chosen and not (self.timelock.hasRole(role, who) or self.timelock.hasRole(role, "0x" + "00" * 20)):
            raise ProtocolError(f"{who} may not execute: only an executor of the Timelock (pass --account)")
        for op in chosen:
            self.p.send(self.timelock.execute, op.id, op.target, op.data, signer=signer)
        return {"executed": [op.id for op in chosen], **self.show()}

    def cancel(self, op_id: int, signer=None) -> dict:
        """Cancel a queued operation (the guardian)."""
        op = self._operation(op_id)
        if op.state != "queued":
            raise ProtocolError(f"operation {op_id} is {op.state}, not queued")
        who = (signer or self.p.session.signer).address
        if not self.timelock.hasRole(TIMELOCK_ROLES["CANCELLER_ROLE"], who):
            raise ProtocolError(f"{who} may not cancel: only the guardian (pass --account)")
        self.p.send(self.timelock.cancel, op_id, signer=signer)
        return {"cancelled": op_id, **self.show()}

    def _warp(self, seconds: int) -> None:
        """Dev chains: advance the clock, then post fresh mock rounds and vols at their last values (a day-long
        warp would leave every feed stale)."""
        from crossmargin.chain.contracts import at
        from crossmargin.chain.deploy import ROLES

        w3 = self.p.session.web3
        w3.provider.make_request("evm_increaseTime", [int(seconds)])
        w3.provider.make_request("evm_mine", [])
        feeder = self.p.vol_oracle.hasRole(ROLES["FEEDER_ROLE"], self.p.session.signer.address)
        for u in self.p.params.underlyings:
            for key in (f"feed:{u.symbol}", f"feed2:{u.symbol}"):
                if key in self.p.manifest.contracts:
                    feed = at("mocks/MockAggregator", self.p.manifest.address(key))
                    feed.set_answer(int(feed.latestRoundData()[1]), gas=200_000, **self.p._tx())
            if feeder:
                vol, _ = self.p.vol_oracle.vol(u.id)
                self.p.vol_oracle.set_vol(u.id, int(vol), **self.p._tx())

    # -- writes (queued) -------------------------------------------------------------------------------------
    def set_params(self, changes: dict[str, str], signer=None, warp: bool = False) -> dict:
        """Queue a change of some global parameters (the others keep their on-chain values), each inside its
        bound."""
        values = _apply(self.params(), changes, self.bounds(), "risk parameter")
        return self._queue("set_risk_params", (tuple(values[n] for n in RISK_PARAMS_ORDER),), signer, warp)

    def set_collateral(self, symbol: str, changes: dict[str, str], signer=None, warp: bool = False) -> dict:
        """Queue a change of a collateral token's haircut parameters (`base_mm`, `base_im`, `slope` inside their bounds,
        `depth` > 0, `base_im` >= `base_mm`)."""
        token = self._collateral(symbol)
        values = _apply(self._haircuts(token), changes, self._haircut_bounds(), f"{symbol.upper()} haircut parameter")
        if values["base_im"] < values["base_mm"]:
            raise ProtocolError(f"base_im ({_show('base_im', values['base_im'])}) must be >= base_mm "
                                f"({_show('base_mm', values['base_mm'])})")
        return self._queue("set_collateral_risk", (token, *(values[n] for n in HAIRCUT_FIELDS)), signer, warp)

    def set_underlying(self, symbol: str, changes: dict[str, str], signer=None, warp: bool = False) -> dict:
        """Queue a change of an underlying's market depth (> 0) and concentration λ (inside its bound)."""
        values = _apply(self._underlying(symbol), changes, {"depth": None, "concentration": self.bounds()["concentration"]},
                        f"{symbol.upper()} parameter")
        return self._queue("set_underlying", (self._uid(symbol), values["depth"], values["concentration"]),
                           signer, warp)

    def set_correlation(self, pairs: dict[tuple[str, str], str], signer=None, warp: bool = False) -> dict:
        """Queue a change of some pairs of the on-chain matrix and send the whole matrix (the chain takes it whole), after
        the checks the chain makes: symmetric, unit diagonal, |ρ| ≤ 1, positive semi-definite."""
        if not pairs:
            raise ProtocolError("nothing to set: pass pairs as ETH:BTC=0.8")
        symbols = self.symbols()
        wad = self.correlation_wad(symbols)  # unchanged pairs are sent back exactly as stored
        for (a, b), text in pairs.items():
            i, j = (self._index(symbols, s) for s in (a, b))
            if i == j:
                raise ProtocolError(f"{a}:{b} is the diagonal (always 1)")
            value = _decimal(text, f"correlation {a}:{b}") * WAD
            if abs(value) > WAD or value != value.to_integral_value():
                raise ProtocolError(f"correlation {a}:{b} must be in [-1, 1] with 18 decimals at most, got {text}")
            wad[i][j] = wad[j][i] = int(value)
        try:
            validate_correlation(np.array(wad, dtype=float) / WAD, tuple(symbols))
        except ValueError as exc:
            raise ProtocolError(str(exc)) from None
        ids = [self._uid(s) for s in symbols]
        return self._queue("set_correlation", (ids, wad), signer, warp)

    # -- helpers -------------------------------------------------------------------------------------------
    def _index(self, symbols: list[str], symbol: str) -> int:
        try:
            return [s.upper() for s in symbols].index(symbol.upper())
        except ValueError:
            raise ProtocolError(f"unknown underlying {symbol!r} (known: {', '.join(symbols)})") from None


def _apply(values: dict[str, int], changes: dict[str, str], bounds: dict[str, tuple[int, int] | None],
           what: str) -> dict:
    """`values` with `changes` (NAME -> text) parsed and each checked inside its (min, max) bound (None: > 0)."""
    if not changes:
        raise ProtocolError(f"nothing to set: pass NAME=VALUE (names: {', '.join(values)})")
    out = dict(values)
    for name, text in changes.items():
        if name not in out:
            raise ProtocolError(f"unknown {what} {name!r} (settable: {', '.join(values)})")
        new = _parse(name, text)
        if bounds[name] is None:
            if new == 0:
                raise ProtocolError(f"{name} must be > 0")
            out[name] = new
            continue
        lo, hi = bounds[name]
        if not lo <= new <= hi:
            raise ProtocolError(f"{name} = {text} is outside its on-chain bound [{_show(name, lo)}, {_show(name, hi)}]")
        out[name] = new
    return out


def _duration(seconds: int) -> str:
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}h{rest // 60:02d}m"


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ProtocolError(f"{what} must be a number, got {text!r}") from None
    if not value.is_finite():
        raise ProtocolError(f"{what} must be a finite number, got {text!r}")
    return value


def _parse(name: str, text: str) -> int:
    value = _decimal(text, name)
    if value < 0:
        raise ProtocolError(f"{name} must be >= 0, got {text}")
    if _is_seconds(name):
        if value != value.to_integral_value():
            raise ProtocolError(f"{name} is whole seconds, got {text}")
        return int(value)
    wad = value * WAD
    if wad != wad.to_integral_value():
        raise ProtocolError(f"{name} has 18 decimals at most, got {text}")
    return int(wad)
