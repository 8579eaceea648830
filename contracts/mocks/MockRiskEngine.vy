# pragma version ~=0.4.3
"""
@title MockRiskEngine
@notice IRiskEngine stand-in for the Clearinghouse tests, until the real one exists.
        Per account a settable base result `(equity, im, mm, status)`; unset
        accounts are permissive (all zero, status OK: 0 >= 0 passes IM).
        Optional live terms make the result react to a fill:
        - with a Vault set, the account's `cash_of` is added to the equity;
        - with a Clearinghouse set, `im_per_unit` / `mm_per_unit` times the
          account's gross size (sum of |size|, in units) are added to IM / MM.
@dev Never deploy to production.
"""

from ..interfaces import IRiskEngine
from ..lib import constants
from ..lib import types

implements: IRiskEngine


interface IVaultCash:
    def cash_of(_id: uint256) -> int256: view


interface IPositions:
    def positions_of(_account: uint256) -> DynArray[types.Position, constants.MAX_POSITIONS]: view


# @dev Base result of one account.
struct Config:
    equity: int256
    im: uint256
    mm: uint256
    status: uint8


# @dev Base result per account (all zero = permissive).
configs: public(HashMap[uint256, Config])
# @dev Vault whose cash is added to equity (empty = none).
vault: public(address)
# @dev Clearinghouse whose gross sizes feed IM / MM (empty = none).
clearinghouse: public(address)
# @dev IM per unit of gross size (WAD USD).
im_per_unit: public(uint256)
# @dev MM per unit of gross size (WAD USD).
mm_per_unit: public(uint256)


@external
def set_margin(_account: uint256, _equity: int256, _im: uint256, _mm: uint256, _status: uint8):
    """
    @notice Set an account's base result (equity is used for both IM and MM).
    @param _account Account id.
    @param _equity Base equity (WAD).
    @param _im Base IM (WAD).
    @param _mm Base MM (WAD).
    @param _status Oracle status to report.
    """
    self.configs[_account] = Config(equity=_equity, im=_im, mm=_mm, status=_status)


@external
def set_status(_account: uint256, _status: uint8):
    """
    @notice Set only the reported oracle status of an account.
    @param _account Account id.
    @param _status OK (0), DEGRADED (1) or STALE (2).
    """
    self.configs[_account].status = _status


@external
def set_live(_vault: address, _clearinghouse: address, _im_per_unit: uint256, _mm_per_unit: uint256):
    """
    @notice Make results react to cash and positions (empty addresses turn a term off).
    @param _vault Vault read for cash.
    @param _clearinghouse Clearinghouse read for positions.
    @param _im_per_unit IM per unit of gross size (WAD).
    @param _mm_per_unit MM per unit of gross size (WAD).
    """
    self.vault = _vault
    self.clearinghouse = _clearinghouse
    self.im_per_unit = _im_per_unit
    self.mm_per_unit = _mm_per_unit


@external
@view
def margin(_account: uint256) -> types.MarginResult:
    """
    @notice The account's configured result plus the live terms.
    @param _account Account id.
    @return (equity_im, equity_mm, im, mm, status).
    """
    return self._margin(_account)


@external
@view
def is_above_im(_account: uint256) -> bool:
    """
    @notice Status OK and equity_im >= im.
    @param _account Account id.
    @return True if above initial margin.
    """
    r: types.MarginResult = self._margin(_account)
    return r.status == constants.OK and r.equity_im >= convert(r.im, int256)


@internal
@view
def _margin(_account: uint256) -> types.MarginResult:
    """
    @dev Base result plus the live terms.
    @param _account Account id.
    @return The result.
    """
    c: Config = self.configs[_account]
    equity: int256 = c.equity
    im: uint256 = c.im
    mm: uint256 = c.mm
    if self.vault != empty(address):
        equity += staticcall IVaultCash(self.vault).cash_of(_account)
    if self.clearinghouse != empty(address):
        gross: uint256 = 0
        for p: types.Position in staticcall IPositions(self.clearinghouse).positions_of(_account):
            gross += convert(abs(p.size), uint256)
        im += self.im_per_unit * gross // constants.WAD
        mm += self.mm_per_unit * gross // constants.WAD
    return types.MarginResult(equity_im=equity, equity_mm=equity, im=im, mm=mm, status=c.status)
