"""Free cash borrowing (issue 10 §2): settlement cash may go negative against collateral, so an account holding
only WETH can hand cash to a sibling account through two fills at the ±10 % band edges (sell 2,000 ETH at 2,700,
buy them back at 3,300: 1.2M USD moves) and the sibling withdraws the Vault's USDC. Before the fix the loan paid
no interest and had no limit: the sibling took all 1.6M USDC, and an honest 1M depositor and the insurance fund
got "insufficient liquidity", still 30 days later.

Here negative cash is a loan (TECH_SPEC Vault "lending"):
- it pays the kinked utilisation rate (160 %/year at the 90 % cap), accrued lazily through the borrow index; the
  sibling's own cash earns only its share, the insurance fund 10 %;
- a withdrawal that would leave utilisation above the 90 % cap reverts "utilisation cap";
- at or above the 90 % hard cap for 3 days, anyone may buy the borrowers' collateral 2 % below the oracle price
  for USDC paid into the Vault (their pro-rata share of the debt above 80 % utilisation per call): liquidity
  comes back without the attacker's goodwill and the honest depositor gets its 1M out.
The attacker's figures: interest paid and discount given up versus what the loan would earn elsewhere.
"""

from __future__ import annotations

import pytest

from crossmargin.chain.revm import RevmRevert
from crossmargin.fuzz.world import World
from tests.e2e.helpers import E, WAD, price, usd

DAY = 86_400
EXTERNAL_RATE = 0.10   # what the attacker could earn elsewhere on the borrowed dollars, per year (generous)


@pytest.fixture
def world() -> World:
    """A small Vault: the insurance fund's 100k (the test adds an honest 1M and the attacker's 1,000 WETH and
    500k USDC); traders: 0 unused, 1 honest, 2 and 3 the attacker's two accounts, 4 a keeper."""
    w = World.revm(n_traders=5)
    w.seed_insurance_fund(100_000)
    return w


def _fresh(w: World, seconds: int) -> None:
    """Time passes; the oracle and vol feeds keep publishing."""
    w.warp(seconds)
    w.refresh()
    for u in w.params.onchain()["underlyings"]:
        w.set_vol(u["symbol"], u["vol"])


def _max_withdrawal(w: World) -> int:
    """USDC units a positive-cash holder may take now: the utilisation cap (D <= cap·(P - x)) and the tokens."""
    cap = w.vault.lending_params()[5]
    debt, positive = w.vault.total_debt(), w.vault.total_positive_cash()
    room = positive - -(-debt * WAD // cap) - 10**12          # 1 unit below the exact edge (rounding)
    liquidity = w.vault.asset_info(w.tokens["USDC"].address)[3]
    return max(0, min(room, liquidity)) // 10**12


def test_free_cash_borrowing(world):
    w = world
    maker, honest, a, b, keeper = w.traders
    usdc = w.tokens["USDC"]
    w.deposit(honest, "USDC", usd(w, 1_000_000))
    w.deposit(a, "WETH", w.units("WETH", 1000))
    w.deposit(b, "USDC", usd(w, 500_000))
    eth = price(w, "ETH")

    # the two fills at the band edges: A sells 2,000 ETH to B at -10 %, buys them back at +10 %
    w.trade(b, a, "ETH-PERP", 2000 * WAD, eth * 9 // 10)
    w.trade(b, a, "ETH-PERP", -2000 * WAD, eth * 11 // 10)
    assert w.vault.cash_of(a.account) == -1_200_000 * WAD
    assert w.vault.cash_of(b.account) == 1_700_000 * WAD

    # 1. B cannot take all the Vault's USDC: the withdrawal cap
    vault_usdc = usdc.balanceOf(w.vault.address)
    assert vault_usdc == usd(w, 1_600_000)
    with pytest.raises(RevmRevert, match=E["UTILISATION_CAP"]):
        w.withdraw(b, "USDC", vault_usdc)
    print(f"\nA borrows 1.2M against 1,000 WETH; utilisation {w.vault.utilisation() / WAD:.3f}, "
          f"borrow rate {w.vault.borrow_rate() / WAD:.1%}/year")
    taken = _max_withdrawal(w)
    w.withdraw(b, "USDC", taken)
    print(f"B withdraws {taken / 1e6:,.0f} of {vault_usdc / 1e6:,.0f} USDC (all of it before the fix); "
          f"utilisation {w.vault.utilisation() / WAD:.4f}, rate {w.vault.borrow_rate() / WAD:.1%}/year")
    assert taken < vault_usdc
    with pytest.raises(RevmRevert):                                 # frozen for now: the cap, then liquidity
        w.withdraw(honest, "USDC", usd(w, 1_000_000))

    # 2. the loan pays interest; a keeper's accrue() starts the deleveraging clock (interest pushed U past 90 %)
    cash_a, cash_b, fund = (w.vault.cash_of(x) for x in (a.account, b.account, 1))
    _fresh(w, 3600)
    w.vault.accrue(sender=keeper.address)
    since, is_open = w.vault.deleverage_state()
    assert since == w.now and not is_open
    grace = w.vault.lending_params()[8]
    _fresh(w, grace)
    w.vault.accrue(sender=keeper.address)
    assert w.vault.deleverage_state()[1], "open after the grace"
    paid = cash_a - w.vault.cash_of(a.account)
    earned_b = w.vault.cash_of(b.account) - cash_b
    fund_share = w.vault.cash_of(1) - fund
    assert paid > 0 and earned_b > 0 and fund_share > 0
    print(f"over {(grace + 3600) / DAY:.2f} days A pays {paid / WAD:,.0f} of interest, B earns {earned_b / WAD:,.0f}, "
          f"the insurance fund {fund_share / WAD:,.0f}")

    # 3. deleveraging: the keeper buys A's WETH 2 % below the oracle for USDC paid in; the honest depositor
    #    withdraws what the cap allows after each purchase, until its 1M is out
    weth, discount = w.tokens["WETH"], w.vault.lending_params()[9]
    eth = price(w, "ETH")
    bought = given_up = 0
    out, rounds = 0, 0
    while out < usd(w, 1_000_000):
        rounds += 1
        assert rounds <= 40, "liquidity comes back in a bounded number of keeper calls"
        limit = w.vault.deleverage_limit(a.account)
        amount = (limit * WAD // (eth * (WAD - discount) // WAD)) // 10**12 * 10**12 * 999 // 1000
        if amount > 0:
            pay_max = usd(w, 10_000_000)
            usdc.mint(keeper.address, pay_max, sender=w.admin)
            usdc.approve(w.vault.address, pay_max, sender=keeper.address)
            before = usdc.balanceOf(keeper.address)
            h_before = w.margin(a.account)
            w.vault.deleverage(a.account, weth.address, amount, pay_max, keeper.address, sender=keeper.address)
            pay = before - usdc.balanceOf(keeper.address)
            bought += amount
            given_up += amount * eth // WAD - pay * 10**12
            eq_im, eq_mm, im, mm, status = w.margin(a.account)
            assert eq_mm >= mm and eq_mm >= h_before[1], "A's MM equity did not fall: the discount < MM haircut"
        x = min(_max_withdrawal(w), usd(w, 1_000_000) - out)
        if x > 0:
            w.withdraw(honest, "USDC", x)
            out += x
    print(f"the honest 1M is out after {rounds} keeper purchases of A's WETH ({bought / WAD:,.1f} WETH, "
          f"A gives up {given_up / WAD:,.0f} of discount), {(grace + 3600) / DAY:.2f} days after the attack; "
          f"utilisation {w.vault.utilisation() / WAD:.3f}")
    assert out == usd(w, 1_000_000) and usdc.balanceOf(honest.address) == out, "the honest 1M is out"
    print(f"the honest depositor keeps {w.vault.cash_of(honest.account) / WAD:,.0f} of interest earned meanwhile")
    fund_out = min(_max_withdrawal(w), w.vault.cash_of(1) // 10**12)
    w.vault.withdraw(1, usdc.address, fund_out, w.admin, sender=w.admin)
    print(f"the insurance fund withdraws {fund_out / 1e6:,.0f} USDC")

    # 4. the attack's cost vs its gain
    cost = paid - earned_b + given_up
    gain = int(EXTERNAL_RATE * (grace + 3600) / (365 * DAY) * 1_200_000) * WAD
    print(f"attacker: interest paid {paid / WAD:,.0f} - earned {earned_b / WAD:,.0f} + discount {given_up / WAD:,.0f}"
          f" = cost {cost / WAD:,.0f} > gain {gain / WAD:,.0f} (1.2M at {EXTERNAL_RATE:.0%}/year elsewhere); "
          f"before the fix: cost 0, and 1.1M of others' USDC frozen")
    assert cost > gain
