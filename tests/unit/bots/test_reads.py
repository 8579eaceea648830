"""Reads without a node: which event fields name accounts (the index), the book's quote selection."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import event_abi_to_log_topic

from crossmargin.bots.band import BandConfig
from crossmargin.bots.book import Book, Quote
from crossmargin.bots.core import BotError, dev_key
from crossmargin.bots.reads import AccountIndex, event_shapes
from crossmargin.chain.artifacts import artifact
from crossmargin.chain.orders import Order, sign_order


def _event(name: str, contract: str) -> dict:
    return next(e for e in artifact(contract).abi if e.get("type") == "event" and e["name"] == name)


@pytest.mark.parametrize("contract,event,fields", [
    ("Vault", "Deposit", {"id"}),
    ("Vault", "CollateralMoved", {"from_id", "to_id"}),
    ("Clearinghouse", "Fill", {"maker", "taker"}),
    ("Clearinghouse", "PositionChanged", {"account"}),
    ("Liquidation", "Bid", {"account", "bidder_account"}),
    ("Liquidation", "AuctionStarted", {"account", "starter_account"}),
])
def test_index_reads_every_account_field(contract, event, fields):
    abi = _event(event, contract)
    shape = event_shapes([abi])[bytes(event_abi_to_log_topic(abi))]
    indexed = [i for i in abi["inputs"] if i.get("indexed")]
    data = [i for i in abi["inputs"] if not i.get("indexed")]
    named = {indexed[t - 1]["name"].lstrip("_") for t in shape.topics} | {data[d]["name"].lstrip("_") for d in shape.data}
    assert named == fields


def test_role_events_are_not_accounts():
    assert not any(s.name.startswith("Role") for s in event_shapes(artifact("Vault").abi).values())


def test_accounts_in_a_log():
    abi = _event("CollateralMoved", "Vault")
    index = AccountIndex.__new__(AccountIndex)
    index.shapes = event_shapes([abi])
    log = {"topics": [bytes(event_abi_to_log_topic(abi)), (5).to_bytes(32, "big"), (9).to_bytes(32, "big"),
                      bytes(12) + bytes.fromhex("11" * 20)],
           "data": encode(["uint256"], [10**18])}
    assert index.accounts_in(log) == [5, 9]


def _quote(account: int, instrument: int, is_buy: bool, price: int, expiry: int = 10**10) -> Quote:
    order = Order(account=account, instrument=instrument, is_buy=is_buy, size=10**18, limit_price=price, nonce=1,
                  expiry=expiry)
    return Quote(order, sign_order(dev_key(1).key, order, 31337, "0x" + "22" * 20), "0x" + f"{price:064x}")


def test_book_gives_a_taker_the_best_live_quotes(tmp_path):
    book = Book(tmp_path / "b.json")
    assert book.quotes(1, True, now=0) == []  # no file yet
    book.publish([_quote(3, 1, False, 3010), _quote(3, 1, False, 3005), _quote(3, 1, True, 2995),
                  _quote(3, 1, True, 2990), _quote(3, 2, False, 100), _quote(3, 1, False, 3000, expiry=50)],
                 {"maker_account": 3})
    assert [q.price for q in book.quotes(1, taker_buys=True, now=100)] == [3005, 3010]  # asks, cheapest first
    assert [q.price for q in book.quotes(1, taker_buys=False, now=100)] == [2995, 2990]  # bids, highest first
    assert book.quotes(1, taker_buys=True, now=0)[0].price == 3000  # not yet expired
    q = book.quotes(2, True, now=100)[0]
    assert Quote.from_json(q.as_json()) == q


def test_band_must_nest():
    BandConfig(target=1.6, low=1.3, high=2.2)
    for bad in ((1.6, 1.7, 2.2), (1.6, 1.3, 1.5), (1.2, 0.9, 2.0)):
        with pytest.raises(BotError):
            BandConfig(target=bad[0], low=bad[1], high=bad[2])


def test_health_rows_read_word_by_word_equal_eth_abi():
    """The Lens rows' fast reader gives eth-abi's values (signed equities included)."""
    import random

    from eth_abi import decode

    from crossmargin.bots.reads import HealthReader, _health_rows

    rng = random.Random(6)
    for n in (0, 1, 9):
        rows = [(rng.randrange(2**64), rng.randrange(-2**200, 2**200), rng.randrange(2**200),
                 rng.randrange(-2**255, 2**255), rng.randrange(2**200), rng.randrange(3), rng.random() < 0.5)
                for _ in range(n)]
        data = encode([HealthReader.HEALTH], [rows])
        got = [tuple(r[:6]) + (bool(r[6]),) for r in _health_rows(data)]
        assert got == [tuple(r) for r in decode([HealthReader.HEALTH], data)[0]]
    assert _health_rows(b"\x00" * 31) is None
