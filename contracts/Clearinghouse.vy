# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title crossmargin Clearinghouse
@custom:contract-name Clearinghouse
@license MIT
@notice Fills EIP-712 signed maker orders against a taker and keeps every
        account's positions.

        Glossary
        - order: `IClearinghouse.Order`, signed by the maker account's owner or
          an operator it approved; filled by a taker (the owner or an operator
          of `taker_account`) at the maker's `limit_price`, in one or several
          partial fills (`filled[order_hash]`). `cancel(account, nonce)` kills
          every order of that account with that nonce.
        - position: per account and instrument `(size, cost, funding_snapshot)`;
          an account holds at most MAX_POSITIONS. Linear cost = entry notional
          of the open size; options have cost 0 (premium moves as cash at fill).
        - notional: `fill_size * price / WAD` (rounded down), the same number for
          both sides, so value moves exactly between them.
        - realised PnL: reducing a linear position realises the closed fraction
          `cost * closed / |size|` against the fill notional into cash; a flip
          closes the whole position and opens the rest. Invariant per account:
          `cash - cost` changes by minus the signed notional (and fees, funding,
          settlement), so `sum(cash - cost)` is conserved across accounts.
        - funding (perps): a traded position first pays
          `size * (index_now - funding_snapshot)` (Markets' cumulative index).
        - settlement (dated): a position in an instrument with a recorded
          settlement price is closed to cash when its account is touched
          (a fill or `settle_account`): futures `size * settle - cost`, options
          `size * max(0, +-(settle - strike))`.
        - pure reduction: |size| does not grow and the sign does not flip.
        - portfolio transfer (liquidation): `transfer_portfolio` moves a fraction
          f of every position of one account to another (LIQUIDATOR_ROLE).
        - margin check (per side, after the trade): pass if the RiskEngine's
          `margin()` has status OK and equity_im >= im; else only a pure
          reduction passes, and only if the account had equity_mm > 0 before
          and its ratio equity_mm / mm did not fall (`_keeps_ratio`: exact
          cross-multiplication; a full close, mm = 0 after, needs
          equity_mm >= 0). A rule on the MM shortfall (mm - equity_mm) alone
          would let a liquidatable account hand the margin a reduction frees
          to its counterparty (a sibling account) at a bad price, leaving the
          loss to the insurance fund. Pause blocks all but pure reductions.
        - auction: an account with an open Liquidation auction changes its
          positions only through the auction (`transfer_portfolio`): a fill
          with it on either side reverts "account in auction".

@dev Entry points: checks -> accrue (Markets funding, expired positions) ->
     math -> storage (positions, Vault cash) -> event -> margin check (static
     calls to the RiskEngine, which reads this contract's `@reentrant` views).
     Rounding favours the protocol: realised PnL, funding and settlement round
     against the account (1 wei), fees round up.
     Invariant used by `settle_account`: `_expiry[id]` is set for every dated
     instrument an account holds (every position is opened by a fill, which
     caches it), so `_expiry[id] == 0` means a perp; its top bit marks an
     option (OPTION_FLAG), so a transfer knows an option lot without another
     storage read.
"""

from ethereum.ercs import IERC165

from snekmate.auth import access_control
from snekmate.utils import ecdsa
from snekmate.utils import eip712_domain_separator
from snekmate.utils import pausable

from .interfaces import IClearinghouse
from .interfaces import IMarkets
from .interfaces import IRiskEngine
from .lib import constants
from .lib import aggregates
from .lib import errors
from .lib import packing
from .lib import types

implements: IERC165
implements: IClearinghouse

initializes: access_control
initializes: pausable
initializes: eip712_domain_separator

exports: (
    access_control.__interface__,
    pausable.paused,
    eip712_domain_separator.eip712Domain,
)


# @dev The Vault calls the Clearinghouse makes.
interface IVault:
    def adjust_cash(_id: uint256, _delta: int256) -> int256: nonpayable
    def is_authorized(_id: uint256, _caller: address) -> bool: view
    def isolated_instrument(_id: uint256) -> uint256: view


# @dev An account's auction as `Liquidation.auction` returns it (only `active` is read).
struct Auction:
    start: uint256
    insolvent: bool
    active: bool


# @dev The Liquidation view the Clearinghouse reads.
interface ILiquidation:
    def auction(_account: uint256) -> Auction: view


# @dev One side of a fill, in memory.
struct Side:
    account: uint256             # account id
    delta: int256                # signed size traded (buy > 0)
    reducing: bool               # pure reduction of an existing position
    pre: types.MarginResult      # margin before the trade (pure reductions only)
    fee: uint256                 # fee paid to the fee account (WAD)
    cash: int256                 # total cash change (WAD)


# @dev Role that sets the taker fee rate inside `max_fee_rate`.
RISK_MANAGER_ROLE: public(constant(bytes32)) = constants.RISK_MANAGER_ROLE
# @dev Role that pauses and unpauses new risk.
GUARDIAN_ROLE: public(constant(bytes32)) = constants.GUARDIAN_ROLE
# @dev Role that moves portfolios between accounts (the Liquidation contract).
LIQUIDATOR_ROLE: public(constant(bytes32)) = constants.LIQUIDATOR_ROLE
# @dev EIP-712 type hash of `Order`.
ORDER_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Order(uint256 account,uint256 instrument,bool is_buy,uint256 size,uint256 limit_price,uint256 nonce,uint256 expiry,uint256 fee_rate)"
)
# @dev WAD as a signed integer (position math is signed).
SWAD: constant(int256) = 10**18
# @dev Top bit of an `_expiry` word: the dated instrument is an option (expiries fit far below it).
OPTION_FLAG: constant(uint256) = 2**255
# @dev Largest fee rate the admin may allow (WAD): 10 % of notional.
MAX_FEE_RATE_CAP: constant(uint256) = 10**17
# @dev Initial `max_fee_rate` (WAD): 1 % of notional.
DEFAULT_MAX_FEE_RATE: constant(uint256) = 10**16
# @dev Width of a position's size and cost fields (two's complement) and their mask.
FIELD_BITS: constant(uint256) = 127
FIELD_MASK: constant(uint256) = 2**127 - 1
# @dev Shift of the fee cap in `_liquidation_and_fee_cap` (above the address).
FEE_CAP_SHIFT: constant(uint256) = 160
# @dev Left shift that puts a position's size field (bits 0-126) at the top of a word (the cost field: one field less).
TOP_SHIFT: constant(uint256) = 256 - FIELD_BITS
# @dev Position id lists: 16-bit fields, 16 per word, 1 + MAX_POSITIONS fields.
ID_BITS: constant(uint256) = 16
ID_MASK: constant(uint256) = 2**16 - 1
IDS_PER_WORD: constant(uint256) = 16
ID_WORDS: constant(uint256) = 3
# @dev Mask of one 96-bit field of a `_crowd` word.
CROWD_MASK: constant(uint256) = 2**96 - 1
# @dev Bit of a position word set while its funding snapshot slot is non-zero.
SNAPSHOT_FLAG: constant(uint256) = 2**255
# @dev Largest `s` of a canonical (low-s) secp256k1 signature (EIP-2).
MAX_S: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168

# @dev Vault holding accounts and settlement cash.
_vault: address
# @dev Markets (instruments, funding, settlement).
_markets: address
# @dev RiskEngine asked for margin around each fill.
_risk_engine: address
# @dev Instrument ids of each account's open positions (insertion order, swap-removed), 16-bit fields:
#      field 0 the count, field k + 1 the k-th id; one slot holds the count and the first 15 ids.
_position_ids: HashMap[uint256, uint256[ID_WORDS]]
# @dev Position per account per instrument in one word (0 when flat; the margin engine reads every
#      position on every check): size (bits 0-126) and cost (127-253), two's complement, and at bit 255
#      whether a funding snapshot is stored (dated positions never read or write that second slot).
_positions: HashMap[uint256, HashMap[uint256, uint256]]
# @dev Perp funding index per account per instrument when last settled (read only if flagged).
_snapshots: HashMap[uint256, HashMap[uint256, int256]]
# @dev Sum of long sizes per instrument (WAD units).
_open_interest: HashMap[uint256, uint256]
# @dev Per underlying id, its open interest summed over its instruments (the crowding aggregate A, WAD units)
#      in one word: A (bits 0-95) | A_s at the last change (96-191) | time of the last change (192-255).
_crowd: HashMap[uint256, uint256]
# @dev Cached expiry of dated instruments seen in a fill (0 = perp or never traded).
_expiry: HashMap[uint256, uint256]
# @dev Open option positions per account (<= MAX_OPTION_POSITIONS).
_option_count: HashMap[uint256, uint256]
# @dev Size filled so far per order hash.
_filled: HashMap[bytes32, uint256]
# @dev account -> nonce -> cancelled.
_cancelled: HashMap[uint256, HashMap[uint256, bool]]
# @dev Fee rate the taker pays (WAD fraction of notional).
_taker_fee_rate: uint256
# @dev One word, as every fill reads both: the Liquidation contract asked whether a fill's accounts are in
#      auction (low 160 bits; empty: not wired, no check) and the largest maker or taker fee rate (WAD, the bits
#      above; admin-set up to MAX_FEE_RATE_CAP).
_liquidation_and_fee_cap: uint256


# @dev Emitted on every fill.
event Fill:
    order_hash: indexed(bytes32)
    maker: indexed(uint256)
    taker: indexed(uint256)
    instrument: uint256
    maker_is_buy: bool
    size: uint256
    price: uint256
    maker_fee: uint256
    taker_fee: uint256


# @dev Emitted when a position changes in a fill; `cash_delta` is its funding,
# realised PnL and option premium (fees and settlement of other positions excluded).
event PositionChanged:
    account: indexed(uint256)
    instrument: indexed(uint256)
    size: int256
    cost: int256
    cash_delta: int256


# @dev Emitted when a dated position is closed at its settlement price.
event PositionSettled:
    account: indexed(uint256)
    instrument: indexed(uint256)
    size: int256
    settlement_price: uint256
    pnl: int256


# @dev Emitted by `settle_account` for each perp position whose funding it settles.
event FundingSettled:
    account: indexed(uint256)
    instrument: indexed(uint256)
    paid: int256
    funding_index: int256


# @dev Emitted when the liquidator moves a fraction of one account's positions to another.
event PortfolioTransferred:
    from_account: indexed(uint256)
    to_account: indexed(uint256)
    fraction: uint256
    positions: uint256


# @dev Emitted when an account cancels a nonce.
event OrderCancelled:
    account: indexed(uint256)
    nonce: indexed(uint256)
    caller: address


# @dev Emitted when the admin rewires a dependency (all three, as they are now).
event ContractsSet:
    vault: address
    markets: address
    risk_engine: address


# @dev Emitted when the admin wires the Liquidation contract (empty: unwired).
event LiquidationSet:
    liquidation: address


# @dev Emitted when a fee rate or its bound changes.
event FeeRatesSet:
    taker_fee_rate: uint256
    max_fee_rate: uint256


@deploy
def __init__(_vault: address, _markets: address, _risk_engine: address):
    """
    @notice Deploy the Clearinghouse; the deployer becomes admin.
    @dev Afterwards: Markets and the Vault grant CLEARING_ROLE to this
         contract; grant GUARDIAN_ROLE and RISK_MANAGER_ROLE here. The taker
         fee starts at 0 and the fee bound at 1 %.
    @param _vault Vault.
    @param _markets Markets.
    @param _risk_engine RiskEngine (IRiskEngine).
    """
    assert _vault != empty(address), errors.EMPTY_ADDRESS
    assert _markets != empty(address), errors.EMPTY_ADDRESS
    assert _risk_engine != empty(address), errors.EMPTY_ADDRESS
    access_control.__init__()
    pausable.__init__()
    eip712_domain_separator.__init__("crossmargin", "1")
    self._vault = _vault
    self._markets = _markets
    self._risk_engine = _risk_engine
    self._liquidation_and_fee_cap = DEFAULT_MAX_FEE_RATE << FEE_CAP_SHIFT


# ---------------------------------------------------------------- trading


@external
def fill(
    _order: IClearinghouse.Order, _signature: Bytes[65], _fill_size: uint256, _taker_account: uint256
) -> bytes32:
    """
    @notice Fill `_fill_size` of a signed maker order at its limit price, with
            `_taker_account` (owned or operated by the caller) on the other side.
    @dev Reverts on a bad or wrong-domain signature, an expired, cancelled or
         overfilled order, an account with an open auction on either side, an
         isolated account trading another instrument, a
         halted/expired instrument or an implausible price (Markets), caps, or
         the margin check (see the glossary). Maker pays `fee_rate`, the taker
         `taker_fee_rate`, both on the notional, to the fee account.
    @param _order The maker order.
    @param _signature 65-byte (r, s, v) EIP-712 signature of the order.
    @param _fill_size Size to fill (WAD units), at most what is left.
    @param _taker_account Taker account id.
    @return The order hash (EIP-712 digest).
    """
    # ---- checks
    assert _fill_size > 0, errors.ZERO_AMOUNT
    assert block.timestamp <= _order.expiry, errors.ORDER_EXPIRED
    assert not self._cancelled[_order.account][_order.nonce], errors.ORDER_CANCELLED
    assert _order.account != _taker_account, errors.SAME_ACCOUNT
    config: uint256 = self._liquidation_and_fee_cap
    assert _order.fee_rate <= config >> FEE_CAP_SHIFT, errors.FEE_TOO_HIGH
    vault: address = self._vault
    assert staticcall IVault(vault).is_authorized(_taker_account, msg.sender), errors.NOT_AUTHORIZED
    self._check_not_in_auction(packing._address_of(config), _order.account, _taker_account)
    order_hash: bytes32 = self._order_hash(_order)
    self._check_signature(vault, order_hash, _signature, _order.account)
    filled: uint256 = self._filled[order_hash] + _fill_size
    assert filled <= _order.size, errors.OVERFILL
    id: uint256 = _order.instrument
    self._check_isolated(vault, _order.account, id)
    self._check_isolated(vault, _taker_account, id)
    notional: int256 = convert(_fill_size * _order.limit_price // constants.WAD, int256)
    assert notional > 0, errors.ZERO_NOTIONAL

    delta: int256 = convert(_fill_size, int256)
    if not _order.is_buy:
        delta = -delta
    maker: Side = self._side(_order.account, id, delta)
    taker: Side = self._side(_taker_account, id, -delta)
    if pausable.paused:
        assert maker.reducing and taker.reducing, errors.PAUSED

    # ---- accrue: Markets checks the instrument and price, accrues funding, moves the mark
    inst: types.Instrument = empty(types.Instrument)
    funding_index: int256 = 0
    inst, funding_index = extcall IMarkets(self._markets).record_fill(id, _order.limit_price, _fill_size)
    if inst.expiry != 0 and self._expiry[id] == 0:
        expiry_word: uint256 = inst.expiry
        if inst.kind == constants.CALL or inst.kind == constants.PUT:
            expiry_word |= OPTION_FLAG
        self._expiry[id] = expiry_word
    engine: address = self._risk_engine
    if maker.reducing:
        maker.pre = staticcall IRiskEngine(engine).margin(maker.account)
    if taker.reducing:
        taker.pre = staticcall IRiskEngine(engine).margin(taker.account)
    maker.cash = self._settle_expired(maker.account)
    taker.cash = self._settle_expired(taker.account)

    # ---- math and storage
    maker_notional: int256 = notional
    if not _order.is_buy:
        maker_notional = -notional
    cash: int256 = 0
    maker_long: int256 = 0
    taker_long: int256 = 0
    cash, maker_long = self._trade(maker.account, inst, id, maker.delta, maker_notional, funding_index)
    maker.cash += cash
    cash, taker_long = self._trade(taker.account, inst, id, taker.delta, -maker_notional, funding_index)
    taker.cash += cash
    # dev: open interest = sum of long sizes; checked against the cap only when it grows
    # dev: the sum of long sizes never goes negative, so the convert cannot fail
    oi: uint256 = convert(convert(self._open_interest[id], int256) + maker_long + taker_long, uint256)
    if maker_long + taker_long > 0:
        assert oi <= inst.max_open_interest, errors.OPEN_INTEREST_CAP
    self._open_interest[id] = oi
    if maker_long + taker_long != 0:
        self._crowd_add(inst.underlying, maker_long + taker_long)

    maker.fee = self._fee(notional, _order.fee_rate)
    taker.fee = self._fee(notional, self._taker_fee_rate)
    maker.cash -= convert(maker.fee, int256)
    taker.cash -= convert(taker.fee, int256)
    self._filled[order_hash] = filled
    self._adjust_cash(vault, maker.account, maker.cash)
    self._adjust_cash(vault, taker.account, taker.cash)
    self._adjust_cash(vault, constants.FEE_ACCOUNT, convert(maker.fee + taker.fee, int256))

    # ---- event
    log Fill(
        order_hash=order_hash,
        maker=maker.account,
        taker=taker.account,
        instrument=id,
        maker_is_buy=_order.is_buy,
        size=_fill_size,
        price=_order.limit_price,
        maker_fee=maker.fee,
        taker_fee=taker.fee,
    )

    # ---- margin (static calls; the RiskEngine sees the post-trade state)
    self._check_margin(engine, maker)
    self._check_margin(engine, taker)
    return order_hash


@external
def cancel(_account: uint256, _nonce: uint256):
    """
    @notice Cancel every order of `_account` signed with `_nonce`.
    @dev Owner or approved operator of the account. Irreversible.
    @param _account Account id.
    @param _nonce Nonce to kill.
    """
    assert staticcall IVault(self._vault).is_authorized(_account, msg.sender), errors.NOT_AUTHORIZED
    self._cancelled[_account][_nonce] = True
    log OrderCancelled(account=_account, nonce=_nonce, caller=msg.sender)


@external
def settle_account(_account: uint256) -> int256:
    """
    @notice Settle an account: close its positions in settled dated
            instruments and pay the funding of its perp positions.
    @dev Anyone; never paused (it takes no risk and leaves equity unchanged).
    @param _account Account id.
    @return The account's total cash change (WAD).
    """
    cash: int256 = self._settle_expired(_account)
    markets: address = self._markets
    ids: DynArray[uint256, constants.MAX_POSITIONS] = self._ids_of(_account)
    for id: uint256 in ids:
        if self._expiry[id] != 0:
            continue
        index: int256 = extcall IMarkets(markets).accrue(id)
        pos: types.Position = self._load_position(_account, id)
        paid: int256 = self._funding_owed(pos, index)
        pos.funding_snapshot = index
        self._store_position(_account, id, pos)
        cash -= paid
        log FundingSettled(account=_account, instrument=id, paid=paid, funding_index=index)
    self._adjust_cash(self._vault, _account, cash)
    return cash


@external
def transfer_portfolio(_from: uint256, _to: uint256, _fraction: uint256):
    """
    @notice Move the fraction `_fraction` of every position of `_from` to `_to`
            (a liquidation bid; cash and collateral move in the Vault).
    @dev LIQUIDATOR_ROLE only; never paused (it moves risk, it adds none) and
         no margin check (the caller checks both accounts). First settles
         `_from`'s settled dated positions and, per moved perp, both sides'
         funding. Each position moves `size·f` rounded towards zero (`_from`
         keeps the dust) with the pro-rata cost `cost·moved/size` rounded down
         (`_from` keeps the larger cost: against the liquidated account). On
         `_to` the lot merges as a fill at that cost, realising PnL where it
         nets an opposite position. Position caps do not apply (no new risk
         enters), MAX_POSITIONS and isolation do. Open interest is unchanged
         unless a lot nets an opposite position of `_to`; it never grows.
    @param _from Account giving up the positions.
    @param _to Account receiving them.
    @param _fraction f (WAD), 0 < f <= 1; f = 1 moves everything exactly.
    """
    # ---- checks
    assert access_control.hasRole[constants.LIQUIDATOR_ROLE][msg.sender], errors.MISSING_ROLE
    assert _from != _to, errors.SAME_ACCOUNT
    assert _fraction > 0 and _fraction <= constants.WAD, errors.BAD_FRACTION
    vault: address = self._vault
    bound: uint256 = staticcall IVault(vault).isolated_instrument(_to)

    # ---- accrue: settled dated positions of `_from` become cash
    cash_from: int256 = self._settle_expired(_from)
    cash_to: int256 = 0
    markets: address = self._markets
    full: bool = _fraction == constants.WAD
    f: int256 = convert(_fraction, int256)
    # dev: a stand-in instrument: linear rules (an option lot has cost 0, so they move nothing), no size cap
    lot_inst: types.Instrument = empty(types.Instrument)
    lot_inst.kind = constants.PERP
    lot_inst.max_position = max_value(uint256)
    ids: DynArray[uint256, constants.MAX_POSITIONS] = self._ids_of(_from)
    for id: uint256 in ids:
        assert bound == 0 or bound == id, errors.WRONG_INSTRUMENT
        index: int256 = 0
        lot_inst.kind = constants.PERP
        expiry_word: uint256 = self._expiry[id]
        if expiry_word == 0:
            # dev: the accrued index, not written: a transfer moves funding exposure, it adds none
            index = staticcall IMarkets(markets).funding_index(id)
        elif expiry_word & OPTION_FLAG != 0:
            # dev: an option lot moves as an option (cost 0: no premium moves), so `_to`'s option count is kept
            lot_inst.kind = constants.CALL

        # ---- math and storage: `_from` gives up the lot
        pos: types.Position = self._load_position(_from, id)
        paid: int256 = self._funding_owed(pos, index)
        cash_from -= paid
        moved: int256 = pos.size * f // SWAD  # dev: truncates towards zero (f = 1: the whole size)
        lot_cost: int256 = pos.cost
        if full:
            self._store_position(_from, id, empty(types.Position))
        else:
            lot_cost = self._div_down(pos.cost * abs(moved), abs(pos.size))
            self._store_position(
                _from, id, types.Position(instrument=id, size=pos.size - moved, cost=pos.cost - lot_cost, funding_snapshot=index)
            )
        log PositionChanged(
            account=_from, instrument=id, size=pos.size - moved, cost=pos.cost - lot_cost, cash_delta=-paid
        )
        if moved == 0:
            continue

        # ---- `_to` takes it as a fill at the lot's cost
        cash: int256 = 0
        long_to: int256 = 0
        cash, long_to = self._trade(_to, lot_inst, id, moved, lot_cost, index)
        cash_to += cash
        change: int256 = long_to + max(pos.size - moved, 0) - max(pos.size, 0)
        if change != 0:
            # dev: change <= 0 (longs only move or net); the sum of long sizes stays >= 0
            self._open_interest[id] = convert(convert(self._open_interest[id], int256) + change, uint256)
            self._crowd_add((staticcall IMarkets(markets).margin_terms(id)).underlying, change)
    if full:
        self._clear_ids(_from, len(ids))
        self._option_count[_from] = 0
    self._adjust_cash(vault, _from, cash_from)
    self._adjust_cash(vault, _to, cash_to)
    log PortfolioTransferred(from_account=_from, to_account=_to, fraction=_fraction, positions=len(ids))


# ---------------------------------------------------------------- admin


@external
def set_vault(_vault: address):
    """
    @notice Rewire the Vault.
    @dev Admin only. The new Vault must grant CLEARING_ROLE to this contract.
    @param _vault Vault.
    """
    self._check_admin_address(_vault)
    self._vault = _vault
    self._log_contracts()


@external
def set_markets(_markets: address):
    """
    @notice Rewire Markets.
    @dev Admin only. The new Markets must grant CLEARING_ROLE to this contract.
    @param _markets Markets.
    """
    self._check_admin_address(_markets)
    self._markets = _markets
    self._log_contracts()


@external
def set_risk_engine(_risk_engine: address):
    """
    @notice Rewire the RiskEngine.
    @dev Admin only.
    @param _risk_engine RiskEngine.
    """
    self._check_admin_address(_risk_engine)
    self._risk_engine = _risk_engine
    self._log_contracts()


@external
def set_liquidation(_liquidation: address):
    """
    @notice Wire the Liquidation contract: fills then revert for accounts
            with an open auction (read through its `auction(account)` view).
    @dev Admin only; once after deploying Liquidation (which takes this
         contract's address), or to rewire it. Until wired there is no check.
    @param _liquidation Liquidation.
    """
    self._check_admin_address(_liquidation)
    self._liquidation_and_fee_cap = (self._fee_cap() << FEE_CAP_SHIFT) | convert(_liquidation, uint256)
    log LiquidationSet(liquidation=_liquidation)


@external
def set_max_fee_rate(_max_fee_rate: uint256):
    """
    @notice Set the bound on maker and taker fee rates.
    @dev Admin only, at most 10 %. Lowering it below the taker rate lowers that too.
    @param _max_fee_rate WAD fraction of notional.
    """
    assert access_control.hasRole[access_control.DEFAULT_ADMIN_ROLE][msg.sender], errors.MISSING_ROLE
    assert _max_fee_rate <= MAX_FEE_RATE_CAP, errors.FEE_TOO_HIGH
    self._liquidation_and_fee_cap = (_max_fee_rate << FEE_CAP_SHIFT) | convert(self._liquidation(), uint256)
    self._taker_fee_rate = min(self._taker_fee_rate, _max_fee_rate)
    log FeeRatesSet(taker_fee_rate=self._taker_fee_rate, max_fee_rate=_max_fee_rate)


@external
def set_taker_fee_rate(_taker_fee_rate: uint256):
    """
    @notice Set the taker fee rate.
    @dev Risk manager only, at most `max_fee_rate`.
    @param _taker_fee_rate WAD fraction of notional.
    """
    assert access_control.hasRole[constants.RISK_MANAGER_ROLE][msg.sender], errors.MISSING_ROLE
    assert _taker_fee_rate <= self._fee_cap(), errors.FEE_TOO_HIGH
    self._taker_fee_rate = _taker_fee_rate
    log FeeRatesSet(taker_fee_rate=_taker_fee_rate, max_fee_rate=self._fee_cap())


@external
def pause():
    """
    @notice Block new risk: while paused only pure reductions fill.
    @dev Guardian only.
    """
    assert access_control.hasRole[constants.GUARDIAN_ROLE][msg.sender], errors.MISSING_ROLE
    assert not pausable.paused, errors.PAUSED
    pausable._pause()


@external
def unpause():
    """
    @notice Lift the pause.
    @dev Guardian only.
    """
    assert access_control.hasRole[constants.GUARDIAN_ROLE][msg.sender], errors.MISSING_ROLE
    assert pausable.paused, errors.NOT_PAUSED
    pausable._unpause()


# ---------------------------------------------------------------- views


@external
@view
def option_count(_account: uint256) -> uint256:
    """
    @notice Open option positions of an account (at most MAX_OPTION_POSITIONS).
    @param _account Account id.
    @return The count.
    """
    return self._option_count[_account]


@external
@view
@reentrant
def positions_of(_account: uint256) -> DynArray[types.Position, constants.MAX_POSITIONS]:
    """
    @notice Every open position of an account.
    @param _account Account id.
    @return (instrument, size, cost, funding_snapshot) per position.
    """
    out: DynArray[types.Position, constants.MAX_POSITIONS] = []
    ids: DynArray[uint256, constants.MAX_POSITIONS] = self._ids_of(_account)
    for id: uint256 in ids:
        out.append(self._load_position(_account, id))
    return out


@external
@view
@reentrant
def position(_account: uint256, _instrument: uint256) -> types.Position:
    """
    @notice One position of an account.
    @param _account Account id.
    @param _instrument Instrument id.
    @return (instrument, size, cost, funding_snapshot); all zero when flat.
    """
    pos: types.Position = self._load_position(_account, _instrument)
    if pos.size == 0:
        pos.instrument = 0
    return pos


@external
@view
@reentrant
def crowding(_uid: uint256) -> (uint256, uint256):
    """
    @notice The crowding aggregate of an underlying: its open interest summed
            over its instruments (long sizes; options count unit for unit),
            now and smoothed (TECH_SPEC "Crowding").
    @param _uid Underlying id.
    @return current A (WAD units).
    @return smoothed A_s: moves towards A over `aggregates.WINDOW` seconds after each change.
    """
    word: uint256 = self._crowd[_uid]
    current: uint256 = word & CROWD_MASK
    return current, aggregates._smoothed(current, (word >> 96) & CROWD_MASK, word >> 192, block.timestamp)


@external
@view
@reentrant
def open_interest(_instrument: uint256) -> uint256:
    """
    @notice Open interest of an instrument.
    @param _instrument Instrument id.
    @return Sum of long sizes (WAD units).
    """
    return self._open_interest[_instrument]


@external
@view
@reentrant
def filled(_order_hash: bytes32) -> uint256:
    """
    @notice Size filled so far of an order.
    @param _order_hash EIP-712 digest of the order.
    @return WAD units.
    """
    return self._filled[_order_hash]


@external
@view
@reentrant
def is_cancelled(_account: uint256, _nonce: uint256) -> bool:
    """
    @notice Whether `_account` cancelled `_nonce`.
    @param _account Account id.
    @param _nonce Order nonce.
    @return True if cancelled.
    """
    return self._cancelled[_account][_nonce]


@external
@view
@reentrant
def order_hash(_order: IClearinghouse.Order) -> bytes32:
    """
    @notice EIP-712 digest of an order in this contract's domain (what the maker signs).
    @param _order The order.
    @return The digest.
    """
    return self._order_hash(_order)


@external
@view
@reentrant
def domain_separator() -> bytes32:
    """
    @notice EIP-712 domain separator (name "crossmargin", version "1", chain id, this contract).
    @return The separator.
    """
    return eip712_domain_separator._domain_separator_v4()


@external
@view
@reentrant
def vault() -> address:
    """
    @notice The Vault.
    @return Its address.
    """
    return self._vault


@external
@view
@reentrant
def markets() -> address:
    """
    @notice Markets.
    @return Its address.
    """
    return self._markets


@external
@view
@reentrant
def risk_engine() -> address:
    """
    @notice The RiskEngine.
    @return Its address.
    """
    return self._risk_engine


@external
@view
@reentrant
def liquidation() -> address:
    """
    @notice The Liquidation contract whose open auctions block fills.
    @return Its address (empty until wired).
    """
    return self._liquidation()


@external
@view
@reentrant
def taker_fee_rate() -> uint256:
    """
    @notice Fee rate the taker pays.
    @return WAD fraction of notional.
    """
    return self._taker_fee_rate


@external
@view
@reentrant
def max_fee_rate() -> uint256:
    """
    @notice Bound on maker and taker fee rates.
    @return WAD fraction of notional.
    """
    return self._fee_cap()


# ---------------------------------------------------------------- internals: checks


@internal
@view
def _order_hash(_order: IClearinghouse.Order) -> bytes32:
    """
    @dev EIP-712 digest of an order.
    @param _order The order.
    @return keccak256("\x19\x01" || domain separator || hashStruct(order)).
    """
    struct_hash: bytes32 = keccak256(
        abi_encode(
            ORDER_TYPEHASH,
            _order.account,
            _order.instrument,
            _order.is_buy,
            _order.size,
            _order.limit_price,
            _order.nonce,
            _order.expiry,
            _order.fee_rate,
        )
    )
    return eip712_domain_separator._hash_typed_data_v4(struct_hash)


@internal
@view
def _check_signature(_vault: address, _hash: bytes32, _signature: Bytes[65], _account: uint256):
    """
    @dev Revert unless `_signature` over `_hash` comes from the owner or an
         operator of `_account`. Length, low-s and v are checked first so a
         malformed signature reverts with our reason, not snekmate's.
    @param _vault Vault (account registry).
    @param _hash Order digest.
    @param _signature 65-byte (r, s, v).
    @param _account Maker account id.
    """
    assert len(_signature) == 65, errors.BAD_SIGNATURE
    s: uint256 = extract32(_signature, 32, output_type=uint256)
    v: uint256 = convert(slice(_signature, 64, 1), uint256)
    assert s <= MAX_S and (v == 27 or v == 28), errors.BAD_SIGNATURE
    signer: address = ecdsa._recover_sig(_hash, _signature)
    assert staticcall IVault(_vault).is_authorized(_account, signer), errors.BAD_SIGNATURE


@internal
@view
def _check_isolated(_vault: address, _account: uint256, _instrument: uint256):
    """
    @dev Revert if `_account` is an isolated subaccount bound to another instrument.
    @param _vault Vault.
    @param _account Account id.
    @param _instrument Instrument traded.
    """
    bound: uint256 = staticcall IVault(_vault).isolated_instrument(_account)
    assert bound == 0 or bound == _instrument, errors.WRONG_INSTRUMENT


@internal
@view
def _side(_account: uint256, _instrument: uint256, _delta: int256) -> Side:
    """
    @dev A side of a fill with its pure-reduction flag: an existing position
         traded against, by at most its size (no flip).
    @param _account Account id.
    @param _instrument Instrument id.
    @param _delta Signed size traded.
    @return The side (fee and cash 0, `pre` empty).
    """
    old: int256 = packing._int_of(self._positions[_account][_instrument] & FIELD_MASK, FIELD_BITS)
    reducing: bool = old != 0 and (old > 0) != (_delta > 0) and abs(_delta) <= abs(old)
    return Side(account=_account, delta=_delta, reducing=reducing, pre=empty(types.MarginResult), fee=0, cash=0)


@internal
@view
def _check_not_in_auction(_liquidation: address, _maker: uint256, _taker: uint256):
    """
    @dev Revert "account in auction" if either account has an open
         Liquidation auction (no check until Liquidation is wired).
    @param _liquidation Liquidation (empty: not wired).
    @param _maker Maker account id.
    @param _taker Taker account id.
    """
    if _liquidation == empty(address):
        return
    assert not (staticcall ILiquidation(_liquidation).auction(_maker)).active, errors.ACCOUNT_IN_AUCTION
    assert not (staticcall ILiquidation(_liquidation).auction(_taker)).active, errors.ACCOUNT_IN_AUCTION


@internal
@view
def _liquidation() -> address:
    """
    @dev The wired Liquidation contract (low bits of `_liquidation_and_fee_cap`).
    @return Its address (empty until wired).
    """
    return packing._address_of(self._liquidation_and_fee_cap)


@internal
@view
def _fee_cap() -> uint256:
    """
    @dev The fee rate bound (high bits of `_liquidation_and_fee_cap`).
    @return WAD fraction of notional.
    """
    return self._liquidation_and_fee_cap >> FEE_CAP_SHIFT


@internal
@view
def _check_margin(_engine: address, _side: Side):
    """
    @dev Post-trade margin rule of one side (see the glossary). Reasons: a new
         risk with prices not OK reverts "stale oracle" / "degraded oracle",
         otherwise "below initial margin"; a pure reduction left below IM (or
         with prices not OK) reverts "account under water" if it had
         equity_mm <= 0 before, "margin ratio fell" if its equity_mm / mm fell.
    @param _engine RiskEngine.
    @param _side The side, with `pre` set if it is a pure reduction.
    """
    r: types.MarginResult = staticcall IRiskEngine(_engine).margin(_side.account)
    if r.status == constants.OK and r.equity_im >= convert(r.im, int256):
        return
    if _side.reducing:
        # dev: an account with no equity left reduces only through its auction (its loss is the fund's)
        assert _side.pre.equity_mm > 0, errors.UNDER_WATER
        assert self._keeps_ratio(_side.pre, r), errors.MARGIN_RATIO_FELL
        return
    assert r.status != constants.STALE, errors.STALE_ORACLE
    assert r.status != constants.DEGRADED, errors.DEGRADED_ORACLE
    raise errors.BELOW_INITIAL_MARGIN


@internal
@pure
def _keeps_ratio(_pre: types.MarginResult, _post: types.MarginResult) -> bool:
    """
    @dev Whether E_mm / MM did not fall, for `_pre.equity_mm` > 0, exactly:
         mm' = 0 (nothing left at risk): E'_mm >= 0 (no loss left behind);
         else E'_mm·MM >= E_mm·MM' (cross-multiplied, both MMs >= 0, no
         rounding; mm = 0 before makes the ratio infinite: only mm' = 0 keeps
         it). With E_mm > 0 and MM' > 0 this also needs E'_mm > 0, so a
         solvent account never leaves a reduction insolvent.
    @param _pre Margin before the trade (equity_mm > 0).
    @param _post Margin after the trade.
    @return True if the ratio did not fall.
    """
    if _post.mm == 0:
        return _post.equity_mm >= 0
    # dev: WAD values below 2**110 (1e15 USD) keep both products far from 2**255; beyond, the checked math reverts
    return _post.equity_mm * convert(_pre.mm, int256) >= _pre.equity_mm * convert(_post.mm, int256)


@internal
def _check_admin_address(_addr: address):
    """
    @dev Admin check and non-empty address for the rewiring setters.
    @param _addr New address.
    """
    assert access_control.hasRole[access_control.DEFAULT_ADMIN_ROLE][msg.sender], errors.MISSING_ROLE
    assert _addr != empty(address), errors.EMPTY_ADDRESS


@internal
def _log_contracts():
    """
    @dev Log the current wiring.
    """
    log ContractsSet(vault=self._vault, markets=self._markets, risk_engine=self._risk_engine)


# ---------------------------------------------------------------- internals: positions


@internal
def _trade(
    _account: uint256,
    _inst: types.Instrument,
    _id: uint256,
    _delta: int256,
    _notional: int256,
    _funding_index: int256,
) -> (int256, int256):
    """
    @dev Apply a fill to one position: pay funding, then add (cost +=
         notional), reduce (realise the closed fraction, rounded against the
         account) or flip (close all, open the rest); options move the premium
         instead. Checks the position cap, MAX_POSITIONS and MAX_OPTION_POSITIONS;
         writes storage.
    @param _account Account id.
    @param _inst Instrument data.
    @param _id Instrument id.
    @param _delta Signed size traded.
    @param _notional Signed notional of the trade (> 0 for the buyer).
    @param _funding_index Cumulative funding index now (0 for non-perps).
    @return The account's cash change from this position (WAD) and the change
            of its long size (max(new, 0) - max(old, 0)), for open interest.
    """
    pos: types.Position = self._load_position(_account, _id)
    old: int256 = pos.size
    new: int256 = old + _delta
    cash: int256 = -self._funding_owed(pos, _funding_index)
    pos.funding_snapshot = _funding_index

    if _inst.kind == constants.CALL or _inst.kind == constants.PUT:
        cash -= _notional
    elif old == 0 or (old > 0) == (_delta > 0):
        pos.cost += _notional
    elif abs(_delta) <= abs(old):
        closed: int256 = self._div_up(pos.cost * abs(_delta), abs(old))
        pos.cost -= closed
        cash -= _notional + closed
    else:
        closing: int256 = self._div_up(_notional * abs(old), abs(_delta))
        cash -= closing + pos.cost
        pos.cost = _notional - closing

    if abs(new) > abs(old):
        assert convert(abs(new), uint256) <= _inst.max_position, errors.POSITION_CAP

    is_option: bool = _inst.kind == constants.CALL or _inst.kind == constants.PUT
    if new == 0:
        self._store_position(_account, _id, empty(types.Position))
        self._remove_id(_account, _id)
        if is_option:
            self._option_count[_account] -= 1
    else:
        if old == 0:
            self._append_id(_account, _id)
            if is_option:
                n: uint256 = self._option_count[_account] + 1
                assert n <= constants.MAX_OPTION_POSITIONS, errors.TOO_MANY_OPTIONS
                self._option_count[_account] = n
        pos.size = new
        self._store_position(_account, _id, pos)
    log PositionChanged(account=_account, instrument=_id, size=new, cost=pos.cost, cash_delta=cash)
    return cash, max(new, 0) - max(old, 0)


@internal
def _crowd_add(_uid: uint256, _change: int256):
    """
    @dev The crowding aggregate A of `_uid` moves by `_change` (an open
         interest change): checkpoint A_s at its value now (lib/aggregates).
    @param _uid Underlying id.
    @param _change Signed change of the open interest (WAD units).
    """
    word: uint256 = self._crowd[_uid]
    current: uint256 = word & CROWD_MASK
    last: uint256 = aggregates._smoothed(current, (word >> 96) & CROWD_MASK, word >> 192, block.timestamp)
    # dev: A is a sum of open interests (>= 0); both fields stay below 2**96 (~7.9e10 units)
    new: uint256 = convert(convert(current, int256) + _change, uint256)
    assert new <= CROWD_MASK, errors.CROWDING_OVERFLOW
    self._crowd[_uid] = new | (last << 96) | (block.timestamp << 192)


@internal
def _settle_expired(_account: uint256) -> int256:
    """
    @dev Close every position of `_account` in a dated instrument whose
         settlement price is recorded (expired but unsettled ones stay).
    @param _account Account id.
    @return The cash change (WAD; not yet sent to the Vault).
    """
    cash: int256 = 0
    ids: DynArray[uint256, constants.MAX_POSITIONS] = self._ids_of(_account)
    for id: uint256 in ids:
        expiry: uint256 = self._expiry[id] & ~OPTION_FLAG
        if expiry == 0 or block.timestamp < expiry:
            continue
        inst: types.Instrument = staticcall IMarkets(self._markets).instrument(id)
        if inst.settlement_price == 0:
            continue
        pos: types.Position = self._load_position(_account, id)
        pnl: int256 = 0
        if inst.kind == constants.FUTURE:
            pnl = self._div_down(pos.size * convert(inst.settlement_price, int256), SWAD) - pos.cost
        else:
            intrinsic: uint256 = 0
            if inst.kind == constants.CALL and inst.settlement_price > inst.strike:
                intrinsic = inst.settlement_price - inst.strike
            elif inst.kind == constants.PUT and inst.strike > inst.settlement_price:
                intrinsic = inst.strike - inst.settlement_price
            pnl = self._div_down(pos.size * convert(intrinsic, int256), SWAD)
        if pos.size > 0:
            self._open_interest[id] -= convert(pos.size, uint256)
            self._crowd_add(inst.underlying, -pos.size)
        self._store_position(_account, id, empty(types.Position))
        self._remove_id(_account, id)
        if inst.kind != constants.FUTURE:
            self._option_count[_account] -= 1
        cash += pnl
        log PositionSettled(
            account=_account, instrument=id, size=pos.size, settlement_price=inst.settlement_price, pnl=pnl
        )
    return cash


@internal
@view
def _load_position(_account: uint256, _id: uint256) -> types.Position:
    """
    @dev A position unpacked (instrument = `_id`; all else zero when flat).
    @param _account Account id.
    @param _id Instrument id.
    @return The position.
    """
    word: uint256 = self._positions[_account][_id]
    snapshot: int256 = 0
    if word & SNAPSHOT_FLAG != 0:
        snapshot = self._snapshots[_account][_id]
    # dev: `packing._int_of` of each field, inline (every margin check loads every position): the field is
    # shifted to the top of the word (dropping the bits above it), then shifted back arithmetically (sign-extended)
    return types.Position(
        instrument=_id,
        size=convert(convert(word << TOP_SHIFT, bytes32), int256) >> TOP_SHIFT,
        cost=convert(convert(word << (TOP_SHIFT - FIELD_BITS), bytes32), int256) >> TOP_SHIFT,
        funding_snapshot=snapshot,
    )


@internal
def _store_position(_account: uint256, _id: uint256, _pos: types.Position):
    """
    @dev Pack and write a position (size and cost must fit in 127 bits; an
         empty one flattens it, for the gas refund); the snapshot slot is
         written only when it holds or held a non-zero index.
    @param _account Account id.
    @param _id Instrument id.
    @param _pos The position.
    """
    word: uint256 = packing._int_bits(_pos.size, FIELD_BITS) | (packing._int_bits(_pos.cost, FIELD_BITS) << FIELD_BITS)
    if _pos.funding_snapshot != 0:
        self._snapshots[_account][_id] = _pos.funding_snapshot
        word |= SNAPSHOT_FLAG
    elif self._positions[_account][_id] & SNAPSHOT_FLAG != 0:
        self._snapshots[_account][_id] = 0
    self._positions[_account][_id] = word


@internal
@view
def _ids_of(_account: uint256) -> DynArray[uint256, constants.MAX_POSITIONS]:
    """
    @dev The account's open position ids, reading only the words in use.
    @param _account Account id.
    @return Instrument ids.
    """
    word: uint256 = self._position_ids[_account][0]
    n: uint256 = word & ID_MASK
    out: DynArray[uint256, constants.MAX_POSITIONS] = []
    for k: uint256 in range(constants.MAX_POSITIONS):
        if k >= n:
            break
        f: uint256 = k + 1
        if f % IDS_PER_WORD == 0:
            word = self._position_ids[_account][f // IDS_PER_WORD]
        out.append((word >> (f % IDS_PER_WORD * ID_BITS)) & ID_MASK)
    return out


@internal
def _set_id_field(_account: uint256, _field: uint256, _value: uint256):
    """
    @dev Write one 16-bit field of the account's id list.
    @param _account Account id.
    @param _field Field index (0 = count).
    @param _value Value (< 2**16).
    """
    w: uint256 = _field // IDS_PER_WORD
    at: uint256 = _field % IDS_PER_WORD * ID_BITS
    word: uint256 = self._position_ids[_account][w]
    self._position_ids[_account][w] = (word & ~(ID_MASK << at)) | (_value << at)


@internal
def _append_id(_account: uint256, _id: uint256):
    """
    @dev Append `_id` to the account's list (MAX_POSITIONS; ids < 2**16, see Markets).
    @param _account Account id.
    @param _id Instrument id.
    """
    n: uint256 = self._position_ids[_account][0] & ID_MASK
    assert n < constants.MAX_POSITIONS, errors.TOO_MANY_POSITIONS
    self._set_id_field(_account, n + 1, packing._fit(_id, ID_BITS))
    self._set_id_field(_account, 0, n + 1)


@internal
def _remove_id(_account: uint256, _id: uint256):
    """
    @dev Swap-and-pop `_id` out of the account's position list.
    @param _account Account id.
    @param _id Instrument id (present in the list).
    """
    ids: DynArray[uint256, constants.MAX_POSITIONS] = self._ids_of(_account)
    n: uint256 = len(ids)
    for i: uint256 in range(constants.MAX_POSITIONS):
        if i >= n:
            break
        if ids[i] == _id:
            # dev: n >= 1 because `_id` is in the list
            self._set_id_field(_account, i + 1, ids[unsafe_sub(n, 1)])
            self._set_id_field(_account, n, 0)
            self._set_id_field(_account, 0, unsafe_sub(n, 1))
            return


@internal
def _clear_ids(_account: uint256, _n: uint256):
    """
    @dev Empty the account's list of `_n` ids (only the words in use are written).
    @param _account Account id.
    @param _n Its length.
    """
    for w: uint256 in range(ID_WORDS):
        if w > _n // IDS_PER_WORD:
            break
        self._position_ids[_account][w] = 0


@internal
@view
def _funding_owed(_pos: types.Position, _funding_index: int256) -> int256:
    """
    @dev Funding a position pays since its snapshot, rounded up (against the account).
    @param _pos Position.
    @param _funding_index Cumulative funding index now.
    @return Signed WAD (negative: the position receives).
    """
    if _pos.size == 0:
        return 0
    return self._div_up(_pos.size * (_funding_index - _pos.funding_snapshot), SWAD)


@internal
@view
def _fee(_notional: int256, _rate: uint256) -> uint256:
    """
    @dev Fee on a notional, rounded up.
    @param _notional Positive notional (WAD).
    @param _rate Fee rate (WAD).
    @return The fee (WAD).
    """
    return convert(self._div_up(_notional * convert(_rate, int256), SWAD), uint256)


@internal
def _adjust_cash(_vault: address, _account: uint256, _delta: int256):
    """
    @dev Send a non-zero cash change to the Vault.
    @param _vault Vault.
    @param _account Account id.
    @param _delta Signed WAD change (skipped when 0).
    """
    if _delta != 0:
        extcall IVault(_vault).adjust_cash(_account, _delta)


@internal
@pure
def _div_up(_x: int256, _d: int256) -> int256:
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
@pure
def _div_down(_x: int256, _d: int256) -> int256:
    """
    @dev Signed division rounded towards -infinity, `_d` > 0.
    @param _x Numerator.
    @param _d Denominator.
    @return floor(_x / _d).
    """
    q: int256 = _x // _d
    if _x < 0 and q * _d != _x:
        q -= 1
    return q
