"""The market maker's quotes, shared with the other bots through a file, and the taker side that fills them.

The maker (`crossmargin agent maker`) signs EIP-712 orders and writes them to one JSON file per chain
(`<cache>/book/<chain_id>.json`, written atomically); the keeper, the band agent and the hedger read it and fill
what they need on chain with `Clearinghouse.fill` (taker = their own account). Off-chain order relay is what
signed orders are for: nothing here is trusted, the Clearinghouse checks signature, expiry, nonce and size.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from crossmargin.bots.core import Sender, Skipped, guard
from crossmargin.chain.orders import Order
from crossmargin.paths import cache_dir

WAD = 10**18


def default_book_path(chain_id: int) -> Path:
    return cache_dir() / "book" / f"{chain_id}.json"


@dataclass(frozen=True)
class Quote:
    """One signed maker order. `side` is the maker's: a taker who wants to buy takes an `ask` (maker sells)."""

    order: Order
    signature: bytes
    hash: str

    @property
    def is_ask(self) -> bool:
        return not self.order.is_buy

    @property
    def price(self) -> int:
        return self.order.limit_price

    def as_json(self) -> dict:
        return {"order": self.order.as_dict(), "signature": "0x" + self.signature.hex(), "hash": self.hash}

    @classmethod
    def from_json(cls, data: dict) -> "Quote":
        return cls(Order(**data["order"]), bytes.fromhex(data["signature"].removeprefix("0x")), data["hash"])


class Book:
    """The quotes file: `publish` (maker) and `quotes` (takers)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def publish(self, quotes: list[Quote], meta: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({**meta, "quotes": [q.as_json() for q in quotes]}))
        tmp.replace(self.path)  # readers never see half a book

    def read(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {"quotes": []}

    def quotes(self, instrument: int, taker_buys: bool, now: int) -> list[Quote]:
        """Live quotes a taker can hit on `instrument`, best price first (asks for a buyer, bids for a seller)."""
        out = []
        for q in self.read().get("quotes", []):
            try:
                quote = Quote.from_json(q)
            except (KeyError, TypeError, ValueError):
                continue
            if quote.order.instrument == instrument and quote.is_ask == taker_buys and quote.order.expiry > now + 2:
                out.append(quote)
        out.sort(key=lambda q: q.price if taker_buys else -q.price)
        return out


class Taker:
    """Fills maker quotes for one account: `take(instrument, size)` buys `size` (sells if negative) WAD units
    from the book, within `max_slippage` of the oracle price, without overfilling an order or sending a fill
    that is still pending."""

    def __init__(self, dep, sender: Sender, book: Book, account_id: int, max_slippage: float = 0.01):
        self.dep, self.sender, self.book, self.account = dep, sender, book, account_id
        self.max_slippage = max_slippage

    def take(self, instrument: int, size: int, index_price: int, now: int, head: int, purpose: str,
             meta: dict | None = None) -> tuple[int, list]:
        """Returns (size sent, pendings). Raises nothing for a skipped fill (logged by the sender)."""
        if size == 0:
            return 0, []
        buy = size > 0
        left = abs(size)
        limit = index_price * (1 + self.max_slippage) if buy else index_price * (1 - self.max_slippage)
        sent, pendings = 0, []
        for q in self.book.quotes(instrument, buy, now):
            if left <= 0:
                break
            if (buy and q.price > limit) or (not buy and q.price < limit):
                break
            if q.order.account == self.account or self.sender.busy(("fill", q.hash)):
                continue
            filled = guard(lambda q=q: self.dep.clearinghouse.functions.filled(q.hash).call())
            room = q.order.size - int(filled)
            amount = min(left, room)
            if amount <= 0 or amount * q.price // WAD == 0:
                continue
            try:
                p = self.sender.send(self.dep.clearinghouse, "fill",
                                     [q.order.as_tuple(), q.signature, amount, self.account], purpose,
                                     key=("fill", q.hash), head=head,
                                     meta={"instrument": instrument, "size": (amount if buy else -amount) / WAD,
                                           "price": q.price / WAD, **(meta or {})})
            except Skipped as exc:
                self.sender.log({"event": "skip", "purpose": purpose, "instrument": instrument, "reason": str(exc)})
                continue
            pendings.append(p)
            sent += amount
            left -= amount
        return (sent if buy else -sent), pendings
