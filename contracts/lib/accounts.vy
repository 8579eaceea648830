# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title Account registry
@custom:contract-name accounts
@notice Margin accounts of the Vault. An account id (1, 2, ...) has one owner
        and is either a cross account (`isolated_instrument == 0`) or an isolated
        subaccount bound to one instrument: same engine, same formulas, only its
        own collateral. An owner may hold any number of accounts. Owners approve
        operators (bots) owner-wide, like Morpho `setAuthorization`.
@dev Used by the Vault through `initializes: accounts` and `exports:`.
     Views are `@reentrant` so the margin checker may read them while the Vault
     holds its lock (they run after the Vault wrote its storage).
     Storage ids are never reused; ownership is not transferable.
"""

from . import errors
from . import packing


# @dev Number of accounts opened so far; valid ids are 1..account_count.
_account_count: uint256
# @dev Per account id, one word (read together by every bid and fill): the owner (bits 0-159; empty = not
#      opened) and the instrument an isolated subaccount is bound to (bits 160-255; 0 = cross account).
_accounts: HashMap[uint256, uint256]
# @dev owner -> operator -> approved to act on all of the owner's accounts.
_operators: HashMap[address, HashMap[address, bool]]


# @dev Emitted when an account is opened.
event AccountOpened:
    id: indexed(uint256)
    owner: indexed(address)
    isolated_instrument: uint256


# @dev Emitted when an owner approves or revokes an operator.
event OperatorSet:
    owner: indexed(address)
    operator: indexed(address)
    approved: bool


@deploy
def __init__():
    """
    @dev Nothing to initialise: the first account gets id 1.
    """
    pass


@external
def open_account(_isolated_instrument: uint256) -> uint256:
    """
    @notice Open a new account owned by the caller.
    @dev Never paused: opening an account takes no risk.
    @param _isolated_instrument 0 for a cross account, otherwise the instrument
           id this isolated subaccount is restricted to.
    @return The new account id.
    """
    return self._open_account(msg.sender, _isolated_instrument)


@external
def set_operator(_operator: address, _approved: bool):
    """
    @notice Approve or revoke `_operator` on every account of the caller.
    @param _operator Address that may withdraw and trade for the caller's accounts.
    @param _approved True to approve, False to revoke.
    """
    assert _operator != empty(address), errors.EMPTY_ADDRESS
    assert _operator != msg.sender, errors.SELF_OPERATOR
    self._operators[msg.sender][_operator] = _approved
    log OperatorSet(owner=msg.sender, operator=_operator, approved=_approved)


@external
@view
@reentrant
def account_count() -> uint256:
    """
    @notice Number of accounts opened so far (the largest valid id).
    @return The count.
    """
    return self._account_count


@external
@view
@reentrant
def owner_of(_id: uint256) -> address:
    """
    @notice Owner of an account.
    @param _id Account id.
    @return The owner, or the empty address if `_id` is not open.
    """
    return packing._address_of(self._accounts[_id])


@external
@view
@reentrant
def isolated_instrument(_id: uint256) -> uint256:
    """
    @notice Instrument an isolated subaccount is bound to.
    @param _id Account id.
    @return The instrument id, 0 for a cross account.
    """
    return self._accounts[_id] >> 160


@external
@view
@reentrant
def is_operator(_owner: address, _operator: address) -> bool:
    """
    @notice Whether `_operator` is approved by `_owner`.
    @param _owner Account owner.
    @param _operator Candidate operator.
    @return True if approved.
    """
    return self._operators[_owner][_operator]


@external
@view
@reentrant
def is_authorized(_id: uint256, _caller: address) -> bool:
    """
    @notice Whether `_caller` may act for account `_id` (its owner or an
            operator approved by the owner).
    @param _id Account id.
    @param _caller Address to check.
    @return True if authorized; False for an account that is not open.
    """
    return self._is_authorized(_id, _caller)


@internal
def _open_account(_owner: address, _isolated_instrument: uint256) -> uint256:
    """
    @dev Assign the next id to `_owner`.
    @param _owner Owner of the new account.
    @param _isolated_instrument 0 or the bound instrument id.
    @return The new account id.
    """
    id: uint256 = self._account_count + 1
    self._account_count = id
    self._accounts[id] = convert(_owner, uint256) | (packing._fit(_isolated_instrument, 96) << 160)
    log AccountOpened(id=id, owner=_owner, isolated_instrument=_isolated_instrument)
    return id


@internal
@view
def _is_authorized(_id: uint256, _caller: address) -> bool:
    """
    @dev Owner or approved operator of an open account.
    @param _id Account id.
    @param _caller Address to check.
    @return True if authorized.
    """
    owner: address = packing._address_of(self._accounts[_id])
    if owner == empty(address):
        return False
    return owner == _caller or self._operators[owner][_caller]


@internal
@view
def _check_open(_id: uint256):
    """
    @dev Revert unless `_id` is an open account.
    @param _id Account id.
    """
    # dev: ids are assigned sequentially, an empty owner means never opened
    assert self._accounts[_id] != 0, errors.UNKNOWN_ACCOUNT


@internal
@view
def _check_authorized(_id: uint256, _caller: address):
    """
    @dev Revert unless `_id` is open and `_caller` is its owner or operator.
    @param _id Account id.
    @param _caller Address to check.
    """
    self._check_open(_id)
    assert self._is_authorized(_id, _caller), errors.NOT_AUTHORIZED
