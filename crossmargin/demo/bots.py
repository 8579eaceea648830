"""The bots as the demo ticks them after every price move: liquidation keeper and collateral-band agent.

They act through the same contracts and calls as the long-running bots (`crossmargin keeper run`,
`crossmargin agent band`), stepped in process so the demo is deterministic and fast.
"""

from __future__ import annotations

from decimal import Decimal as D

from crossmargin.demo.books import BAND_RESERVE

BAND = {"target": D("1.6"), "low": D("1.3"), "high": D("2.2")}


def demo_bots(state) -> list:
    bots = []
    if hasattr(state, "band"):
        bots.append(lambda step: band_tick(state, step))
    if "Liquidation" in state.protocol.manifest.contracts:
        bots.append(lambda step: keeper_tick(state, step))
    return bots


def band_tick(state, step) -> None:
    """Keep equity/IM of the band account inside [low, high] by topping up from the reserve wallet."""
    p = state.protocol
    signer, acct = state.band
    m = p.margin(acct)
    im, eq = D(m["im"]), D(m["equity_im"])
    if im <= 0:
        return
    ratio = eq / im
    spent = sum(D(a["amount"]) for a in state.band_actions)
    if ratio < BAND["low"]:
        need = (BAND["target"] * im - eq).quantize(D("0.000001"))
        need = min(need, BAND_RESERVE["USDC"] - spent)
        if need > 0:
            p.deposit(acct, "USDC", need, signer=signer)
            state.band_actions.append({"t": step.seconds, "action": "deposit", "amount": str(need),
                                       "ratio_before": float(ratio), "ratio_after": float(_ratio(p, acct))})


def _ratio(p, acct: int) -> D:
    m = p.margin(acct)
    return D(m["equity_im"]) / D(m["im"]) if D(m["im"]) > 0 else D(0)


def keeper_tick(state, step) -> None:
    """Start auctions on liquidatable accounts and bid the largest allowed fraction once profitable."""
    from crossmargin.chain.errors import explain

    p = state.protocol
    keeper, keeper_acct = state.keeper
    liq = p.liquidation
    for t in state.tracked:
        try:
            auction = liq.auction(t.account)
            active = bool(auction[-1]) if isinstance(auction, (tuple, list)) else bool(auction.active)
            m = p.margin(t.account)
            if not active and m["health"] == "liquidatable" and m["status"] == "OK":
                p.send(liq.start_auction, t.account, keeper_acct, signer=keeper)
                state.events.append({"t": step.seconds, "event": "auction started", "account": t.account,
                                     "book": t.label, "mm_shortfall": m["mm_shortfall"]})
                active = True
            if active:
                payment, f_max = liq.quote(t.account, 10**18)
                if f_max == 0:
                    continue
                receipt = p.send(liq.bid, t.account, keeper_acct, f_max, 2**255 - 1, signer=keeper)
                state.events.append({"t": step.seconds, "event": "bid", "account": t.account, "book": t.label,
                                     "fraction": float(D(f_max) / 10**18), "payment": float(D(payment) / 10**18),
                                     "discount": float(D(liq.discount(t.account)) / 10**18),
                                     "gas": receipt.gas_used})
        except Exception as exc:  # noqa: BLE001 - a lost race or a revert is logged, the keeper moves on
            state.events.append({"t": step.seconds, "event": "keeper skipped", "account": t.account,
                                 "reason": explain(exc)})
