# pragma version ~=0.4.3
"""
@title MockFeeERC20
@notice Fee-on-transfer test token: `transfer` and `transferFrom` burn
        `fee_bps` / 10,000 of the amount, so the receiver gets less than sent.
@dev snekmate `erc20` underneath with its own transfer functions. Never deploy to production.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed

from snekmate.auth import ownable
from snekmate.tokens import erc20

implements: IERC20
implements: IERC20Detailed

initializes: ownable
initializes: erc20[ownable := ownable]

exports: (
    erc20.approve,
    erc20.balanceOf,
    erc20.allowance,
    erc20.totalSupply,
    erc20.name,
    erc20.symbol,
    erc20.decimals,
)

# @dev Basis-point denominator.
BPS: constant(uint256) = 10_000

# @dev Fee burnt on every transfer, in basis points.
fee_bps: public(uint256)


@deploy
def __init__(_name: String[25], _symbol: String[5], _decimals: uint8, _fee_bps: uint256):
    """
    @notice Deploy a fee-on-transfer mock token.
    @param _name Token name.
    @param _symbol Token symbol.
    @param _decimals Token decimals.
    @param _fee_bps Fee burnt per transfer (basis points, <= 10,000).
    """
    assert _fee_bps <= BPS  # dev: fee above 100 %
    ownable.__init__()
    erc20.__init__(_name, _symbol, _decimals, _name, "1")
    self.fee_bps = _fee_bps


@external
def mint(_to: address, _amount: uint256):
    """
    @notice Mint `_amount` to `_to`; anyone may call.
    @param _to Receiver.
    @param _amount Amount (token decimals).
    """
    erc20._mint(_to, _amount)


@external
def set_fee_bps(_fee_bps: uint256):
    """
    @notice Change the fee; anyone may call.
    @param _fee_bps Fee in basis points (<= 10,000).
    """
    assert _fee_bps <= BPS  # dev: fee above 100 %
    self.fee_bps = _fee_bps


@external
def transfer(_to: address, _amount: uint256) -> bool:
    """
    @notice Send `_amount`; `_to` receives it minus the fee, the fee is burnt.
    @param _to Receiver.
    @param _amount Amount debited from the caller.
    @return True.
    """
    self._transfer_with_fee(msg.sender, _to, _amount)
    return True


@external
def transferFrom(_owner: address, _to: address, _amount: uint256) -> bool:
    """
    @notice Send `_amount` from `_owner` using the caller's allowance; the fee is burnt.
    @param _owner Payer.
    @param _to Receiver.
    @param _amount Amount debited from `_owner`.
    @return True.
    """
    erc20._spend_allowance(_owner, msg.sender, _amount)
    self._transfer_with_fee(_owner, _to, _amount)
    return True


@internal
def _transfer_with_fee(_owner: address, _to: address, _amount: uint256):
    """
    @dev Burn the fee from `_owner`, then transfer the rest.
    @param _owner Payer.
    @param _to Receiver.
    @param _amount Gross amount.
    """
    fee: uint256 = _amount * self.fee_bps // BPS
    if fee > 0:
        erc20._burn(_owner, fee)
    erc20._transfer(_owner, _to, _amount - fee)
