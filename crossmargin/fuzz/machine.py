"""The liquidation machine: rules and named invariants over the whole protocol on pyrevm, shared by the
hypothesis state machine (`tests/property/test_liquidation_machine.py`) and `crossmargin fuzz` (`runner.py`).

Rules take explicit, already valid arguments (the drivers build them; nothing is filtered): deposit, withdraw,
trade (signed maker orders filled by a taker, sized by leverage), move an oracle price (small steps, ±50 % jumps),
make a feed stale, make the secondary feed deviate (DEGRADED) or agree again, move a vol, advance time, start an
auction, bid, close an auction, fund the insurance fund and socialise (drain the fund, so the next insolvent bid's
shortfall goes to the loss index); oracle doubt: a stale secondary feed, dust collateral on an asset whose feed is
stale, missed vol updates (time past the vol heartbeat).

Liquidation runs in liquidation mode (`RiskEngine.margin_for_liquidation`, TECH_SPEC "Liquidation mode"): the
predictions read it, so a stale or doubtful input changes the expected outcome only through the penalised numbers,
never into "stale oracle" (the machine has no sequencer feed).

Every rule predicts its outcome from independent reads first (margin at both prices, oracle status, auction
state) and then checks the chain did exactly that; an unexpected revert, or a success where a revert was due,
is a violation. Invariants (counted in `stats.checks` by name):

collateral_conservation            every step: each token's vault balance == the Vault's total; collateral tokens:
                                   Σ balances of every account (insurance fund and fee account included) == total;
                                   settlement: W = Σ(cash - cost) + Σ size·funding_snapshot <= total (value only
                                   moves or is lost to rounding; after a loss wiped out all positive cash, up to 1
                                   wei per account the other way), and total - W is rounding dust: DUST_PER_TX per
                                   transaction plus, per socialisation, the Vault's loss-index rounding (one index
                                   unit of all positive cash: positive cash / loss index, coarse once the index
                                   has fallen far below RAY).
zero_sum_positions                 every step: Σ size == 0 per instrument; open interest == Σ long sizes.
healthy_accounts_cannot_be_liquidated   start_auction on an account that is not liquidatable at usable prices
                                   reverts.
bid_never_lowers_health            after a bid: E_mm - MM of the liquidated account did not fall.
bidder_stays_above_im              after a bid: the bidder's E_im >= IM (at both prices when DEGRADED).
stale_input_never_blocks_liquidation   while any input is stale or in doubt (a stale primary or secondary feed, a
                                   missed vol update): start_auction, bid and close_auction do exactly what
                                   liquidation mode predicts (never "stale oracle": an insolvent or liquidatable
                                   account is liquidated on the penalised numbers); a dust deposit of collateral
                                   on a stale asset leaves a liquidatable account liquidatable.
bad_debt_only_when_equity_negative an insolvent bid (fund payment or socialised loss) happens only when the
                                   portfolio's mark value is <= 0; the value is recomputed here from raw balances,
                                   positions, funding and prices and must equal the contract's exactly (linear
                                   books; option legs are priced by the numpy model, within 1e-9).
socialised_loss_equals_uncovered_shortfall   on an insolvent bid: shortfall == -V + MM·d exactly, the fund pays
                                   min(shortfall, its cash) exactly (its balance may show 1 wei more gone: the
                                   Vault burns scaled units rounded up once a loss was socialised), the Vault is
                                   asked to socialise exactly the rest, and absorbs all of it unless positive cash
                                   ran out; the bidder is paid fund payment + absorbed.
withdrawal_keeps_initial_margin    (extra) a successful withdrawal leaves the account above IM with OK prices.
a_bid_on_an_account_above_mm_reverts    a bid on an account that is not below MM at usable prices reverts "not
                                   liquidatable", however old its auction (the adversary's "bid on an old
                                   auction" after a recovery and a dip between MM and IM); a bid that leaves the
                                   account no longer below MM ends the auction; an expired auction takes no bid.
a_new_auction_starts_at_the_opening_discount   every (re)started auction offers d_start.
no_withdrawal_of_cash_while_a_known_loss_is_pending   while an insolvent auction's loss estimate (-V + MM·d_max,
                                   summed over open auctions) exceeds the insurance fund, settlement-cash
                                   withdrawals revert "loss pending" until the bid, the recovery or the
                                   auction's expiry (the adversary's "withdraw ahead of a loss"); the Vault's
                                   hold equals the one predicted here from the auctions' events.
mark_moves_in_proportion_to_notional   (adversary: dust wash fills) a fill of notional n moves a perp's mark
                                   premium P by at most n / (n + depth) of the gap to the fill's premium
                                   (rounding aside): two accounts of one attacker trading 1e-9 units at the price
                                   band's edge cannot move funding.
interest_owed_equals_interest_earned_plus_fund_share   (lending) on each accrual after time passes: the Vault's
                                   InterestAccrued has owed == earned + fund, the total debt grows by owed (+1 wei
                                   of rounding up), the positive cash by at most owed + 1 wei, and every account's
                                   `cash_of` read before the accrual equals the stored cash after it. Interest moves
                                   value from borrowers to positive cash and the fund, so collateral_conservation's
                                   W is unchanged by it up to rounding (debts round up, credits down).
no_trade_makes_insolvent_or_lowers_under_im_ratio   (adversarial `sibling_dump`: an account, typically below IM,
                                   sells part or all of a position to another account at an off-index price) the
                                   outcome is predicted exactly (auction lock, then each side's margin rule on the
                                   post-trade margin, read from a what-if fill with both accounts topped up with
                                   cash, which moves equity 1:1 and no requirement) and must happen; after a fill
                                   both accounts have E_mm >= 0, and a side left below IM purely reduced from
                                   E_mm > 0 without lowering its E_mm / MM (a full close: E'_mm >= 0).
the_fund_pays_only_for_insolvent_or_escalated_auctions   (issue 18: escalation of an auction nobody bids) on
                                   every bid: the insurance fund's cash falls only in an insolvent bid (BadDebt) or
                                   an escalated one (EscalatedBid); a bid escalates exactly when predicted here (a
                                   full bid, 0 < V < escalation_reward·MM, the auction unbid for
                                   escalation_delay since its (re)start); its reward is
                                   escalation_reward·MM·min(1, t_e / T) exactly, paid out of the owner's proceeds
                                   V·(1 - d(t) - r) first, then by the fund (its cash plus the bid's fee), then
                                   socialised: the fund and the loss index pay at most
                                   escalation_reward·MM (bad debt bounded), the owner keeps exactly its proceeds
                                   minus its part (never more than a full bid at d(t)). Adversary:
                                   `escalate_unbiddable` (an open auction left unbid to its escalation, then a full
                                   bid).
oracle_status_follows_the_feeds    (issue 17) after the machine makes a feed stale, lets the secondary deviate or
                                   go stale, or refreshes one: the router's status for that underlying is the one
                                   the feeds' data give: STALE when the primary's last update is older than its
                                   heartbeat, else DEGRADED when the secondary is stale or off by more than the max
                                   deviation, else OK (a feed that re-stamps a stale answer as fresh fails here).

Engines: the machine reaches the chain only through `self.chain` (the engine interface of `crossmargin/fuzz/
engine.py`) and the `World`'s contract handles: pyrevm in process by default, or a node through JSON-RPC when
given a `World` attached to a deployment (`crossmargin/fuzz/node.py`, `crossmargin fuzz --network URL`).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from eth_abi import encode
from eth_utils import keccak

from crossmargin.chain.errors import reasons
from crossmargin.chain.revm import RevmRevert
from crossmargin.fuzz.world import WAD, Trader, World, _word
from crossmargin.model.margin import SHARE_LIQUIDITY_FACTOR, option_price, stale_vol
from crossmargin.model.params import Kind, Params

PROBE = Path(__file__).with_name("InvariantProbe.vy")
E = reasons()   # revert reasons by name (contracts/lib/errors.vy)

INVARIANTS = (
    "collateral_conservation",
    "zero_sum_positions",
    "healthy_accounts_cannot_be_liquidated",
    "bid_never_lowers_health",
    "bidder_stays_above_im",
    "stale_input_never_blocks_liquidation",
    "bad_debt_only_when_equity_negative",
    "socialised_loss_equals_uncovered_shortfall",
    "withdrawal_keeps_initial_margin",
    "a_bid_on_an_account_above_mm_reverts",
    "a_new_auction_starts_at_the_opening_discount",
    "no_withdrawal_of_cash_while_a_known_loss_is_pending",
    "mark_moves_in_proportion_to_notional",
    "interest_owed_equals_interest_earned_plus_fund_share",
    "no_trade_makes_insolvent_or_lowers_under_im_ratio",
    "oracle_status_follows_the_feeds",
    "the_fund_pays_only_for_insolvent_or_escalated_auctions",
)
OK, DEGRADED, STALE = 0, 1, 2
GRID_STEP = 1.01          # oracle prices live on a 1 % multiplicative grid (signed orders are cached per price)
GRID_MAX = 140            # ... within 1.01**±140 (×0.25 .. ×4) of the reference price
PRICE_QUANTUM = 3         # fill prices are multiples of 3 grid steps
JUMP_UP, JUMP_DOWN = 41, -70   # 1.01**41 ≈ 1.50, 1.01**-70 ≈ 0.50: the ±50 % jumps
DUST_PER_TX = 10**4       # wei of rounding a transaction may lose from W (generous; a real leak is far larger)


_UNKNOWN = object()      # a prediction the machine cannot make exactly (prices not OK)
_MARGIN_REASONS = ("ACCOUNT_IN_AUCTION", "UNDER_WATER", "MARGIN_RATIO_FELL", "BELOW_INITIAL_MARGIN", "STALE_ORACLE",
                   "DEGRADED_ORACLE")
# Markets' own checks run before the margin rule (an expired dated instrument, a fill outside the price band)
_MARKET_REASONS = ("INSTRUMENT_EXPIRED", "INSTRUMENT_INACTIVE", "PRICE_OUTSIDE_BAND")


def _name_of(reason: str) -> str | None:
    """The errors.vy name of a revert reason (the reason itself if it is not one of ours)."""
    return next((k for k, v in E.items() if v == reason), reason)


def _keeps_ratio(pre, post) -> bool:
    """Clearinghouse `_keeps_ratio`: E_mm / MM did not fall (exact; MM' = 0 needs E'_mm >= 0)."""
    if post.mm == 0:
        return post.equity_mm >= 0
    return post.equity_mm * pre.mm >= pre.equity_mm * post.mm


def _margin_rule(pre: dict, post: dict, held: dict, delta: dict) -> str | None:
    """The Clearinghouse's post-trade rule, maker first (dicts keep the maker first): None if both sides pass,
    else the first failing side's reason name. A side passes above IM with OK prices; else only a pure
    reduction (|size| does not grow, no flip) from E_mm > 0 that keeps E_mm / MM."""
    for a, r in post.items():
        if r.status == OK and not r.below_im:
            continue
        old, d = held[a], delta[a]
        if old != 0 and (old > 0) != (d > 0) and abs(d) <= abs(old):
            if pre[a].equity_mm <= 0:
                return "UNDER_WATER"
            if not _keeps_ratio(pre[a], r):
                return "MARGIN_RATIO_FELL"
            continue
        return "STALE_ORACLE" if r.status == STALE else "DEGRADED_ORACLE" if r.status == DEGRADED \
            else "BELOW_INITIAL_MARGIN"
    return None


class InvariantViolation(AssertionError):
    """A named invariant failed (`.name`), with what was seen."""

    def __init__(self, name: str, detail: str):
        super().__init__(f"{name}: {detail}")
        self.name = name


@dataclass
class Stats:
    checks: Counter = field(default_factory=Counter)     # invariant name -> times checked
    outcomes: Counter = field(default_factory=Counter)   # what happened: "bid", "insolvent bid", "revert: ..."
    steps: int = 0
    txs: int = 0

    def merge(self, other: Stats) -> None:
        self.checks.update(other.checks)
        self.outcomes.update(other.outcomes)
        self.steps += other.steps
        self.txs += other.txs


@dataclass(frozen=True)
class Val:
    """A margin result as the contracts return it."""

    equity_im: int
    equity_mm: int
    im: int
    mm: int
    status: int

    @property
    def health(self) -> int:
        return self.equity_mm - self.mm

    @property
    def liquidatable(self) -> bool:
        return self.mm > self.equity_mm

    @property
    def below_im(self) -> bool:
        return self.im > self.equity_im


def _selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


MARGIN_WITH = _selector("margin_with(uint256,bool)")
MARGIN_FOR_LIQUIDATION = _selector("margin_for_liquidation(uint256,bool)")
CASH_OF = _selector("cash_of(uint256)")
AUCTION = _selector("auction(uint256)")


def _int(data: bytes, k: int) -> int:
    """Word k of ABI data as an int256."""
    return int.from_bytes(data[32 * k: 32 * k + 32], "big", signed=True)


def _price(ref: float, k: int) -> int:
    """Grid price k steps from `ref` (USD), in WAD with at most 2 decimals (exact in an 8-decimal feed)."""
    return round(ref * 100 * GRID_STEP**k) * 10**16


class LiquidationMachine:
    """State, rules and invariants. `reset()` returns to the base snapshot (deployed, funded, no positions)."""

    def __init__(self, params: Params | None = None, n_traders: int = 5, whale_usd: int = 5_000_000,
                 trader_usd: int = 100_000, fund_usd: int = 50_000, options: bool = False,
                 world: World | None = None):
        # the engine: revm in process (default), or a world attached to a deployment on a node (fuzz/node.py)
        self.world = w = world or World.revm(params, n_traders=n_traders)
        n_traders = len(w.traders)
        self.params = w.params
        self.chain = w.chain
        self.traders = w.traders
        self.symbols = self.params.symbols
        self.options = options
        self.markets_traded = [m.name for m in self.params.markets
                               if m.kind in (Kind.PERP, Kind.FUTURE) or (options and m.is_option)]
        self.linear_markets = [m.name for m in self.params.markets if m.kind in (Kind.PERP, Kind.FUTURE)]
        for i, t in enumerate(self.traders):
            w.deposit(t, "USDC", w.units("USDC", whale_usd if i == 0 else trader_usd))
        w.deposit(self.traders[1], "WETH", w.units("WETH", 20))
        w.deposit(self.traders[2 % n_traders], "WBTC", w.units("WBTC", 1))
        w.seed_insurance_fund(fund_usd)
        self.probe = self.chain.deploy(PROBE, sender=w.admin)
        self.accounts = list(range(1, w.vault.account_count() + 1))
        self._settle_index = [c.symbol for c in self.params.collaterals].index(w.settlement)
        self.n_instruments = len(self.params.markets)
        self.spec = {m.name: m for m in self.params.markets}
        self.spec_by_id = {m.id: m for m in self.params.markets}
        self.stats = Stats()
        self.fund_fee_rate = self.params.onchain()["liquidation"]["fund_fee_rate"]
        self._check_data = _selector("check(address,address,uint256[],uint256,uint256)") + encode(
            ["address", "address", "uint256[]", "uint256", "uint256"],
            [w.vault.address, w.clearing.address, self.accounts, self.n_instruments, self._settle_index])
        self._base_prices = dict(w.prices)
        self.base = self.chain.snapshot()
        self._shadow_reset()

    # -- episodes ----------------------------------------------------------------------------------------------
    def _shadow_reset(self) -> None:
        self.world.prices = dict(self._base_prices)
        self.k = {s: 0 for s in self.symbols}            # grid step of each underlying's primary price
        self.deviation = {s: 0 for s in self.symbols}    # secondary = grid(k + deviation)
        self.stale = {s: False for s in self.symbols}
        self.stale2 = {s: False for s in self.symbols}   # secondary feed stale (primary fresh)
        self.vol_stale = {s: False for s in self.symbols}  # vol older than its heartbeat (read marked up)
        self.vol = {s: self.params.underlying(s).vol for s in self.symbols}
        self.epochs = 0                                  # loss epochs started (upper dust bound of W)
        self.index_dust = 0                              # wei the Vault's loss-index rounding may take (see bid)
        self.in_auction: set[int] = set()                # trader indices with an open auction
        self._loss_shadow_reset()                        # auction expiries and the loss hold (adversarial block)
        self.dirty = True                                # a transaction succeeded since the last global check
        self._last_global = None
        self.txs = 0

    def reset(self) -> None:
        self.chain.revert(self.base)
        self._shadow_reset()

    # -- helpers -----------------------------------------------------------------------------------------------
    def _tx(self, fn, *args, sender) -> tuple[bool, str | None, object]:
        """Send; returns (ok, revert reason or None, return value)."""
        self.txs += 1
        self.stats.txs += 1
        try:
            out = fn(*args, sender=sender)
        except RevmRevert as exc:
            return False, exc.reason, None
        self.dirty = True
        return True, None, out

    def _view(self, contract, data: bytes) -> bytes:
        return self.chain.call(contract.address, data, static=True)

    def cash(self, account: int) -> int:
        return _int(self._view(self.world.vault, CASH_OF + _word(account)), 0)

    def auction_active(self, account: int) -> bool:
        return _int(self._view(self.world.liquidation, AUCTION + _word(account)), 2) != 0

    def _violation(self, name: str, detail: str) -> None:
        raise InvariantViolation(name, detail)

    def _check(self, name: str, ok: bool, detail: str = "") -> None:
        self.stats.checks[name] += 1
        if not ok:
            self._violation(name, detail)

    def _expect(self, ok: bool, reason: str | None, want: str | None, what: str, name: str | None = None) -> None:
        """`want` None: the call must succeed; else it must revert with that reason name."""
        if name is not None:
            self.stats.checks[name] += 1
        if want is None and not ok:
            self._violation(name or "unexpected_revert", f"{what} reverted: {reason!r}")
        if want is not None and (ok or reason != E[want]):
            self._violation(name or "unexpected_outcome", f"{what}: expected revert {E[want]!r}, got "
                                                          f"{'success' if ok else repr(reason)}")

    def margin(self, account: int, secondary: bool = False) -> Val:
        data = self._view(self.world.engine, MARGIN_WITH + _word(account) + _word(int(secondary)))
        return Val(*(_int(data, k) for k in range(5)))

    def margin_for_liquidation(self, account: int, secondary: bool = False) -> tuple[Val, int]:
        """Liquidation mode: the penalised result and its penalty on E_mm."""
        data = self._view(self.world.engine, MARGIN_FOR_LIQUIDATION + _word(account) + _word(int(secondary)))
        return Val(*(_int(data, k) for k in range(5))), _int(data, 5)

    def _usable(self, account: int) -> tuple[Val, Val | None, bool]:
        """(primary, secondary or None, stale) as Liquidation sees them: liquidation mode. The primary Val's
        penalty is in `self.penalty` (its health + penalty is the health at the last inputs)."""
        p, self.penalty = self.margin_for_liquidation(account)
        if p.status == STALE:
            return p, None, True
        if p.status == DEGRADED:
            s, _ = self.margin_for_liquidation(account, True)
            return p, s, s.status == STALE
        return p, None, False

    @property
    def in_doubt(self) -> bool:
        """Some input is stale or in doubt (before liquidation mode, such accounts could be blocked)."""
        return any(self.stale.values()) or any(self.stale2.values()) or any(self.vol_stale.values())

    def price(self, symbol: str) -> int:
        return _price(self.params.underlying(symbol).price, self.k[symbol])

    def _set_feeds(self, symbol: str) -> None:
        self.dirty = True
        ref = self.params.underlying(symbol).price
        primary = _price(ref, self.k[symbol])
        secondary = _price(ref, self.k[symbol] + self.deviation[symbol])
        self.world.set_price(symbol, primary, secondary)
        self.txs += 2
        if self.stale[symbol]:
            self._make_stale(symbol)
        if self.stale2[symbol]:
            self._make_stale(symbol, secondary=True)

    def _make_stale(self, symbol: str, secondary: bool = False) -> None:
        heartbeat = self.params.underlying(symbol).heartbeat
        feed = (self.world.feeds2 if secondary else self.world.feeds)[symbol]
        rid, answer, started, _, _ = feed.latestRoundData()
        feed.set_round_data(rid, answer, started, self.world.now - heartbeat - 1, rid, sender=self.world.admin)
        self.txs += 1

    # -- rules: accounts ---------------------------------------------------------------------------------------
    def deposit(self, i: int, symbol: str, amount: int) -> None:
        """Deposit `amount` token units (always succeeds)."""
        t = self.traders[i]
        self.world.deposit(t, symbol, amount)
        self.dirty = True
        self.txs += 3
        self.stats.outcomes["deposit"] += 1

    def fund_insurance(self, amount_usd: int) -> None:
        self.world.seed_insurance_fund(amount_usd)
        self.dirty = True
        self.txs += 3
        self.stats.outcomes["fund insurance"] += 1

    def withdraw(self, i: int, symbol: str, fraction: float) -> None:
        """Withdraw a fraction of a balance; may revert (below IM, stale prices, liquidity)."""
        t, w = self.traders[i], self.world
        token = w.tokens[symbol]
        c = self.params.collateral(symbol)
        have = w.vault.cash_of(t.account) if c.settlement else w.vault.balance_of(t.account, token.address)
        amount = int(max(have, 0) * fraction) // 10 ** (18 - c.decimals)
        if amount <= 0:
            return
        pending = c.settlement and self.loss_pending()
        ok, reason, _ = self._tx(w.vault.withdraw, t.account, token.address, amount, t.address, sender=t.address)
        self.stats.outcomes["withdraw" if ok else f"withdraw reverted: {reason}"] += 1
        if pending:
            self._check("no_withdrawal_of_cash_while_a_known_loss_is_pending", not ok,
                        f"account {t.account} withdrew {amount} {symbol} with a loss pending")
        if ok:
            after = self.margin(t.account)
            self._check("withdrawal_keeps_initial_margin", after.status == OK and not after.below_im,
                        f"account {t.account} after withdrawing {amount} {symbol}: {after}")

    def socialise(self, fraction: float) -> None:
        """Drain `fraction` of the insurance fund (its owner withdraws), so the next insolvent bid's
        uncovered shortfall is socialised through the Vault's loss index."""
        w = self.world
        token = w.tokens[w.settlement]
        cash = w.vault.cash_of(1)
        liquidity = w.vault.asset_info(token.address)[3]
        amount = min(int(cash * fraction), liquidity) // 10 ** (18 - self.params.settlement.decimals)
        if amount <= 0:
            return
        ok, reason, _ = self._tx(w.vault.withdraw, 1, token.address, amount, w.admin, sender=w.admin)
        self.stats.outcomes["drain fund" if ok else f"drain fund reverted: {reason}"] += 1

    # -- rules: trading ----------------------------------------------------------------------------------------
    def trade(self, maker: int, taker: int, market: str, leverage: float, buy: bool, offset: int) -> None:
        """The taker buys (sells) `leverage` × its cash worth of `market` from the maker's standing order at
        `offset` grid steps from the index. Reverts (margin, stale, band) are legitimate outcomes."""
        if maker == taker:
            return
        w = self.world
        m, t = self.traders[maker], self.traders[taker]
        spec = self.spec[market]
        ref = self.params.underlying(spec.underlying).price
        if spec.is_option:
            # premium: Black-76 at the index and vol, on a grid of 0.5 % of the reference price (± offset ticks)
            spot = _price(ref, self.k[spec.underlying]) / WAD
            premium = option_price(spec, spot, self.vol[spec.underlying], w.now)
            tick = ref / 200
            ticks = max(1, round(premium / tick) + offset)
            price = round(ticks * tick * 100) * 10**16
            if spec.is_call:
                price = min(price, _price(ref, self.k[spec.underlying]))
            scale_price = _price(ref, self.k[spec.underlying])  # size options by their underlying notional
        else:
            # fill prices on a coarser grid (PRICE_QUANTUM steps, within ±5 % of the index: inside the 10 %
            # band), so standing orders are re-used and a run signs few of them
            q = PRICE_QUANTUM * round((self.k[spec.underlying] + offset) / PRICE_QUANTUM)
            price = scale_price = _price(ref, q)
        scale = max(self.cash(t.account), 10_000 * WAD)
        size = max(int(scale * leverage) * WAD // scale_price, 10**12)
        maker_size = -size if buy else size
        self.txs += 1
        self.stats.txs += 1
        try:
            w.trade(m, t, market, maker_size, price)
            self.dirty = True
            self.stats.outcomes["trade"] += 1
        except RevmRevert as exc:
            self.stats.outcomes[f"trade reverted: {exc.reason}"] += 1

    # -- rules: market -----------------------------------------------------------------------------------------
    def move_price(self, symbol: str, steps: int) -> None:
        """Move the index by `steps` grid steps (±1 % each; JUMP_UP / JUMP_DOWN are the ±50 % jumps)."""
        self.k[symbol] = max(-GRID_MAX, min(GRID_MAX, self.k[symbol] + steps))
        self._set_feeds(symbol)
        self.stats.outcomes["price jump" if abs(steps) >= 20 else "price move"] += 1

    def make_stale(self, symbol: str) -> None:
        """The primary feed stops updating: its answer is older than the heartbeat (STALE)."""
        self.stale[symbol] = True
        self._make_stale(symbol)
        self.stats.outcomes["stale feed"] += 1
        self.check_oracle_status(symbol)

    def deviate(self, symbol: str, steps: int) -> None:
        """The secondary feed disagrees by `steps` grid steps (DEGRADED beyond 2 %); 0 makes them agree."""
        self.deviation[symbol] = steps
        self._set_feeds(symbol)
        self.stats.outcomes["deviating feed" if steps else "feeds agree"] += 1
        self.check_oracle_status(symbol)

    def refresh(self, symbol: str) -> None:
        """The primary feed updates again (no longer STALE)."""
        self.stale[symbol] = False
        self._set_feeds(symbol)
        self.stats.outcomes["feed refreshed"] += 1
        self.check_oracle_status(symbol)

    def move_vol(self, symbol: str, step: float) -> None:
        """Relative vol move within the VolOracle's rate limit (`vol_range`) and its bounds."""
        lo, hi = self.world.vol.vol_range(self.params.underlying(symbol).id, 0)
        target = round(self.vol[symbol] * (1 + step) * 10**6) * 10**12
        vol = min(max(target, -(-lo // 10**12) * 10**12), hi // 10**12 * 10**12)
        self.world.set_vol(symbol, vol)
        self.dirty = True
        self.vol[symbol] = vol / WAD
        self.vol_stale[symbol] = False
        self.txs += 1
        self.stats.outcomes["vol move"] += 1

    def advance_time(self, seconds: int) -> None:
        """Warp, then new feed rounds (stale feeds stay stale) and vol updates."""
        self.world.warp(seconds)
        for s in self.symbols:
            self._set_feeds(s)
            self.world.set_vol(s, round(self.vol[s] * 10**6) * 10**12)
            self.vol_stale[s] = False
        self.txs += len(self.symbols)
        self.stats.outcomes["advance time"] += 1

    # -- rules: lending (issue 10 §2: negative settlement cash is a loan) ---------------------------------------
    def borrow_cash(self, borrower: int, lender: int, size_eth: float) -> None:
        """Free cash borrowing: the borrower sells `size_eth` ETH-PERP to the lender ~8 % below the index and
        buys it back ~8 % above (the price grid keeps both inside the 10 % band), handing the lender ~16 % of the
        notional in cash (its own cash may go negative: a loan against its collateral). Reverts (margin, band,
        stale) are legitimate outcomes."""
        if borrower == lender:
            return
        w = self.world
        b, lend = self.traders[borrower], self.traders[lender]
        k = self.k["ETH"]
        low = _price(self.params.underlying("ETH").price, PRICE_QUANTUM * round((k - 8) / PRICE_QUANTUM))
        high = _price(self.params.underlying("ETH").price, PRICE_QUANTUM * round((k + 8) / PRICE_QUANTUM))
        size = int(size_eth * WAD)
        self.txs += 2
        self.stats.txs += 2
        try:
            w.trade(lend, b, "ETH-PERP", size, low)
            self.dirty = True
            w.trade(lend, b, "ETH-PERP", -size, high)
            self.stats.outcomes["borrow cash"] += 1
        except RevmRevert as exc:
            self.stats.outcomes[f"borrow cash reverted: {exc.reason}"] += 1

    def accrue_interest(self, seconds: int) -> None:
        """Time passes (feeds refreshed as in advance_time) and a keeper accrues the Vault's interest:
        interest_owed_equals_interest_earned_plus_fund_share."""
        v = self.world.vault
        self._tx(v.accrue, sender=self.world.admin)                       # settle this block first
        debt, positive = v.total_debt(), v.total_positive_cash()
        self.advance_time(seconds)
        pending = [self.cash(a) for a in self.accounts]
        ok, reason, _ = self._tx(v.accrue, sender=self.world.admin)
        events = self.chain.last_events if ok else []
        self._expect(ok, reason, None, "accrue", "interest_owed_equals_interest_earned_plus_fund_share")
        self._check("interest_owed_equals_interest_earned_plus_fund_share",
                    [self.cash(a) for a in self.accounts] == pending, "cash_of before the accrual != after it")
        accrued = [args for name, args in events if name == "InterestAccrued"]
        d_debt, d_positive = v.total_debt() - debt, v.total_positive_cash() - positive
        if not accrued:
            self._check("interest_owed_equals_interest_earned_plus_fund_share", d_debt in (0, 1),
                        f"debt moved by {d_debt} with no interest owed")
            return
        ev = accrued[-1]
        owed = ev["owed"]
        self._check("interest_owed_equals_interest_earned_plus_fund_share",
                    owed == ev["earned"] + ev["fund"] and d_debt in (owed, owed + 1) and d_positive <= owed + 1,
                    f"owed {owed}, earned {ev['earned']}, fund {ev['fund']}, debt +{d_debt}, positive +{d_positive}")
        self.stats.outcomes["interest accrued"] += 1

    # -- rules: oracle doubt (issue 11 §1) ---------------------------------------------------------------------
    def stale_secondary(self, symbol: str) -> None:
        """The secondary feed stops updating while the primary goes on (DEGRADED: liquidation uses the primary)."""
        self.stale2[symbol] = True
        self._make_stale(symbol, secondary=True)
        self.dirty = True
        self.stats.outcomes["stale secondary"] += 1
        self.check_oracle_status(symbol)

    def refresh_secondary(self, symbol: str) -> None:
        self.stale2[symbol] = False
        self._set_feeds(symbol)
        self.stats.outcomes["secondary refreshed"] += 1
        self.check_oracle_status(symbol)

    def dust_collateral(self, i: int, symbol: str) -> None:
        """Trader i deposits the smallest unit of the collateral linked to `symbol`, after that asset's primary
        (or secondary) feed went stale. A liquidatable account stays liquidatable: dust is no shield."""
        token = next((c.symbol for c in self.params.collaterals if c.underlying == symbol), None)
        if token is None:
            return
        if not (self.stale[symbol] or self.stale2[symbol]):
            (self.make_stale if i % 2 else self.stale_secondary)(symbol)
        account = self.traders[i].account
        before, _ = self.margin_for_liquidation(account)
        self.deposit(i, token, 1)
        after, _ = self.margin_for_liquidation(account)
        if before.status != STALE and before.liquidatable:
            self._check("stale_input_never_blocks_liquidation", after.status != STALE and after.liquidatable,
                        f"account {account} after 1 unit of {token} on a stale {symbol}: {before} -> {after}")
        self.stats.outcomes["dust on a stale asset"] += 1

    def miss_vol_update(self, symbol: str) -> None:
        """Time passes the vol heartbeat and `symbol`'s vol update does not come (STALE, read marked up);
        prices (stale feeds excepted) and the other vols are fed as usual."""
        self.world.warp(self.params.oracle.vol_heartbeat + 1)
        for s in self.symbols:
            self._set_feeds(s)
            if s != symbol:
                self.world.set_vol(s, round(self.vol[s] * 10**6) * 10**12)
                self.vol_stale[s] = False
        self.vol_stale[symbol] = True
        self.txs += len(self.symbols)
        self.stats.outcomes["missed vol update"] += 1

    # -- rules: liquidation ------------------------------------------------------------------------------------
    def start_auction(self, target: int, starter: int) -> None:
        if target == starter:
            return
        w = self.world
        a, s = self.traders[target], self.traders[starter]
        active = self.auction_active(a.account)
        p, sec, stale = self._usable(a.account)
        fund_before = self.cash(1)
        doubt = "stale_input_never_blocks_liquidation" if self.in_doubt else None
        if active and not self.expired(target):
            want, name = "AUCTION_ACTIVE", None
        elif stale:
            want, name = "STALE_ORACLE", None
        elif not (p.liquidatable and (sec is None or sec.liquidatable)):
            want, name = "NOT_LIQUIDATABLE", doubt or "healthy_accounts_cannot_be_liquidated"
        else:
            want, name = None, doubt
        ok, reason, _ = self._tx(w.liquidation.start_auction, a.account, s.account, sender=s.address)
        self._expect(ok, reason, want, f"start_auction({a.account}) primary={p} secondary={sec}", name)
        if ok:
            self.in_auction.add(target)
            self._started(target, active, fund_before)
        self.stats.outcomes["auction started" if ok else f"start reverted: {reason}"] += 1

    def liquidatable(self) -> list[int]:
        """Traders a keeper's scan would flag now (liquidatable in liquidation mode at the primary prices)."""
        out = []
        for i, t in enumerate(self.traders):
            r, _ = self.margin_for_liquidation(t.account)
            if r.status != STALE and r.liquidatable:
                out.append(i)
        return out

    def close_auction(self, target: int) -> None:
        w = self.world
        a = self.traders[target]
        if not self.auction_active(a.account):
            return
        p, sec, stale = self._usable(a.account)
        name = None
        if stale:
            want = "STALE_ORACLE"
        elif p.liquidatable and (sec is None or sec.liquidatable):
            want = "STILL_LIQUIDATABLE"
        else:
            want = None
        ok, reason, _ = self._tx(w.liquidation.close_auction, a.account, sender=a.address)
        self._expect(ok, reason, want, f"close_auction({a.account})",
                     name or ("stale_input_never_blocks_liquidation" if self.in_doubt and not stale else None))
        if ok:
            self.in_auction.discard(target)
            self._ended(target)
        self.stats.outcomes["auction closed" if ok else f"close reverted: {reason}"] += 1

    def bid(self, target: int, bidder: int, fraction: float, slack_bps: int) -> None:
        """Bid `fraction` of the portfolio (the whole of it when insolvent) with `max_cost` = quote + slack
        (a negative slack must revert with "price above max cost")."""
        if target == bidder:
            return
        w, liq = self.world, self.world.liquidation
        a, b = self.traders[target], self.traders[bidder]
        active = self.auction_active(a.account)
        if not active:
            ok, reason, _ = self._tx(liq.bid, a.account, b.account, WAD, 2**200, sender=b.address)
            self._expect(ok, reason, "NO_AUCTION", f"bid({a.account}) without auction")
            return
        if self.expired(target):
            ok, reason, _ = self._tx(liq.bid, a.account, b.account, WAD, 2**200, sender=b.address)
            self._expect(ok, reason, "AUCTION_EXPIRED", f"bid({a.account}) on an expired auction",
                         "a_bid_on_an_account_above_mm_reverts")
            return
        p, sec, stale = self._usable(a.account)
        penalty = self.penalty
        if stale:
            ok, reason, _ = self._tx(liq.bid, a.account, b.account, WAD, 2**200, sender=b.address)
            self._expect(ok, reason, "STALE_ORACLE", f"bid({a.account}) on stale prices")
            return
        if not (p.liquidatable and (sec is None or sec.liquidatable)):
            ok, reason, _ = self._tx(liq.bid, a.account, b.account, WAD, 2**200, sender=b.address)
            self._expect(ok, reason, "NOT_LIQUIDATABLE", f"bid({a.account}) not below MM",
                         "a_bid_on_an_account_above_mm_reverts")
            return

        value = liq.mark_value(a.account)
        if sec is not None:
            value = max(value, self._contract_value(a.account, True))
        insolvent = value <= 0
        f = WAD if insolvent else max(1, min(WAD, int(fraction * WAD)))
        payment, cap = liq.quote(a.account, f)
        slack = abs(payment) * slack_bps // 10_000 + (WAD if slack_bps >= 0 else -WAD)
        max_cost = payment + slack
        fund_before = w.vault.cash_of(1)
        if insolvent and slack_bps >= 0:
            # the quote's socialised part is an estimate once positive cash runs out: accept any payment to us
            shortfall = -value + p.mm * liq.discount(a.account) // WAD
            if shortfall - min(shortfall, max(fund_before, 0)) > 0:
                max_cost = max(max_cost, 0)
        escalation = self._escalation_due(target, f, value, p.mm)
        if escalation is not None and slack_bps >= 0:
            # its fund / loss-index part is an estimate too: accept being paid only the owner's part
            max_cost = max(max_cost, escalation["pay"] - escalation["own"])
        insolvent_or_escalated = insolvent or escalation is not None
        d = liq.discount(a.account)
        epoch_before = w.vault.loss_epoch() if insolvent_or_escalated else 0
        index_before = w.vault.loss_index() if insolvent_or_escalated else 0
        positive_before = w.vault.total_positive_cash() if insolvent_or_escalated else 0
        independent = self.independent_value(a.account, secondary=False) if insolvent else None
        had_options = self.options and self.holds_options(a.account)
        option_notional = self.option_notional(a.account) if insolvent and had_options else 0
        if insolvent and sec is not None:
            independent = max(independent, self.independent_value(a.account, secondary=True))

        ok, reason, paid = self._tx(liq.bid, a.account, b.account, f, max_cost, sender=b.address)
        events = self.chain.last_events if ok else []
        if self.in_doubt:
            self.stats.checks["stale_input_never_blocks_liquidation"] += 1
        if not ok:
            legit = {E["BELOW_INITIAL_MARGIN"], E["TOO_MANY_POSITIONS"]}
            if slack_bps < 0 and reason == E["PRICE_ABOVE_MAX"]:
                self.stats.outcomes["bid reverted: price above max cost (as asked)"] += 1
                return
            # liquidatable only under the doubt penalty (healthy at the last inputs, or V·(d + r) > MM): a bid that
            # would lower the health the account has at the last inputs (the discount, or at dust scale the 1 wei
            # per item that pro-rata transfers round against it) is refused: the victim is not sold below it
            refused = penalty > 0 and value > 0 and (p.health + penalty >= 0
                                                     or value * (d + self.fund_fee_rate) > p.mm * WAD)
            if reason == E["HEALTH_DECREASED"] and refused:
                self.stats.outcomes["bid reverted: health decreased (penalty only, refused)"] += 1
                return
            if reason == E["HEALTH_DECREASED"]:
                self._check("bid_never_lowers_health", False, f"bid({a.account}, f={f}) reverted: {reason}")
            if reason == E["STALE_ORACLE"]:
                self._check("stale_input_never_blocks_liquidation", False, f"bid({a.account}, f={f}): {reason}")
            if reason not in legit:
                self._violation("unexpected_revert", f"bid({a.account}, f={f}, max_cost={max_cost}) "
                                f"quote=({payment}, {cap}) value={value} primary={p}: {reason!r}")
            self.stats.outcomes[f"bid reverted: {reason}"] += 1
            return
        # an insolvent quote is an estimate once positive cash runs out (the bid settles funding, which can add
        # positive cash for the loss index to absorb): the bidder may be paid more than quoted, passing a max cost
        # set below the quote (seen once in a 5,000-step run where the whale's own account went under water)
        if slack_bps < 0 and not (insolvent_or_escalated and paid < payment):
            self._violation("unexpected_outcome", f"bid paid {paid} above max_cost {max_cost} (quote {payment})")

        # health at the last inputs: the liquidation-mode health with its penalty added back (= `margin`'s)
        post = self.margin(a.account)
        self._check("bid_never_lowers_health", post.health >= p.health + penalty,
                    f"account {a.account}: health {p.health + penalty} -> {post.health} (f={f}, value={value})")
        # the auction ends once the account is no longer below MM at the primary prices, in liquidation mode
        closed = any(name == "AuctionClosed" for name, _ in events)
        post_liq, _ = self.margin_for_liquidation(a.account)
        self._check("a_bid_on_an_account_above_mm_reverts", closed == (not post_liq.liquidatable),
                    f"account {a.account} after the bid: {post_liq}, auction closed: {closed}")
        bp, bs, _ = self._usable(b.account)
        self._check("bidder_stays_above_im", bp.status != STALE and not bp.below_im
                    and (bs is None or not bs.below_im), f"bidder {b.account} after the bid: {bp} / {bs}")
        if closed:
            self.in_auction.discard(target)
            self._ended(target)
        bad = [args for name, args in events if name == "BadDebt"]
        if self._check_fund_payment(a.account, events, escalation, fund_before, paid, epoch_before, index_before,
                                    positive_before):
            return
        self.stats.outcomes["insolvent bid" if bad else "bid"] += 1
        if had_options:
            self.stats.outcomes["bid on a book with options"] += 1
        if not bad:
            if insolvent:
                self._violation("socialised_loss_equals_uncovered_shortfall", "insolvent bid without BadDebt event")
            return

        # ---- insolvent: bad debt, fund, socialisation
        ev = bad[0]
        # exact for linear books; option legs are priced by the numpy model here: 1e-9 of the option notional
        # apart (Black-76's error scales with the legs, not with the book's net value, which can be near 0)
        tolerance = max(abs(value), option_notional, WAD) // 10**9 if had_options else 0
        self._check("bad_debt_only_when_equity_negative",
                    insolvent and value <= 0 and abs(independent - value) <= tolerance,
                    f"account {a.account}: contract value {value}, recomputed {independent}")
        shortfall = -value + p.mm * d // WAD
        fund_paid = min(shortfall, max(fund_before, 0))
        fund_after = w.vault.cash_of(1)
        social = [args for name, args in events if name == "LossSocialized"]
        rest = shortfall - fund_paid
        detail = (f"shortfall {ev['shortfall']} (expected {shortfall}), fund paid {ev['fund_paid']} "
                  f"(expected {fund_paid}, fund {fund_before} -> {fund_after}), socialised {ev['socialized']} "
                  f"(expected {rest}), vault asked {[s['amount_wad'] for s in social]}, absorbed {ev['absorbed']}")
        epoch_after = w.vault.loss_epoch()
        # absorbed < rest only when the loss wiped out everyone's positive cash: what is left is the bidder's credit
        others = w.vault.total_positive_cash() - max(w.vault.cash_of(b.account), 0)
        self._check("socialised_loss_equals_uncovered_shortfall",
                    ev["shortfall"] == shortfall and ev["fund_paid"] == fund_paid
                    and 0 <= fund_before - fund_after - fund_paid <= 1 and ev["socialized"] == rest
                    and [s["amount_wad"] for s in social] == ([rest] if rest else [])
                    and (ev["absorbed"] == rest or (ev["absorbed"] < rest and others <= 10**6))
                    and paid == -(fund_paid + ev["absorbed"]), detail)
        if rest:
            self.stats.outcomes["socialised"] += 1
            # The Vault lowers its loss index by ceil(absorbed·RAY / Σscaled): the holders together lose up to one
            # index unit more than `absorbed`, i.e. Σscaled/RAY = positive cash / index (+1 wei per account).
            # Negligible at index ~ RAY; coarse once repeated socialisations have pushed the index down
            # (a Vault limitation, counted below and reported by `crossmargin fuzz`).
            self.index_dust += -(-positive_before // max(index_before, 1)) + len(self.accounts)
            if ev["absorbed"] and w.vault.loss_index() < 10**18:
                self.stats.outcomes["vault loss index below 1e-9 (coarse rounding)"] += 1
        if epoch_after != epoch_before:
            self.epochs += 1
            self.stats.outcomes["loss epoch"] += 1

    # -- adversarial: escalation of an auction nobody bids (issue 18) -----------------------------------------
    # An auction left unbid for escalation_delay since its (re)start escalates: a full bid on a sliver
    # 0 < V < reward·MM takes it whole at d(t) and earns a reward (escalation_reward·MM, ramping over T), paid out
    # of the owner's proceeds, then by the fund, then the loss index. Predicted from the shadow expiry
    # (start = expiry - max_age) and checked exactly.
    def _escalation_due(self, target: int, f: int, value: int, mm: int) -> dict | None:
        """The escalated bid the contract must make now (None: an ordinary bid)."""
        lp = self.params.liquidation
        o = lp.onchain()
        if f < WAD or not 0 < value * WAD < mm * o["escalation_reward"] or target not in self.expiry:
            return None
        start = self.expiry[target] - lp.max_age_seconds
        since = start + lp.escalation_delay
        if self.world.now < since:
            return None
        t = min(self.world.now - since, lp.auction_seconds)
        reward = mm * o["escalation_reward"] * t // (WAD * lp.auction_seconds)
        ramp = min(self.world.now - start, lp.auction_seconds)
        d = o["discount_start"] + (o["discount_max"] - o["discount_start"]) * ramp // lp.auction_seconds
        pay = -(-value * (WAD - d) // WAD)
        fee = -(-value * o["fund_fee_rate"] // WAD)
        return {"reward": reward, "pay": pay, "fee": fee, "own": min(reward, pay - fee), "mm": mm,
                "cap": mm * o["escalation_reward"] // WAD}

    def _check_fund_payment(self, account: int, events: list, escalation: dict | None, fund_before: int,
                            paid: int, epoch_before: int, index_before: int, positive_before: int) -> bool:
        """After a successful bid: the fund paid only for an insolvent or an escalated auction, and an escalated
        bid split its reward exactly as predicted. True when it was an escalated bid (counted here)."""
        w, name = self.world, "the_fund_pays_only_for_insolvent_or_escalated_auctions"
        esc = [args for n, args in events if n == "EscalatedBid"]
        bad = any(n == "BadDebt" for n, _ in events)
        fund_after = w.vault.cash_of(1)
        self._check(name, bool(esc) == (escalation is not None),
                    f"account {account}: EscalatedBid {esc}, predicted {escalation}")
        if not esc:
            self._check(name, bad or fund_after >= fund_before,
                        f"account {account}: the fund paid {fund_before - fund_after} in an ordinary solvent bid")
            return False
        ev, e = esc[0], escalation or {}
        rest = e.get("reward", 0) - e.get("own", 0)
        fund_paid = min(rest, max(fund_before + e.get("fee", 0), 0))
        owner = w.vault.cash_of(account)
        want_owner = e.get("pay", 0) - e.get("fee", 0) - e.get("own", 0)
        self._check(name, ev["reward"] == e.get("reward") and ev["owner_paid"] == e.get("own")
                    and ev["fund_paid"] == fund_paid and ev["socialized"] == rest - fund_paid
                    and ev["fund_paid"] + ev["socialized"] <= e.get("cap", -1)
                    and 0 <= want_owner - owner <= 2 and paid == e.get("pay", 0) - e.get("own", 0) - fund_paid
                    - ev["absorbed"], f"account {account}: escalated bid {ev}, predicted {e}, fund paid "
                    f"{fund_paid} ({fund_before} before), owner's cash {owner} (predicted {want_owner}), paid {paid}")
        self.stats.outcomes["escalated bid"] += 1
        if ev["socialized"]:
            self.stats.outcomes["escalated bid socialised"] += 1
            self.index_dust += -(-positive_before // max(index_before, 1)) + len(self.accounts)
            if w.vault.loss_epoch() != epoch_before:
                self.epochs += 1
        return True

    def escalate_unbiddable(self, target: int, bidder: int, quarter: int) -> None:
        """The auction nobody bids (issue 18): an open auction is left unbid to its escalation (plus `quarter`
        quarters of the reward ramp), then a keeper bids for all of it. Predicted by `bid` (an ordinary full
        bid unless the account is a sliver, 0 < V < escalation_reward·MM)."""
        if target == bidder or target not in self.in_auction or target not in self.expiry:
            return
        lp = self.params.liquidation
        at = (self.expiry[target] - lp.max_age_seconds + lp.escalation_delay
              + quarter * lp.auction_seconds // 4)
        if at > self.expiry[target]:
            return
        if at > self.world.now:
            self.advance_time(at - self.world.now)
        self._towards_sliver(self.traders[target].account)
        self.stats.outcomes["escalation"] += 1
        self.bid(target, bidder, 1.0, 0)

    def _towards_sliver(self, account: int, tries: int = 12) -> None:
        """Move prices (2 grid steps at a time, each underlying in turn, in the direction that lowers V) until
        the account is a sliver (0 < V < escalation_reward·MM) or under water, so the escalated path is reached.
        Ordinary price moves: every other account is repriced too."""
        rate, liq = self.params.liquidation.onchain()["escalation_reward"], self.world.liquidation
        for i in range(tries):
            r, _ = self.margin_for_liquidation(account)
            value = liq.mark_value(account)
            if value <= 0 or value * WAD < r.mm * rate or r.status == STALE:
                self.stats.outcomes["escalation: " + ("under water" if value <= 0 else "stale" if r.status == STALE
                                                      else "a sliver")] += 1
                return
            sym = self.symbols[i % len(self.symbols)]
            step = -2 if self.k[sym] - 2 >= -GRID_MAX else 2
            self.move_price(sym, step)
            if liq.mark_value(account) > value and abs(self.k[sym] - 2 * step) <= GRID_MAX:
                self.move_price(sym, -2 * step)
        self.stats.outcomes["escalation: not a sliver"] += 1

    # -- adversarial: stale auctions and loss front-running (issue 10 §4, §5) --------------------------------
    # Shadow state predicted from the machine's own clock and the auctions' events: each open auction's expiry,
    # its loss estimate (-V + MM·d_max when it (re)started insolvent) and whether it holds withdrawals.
    def _loss_shadow_reset(self) -> None:
        self.expiry: dict[int, int] = {}        # trader index -> last second its auction takes bids
        self.need: dict[int, int] = {}          # trader index -> loss estimate of its insolvent auction
        self.holding: set[int] = set()          # trader indices whose auction holds withdrawals
        self.hold_until = 0                     # the hold the Vault must show (0: none)

    def expired(self, target: int) -> bool:
        return target in self.expiry and self.world.now > self.expiry[target]

    def loss_pending(self) -> bool:
        return bool(self.holding) and self.world.now <= self.hold_until

    def _started(self, target: int, restart: bool, fund_before: int) -> None:
        """After a successful (re)start: expiry, d_start, loss estimate and hold, then the Vault's hold."""
        w, lp = self.world, self.params.liquidation
        ev = dict(self.chain.last_events)["AuctionStarted"]
        self.expiry[target] = w.now + lp.max_age_seconds
        self._check("a_new_auction_starts_at_the_opening_discount",
                    w.liquidation.discount(self.traders[target].account) == lp.onchain()["discount_start"],
                    f"trader {target}: discount {w.liquidation.discount(self.traders[target].account)} at its start")
        need = -ev["value"] + ev["mm"] * lp.onchain()["discount_max"] // WAD if ev["insolvent"] else 0
        self.need[target] = need
        if target in self.holding and need == 0:
            self._release(target)
        elif target not in self.holding and need > 0 and sum(self.need.values()) > max(fund_before, 0):
            self.holding.add(target)
            self.hold_until = max(self.hold_until, self.expiry[target])
        self._check_hold()

    def _ended(self, target: int) -> None:
        self.expiry.pop(target, None)
        self.need.pop(target, None)
        if target in self.holding:
            self._release(target)
        self._check_hold()

    def _release(self, target: int) -> None:
        self.holding.discard(target)
        if not self.holding:
            self.hold_until = 0

    def _check_hold(self) -> None:
        got = self.world.vault.loss_hold_until()
        self._check("no_withdrawal_of_cash_while_a_known_loss_is_pending", got == self.hold_until,
                    f"Vault holds until {got}, predicted {self.hold_until} (estimates {self.need}, "
                    f"holding {sorted(self.holding)})")

    def bid_on_old_auction(self, target: int, bidder: int, wait: int, lift: int) -> None:
        """The adversary of §4: an auction stays open while the account recovers (`lift` grid steps in its
        favour on every underlying), time passes, prices fall back half way; the keeper then bids on the old
        auction. Predicted by `bid` (expired / not below MM -> revert); then the auction is closed or restarted
        as a keeper would, and a restart offers d_start again."""
        if target == bidder or target not in self.in_auction:
            return
        for sym in self.symbols:
            self.move_price(sym, lift)
        self.advance_time(wait)
        for sym in self.symbols:
            self.move_price(sym, -(lift // 2))
        self.stats.outcomes["bid on old auction"] += 1
        self.bid(target, bidder, 1.0, 10)
        if target not in self.in_auction:
            return
        if self.expired(target) and self.margin(self.traders[target].account).liquidatable:
            self.start_auction(target, bidder)
        else:
            self.close_auction(target)

    def withdraw_ahead_of_loss(self, holder: int, fraction: float) -> None:
        """The adversary of §5: a cash holder tries to leave while an insolvent auction's loss beyond the fund
        is pending (predicted from the shadow state): the withdrawal must revert "loss pending"."""
        w, t = self.world, self.traders[holder]
        token = w.tokens[w.settlement]
        amount = int(max(self.cash(t.account), 0) * fraction) // 10 ** (18 - self.params.settlement.decimals)
        if amount <= 0:
            return
        pending = self.loss_pending()
        ok, reason, _ = self._tx(w.vault.withdraw, t.account, token.address, amount, t.address, sender=t.address)
        self.stats.outcomes[f"withdraw ahead of a loss: {'ok' if ok else reason}" if pending
                            else ("withdraw" if ok else f"withdraw reverted: {reason}")] += 1
        if pending:
            self._expect(ok, reason, "LOSS_PENDING", f"cash withdrawal by {t.account} with a loss pending",
                         "no_withdrawal_of_cash_while_a_known_loss_is_pending")
        elif ok:
            self._check("no_withdrawal_of_cash_while_a_known_loss_is_pending", True)
    # -- adversarial: a reducing dump to another account (issue 10 §1) -----------------------------------------
    # An account below IM (or anyone) sells `fraction` of its largest linear position to another account about
    # `off` grid steps (1 % each) worse than the index: the owner of both would move the margin the reduction
    # frees to the sibling and leave the hole to the insurance fund. Predicted exactly, then checked.
    WHAT_IF_CASH_USD = 10**9          # top-up of the what-if fill: both sides end far above IM

    def below_im(self) -> list[int]:
        """Traders below IM now (at the primary prices, not STALE): the sibling-dump rule's sellers."""
        out = []
        for i, t in enumerate(self.traders):
            r = self.margin(t.account)
            if r.status != STALE and r.below_im:
                out.append(i)
        return out

    def sibling_dump(self, seller: int, buyer: int, fraction: float, off: int) -> None:
        if seller == buyer:
            return
        w = self.world
        s, b = self.traders[seller], self.traders[buyer]
        linear = [(int(i), size) for i, size, _, _ in w.clearing.positions_of(s.account)
                  if not self.spec_by_id[int(i)].is_option]
        if not linear:
            return
        inst, size = max(linear, key=lambda p: abs(p[1]))
        spec = self.spec_by_id[inst]
        amount = abs(size) if fraction >= 1 else max(1, int(abs(size) * fraction))
        # the seller gives value: sells a long below the index, buys back a short above it; on the trade rule's
        # price grid (PRICE_QUANTUM steps: signed orders are shared), so within `off` + 1 steps of the index
        k = self.k[spec.underlying] + (-off if size > 0 else off)
        price = _price(self.params.underlying(spec.underlying).price, PRICE_QUANTUM * round(k / PRICE_QUANTUM))
        maker_size = amount if size > 0 else -amount           # the buyer's standing order (maker), the seller fills
        self._checked_fill(b, s, spec.name, maker_size, price, "sibling dump")

    def _checked_fill(self, maker: Trader, taker: Trader, market: str, maker_size: int, price: int,
                      label: str) -> None:
        """`World.trade(maker, taker, ...)` with its outcome predicted and checked (see the invariant):
        auction lock first (maker, then taker), then each side's margin rule on the post-trade margin: read after
        a fill, or from a what-if fill with both accounts topped up with cash after a revert. With a price not OK
        the what-if is not exact (the top-up changes the reduction rule): a revert must then name a margin rule."""
        w = self.world
        name = "no_trade_makes_insolvent_or_lowers_under_im_ratio"
        accounts = (maker.account, taker.account)
        pre = {a: self.margin(a) for a in accounts}
        inst = self.spec[market].id
        held = {a: next((int(p[1]) for p in w.clearing.positions_of(a) if int(p[0]) == inst), 0) for a in accounts}
        delta = {maker.account: maker_size, taker.account: -maker_size}
        locked = next((a for a in accounts if self.auction_active(a)), None)
        self.txs += 1
        self.stats.txs += 1
        try:
            w.trade(maker, taker, market, maker_size, price)
            ok, reason = True, None
            self.dirty = True
        except RevmRevert as exc:
            ok, reason = False, exc.reason
        what = f"{label}: {market} maker {maker.account} buys {maker_size} from {taker.account} at {price}, pre {pre}"
        if locked is not None:
            want = "ACCOUNT_IN_AUCTION"
        elif ok:
            post = {a: self.margin(a) for a in accounts}
            want = _margin_rule(pre, post, held, delta)
            for a in accounts:
                self._check(name, post[a].equity_mm >= 0, f"{what}: account {a} left insolvent: {post[a]}")
        elif any(r.status != OK for r in pre.values()):
            self._check(name, reason in {E[r] for r in _MARGIN_REASONS + _MARKET_REASONS},
                        f"{what}: reverted {reason!r}")
            want = _UNKNOWN
        else:
            want = self._what_if(maker, taker, market, maker_size, price, pre, held, delta)
        if want is not _UNKNOWN:
            if want is not None and want not in E:      # not one of ours (e.g. a library's)
                self._check(name, not ok and reason == want, f"{what}: expected revert {want!r}, got {reason!r}")
            else:
                self._expect(ok, reason, want, what, name)
        self.stats.outcomes[label if ok else f"{label} reverted: {reason}"] += 1

    def _what_if(self, maker: Trader, taker: Trader, market: str, maker_size: int, price: int, pre: dict,
                 held: dict, delta: dict):
        """The revert reason name the margin rule gives (None: it passes), from the post-trade margins of a fill
        made in a snapshot with both accounts topped up by WHAT_IF_CASH_USD (cash moves E_im and E_mm 1:1 and no
        requirement); a revert of the what-if itself is the prediction."""
        w = self.world
        snap = self.chain.snapshot()
        try:
            for t in (maker, taker):
                w.deposit(t, "USDC", w.units("USDC", self.WHAT_IF_CASH_USD))
            try:
                w.trade(maker, taker, market, maker_size, price)
            except RevmRevert as exc:
                return _name_of(exc.reason)
            extra = self.WHAT_IF_CASH_USD * WAD
            post = {}
            for a in pre:
                r = self.margin(a)
                post[a] = Val(r.equity_im - extra, r.equity_mm - extra, r.im, r.mm, r.status)
        finally:
            self.chain.revert(snap)
        return _margin_rule(pre, post, held, delta)

    # -- valuation recomputed from raw state (for bad_debt_only_when_equity_negative) ------------------------
    def _contract_value(self, account: int, secondary: bool) -> int:
        """Liquidation's V at the secondary prices: margin_with(.., True).equity_mm + haircuts there."""
        r = self.margin(account, secondary)
        return r.equity_mm + self._haircuts(account, secondary)

    def _prices(self, secondary: bool) -> dict[int, int]:
        out = {}
        for s in self.symbols:
            primary, second, _ = self.world.router.prices(self.params.underlying(s).id)
            out[self.params.underlying(s).id] = second if secondary and second else primary
        return out

    def _haircuts(self, account: int, secondary: bool) -> int:
        """[RiskEngine `Judged.haircut`] Σ bal·P - value_mm: the engine's MM haircuts, an ERC-4626 share token's depth
        capped at SHARE_LIQUIDITY_FACTOR·liquidity·P (h = 1 when nothing is left: a paused vault). Recomputed here
        from raw state, independently of the engine (Liquidation no longer does: it reads the engine's figure)."""
        w = self.world
        total = 0
        for token, bal in zip(w.vault.assets(), w.vault.balances_of(account)):
            if not bal:
                continue
            uid, base_mm, _, slope, depth = w.engine.collateral_risk(token)
            if not uid:
                continue
            primary, second, _ = w.router.prices(uid)     # a share id: asset price x guarded rate
            price = second if secondary and second else primary
            value = bal * price // WAD
            if w.router.share_asset(uid):
                liquidity = w.router.share_state(uid, w.vault.address)[2]
                depth = min(depth, SHARE_LIQUIDITY_FACTOR * liquidity * price // WAD)
            h = WAD
            if depth:
                level = max(bal, w.vault.deposits(token)[1])   # the slope on the smoothed deposits (issue 12 §1)
                h = min(WAD, base_mm + -(-slope * -(-level * price // WAD) // depth))
            total += value - value * (WAD - h) // WAD
        return total

    def independent_value(self, account: int, secondary: bool = False) -> int:
        """Mark value from raw reads: cash + Σ bal·P + Σ_u (Σ size)·S_u - Σ cost - funding owed + options at
        Black-76 (numpy model, so exact only for linear books; sizes summed per underlying before rounding
        down, as the engine does)."""
        w = self.world
        prices = self._prices(secondary)
        value = w.vault.cash_of(account)
        for token, bal in zip(w.vault.assets(), w.vault.balances_of(account)):
            if bal:
                uid = w.vault.asset_info(token)[1]
                if uid and uid not in prices:                 # an ERC-4626 share id: asset price x guarded rate
                    primary, second, _ = w.router.prices(uid)
                    prices[uid] = second if secondary and second else primary
                value += bal * prices[uid] // WAD if uid else 0
        sizes: dict[int, int] = {}
        for inst, size, cost, snap in w.clearing.positions_of(account):
            kind, uid, _, _, settlement, *_ = w.markets.instrument(inst)
            if kind in (Kind.CALL, Kind.PUT):
                spec = self.params.market(int(inst))
                sym = self.params.underlying(uid).symbol
                vol = stale_vol(self.vol[sym], self.params) if self.vol_stale[sym] else self.vol[sym]
                unit = option_price(spec, prices[uid] / WAD, vol, w.now)
                value += int(size * unit) - cost
                continue
            if kind == Kind.FUTURE and settlement:
                value += size * settlement // WAD - cost
                continue
            sizes[uid] = sizes.get(uid, 0) + size
            value -= cost
            if kind == Kind.PERP:
                value -= -(-size * (w.markets.funding_index(inst) - snap) // WAD)
        return value + sum(size * prices[uid] // WAD for uid, size in sizes.items())

    def option_notional(self, account: int) -> int:
        """Σ |size| · S over the account's options (WAD USD): the scale of the pricing error."""
        prices = self._prices(False)
        total = 0
        for inst, size, _, _ in self.world.clearing.positions_of(account):
            if self.spec_by_id[int(inst)].is_option:
                total += abs(size) * prices[self.params.underlying(self.spec_by_id[int(inst)].underlying).id] // WAD
        return total

    def holds_options(self, account: int) -> bool:
        return any(self.spec_by_id[int(p[0])].is_option for p in self.world.clearing.positions_of(account))

    # -- global invariants -------------------------------------------------------------------------------------
    def _global(self) -> tuple[int, bool, bool]:
        """(leak, tokens ok, zero sum ok) from one probe call, re-read only after a state change."""
        if self.dirty or self._last_global is None:
            w = self.world
            out = self._view(self.probe, self._check_data)
            self._last_global = (_int(out, 0), _int(out, 1) != 0, _int(out, 2) != 0)
            self.dirty = False
        return self._last_global

    def _totals_detail(self) -> str:
        w = self.world
        value, positive, debt, net, longs, oi, balances, total_wad, held = self.probe.totals(
            w.vault.address, w.clearing.address, self.accounts, self.n_instruments)
        return (f"held {held}, totals {total_wad}, balances {balances}, W·WAD {value}, net sizes {net}, "
                f"long sizes {longs}, open interest {oi}")

    def check_collateral_conservation(self) -> None:
        leak, tokens_ok, _ = self._global()
        dust = DUST_PER_TX * max(self.txs, 1) + self.index_dust
        ok = tokens_ok and -(self.epochs * len(self.accounts) * WAD) <= leak <= dust * WAD
        self._check("collateral_conservation", ok,
                    "" if ok else f"leak {leak / WAD:.0f} wei over {self.txs} txs; {self._totals_detail()}")

    def check_zero_sum_positions(self) -> None:
        _, _, zero_ok = self._global()
        self._check("zero_sum_positions", zero_ok, "" if zero_ok else self._totals_detail())

    def check_global(self) -> None:
        """Both global invariants (after every step; an unchanged state is not re-read)."""
        self.check_collateral_conservation()
        self.check_zero_sum_positions()

    def step_done(self) -> None:
        self.stats.steps += 1

    # -- adversary: dust wash fills (issue 10 §3) ----------------------------------------------------------------
    DUST_SIZE = 10**9          # 1e-9 units of the underlying per wash fill
    PREMIUM_DUST = 10**6       # WAD of premium rounding allowed per fill (the rate cap is 5e14)

    @property
    def perps(self) -> list[str]:
        return [m.name for m in self.params.markets if m.kind == Kind.PERP]

    def _premium_now(self, perp: int, index: int) -> int:
        """The mark premium at now (WAD), recovered from `mark_price` = index * (1 + P) (0 before any fill)."""
        mark = self.world.markets.mark_price(perp)
        return 0 if mark == 0 else mark * WAD // index - WAD

    def dust_wash(self, a: int, b: int, market: str, up: bool) -> None:
        """Two accounts of one attacker wash-trade `DUST_SIZE` of a perp at the edge of the price band (above
        the index if `up`), zero fees. Reverts (margin, stale, degraded) are legitimate outcomes; a fill that
        lands moves the premium by at most its notional weight."""
        if a == b:
            return
        w = self.world
        spec = self.spec[market]
        perp = spec.id
        index = self.price(spec.underlying)
        band = w.markets.price_band()
        edge = index * band // WAD
        price = index + edge if up else index - edge
        ok_oracle = w.router.price(self.params.underlying(spec.underlying).id)[1] == OK
        before = self._premium_now(perp, index)
        self.txs += 1
        self.stats.txs += 1
        try:
            w.trade(self.traders[a], self.traders[b], market, self.DUST_SIZE if up else -self.DUST_SIZE, price)
        except RevmRevert as exc:
            self.stats.outcomes[f"dust wash reverted: {exc.reason}"] += 1
            return
        self.dirty = True
        self.stats.outcomes["dust wash"] += 1
        if not ok_oracle:
            return
        after = w.markets.funding_state(perp)[2]
        depth = w.markets.funding_params(perp)[3]
        notional = self.DUST_SIZE * price // WAD
        fill = (price - index) * WAD // index
        bound = abs(fill - before) * notional // (notional + depth) + self.PREMIUM_DUST
        self._check("mark_moves_in_proportion_to_notional", abs(after - before) <= bound,
                    f"{market}: a {self.DUST_SIZE}-wei fill at {price} (index {index}) moved the premium from "
                    f"{before} to {after} (bound {bound})")


    # -- oracle status (issue 17: a feed that goes stale must read STALE, on every engine) ------------------------
    # After the machine makes a feed stale, lets it deviate or refreshes it, the router's status for that
    # underlying is the one the feeds' data give (OracleRouter `_prices`): STALE when the primary's last update is
    # older than its heartbeat; else DEGRADED when the secondary is stale or differs from the primary by more
    # than the max deviation; else OK. A feed (or a router) that hides staleness fails here.
    def expected_status(self, symbol: str) -> int:
        if self.stale[symbol]:
            return STALE
        if self.stale2[symbol]:
            return DEGRADED
        ref = self.params.underlying(symbol).price
        primary = _price(ref, self.k[symbol])
        secondary = _price(ref, self.k[symbol] + self.deviation[symbol])
        max_dev = self.params.onchain()["oracle"]["max_deviation"] if not hasattr(self, "_max_dev") else self._max_dev
        self._max_dev = max_dev
        return DEGRADED if abs(primary - secondary) * WAD > max_dev * primary else OK

    def check_oracle_status(self, symbol: str) -> None:
        _, status = self.world.router.price(self.params.underlying(symbol).id)
        want = self.expected_status(symbol)
        self._check("oracle_status_follows_the_feeds", int(status) == want,
                    f"{symbol}: router status {int(status)}, the feeds say {want} (primary stale {self.stale[symbol]}, "
                    f"secondary stale {self.stale2[symbol]}, deviation {self.deviation[symbol]} steps)")


def steps_per_second(steps: int, seconds: float) -> float:
    return steps / seconds if seconds > 0 else math.inf
