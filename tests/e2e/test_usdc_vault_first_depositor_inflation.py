"""First-depositor inflation on a fresh yield-bearing USDC vault (a 6-decimal ERC-4626 without a decimals offset:
the classic target of the 2022-23 empty-vault exploits) used as unit collateral. The attacker mints one share unit
(1e-6 yUSD), donates 1M USDC: one share unit now converts to ~1M USDC, the next depositor's 100k USDC round to 0
shares, and the attacker's single share unit, posted as margin, is worth ~1M USD by `convertToAssets`; he tries to
open a perp against it.

Defence: the share path's guard (TECH_SPEC "ERC-4626 share feeds", "Yield-bearing USDC vaults"): the rate credited
rises at most 0.1 %/day from the rate accepted at listing, so the inflated unit is worth 1e-6 USD to the engine.
Before the USDC vault could be priced at all, the listing reverted ("unknown underlying").
"""

from __future__ import annotations

import pytest

from crossmargin.chain.revm import RevmRevert
from crossmargin.fuzz.shares import deposit_shares, list_share_vault
from crossmargin.model.params import to_wad
from tests.e2e.helpers import E, WAD, usd

HAIRCUTS = tuple(to_wad(x) for x in (0.02, 0.04, 0.05, 50_000_000))


def test_usdc_vault_first_depositor_inflation(world):
    w = world
    maker, attacker, victim = w.traders[0], w.traders[1], w.traders[2]
    v = list_share_vault(w, "yUSD", asset="USDC", uid=11, haircuts=HAIRCUTS)   # fresh: no deposits, rate 1
    assert v.vault.totalSupply() == 0 and w.router.share_rate(v.uid)[1] == WAD
    deposit_shares(w, attacker, v, 1)                                 # one share unit (1e-6 yUSD), into margin
    usdc = w.tokens["USDC"]
    usdc.mint(attacker.address, usd(w, 1_000_000), sender=w.admin)
    usdc.transfer(v.vault.address, usd(w, 1_000_000), sender=attacker.address)
    got = deposit_shares(w, victim, v, usd(w, 100_000), into_margin=False)
    live, used, status = w.router.share_rate(v.uid)
    eq_im, eq_mm, im, mm, _ = w.margin(attacker.account)
    print(f"\nvictim's 100,000 USDC -> {got} shares; live rate {live / WAD:.3e} USDC per yUSD, credited "
          f"{used / WAD:.4f}; the attacker's share unit counts {eq_im / WAD:,.6f} USD (IM), "
          f"{live / 10**6 / WAD:,.0f} USD by convertToAssets")
    assert got == 0, "the inflation worked on the vault itself"
    assert live > 10**11 * WAD and used == WAD, "the inflated rate is not credited"
    assert eq_im < WAD // 10**5, "the share unit is worth ~1e-6 USD of margin"

    # the attacker tries to use it: a long ETH perp needing ~100k of IM
    with pytest.raises(RevmRevert, match=E["BELOW_INITIAL_MARGIN"]):
        w.trade(maker, attacker, "ETH-PERP", -100 * WAD, 3000 * WAD)
