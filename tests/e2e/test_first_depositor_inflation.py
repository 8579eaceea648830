"""First-depositor inflation on a fresh ERC-4626 vault used as collateral (the 2022-23 wave of empty-vault and
empty-market exploits: Hundred Finance, Sonne, Wise Lending). The vault is listed while empty (rate 1: no
virtual-share offset). The attacker mints 1 wei of shares, donates 1,000 WETH: one share token now converts to
~5e20 WETH, the next depositor's 100 WETH round to 0 shares, and the attacker's 1-wei share, posted as margin,
is worth ~1.5M USD by `convertToAssets`; he withdraws USDC against it.

Defence (TECH_SPEC "ERC-4626 share feeds"): the rate credited may rise at most 0.1 %/day from the rate accepted
at listing, so the inflated share is worth 1 wei of WETH to the margin engine.
"""

from __future__ import annotations

import pytest

from crossmargin.chain.revm import RevmRevert
from crossmargin.fuzz.shares import deposit_shares, list_share_vault
from tests.e2e.helpers import E, WAD


def test_first_depositor_inflation(world):
    w = world
    maker, attacker, victim = w.traders[0], w.traders[1], w.traders[2]
    v = list_share_vault(w, "sETH")                                  # fresh: no deposits, rate 1
    assert v.vault.totalSupply() == 0 and w.router.share_rate(v.uid)[1] == WAD
    deposit_shares(w, attacker, v, 1)                                # 1 wei of shares, into margin
    weth = w.tokens["WETH"]
    weth.mint(attacker.address, 1000 * WAD, sender=w.admin)
    weth.transfer(v.vault.address, 1000 * WAD, sender=attacker.address)
    got = deposit_shares(w, victim, v, 100 * WAD, into_margin=False)
    live, used, status = w.router.share_rate(v.uid)
    eq_im, eq_mm, im, mm, _ = w.margin(attacker.account)
    naive = 1 * w.router.price(v.uid)[0] * live // max(used, 1) // WAD
    print(f"\nvictim's 100 WETH -> {got} shares; live rate {live / WAD:.3e} WETH per share token, credited "
          f"{used / WAD:.4f}; the attacker's 1-wei share counts {eq_im / WAD:,.6f} USD (IM), "
          f"{naive / WAD:,.0f} USD by convertToAssets")
    assert got == 0, "the inflation worked on the vault itself"
    assert live > 10**20 * WAD // WAD and used == WAD, "the inflated rate is not credited"
    assert eq_im < WAD, "the 1-wei share is worth less than 1 USD of margin"

    # the attacker tries to take USDC against it through a fill: a long ETH perp needing ~1M of IM
    with pytest.raises(RevmRevert, match=E["BELOW_INITIAL_MARGIN"]):
        w.trade(maker, attacker, "ETH-PERP", -100 * WAD, 3000 * WAD)


def test_inflation_front_running_the_listing(world):
    """The listing is queued on the Timelock in public: the attacker inflates the fresh vault just before it
    executes, hoping the inflated rate becomes the accepted one. `set_share_feed` accepts at most `_max_rate`
    (the rate when the listing was queued, +1 %)."""
    w = world
    attacker = w.traders[1]
    weth = w.tokens["WETH"]

    def inflate(vault):
        weth.mint(attacker.address, 1000 * WAD + 1, sender=w.admin)
        weth.approve(vault.address, 1, sender=attacker.address)
        vault.deposit(1, attacker.address, sender=attacker.address)
        weth.transfer(vault.address, 1000 * WAD, sender=attacker.address)

    v = list_share_vault(w, "sETH", before_execute=inflate)
    live, used, _ = w.router.share_rate(v.uid)
    print(f"\ninflated before the listing executed: live {live / WAD:.3e}, accepted {used / WAD:.4f} "
          f"(without _max_rate: {live / WAD:.3e})")
    assert live > 10**20 * WAD // WAD and used == WAD * 101 // 100
