"""An account with an open Liquidation auction changes its positions only through the auction: once the
Clearinghouse knows the Liquidation contract (`set_liquidation`), a fill with such an account on either side
reverts "account in auction"; the liquidator's `transfer_portfolio` and `settle_account` still work. The
Liquidation contract is a stand-in with the real `auction(account)` view layout (`contracts/mocks/MockAuctions.vy`)."""

from pathlib import Path

import boa
import pytest

from .conftest import ETH_PRICE, WAD

ZERO = "0x" + "00" * 20
LIQUIDATOR = boa.env.generate_address("liquidator")

AUCTIONS = Path(__file__).resolve().parents[3] / "contracts" / "mocks" / "MockAuctions.vy"   # the real layout


@pytest.fixture
def auctions(ch, admin):
    """A Liquidation stand-in, wired; also the liquidator role for `transfer_portfolio`."""
    contract = boa.load_partial(str(AUCTIONS)).deploy()
    with boa.env.prank(admin):
        ch.set_liquidation(contract.address)
        ch.grantRole(ch.LIQUIDATOR_ROLE(), LIQUIDATOR)
    return contract


def test_setter_is_admin_only_and_keeps_the_fee_bound(ch, admin, alice, errors, last_event):
    """The address shares a storage word with the fee bound: setting either keeps the other."""
    assert ch.liquidation() == ZERO
    new = boa.env.generate_address("liquidation")
    with boa.env.prank(alice), boa.reverts(errors.MISSING_ROLE):
        ch.set_liquidation(new)
    with boa.env.prank(admin):
        with boa.reverts(errors.EMPTY_ADDRESS):
            ch.set_liquidation(ZERO)
        ch.set_max_fee_rate(10**17)
        ch.set_liquidation(new)
        assert last_event(ch, "LiquidationSet").liquidation == new
        assert (ch.liquidation(), ch.max_fee_rate()) == (new, 10**17)
        ch.set_max_fee_rate(7)
    assert (ch.liquidation(), ch.max_fee_rate()) == (new, 7)


def test_fee_bound_still_binds_orders_when_wired(auctions, ch, admin, inst, make_order, fill, errors):
    with boa.env.prank(admin):
        ch.set_max_fee_rate(10**15)
    with boa.reverts(errors.FEE_TOO_HIGH):
        fill(make_order(fee_rate=10**15 + 1), size=WAD)
    fill(make_order(fee_rate=10**15), size=WAD)


@pytest.mark.parametrize("side", ["maker", "taker"])
def test_fill_of_an_account_in_auction_reverts(auctions, ch, inst, trade, maker_acct, taker_acct, side, errors):
    trade(maker_acct, taker_acct, inst.perp, 5 * WAD, ETH_PRICE)
    auctions.set_active(maker_acct if side == "maker" else taker_acct, True)
    for size in (-2 * WAD, 2 * WAD, -5 * WAD):  # reducing, adding, closing: none goes through
        with boa.reverts(errors.ACCOUNT_IN_AUCTION):
            trade(maker_acct, taker_acct, inst.perp, size, ETH_PRICE)
    auctions.set_active(maker_acct if side == "maker" else taker_acct, False)  # the auction closed
    trade(maker_acct, taker_acct, inst.perp, -2 * WAD, ETH_PRICE)
    assert ch.position(maker_acct, inst.perp).size == 3 * WAD


def test_no_check_until_wired(ch, inst, trade, maker_acct, taker_acct):
    """Before `set_liquidation` (deploy order: Liquidation needs this contract's address) fills are unchecked."""
    trade(maker_acct, taker_acct, inst.perp, 5 * WAD, ETH_PRICE)
    assert ch.position(taker_acct, inst.perp).size == -5 * WAD


def test_the_auction_itself_still_moves_the_book(auctions, ch, inst, trade, maker_acct, taker_acct, new_account,
                                                 keys):
    trade(maker_acct, taker_acct, inst.perp, 5 * WAD, ETH_PRICE)
    auctions.set_active(maker_acct, True)
    bidder = new_account(keys.stranger)
    ch.settle_account(maker_acct)
    with boa.env.prank(LIQUIDATOR):
        ch.transfer_portfolio(maker_acct, bidder, WAD // 2)
    assert ch.position(bidder, inst.perp).size == 5 * WAD // 2
