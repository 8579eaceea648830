"""Capital efficiency of canonical books: initial margin under cross, under isolated, and as a naive sum.

Three requirements (IM, USD) per book, all from `crossmargin.model.margin` at the reference prices, and the cross
IM again in stress (every vol × `stress_vol`, default 3: the spot shock, the vol rows and the futures' basis
shock all grow with it; the books are the same):
    cross     `requirements(book).im`: one account, net portfolio risk (DESIGN §4)
    isolated  `isolated_requirements(book).im`: every position in its own subaccount, and every linked
              collateral holding alone too (it cannot back the other legs)
    naive     Σ over positions of `requirements(position alone).im`: one pool of collateral, but margin added
              position by position with no netting (collateral is only collateral, not a hedge). For books made
              of derivatives only this equals isolated by construction; it is lower where linked collateral
              is part of the trade (isolated margins the stranded holding, naive does not)

Canonical books (`notional` USD per leg, default 1M; markets found by kind, underlying, strike and expiry):
    basis trade                  long the dated future, short the perp (same size)
    cash-and-carry               linked collateral (WETH) held, perp shorted against it
    covered call                 long perp, short the out-of-the-money call (same size)
    delta-hedged short straddle  short ATM call + put, perp hedging the straddle's delta
    correlated longs             long ETH and BTC perps (ρ 0.8 in the default set)
    diversified longs            long ETH, BTC and SOL perps, equal risk per leg, scaled to the same isolated
                                 requirement as the correlated longs (so only the correlation differs)
    long ETH vs short BTC        long ETH perp, short BTC perp, same notional

One more row, after the canonical books (crowding, TECH_SPEC "Crowding"):
    same book split ten ways     long 5x the notional of the ETH perp and of the ETH future (the issue's crowded
                                 book), cut into ten accounts of one tenth each; priced on the protocol aggregate
                                 that book makes (ETH open interest = its gross size, caught up). `cross` is the
                                 sum of the ten accounts' IM, to compare with the one-account IM quoted in `legs`:
                                 crowding is linear in each account's exposure times the aggregate, so splitting
                                 saves nothing (priced on each account alone, as before: 1,802,704 -> 1,240,204)

And one for ERC-4626 share collateral (issue 16; TECH_SPEC "ERC-4626 shares netted into the asset's book"):
    staked-ETH shares vs short ETH perp   the notional in shares of a staked-ETH vault over the collateral linked
                                 to ETH (the parameters' `[[share_vaults]]` entry over it, else a stETH vault over
                                 WETH at uid 10) at rate 1, short the ETH perp. Priced as the chain lists it
                                 (`share_listing`, the mirror of `crossmargin.fuzz.shares.list_share_vault`): the
                                 share token is a collateral in its asset's book (ETH) with the asset's haircuts,
                                 priced S_ETH x rate (`MarketState.shares`), its depth capped by the vault's
                                 liquidity (here the book's own shares, all redeemable): its delta nets against
                                 the perp as WETH's does (cash-and-carry)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from crossmargin.model.margin import isolated_requirements, net_delta, option_price, requirements, shock_size
from crossmargin.model.params import Kind, Params, ShareVaultSpec
from crossmargin.model.portfolio import Account, MarketState
from crossmargin.sim.books import future, option, perp


@dataclass(frozen=True)
class EfficiencyRow:
    book: str
    legs: str
    gross_notional: float  # USD: Σ |size|·S + collateral value
    cross: float           # IM, USD
    isolated: float
    naive: float
    cross_stressed: float = float("nan")   # cross IM with every vol × stress_vol (same book)

    @property
    def cross_vs_isolated(self) -> float:
        return self.cross / self.isolated if self.isolated else float("nan")

    @property
    def cross_vs_naive(self) -> float:
        return self.cross / self.naive if self.naive else float("nan")

    def to_dict(self) -> dict:
        return {"book": self.book, "legs": self.legs, "gross_notional": self.gross_notional, "cross": self.cross,
                "isolated": self.isolated, "naive": self.naive, "cross_vs_isolated": self.cross_vs_isolated,
                "cross_vs_naive": self.cross_vs_naive, "cross_stressed": self.cross_stressed}


def naive_im(account: Account, state: MarketState, params: Params) -> float:
    """Σ over positions of the position's standalone IM (shared collateral is not margined, not a hedge)."""
    account = account.resolved(params)
    return sum(requirements(account.only(p), state, params).im for p in account.positions)


def canonical_books(params: Params, notional: float = 1_000_000.0,
                    state: MarketState | None = None) -> dict[str, tuple[Account, str]]:
    """{name: (account, legs description)}; raises ValueError naming a market the parameter set lacks."""
    state = state or MarketState.from_params(params)
    S, vol, rate = state.spot, state.vol, params.risk.rate

    def need(spec, what):
        if spec is None:
            raise ValueError(f"parameter set {params.name!r} has no {what}: cannot build the canonical books")
        return spec

    def trade(acct: Account, spec, units: float) -> Account:
        u = spec.underlying
        price = S[u] if spec.is_linear else float(option_price(spec, S[u], vol[u], state.now, rate))
        return acct.with_trade(spec, units, price)

    eth_perp, btc_perp = need(perp(params, "ETH"), "ETH perp"), need(perp(params, "BTC"), "BTC perp")
    sol_perp = need(perp(params, "SOL"), "SOL perp")
    fut = need(future(params, "ETH"), "ETH future")
    call_otm = need(option(params, "ETH", Kind.CALL, "otm"), "ETH call")
    call_atm = need(option(params, "ETH", Kind.CALL), "ETH call")
    put_atm = need(option(params, "ETH", Kind.PUT), "ETH put")
    weth = need(next(iter(params.linked_collaterals("ETH")), None), "collateral linked to ETH")
    q = notional / S["ETH"]
    books: dict[str, tuple[Account, str]] = {}

    books["basis trade"] = (trade(trade(Account(), fut, q), eth_perp, -q), f"+{fut.name}, -{eth_perp.name}")
    books["cash-and-carry"] = (trade(Account(collateral={weth.symbol: q}), eth_perp, -q),
                               f"{weth.symbol} collateral, -{eth_perp.name}")
    books["covered call"] = (trade(trade(Account(), eth_perp, q), call_otm, -q), f"+{eth_perp.name}, -{call_otm.name}")
    straddle = trade(trade(Account(), call_atm, -q), put_atm, -q)
    hedge = -net_delta("ETH", straddle, state, params)
    books["delta-hedged short straddle"] = (trade(straddle, eth_perp, hedge),
                                            f"-{call_atm.name}, -{put_atm.name}, {hedge:+.1f} units {eth_perp.name}")
    corr = trade(trade(Account(), eth_perp, q), btc_perp, notional / S["BTC"])
    books["correlated longs"] = (corr, f"+{eth_perp.name}, +{btc_perp.name}")
    books["diversified longs"] = (_diversified(params, state, (eth_perp, btc_perp, sol_perp), trade,
                                               isolated_requirements(corr, state, params).im),
                                  f"+{eth_perp.name}, +{btc_perp.name}, +{sol_perp.name}")
    books["long ETH vs short BTC"] = (trade(trade(Account(), eth_perp, q), btc_perp, -notional / S["BTC"]),
                                      f"+{eth_perp.name}, -{btc_perp.name}")
    return books


def _diversified(params: Params, state: MarketState, perps, trade, target_isolated_im: float) -> Account:
    """Long every perp with notional ∝ 1 / shock (equal risk), scaled until its isolated IM hits the target."""
    weights = {m: 1.0 / shock_size(state.vol[m.underlying], params.risk) for m in perps}
    total = sum(weights.values())

    def book(scale: float) -> Account:
        acct = Account()
        for m, w in weights.items():
            acct = trade(acct, m, scale * w / total / state.spot[m.underlying])
        return acct

    lo, hi = 0.0, 1.0
    while isolated_requirements(book(hi), state, params).im < target_isolated_im:
        hi *= 2.0
    for _ in range(60):  # bisection on the notional scale; the isolated IM is increasing in it
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if isolated_requirements(book(mid), state, params).im < target_isolated_im else (lo, mid)
    return book(hi)


SPLIT_WAYS = 10
SPLIT_BOOK = "same book split ten ways"


def split_book(params: Params, notional: float = 1_000_000.0,
               state: MarketState | None = None) -> tuple[Account, list[Account], MarketState]:
    """The crowded book of the split row (long 5x notional ETH perp and ETH future), its ten tenths, and the state
    with the ETH crowding aggregate that book makes (A = A_s = its gross size)."""
    state = state or MarketState.from_params(params)
    q = 5 * notional / state.spot["ETH"]
    legs = (perp(params, "ETH"), future(params, "ETH"))
    whole, piece = Account(), Account()
    for spec in legs:
        whole = whole.with_trade(spec, q, state.spot["ETH"])
        piece = piece.with_trade(spec, q / SPLIT_WAYS, state.spot["ETH"])
    return whole, [piece] * SPLIT_WAYS, state.with_crowding({"ETH": (2 * q, 2 * q)})


def split_row(params: Params, notional: float = 1_000_000.0, state: MarketState | None = None,
              stressed: MarketState | None = None) -> EfficiencyRow:
    """The `same book split ten ways` row: cross = Σ IM of the ten accounts; legs quote the one-account IM;
    the stressed column is the same ten accounts at `stressed` (every vol × stress_vol)."""
    whole, pieces, crowded = split_book(params, notional, state)
    whole = whole.resolved(params)
    one = requirements(whole, crowded, params).im
    names = ", ".join(f"+{p.spec.name}" for p in whole.positions)
    gross = sum(abs(p.size) * crowded.spot[p.spec.underlying] for p in whole.positions)
    return EfficiencyRow(SPLIT_BOOK, f"{names} in {SPLIT_WAYS} accounts (one account: {one:,.0f})", gross,
                         sum(requirements(p, crowded, params).im for p in pieces),
                         isolated_requirements(whole, crowded, params).im, naive_im(whole, crowded, params),
                         float('nan') if stressed is None else
                         sum(requirements(p, split_book(params, notional, stressed)[2], params).im for p in pieces))


STRESS_VOL = 3.0   # the stressed column: every vol × 3 (capped at the oracle's max_vol)
SHARE_BOOK = "staked-ETH shares vs short ETH perp"
def share_listing(params: Params, spec: ShareVaultSpec | None = None) -> tuple[Params, ShareVaultSpec]:
    """`params` with the share vault `spec`'s token added as a collateral of its asset's book (the asset's
    underlying and haircuts: `ShareVaultSpec.collateral`, the asset's cap), as `list_share_vault` lists it; a
    `MarketState` prices it through `shares[spec.symbol] = (rate, liquidity)`. `spec` defaults to the parameters'
    vault over the ETH-linked collateral, else a stETH vault over it at uid 10."""
    asset = next(iter(params.linked_collaterals("ETH")))
    spec = spec or next((v for v in params.share_vaults if v.asset == asset.symbol),
                        ShareVaultSpec("stETH", asset.symbol, 10))
    share = dataclasses.replace(spec.collateral(params), cap=params.collateral(spec.asset).cap)
    return params.replace(collaterals=params.collaterals + (share,), share_vaults=()), spec


def share_row(params: Params, notional: float = 1_000_000.0, stress_vol: float = STRESS_VOL,
              rate: float = 1.0) -> EfficiencyRow:
    """The `staked-ETH shares vs short ETH perp` row (module docstring), at the reference prices, time 0: `rate`
    asset per share, the vault redeeming every share the book holds (its liquidity)."""
    listed, spec = share_listing(params.listed(0))
    u = listed.collateral(spec.asset).underlying
    spot = MarketState.from_params(listed).spot[u]
    q = notional / (spot * rate)
    state = MarketState.from_params(listed).with_shares(**{spec.symbol: (rate, q)})
    stressed = state.with_vol(**{s: min(listed.oracle.max_vol, v * stress_vol) for s, v in state.vol.items()})
    eth_perp = perp(listed, u)
    acct = Account(collateral={spec.symbol: q}).with_trade(eth_perp, -q * rate, spot).resolved(listed)
    gross = 2 * q * rate * spot   # the shares' value + the perp's notional
    return EfficiencyRow(SHARE_BOOK, f"{spec.symbol} (ERC-4626 over {spec.asset}) collateral, -{eth_perp.name}",
                         gross, requirements(acct, state, listed).im, isolated_requirements(acct, state, listed).im,
                         naive_im(acct, state, listed), requirements(acct, stressed, listed).im)


def efficiency(params: Params, notional: float = 1_000_000.0, stress_vol: float = STRESS_VOL) -> list[EfficiencyRow]:
    """The table: cross / isolated / naive IM of each canonical book at the reference prices, time 0, and the
    cross IM of the same book with every vol × `stress_vol`."""
    params = params.listed(0)
    state = MarketState.from_params(params)
    stressed = state.with_vol(**{u: min(params.oracle.max_vol, v * stress_vol) for u, v in state.vol.items()})
    rows = []
    for name, (acct, legs) in canonical_books(params, notional, state).items():
        acct = acct.resolved(params)
        gross = sum(abs(p.size) * state.spot[p.spec.underlying] for p in acct.positions) + sum(
            bal * state.spot[params.collateral(sym).underlying] for sym, bal in acct.collateral.items())
        rows.append(EfficiencyRow(name, legs, gross, requirements(acct, state, params).im,
                                  isolated_requirements(acct, state, params).im, naive_im(acct, state, params),
                                  requirements(acct, stressed, params).im))
    rows.append(split_row(params, notional, state, stressed))
    rows.append(share_row(params, notional, stress_vol))
    return rows
