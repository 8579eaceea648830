# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title crossmargin Lens
@custom:contract-name Lens
@license MIT
@notice Batch reads for bots: the health of up to 500 accounts in one
        `eth_call` (the keeper's scan, the agents' checks).

        Glossary
        - health: one account's `RiskEngine.margin` (equity_mm, mm, equity_im,
          im, status) plus whether a Liquidation auction is open on it.
        - liquidatable: mm > equity_mm with a usable status (the keeper decides:
          STALE means wait, DEGRADED means "liquidatable at both prices").
        - FAILED: status of an account whose margin call reverted (e.g. an
          instrument the engine cannot price yet); every other field is 0.
          One such account never makes the whole batch revert.

@dev View only, no state but two addresses. Each account costs one
     `RiskEngine.margin` (and one `Liquidation.auction` once wired) through
     `raw_call` with `revert_on_failure=False`, so a reverting account is
     reported, not fatal. Calls forward all gas: callers size batches so that
     batch × margin gas fits the node's eth_call gas cap.
"""

from snekmate.auth import access_control

from . import RiskEngine
from .lib import constants
from .lib import errors
from .lib import margin_math
from .lib import types

initializes: access_control

exports: access_control.__interface__


# @dev Health of one account (the keeper's row).
struct Health:
    account: uint256             # account id
    equity_mm: int256            # equity with MM haircuts (WAD USD)
    mm: uint256                  # maintenance margin requirement (WAD USD)
    equity_im: int256            # equity with IM haircuts (WAD USD)
    im: uint256                  # initial margin requirement (WAD USD)
    status: uint8                # worst oracle status (OK, DEGRADED, STALE) or FAILED
    in_auction: bool             # a Liquidation auction is open on the account


# @dev Largest batch of one `health` call.
MAX_BATCH: constant(uint256) = 500
# @dev Status of an account whose margin call reverted.
FAILED: public(constant(uint8)) = 255
# @dev ABI size of `types.MarginResult` (five static words).
MARGIN_SIZE: constant(uint256) = 160
# @dev ABI size of `RiskEngine.margin_for_liquidation`'s (MarginResult, penalty, haircut, collateral_free).
LIQUIDATION_SIZE: constant(uint256) = 256
# @dev Words of `Liquidation.auction` read (Auction {start, insolvent, active, expiry, version, holds}).
AUCTION_SIZE: constant(uint256) = 192

# @dev WAD as a signed integer.
SWAD: constant(int256) = 10**18

# @dev The RiskEngine read for margins.
risk_engine: public(immutable(address))
# @dev The Liquidation contract read for open auctions (empty until wired: in_auction is False).
liquidation: public(address)


# @dev Emitted when the admin wires (or unwires) the Liquidation contract.
event LiquidationSet:
    liquidation: indexed(address)


@deploy
def __init__(_risk_engine: address):
    """
    @notice Deploy over a RiskEngine; the deployer becomes admin.
    @param _risk_engine The RiskEngine.
    """
    assert _risk_engine != empty(address), errors.EMPTY_ADDRESS
    access_control.__init__()
    risk_engine = _risk_engine


@external
def set_liquidation(_liquidation: address):
    """
    @notice Wire the Liquidation contract whose auctions `health` reports.
    @dev Admin only; empty unwires it (in_auction is then always False).
    @param _liquidation Contract with `auction(account)`.
    """
    assert access_control.hasRole[access_control.DEFAULT_ADMIN_ROLE][msg.sender], errors.MISSING_ROLE
    self.liquidation = _liquidation
    log LiquidationSet(liquidation=_liquidation)


@external
@view
def health(_accounts: DynArray[uint256, MAX_BATCH]) -> DynArray[Health, MAX_BATCH]:
    """
    @notice Health of each account, in the order given.
    @dev An account whose margin call reverts reports status FAILED.
    @param _accounts Account ids (at most 500).
    @return One `Health` per account.
    """
    out: DynArray[Health, MAX_BATCH] = []
    liquidation: address = self.liquidation
    for account: uint256 in _accounts:
        out.append(self._health(account, liquidation))
    return out


@external
@view
def health_for_liquidation(_accounts: DynArray[uint256, MAX_BATCH]) -> DynArray[Health, MAX_BATCH]:
    """
    @notice Health of each account as the Liquidation contract judges it:
            `RiskEngine.margin_for_liquidation` at the primary prices (a stale
            secondary leaves the primary, stale collateral counts 0, a stale
            underlying is valued at its worst scenario; STALE only when no
            price can be used), so a keeper never skips an account that
            `start_auction` would accept.
    @dev Same rows as `health`; the penalty is already taken off equity_mm and
         equity_im. DEGRADED rows are judged at the primary only (the contract
         also requires the secondary).
    @param _accounts Account ids (at most 500).
    @return One `Health` per account.
    """
    out: DynArray[Health, MAX_BATCH] = []
    liquidation: address = self.liquidation
    for account: uint256 in _accounts:
        out.append(self._health_with(account, liquidation, True))
    return out


@external
@view
def greeks(_account: uint256) -> DynArray[types.Greeks, constants.MAX_UNDERLYINGS]:
    """
    @notice Aggregate Greeks per underlying the account touches (moved here from the RiskEngine: bytes).
    @dev From `RiskEngine.requirement_breakdown`, the same evaluation as `margin`. Delta counts
         positions (options at size·Black-76 delta) and linked collateral at its full balance in units of
         the underlying (ERC-4626 shares at the guarded rate: the hedger's view of exposure); gamma, vega
         and theta come from options only (OptionPricer units: per unit of spot², per 1.00 of vol, per
         year), each truncated. delta_usd = delta·S_u, rounded down. Reverts when the engine does.
    @param _account Account id.
    @return One `Greeks` per underlying, in first-touch order.
    """
    out: DynArray[types.Greeks, constants.MAX_UNDERLYINGS] = []
    for book: RiskEngine.UnderlyingRisk in staticcall RiskEngine.__interface__(risk_engine).requirement_breakdown(
        _account
    ):
        delta: int256 = book.net_delta + convert(book.collateral, int256)
        out.append(
            types.Greeks(
                underlying=book.underlying,
                delta=delta,
                delta_usd=margin_math._sdiv_down(delta * convert(book.spot, int256), SWAD),
                gamma=book.gamma,
                vega=book.vega,
                theta=book.theta,
            )
        )
    return out


@internal
@view
def _health(_account: uint256, _liquidation: address) -> Health:
    """
    @dev Margin of one account (FAILED if the engine reverts) and its auction flag.
    @param _account Account id.
    @param _liquidation Liquidation contract (empty = none).
    @return The row.
    """
    return self._health_with(_account, _liquidation, False)


@internal
@view
def _health_with(_account: uint256, _liquidation: address, _liquidation_mode: bool) -> Health:
    """
    @dev Margin of one account, normal or liquidation mode (FAILED if the engine reverts), and its auction flag.
    @param _account Account id.
    @param _liquidation Liquidation contract (empty = none).
    @param _liquidation_mode `margin_for_liquidation(_account, False)` instead of `margin(_account)`.
    @return The row.
    """
    ok: bool = False
    data: Bytes[LIQUIDATION_SIZE] = b""
    call: Bytes[68] = abi_encode(_account, method_id=method_id("margin(uint256)"))
    size: uint256 = MARGIN_SIZE
    if _liquidation_mode:
        call = abi_encode(_account, False, method_id=method_id("margin_for_liquidation(uint256,bool)"))
        size = LIQUIDATION_SIZE
    ok, data = raw_call(
        risk_engine,
        call,
        max_outsize=LIQUIDATION_SIZE,
        is_static_call=True,
        revert_on_failure=False,
    )
    if not ok or len(data) != size:
        return Health(account=_account, equity_mm=0, mm=0, equity_im=0, im=0, status=FAILED, in_auction=False)
    r: types.MarginResult = abi_decode(slice(data, 0, MARGIN_SIZE), types.MarginResult)
    return Health(
        account=_account,
        equity_mm=r.equity_mm,
        mm=r.mm,
        equity_im=r.equity_im,
        im=r.im,
        status=r.status,
        in_auction=self._in_auction(_account, _liquidation),
    )


@internal
@view
def _in_auction(_account: uint256, _liquidation: address) -> bool:
    """
    @dev `Liquidation.auction(account).active`; False if unwired or the call fails.
    @param _account Account id.
    @param _liquidation Liquidation contract (empty = none).
    @return Whether an auction is open.
    """
    if _liquidation == empty(address):
        return False
    ok: bool = False
    data: Bytes[AUCTION_SIZE] = b""
    ok, data = raw_call(
        _liquidation,
        abi_encode(_account, method_id=method_id("auction(uint256)")),
        max_outsize=AUCTION_SIZE,
        is_static_call=True,
        revert_on_failure=False,
    )
    if not ok or len(data) != AUCTION_SIZE:
        return False
    # dev: `active` is the third word (an expired auction is still active: its account trades only through it)
    start: uint256 = 0
    insolvent: bool = False
    active: bool = False
    expiry: uint256 = 0
    version: uint256 = 0
    holds: bool = False
    start, insolvent, active, expiry, version, holds = abi_decode(
        data, (uint256, bool, bool, uint256, uint256, bool)
    )
    return active
