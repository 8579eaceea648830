# pragma version ~=0.4.3
"""
@title MockERC4626
@notice Test ERC-4626 vault on snekmate's `erc4626` module (virtual shares: `decimals_offset`), plus test knobs:
        `lose` sends assets away (the rate drops), `set_mode` makes `convertToAssets` revert (1) or return 0 (2), or `maxRedeem` revert (3);
        `set_redeem_cap` caps `maxRedeem` (liquidity drying up).
        Donations are plain asset transfers to the vault (totalAssets = its asset balance). Never deploy to production.
"""

from ethereum.ercs import IERC20

from snekmate.extensions import erc4626

initializes: erc4626

exports: (
    erc4626.totalSupply,
    erc4626.balanceOf,
    erc4626.transfer,
    erc4626.transferFrom,
    erc4626.approve,
    erc4626.allowance,
    erc4626.name,
    erc4626.symbol,
    erc4626.decimals,
    erc4626.asset,
    erc4626.totalAssets,
    erc4626.convertToShares,
    erc4626.maxDeposit,
    erc4626.previewDeposit,
    erc4626.deposit,
    erc4626.maxMint,
    erc4626.previewMint,
    erc4626.mint,
    erc4626.maxWithdraw,
    erc4626.previewWithdraw,
    erc4626.withdraw,
    erc4626.previewRedeem,
    erc4626.redeem,
)

# @dev 0 normal, 1 convertToAssets reverts, 2 convertToAssets returns 0.
mode: public(uint8)

# @dev Largest `maxRedeem` answer (share units): the vault's liquidity; max_value = the owner's whole balance.
redeem_cap: public(uint256)

# @dev Where `lose` sends assets.
SINK: constant(address) = 0x000000000000000000000000000000000000dEaD


@deploy
def __init__(_name: String[25], _symbol: String[5], _asset: IERC20, _decimals_offset: uint8):
    """
    @notice Deploy a mock vault of `_asset`.
    @param _name Share token name.
    @param _symbol Share token symbol.
    @param _asset Underlying asset.
    @param _decimals_offset Share decimals minus asset decimals (virtual shares 10**offset).
    """
    erc4626.__init__(_name, _symbol, _asset, _decimals_offset, _name, "1")
    self.redeem_cap = max_value(uint256)


@external
@view
def maxRedeem(owner: address) -> uint256:
    """
    @notice ERC-4626 maxRedeem: the owner's balance, at most `redeem_cap`; reverts in mode 3.
    @param owner Share owner.
    @return Redeemable shares.
    """
    assert self.mode != 3, "vault paused"
    return min(erc4626.erc20.balanceOf[owner], self.redeem_cap)


@external
def set_redeem_cap(_cap: uint256):
    """
    @notice Cap `maxRedeem` (liquidity drying up); anyone may call (a mock).
    @param _cap Largest redeemable shares.
    """
    self.redeem_cap = _cap


@external
@view
def convertToAssets(shares: uint256) -> uint256:
    """
    @notice ERC-4626 convertToAssets, or a revert / 0 per `mode`.
    @param shares Share amount.
    @return Asset amount.
    """
    assert self.mode != 1, "vault paused"
    if self.mode == 2:
        return 0
    return erc4626._convert_to_assets(shares, False)


@external
def set_mode(_mode: uint8):
    """
    @notice 0 normal, 1 convertToAssets reverts, 2 it returns 0, 3 maxRedeem reverts; anyone may call (a mock).
    @param _mode The mode.
    """
    self.mode = _mode


@external
def lose(_assets: uint256):
    """
    @notice Send `_assets` of the vault's asset away (a loss: the rate drops); anyone may call (a mock).
    @param _assets Amount (asset units).
    """
    extcall IERC20(erc4626.asset).transfer(SINK, _assets)
