"""The part every account-operating bot shares: deployment, sender, the account it operates, the book.

A bot subclasses `AccountBot`, sets `name`, and writes `on_block`; `start` / `on_reconnect` / `stop` are here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from crossmargin.bots.book import Book, Taker, default_book_path
from crossmargin.bots.core import BotError, GasPolicy, Loop, Outcome, Sender, guard
from crossmargin.bots.reads import Deployment, Health, HealthReader

WAD = 10**18


@dataclass
class BotOptions:
    """Options every bot takes (CLI: `--account-id`, `--dry-run`, `--max-fee-gwei`, `--priority-gwei`, `--book`)."""

    account_id: int | None = None        # the Vault account operated (default: the signer's first account)
    dry_run: bool = False                # simulate and log, never send
    gas: GasPolicy = field(default_factory=GasPolicy)
    book: Path | None = None             # the maker's quotes file (default: <cache>/book/<chain_id>.json)
    max_slippage: float = 0.01           # takers: worst price vs the oracle


class AccountBot:
    name = "bot"
    # `ready` checks the deployment is on chain every `ALIVE_EVERY` blocks (and after a reconnect or a failing
    # block), and waits for a redeploy when it is gone. A bot doing this itself (the keeper) sets it False.
    # Every block by default: five eth_calls, and an agent never acts on a chain that lost its deployment.
    checks_deployment = True
    ALIVE_EVERY = 1

    def __init__(self, w3, signer, options: BotOptions):
        self.w3, self.signer, self.options = w3, signer, options
        self._alive_at: int | None = None
        self._waiting_since: int | None = None
        self.dep: Deployment | None = None
        self.sender: Sender | None = None
        self.account: int | None = options.account_id
        self.outcomes: dict[str, int] = {"ok": 0, "reverted": 0, "dropped": 0}

    # -- handlers ----------------------------------------------------------------------------------------
    def start(self, loop: Loop) -> None:
        self.dep = Deployment.load(self.w3)
        chain_id = self.dep.manifest.chain_id
        if self.account is None:
            if self.signer is None:
                raise BotError("no signer: pass --account-id to watch an account in dry-run")
            mine = self.dep.accounts_of(self.signer.address)
            if not mine:
                raise BotError(f"{self.signer.address} owns no account: `crossmargin account open` first")
            self.account = mine[0]
        owner = self.dep.owner_of(self.account)
        if int(owner, 16) == 0:
            raise BotError(f"account {self.account} does not exist")
        if self.signer is not None:
            self.dep.check_operable(self.account, self.signer.address)
        self.sender = Sender(self.w3, self.signer, chain_id, self.options.gas, dry_run=self.options.dry_run,
                             sim_from=self.signer.address if self.signer else owner, log=loop.log)
        self.reader = HealthReader(self.dep)
        self.book = Book(self.options.book or default_book_path(chain_id))
        self.taker = Taker(self.dep, self.sender, self.book, self.account, self.options.max_slippage)
        loop.log({"event": "started", "account": self.account, "signer": self.signer.address if self.signer else None,
                  "dry_run": self.sender.dry_run, "chain_id": chain_id, "book": str(self.book.path)})
        self.on_start(loop)

    def on_start(self, loop: Loop) -> None:
        pass

    def ready(self, loop: Loop, head: int) -> bool:
        """The failure policy's deployment check (`crossmargin.bots.run`): True when the deployment is on chain;
        otherwise re-read the deployment file (a redeploy written since starts the bot over on it) or log that the
        bot is waiting, and return False (no `on_block` on a chain without the deployment)."""
        if not self.checks_deployment:
            return True
        if self._alive_at is not None and head - self._alive_at < self.ALIVE_EVERY and not loop.errors_in_row:
            return True
        if self.dep.alive():
            self._alive_at, self._waiting_since = head, None
            return True
        try:
            fresh = Deployment.load(self.w3)
        except BotError:
            fresh = None
        if fresh is not None and fresh.alive() and fresh.manifest.contracts != self.dep.manifest.contracts:
            loop.log({"event": "redeployed", "vault": fresh.manifest.address("Vault")})
            self.account = self.options.account_id
            self.start(loop)
            self._alive_at, self._waiting_since = head, None
            return True
        if self._waiting_since is None:
            self._waiting_since = head
            loop.log({"event": "waiting", "reason": "deployment not on chain",
                      "deployment": self.dep.manifest.shown, "block": head})
        return False

    def on_reconnect(self, loop: Loop) -> None:
        self._alive_at = None  # the node may have come back without our deployment
        lost = self.sender.forget_pending()
        loop.log({"event": "resynced", "lost_txs": len(lost),
                  "nonce": self.sender.nonces.next if self.sender.nonces else None})

    def stop(self, loop: Loop) -> dict:
        return {"account": self.account, "sent": self.sender.sent if self.sender else 0, **self.outcomes}

    # -- helpers -----------------------------------------------------------------------------------------
    def settle(self, head: int) -> list[Outcome]:
        return self.sender.settle(head, self.outcomes, self.on_outcome)

    def on_outcome(self, outcome: Outcome) -> None:
        """A sent transaction settled (`ok`, `reverted` or `dropped`)."""

    def health(self) -> Health:
        return self.reader.scan([self.account])[0]

    def positions(self) -> dict[int, int]:
        """{instrument id: signed size WAD} of the operated account."""
        rows = guard(lambda: self.dep.clearinghouse.functions.positions_of(self.account).call())
        return {int(r[0]): int(r[1]) for r in rows if int(r[1]) != 0}


def round_size(size_wad: int, step: int = 10**14) -> int:
    """Towards zero, to `step` (1e-4 units by default)."""
    sign = -1 if size_wad < 0 else 1
    return sign * (abs(size_wad) // step) * step
