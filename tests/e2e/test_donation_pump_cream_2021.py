"""Cream Finance, October 2021: the attacker donated to the yUSD vault so its price per share doubled in one
transaction, and borrowed against the doubled collateral value (130M lost). Here: vault shares (a staked-ETH-like
ERC-4626 of WETH) margin a long ETH perp plus USDC cash; in one block the attacker donates WETH to the vault so
`convertToAssets` doubles, then withdraws the USDC the doubled shares seem to free.

Defence (TECH_SPEC "ERC-4626 share feeds"): the OracleRouter credits the rate at most `max_rise_per_day` above
the last accepted rate (0.1 %/day), so a same-block donation adds nothing; it is credited only as it ages.
"""

from __future__ import annotations

import pytest

from crossmargin.chain.revm import RevmRevert
from crossmargin.fuzz.shares import deposit_shares, fresh, list_share_vault
from tests.e2e.helpers import E, WAD

DAY = 86_400


def _headroom(w, account) -> int:
    eq_im, eq_mm, im, mm, status = w.margin(account)
    return eq_im - im


def test_donation_pump_cream_2021(world):
    w = world
    maker, attacker = w.traders[0], w.traders[1]
    v = list_share_vault(w, "sETH", seed_assets=100 * WAD)           # others hold 100 WETH of shares
    deposit_shares(w, attacker, v, 900 * WAD)                        # the attacker: 900 sETH ~ 2.7M in margin
    w.deposit(attacker, "USDC", w.units("USDC", 1_000_000))
    w.trade(maker, attacker, "ETH-PERP", -4000 * WAD, 3000 * WAD)    # long 4,000 ETH: IM binds the cash
    h0 = _headroom(w, attacker.account)
    rate0 = w.router.share_rate(v.uid)

    # one block: donate 1,000 WETH (the vault's assets double), then withdraw against the doubled shares
    weth = w.tokens["WETH"]
    weth.mint(attacker.address, 1000 * WAD, sender=w.admin)
    weth.transfer(v.vault.address, 1000 * WAD, sender=attacker.address)
    live, used, _ = w.router.share_rate(v.uid)
    h1 = _headroom(w, attacker.account)
    want = h0 // 10**12 + 500_000 * 10**6                             # 500k USDC beyond the unpumped headroom
    print(f"\nrate {rate0[1] / WAD:.4f} -> live {live / WAD:.4f}, credited {used / WAD:.4f}; IM headroom "
          f"{h0 / WAD:,.0f} -> {h1 / WAD:,.0f} USD (crediting the live rate, before the fix: 2,571,960, "
          f"and this withdrawal went through); "
          f"the attacker asks for {want / 1e6:,.0f} USDC")
    assert live >= 2 * WAD - 10**15, "the donation doubled convertToAssets"
    assert used == rate0[1], "a same-block pump is not credited"
    assert h1 <= h0 + WAD
    with pytest.raises(RevmRevert, match=E["BELOW_INITIAL_MARGIN"]):
        w.withdraw(attacker, "USDC", want)

    # the pump is credited only as it ages: +0.1 %/day from the last accepted rate
    w.warp(DAY)
    fresh(w, v)
    live, used, _ = w.router.share_rate(v.uid)
    print(f"a day later: credited {used / WAD:.4f} (cap +0.1 %/day), live {live / WAD:.4f}")
    assert used == rate0[1] + rate0[1] * v.guard.max_rise_per_day_wad // WAD
    w.router.update_share_rate(v.uid, sender=maker.address)          # a keeper's poke: the headroom restarts at 0
    assert w.router.share_feed_of(v.uid)[6] == used
