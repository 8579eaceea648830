# pragma version ~=0.4.3
"""
@title MockMarginChecker
@notice IMarginChecker stand-in: an account is "above IM" unless blocked, and,
        if a minimum cash is set for it, while the Vault's `cash_of` is at least
        that minimum. Reading the Vault inside the hook exercises its
        `@reentrant` views under the Vault's lock.
@dev Never deploy to production.
"""

from ..interfaces import IMarginChecker

implements: IMarginChecker


interface IVaultCash:
    def cash_of(_id: uint256) -> int256: view


# @dev Vault read inside the hook.
vault: public(address)
# @dev Accounts the hook rejects outright.
blocked: public(HashMap[uint256, bool])
# @dev Whether a minimum cash applies to an account.
has_min_cash: public(HashMap[uint256, bool])
# @dev Minimum cash (WAD) an account must keep after a withdrawal.
min_cash: public(HashMap[uint256, int256])


@deploy
def __init__(_vault: address):
    """
    @notice Deploy the checker for `_vault`.
    @param _vault Vault whose `cash_of` is read.
    """
    self.vault = _vault


@external
def set_blocked(_account: uint256, _blocked: bool):
    """
    @notice Reject (or stop rejecting) every withdrawal of `_account`.
    @param _account Account id.
    @param _blocked True to reject.
    """
    self.blocked[_account] = _blocked


@external
def set_min_cash(_account: uint256, _min_cash: int256):
    """
    @notice Require `cash_of(_account) >= _min_cash` after withdrawals.
    @param _account Account id.
    @param _min_cash Minimum cash (WAD).
    """
    self.has_min_cash[_account] = True
    self.min_cash[_account] = _min_cash


@external
@view
def is_above_im(account: uint256) -> bool:
    """
    @notice Whether the account may keep the withdrawal.
    @param account Account id.
    @return False if blocked or below its minimum cash.
    """
    if self.blocked[account]:
        return False
    if self.has_min_cash[account]:
        return staticcall IVaultCash(self.vault).cash_of(account) >= self.min_cash[account]
    return True
