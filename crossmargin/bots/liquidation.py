"""The keeper's view of the Liquidation contract (TECH_SPEC "Liquidation"), in one small adapter.

The keeper never calls the contract's methods by name itself: `start_call` / `bid_call` give what to send and
`auction` / `discount` / `quote` read it. If the contract's surface changes, this file is the one to adapt.

    start_auction(_account, _starter_account) -> bool      (also restarts an expired auction, at d_start)
    bid(_account, _bidder_account, _fraction, _max_cost: int256) -> int256
    close_auction(_account)                   (anyone, once the account is no longer below MM)
    auction(_account) -> Auction {start, insolvent, active, expiry, version, holds}
    discount(_account) -> uint256            (WAD; 0 unless the auction is live)
    quote(_account, _fraction) -> (int256 payment, uint256 f_max)     ((0, 0): not below MM, nothing to bid)
    mark_value(_account) -> int256           (V: no haircuts, primary prices)
    escalation(_account) -> (bool, uint256)  (issue 18: escalated now, and the reward a full bid earns now)
"""

from __future__ import annotations

from dataclasses import dataclass

from crossmargin.bots.core import guard

WAD = 10**18


@dataclass(frozen=True)
class Auction:
    start: int
    insolvent: bool
    active: bool
    expiry: int = 0          # last second a bid is accepted (then `start_auction` restarts it)
    version: int = 0         # the parameter set it runs on
    holds: bool = False      # its loss beyond the insurance fund holds settlement-cash withdrawals

    def live(self, now: int) -> bool:
        return self.active and now <= self.expiry


@dataclass(frozen=True)
class BidQuote:
    """What a bid of `fraction` costs now and what it brings, in WAD USD."""

    fraction: int
    payment: int        # cash the bidder pays (negative: the insurance fund pays the bidder)
    f_max: int          # largest fraction a bid may take now
    discount: int       # d(t), WAD
    value: int          # mark value of the fraction received (positions and collateral at index prices)

    @property
    def gross_profit(self) -> int:
        return self.value - self.payment


class LiquidationAdapter:
    def __init__(self, dep):
        self.dep = dep
        self.contract = dep.liquidation  # None until the deployment has one
        self.last_auction: dict[int, Auction] = {}
        self.last_value: dict[int, int] = {}
        self._escalation_params: dict[int, tuple[int, int, int]] = {}   # version -> (T, delay, reward rate)
        self._escalates: bool | None = None   # the contract has `escalation` (issue 18)

    @property
    def available(self) -> bool:
        return self.contract is not None

    @property
    def address(self) -> str | None:
        return self.contract.address if self.contract is not None else None

    # -- what to send --------------------------------------------------------------------------------------
    def start_call(self, account: int, starter_account: int) -> tuple[str, list]:
        return "start_auction", [account, starter_account]

    def bid_call(self, account: int, bidder_account: int, fraction: int, max_cost: int) -> tuple[str, list]:
        return "bid", [account, bidder_account, fraction, max_cost]

    def close_call(self, account: int) -> tuple[str, list]:
        return "close_auction", [account]

    @property
    def batched_starts(self) -> bool:
        """The contract has `start_auctions` (many starts in one transaction, skipping instead of reverting)."""
        return self.available and any(x.get("name") == "start_auctions" for x in self.contract.abi)

    def starts_call(self, accounts: list[int], starter_account: int) -> tuple[str, list]:
        return "start_auctions", [list(accounts), starter_account]

    def refresh_call(self, account: int) -> tuple[str, list]:
        return "refresh_loss", [account]

    # -- reads -------------------------------------------------------------------------------------------
    def auction(self, account: int) -> Auction:
        start, insolvent, active, expiry, version, holds = guard(
            lambda: self.contract.functions.auction(account).call())
        return Auction(int(start), bool(insolvent), bool(active), int(expiry), int(version), bool(holds))

    def discount(self, account: int) -> int:
        return int(guard(lambda: self.contract.functions.discount(account).call()))

    def plan(self, rpc, account: int, bidder_account: int, fraction: int, sim_from: str | None,
             block: str = "latest"):
        """Everything a bid decision needs, in one JSON-RPC batch: `(quote or None, positions, gas or
        WouldRevert)`. The bid is simulated (`eth_createAccessList`: its gas used, one execution) for `fraction`
        without a price guard; positions
        are the account's `(instrument, size, cost, funding_snapshot)` rows (for the unwind cost). `block`:
        "pending" sees rival keepers' transactions already in the pool. The auction and V read on the way are
        kept in `last_auction` / `last_value`."""
        from crossmargin.bots.core import WouldRevert
        from crossmargin.bots.txs import encode_call

        c = self.contract
        fn, args = self.bid_call(account, bidder_account, fraction, 2**255 - 1)
        sim = {"to": c.address, "data": encode_call(c, fn, args), **({"from": sim_from} if sim_from else {})}
        *reads, (ok_g, g) = rpc.batch(self._reads(account, fraction, block) + [("eth_createAccessList", [sim, block])])
        for ok, value in reads:
            if not ok:
                raise WouldRevert(value)
        quote, positions = self._decode(account, fraction, reads)
        if quote is None:
            return None, positions, None
        from crossmargin.bots.txs import sim_gas

        return quote, positions, sim_gas(ok_g, g)

    def reward_at(self, account: int, auction: Auction, mm: int, value: int, at: float) -> float:
        """The escalation reward (issue 18; WAD USD, as `Liquidation._reward`) a full bid on `account` would earn
        at time `at` if its MM and mark value stayed `mm` and `value`: 0 unless it is a sliver
        (0 < V < escalation_reward·MM) and its auction has run `escalation_delay` since its (re)start, then
        escalation_reward·MM·min(t_e, T) / T, t_e the seconds since. 0 on a contract without escalation."""
        if value <= 0:
            return 0.0
        if self._escalates is None:
            self._escalates = any(x.get("name") == "escalation" for x in self.contract.abi)
        if not self._escalates:
            return 0.0
        p = self._escalation_params.get(auction.version)
        if p is None:
            fields = guard(lambda: self.contract.functions.auction_params(account).call())
            p = self._escalation_params[auction.version] = (int(fields[2]), int(fields[9]), int(fields[10]))
        ramp, delay, rate = p
        since = auction.start + delay
        if at < since or value * WAD >= mm * rate:
            return 0.0
        return mm * rate / WAD * min(at - since, ramp) / max(ramp, 1)

    def screen(self, rpc, accounts: list[int], block: str = "latest") -> dict[int, tuple]:
        """`plan`'s reads without its simulation, for many accounts in one JSON-RPC batch: {account: (quote of
        the whole fraction (capped at f_max) or None, positions)}. The keeper screens a block's auctions with it
        and simulates only the bids worth making (a simulation executes the bid: ~10x a read). An account whose
        reads fail is left out (its `plan` then says why)."""
        calls = [call for a in accounts for call in self._reads(a, WAD, block)]
        replies = rpc.batch(calls) if calls else []
        out = {}
        for i, a in enumerate(accounts):
            reads = replies[5 * i:5 * i + 5]
            if all(ok for ok, _ in reads):
                out[a] = self._decode(a, WAD, reads)
        return out

    def _reads(self, account: int, fraction: int, block: str) -> list:
        from crossmargin.bots.txs import call_params

        c, ch = self.contract, self.dep.clearinghouse
        return [("eth_call", call_params(c, "quote", [account, fraction], block=block)),
                ("eth_call", call_params(c, "mark_value", [account], block=block)),
                ("eth_call", call_params(c, "discount", [account], block=block)),
                ("eth_call", call_params(ch, "positions_of", [account], block=block)),
                ("eth_call", call_params(c, "auction", [account], block=block))]

    def _decode(self, account: int, fraction: int, reads: list) -> tuple:
        """(quote or None, positions) from the replies of `_reads`; the auction and V kept on the way."""
        from crossmargin.bots.txs import decode_call

        c, ch = self.contract, self.dep.clearinghouse
        (_, q), (_, v), (_, d), (_, p), (_, a) = reads
        payment, f_max = decode_call(c, "quote", q)
        value, d = int(decode_call(c, "mark_value", v)), int(decode_call(c, "discount", d))
        positions = decode_call(ch, "positions_of", p)
        self.last_auction[account] = Auction(*(int(x) if not isinstance(x, bool) else x
                                              for x in decode_call(c, "auction", a)))
        self.last_value[account] = value
        if int(f_max) == 0:
            return None, positions
        f = min(fraction, int(f_max)) if value > 0 else WAD
        return BidQuote(f, int(payment), int(f_max), d, value * f // WAD), positions

    def mark_value(self, account: int) -> int:
        return int(guard(lambda: self.contract.functions.mark_value(account).call()))

    def quote(self, account: int, fraction: int) -> BidQuote | None:
        """Price of taking `fraction` (WAD) now, or None when there is nothing to bid on (the account is not
        below MM). Solvent (V > 0): the fraction is capped at `f_max` and the bidder receives f·V for
        ceil(f·V·(1 − d)); insolvent: all of it, and the bidder is paid −V + MM·d (payment < 0).
        A revert (stale prices) raises `WouldRevert`."""
        from web3.exceptions import ContractLogicError

        from crossmargin.bots.core import WouldRevert, revert_reason

        try:
            payment, f_max = guard(lambda: self.contract.functions.quote(account, fraction).call())
            value = self.mark_value(account)
            d = self.discount(account)
        except (ContractLogicError, ValueError) as exc:
            raise WouldRevert(revert_reason(exc)) from None
        payment, f_max = int(payment), int(f_max)
        if f_max == 0:
            return None
        f = min(fraction, f_max) if value > 0 else WAD
        return BidQuote(f, payment, f_max, d, value * f // WAD)
