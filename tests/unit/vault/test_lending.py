"""Vault lending: negative settlement cash is a loan (TECH_SPEC Vault "lending").

Named property: interest owed = interest earned + fund share (DESIGN §5), exactly per accrual, with the views
(`cash_of`, totals) equal to what the next write stores, and rounding against the account."""

from pathlib import Path

import boa
import pytest

WAD = 10**18
RAY = 10**27
YEAR = 365 * 86400
DAY = 86400
USDC = 10**12        # WAD per USDC unit

# base, slope1, slope2, kink, reserve factor, withdraw cap, hard cap, target, grace, discount
DEFAULT = (2 * WAD // 100, WAD // 10, 3 * WAD, 8 * WAD // 10, WAD // 10, 9 * WAD // 10, 9 * WAD // 10,
           8 * WAD // 10, 3 * DAY, 2 * WAD // 100)


def rate(u: int, p=DEFAULT) -> int:
    base, s1, s2, kink = p[:4]
    return base + s1 * u // kink if u <= kink else base + s1 + s2 * (u - kink) // (WAD - kink)


def div_up(x: int, y: int) -> int:
    return -(-x // y)


@pytest.fixture
def lending(vault, admin, roles):
    with boa.env.prank(admin):
        vault.grantRole(roles.RISK_MANAGER, admin)
        vault.set_lending_params(DEFAULT)
    return vault


@pytest.fixture
def peer(lending, admin, weth):
    """Price source and margin view of deleveraging (WETH = underlying 1 at 100)."""
    p = boa.load(str(Path(__file__).with_name("MockLendingPeer.vy")))
    p.set_price(1, 100 * WAD, 0)
    with boa.env.prank(admin):
        lending.set_price_oracle(p.address)
        lending.set_margin_checker(p.address)
    return p


@pytest.fixture
def book(lending, clearing, open_account, deposit, usdc, alice, bob):
    """Alice deposits 1,000 USDC (account a); Bob's account c owes 600 to his account b: P = 1,600, D = 600."""
    a, b, c = open_account(alice), open_account(bob), open_account(bob)
    deposit(alice, a, usdc, 1000 * 10**6)
    with boa.env.prank(clearing):
        lending.adjust_cash(c, -600 * WAD)
        lending.adjust_cash(b, 600 * WAD)
    return a, b, c


def test_params_role_bounds_and_round_trip(vault, admin, alice, roles, errors):
    with boa.reverts(errors.MISSING_ROLE), boa.env.prank(alice):
        vault.set_lending_params(DEFAULT)
    with boa.env.prank(admin):
        vault.grantRole(roles.RISK_MANAGER, admin)
        bad = [
            (0, 10**18 + 1), (1, 2 * WAD + 1), (2, 10 * WAD + 1), (3, WAD // 10 - 1), (3, 99 * WAD // 100 + 1),
            (4, WAD // 2 + 1), (5, WAD // 2 - 1), (5, WAD + 1), (6, 95 * WAD // 100), (7, 9 * WAD // 10),
            (7, 3 * WAD // 10 - 1), (8, 3599), (8, 30 * DAY + 1), (9, WAD // 10 + 1),
        ]
        for i, v in bad:
            p = list(DEFAULT)
            p[i] = v
            with boa.reverts(errors.BAD_LENDING_PARAMS):
                vault.set_lending_params(tuple(p))
        vault.set_lending_params(DEFAULT)
    assert tuple(vault.lending_params()) == DEFAULT


def test_disabled_until_set(vault, clearing, open_account, alice):
    """Before the risk manager sets the curve: no interest, no cap (the deployed defaults)."""
    a, c = open_account(alice), open_account(alice)
    with boa.env.prank(clearing):
        vault.adjust_cash(c, -600 * WAD)
        vault.adjust_cash(a, 600 * WAD)
    boa.env.time_travel(seconds=YEAR)
    assert vault.cash_of(c) == -600 * WAD and vault.borrow_rate() == 0


def test_interest_owed_equals_interest_earned_plus_fund_share(lending, book, clearing, last_event):
    a, b, c = book
    u = div_up(600 * WAD * WAD, 1600 * WAD)
    assert lending.utilisation() == u and lending.borrow_rate() == rate(u)
    boa.env.time_travel(seconds=30 * DAY)
    # the views already count the accrual ...
    step = div_up(RAY * rate(u) * 30 * DAY, YEAR * WAD)
    owed = 600 * WAD * step // RAY
    view = {x: lending.cash_of(x) for x in (a, b, c, 1)}
    assert view[c] == -div_up(600 * WAD * (RAY + step), RAY)
    supplier = owed * 9 // 10
    growth = supplier * RAY // (1600 * WAD)
    earned = div_up(1600 * WAD * growth, RAY)
    assert view[a] == 1000 * WAD * (RAY + growth) // RAY
    debt_before = 600 * WAD
    # ... and the write stores exactly that
    lending.accrue()
    log = last_event(lending, "InterestAccrued")
    assert (log.owed, log.earned, log.fund) == (owed, earned, owed - earned)
    assert log.owed == log.earned + log.fund, "interest owed = interest earned + fund share"
    assert log.fund >= owed // 10
    assert {x: lending.cash_of(x) for x in (a, b, c, 1)} == view
    assert lending.total_debt() - debt_before in (owed, owed + 1)
    assert view[1] in (log.fund, log.fund - 1), "the fund's share, credited as scaled cash rounded down"
    # positive cash never grows by more than the debt did
    assert view[a] + view[b] + view[1] - 1600 * WAD <= -view[c] - debt_before


def test_views_equal_writes_over_a_sequence(lending, book, clearing, open_account, carol):
    """Borrow, repay, socialise and warp in turn: after each step the pending views equal the stored state."""
    a, b, c = book
    d = open_account(carol)
    accounts = (a, b, c, d, 1)
    steps = [(c, -100 * WAD), (d, 50 * WAD), (c, 30 * WAD), (b, -700 * WAD), (c, 10**6), (d, -80 * WAD)]
    for k, (who, delta) in enumerate(steps):
        boa.env.time_travel(seconds=(k + 1) * 3 * DAY + 7)
        view = [lending.cash_of(x) for x in accounts]
        totals = (lending.total_debt(), lending.total_positive_cash(), lending.utilisation())
        lending.accrue()
        assert [lending.cash_of(x) for x in accounts] == view
        assert (lending.total_debt(), lending.total_positive_cash(), lending.utilisation()) == totals
        with boa.env.prank(clearing):
            after = lending.adjust_cash(who, delta)
        assert after == lending.cash_of(who)
        if k == 3:
            with boa.env.prank(clearing):
                lending.socialize_loss(10 * WAD)
        debts = -sum(min(lending.cash_of(x), 0) for x in accounts)
        assert lending.total_debt() <= debts <= lending.total_debt() + len(accounts), "each debt rounds up"
        assert sum(max(lending.cash_of(x), 0) for x in accounts) <= lending.total_positive_cash()


def test_borrower_pays_the_rounding(lending, book, clearing):
    """A partial repayment burns scaled debt rounded down, a new debt is scaled rounded up."""
    a, b, c = book
    boa.env.time_travel(seconds=DAY)
    before = lending.cash_of(c)
    with boa.env.prank(clearing):
        lending.adjust_cash(c, 1)
    assert lending.cash_of(c) >= before
    assert lending.cash_of(c) <= before + 1


def test_withdraw_above_the_utilisation_cap_reverts(lending, book, usdc, alice, bob, errors):
    a, b, c = book
    # D = 600 <= 0.9 (1,600 - x)  <=>  x <= 933.33
    cash, held = lending.cash_of(a), usdc.balanceOf(lending.address)
    with boa.reverts(errors.UTILISATION_CAP), boa.env.prank(alice):
        lending.withdraw(a, usdc.address, 934 * 10**6, alice)
    assert (lending.cash_of(a), usdc.balanceOf(lending.address)) == (cash, held)
    with boa.env.prank(alice):
        lending.withdraw(a, usdc.address, 933 * 10**6, alice)
    assert lending.utilisation() <= 9 * WAD // 10
    with boa.reverts(errors.UTILISATION_CAP), boa.env.prank(bob):
        lending.withdraw(b, usdc.address, 10**6, bob)


def _over_the_cap(lending, book, alice, usdc, deposit, weth, peer, bob, clearing):
    """Bob's borrowing account holds 10 WETH; Alice withdraws to the cap, Bob borrows 20 more: U = 620 / 687
    is over the hard cap and the clock starts."""
    a, b, c = book
    deposit(bob, c, weth, 10 * WAD)
    peer.set_margin(c, 100 * WAD, 50 * WAD, 0)
    with boa.env.prank(alice):
        lending.withdraw(a, usdc.address, 933 * 10**6, alice)
    assert lending.deleverage_state() == (0, False)
    with boa.env.prank(clearing):
        lending.adjust_cash(c, -20 * WAD)
        lending.adjust_cash(b, 20 * WAD)
    since, is_open = lending.deleverage_state()
    assert since == boa.env.evm.patch.timestamp and not is_open
    return a, b, c


def test_deleverage_opens_after_the_grace_and_repays_the_pro_rata_share(
        lending, book, alice, bob, carol, clearing, usdc, weth, deposit, peer, fund, errors, last_event):
    a, b, c = _over_the_cap(lending, book, alice, usdc, deposit, weth, peer, bob, clearing)
    fund(usdc, carol, 10**12, lending)
    with boa.reverts(errors.DELEVERAGE_CLOSED), boa.env.prank(carol):
        lending.deleverage(c, weth.address, WAD, 10**12, carol)
    boa.env.time_travel(seconds=3 * DAY)
    assert lending.deleverage_state()[1]
    limit = lending.deleverage_limit(c)
    debt, positive = lending.total_debt(), lending.total_positive_cash()
    assert limit == -lending.cash_of(c) * (debt - positive * 8 // 10) // debt
    with boa.reverts(errors.DELEVERAGE_LIMIT), boa.env.prank(carol):       # 5 WETH = 490 > the share
        lending.deleverage(c, weth.address, 5 * WAD, 10**12, carol)
    amount = limit * WAD // (98 * WAD) // 10**15 * 10**15                # the share, in 0.001 WETH
    pay = div_up(amount * 100 * 98 // 100, USDC)
    with boa.reverts(errors.PRICE_ABOVE_MAX), boa.env.prank(carol):
        lending.deleverage(c, weth.address, amount, pay - 1, carol)
    peer.set_margin(c, 49 * WAD, 50 * WAD, 0)
    with boa.reverts(errors.BELOW_MAINTENANCE_MARGIN), boa.env.prank(carol):
        lending.deleverage(c, weth.address, amount, pay, carol)
    peer.set_margin(c, 100 * WAD, 50 * WAD, 0)
    peer.set_price(1, 100 * WAD, 2)
    with boa.reverts(errors.BAD_PRICE), boa.env.prank(carol):
        lending.deleverage(c, weth.address, amount, pay, carol)
    peer.set_price(1, 100 * WAD, 0)

    cash, held = lending.cash_of(c), usdc.balanceOf(lending.address)
    liquidity = lending.asset_info(usdc.address)[3]
    with boa.env.prank(carol):
        paid = lending.deleverage(c, weth.address, amount, pay, carol)
    assert paid == pay
    log = last_event(lending, "Deleveraged")
    assert (log.id, log.amount, log.paid) == (c, amount, pay)
    assert lending.cash_of(c) == cash + pay * USDC
    assert usdc.balanceOf(lending.address) == held + pay and lending.asset_info(usdc.address)[3] == liquidity + pay * USDC
    assert weth.balanceOf(carol) == amount and lending.balance_of(c, weth.address) == 10 * WAD - amount
    assert lending.utilisation() < 805 * WAD // 1000, "down to (about) the target"


def test_deleverage_guards(lending, book, alice, bob, carol, clearing, usdc, weth, deposit, peer, fund, guardian, errors):
    a, b, c = _over_the_cap(lending, book, alice, usdc, deposit, weth, peer, bob, clearing)
    fund(usdc, carol, 10**12, lending)
    boa.env.time_travel(seconds=3 * DAY)
    with boa.env.prank(carol):
        with boa.reverts(errors.RESERVED_ACCOUNT):
            lending.deleverage(1, weth.address, WAD, 10**12, carol)
        with boa.reverts(errors.NOT_COLLATERAL):
            lending.deleverage(c, usdc.address, 10**6, 10**12, carol)
        with boa.reverts(errors.NO_DEBT):
            lending.deleverage(a, weth.address, WAD, 10**12, carol)
        with boa.reverts(errors.INSUFFICIENT_BALANCE):
            lending.deleverage(c, weth.address, 11 * WAD, 10**12, carol)
    with boa.env.prank(guardian):
        lending.pause()
    with boa.reverts(errors.PAUSED), boa.env.prank(carol):
        lending.deleverage(c, weth.address, WAD // 100, 10**12, carol)


def test_clock_stops_below_the_target(lending, book, bob, alice, clearing, usdc, weth, deposit, peer):
    a, b, c = _over_the_cap(lending, book, alice, usdc, deposit, weth, peer, bob, clearing)
    deposit(alice, a, usdc, 1000 * 10**6)                               # fresh liquidity: U ~ 0.36
    assert lending.deleverage_state() == (0, False)
