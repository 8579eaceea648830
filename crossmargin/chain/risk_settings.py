"""What the risk manager reads and sets on a live deployment: the RiskEngine's global parameters (inside their
on-chain bounds), the correlation matrix (validated here, then checked again on chain, PSD included), collateral
haircuts, and (admin) an underlying's depth and concentration.

Everything is checked before anything is sent, with the bounds and roles read from the chain itself, so bad
input costs no gas and changes nothing. Names are the contract's (`horizon_seconds`, not the parameter file's
`horizon_days`): `_seconds` fields are whole seconds, the others WAD numbers given as decimals.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import numpy as np

from crossmargin.chain.deploy import RISK_BOUNDS_ORDER, RISK_PARAMS_ORDER, ROLES
from crossmargin.chain.protocol import Protocol, ProtocolError, from_wad
from crossmargin.model.params import validate_correlation

WAD = 10**18
ADMIN_ROLE = b"\x00" * 32
RM_OR_ADMIN = (ROLES["RISK_MANAGER_ROLE"], ADMIN_ROLE)
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
        """Listed underlyings in matrix order; the chain must list exactly the deployment's."""
        symbols = [u.symbol for u in self.p.params.underlyings]
        listed = int(self.risk.underlying_count())
        if listed != len(symbols):
            raise ProtocolError(f"the RiskEngine lists {listed} underlyings, the deployment's parameters "
                                f"{len(symbols)}: set the correlation with the deploy tooling")
        return symbols

    def correlation_wad(self, symbols: list[str]) -> list[list[int]]:
        """The on-chain matrix (signed WAD) in the order of `symbols` (from `symbols()`)."""
        ids = [self.p.underlying(s).id for s in symbols]
        n = len(ids)
        rho = [[WAD if i == j else 0 for j in range(n)] for i in range(n)]
        for i in range(n):
            for j in range(i + 1, n):
                rho[i][j] = rho[j][i] = int(self.risk.correlation(ids[i], ids[j]))
        return rho

    def show(self) -> dict:
        values, bounds = self.params(), self.bounds()
        symbols = self.symbols()
        rho = np.array(self.correlation_wad(symbols), dtype=float) / WAD
        return {
            "params": [{"name": n, "value": _show(n, values[n]), "min": _show(n, bounds[n][0]),
                        "max": _show(n, bounds[n][1])} for n in RISK_PARAMS_ORDER],
            "underlyings": symbols,
            "correlation": [[round(float(x), 6) for x in row] for row in rho],
            "min_eigenvalue": round(float(np.linalg.eigvalsh(rho).min()), 9),
            "underlying_params": [{"symbol": s, **{n: _show(n, v) for n, v in self._underlying(s).items()}}
                                  for s in symbols],
            "collaterals": [{"symbol": c.symbol, **{n: _show(n, v) for n, v in
                                                    self._haircuts(self.p.manifest.token(c.symbol)).items()}}
                            for c in self.p.params.collaterals if not c.settlement],
        }

    def _underlying(self, symbol: str) -> dict[str, int]:
        depth, concentration = (int(x) for x in self.risk.underlying_params(self.p.underlying(symbol).id))
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

    # -- writes --------------------------------------------------------------------------------------------
    def set_params(self, changes: dict[str, str], signer=None) -> dict:
        """Change some global parameters (the others keep their on-chain values), each inside its bound."""
        values = _apply(self.params(), changes, self.bounds(), "risk parameter")
        self._require_role((ROLES["RISK_MANAGER_ROLE"],), "set_risk_params", "the risk manager", signer=signer)
        self.p.send(self.risk.set_risk_params, tuple(values[n] for n in RISK_PARAMS_ORDER), signer=signer)
        return self.show()

    def set_collateral(self, symbol: str, changes: dict[str, str], signer=None) -> dict:
        """Change a collateral token's haircut parameters (`base_mm`, `base_im`, `slope` inside their bounds,
        `depth` > 0, `base_im` >= `base_mm`)."""
        token = self._collateral(symbol)
        values = _apply(self._haircuts(token), changes, self._haircut_bounds(), f"{symbol.upper()} haircut parameter")
        if values["base_im"] < values["base_mm"]:
            raise ProtocolError(f"base_im ({_show('base_im', values['base_im'])}) must be >= base_mm "
                                f"({_show('base_mm', values['base_mm'])})")
        self._require_role(RM_OR_ADMIN, "set_collateral_risk", "the risk manager or the admin", signer=signer)
        self.p.send(self.risk.set_collateral_risk, token, *(values[n] for n in HAIRCUT_FIELDS), signer=signer)
        return self.show()

    def set_underlying(self, symbol: str, changes: dict[str, str], signer=None) -> dict:
        """Change an underlying's market depth (> 0) and concentration λ (inside its bound); admin only."""
        values = _apply(self._underlying(symbol), changes, {"depth": None, "concentration": self.bounds()["concentration"]},
                        f"{symbol.upper()} parameter")
        self._require_role((ADMIN_ROLE,), "set_underlying", "the admin", signer=signer)
        self.p.send(self.risk.set_underlying, self.p.underlying(symbol).id, values["depth"], values["concentration"],
                    signer=signer)
        return self.show()

    def set_correlation(self, pairs: dict[tuple[str, str], str], signer=None) -> dict:
        """Change some pairs of the on-chain matrix and send the whole matrix (the chain takes it whole), after
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
        self._require_role(RM_OR_ADMIN, "set_correlation", "the risk manager or the admin", signer=signer)
        ids = [self.p.underlying(s).id for s in symbols]
        self.p.send(self.risk.set_correlation, ids, wad, signer=signer)
        return self.show()

    # -- helpers -------------------------------------------------------------------------------------------
    def _index(self, symbols: list[str], symbol: str) -> int:
        try:
            return symbols.index(symbol.upper())
        except ValueError:
            raise ProtocolError(f"unknown underlying {symbol!r} (known: {', '.join(symbols)})") from None

    def _require_role(self, roles: tuple[bytes, ...], what: str, holder: str, signer=None) -> None:
        who = (signer or self.p.session.signer).address
        if not any(self.risk.hasRole(role, who) for role in roles):
            raise ProtocolError(f"{who} may not {what}: only {holder} (pass --account)")


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
