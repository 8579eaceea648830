"""The demo's ERC-4626 share collateral (`[[share_vaults]]` of the demo parameters: a staked-ETH-like vault over
WETH and a yield-bearing USDC vault, deployed and listed by `crossmargin deploy`).

    accrue(state, seconds)   the vault earns its `yield_per_day`: WETH minted into it (totalAssets is its balance),
                             so the live rate rises; the guard credits it within max_rise_per_day
    snapshot(state, t)       the guard as read on chain at each crash step (live, accepted r0, used, status)
    section(state)           the report's rows: each vault's rates at the start and the end, and the pokes the
                             share-rate poker (`crossmargin agent shares`, run by the demo) sent
"""

from __future__ import annotations

from crossmargin.bots.shares import STATUS, ShareConfig

WAD = 10**18
DAY = 86_400
POKER = ShareConfig(interval=900, max_headroom=0.0002)   # every 15 minutes of the 1-hour crash (default: 6 h)


def _vault(state, spec):
    from crossmargin.chain.contracts import at

    return at("mocks/MockERC4626", state.protocol.manifest.token(spec.symbol))


def accrue(state, seconds: int) -> None:
    """Each share vault earns `yield_per_day` over `seconds` (its asset minted into the vault by the deployer)."""
    p = state.protocol
    for spec in p.params.share_vaults:
        if not spec.yield_per_day:
            continue
        vault = _vault(state, spec)
        earned = int(vault.totalAssets()) * round(spec.yield_per_day * 1e9) * seconds // (DAY * 10**9)
        if earned:
            p.token(spec.asset).mint(vault.address, earned, **p._tx())


def snapshot(state, t: int) -> None:
    router = state.protocol.router
    for spec in state.protocol.params.share_vaults:
        f = router.share_feed_of(spec.uid)
        live, used, status = (int(x) for x in router.share_rate(spec.uid))
        state.share_rates.append({"t": t, "vault": spec.symbol, "live": live / WAD, "used": used / WAD,
                                  "r0": int(f.rate) / WAD, "status": STATUS[status]})


def section(state) -> list[dict]:
    """Per share vault: its rates at the start and the end of the crash, and the pokes sent."""
    out = []
    pokes = [r for r in state.bots.records if r.get("event") == "send" and r.get("purpose") == "poke"]
    for spec in state.protocol.params.share_vaults:
        rows = [r for r in state.share_rates if r["vault"] == spec.symbol]
        if not rows:
            continue
        first, last = rows[0], rows[-1]
        out.append({"vault": spec.symbol, "asset": spec.asset, "yield_per_day": spec.yield_per_day,
                    "live_start": first["live"], "live_end": last["live"], "r0_start": first["r0"],
                    "r0_end": last["r0"], "used_end": last["used"], "status_end": last["status"],
                    "pokes": sum(1 for r in pokes if r.get("vault") == spec.symbol)})
    return out


def lines(r: dict) -> list[str]:
    """The report's lines on the share collateral."""
    return [f"{s['vault']} (ERC-4626 over {s['asset']}, yield {s['yield_per_day'] * 100:.3g}%/day): live rate "
            f"{s['live_start']:.7f} → {s['live_end']:.7f}, accepted r0 {s['r0_start']:.7f} → {s['r0_end']:.7f} "
            f"({s['pokes']} pokes by the share-rate poker), used {s['used_end']:.7f}, {s['status_end']}"
            for s in r.get("share_collateral", [])]
