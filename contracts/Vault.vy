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
          read or touch. The index only falls; a loss wiping out all positive
          cash starts a new loss epoch (index back to RAY, old scaled units 0).
        - margin checker: `IMarginChecker` hook (the RiskEngine) asked after a
          withdrawal whether the account is still above initial margin.

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
     Pause blocks withdrawals only; deposits are never paused and clearing
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
from .lib import errors
from .lib import packing

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

# @dev Listed assets in listing order.
_asset_list: DynArray[address, constants.MAX_ASSETS]
# @dev Listing data per token.
_asset_info: HashMap[address, AssetInfo]
# @dev 10**(18 - decimals) per listed token.
_scale: HashMap[address, uint256]
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
# @dev Cash per scaled unit of positive cash (RAY); starts at RAY and only falls.
_loss_index: uint256
# @dev Current loss epoch; scaled units of older epochs are worth 0.
_loss_epoch: uint256
# @dev Sum of scaled positive cash over all accounts of the current epoch (exact).
_total_scaled: uint256
# @dev Sum of negative cash (debts) over all accounts, WAD (exact).
_total_debt: uint256
# @dev Margin hook asked after withdrawals (empty = no check).
_margin_checker: address
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
        self._change_cash(_id, convert(wad, int256))
    else:
        self._set_balance(_id, _token, self._balances[_id][_token] + wad)
    log Deposit(id=_id, token=_token, sender=msg.sender, amount=received, wad=wad)


@external
def withdraw(_id: uint256, _token: address, _amount: uint256, _receiver: address):
    """
    @notice Withdraw `_amount` of `_token` (token decimals) from account `_id` to `_receiver`.
    @dev Owner or approved operator; blocked while paused. The account must
         hold the amount (cash >= amount for the settlement asset, and the
         Vault must custody that much: positive cash owed by accounts in debt
         is not yet backed) and, if a margin checker is set, stay above
         initial margin afterwards.
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
        # dev: accrue: `_load_cash` settles the loss epoch, the index applies on read
        assert self._cash_value(self._load_cash(_id), self._loss_index) >= convert(wad, int256), errors.INSUFFICIENT_BALANCE
        # dev: positive cash may be unbacked while counterparties owe it (their debt)
        assert info.total_wad >= wad, errors.INSUFFICIENT_LIQUIDITY
        self._change_cash(_id, -convert(wad, int256))
    else:
        balance: uint256 = self._balances[_id][_token]
        assert balance >= wad, errors.INSUFFICIENT_BALANCE
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
    cash: int256 = self._change_cash(_id, _delta)
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
        assert self._cash_value(self._load_cash(_from), self._loss_index) >= amount, errors.INSUFFICIENT_BALANCE
        self._change_cash(_from, -amount)
        self._change_cash(_to, amount)
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

    index: uint256 = self._loss_index
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
    log LossSocialized(
        amount_wad=_amount_wad,
        absorbed_wad=absorbed,
        loss_index=self._loss_index,
        loss_epoch=self._loss_epoch,
    )
    return absorbed


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
    @notice Settlement cash of an account, pending socialised losses applied.
    @param _id Account id.
    @return Signed WAD cash (positive part rounded down).
    """
    return self._cash_value(self._load_cash(_id), self._loss_index)


@external
@view
@reentrant
def total_positive_cash() -> uint256:
    """
    @notice Sum of all positive cash (exact up to < 1 wei per account, from above).
    @return WAD.
    """
    return self._total_scaled * self._loss_index // constants.RAY


@external
@view
@reentrant
def total_debt() -> uint256:
    """
    @notice Sum of all negative cash, as a positive number.
    @return WAD.
    """
    return self._total_debt


@external
@view
@reentrant
def loss_index() -> uint256:
    """
    @notice Cash per scaled unit of positive cash.
    @return RAY-scaled index (RAY = no loss in this epoch).
    """
    return self._loss_index


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
def _cash_value(_state: CashState, _index: uint256) -> int256:
    """
    @dev Signed WAD value of a settled cash state; positive part rounds down.
    @param _state Settled cash state.
    @param _index The current loss index (a caller that already read it passes it on).
    @return Cash.
    """
    if _state.debt > 0:
        return -convert(_state.debt, int256)
    return convert(_state.scaled * _index // constants.RAY, int256)


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
def _change_cash(_id: uint256, _delta: int256) -> int256:
    """
    @dev Add `_delta` to an account's cash, keeping the exact totals. A credit
         repays debt first, the rest becomes scaled units rounded down; a debit
         burns scaled units rounded up, and what exceeds the positive cash
         becomes debt.
    @param _id Account id.
    @param _delta Signed WAD change.
    @return Cash afterwards.
    """
    state: CashState = self._load_cash(_id)
    index: uint256 = self._loss_index
    if _delta >= 0:
        credit: uint256 = convert(_delta, uint256)
        repaid: uint256 = min(credit, state.debt)
        if repaid > 0:
            state.debt = unsafe_sub(state.debt, repaid)  # dev: repaid <= debt
            self._total_debt -= repaid
            credit = unsafe_sub(credit, repaid)  # dev: repaid <= credit
        if credit > 0:
            units: uint256 = credit * constants.RAY // index
            state.scaled += units
            self._total_scaled += units
    else:
        debit: uint256 = convert(-_delta, uint256)
        positive: uint256 = state.scaled * index // constants.RAY
        if debit <= positive:
            # dev: debit * RAY <= scaled * index, so units <= scaled
            units: uint256 = self._div_up(debit * constants.RAY, index)
            state.scaled = unsafe_sub(state.scaled, units)
            self._total_scaled -= units
        else:
            self._total_scaled -= state.scaled
            state.scaled = 0
            shortfall: uint256 = unsafe_sub(debit, positive)  # dev: debit > positive
            state.debt += shortfall
            self._total_debt += shortfall
    self._store_cash(_id, state)
    # dev: the index read above: nothing here writes `_loss_index`
    return self._cash_value(state, index)


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
