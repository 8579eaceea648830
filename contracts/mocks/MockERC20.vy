# pragma version ~=0.4.3
"""
@title MockERC20
@notice Test ERC20 with configurable decimals and a public, unrestricted `mint`.
@dev snekmate `erc20` underneath; only the ERC20 surface is exported. Never deploy to production.
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
    erc20.transfer,
    erc20.transferFrom,
    erc20.approve,
    erc20.balanceOf,
    erc20.allowance,
    erc20.totalSupply,
    erc20.name,
    erc20.symbol,
    erc20.decimals,
)


@deploy
def __init__(_name: String[25], _symbol: String[5], _decimals: uint8):
    """
    @notice Deploy a mock token.
    @param _name Token name.
    @param _symbol Token symbol.
    @param _decimals Token decimals.
    """
    ownable.__init__()
    erc20.__init__(_name, _symbol, _decimals, _name, "1")


@external
def mint(_to: address, _amount: uint256):
    """
    @notice Mint `_amount` to `_to`; anyone may call.
    @param _to Receiver.
    @param _amount Amount (token decimals).
    """
    erc20._mint(_to, _amount)
