# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title crossmargin Liquidation
@custom:contract-name Liquidation
@license MIT
@notice Dutch auctions of under-margined portfolios (DESIGN.md §3 Liquidation,
        TECH_SPEC "Liquidation").

        Glossary
        - portfolio: every position (Clearinghouse), every collateral balance
          and the settlement cash (Vault) of an account.
        - E_mm, E_im, MM, IM: the RiskEngine's `margin` (MM haircuts, IM
          haircuts); health = E_mm - MM; liquidatable iff MM > E_mm.
        - value V: mark value of the portfolio, no haircuts:
          V = E_mm + Σ_k (bal_k·P_k - bal_k·P_k·(1 - h_mm,k)), i.e. the engine's
          equity with the MM haircuts added back (positions, funding and
          settled dated positions exactly as the engine values them). The
          haircut total is the engine's own (`margin_for_liquidation`'s
          `haircut`, summed in its collateral loop at its prices): an ERC-4626
          share token's depth capped by the vault's liquidity (h = 1 without
          any) lowers E_mm, never V (the model's `mark_value`).
        - usable prices: the RiskEngine's liquidation mode (a stale or
          doubtful input makes the account look worse, never blocks) with
          status OK, or DEGRADED (fresh feeds disagreeing) and the condition
          holding at both the primary and the secondary prices; only STALE
          in liquidation mode (sequencer down) blocks. V carries no penalty
          (the mark value at the last inputs); when DEGRADED, V is the larger
          of the two (the bidder pays more).
        - auction: opened by `start_auction` on a liquidatable account (a flag
          fee from the account's cash to the starter); it runs on the parameter
          version current at its start (schedule, fees, max age: a later
          `set_params` does not touch it); bids need the account below MM and
          the auction younger than max_age; it ends when the account is no
          longer below MM (a bid, or anyone's `close_auction`) or is emptied;
          once expired, `start_auction` restarts it at d_start (no new fee).
        - discount d(t) = min(d_max, d_start + (d_max - d_start)·t / T), t the
          seconds since the (re)start.
        - loss hold: an insolvent auction books its loss estimate -V + MM·d_max;
          while the open estimates exceed the insurance fund's cash, the Vault
          refuses settlement-cash withdrawals, at most until the expiry of the
          auction that started the hold (`_book_loss`).
        - solvent bid (V > 0): the bidder takes the fraction f of the whole
          portfolio and pays the account f·V·(1 - d); the account also pays the
          insurance fund a fee f·V·r. f is capped at
              f_max = (IM - E_im) / (IM - E_im + V·(1 - d - r)),
          the fraction after which the account is back above IM if equity and
          requirements scale with 1 - f (requirements shrink at least that
          fast: scenario and basis terms are homogeneous, concentration is
          |N|·max(A, |N|), haircut rates do not rise as the balance falls), or f <= 1 when the
          account is small (MM <= min_partial_mm) or deep under water
          (E_mm <= full_close_health·MM): Aave's close factor rule.
        - insolvent bid (V <= 0): f = 1 only; the bidder takes everything and
          is paid need = -V + MM·d: first by the insurance fund (account 1),
          the rest (the uncovered shortfall) is socialised on positive cash
          through the Vault's loss index; what even that cannot absorb is bad
          debt, recorded (the bidder is then paid less: `_max_cost` guards it).

@dev Entry points: checks -> accrue (oracle status, valuation) -> math ->
     storage -> event -> transfers (Clearinghouse positions, Vault collateral
     and cash) -> post-conditions (static margin calls: the account's health
     did not fall, the bidder is above IM).
     Rounding favours the protocol, then the liquidated account: the bidder's
     payment and the fund fee round up, the fund's payment (MM·d) rounds down,
     f_max rounds up (the cap restores IM), and every pro-rata transfer
     (positions in the Clearinghouse, collateral, cash) rounds against the
     liquidated account by at most 1 wei per item.
     Keepers need no capital beyond their own margined account: the bidder's
     payment is a cash debit that may make its cash negative, as long as it
     stays above IM.
"""

from ethereum.ercs import IERC165

from snekmate.auth import access_control

from .interfaces import IClearinghouse
from .lib import constants
from .lib import errors
from .lib import fixed_point
from .lib import packing
from .lib import types

implements: IERC165

initializes: access_control

exports: access_control.__interface__


interface IVault:
    def adjust_cash(_id: uint256, _delta: int256) -> int256: nonpayable
    def move_collateral(_from: uint256, _to: uint256, _token: address, _amount_wad: uint256): nonpayable
    def socialize_loss(_amount_wad: uint256) -> uint256: nonpayable
    def set_loss_hold(_until: uint256): nonpayable
    def cash_of(_id: uint256) -> int256: view
    def total_positive_cash() -> uint256: view
    def collateral_of(_id: uint256) -> (DynArray[address, constants.MAX_ASSETS], DynArray[uint256, constants.MAX_ASSETS]): view
    def is_authorized(_id: uint256, _caller: address) -> bool: view
    def isolated_instrument(_id: uint256) -> uint256: view


interface IEngine:
    def margin_for_liquidation(
        _account: uint256, _use_secondary: bool
    ) -> (types.MarginResult, uint256, uint256, bool): view


# @dev An account's auction (what `auction()` returns; the Lens reads `active`, the third word).
struct Auction:
    start: uint256               # unix time the auction (re)started
    insolvent: bool              # V <= 0 when it (re)started (bids re-evaluate)
    active: bool                 # open until the account is no longer below MM (or emptied)
    expiry: uint256              # last second a bid is accepted: start + max_age_seconds of its parameters
    version: uint256             # the parameter set it runs on, fixed at (re)start (`auction_params`)
    holds: bool                  # its loss beyond the fund holds settlement-cash withdrawals (Vault)


# @dev Liquidation parameters (`Params.onchain()["liquidation"]`; WAD unless `_seconds`).
struct LiquidationParams:
    discount_start: uint256      # d(0)
    discount_max: uint256        # d(T) and after
    auction_seconds: uint256     # T
    flag_fee_rate: uint256       # starter's fee, fraction of MM
    flag_fee_cap: uint256        # cap of the flag fee (WAD USD)
    fund_fee_rate: uint256       # r: fee to the insurance fund, fraction of the value sold
    min_partial_mm: uint256      # accounts with MM at or below this may be taken whole (WAD USD)
    full_close_health: uint256   # E_mm / MM at or below which the whole portfolio may be taken
    max_age_seconds: uint256     # an auction takes bids for this long after its (re)start, then expires
    escalation_delay: uint256    # seconds after its (re)start before an unbid auction escalates
    escalation_reward: uint256   # cap of an escalated full bid's reward, fraction of MM (reached T after escalating)


# @dev An account's valuation at usable prices (memory only).
struct Valuation:
    margin: types.MarginResult   # at the primary prices, liquidation mode (doubtful inputs penalised)
    penalty: uint256             # what liquidation mode took off margin.equity_mm (E_mm at the last inputs - E_mm)
    value: int256                # V at the last inputs, no penalty (the larger of the two prices when DEGRADED)
    liquidatable: bool           # MM > E_mm (at both prices when DEGRADED)
    below_im: bool               # IM > E_im (at both prices when DEGRADED)
    collateral_free: bool        # holds no collateral token (cash and positions only)


# @dev Rounding margin of the bid proof (`_slack`): absolute part (WAD USD: 1e-4 USD) and relative part of MM.
PROOF_SLACK: constant(uint256) = 10**14
PROOF_SLACK_PARTS: constant(uint256) = 10**6
# @dev Role that sets the liquidation parameters inside the hard bounds below.
RISK_MANAGER_ROLE: public(constant(bytes32)) = constants.RISK_MANAGER_ROLE
# @dev Largest d_max + r: a solvent bid always pays the account something.
MAX_DISCOUNT_PLUS_FEE: constant(uint256) = 9 * 10**17
# @dev Largest flag fee rate (fraction of MM).
MAX_FLAG_FEE_RATE: constant(uint256) = 10**17
# @dev Shortest and longest auction ramp T.
MIN_AUCTION_SECONDS: constant(uint256) = 60
MAX_AUCTION_SECONDS: constant(uint256) = 86400
# @dev Largest batch of `start_auctions`.
MAX_START_BATCH: constant(uint256) = 64
# @dev Longest auction life (`max_age_seconds` in [T, this]): also the longest withdrawal hold of one loss.
MAX_AUCTION_AGE: constant(uint256) = 86400
# @dev Largest escalation reward (fraction of MM).
MAX_ESCALATION_REWARD: constant(uint256) = 5 * 10**17
# @dev Reasons in `AuctionClosed`.
CLOSED_RESTORED: constant(uint8) = 1     # a bid brought the account back above MM
CLOSED_EMPTIED: constant(uint8) = 2      # an insolvent bid took everything
CLOSED_RECOVERED: constant(uint8) = 3    # `close_auction`: no longer below MM without a bid
# @dev WAD as a signed integer.
SWAD: constant(int256) = 10**18
# @dev Bits of a packed auction word.
INSOLVENT_BIT: constant(uint256) = 1 << 64
ACTIVE_BIT: constant(uint256) = 1 << 65
HOLDS_BIT: constant(uint256) = 1 << 66
EXPIRY_SHIFT: constant(uint256) = 67
VERSION_SHIFT: constant(uint256) = 131

# @dev Vault: cash, collateral, loss socialisation.
vault: public(immutable(IVault))
# @dev Clearinghouse: positions (`transfer_portfolio`).
clearinghouse: public(immutable(IClearinghouse))
# @dev RiskEngine: margin in liquidation mode at primary and secondary prices, and the collateral's haircuts.
risk_engine: public(immutable(IEngine))

# @dev Auction per account, packed in one word: start (bits 0-63) | insolvent << 64 | active << 65 |
#      holds << 66 | expiry << 67 (64 bits) | version << 131 (64 bits).
_auctions: HashMap[uint256, uint256]
# @dev Parameter sets by version, four words each (a bid reads the first two: 2 cold slots instead of 11; a
#      full bid on a solvent account with V < 0.5·MM also the fourth, for its escalation):
#      [discount_start | discount_max << 64 | auction_seconds << 128 | flag_fee_rate << 192,
#       fund_fee_rate | full_close_health << 64 | min_partial_mm << 128, flag_fee_cap | max_age_seconds << 128,
#       escalation_delay | escalation_reward << 64].
#      `set_params` writes a new version; an auction runs on the version current at its (re)start.
_param_sets: HashMap[uint256, uint256[4]]
# @dev The current parameter version (1 after deployment).
_version: uint256
# @dev Per account in an insolvent auction: its loss estimate -V + MM·d_max at the (re)start (WAD).
_need: HashMap[uint256, uint256]
# @dev Σ `_need` over open auctions (WAD): compared with the fund's cash to decide a withdrawal hold.
_pending_need: uint256
# @dev Open auctions holding withdrawals, and the end of the hold last sent to the Vault.
_holding: uint256
_hold_until: uint256
# @dev Σ paid by the insurance fund to bidders of insolvent portfolios (WAD).
_fund_paid: uint256
# @dev Σ uncovered shortfall sent to `Vault.socialize_loss` (WAD).
_socialized: uint256
# @dev Σ of it that no positive cash could absorb: unbacked bad debt (WAD).
_bad_debt: uint256


# @dev Emitted when an auction opens; `value` is V, `flag_fee` went to `starter_account`.
event AuctionStarted:
    account: indexed(uint256)
    starter_account: indexed(uint256)
    caller: address
    flag_fee: uint256
    equity_mm: int256
    mm: uint256
    value: int256
    insolvent: bool


# @dev Emitted on every bid; `payment` < 0 means the bidder was paid (insolvent).
event Bid:
    account: indexed(uint256)
    bidder_account: indexed(uint256)
    caller: address
    fraction: uint256
    value: int256
    discount: uint256
    payment: int256
    fund_fee: uint256


# @dev Emitted by an insolvent bid: `shortfall` = -V + MM·d, of which the insurance fund paid
# `fund_paid`; `socialized` = shortfall - fund_paid went to the loss index, which absorbed `absorbed`.
event BadDebt:
    account: indexed(uint256)
    bidder_account: indexed(uint256)
    shortfall: uint256
    fund_paid: uint256
    socialized: uint256
    absorbed: uint256


# @dev Emitted by an escalated bid (issue 18): the bidder took the whole portfolio of an auction left unbid for
# escalation_delay and earned `reward` = `owner_paid` (out of the account's proceeds) + `fund_paid` + `socialized`, of which
# the loss index absorbed `absorbed`.
event EscalatedBid:
    account: indexed(uint256)
    bidder_account: indexed(uint256)
    reward: uint256
    owner_paid: uint256
    fund_paid: uint256
    socialized: uint256
    absorbed: uint256


# @dev Emitted when an auction closes (reason: 1 restored by a bid, 2 emptied, 3 recovered).
event AuctionClosed:
    account: indexed(uint256)
    reason: uint8


# @dev Emitted when the parameters change; `version` is the new set's (auctions started later run on it).
event ParamsSet:
    params: LiquidationParams
    version: uint256


# @dev Emitted when the settlement-cash withdrawal hold changes: held until `until` (0: released).
event LossHold:
    account: indexed(uint256)
    until: uint256
    pending_need: uint256


@deploy
def __init__(_vault: address, _clearinghouse: address, _risk_engine: address, _params: LiquidationParams):
    """
    @notice Deploy over the Vault, the Clearinghouse and the RiskEngine; the deployer becomes admin.
    @dev Afterwards the Vault grants this contract CLEARING_ROLE and the
         Clearinghouse LIQUIDATOR_ROLE.
    @param _vault Vault.
    @param _clearinghouse Clearinghouse.
    @param _risk_engine RiskEngine.
    @param _params Initial parameters (checked as in `set_params`).
    """
    assert _vault != empty(address), errors.EMPTY_ADDRESS
    assert _clearinghouse != empty(address), errors.EMPTY_ADDRESS
    assert _risk_engine != empty(address), errors.EMPTY_ADDRESS
    access_control.__init__()
    vault = IVault(_vault)
    clearinghouse = IClearinghouse(_clearinghouse)
    risk_engine = IEngine(_risk_engine)
    self._set_params(_params)


# ---------------------------------------------------------------- auctions


@external
def start_auction(_account: uint256, _starter_account: uint256) -> bool:
    """
    @notice Open a Dutch auction on a liquidatable account, or restart one that
            expired; the starter's account (owned or operated by the caller)
            earns the flag fee of a new auction.
    @dev Needs usable prices and MM > E_mm (at both prices when DEGRADED).
         Flag fee = min(flag_fee_rate·MM, flag_fee_cap, max(V, 0)), moved from
         the account's cash (which may go negative) to the starter's; none on a
         restart (the account paid it when this auction opened). The auction
         runs on the current parameters (version) for `max_age_seconds`.
         Insolvent (V <= 0): its loss estimate -V + MM·d_max joins the pending
         total; when that exceeds the insurance fund's cash, settlement-cash
         withdrawals are held until the auction's expiry (a restart never
         extends a hold: see `_book_loss`).
    @param _account Account to liquidate.
    @param _starter_account Account credited with the flag fee.
    @return True.
    """
    # ---- checks
    assert _account > constants.FEE_ACCOUNT, errors.RESERVED_ACCOUNT
    assert _starter_account != _account, errors.SAME_ACCOUNT
    assert staticcall vault.is_authorized(_starter_account, msg.sender), errors.NOT_AUTHORIZED
    old: Auction = self._load(_account)
    # dev: an expired auction restarts: new start, discount from d_start, current parameters
    assert not old.active or block.timestamp > old.expiry, errors.AUCTION_ACTIVE

    # ---- accrue: valuation at usable prices
    v: Valuation = self._valuation(_account, True)
    assert v.liquidatable, errors.NOT_LIQUIDATABLE

    # ---- math, storage, event
    version: uint256 = self._version
    fee: uint256 = self._open(_account, _starter_account, old, v, version, self._start_params(version))

    # ---- transfer
    if fee > 0:
        extcall vault.adjust_cash(_account, -convert(fee, int256))
        extcall vault.adjust_cash(_starter_account, convert(fee, int256))
    return True


@external
def start_auctions(_accounts: DynArray[uint256, MAX_START_BATCH], _starter_account: uint256) -> uint256:
    """
    @notice `start_auction` on many accounts in one transaction (a keeper
            after a crash): each account that may be started now is, the
            others are skipped instead of reverting the batch.
    @dev Skipped: reserved ids, the starter's own account, a live auction
         (another keeper was first: no lost race costs a revert), prices
         STALE for the account, not liquidatable. Same rules, fee and events
         per account as `start_auction`; the starter's flag fees are credited
         once, after the loop.
    @param _accounts Accounts to start (at most 64).
    @param _starter_account Account credited with the flag fees (owned or operated by the caller).
    @return How many auctions were (re)started.
    """
    # ---- checks
    assert staticcall vault.is_authorized(_starter_account, msg.sender), errors.NOT_AUTHORIZED
    fees: uint256 = 0
    started: uint256 = 0
    # dev: every start of the batch runs on the current version: its parameters are read once
    version: uint256 = self._version
    p: LiquidationParams = self._start_params(version)
    for account: uint256 in _accounts:
        if account <= constants.FEE_ACCOUNT or account == _starter_account:
            continue
        old: Auction = self._load(account)
        if old.active and block.timestamp <= old.expiry:
            continue
        # ---- accrue (STALE gives a non-liquidatable valuation here: skipped)
        v: Valuation = self._valuation(account, False)
        if not v.liquidatable:
            continue
        # ---- math, storage, event; the account's fee leaves at once (its cash may go negative)
        fee: uint256 = self._open(account, _starter_account, old, v, version, p)
        if fee > 0:
            extcall vault.adjust_cash(account, -convert(fee, int256))
            fees += fee
        started += 1
    # ---- transfer
    if fees > 0:
        extcall vault.adjust_cash(_starter_account, convert(fees, int256))
    return started


@external
def bid(_account: uint256, _bidder_account: uint256, _fraction: uint256, _max_cost: int256) -> int256:
    """
    @notice Take the fraction `_fraction` (capped, see `quote`) of the portfolio
            of a liquidatable account in a live auction into `_bidder_account`
            (owned or operated by the caller) at the current discount.
    @dev Solvent (V > 0): pays the account ceil(f·V·(1 - d)); the account pays
         the fund ceil(f·V·r); f = min(_fraction, cap). Insolvent (V <= 0):
         `_fraction` must be >= 1 (WAD); the bidder takes everything and is
         paid -V + MM·d by the fund, then by the loss index. Reverts when the
         auction expired (restart it with `start_auction`) or the account is
         not below MM (end it with `close_auction`), and unless the payment is
         <= `_max_cost`, the account's health did not fall and the bidder is
         above IM (at both prices when DEGRADED). The discount schedule and fees
         are the auction's own (its parameter version). Closes the auction once
         the account is no longer below MM.
         Escalated (issue 18: the auction ran `escalation_delay` since its
         (re)start unbid, 0 < V < escalation_reward·MM, `_fraction` >= 1): the bidder takes everything at
         d(t) plus a reward R = escalation_reward·MM·min(1, t_e / T) (t_e the
         seconds since it escalated), paid out of the account's proceeds
         V·(1 - d - r) first, then by the fund, then by the loss index
         (`_escalated_bid`); the owner never gets more than a full bid at d(t).
    @param _account Account in auction.
    @param _bidder_account Bidder's account (cross margin, not reserved).
    @param _fraction Fraction wanted (WAD); more than the cap takes the cap.
    @param _max_cost Largest payment accepted (WAD, signed: < 0 asks to be paid at least -_max_cost).
    @return The payment: > 0 paid by the bidder, < 0 received by the bidder.
    """
    # ---- checks
    auction: Auction = self._load(_account)
    assert auction.active, errors.NO_AUCTION
    assert block.timestamp <= auction.expiry, errors.AUCTION_EXPIRED
    assert _bidder_account != _account, errors.SAME_ACCOUNT
    assert _bidder_account > constants.FEE_ACCOUNT, errors.RESERVED_ACCOUNT
    assert _fraction > 0, errors.BAD_FRACTION
    assert staticcall vault.is_authorized(_bidder_account, msg.sender), errors.NOT_AUTHORIZED
    assert staticcall vault.isolated_instrument(_bidder_account) == 0, errors.ISOLATED_BIDDER

    # ---- accrue: valuation at usable prices
    v: Valuation = self._valuation(_account, True)
    # dev: only a liquidatable account is sold: an auction opened earlier never resumes on a healthy account
    assert v.liquidatable, errors.NOT_LIQUIDATABLE
    p: LiquidationParams = self._bid_params(auction.version)
    d: uint256 = self._discount(auction.start, p)
    pre: types.MarginResult = v.margin

    payment: int256 = 0
    f: uint256 = constants.WAD
    escalated: bool = False
    reward: uint256 = 0
    # dev: only a full bid on a solvent sliver (V < escalation_reward·MM) escalates: a larger V is worth a bid
    # at d_max, and its owner keeps the d(t) floor however late (`_reward`)
    if v.value > 0 and _fraction >= constants.WAD:
        escalated, reward = self._reward(auction, p.auction_seconds, pre.mm, convert(v.value, uint256))
    if escalated:
        payment = self._escalated_bid(_account, _bidder_account, v, d, p, reward)
    elif v.value > 0:
        payment, f = self._solvent_bid(_account, _bidder_account, _fraction, v, d, p)
    else:
        assert _fraction >= constants.WAD, errors.FULL_BID_ONLY
        payment = self._insolvent_bid(_account, _bidder_account, v, d)
    assert payment <= _max_cost, errors.PRICE_ABOVE_MAX

    # ---- post-conditions (static calls see the new state): the account's health did not fall and whether it is
    # no longer below MM (the auction ends), proven from `pre` when the proof applies (it proves above IM, see
    # `_restored_by_proof`), else re-evaluated
    # dev: an escalated bid leaves the account fewer proceeds than the proof assumes: re-evaluated (it is empty)
    restored: bool = not escalated and self._restored_by_proof(v, f, d, p.fund_fee_rate)
    if not restored:
        post: types.MarginResult = empty(types.MarginResult)
        post_penalty: uint256 = 0
        post_haircut: uint256 = 0
        post_free: bool = False
        post, post_penalty, post_haircut, post_free = staticcall risk_engine.margin_for_liquidation(_account, False)
        assert self._health(post, post_penalty) >= self._health(pre, v.penalty), errors.HEALTH_DECREASED
        restored = post.equity_mm >= convert(post.mm, int256)
    self._check_bidder(_bidder_account, pre.status)
    if restored:
        self._end(_account, auction)
        reason: uint8 = CLOSED_RESTORED
        if v.value <= 0 or escalated:
            reason = CLOSED_EMPTIED
        log AuctionClosed(account=_account, reason=reason)
    return payment


@external
def close_auction(_account: uint256):
    """
    @notice End the auction of an account that is no longer below MM without
            a bid (deposit, price move), expired or not.
    @dev Anyone. Needs usable prices and E_mm >= MM (at either price when
         DEGRADED): exactly when a bid would revert "not liquidatable". A later
         dip below MM opens a new auction at d_start. Releases the auction's
         loss estimate and withdrawal hold.
    @param _account Account in auction.
    """
    auction: Auction = self._load(_account)
    assert auction.active, errors.NO_AUCTION
    v: Valuation = self._valuation(_account, True)
    assert not v.liquidatable, errors.STILL_LIQUIDATABLE
    self._end(_account, auction)
    log AuctionClosed(account=_account, reason=CLOSED_RECOVERED)


@external
def refresh_loss(_account: uint256):
    """
    @notice Record now that the portfolio in a live auction is worth V <= 0,
            so its loss beyond the insurance fund holds withdrawals from now
            on, as for an auction that opened insolvent.
    @dev Anyone. Needs a live auction, usable prices, a liquidatable account
         and V <= 0. Keeps the auction's start, schedule and expiry; replaces
         its loss estimate by -V + MM·d_max at these prices.
    @param _account Account in auction.
    """
    auction: Auction = self._load(_account)
    assert auction.active, errors.NO_AUCTION
    assert block.timestamp <= auction.expiry, errors.AUCTION_EXPIRED
    v: Valuation = self._valuation(_account, True)
    assert v.liquidatable, errors.NOT_LIQUIDATABLE
    assert v.value <= 0, errors.NOT_INSOLVENT
    p: LiquidationParams = self._bid_params(auction.version)
    fresh: Auction = auction
    fresh.insolvent = True
    self._store(_account, self._book_loss(_account, auction, fresh, v, p.discount_max))


# ---------------------------------------------------------------- admin


@external
def set_params(_params: LiquidationParams):
    """
    @notice Change the liquidation parameters.
    @dev Risk manager only. Bounds: d_start <= d_max, d_max + r <= 0.9,
         60 s <= T <= 1 day, flag fee rate <= 10 %, full_close_health <= 1,
         T <= max_age <= 1 day, escalation_delay <= 1 day, escalation_reward
         <= 0.5. Writes a new parameter version: open auctions
         keep the schedule, fees and expiry they started with.
    @param _params New parameters.
    """
    assert access_control.hasRole[constants.RISK_MANAGER_ROLE][msg.sender], errors.MISSING_ROLE
    self._set_params(_params)


# ---------------------------------------------------------------- views


@external
@view
def auction(_account: uint256) -> Auction:
    """
    @notice The auction of an account.
    @dev Live (takes bids) while active and block.timestamp <= expiry; active
         and expired: `start_auction` restarts it, `close_auction` ends it once
         the account is no longer below MM.
    @param _account Account id.
    @return (start, insolvent, active, expiry, version, holds); all zero if none ever opened.
    """
    return self._load(_account)


@external
@view
def auction_params(_account: uint256) -> LiquidationParams:
    """
    @notice The parameters an account's auction runs on (fixed at its start).
    @param _account Account id.
    @return Its parameter set; the current one when no auction ever opened.
    """
    version: uint256 = self._load(_account).version
    if version == 0:
        version = self._version
    return self._load_params(version)


@external
@view
def discount(_account: uint256) -> uint256:
    """
    @notice Current discount of an account's live auction.
    @param _account Account id.
    @return d(t) on the auction's own schedule (WAD); 0 when no auction is live (none, or expired).
    """
    auction: Auction = self._load(_account)
    if not auction.active or block.timestamp > auction.expiry:
        return 0
    return self._discount(auction.start, self._bid_params(auction.version))


@external
@view
def escalation(_account: uint256) -> (bool, uint256):
    """
    @notice Whether a full bid on an account's live auction is escalated now (unbid for `escalation_delay`
            since its (re)start, its mark value 0 < V < escalation_reward·MM: see `bid`) and the reward it earns.
    @dev Reverts on stale prices (as `quote`).
    @param _account Account id.
    @return (escalated, reward in WAD USD at the account's MM now; 0 unless escalated).
    """
    auction: Auction = self._load(_account)
    if not auction.active or block.timestamp > auction.expiry:
        return False, 0
    v: Valuation = self._valuation(_account, True)
    if v.value <= 0:
        return False, 0
    return self._reward(auction, self._bid_params(auction.version).auction_seconds, v.margin.mm, convert(v.value, uint256))


@external
@view
def quote(_account: uint256, _fraction: uint256) -> (int256, uint256):
    """
    @notice What a bid of `_fraction` would pay now, and the largest fraction.
    @dev Uses d(now) and the parameters of the live auction (the current
         parameters and their d_start when none is live). Solvent:
         (ceil(f·V·(1 - d)), cap) with f = min(_fraction, cap). Escalated
         (a full bid, see `bid`): (pay - owner's part - fund and loss index's
         part of the reward, 1). Insolvent:
         (-(fund payment + socialised), 1) where the shortfall -V + MM·d is
         paid by the fund, then by the loss index up to the positive cash of
         everyone else (an estimate only when that runs out: the account's
         funding is settled in the bid). (0, 0) when the account is not below
         MM (a bid would revert). Reverts on stale prices.
    @param _account Account id.
    @param _fraction Fraction wanted (WAD).
    @return (payment, cap): payment > 0 is paid by the bidder; cap in WAD.
    """
    v: Valuation = self._valuation(_account, True)
    if not v.liquidatable:
        return 0, 0
    auction: Auction = self._load(_account)
    p: LiquidationParams = self._load_params(self._version)
    d: uint256 = p.discount_start
    if auction.active and block.timestamp <= auction.expiry:
        p = self._load_params(auction.version)
        d = self._discount(auction.start, p)
    if v.value <= 0:
        return -convert(self._covered(self._shortfall(v, d), _account, 0), int256), constants.WAD
    if _fraction >= constants.WAD and auction.active and block.timestamp <= auction.expiry:
        escalated: bool = False
        reward: uint256 = 0
        escalated, reward = self._reward(auction, p.auction_seconds, v.margin.mm, convert(v.value, uint256))
        if escalated:
            pay: uint256 = self._price_up(constants.WAD, v.value, constants.WAD - d)
            fee: uint256 = self._price_up(constants.WAD, v.value, p.fund_fee_rate)
            own: uint256 = min(reward, pay - fee)
            covered: uint256 = self._covered(reward - own, _account, fee)
            return convert(pay - own, int256) - convert(covered, int256), constants.WAD
    cap: uint256 = self._fraction_cap(v, d, p)
    f: uint256 = min(_fraction, cap)
    return convert(self._price_up(f, v.value, constants.WAD - d), int256), cap


@external
@view
def mark_value(_account: uint256) -> int256:
    """
    @notice Mark value V of an account's portfolio at the primary prices (no haircuts).
    @dev Whatever the oracle status; read `RiskEngine.margin().status` before acting on it.
         E_mm + penalty + haircut of `RiskEngine.margin_for_liquidation(_account, False)`.
    @param _account Account id.
    @return V (WAD USD, signed).
    """
    r: types.MarginResult = empty(types.MarginResult)
    penalty: uint256 = 0
    haircut: uint256 = 0
    collateral_free: bool = False
    r, penalty, haircut, collateral_free = staticcall risk_engine.margin_for_liquidation(_account, False)
    return r.equity_mm + convert(penalty + haircut, int256)


@external
@view
def params() -> LiquidationParams:
    """
    @notice Current parameters (auctions started from now on run on them).
    @return The parameters.
    """
    return self._load_params(self._version)


@external
@view
def params_version() -> uint256:
    """
    @notice Version of the current parameters (1 at deployment, +1 per `set_params`).
    @return The version.
    """
    return self._version


@external
@view
def loss_hold() -> (uint256, uint256, uint256):
    """
    @notice The known losses of insolvent auctions and the withdrawal hold they cause.
    @return (Σ loss estimates -V + MM·d_max of open insolvent auctions, auctions holding withdrawals,
            end of the hold sent to the Vault: 0 when none), WAD / count / unix time.
    """
    return self._pending_need, self._holding, self._hold_until


@external
@view
def losses() -> (uint256, uint256, uint256):
    """
    @notice Running totals of insolvent auctions.
    @return (paid by the insurance fund, sent to the loss index, not absorbed: bad debt), WAD.
    """
    return self._fund_paid, self._socialized, self._bad_debt


@internal
def _open(
    _account: uint256, _starter_account: uint256, _old: Auction, _v: Valuation, _version: uint256, _p: LiquidationParams
) -> uint256:
    """
    @dev Open (or restart) the auction of a liquidatable account: its flag
         fee, its loss estimate and hold (`_book_loss`), its word and event.
         The caller moves the fee.
    @param _account Account to liquidate.
    @param _starter_account Account credited with the flag fee.
    @param _old Its auction before (inactive, or active and expired).
    @param _v Its valuation (liquidatable).
    @param _version The current parameter version.
    @param _p Its parameters (`_start_params`).
    @return The flag fee (0 on a restart).
    """
    version: uint256 = _version
    p: LiquidationParams = _p
    fee: uint256 = 0
    if not _old.active:
        fee = min(_v.margin.mm * p.flag_fee_rate // constants.WAD, p.flag_fee_cap)
        fee = min(fee, convert(max(_v.value, 0), uint256))
    insolvent: bool = _v.value <= 0
    auction: Auction = Auction(
        start=block.timestamp,
        insolvent=insolvent,
        active=True,
        expiry=block.timestamp + p.max_age_seconds,
        version=version,
        holds=_old.active and _old.holds,
    )
    auction = self._book_loss(_account, _old, auction, _v, p.discount_max)
    self._store(_account, auction)
    log AuctionStarted(
        account=_account,
        starter_account=_starter_account,
        caller=msg.sender,
        flag_fee=fee,
        equity_mm=_v.margin.equity_mm,
        mm=_v.margin.mm,
        value=_v.value,
        insolvent=insolvent,
    )
    return fee


# ---------------------------------------------------------------- internals: bids


@internal
def _solvent_bid(
    _account: uint256, _bidder: uint256, _fraction: uint256, _v: Valuation, _d: uint256, _p: LiquidationParams
) -> (int256, uint256):
    """
    @dev Move f of the portfolio to the bidder; the bidder pays the account,
         the account pays the fund fee. Cash moves after the Clearinghouse has
         settled funding, so the pro-rata share is of the settled cash.
    @param _account Liquidated account.
    @param _bidder Bidder's account.
    @param _fraction Fraction asked (WAD).
    @param _v The account's valuation (V > 0).
    @param _d Discount now.
    @param _p Parameters.
    @return The payment (> 0) and the fraction taken.
    """
    f: uint256 = min(_fraction, self._fraction_cap(_v, _d, _p))
    pay: uint256 = self._price_up(f, _v.value, constants.WAD - _d)
    fee: uint256 = self._price_up(f, _v.value, _p.fund_fee_rate)
    log Bid(
        account=_account,
        bidder_account=_bidder,
        caller=msg.sender,
        fraction=f,
        value=_v.value,
        discount=_d,
        payment=convert(pay, int256),
        fund_fee=fee,
    )

    extcall clearinghouse.transfer_portfolio(_account, _bidder, f)
    # dev: a collateral-free account still holds no collateral token: `_valuation` read that, and only
    # `transfer_portfolio` ran since, which moves positions and cash (never collateral balances)
    if not _v.collateral_free:
        self._move_collateral(_account, _bidder, f)
    # dev: moved cash rounds towards +infinity: less positive cash or more debt stays with the account
    moved: int256 = self._sdiv_up(staticcall vault.cash_of(_account) * convert(f, int256), SWAD)
    self._adjust(_account, convert(pay, int256) - convert(fee, int256) - moved)
    self._adjust(_bidder, moved - convert(pay, int256))
    self._adjust(constants.INSURANCE_FUND, convert(fee, int256))
    return convert(pay, int256), f


@internal
def _insolvent_bid(_account: uint256, _bidder: uint256, _v: Valuation, _d: uint256) -> int256:
    """
    @dev Move everything to the bidder and pay it need = -V + MM·d: the
         account's cash goes to 0 (it travels with the credit), the fund pays
         what it has, the loss index absorbs the rest (neither the emptied
         account nor the drained fund shares that loss; the bidder's own
         earlier cash does, like everyone's).
    @param _account Liquidated account.
    @param _bidder Bidder's account.
    @param _v The account's valuation (V <= 0).
    @param _d Discount now.
    @return The payment (<= 0: -(fund paid + absorbed)).
    """
    need: uint256 = self._shortfall(_v, _d)
    extcall clearinghouse.transfer_portfolio(_account, _bidder, constants.WAD)
    # dev: skipped for a collateral-free account, as in `_solvent_bid`
    if not _v.collateral_free:
        self._move_collateral(_account, _bidder, constants.WAD)
    cash: int256 = staticcall vault.cash_of(_account)
    self._adjust(_account, -cash)
    paid: uint256 = min(need, convert(max(staticcall vault.cash_of(constants.INSURANCE_FUND), 0), uint256))
    self._adjust(constants.INSURANCE_FUND, -convert(paid, int256))
    rest: uint256 = need - paid
    absorbed: uint256 = 0
    if rest > 0:
        absorbed = extcall vault.socialize_loss(rest)
    self._adjust(_bidder, cash + convert(paid + absorbed, int256))

    self._fund_paid += paid
    self._socialized += rest
    self._bad_debt += rest - absorbed
    payment: int256 = -convert(paid + absorbed, int256)
    log Bid(
        account=_account,
        bidder_account=_bidder,
        caller=msg.sender,
        fraction=constants.WAD,
        value=_v.value,
        discount=_d,
        payment=payment,
        fund_fee=0,
    )
    log BadDebt(
        account=_account, bidder_account=_bidder, shortfall=need, fund_paid=paid, socialized=rest, absorbed=absorbed
    )
    return payment


@internal
def _escalated_bid(
    _account: uint256, _bidder: uint256, _v: Valuation, _d: uint256, _p: LiquidationParams, _reward: uint256
) -> int256:
    """
    @dev A full bid on an escalated auction (0 < V < escalation_reward·MM, unbid for
         `escalation_delay` since its (re)start): everything moves to the bidder as in a full
         solvent bid at d(t) (the account is owed pay = ceil(V·(1 - d)) and
         pays the fund fee ceil(V·r)), and the bidder also earns the reward R:
         out of the account's proceeds pay - fee first (the owner never gains
         from its auction escalating), then from the fund, then from the loss
         index (as an insolvent bid's shortfall; what it cannot absorb is bad
         debt). So the fund pays max(0, R - V·(1 - d - r)) <= escalation_reward·MM.
    @param _account Liquidated account.
    @param _bidder Bidder's account.
    @param _v The account's valuation (0 < V < escalation_reward·MM).
    @param _d Discount now d(t) (d_max once the ramp is over).
    @param _p Parameters.
    @param _reward R (WAD USD).
    @return The payment: pay - owner's part - fund paid - absorbed (< 0: the bidder is paid).
    """
    pay: uint256 = self._price_up(constants.WAD, _v.value, constants.WAD - _d)
    fee: uint256 = self._price_up(constants.WAD, _v.value, _p.fund_fee_rate)
    # dev: d + r <= 0.9, so pay >= fee
    own: uint256 = min(_reward, pay - fee)
    rest: uint256 = _reward - own
    extcall clearinghouse.transfer_portfolio(_account, _bidder, constants.WAD)
    if not _v.collateral_free:
        self._move_collateral(_account, _bidder, constants.WAD)
    cash: int256 = staticcall vault.cash_of(_account)
    self._adjust(_account, convert(pay - fee - own, int256) - cash)
    fund: int256 = staticcall vault.cash_of(constants.INSURANCE_FUND) + convert(fee, int256)
    paid: uint256 = min(rest, convert(max(fund, 0), uint256))
    self._adjust(constants.INSURANCE_FUND, convert(fee, int256) - convert(paid, int256))
    absorbed: uint256 = 0
    if rest > paid:
        absorbed = extcall vault.socialize_loss(rest - paid)
    payment: int256 = convert(pay - own, int256) - convert(paid + absorbed, int256)
    self._adjust(_bidder, cash - payment)

    self._fund_paid += paid
    self._socialized += rest - paid
    self._bad_debt += rest - paid - absorbed
    log Bid(
        account=_account,
        bidder_account=_bidder,
        caller=msg.sender,
        fraction=constants.WAD,
        value=_v.value,
        discount=_d,
        payment=payment,
        fund_fee=fee,
    )
    log EscalatedBid(
        account=_account,
        bidder_account=_bidder,
        reward=_reward,
        owner_paid=own,
        fund_paid=paid,
        socialized=rest - paid,
        absorbed=absorbed,
    )
    return payment


@internal
@view
def _reward(_auction: Auction, _ramp: uint256, _mm: uint256, _value: uint256) -> (bool, uint256):
    """
    @dev Whether a full bid on a solvent account escalates: its auction has
         run unbid for its version's `escalation_delay` since its (re)start
         (counted from the start, not from the ramp's end: the ramp is short
         and sized to the block time) and the account is a sliver,
         V < escalation_reward·MM (its whole value is less than the reward
         cap: a larger V is worth a bid at d_max, so its owner keeps the d(t)
         floor however late); and the reward then:
         escalation_reward·MM·min(t_e, T) / T, t_e the seconds since it
         escalated (0 at the escalation, the cap T later), rounded down.
         V >= MAX_ESCALATION_REWARD·MM (the bound of escalation_reward) never
         escalates: such a bid does not read the version's fourth word (a cold slot).
    @param _auction The auction (live).
    @param _ramp Its ramp T (`auction_seconds` of its version).
    @param _mm The account's MM now.
    @param _value Its mark value V (> 0).
    @return (escalated, reward WAD USD).
    """
    if _value * constants.WAD >= _mm * MAX_ESCALATION_REWARD:
        return False, 0
    w3: uint256 = self._param_sets[_auction.version][3]
    since: uint256 = _auction.start + (w3 & packing.U64_MAX)
    rate: uint256 = w3 >> 64
    if block.timestamp < since or _value * constants.WAD >= _mm * rate:
        return False, 0
    t: uint256 = min(block.timestamp - since, _ramp)
    return True, _mm * rate * t // (constants.WAD * _ramp)


@internal
@view
def _covered(_need: uint256, _account: uint256, _extra: uint256) -> uint256:
    """
    @dev What the fund (its cash plus `_extra` the bid pays it first) and then the loss index would pay of
         `_need` (the quote's estimate: the index absorbs at most the positive cash left once the fund and the
         account are emptied).
    @param _need Amount owed to the bidder beyond the account's value (WAD).
    @param _account The liquidated account.
    @param _extra Fee the fund receives in the same bid (WAD).
    @return The part paid (WAD).
    """
    fund: uint256 = convert(max(staticcall vault.cash_of(constants.INSURANCE_FUND), 0), uint256) + _extra
    paid: uint256 = min(_need, fund)
    if _need > paid:
        own: uint256 = convert(max(staticcall vault.cash_of(_account), 0), uint256)
        free: uint256 = staticcall vault.total_positive_cash()
        free = free - min(free, fund + own)
        paid += min(_need - paid, free)
    return paid


@internal
def _move_collateral(_from: uint256, _to: uint256, _fraction: uint256):
    """
    @dev Move ceil(bal·f) of every non-settlement collateral (<= bal: f <= 1).
    @param _from Liquidated account.
    @param _to Bidder's account.
    @param _fraction f (WAD).
    """
    tokens: DynArray[address, constants.MAX_ASSETS] = []
    balances: DynArray[uint256, constants.MAX_ASSETS] = []
    tokens, balances = staticcall vault.collateral_of(_from)
    for i: uint256 in range(len(tokens), bound=constants.MAX_ASSETS):
        if balances[i] == 0:
            continue
        amount: uint256 = fixed_point._mul_div_up(balances[i], _fraction, constants.WAD)
        extcall vault.move_collateral(_from, _to, tokens[i], amount)


@internal
def _adjust(_id: uint256, _delta: int256):
    """
    @dev Send a non-zero cash change to the Vault.
    @param _id Account id.
    @param _delta Signed WAD change (skipped when 0).
    """
    if _delta != 0:
        extcall vault.adjust_cash(_id, _delta)


# ---------------------------------------------------------------- internals: valuation


@internal
@view
def _valuation(_account: uint256, _strict: bool) -> Valuation:
    """
    @dev Margin in liquidation mode (`RiskEngine.margin_for_liquidation`: a
         stale or doubtful input makes the account look worse, never blocks)
         and the value V it is sold at. Reverts only on STALE (sequencer down
         or in its grace period, positions without any price). When DEGRADED
         (both feeds fresh, disagreeing) the conditions must hold at both
         prices and V is the larger one. V carries no penalty: E_mm + penalty
         + haircut, the mark value at the last prices and vols, so a
         doubtful input never lets a bidder buy the portfolio below it. The
         haircut (Σ bal·P - value_mm over the collateral) is the engine's own,
         from the same collateral loop, prices and rounding as E_mm.
    @param _account Account id.
    @param _strict Revert on STALE (else: an empty, non-liquidatable valuation).
    @return The valuation.
    """
    r: types.MarginResult = empty(types.MarginResult)
    penalty: uint256 = 0
    haircut: uint256 = 0
    collateral_free: bool = False
    r, penalty, haircut, collateral_free = staticcall risk_engine.margin_for_liquidation(_account, False)
    if r.status == constants.STALE and not _strict:
        return empty(Valuation)
    assert r.status != constants.STALE, errors.STALE_ORACLE
    v: Valuation = Valuation(
        margin=r,
        penalty=penalty,
        value=r.equity_mm + convert(penalty + haircut, int256),
        liquidatable=convert(r.mm, int256) > r.equity_mm,
        below_im=convert(r.im, int256) > r.equity_im,
        collateral_free=collateral_free,
    )
    if r.status == constants.DEGRADED:
        s: types.MarginResult = empty(types.MarginResult)
        s, penalty, haircut, collateral_free = staticcall risk_engine.margin_for_liquidation(_account, True)
        if s.status == constants.STALE and not _strict:
            return empty(Valuation)
        assert s.status != constants.STALE, errors.STALE_ORACLE
        v.value = max(v.value, s.equity_mm + convert(penalty + haircut, int256))
        v.liquidatable = v.liquidatable and convert(s.mm, int256) > s.equity_mm
        v.below_im = v.below_im and convert(s.im, int256) > s.equity_im
    return v


@internal
@view
def _fraction_cap(_v: Valuation, _d: uint256, _p: LiquidationParams) -> uint256:
    """
    @dev Largest fraction of a solvent account a bid may take: 1 when small
         (MM <= min_partial_mm) or deep under water (E_mm + penalty <= full_close_health·MM),
         else f_max = (IM - E_im) / (IM - E_im + V·(1 - d - r)) rounded up
         (the denominator's V term rounded down), at most 1.
    @param _v Valuation (V > 0, below IM).
    @param _d Discount now.
    @param _p Parameters.
    @return The cap (WAD), >= 1 wei.
    """
    r: types.MarginResult = _v.margin
    if r.mm <= _p.min_partial_mm:
        return constants.WAD
    # dev: deep under water at the last inputs (the liquidation-mode penalty added back): doubt alone never
    # opens a full close of an account that is not
    if (r.equity_mm + convert(_v.penalty, int256)) * SWAD <= convert(r.mm * _p.full_close_health, int256):
        return constants.WAD
    # dev: below IM, so gap > 0; d + r <= 0.9, so the V term is >= 0
    gap: uint256 = convert(convert(r.im, int256) - r.equity_im, uint256)
    net: uint256 = fixed_point._mul_div_down(
        convert(_v.value, uint256), constants.WAD - _d - _p.fund_fee_rate, constants.WAD
    )
    # dev: aim 3 slacks above IM, so a capped bid on a collateral-free account closes by proof
    return min(constants.WAD, fixed_point._mul_div_up(gap + 3 * self._slack(r.mm), constants.WAD, gap + net))


@internal
@view
def _restored_by_proof(_v: Valuation, _f: uint256, _d: uint256, _fee_rate: uint256) -> bool:
    """
    @dev True when it is proven, without re-evaluating the account, that the
         bid raised its health and left it above IM (at the primary prices,
         where the post-condition is read). Applies to a solvent account
         without a liquidation-mode penalty, at OK or DEGRADED prices. Taking f
         of every position, of the cash and of every collateral balance for
         f·V·(1 - d) minus the fee f·V·r leaves
             E' >= (1 - f)·E + f·V·(1 - d - r)        (E_mm and E_im alike):
         positions and cash scale by 1 - f, and the collateral left keeps at
         least its share of its haircut value (a haircut grows with the held
         amount, so the smaller remainder is cut less). V >= E_mm >= E_im at
         the primary prices (V adds the MM haircuts back; when DEGRADED V is
         the larger of the two prices' values, which only adds to the cash
         received). Every requirement term is positively homogeneous or convex
         in the positions and collateral deltas (scenario losses, the
         correlated norm, basis, short-option and concentration add-ons; the
         norm is one because `RiskEngine.set_correlation` only stores a
         positive semi-definite ρ, smallest eigenvalue >= -1e-11), so
         MM' <= (1 - f)·MM and IM' <= (1 - f)·IM. Hence
         health' - health >= f·(MM - E_mm + V·(1 - d - r)) and
         E_im' - IM' >= E_im - IM + f·(IM - E_im + V·(1 - d - r)). Rounding
         (sizes move truncated, costs, cash and collateral rounded against the
         account, every term rounded up) costs far less than one `_slack`.
         Proven when f·(MM - E_mm + V·(1 - d - r)) >= slack (health rose) and
         E_im - IM + f·(IM - E_im + V·(1 - d - r)) >= 2·slack (above IM: the
         cap f_max is built on the same bound). Partial bids
         the bound cannot place above IM are re-evaluated. Each proven bid
         saves a whole margin evaluation (most of the worst-case bid's gas).
    @param _v The account's valuation before the bid.
    @param _f Fraction taken (WAD).
    @param _d Discount.
    @param _fee_rate The fund fee rate r (a parameter; a scalar: the bid path copies no struct for it).
    @return Whether health and restoration are proven.
    """
    r: types.MarginResult = _v.margin
    # dev: not under a liquidation-mode penalty (V = E_mm + penalty): such a rare bid is re-evaluated
    if r.status == constants.STALE or _v.value <= 0 or _v.penalty != 0:
        return False
    slack: int256 = convert(self._slack(r.mm), int256)
    # dev: V(1 - d - r) = V - given, rounded down (given up); V > 0 here and d + r <= 0.9, so it is >= 0
    kept: int256 = _v.value - convert(
        fixed_point._mul_div_up(convert(_v.value, uint256), _d + _fee_rate, constants.WAD), int256
    )
    f: int256 = convert(_f, int256)
    # dev: health' - health >= f·(MM - E_mm + V(1 - d - r)), floored
    rise: int256 = convert(r.mm, int256) - r.equity_mm + kept
    if rise <= 0 or f * rise // SWAD < slack:
        return False
    # dev: E_im' - IM' >= E_im - IM + f·(IM - E_im + V(1 - d - r)), floored (IM > E_im: the account is below IM)
    gain: int256 = f * (convert(r.im, int256) - r.equity_im + kept) // SWAD
    return r.equity_im + gain - convert(r.im, int256) >= 2 * slack


@internal
@pure
def _slack(_mm: uint256) -> uint256:
    """
    @dev Margin of the bid proof over rounding: 1e-4 USD plus 1e-6 of MM
         (orders of magnitude above the rounding of a 32-position book; the
         relative part also bounds the correlated norm's response to the wei
         each moved position leaves behind).
    @param _mm The account's MM before the bid.
    @return WAD USD.
    """
    return PROOF_SLACK + _mm // PROOF_SLACK_PARTS


@internal
@view
def _shortfall(_v: Valuation, _d: uint256) -> uint256:
    """
    @dev What an insolvent portfolio's bidder is owed: -V + MM·d (the MM·d part rounded down).
    @param _v Valuation (V <= 0).
    @param _d Discount now.
    @return WAD USD.
    """
    return convert(-_v.value, uint256) + _v.margin.mm * _d // constants.WAD


@internal
@view
def _discount(_start: uint256, _p: LiquidationParams) -> uint256:
    """
    @dev d(t) = min(d_max, d_start + (d_max - d_start)·t / T), rounded down.
    @param _start Auction start.
    @param _p Parameters.
    @return WAD.
    """
    t: uint256 = min(block.timestamp - _start, _p.auction_seconds)
    return _p.discount_start + (_p.discount_max - _p.discount_start) * t // _p.auction_seconds


@internal
@pure
def _price_up(_fraction: uint256, _value: int256, _rate: uint256) -> uint256:
    """
    @dev ceil(f·V·rate) for V > 0 (all WAD).
    @param _fraction f.
    @param _value V (> 0).
    @param _rate A WAD rate.
    @return WAD USD.
    """
    return fixed_point._mul_div_up(
        fixed_point._mul_div_up(_fraction, convert(_value, uint256), constants.WAD), _rate, constants.WAD
    )


@internal
@pure
def _health(_r: types.MarginResult, _penalty: uint256) -> int256:
    """
    @dev Health E_mm - MM at the last inputs: a liquidation-mode result with
         its penalty added back (a bid must not lower the health the account
         has without the doubt rules: they decide whether it may be sold,
         never at whose expense).
    @param _r Margin result (liquidation mode).
    @param _penalty Its penalty.
    @return Signed WAD.
    """
    return _r.equity_mm + convert(_penalty, int256) - convert(_r.mm, int256)


@internal
@view
def _check_bidder(_bidder: uint256, _status: uint8):
    """
    @dev The bidder must be above IM after the bid, in liquidation mode (what
         it took from a stale feed counts at its penalised value: collateral 0,
         positions at their worst scenario); at both prices when DEGRADED.
    @param _bidder Bidder's account.
    @param _status Oracle status of the liquidated account's prices (liquidation mode).
    """
    r: types.MarginResult = empty(types.MarginResult)
    penalty: uint256 = 0
    haircut: uint256 = 0
    collateral_free: bool = False
    r, penalty, haircut, collateral_free = staticcall risk_engine.margin_for_liquidation(_bidder, False)
    assert r.status != constants.STALE, errors.STALE_ORACLE
    assert r.equity_im >= convert(r.im, int256), errors.BELOW_INITIAL_MARGIN
    if r.status == constants.DEGRADED or _status == constants.DEGRADED:
        s: types.MarginResult = empty(types.MarginResult)
        s, penalty, haircut, collateral_free = staticcall risk_engine.margin_for_liquidation(_bidder, True)
        assert s.status != constants.STALE, errors.STALE_ORACLE
        assert s.equity_im >= convert(s.im, int256), errors.BELOW_INITIAL_MARGIN


@internal
@pure
def _sdiv_up(_x: int256, _d: int256) -> int256:
    """
    @dev Signed division rounded towards +infinity, `_d` > 0.
    @param _x Numerator.
    @param _d Denominator.
    @return ceil(_x / _d).
    """
    q: int256 = _x // _d
    if _x > 0 and q * _d != _x:
        q += 1
    return q


@internal
@view
def _load(_account: uint256) -> Auction:
    """
    @dev Unpack an account's auction word.
    @param _account Account id.
    @return The auction.
    """
    word: uint256 = self._auctions[_account]
    return Auction(
        start=word & packing.U64_MAX,
        insolvent=word & INSOLVENT_BIT != 0,
        active=word & ACTIVE_BIT != 0,
        expiry=(word >> EXPIRY_SHIFT) & packing.U64_MAX,
        version=word >> VERSION_SHIFT,
        holds=word & HOLDS_BIT != 0,
    )


@internal
def _store(_account: uint256, _auction: Auction):
    """
    @dev Pack and store an account's auction (start and expiry < 2**64: unix times; version < 2**64).
    @param _account Account id.
    @param _auction The auction.
    """
    word: uint256 = _auction.start | (_auction.expiry << EXPIRY_SHIFT) | (_auction.version << VERSION_SHIFT)
    if _auction.insolvent:
        word |= INSOLVENT_BIT
    if _auction.active:
        word |= ACTIVE_BIT
    if _auction.holds:
        word |= HOLDS_BIT
    self._auctions[_account] = word


@internal
def _end(_account: uint256, _auction: Auction):
    """
    @dev Close an auction: drop its loss estimate and release its withdrawal hold.
         A solvent-at-start auction without hold only rewrites its word (the bid's path).
    @param _account Account id.
    @param _auction The auction (active).
    """
    a: Auction = _auction
    if a.insolvent:
        need: uint256 = self._need[_account]
        if need > 0:
            self._need[_account] = 0
            self._pending_need -= need
    if a.holds:
        self._release(_account)
    a.active = False
    a.holds = False
    self._store(_account, a)


@internal
def _book_loss(_account: uint256, _old: Auction, _new: Auction, _v: Valuation, _d_max: uint256) -> Auction:
    """
    @dev Replace the account's loss estimate in the pending total: -V + MM·d_max
         (the most its bid costs the fund and the loss index at these prices)
         when insolvent, else 0. When the pending total exceeds the insurance
         fund's cash, part of it would be socialised: the auction holds
         settlement-cash withdrawals until its expiry, so no holder can leave
         ahead of the loss. An auction holds at most once per episode: a
         restart keeps the hold flag and never extends the hold (else restarts
         could freeze withdrawals for ever); an estimate back to 0 releases it.
    @param _account Account id.
    @param _old The account's auction before (active or not).
    @param _new The auction being stored (its `holds` carried over when a restart).
    @param _v Valuation now.
    @param _d_max The auction's d_max.
    @return `_new` with its `holds` flag decided.
    """
    a: Auction = _new
    prior: uint256 = 0
    if _old.active and _old.insolvent:
        prior = self._need[_account]
    need: uint256 = 0
    if a.insolvent:
        need = self._shortfall(_v, _d_max)
    if need != prior:
        self._need[_account] = need
        self._pending_need = self._pending_need + need - prior
    if a.holds and need == 0:
        a.holds = False
        self._release(_account)
    elif not a.holds and need > 0:
        fund: uint256 = convert(max(staticcall vault.cash_of(constants.INSURANCE_FUND), 0), uint256)
        if self._pending_need > fund:
            a.holds = True
            self._holding += 1
            until: uint256 = max(self._hold_until, a.expiry)
            self._hold_until = until
            extcall vault.set_loss_hold(until)
            log LossHold(account=_account, until=until, pending_need=self._pending_need)
    return a


@internal
def _release(_account: uint256):
    """
    @dev One auction stops holding; the last one lifts the Vault's hold.
    @param _account Account whose auction stops holding.
    """
    holding: uint256 = self._holding - 1
    self._holding = holding
    if holding == 0:
        self._hold_until = 0
        extcall vault.set_loss_hold(0)
        log LossHold(account=_account, until=0, pending_need=self._pending_need)


@internal
def _set_params(_p: LiquidationParams):
    """
    @dev Check the parameters and store them as a new version.
    @param _p Parameters.
    """
    assert _p.discount_start <= _p.discount_max, errors.BAD_LIQUIDATION_PARAMS
    assert _p.discount_max + _p.fund_fee_rate <= MAX_DISCOUNT_PLUS_FEE, errors.BAD_LIQUIDATION_PARAMS
    assert _p.auction_seconds >= MIN_AUCTION_SECONDS, errors.BAD_LIQUIDATION_PARAMS
    assert _p.auction_seconds <= MAX_AUCTION_SECONDS, errors.BAD_LIQUIDATION_PARAMS
    assert _p.flag_fee_rate <= MAX_FLAG_FEE_RATE, errors.BAD_LIQUIDATION_PARAMS
    assert _p.full_close_health <= constants.WAD, errors.BAD_LIQUIDATION_PARAMS
    assert _p.max_age_seconds >= _p.auction_seconds, errors.BAD_LIQUIDATION_PARAMS
    assert _p.max_age_seconds <= MAX_AUCTION_AGE, errors.BAD_LIQUIDATION_PARAMS
    assert _p.escalation_delay <= MAX_AUCTION_AGE, errors.BAD_LIQUIDATION_PARAMS
    assert _p.escalation_reward <= MAX_ESCALATION_REWARD, errors.BAD_LIQUIDATION_PARAMS
    version: uint256 = self._version + 1
    self._version = version
    self._param_sets[version] = [
        _p.discount_start | (_p.discount_max << 64) | (_p.auction_seconds << 128) | (_p.flag_fee_rate << 192),
        _p.fund_fee_rate | (_p.full_close_health << 64) | (packing._fit(_p.min_partial_mm, 128) << 128),
        packing._fit(_p.flag_fee_cap, 128) | (_p.max_age_seconds << 128),
        _p.escalation_delay | (_p.escalation_reward << 64),
    ]
    log ParamsSet(params=_p, version=version)


@internal
@view
def _bid_params(_version: uint256) -> LiquidationParams:
    """
    @dev The parameters a bid uses: the first two words of a version (flag_fee_cap, max_age and the escalation
         fields left 0: `_reward` reads its word when the ramp is over).
    @param _version Parameter version.
    @return Parameters.
    """
    w0: uint256 = self._param_sets[_version][0]
    w1: uint256 = self._param_sets[_version][1]
    # dev: 64-bit masks inline (an internal `packing._get` call per field costs ~120 gas on every bid)
    return LiquidationParams(
        discount_start=w0 & packing.U64_MAX,
        discount_max=(w0 >> 64) & packing.U64_MAX,
        auction_seconds=(w0 >> 128) & packing.U64_MAX,
        flag_fee_rate=w0 >> 192,
        flag_fee_cap=0,
        fund_fee_rate=w1 & packing.U64_MAX,
        min_partial_mm=w1 >> 128,
        full_close_health=(w1 >> 64) & packing.U64_MAX,
        max_age_seconds=0,
        escalation_delay=0,
        escalation_reward=0,
    )


@internal
@view
def _start_params(_version: uint256) -> LiquidationParams:
    """
    @dev The parameters a start uses (flag fee, max age, d_max): the first and third words of a version.
    @param _version Parameter version.
    @return Parameters (the second and fourth words' fields left 0, not read).
    """
    w0: uint256 = self._param_sets[_version][0]
    w2: uint256 = self._param_sets[_version][2]
    return LiquidationParams(
        discount_start=w0 & packing.U64_MAX,
        discount_max=(w0 >> 64) & packing.U64_MAX,
        auction_seconds=(w0 >> 128) & packing.U64_MAX,
        flag_fee_rate=w0 >> 192,
        flag_fee_cap=w2 & (2**128 - 1),
        fund_fee_rate=0,
        min_partial_mm=0,
        full_close_health=0,
        max_age_seconds=w2 >> 128,
        escalation_delay=0,
        escalation_reward=0,
    )


@internal
@view
def _load_params(_version: uint256) -> LiquidationParams:
    """
    @dev A parameter version unpacked (every 64-bit field is bounded by `_set_params`).
    @param _version Parameter version.
    @return Parameters.
    """
    p: LiquidationParams = self._bid_params(_version)
    w2: uint256 = self._param_sets[_version][2]
    p.flag_fee_cap = w2 & (2**128 - 1)
    p.max_age_seconds = w2 >> 128
    w3: uint256 = self._param_sets[_version][3]
    p.escalation_delay = w3 & packing.U64_MAX
    p.escalation_reward = w3 >> 64
    return p
