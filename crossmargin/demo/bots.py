"""The demo's bots: the real market maker, liquidation keeper, collateral-band agent and vol feeder of
`crossmargin.bots` (and the share-rate poker when the parameters list ERC-4626 vaults) (the feeder without a price file: its forecast comes from the chain's own oracle rounds, so the
crash raises the vols it posts), driven in process, block by block, through `Loop.step()` (the loop `crossmargin keeper run` runs forever).

After every price move the demo calls `settle()`: rounds in which each bot handles the newest head once (maker
first: the others fill its quotes), until a round in which no bot saw a new block. The demo's anvil mines one
block per transaction, so a quiet round means nobody sent anything: auctions started, bids placed, unwinds
filled, quotes refreshed. Every record the bots log is kept (with the crash minute) for the report.
"""

from __future__ import annotations

import time
from pathlib import Path

from crossmargin.bots.band import BandAgent, BandConfig
from crossmargin.bots.base import BotOptions
from crossmargin.bots.core import GasPolicy, Loop, Metrics, RawRPC, dev_key, web3_for
from crossmargin.bots.keeper import Keeper, KeeperConfig
from crossmargin.bots.maker import Maker, MakerConfig
from crossmargin.bots.vol import VolConfig, VolFeeder

BAND = BandConfig(target=1.6, low=1.3, high=2.2)
VOL = VolConfig(prices=None)   # forecast from the chain's rounds (half-life a day), floored at each vol_floor
MAX_ROUNDS = 12  # per price move; a move typically needs 3-5 (start, bid, unwind, requote, quiet)


def wait_mined(rpc: RawRPC, timeout: float = 10.0) -> None:
    """Until the node's pool is empty: an automining anvil answers a send before it mines it, so a read right after
    could see the block before or after (timing, not the chain). At most `timeout` seconds (a nonce gap never
    empties)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        [(ok, status)] = RawRPC.batch(rpc, [("txpool_status", [])])
        if not ok or int(status["pending"], 16) + int(status["queued"], 16) == 0:
            return
        time.sleep(0.002)


class _OneByOne(RawRPC):
    """Sends one request each, each mined before the next. On the demo's automining anvil a JSON-RPC batch of
    transactions lands in one block or in several depending on timing (so do the timestamps, funding and discounts
    after it); sent one by one, each is mined in its own block: the same blocks every run."""

    def batch(self, calls: list[tuple[str, list]]) -> list:
        if any(method == "eth_sendRawTransaction" for method, _ in calls):
            replies = []
            for call in calls:
                replies += RawRPC.batch(self, [call])
                wait_mined(self)
            return replies
        return super().batch(calls)


class _DemoKeeper(Keeper):
    """The keeper of `crossmargin keeper run`, its batched sends (`TxSender.flush`) sent one by one (`_OneByOne`)."""

    def on_start(self, loop: Loop) -> None:
        super().on_start(loop)
        self.sender.rpc = _OneByOne(self.w3.provider.endpoint_uri)


class DemoBots:
    """`keys`: bot name -> (dev-chain key index, Vault account it operates); all share one quotes file. The vol
    feeder signs with `feeder_key` (the dev-chain key holding FEEDER_ROLE: the deployer's); `seed` seeds the
    maker's round nonces."""

    def __init__(self, uri: str, book: Path, keys: dict[str, tuple[int, int]], feeder_key: int = 0,
                 poker_key: int | None = None, seed: int | None = None):
        self.w3 = web3_for(uri, timeout=60)
        self.rpc = RawRPC(uri)
        self.records: list[dict] = []
        self.t = 0  # crash seconds the records are filed under

        def options(name: str) -> tuple:
            index, account = keys[name]
            return self.w3, dev_key(index), BotOptions(account_id=account, book=book)

        bots = [Maker(*options("maker"), MakerConfig(seed=seed)), _DemoKeeper(*options("keeper"), KeeperConfig()),
                BandAgent(*options("band"), BAND),
                VolFeeder(self.w3, dev_key(feeder_key), GasPolicy(), False, VOL)]
        if poker_key is not None:   # ERC-4626 share collateral listed: the share-rate poker (`agent shares`)
            from crossmargin.bots.shares import SharePoker
            from crossmargin.demo.shares import POKER

            bots.append(SharePoker(self.w3, dev_key(poker_key), GasPolicy(), False, POKER))
        self.bots = {b.name: b for b in bots}
        self.loops = {b.name: Loop(b, self.w3, Metrics(b.name, sink=self._keep)) for b in bots}

    def _keep(self, record: dict) -> None:
        self.records.append({"t": self.t, **record})

    def settle(self, t: int, only: tuple[str, ...] | None = None) -> int:
        """Let the bots (or `only` these) act on the chain as it is now until they are done; returns the rounds it
        took."""
        self.t = t
        loops = [loop for name, loop in self.loops.items() if only is None or name in only]
        for rounds in range(1, MAX_ROUNDS + 1):
            handled = []
            for loop in loops:  # every bot, each round (no short cut), on the chain it left
                handled.append(loop.step())
                wait_mined(self.rpc)
            if all(record is None for record in handled):
                return rounds
        return MAX_ROUNDS

    def finish(self) -> dict[str, dict]:
        """Each bot's final summary (the maker cancels its last round of quotes)."""
        return {name: loop.finish() for name, loop in self.loops.items()}

    def log(self, bot: str, event: str | None = None) -> list[dict]:
        return [r for r in self.records if r["bot"] == bot and (event is None or r.get("event") == event)]

    @property
    def keeper(self) -> Keeper:
        return self.bots["keeper"]

    @property
    def band(self) -> BandAgent:
        return self.bots["band"]

    @property
    def vol(self) -> VolFeeder:
        return self.bots["vol"]
