"""Market maker (`crossmargin agent maker`): signed two-sided quotes around the oracle on every linear market.

Each round signs one bid and one ask per PERP / live FUTURE at `index · (1 ∓ spread/2)`, shifted against its
inventory (a long maker quotes lower, to sell), and publishes them to the book file for the other bots. All
orders of a round share one nonce, so one `cancel(account, nonce)` withdraws a whole round: the maker does
that when the oracle moved by more than `requote` of the half-spread (its old quotes would be picked off).
Rounds also expire on their own after `ttl` seconds. A market whose oracle is not OK is not quoted; when the
maker's own margin ratio is below `min_ratio` it quotes only the side that reduces its inventory.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass

from crossmargin.bots.base import AccountBot, BotOptions, round_size
from crossmargin.bots.book import Quote
from crossmargin.bots.core import Loop, Skipped, guard
from crossmargin.bots.reads import OK
from crossmargin.chain.orders import Order, order_hash, sign_order

WAD = 10**18


@dataclass
class MakerConfig:
    spread: float = 0.002            # full bid-ask spread, fraction of the index
    notional: float = 50_000.0       # USD per quote
    ttl: int = 120                   # seconds a round stays valid
    refresh: int = 30                # seconds between rounds when nothing moves
    requote: float = 0.5             # requote (and cancel) when the index moved this fraction of the half-spread
    skew: float = 1.0                # inventory skew: full inventory moves quotes by skew · half-spread
    max_inventory: float = 1_000_000.0  # USD inventory per market at which the skew is full
    min_ratio: float = 1.2           # below this equity/IM: only quotes that reduce inventory
    seed: int | None = None          # round nonces from a seeded RNG (the demo: the same run every time);
                                     # None: unpredictable (secrets)


class Maker(AccountBot):
    name = "maker"

    def __init__(self, w3, signer, options: BotOptions, config: MakerConfig):
        super().__init__(w3, signer, options)
        self.config = config
        self.nonce: int | None = None
        self.quoted_at = 0
        self.quoted_prices: dict[int, int] = {}
        self.quoted_positions: dict[int, int] = {}
        self.expiry = 0
        self.rounds = self.cancels = self.fills = 0
        self.volume = 0.0
        self.last_block: int | None = None
        self._rng = random.Random(config.seed) if config.seed is not None else secrets.SystemRandom()

    def on_start(self, loop: Loop) -> None:
        if self.signer is None or self.sender.dry_run:
            loop.log({"event": "note", "note": "dry run: quotes are logged, not signed or published"})

    def on_block(self, loop: Loop, block) -> dict:
        head, now = int(block["number"]), int(block["timestamp"])
        self.settle(head)
        self._count_fills(head)
        prices = self.dep.prices()
        positions = self.positions()
        health = self.health()
        moved = any(abs(prices[uid][0] - p) > self.config.requote * self.config.spread / 2 * p
                    for uid, p in self.quoted_prices.items() if uid in prices)
        due = (now - self.quoted_at >= self.config.refresh or moved or positions != self.quoted_positions
               or now + 5 >= self.expiry)
        record = {"account": self.account, "ratio": round(min(health.ratio, 1e9), 4), "rounds": self.rounds,
                  "fills": self.fills, "volume_usd": round(self.volume, 2), "cancels": self.cancels}
        if not due:
            return {**record, "requoted": False}
        if moved and self.nonce is not None and now < self.expiry and not self.sender.dry_run:
            self._cancel(head)
        quotes = self._quotes(prices, positions, health.ratio, now)
        self.rounds += 1
        self.quoted_at, self.expiry = now, now + self.config.ttl
        self.quoted_prices = {uid: p for uid, (p, s) in prices.items() if s == OK}
        self.quoted_positions = positions
        if self.sender.dry_run or self.signer is None:
            loop.log({"event": "would_quote", "quotes": [
                {"instrument": q["instrument"], "side": q["side"], "price": q["price"] / WAD, "size": q["size"] / WAD}
                for q in quotes]})
        else:
            signed = [self._sign(q, now) for q in quotes]
            self.book.publish(signed, {"chain_id": self.dep.manifest.chain_id, "maker_account": self.account,
                                       "block": head, "nonce": self.nonce, "expiry": self.expiry})
        inventory = {self.dep.listed.market(i).name: s / WAD for i, s in positions.items()}
        return {**record, "requoted": True, "quotes": len(quotes), "inventory": inventory}

    # -- quoting -----------------------------------------------------------------------------------------
    def _quotes(self, prices: dict, positions: dict, ratio: float, now: int) -> list[dict]:
        c = self.config
        half = c.spread / 2
        self.nonce = self._rng.getrandbits(64)
        out = []
        for m in self.dep.linear_markets(now):
            uid = self.dep.params.underlying(m.underlying).id
            price, status = prices.get(uid, (0, 2))
            if status != OK or price == 0:
                continue
            pos = positions.get(m.id, 0)
            inventory_usd = pos * price / WAD / WAD
            shift = max(-1.0, min(1.0, inventory_usd / c.max_inventory)) * c.skew * half
            size = round_size(int(c.notional / (price / WAD) * WAD))
            max_pos = int(m.max_position * WAD)
            sides = {"bid": min(size, max(0, max_pos - pos)), "ask": min(size, max(0, max_pos + pos))}
            if ratio < c.min_ratio:  # tight margin: only reduce inventory
                sides = {"bid": min(sides["bid"], max(0, -pos)), "ask": min(sides["ask"], max(0, pos))}
            for side, qty in sides.items():
                if qty <= 0:
                    continue
                factor = 1 - half - shift if side == "bid" else 1 + half - shift
                px = int(price * factor)
                out.append({"instrument": m.id, "side": side, "price": px, "size": qty})
        return out

    def _sign(self, q: dict, now: int) -> Quote:
        cid, ch = self.dep.manifest.chain_id, self.dep.clearinghouse.address
        order = Order(account=self.account, instrument=q["instrument"], is_buy=q["side"] == "bid", size=q["size"],
                      limit_price=q["price"], nonce=self.nonce, expiry=now + self.config.ttl, fee_rate=0)
        return Quote(order, sign_order(self.signer.key, order, cid, ch), "0x" + order_hash(order, cid, ch).hex())

    def _cancel(self, head: int) -> None:
        try:
            self.sender.send(self.dep.clearinghouse, "cancel", [self.account, self.nonce], "cancel_round",
                             key=("cancel", self.nonce), head=head)
            self.cancels += 1
        except Skipped as exc:
            self.sender.log({"event": "skip", "purpose": "cancel_round", "reason": str(exc)})

    def _count_fills(self, head: int) -> None:
        lo = head if self.last_block is None else self.last_block + 1
        self.last_block = head
        if lo > head:
            return
        logs = guard(lambda: self.dep.clearinghouse.events.Fill().get_logs(
            from_block=lo, to_block=head, argument_filters={"maker": self.account}))
        for log in logs:
            self.fills += 1
            self.volume += int(log["args"]["size"]) * int(log["args"]["price"]) / WAD / WAD

    def stop(self, loop: Loop) -> dict:
        if self.nonce is not None and not self.sender.dry_run and self.signer is not None:
            if self.last_block is not None:
                self._cancel(self.last_block)  # and nobody can fill them from an old copy either
            self.book.publish([], {"chain_id": self.dep.manifest.chain_id, "maker_account": self.account,
                                   "stopped": True})  # takers stop seeing our quotes at once
        return {**super().stop(loop), "rounds": self.rounds, "fills": self.fills, "volume_usd": round(self.volume, 2),
                "cancels": self.cancels}
