"""Position accounting: add, reduce (realised PnL to cash), flip, close, rounding against the account, MAX_POSITIONS."""

import boa

from .conftest import BIG_CAP, ETH_PRICE, WAD

START = 1_000_000 * WAD


def _value(ch, vault, acct):
    """cash - sum(cost): what a fill must move exactly by minus the signed notional (no fees here)."""
    return vault.cash_of(acct) - sum(p.cost for p in ch.positions_of(acct))


def test_add_accumulates_cost(ch, inst, trade, maker_acct, taker_acct):
    trade(maker_acct, taker_acct, inst.perp, 2 * WAD, 3000 * WAD)
    trade(maker_acct, taker_acct, inst.perp, 3 * WAD, 3100 * WAD)
    assert tuple(ch.position(maker_acct, inst.perp))[1:3] == (5 * WAD, 15_300 * WAD)
    assert tuple(ch.position(taker_acct, inst.perp))[1:3] == (-5 * WAD, -15_300 * WAD)


def test_reduce_realises_the_closed_fraction(ch, vault, inst, trade, maker_acct, taker_acct):
    trade(maker_acct, taker_acct, inst.perp, 10 * WAD, 3000 * WAD)
    trade(maker_acct, taker_acct, inst.perp, -4 * WAD, 3100 * WAD)  # maker sells 4 back at +100
    assert tuple(ch.position(maker_acct, inst.perp))[1:3] == (6 * WAD, 18_000 * WAD)
    assert tuple(ch.position(taker_acct, inst.perp))[1:3] == (-6 * WAD, -18_000 * WAD)
    assert vault.cash_of(maker_acct) == START + 400 * WAD
    assert vault.cash_of(taker_acct) == START - 400 * WAD
    assert ch.open_interest(inst.perp) == 6 * WAD


def test_flip_closes_then_opens(ch, vault, inst, trade, maker_acct, taker_acct, last_event):
    trade(maker_acct, taker_acct, inst.perp, 10 * WAD, 3000 * WAD)
    trade(maker_acct, taker_acct, inst.perp, -15 * WAD, 3100 * WAD)
    assert tuple(ch.position(maker_acct, inst.perp))[1:3] == (-5 * WAD, -15_500 * WAD)
    assert tuple(ch.position(taker_acct, inst.perp))[1:3] == (5 * WAD, 15_500 * WAD)
    assert vault.cash_of(maker_acct) == START + 1000 * WAD
    assert vault.cash_of(taker_acct) == START - 1000 * WAD
    assert ch.open_interest(inst.perp) == 5 * WAD  # the longs changed hands and shrank


def test_close_removes_the_position(ch, vault, inst, trade, maker_acct, taker_acct):
    trade(maker_acct, taker_acct, inst.future, -2 * WAD, 3000 * WAD)
    trade(maker_acct, taker_acct, inst.perp, 1 * WAD, 3000 * WAD)
    trade(maker_acct, taker_acct, inst.future, 2 * WAD, 2900 * WAD)  # short closed at a 200 gain
    assert [p.instrument for p in ch.positions_of(maker_acct)] == [inst.perp]  # swap-removed
    assert tuple(ch.position(maker_acct, inst.future)) == (0, 0, 0, 0)
    assert ch.open_interest(inst.future) == 0
    assert vault.cash_of(maker_acct) == START + 200 * WAD


def test_rounding_is_against_both_accounts(ch, vault, inst, trade, maker_acct, taker_acct, risk_manager, markets):
    with boa.env.prank(risk_manager):
        markets.set_price_band(5 * 10**17)  # allow fills at 1,000-2,000 around the 3,000 index
    trade(maker_acct, taker_acct, inst.perp, 1 * WAD, 2000 * WAD + 1)
    trade(maker_acct, taker_acct, inst.perp, 2 * WAD, 2000 * WAD)  # cost 6,000 + 1 wei over 3 units
    v_maker, v_taker = _value(ch, vault, maker_acct), _value(ch, vault, taker_acct)
    trade(maker_acct, taker_acct, inst.perp, -1 * WAD, 2000 * WAD)  # close a third
    # long: realised 2000 - ceil((6000e18 + 1) / 3) = -1 wei; short: -2000 - ceil(-(6000e18 + 1) / 3) = 0
    assert vault.cash_of(maker_acct) == START - 1
    assert vault.cash_of(taker_acct) == START
    assert ch.position(maker_acct, inst.perp).cost == 4000 * WAD
    assert ch.position(taker_acct, inst.perp).cost == -4000 * WAD - 1
    # value moved exactly by minus the signed notional on each side
    assert _value(ch, vault, maker_acct) - v_maker == 2000 * WAD
    assert _value(ch, vault, taker_acct) - v_taker == -2000 * WAD


def test_max_positions(ch, markets, admin, trade, maker_acct, taker_acct, errors):
    with boa.env.prank(admin):
        ids = [markets.list_perp(1, BIG_CAP, BIG_CAP) for _ in range(28)]
    all_ids = [1, 2, 5] + ids + [3]  # 32 instruments (calls and perps)
    for i in all_ids:
        trade(maker_acct, taker_acct, i, WAD, {3: 100 * WAD, 5: 60_000 * WAD}.get(i, ETH_PRICE))
    assert len(ch.positions_of(maker_acct)) == 32
    with boa.reverts(errors.TOO_MANY_POSITIONS):
        trade(maker_acct, taker_acct, 4, WAD, 100 * WAD)
    trade(maker_acct, taker_acct, ids[0], -WAD, ETH_PRICE)  # closing one frees a slot
    trade(maker_acct, taker_acct, 4, WAD, 100 * WAD)
    assert len(ch.positions_of(maker_acct)) == 32


def test_id_list_order_across_storage_words(ch, markets, admin, trade, maker_acct, taker_acct):
    """The packed id list (count + 15 ids in the first slot, 16 per slot after) keeps insertion order with
    swap-and-pop removal, exactly as a Python list would, across the slot boundaries."""
    with boa.env.prank(admin):
        ids = [markets.list_perp(1, BIG_CAP, BIG_CAP) for _ in range(20)]
    model: list[int] = []
    for i in ids:
        trade(maker_acct, taker_acct, i, WAD, ETH_PRICE)
        model.append(i)
    assert [p.instrument for p in ch.positions_of(maker_acct)] == model
    for k in (3, 15, 0, -1, 14):                                    # first slot, boundary, head, tail
        k %= len(model)
        gone = model[k]
        trade(maker_acct, taker_acct, gone, -WAD, ETH_PRICE)
        model[k] = model[-1]
        model.pop()
        assert [p.instrument for p in ch.positions_of(maker_acct)] == model
        assert [p.instrument for p in ch.positions_of(taker_acct)] == model
        assert all(p.size == WAD for p in ch.positions_of(maker_acct))
    trade(maker_acct, taker_acct, ids[3], 2 * WAD, ETH_PRICE)       # re-opened: appended at the end
    assert [p.instrument for p in ch.positions_of(maker_acct)][-1] == ids[3]
