# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title crossmargin Vault
@custom:contract-name Vault
@license MIT
@notice Custody of listed ERC20 collateral for margin accounts.

        Glossary
        - account: id from `open_account` (accounts module). 1 = insurance fund,
          2 = fee account, both owned by the deployer.
        - asset: a listed ERC20 (decimals <= 18). Balances inside are WAD:
          `wad = amount * 10**(18 - decimals)`; withdraw multiplies back, so the
          boundary never rounds.
        - settlement asset: the one asset held as signed `cash` (int256 WAD); it
          may go negative (realized losses, fees, funding, premium).
        - collateral: every other asset, held as `balance_of` (uint256 WAD).
        - cap: largest `total_wad` custodied for an asset (0 = no deposits).
        - loss index: cash per scaled unit of positive cash (RAY). Positive cash
          is stored in scaled units (Aave-style), so `socialize_loss` lowers every
          positive balance pro rata in O(1); each account sees it on its next
          read or touch. Losses lower the index (interest raises it, see
          lending); a loss wiping out all positive cash starts a new loss
          epoch (index back to RAY, old scaled units 0).
        - margin checker: `IMarginChecker` hook (the RiskEngine) asked after a
          withdrawal whether the account is still above initial margin.
        - lending: negative cash is a loan. Debts are stored as scaled debt
          (`debt = scaled_debt * borrow_index / RAY`, rounded up); the borrow
          index grows at the kinked utilisation rate, the loss index (also the
          supply index) grows by the borrowers' interest net of the reserve
          factor, which is credited to the insurance fund. Utilisation
          U = total debt / total positive cash. Withdrawals may not leave U above
          `withdraw_cap`; U at or above `hard_cap` for `delever_grace` seconds
          opens deleveraging (`deleverage`) until U falls below `delever_target`.

@dev Entry points follow: checks -> accrue (loss epoch settle) -> math -> storage
     -> event -> transfer. `deposit` is the exception: it must measure the
     balance before and after `transferFrom` to credit what actually arrived
     (fee-on-transfer tokens), so its transfer sits between checks and math;
     the global nonreentrancy lock covers the gap.
     `withdraw` calls the margin hook (a static call) after storage and before
     the event and the transfer, so the checker sees the post-withdrawal state.
     Views are `@reentrant` so the checker can read them under the lock.
     Rounding favours the protocol: positive cash rounds down when credited and
     read, debits of positive cash round the scaled units up, and a socialised
     loss per scaled unit rounds up.
     Interest accrues lazily (`_accrue`, once per block while debt exists) before
     every settlement-cash change; views apply the pending accrual exactly as the
     next write will (`_accrued`), so `cash_of` already counts accrued interest.
     Pause blocks withdrawals (and deleveraging) only; deposits are never paused and clearing
     operations are gated by the clearing contracts' own pause checks.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from ethereum.ercs import IERC165

from snekmate.auth import access_control
from snekmate.utils import pausable

from .interfaces import IMarginChecker
from .lib import accounts
from .lib import constants
from .lib import aggregates
from .lib import errors
from .lib import packing
from .lib import types

implements: IERC165

initializes: access_control
initializes: pausable
initializes: accounts

exports: (
    access_control.__interface__,
    pausable.paused,
    accounts.open_account,
    accounts.set_operator,
    accounts.account_count,
    accounts.owner_of,
    accounts.isolated_instrument,
    accounts.is_operator,
    accounts.is_authorized,
)


# @dev The price source of deleveraging (the OracleRouter).
interface IPriceOracle:
    def price(_uid: uint256) -> (uint256, uint8): view


# @dev The margin view deleveraging asks (the RiskEngine, also the margin checker).
interface IMarginView:
    def margin(_account: uint256) -> types.MarginResult: view


# @dev Listing data of one asset.
struct AssetInfo:
    decimals: uint8
    underlying_id: uint256
    cap_wad: uint256
    total_wad: uint256
    is_settlement: bool
    listed: bool


# @dev Settlement cash of one account: positive part in scaled units, or a debt.
struct CashState:
    scaled: uint256
    debt: uint256
    epoch: uint256


# @dev Lending parameters (rates per year and utilisations WAD, grace in seconds).
struct LendingParams:
    base_rate: uint256          # borrow rate at zero utilisation
    slope1: uint256             # added linearly from 0 to the kink
    slope2: uint256             # added linearly from the kink to 100 %
    kink: uint256               # utilisation where the steep slope starts, in (0, 1)
    reserve_factor: uint256     # share of interest credited to the insurance fund
    withdraw_cap: uint256       # a withdrawal may not leave utilisation above it
    hard_cap: uint256           # utilisation at or above which the deleveraging clock runs
    delever_target: uint256     # deleveraging brings utilisation down to it; below it the clock stops
    delever_grace: uint256      # seconds over the hard cap before deleveraging opens
    delever_discount: uint256   # price discount a deleveraging buyer gets


# @dev One accrual: the indices now, and how the interest since the last accrual was split.
struct Accrual:
    supply_index: uint256       # the loss index after the accrual (RAY)
    borrow_index: uint256       # RAY
    owed: uint256               # interest the borrowers owe (WAD)
    earned: uint256             # interest positive cash earns (WAD)
    fund: uint256               # owed - earned: the insurance fund's share (WAD)


# @dev Role that may move cash and collateral between accounts.
CLEARING_ROLE: public(constant(bytes32)) = constants.CLEARING_ROLE
# @dev Role that may pause and unpause withdrawals.
GUARDIAN_ROLE: public(constant(bytes32)) = constants.GUARDIAN_ROLE
# @dev Insurance fund account id.
INSURANCE_FUND: public(constant(uint256)) = constants.INSURANCE_FUND
# @dev Cash word layout (see `_cash`): the amount field and the debt flag.
CASH_MASK: constant(uint256) = 2**192 - 1
DEBT_BIT: constant(uint256) = 2**192
# @dev Fee account id.
FEE_ACCOUNT: public(constant(uint256)) = constants.FEE_ACCOUNT
# @dev Role that sets the lending parameters (inside the constant bounds below).
RISK_MANAGER_ROLE: public(constant(bytes32)) = constants.RISK_MANAGER_ROLE
# @dev Seconds per year of the rate curve.
YEAR: constant(uint256) = 365 * 86400
# @dev Rate word layout (see `_rate`).
U64_MASK: constant(uint256) = 2**64 - 1
U128_MASK: constant(uint256) = 2**128 - 1
# @dev On-chain bounds of the lending parameters (WAD; seconds for the grace).
MAX_BASE_RATE: constant(uint256) = 10**18
MAX_SLOPE1: constant(uint256) = 2 * 10**18
MAX_SLOPE2: constant(uint256) = 10 * 10**18
MIN_KINK: constant(uint256) = 10**17
MAX_KINK: constant(uint256) = 99 * 10**16
MAX_RESERVE_FACTOR: constant(uint256) = 5 * 10**17
MIN_CAP: constant(uint256) = 5 * 10**17
MIN_DELEVER_TARGET: constant(uint256) = 3 * 10**17
MIN_GRACE: constant(uint256) = 3600
MAX_GRACE: constant(uint256) = 30 * 86400
MAX_DELEVER_DISCOUNT: constant(uint256) = 10**17
# @dev Mask of the value in a `_deposit_smooth` word.
SMOOTH_MASK: constant(uint256) = 2**192 - 1

# @dev Listed assets in listing order.
_asset_list: DynArray[address, constants.MAX_ASSETS]
# @dev Listing data per token.
_asset_info: HashMap[address, AssetInfo]
# @dev 10**(18 - decimals) per listed token.
_scale: HashMap[address, uint256]
# @dev Per collateral token, the smoothed deposits (the crowding aggregate D of lib/aggregates) at the last
#      change of `total_wad`: value (bits 0-191) | time (192-255).
_deposit_smooth: HashMap[address, uint256]
# @dev The single settlement asset (empty until listed).
_settlement_asset: address
# @dev Non-settlement collateral per account per token (WAD).
_balances: HashMap[uint256, HashMap[address, uint256]]
# @dev Per account, bit i set while it holds a non-zero balance of the i-th listed asset: the margin
#      engine reads one slot for a cash-only account instead of the asset list and every balance.
_held: HashMap[uint256, uint256]
# @dev 1 << (listing index) per listed token.
_asset_bit: HashMap[address, uint256]
# @dev Settlement cash per account (see CashState) in one word: scaled or debt (bits 0-191; an account
#      has one or the other, never both), bit 192 set for debt, the epoch in bits 193-255.
_cash: HashMap[uint256, uint256]
# @dev Cash per scaled unit of positive cash (RAY), the loss and supply index: starts at RAY, losses lower it,
#      interest raises it.
_loss_index: uint256
# @dev Current loss epoch; scaled units of older epochs are worth 0.
_loss_epoch: uint256
# @dev Sum of scaled positive cash over all accounts of the current epoch (exact).
_total_scaled: uint256
# @dev Sum of scaled debt over all accounts (exact); the total debt is `_total_debt * borrow_index / RAY`.
_total_debt: uint256
# @dev Margin hook asked after withdrawals (empty = no check).
_margin_checker: address
# @dev Borrow index (RAY, bits 0-127), last accrual time (bits 128-191; all ones while nobody owes: the
#      views then stop at this word) and the time utilisation reached the hard cap (bits 192-255, 0 = not
#      over it): one word, read by every cash view.
_rate: uint256
# @dev Rate curve in one word: base rate, slope1, slope2, kink (64 bits each, WAD).
_curve: uint256
# @dev Reserve factor, withdraw cap, hard cap, deleveraging target (64 bits each, WAD).
_caps: uint256
# @dev Deleveraging grace (seconds, bits 0-63) and discount (WAD, bits 64-127).
_delever: uint256
# @dev Price source of deleveraging (the OracleRouter).
_price_oracle: address
# @dev Settlement-cash withdrawals are refused up to this unix time (0: none): a known loss beyond the
#      insurance fund is pending in an open insolvent auction (set by the Liquidation contract).
loss_hold_until: public(uint256)


# @dev Emitted when an asset is listed.
event AssetListed:
    token: indexed(address)
    decimals: uint8
    underlying_id: uint256
    cap_wad: uint256
    is_settlement: bool


# @dev Emitted when an asset's deposit cap changes.
event CapSet:
    token: indexed(address)
    cap_wad: uint256


# @dev Emitted when the margin checker changes.
event MarginCheckerSet:
    checker: indexed(address)


# @dev Emitted on every deposit; `wad` is what was credited.
event Deposit:
    id: indexed(uint256)
    token: indexed(address)
    sender: indexed(address)
    amount: uint256
    wad: uint256


# @dev Emitted on every withdrawal.
event Withdraw:
    id: indexed(uint256)
    token: indexed(address)
    caller: indexed(address)
    receiver: address
    amount: uint256
    wad: uint256


# @dev Emitted when the clearing role changes an account's cash.
event CashAdjusted:
    id: indexed(uint256)
    delta: int256
    cash: int256


# @dev Emitted when the clearing role moves collateral (or cash) between accounts.
event CollateralMoved:
    from_id: indexed(uint256)
    to_id: indexed(uint256)
    token: indexed(address)
    amount_wad: uint256


# @dev Emitted when a loss is spread over positive cash; `absorbed_wad` < `amount_wad`
# only when the loss exceeded all positive cash (the rest is unbacked bad debt).
event LossSocialized:
    amount_wad: uint256
    absorbed_wad: uint256
    loss_index: uint256
    loss_epoch: uint256


# @dev Emitted by every accrual that charged interest: `owed == earned + fund` exactly.
event InterestAccrued:
    owed: uint256
    earned: uint256
    fund: uint256
    supply_index: uint256
    borrow_index: uint256


# @dev Emitted when the risk manager changes the lending parameters.
event LendingParamsSet:
    params: LendingParams


# @dev Emitted when the deleveraging price source changes.
event PriceOracleSet:
    oracle: indexed(address)


# @dev Emitted when a keeper buys a borrower's collateral for settlement tokens.
event Deleveraged:
    id: indexed(uint256)
    token: indexed(address)
    buyer: indexed(address)
    receiver: address
    amount: uint256
    paid: uint256


@deploy
def __init__():
    """
    @notice Deploy the Vault; the deployer becomes admin and owner of the
            insurance fund (account 1) and the fee account (account 2).
    @dev Grant GUARDIAN_ROLE and CLEARING_ROLE afterwards with `grantRole`.
    """
    access_control.__init__()
    pausable.__init__()
    accounts.__init__()
    self._loss_index = constants.RAY
    self._rate = constants.RAY | (U64_MASK << 128)
    # dev: lending off until the risk manager sets it: no interest, no caps, 30-day grace
    self._curve = (constants.WAD // 2) << 192
    self._caps = (constants.WAD << 64) | (constants.WAD << 128) | ((constants.WAD // 2) << 192)
    self._delever = MAX_GRACE
    accounts._open_account(msg.sender, 0)
    accounts._open_account(msg.sender, 0)


# ---------------------------------------------------------------- admin


@external
def list_asset(_token: address, _underlying_id: uint256, _cap_wad: uint256, _is_settlement: bool):
    """
    @notice List an ERC20 as collateral (or as the settlement asset).
    @dev Admin only. Decimals are read from the token and must be <= 18.
         Exactly one settlement asset may exist; it has no underlying.
    @param _token ERC20 address.
    @param _underlying_id Underlying the asset is linked to (e.g. WETH -> ETH), 0 for none.
    @param _cap_wad Cap on the total WAD custodied for the asset (0 = no deposits).
    @param _is_settlement True for the settlement (cash) asset.
    """
    self._check_role(access_control.DEFAULT_ADMIN_ROLE)
    assert _token != empty(address), errors.EMPTY_ADDRESS
    assert not self._asset_info[_token].listed, errors.ALREADY_LISTED
    assert len(self._asset_list) < constants.MAX_ASSETS, errors.TOO_MANY_ASSETS
    if _is_settlement:
        assert self._settlement_asset == empty(address), errors.SETTLEMENT_EXISTS
        assert _underlying_id == 0, errors.SETTLEMENT_LINKED
    decimals: uint8 = staticcall IERC20Detailed(_token).decimals()
    assert decimals <= constants.MAX_DECIMALS, errors.BAD_DECIMALS

    self._asset_bit[_token] = 1 << len(self._asset_list)
    self._asset_list.append(_token)
    self._asset_info[_token] = AssetInfo(
        decimals=decimals,
        underlying_id=_underlying_id,
        cap_wad=_cap_wad,
        total_wad=0,
        is_settlement=_is_settlement,
        listed=True,
    )
    self._scale[_token] = 10 ** convert(constants.MAX_DECIMALS - decimals, uint256)
    if _is_settlement:
        self._settlement_asset = _token
    log AssetListed(
        token=_token,
        decimals=decimals,
        underlying_id=_underlying_id,
        cap_wad=_cap_wad,
        is_settlement=_is_settlement,
    )


@external
def set_cap(_token: address, _cap_wad: uint256):
    """
    @notice Change an asset's deposit cap.
    @dev Admin only. Lowering the cap below `total_wad` blocks deposits, never withdrawals.
    @param _token Listed token.
    @param _cap_wad New cap on the total WAD custodied (0 = no deposits).
    """
    self._check_role(access_control.DEFAULT_ADMIN_ROLE)
    assert self._asset_info[_token].listed, errors.NOT_LISTED
    self._asset_info[_token].cap_wad = _cap_wad
    log CapSet(token=_token, cap_wad=_cap_wad)


@external
def set_margin_checker(_checker: address):
    """
    @notice Set the contract asked after each withdrawal (the RiskEngine).
    @dev Admin only. The empty address disables the check.
    @param _checker IMarginChecker implementation.
    """
    self._check_role(access_control.DEFAULT_ADMIN_ROLE)
    self._margin_checker = _checker
    log MarginCheckerSet(checker=_checker)


@external
def set_lending_params(_params: LendingParams):
    """
    @notice Change the rate curve, the caps and the deleveraging parameters.
    @dev Risk manager only, inside the constant bounds: base <= 1, slope1 <= 2,
         slope2 <= 10 (per year), 0.1 <= kink <= 0.99, reserve factor <= 0.5,
         0.3 <= target < hard cap <= withdraw cap <= 1, withdraw cap >= 0.5,
         1 h <= grace <= 30 days, discount <= 0.1. Accrues first: the old
         curve applies up to now.
    @param _params New parameters.
    """
    assert access_control.hasRole[constants.RISK_MANAGER_ROLE][msg.sender], errors.MISSING_ROLE
    p: LendingParams = _params
    assert p.base_rate <= MAX_BASE_RATE and p.slope1 <= MAX_SLOPE1 and p.slope2 <= MAX_SLOPE2, errors.BAD_LENDING_PARAMS
    assert p.kink >= MIN_KINK and p.kink <= MAX_KINK, errors.BAD_LENDING_PARAMS
    assert p.reserve_factor <= MAX_RESERVE_FACTOR, errors.BAD_LENDING_PARAMS
    assert p.withdraw_cap >= MIN_CAP and p.withdraw_cap <= constants.WAD, errors.BAD_LENDING_PARAMS
    assert p.delever_target >= MIN_DELEVER_TARGET and p.delever_target < p.hard_cap, errors.BAD_LENDING_PARAMS
    assert p.hard_cap <= p.withdraw_cap, errors.BAD_LENDING_PARAMS
    assert p.delever_grace >= MIN_GRACE and p.delever_grace <= MAX_GRACE, errors.BAD_LENDING_PARAMS
    assert p.delever_discount <= MAX_DELEVER_DISCOUNT, errors.BAD_LENDING_PARAMS

    a: Accrual = self._accrue()
    self._curve = p.base_rate | (p.slope1 << 64) | (p.slope2 << 128) | (p.kink << 192)
    self._caps = p.reserve_factor | (p.withdraw_cap << 64) | (p.hard_cap << 128) | (p.delever_target << 192)
    self._delever = p.delever_grace | (p.delever_discount << 64)
    self._track(a)
    log LendingParamsSet(params=p)


@external
def set_price_oracle(_oracle: address):
    """
    @notice Set the price source of deleveraging (the OracleRouter).
    @dev Admin only. Empty disables deleveraging.
    @param _oracle IPriceOracle implementation.
    """
    self._check_role(access_control.DEFAULT_ADMIN_ROLE)
    self._price_oracle = _oracle
    log PriceOracleSet(oracle=_oracle)


@external
def pause():
    """
    @notice Pause withdrawals.
    @dev Guardian only. Deposits and clearing operations stay open.
    """
    self._check_role(constants.GUARDIAN_ROLE)
    assert not pausable.paused, errors.PAUSED
    pausable._pause()


@external
def unpause():
    """
    @notice Lift the pause.
    @dev Guardian only.
    """
    self._check_role(constants.GUARDIAN_ROLE)
    assert pausable.paused, errors.NOT_PAUSED
    pausable._unpause()


# ---------------------------------------------------------------- user


@external
def deposit(_id: uint256, _token: address, _amount: uint256):
    """
    @notice Deposit `_amount` of `_token` (token decimals) into account `_id`.
    @dev Anyone may deposit to any open account; never paused. Credits the
         amount that actually arrived (balance after - before), so
         fee-on-transfer tokens are safe. The transfer therefore precedes the
         math and the cap check; the nonreentrancy lock guards it.
         The settlement asset first repays a negative cash balance.
    @param _id Account id.
    @param _token Listed token.
    @param _amount Amount in the token's decimals.
    """
    assert _amount > 0, errors.ZERO_AMOUNT
    accounts._check_open(_id)
    info: AssetInfo = self._asset_info[_token]
    assert info.listed, errors.NOT_LISTED

    before: uint256 = staticcall IERC20(_token).balanceOf(self)
    assert extcall IERC20(_token).transferFrom(msg.sender, self, _amount, default_return_value=True), errors.TRANSFER_FAILED
    received: uint256 = staticcall IERC20(_token).balanceOf(self) - before
    assert received > 0, errors.NOTHING_RECEIVED

    wad: uint256 = received * self._scale[_token]
    total: uint256 = info.total_wad + wad
    assert total <= info.cap_wad, errors.CAP_EXCEEDED

    self._asset_info[_token].total_wad = total
    if info.is_settlement:
        a: Accrual = self._accrue()
        self._change_cash(_id, convert(wad, int256), a)
        self._track(a)
    else:
        self._checkpoint(_token, info.total_wad)
        self._set_balance(_id, _token, self._balances[_id][_token] + wad)
    log Deposit(id=_id, token=_token, sender=msg.sender, amount=received, wad=wad)


@external
def withdraw(_id: uint256, _token: address, _amount: uint256, _receiver: address):
    """
    @notice Withdraw `_amount` of `_token` (token decimals) from account `_id` to `_receiver`.
    @dev Owner or approved operator; blocked while paused. The account must
         hold the amount (cash >= amount for the settlement asset, and the
         Vault must custody that much: positive cash owed by accounts in debt
         is not yet backed; utilisation may not end above `withdraw_cap`) and,
         if a margin checker is set, stay above initial margin afterwards.
    @param _id Account id.
    @param _token Listed token.
    @param _amount Amount in the token's decimals.
    @param _receiver Address receiving the tokens.
    """
    assert not pausable.paused, errors.PAUSED
    assert _amount > 0, errors.ZERO_AMOUNT
    assert _receiver != empty(address), errors.EMPTY_ADDRESS
    info: AssetInfo = self._asset_info[_token]
    assert info.listed, errors.NOT_LISTED
    accounts._check_authorized(_id, msg.sender)

    wad: uint256 = _amount * self._scale[_token]
    if info.is_settlement:
        # dev: no holder leaves ahead of a known socialised loss (TECH_SPEC "Liquidation", loss hold)
        assert block.timestamp > self.loss_hold_until, errors.LOSS_PENDING
        # dev: accrue interest; `_load_cash` settles the loss epoch, the indices apply on read
        a: Accrual = self._accrue()
        assert self._cash_value(self._load_cash(_id), a) >= convert(wad, int256), errors.INSUFFICIENT_BALANCE
        # dev: positive cash may be unbacked while counterparties owe it (their debt)
        assert info.total_wad >= wad, errors.INSUFFICIENT_LIQUIDITY
        self._change_cash(_id, -convert(wad, int256), a)
        # dev: the withdrawal may not leave the borrowers holding more than withdraw_cap of the cash
        assert self._utilisation_now(a) <= (self._caps >> 64) & U64_MASK, errors.UTILISATION_CAP
        self._track(a)
    else:
        balance: uint256 = self._balances[_id][_token]
        assert balance >= wad, errors.INSUFFICIENT_BALANCE
        self._checkpoint(_token, info.total_wad)
        self._set_balance(_id, _token, unsafe_sub(balance, wad))  # dev: checked just above
    # dev: collateral total_wad is the sum of balances; cash checked for liquidity above
    self._asset_info[_token].total_wad = unsafe_sub(info.total_wad, wad)

    checker: address = self._margin_checker
    if checker != empty(address):
        assert staticcall IMarginChecker(checker).is_above_im(_id), errors.BELOW_INITIAL_MARGIN

    log Withdraw(id=_id, token=_token, caller=msg.sender, receiver=_receiver, amount=_amount, wad=wad)
    assert extcall IERC20(_token).transfer(_receiver, _amount, default_return_value=True), errors.TRANSFER_FAILED


# ---------------------------------------------------------------- clearing


@external
def adjust_cash(_id: uint256, _delta: int256) -> int256:
    """
    @notice Add `_delta` (may be negative) to account `_id`'s settlement cash.
    @dev Clearing role only. Cash may go negative; the caller keeps the sum of
         deltas backed (zero-sum transfers, fees to the fee account, ...).
    @param _id Account id.
    @param _delta Signed WAD change.
    @return The account's cash afterwards.
    """
    self._check_role(constants.CLEARING_ROLE)
    assert _delta != 0, errors.ZERO_AMOUNT
    accounts._check_open(_id)
    a: Accrual = self._accrue()
    cash: int256 = self._change_cash(_id, _delta, a)
    self._track(a)
    log CashAdjusted(id=_id, delta=_delta, cash=cash)
    return cash


@external
def move_collateral(_from: uint256, _to: uint256, _token: address, _amount_wad: uint256):
    """
    @notice Move `_amount_wad` of `_token` from account `_from` to account `_to`.
    @dev Clearing role only. For the settlement asset this moves cash, and
         `_from` must hold at least that much positive cash.
    @param _from Source account id.
    @param _to Destination account id.
    @param _token Listed token.
    @param _amount_wad WAD amount.
    """
    self._check_role(constants.CLEARING_ROLE)
    assert _amount_wad > 0, errors.ZERO_AMOUNT
    assert _from != _to, errors.SAME_ACCOUNT
    accounts._check_open(_from)
    accounts._check_open(_to)
    info: AssetInfo = self._asset_info[_token]
    assert info.listed, errors.NOT_LISTED

    if info.is_settlement:
        amount: int256 = convert(_amount_wad, int256)
        a: Accrual = self._accrue()
        assert self._cash_value(self._load_cash(_from), a) >= amount, errors.INSUFFICIENT_BALANCE
        # dev: positive cash moves between accounts: the totals change by rounding only, no `_track`
        self._change_cash(_from, -amount, a)
        self._change_cash(_to, amount, a)
    else:
        balance: uint256 = self._balances[_from][_token]
        assert balance >= _amount_wad, errors.INSUFFICIENT_BALANCE
        self._set_balance(_from, _token, unsafe_sub(balance, _amount_wad))  # dev: checked just above
        self._set_balance(_to, _token, self._balances[_to][_token] + _amount_wad)
    log CollateralMoved(from_id=_from, to_id=_to, token=_token, amount_wad=_amount_wad)


@external
def set_loss_hold(_until: uint256):
    """
    @notice Refuse settlement-cash withdrawals up to `_until` (0 lifts the hold).
    @dev Clearing role only (the Liquidation contract: an insolvent auction whose loss exceeds the
         insurance fund; it bounds `_until` by that auction's expiry, at most one day ahead).
    @param _until Unix time the hold lasts to, inclusive.
    """
    self._check_role(constants.CLEARING_ROLE)
    self.loss_hold_until = _until


@external
def socialize_loss(_amount_wad: uint256) -> uint256:
    """
    @notice Spread a loss over all positive settlement cash, pro rata.
    @dev Clearing role only. O(1): lowers the loss index; each account's
         positive cash reflects it on its next read or touch. The loss per
         scaled unit rounds up, so the accounts together lose at least the
         absorbed amount and none loses more than its cash. A loss larger than
         all positive cash absorbs all of it (new loss epoch) and reports the
         rest as unabsorbed.
    @param _amount_wad Loss to spread (WAD).
    @return The amount absorbed (WAD), `min(_amount_wad, total_positive_cash)`.
    """
    self._check_role(constants.CLEARING_ROLE)
    assert _amount_wad > 0, errors.ZERO_AMOUNT

    a: Accrual = self._accrue()
    index: uint256 = a.supply_index
    scaled: uint256 = self._total_scaled
    absorbed: uint256 = min(_amount_wad, scaled * index // constants.RAY)
    if absorbed > 0:
        # dev: scaled > 0 because the total positive cash is > 0
        step: uint256 = self._div_up(absorbed * constants.RAY, scaled)
        if step >= index:
            self._loss_epoch += 1
            self._loss_index = constants.RAY
            self._total_scaled = 0
        else:
            self._loss_index = unsafe_sub(index, step)  # dev: step < index
    a.supply_index = self._loss_index
    self._track(a)
    log LossSocialized(
        amount_wad=_amount_wad,
        absorbed_wad=absorbed,
        loss_index=self._loss_index,
        loss_epoch=self._loss_epoch,
    )
    return absorbed


# ---------------------------------------------------------------- lending


@external
def accrue():
    """
    @notice Charge the interest accrued since the last accrual and update the deleveraging clock.
    @dev Anyone (keepers): utilisation can cross the hard cap through interest alone, and the
         clock only runs from the first accrual that sees it.
    """
    a: Accrual = self._accrue()
    self._track(a)


@external
def deleverage(_id: uint256, _token: address, _amount: uint256, _max_pay: uint256, _receiver: address) -> uint256:
    """
    @notice Buy `_amount` (token decimals) of borrower `_id`'s collateral `_token` for settlement
            tokens at the oracle price less `delever_discount`; the payment repays its debt.
    @dev Anyone, while deleveraging is open: utilisation reached `hard_cap` at least
         `delever_grace` seconds ago and is still above `delever_target`. An account's share:
         it pays at most `debt * (D - target * P) / D` now (D total debt, P total positive cash),
         the pro-rata part of the debt above the target utilisation. The settlement tokens come
         from the caller (`transferFrom`), so liquidity returns to the Vault; the collateral goes
         to `_receiver`. Afterwards the borrower must be at or above maintenance margin with OK
         prices (its equity changes by the discount only). Blocked while paused.
    @param _id Borrower account (not the insurance fund or fee account).
    @param _token Listed non-settlement collateral.
    @param _amount Collateral amount in the token's decimals.
    @param _max_pay Most settlement tokens (their decimals) the caller pays.
    @param _receiver Address receiving the collateral.
    @return The settlement tokens paid (their decimals).
    """
    assert not pausable.paused, errors.PAUSED
    assert _amount > 0, errors.ZERO_AMOUNT
    assert _receiver != empty(address), errors.EMPTY_ADDRESS
    assert _id > constants.FEE_ACCOUNT, errors.RESERVED_ACCOUNT
    accounts._check_open(_id)
    info: AssetInfo = self._asset_info[_token]
    assert info.listed and not info.is_settlement, errors.NOT_COLLATERAL
    settlement: address = self._settlement_asset
    oracle: address = self._price_oracle
    checker: address = self._margin_checker
    assert oracle != empty(address) and checker != empty(address), errors.DELEVERAGE_CLOSED

    a: Accrual = self._accrue()
    word: uint256 = self._rate
    since: uint256 = word >> 192
    delever: uint256 = self._delever
    # dev: the clock as of the last state change; a keeper calls `accrue` to start it on interest alone
    assert since != 0 and block.timestamp >= since + (delever & U64_MASK), errors.DELEVERAGE_CLOSED
    debt_scaled: uint256 = self._load_cash(_id).debt
    assert debt_scaled > 0, errors.NO_DEBT
    limit: uint256 = self._delever_limit(debt_scaled, a, self._total_scaled, self._total_debt)
    assert limit > 0, errors.DELEVERAGE_CLOSED

    price: uint256 = 0
    status: uint8 = 0
    price, status = staticcall IPriceOracle(oracle).price(info.underlying_id)
    assert status == constants.OK and price > 0, errors.BAD_PRICE
    amount_wad: uint256 = _amount * self._scale[_token]
    balance: uint256 = self._balances[_id][_token]
    assert balance >= amount_wad, errors.INSUFFICIENT_BALANCE
    # dev: the buyer pays the discounted value rounded up to whole settlement units
    settle_scale: uint256 = self._scale[settlement]
    value: uint256 = amount_wad * price // constants.WAD
    pay: uint256 = self._div_up(value * (constants.WAD - (delever >> 64)) // constants.WAD, settle_scale)
    pay_wad: uint256 = pay * settle_scale
    assert pay > 0, errors.ZERO_AMOUNT
    assert pay_wad <= limit, errors.DELEVERAGE_LIMIT
    assert pay <= _max_pay, errors.PRICE_ABOVE_MAX

    self._change_cash(_id, convert(pay_wad, int256), a)
    self._asset_info[settlement].total_wad += pay_wad
    self._set_balance(_id, _token, unsafe_sub(balance, amount_wad))  # dev: checked above
    self._checkpoint(_token, self._asset_info[_token].total_wad)
    self._asset_info[_token].total_wad -= amount_wad
    self._track(a)

    # dev: the sale may cost the borrower the discount, never its maintenance margin
    m: types.MarginResult = staticcall IMarginView(checker).margin(_id)
    assert m.status == constants.OK and m.equity_mm >= convert(m.mm, int256), errors.BELOW_MAINTENANCE_MARGIN

    log Deleveraged(id=_id, token=_token, buyer=msg.sender, receiver=_receiver, amount=_amount, paid=pay)
    before: uint256 = staticcall IERC20(settlement).balanceOf(self)
    assert extcall IERC20(settlement).transferFrom(msg.sender, self, pay, default_return_value=True), errors.TRANSFER_FAILED
    # dev: the credit above must be backed by what arrived (a fee-on-transfer settlement asset cannot deleverage)
    assert staticcall IERC20(settlement).balanceOf(self) - before == pay, errors.NOTHING_RECEIVED
    assert extcall IERC20(_token).transfer(_receiver, _amount, default_return_value=True), errors.TRANSFER_FAILED
    return pay


# ---------------------------------------------------------------- views


@external
@view
@reentrant
def assets() -> DynArray[address, constants.MAX_ASSETS]:
    """
    @notice Listed assets in listing order.
    @return The token addresses.
    """
    return self._asset_list


@external
@view
@reentrant
def deposits(_token: address) -> (uint256, uint256):
    """
    @notice The crowding aggregate of a collateral token: the deposits of all
            accounts, now and smoothed (TECH_SPEC "Crowding").
    @param _token Token address.
    @return current D = total_wad (WAD units).
    @return smoothed D_s: moves towards D over `aggregates.WINDOW` seconds after each change.
    """
    word: uint256 = self._deposit_smooth[_token]
    total: uint256 = self._asset_info[_token].total_wad
    return total, aggregates._smoothed(total, word & SMOOTH_MASK, word >> 192, block.timestamp)


@external
@view
@reentrant
def asset_info(_token: address) -> AssetInfo:
    """
    @notice Listing data of a token.
    @param _token Token address.
    @return (decimals, underlying_id, cap_wad, total_wad, is_settlement, listed);
            all zero for an unlisted token.
    """
    return self._asset_info[_token]


@external
@view
@reentrant
def settlement_asset() -> address:
    """
    @notice The settlement (cash) asset.
    @return Its address, empty until listed.
    """
    return self._settlement_asset


@external
@view
@reentrant
def balance_of(_id: uint256, _token: address) -> uint256:
    """
    @notice Non-settlement collateral of an account.
    @dev The settlement asset is held as cash: use `cash_of` (this returns 0 for it).
    @param _id Account id.
    @param _token Token address.
    @return WAD balance.
    """
    return self._balances[_id][_token]


@external
@view
@reentrant
def balances_of(_id: uint256) -> DynArray[uint256, constants.MAX_ASSETS]:
    """
    @notice All collateral balances of an account, aligned with `assets()`.
    @dev The settlement asset's slot is 0 (see `cash_of`).
    @param _id Account id.
    @return WAD balances.
    """
    out: DynArray[uint256, constants.MAX_ASSETS] = []
    for token: address in self._asset_list:
        out.append(self._balances[_id][token])
    return out


@external
@view
@reentrant
def collateral_of(_id: uint256) -> (DynArray[address, constants.MAX_ASSETS], DynArray[uint256, constants.MAX_ASSETS]):
    """
    @notice The non-settlement collateral an account holds: only non-zero balances.
    @dev One storage read for an account without collateral (the margin engine's path).
    @param _id Account id.
    @return (tokens, WAD balances), in listing order.
    """
    tokens: DynArray[address, constants.MAX_ASSETS] = []
    balances: DynArray[uint256, constants.MAX_ASSETS] = []
    held: uint256 = self._held[_id]
    if held == 0:
        return tokens, balances
    for token: address in self._asset_list:
        if held & self._asset_bit[token] != 0:
            tokens.append(token)
            balances.append(self._balances[_id][token])
    return tokens, balances


@external
@view
@reentrant
def cash_of(_id: uint256) -> int256:
    """
    @notice Settlement cash of an account, pending socialised losses and accrued interest applied.
    @dev Exactly what the next write will see: the pending accrual (and, for the
         insurance fund, its pending share) is computed as `_accrue` would.
    @param _id Account id.
    @return Signed WAD cash (positive part rounded down, debt rounded up).
    """
    a: Accrual = self._accrued()
    state: CashState = self._load_cash(_id)
    if _id == constants.INSURANCE_FUND and a.fund > 0:
        state = self._apply(state, convert(a.fund, int256), a)
    return self._cash_value(state, a)


@external
@view
@reentrant
def total_positive_cash() -> uint256:
    """
    @notice Sum of all positive cash (exact up to < 1 wei per account, from above), interest accrued.
    @return WAD.
    """
    a: Accrual = empty(Accrual)
    scaled: uint256 = 0
    debt: uint256 = 0
    a, scaled, debt = self._totals_now()
    return scaled * a.supply_index // constants.RAY


@external
@view
@reentrant
def total_debt() -> uint256:
    """
    @notice Sum of all negative cash, as a positive number, interest accrued (rounded up; each
            account's debt rounds up too, so the sum of `cash_of` debts may exceed it by < 1 wei each).
    @return WAD.
    """
    a: Accrual = empty(Accrual)
    scaled: uint256 = 0
    debt: uint256 = 0
    a, scaled, debt = self._totals_now()
    return self._div_up(debt * a.borrow_index, constants.RAY)


@external
@view
@reentrant
def loss_index() -> uint256:
    """
    @notice Cash per scaled unit of positive cash (the supply index: interest raises it, losses lower it).
    @return RAY-scaled index, pending interest applied.
    """
    return self._accrued().supply_index


@external
@view
@reentrant
def loss_epoch() -> uint256:
    """
    @notice Number of losses that wiped out all positive cash.
    @return The current epoch.
    """
    return self._loss_epoch


@external
@view
@reentrant
def margin_checker() -> address:
    """
    @notice Contract asked after withdrawals.
    @return Its address (empty = no check).
    """
    return self._margin_checker


@external
@view
@reentrant
def lending_params() -> LendingParams:
    """
    @notice The rate curve, caps and deleveraging parameters.
    @return LendingParams (WAD; grace in seconds).
    """
    curve: uint256 = self._curve
    caps: uint256 = self._caps
    delever: uint256 = self._delever
    return LendingParams(
        base_rate=curve & U64_MASK,
        slope1=(curve >> 64) & U64_MASK,
        slope2=(curve >> 128) & U64_MASK,
        kink=curve >> 192,
        reserve_factor=caps & U64_MASK,
        withdraw_cap=(caps >> 64) & U64_MASK,
        hard_cap=(caps >> 128) & U64_MASK,
        delever_target=caps >> 192,
        delever_grace=delever & U64_MASK,
        delever_discount=delever >> 64,
    )


@external
@view
@reentrant
def borrow_index() -> uint256:
    """
    @notice Debt per scaled unit of debt, pending interest applied.
    @return RAY-scaled index (starts at RAY, only rises).
    """
    return self._accrued().borrow_index


@external
@view
@reentrant
def utilisation() -> uint256:
    """
    @notice Total debt / total positive cash (rounded up, at most 1), pending interest applied.
    @return WAD.
    """
    a: Accrual = empty(Accrual)
    scaled: uint256 = 0
    debt: uint256 = 0
    a, scaled, debt = self._totals_now()
    return self._utilisation(debt, a.borrow_index, scaled, a.supply_index)


@external
@view
@reentrant
def borrow_rate() -> uint256:
    """
    @notice The borrow rate per year at the current utilisation (the curve the next period uses).
    @return WAD per year.
    """
    a: Accrual = empty(Accrual)
    scaled: uint256 = 0
    debt: uint256 = 0
    a, scaled, debt = self._totals_now()
    return self._borrow_rate(self._utilisation(debt, a.borrow_index, scaled, a.supply_index))


@external
@view
@reentrant
def deleverage_state() -> (uint256, bool):
    """
    @notice The deleveraging clock.
    @return since Time utilisation reached the hard cap (0 = below it, or back under the target).
    @return open True if `deleverage` may run now (grace passed, utilisation above the target).
    """
    a: Accrual = empty(Accrual)
    scaled: uint256 = 0
    debt: uint256 = 0
    a, scaled, debt = self._totals_now()
    since: uint256 = self._rate >> 192
    is_open: bool = since != 0 and block.timestamp >= since + (self._delever & U64_MASK)
    return since, is_open and self._utilisation(debt, a.borrow_index, scaled, a.supply_index) > self._caps >> 192


@external
@view
@reentrant
def deleverage_limit(_id: uint256) -> uint256:
    """
    @notice The most an account's deleveraging may repay now (its pro-rata share of the debt above
            the target utilisation), whether or not deleveraging is open.
    @param _id Account id.
    @return WAD.
    """
    debt_scaled: uint256 = self._load_cash(_id).debt
    if debt_scaled == 0:
        return 0
    a: Accrual = empty(Accrual)
    scaled: uint256 = 0
    debt: uint256 = 0
    a, scaled, debt = self._totals_now()
    return self._delever_limit(debt_scaled, a, scaled, debt)


@external
@view
@reentrant
def price_oracle() -> address:
    """
    @notice The price source of deleveraging.
    @return Its address (empty = deleveraging off).
    """
    return self._price_oracle


# ---------------------------------------------------------------- internals


@internal
@view
def _check_role(_role: bytes32):
    """
    @dev Revert unless the caller holds `_role`.
    @param _role Role id.
    """
    assert access_control.hasRole[_role][msg.sender], errors.MISSING_ROLE


@internal
@view
def _load_cash(_id: uint256) -> CashState:
    """
    @dev Accrue: the account's cash state in the current loss epoch (scaled
         units of a wiped-out epoch are worth nothing).
    @param _id Account id.
    @return The settled cash state (not written).
    """
    word: uint256 = self._cash[_id]
    state: CashState = CashState(scaled=word & CASH_MASK, debt=0, epoch=word >> 193)
    if word & DEBT_BIT != 0:
        state = CashState(scaled=0, debt=word & CASH_MASK, epoch=word >> 193)
    epoch: uint256 = self._loss_epoch
    if state.epoch != epoch:
        state.scaled = 0
        state.epoch = epoch
    return state


@internal
@view
def _cash_value(_state: CashState, _a: Accrual) -> int256:
    """
    @dev Signed WAD value of a settled cash state; positive part rounds down, debt rounds up.
    @param _state Settled cash state.
    @param _a The current accrual (indices).
    @return Cash.
    """
    if _state.debt > 0:
        return -convert(self._div_up(_state.debt * _a.borrow_index, constants.RAY), int256)
    return convert(_state.scaled * _a.supply_index // constants.RAY, int256)


@internal
def _checkpoint(_token: address, _previous: uint256):
    """
    @dev The deposits of `_token` change from `_previous`: store their smoothed
         value now (capped to its field) and the time.
    @param _token Collateral token.
    @param _previous total_wad before the change.
    """
    word: uint256 = self._deposit_smooth[_token]
    value: uint256 = aggregates._smoothed(_previous, word & SMOOTH_MASK, word >> 192, block.timestamp)
    self._deposit_smooth[_token] = min(value, SMOOTH_MASK) | (block.timestamp << 192)


@internal
def _set_balance(_id: uint256, _token: address, _balance: uint256):
    """
    @dev Write a collateral balance and keep the account's `_held` bit in step.
    @param _id Account id.
    @param _token Listed non-settlement token.
    @param _balance New WAD balance.
    """
    self._balances[_id][_token] = _balance
    held: uint256 = self._held[_id]
    bit: uint256 = self._asset_bit[_token]
    if _balance == 0:
        held &= ~bit
    else:
        held |= bit
    self._held[_id] = held


@internal
def _change_cash(_id: uint256, _delta: int256, _a: Accrual) -> int256:
    """
    @dev Add `_delta` to an account's cash at the accrued indices, keeping the exact totals
         (only this account's state changes, so the totals move by its state's change).
    @param _id Account id.
    @param _delta Signed WAD change.
    @param _a The accrual of this transaction (`_accrue`).
    @return Cash afterwards.
    """
    old: CashState = self._load_cash(_id)
    new: CashState = self._apply(old, _delta, _a)
    if new.scaled > old.scaled:
        self._total_scaled += unsafe_sub(new.scaled, old.scaled)
    elif new.scaled < old.scaled:
        self._total_scaled -= unsafe_sub(old.scaled, new.scaled)
    if new.debt > old.debt:
        self._total_debt += unsafe_sub(new.debt, old.debt)
    elif new.debt < old.debt:
        self._total_debt -= unsafe_sub(old.debt, new.debt)
    self._store_cash(_id, new)
    return self._cash_value(new, _a)


@internal
@pure
def _apply(_state: CashState, _delta: int256, _a: Accrual) -> CashState:
    """
    @dev A cash state plus `_delta`, rounding against the account. A credit repays debt
         first (a full repayment burns every scaled debt unit; a partial one burns
         `floor(credit * RAY / borrow_index)`), the rest becomes scaled units rounded down; a
         debit burns scaled units rounded up, and what exceeds the positive cash becomes
         scaled debt rounded up.
    @param _state Settled cash state.
    @param _delta Signed WAD change.
    @param _a Accrued indices.
    @return The new state.
    """
    state: CashState = _state
    if _delta >= 0:
        credit: uint256 = convert(_delta, uint256)
        if state.debt > 0:
            owed: uint256 = self._div_up(state.debt * _a.borrow_index, constants.RAY)
            if credit >= owed:
                state.debt = 0
                credit = unsafe_sub(credit, owed)  # dev: credit >= owed
            else:
                # dev: credit < owed, so credit * RAY / index < debt: the burn leaves debt > 0
                state.debt -= credit * constants.RAY // _a.borrow_index
                credit = 0
        if credit > 0:
            state.scaled += credit * constants.RAY // _a.supply_index
    else:
        debit: uint256 = convert(-_delta, uint256)
        positive: uint256 = state.scaled * _a.supply_index // constants.RAY
        if debit <= positive:
            # dev: debit * RAY <= scaled * index, so units <= scaled
            state.scaled = unsafe_sub(state.scaled, self._div_up(debit * constants.RAY, _a.supply_index))
        else:
            state.scaled = 0
            shortfall: uint256 = unsafe_sub(debit, positive)  # dev: debit > positive
            state.debt += self._div_up(shortfall * constants.RAY, _a.borrow_index)
    return state


@internal
@view
def _accrued() -> Accrual:
    """
    @dev The accrual a write would make now (not written). Per period since the last accrual
         (simple interest within it, compounding across accruals, as Compound):
         `borrow_index += ceil(borrow_index * rate(U) * dt / YEAR)`, owed =
         `floor(scaled_debt * index step / RAY)`, suppliers get `owed * (1 - reserve factor)`
         as a supply-index step rounded down (`earned` = that step times the scaled positive
         cash, rounded up), and the insurance fund the rest: `owed == earned + fund` exactly,
         and the positive cash created never exceeds the debt created.
    @return The accrual (zero interest when nothing is owed or no time passed).
    """
    word: uint256 = self._rate
    a: Accrual = Accrual(
        supply_index=self._loss_index, borrow_index=word & U128_MASK, owed=0, earned=0, fund=0
    )
    last: uint256 = (word >> 128) & U64_MASK
    if last >= block.timestamp:
        return a
    debt_scaled: uint256 = self._total_debt
    if debt_scaled == 0:
        return a
    scaled: uint256 = self._total_scaled
    rate: uint256 = self._borrow_rate(self._utilisation(debt_scaled, a.borrow_index, scaled, a.supply_index))
    step: uint256 = self._div_up(
        a.borrow_index * rate * unsafe_sub(block.timestamp, last), YEAR * constants.WAD
    )  # dev: last < now
    a.borrow_index += step
    a.owed = debt_scaled * step // constants.RAY
    if a.owed == 0:
        return a
    if scaled > 0:
        supplier: uint256 = a.owed * (constants.WAD - (self._caps & U64_MASK)) // constants.WAD
        growth: uint256 = supplier * constants.RAY // scaled
        a.supply_index += growth
        # dev: scaled * growth <= supplier * RAY, so earned <= supplier <= owed
        a.earned = self._div_up(scaled * growth, constants.RAY)
    a.fund = unsafe_sub(a.owed, a.earned)  # dev: earned <= owed
    return a


@internal
def _accrue() -> Accrual:
    """
    @dev Accrue: write the indices and the accrual time, credit the insurance fund its share.
         Nothing is written while there is no debt (the accrual time is set when debt appears,
         `_track`) or when this block already accrued.
    @return The accrual (its indices are the current ones).
    """
    a: Accrual = self._accrued()
    word: uint256 = self._rate
    if (word >> 128) & U64_MASK < block.timestamp and self._total_debt > 0:
        self._rate = (word >> 192 << 192) | (block.timestamp << 128) | packing._fit(a.borrow_index, 128)
        if a.owed > 0:
            self._loss_index = a.supply_index
            if a.fund > 0:
                self._change_cash(constants.INSURANCE_FUND, convert(a.fund, int256), a)
            log InterestAccrued(
                owed=a.owed, earned=a.earned, fund=a.fund, supply_index=a.supply_index, borrow_index=a.borrow_index
            )
    return a


@internal
def _track(_a: Accrual):
    """
    @dev After a change of the totals: start the accrual clock if debt just appeared, and run
         the deleveraging clock (set when utilisation reaches the hard cap, cleared below the
         target or without debt). One write, only when the word changes.
    @param _a The accrual of this transaction.
    """
    word: uint256 = self._rate
    debt_scaled: uint256 = self._total_debt
    since: uint256 = word >> 192
    new: uint256 = word
    if debt_scaled == 0:
        # dev: no debt: the clock stops and the accrual time reads "accrued" until a debt appears
        new = (word & U128_MASK) | (U64_MASK << 128)
    else:
        # dev: with debt, the last accrual is now (`_accrue` wrote it, or the debt is new)
        new = (word & ~(U64_MASK << 128)) | (block.timestamp << 128)
        caps: uint256 = self._caps
        u: uint256 = self._utilisation(debt_scaled, _a.borrow_index, self._total_scaled, _a.supply_index)
        if u >= (caps >> 128) & U64_MASK:
            if since == 0:
                new = (new & (2**192 - 1)) | (block.timestamp << 192)
        elif u < caps >> 192:
            new = new & (2**192 - 1)
    if new != word:
        self._rate = new


@internal
@view
def _utilisation(_debt_scaled: uint256, _borrow_index: uint256, _scaled: uint256, _supply_index: uint256) -> uint256:
    """
    @dev U = total debt / total positive cash, rounded up, 1 when the debt is at least the positive cash.
    @param _debt_scaled Total scaled debt.
    @param _borrow_index Borrow index.
    @param _scaled Total scaled positive cash.
    @param _supply_index Supply (loss) index.
    @return WAD.
    """
    if _debt_scaled == 0:
        return 0
    debt: uint256 = self._div_up(_debt_scaled * _borrow_index, constants.RAY)
    positive: uint256 = _scaled * _supply_index // constants.RAY
    if debt >= positive:
        return constants.WAD
    return self._div_up(debt * constants.WAD, positive)


@internal
@view
def _utilisation_now(_a: Accrual) -> uint256:
    """
    @dev Utilisation from the stored totals at this transaction's indices.
    @param _a The accrual of this transaction.
    @return WAD.
    """
    return self._utilisation(self._total_debt, _a.borrow_index, self._total_scaled, _a.supply_index)


@internal
@view
def _borrow_rate(_u: uint256) -> uint256:
    """
    @dev The kinked curve: base + slope1 * U / kink up to the kink, then + slope2 * (U - kink) / (1 - kink).
    @param _u Utilisation (WAD, <= 1).
    @return WAD per year.
    """
    curve: uint256 = self._curve
    kink: uint256 = curve >> 192
    rate: uint256 = curve & U64_MASK
    slope1: uint256 = (curve >> 64) & U64_MASK
    if _u <= kink:
        return rate + slope1 * _u // kink
    # dev: kink < U <= 1, and kink < 1 by the bounds
    return rate + slope1 + ((curve >> 128) & U64_MASK) * unsafe_sub(_u, kink) // (constants.WAD - kink)


@internal
@view
def _totals_now() -> (Accrual, uint256, uint256):
    """
    @dev The accrual and the totals (scaled positive cash, scaled debt) as they will be once it is
         written (the insurance fund's credit included).
    @return (accrual, total scaled, total scaled debt).
    """
    a: Accrual = self._accrued()
    scaled: uint256 = self._total_scaled
    debt: uint256 = self._total_debt
    if a.fund > 0:
        old: CashState = self._load_cash(constants.INSURANCE_FUND)
        new: CashState = self._apply(old, convert(a.fund, int256), a)
        scaled = scaled + new.scaled - old.scaled
        debt = debt + new.debt - old.debt
    return a, scaled, debt


@internal
@view
def _delever_limit(_debt_scaled: uint256, _a: Accrual, _scaled: uint256, _total_debt_scaled: uint256) -> uint256:
    """
    @dev An account's deleveraging share: debt * (D - target * P) / D, rounded down (0 when
         utilisation is at or below the target).
    @param _debt_scaled The account's scaled debt.
    @param _a Current accrual.
    @param _scaled Total scaled positive cash.
    @param _total_debt_scaled Total scaled debt.
    @return WAD.
    """
    total: uint256 = self._div_up(_total_debt_scaled * _a.borrow_index, constants.RAY)
    allowed: uint256 = (_scaled * _a.supply_index // constants.RAY) * (self._caps >> 192) // constants.WAD
    if total <= allowed:
        return 0
    debt: uint256 = self._div_up(_debt_scaled * _a.borrow_index, constants.RAY)
    return debt * unsafe_sub(total, allowed) // total  # dev: total > allowed


@internal
def _store_cash(_id: uint256, _state: CashState):
    """
    @dev Pack and write a cash state (scaled and debt are never both non-zero:
         a credit repays debt before it adds scaled units, a debit burns every
         scaled unit before it adds debt).
    @param _id Account id.
    @param _state The state.
    """
    word: uint256 = packing._fit(_state.epoch, 63) << 193
    if _state.debt > 0:
        assert _state.scaled == 0  # dev: scaled and debt are exclusive
        word |= packing._fit(_state.debt, 192) | DEBT_BIT
    else:
        word |= packing._fit(_state.scaled, 192)
    self._cash[_id] = word


@internal
@pure
def _div_up(_x: uint256, _y: uint256) -> uint256:
    """
    @dev Ceiling division, `_y` > 0.
    @param _x Numerator.
    @param _y Denominator.
    @return ceil(_x / _y).
    """
    if _x == 0:
        return 0
    return unsafe_add(unsafe_div(_x - 1, _y), 1)  # dev: _x >= 1 and _y > 0
