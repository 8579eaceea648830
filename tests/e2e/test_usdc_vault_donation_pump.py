"""Cream Finance, October 2021, on a yield-bearing USDC vault: Cream's yUSD was itself a vault over a stablecoin
vault. The attacker holds most of an ERC-4626 vault over USDC as margin next to USDC cash and a long ETH perp;
in one block it donates USDC to the vault so `convertToAssets` doubles, then withdraws the USDC cash the doubled shares
seem to free, leaving its perp margined by the pumped value.

Before issue 16's missing piece the USDC vault could not be listed at all (the settlement asset had no price id:
`OracleRouter.set_share_feed` reverted "unknown underlying"). Now its share is priced at the guarded rate x 1 USD
(asset id SETTLEMENT_UID) in no underlying's book, and the guard is the one of every share feed (TECH_SPEC
"ERC-4626 share feeds"): the rate is credited at most `max_rise_per_day` above the last accepted rate, so a
same-block donation adds nothing. `test_..._without_the_guard` turns the guard off through its parameter
(max_rise_per_day = 100 %/day on a rate accepted a day earlier, so the cap allows the doubling): the same
withdrawal then goes through — the guard, not something else, stops the attack.
"""

from __future__ import annotations

import pytest

from crossmargin.chain.revm import RevmRevert
from crossmargin.fuzz.shares import deposit_shares, list_share_vault
from crossmargin.model.params import to_wad
from crossmargin.model.share_rate import ShareGuard
from tests.e2e.helpers import E, WAD, usd

DAY = 86_400
# yUSD's haircuts (a vault over the settlement asset takes its own: `[[share_vaults]]` haircut_* / depth_usd)
HAIRCUTS = tuple(to_wad(x) for x in (0.02, 0.04, 0.05, 50_000_000))


def _headroom(w, account) -> int:
    eq_im, eq_mm, im, mm, status = w.margin(account)
    return eq_im - im


def _pump(w, guard: ShareGuard):
    """List yUSD (others hold 100k USDC of it), give the attacker 900k USDC of shares, 1M USDC cash and a long
    ETH perp that makes IM bind; a day passes with no poke; then one block: donate 1M USDC (the vault's assets
    double). Returns (world, attacker, vault, headroom before, rate before, the withdrawal asked for)."""
    maker, attacker = w.traders[0], w.traders[1]
    v = list_share_vault(w, "yUSD", asset="USDC", uid=11, seed_assets=usd(w, 100_000), guard=guard,
                         haircuts=HAIRCUTS)
    deposit_shares(w, attacker, v, usd(w, 900_000))
    w.deposit(attacker, "USDC", usd(w, 1_000_000))
    w.trade(maker, attacker, "ETH-PERP", -2500 * WAD, 3000 * WAD)    # long 2,500 ETH (7.5M notional)
    w.warp(DAY)
    w.refresh_all()
    h0 = _headroom(w, attacker.account)
    rate0 = w.router.share_rate(v.uid)
    assert h0 > 0 and h0 < 1_000_000 * WAD, "IM binds part of the cash"
    usdc = w.tokens["USDC"]
    usdc.mint(attacker.address, usd(w, 1_000_000), sender=w.admin)
    usdc.transfer(v.vault.address, usd(w, 1_000_000), sender=attacker.address)
    want = h0 // 10**12 + usd(w, 500_000)                          # 500k USDC beyond the unpumped headroom
    return attacker, v, h0, rate0, want


def test_usdc_vault_donation_pump(world):
    w = world
    attacker, v, h0, rate0, want = _pump(w, w.params.share_guard)    # 0.1 %/day
    live, used, status = w.router.share_rate(v.uid)
    h1 = _headroom(w, attacker.account)
    print(f"\nyUSD rate {rate0[1] / WAD:.4f} -> live {live / WAD:.4f}, credited {used / WAD:.4f} (cap +0.1 %/day); "
          f"IM headroom {h0 / WAD:,.0f} -> {h1 / WAD:,.0f} USD; the attacker asks for {want / 1e6:,.0f} USDC")
    assert live >= 2 * WAD - 10**15, "the donation doubled convertToAssets"
    assert used == rate0[1] + rate0[1] * v.guard.max_rise_per_day_wad // WAD, "credited: a day's 0.1 % at most"
    assert h1 <= h0 + 1_000 * WAD, "the pump frees nothing (a day's 0.1 % on 900k shares at most)"
    with pytest.raises(RevmRevert, match=E["BELOW_INITIAL_MARGIN"]):
        w.withdraw(attacker, "USDC", want)


def test_usdc_vault_donation_pump_without_the_guard(world):
    """The guard off via its parameter (a rise of 100 %/day allowed, the rate a day old): the doubling is credited
    at once and the attacker takes 500k USDC beyond its headroom: the attack the guard stops."""
    w = world
    attacker, v, h0, rate0, want = _pump(w, ShareGuard(max_rise_per_day=1.0, max_drop=0.05))
    live, used, status = w.router.share_rate(v.uid)
    h1 = _headroom(w, attacker.account)
    print(f"\nguard off: yUSD credited {used / WAD:.4f} (live {live / WAD:.4f}); IM headroom {h0 / WAD:,.0f} -> "
          f"{h1 / WAD:,.0f} USD; withdrawing {want / 1e6:,.0f} USDC")
    assert used >= 2 * WAD - 10**15, "without the guard the pump is credited in full"
    assert h1 > h0 + 800_000 * WAD
    w.withdraw(attacker, "USDC", want)                              # goes through: cash freed by the pump
    assert w.tokens["USDC"].balanceOf(attacker.address) >= want
