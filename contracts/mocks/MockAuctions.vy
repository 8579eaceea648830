# pragma version ~=0.4.3
"""
@title MockAuctions
@notice Test stand-in for `Liquidation.auction(account) -> Auction {start, insolvent, active, expiry, version,
        holds}`, the real layout (the Lens and the Clearinghouse's auction lock read `active`).
"""

struct Auction:
    start: uint256
    insolvent: bool
    active: bool
    expiry: uint256
    version: uint256
    holds: bool

auctions: HashMap[uint256, Auction]
broken: public(bool)


@external
def set_auction(_account: uint256, _start: uint256, _insolvent: bool, _active: bool):
    self.auctions[_account] = Auction(
        start=_start, insolvent=_insolvent, active=_active, expiry=_start + 3600, version=1, holds=False
    )


@external
def set_active(_account: uint256, _active: bool):
    """
    @notice Open (now) or close the account's auction.
    @param _account Account id.
    @param _active Whether it is open.
    """
    self.auctions[_account] = Auction(
        start=block.timestamp, insolvent=False, active=_active, expiry=block.timestamp + 3600, version=1, holds=False
    )


@external
def set_broken(_on: bool):
    self.broken = _on


@external
@view
def auction(_account: uint256) -> Auction:
    assert not self.broken, "broken"
    return self.auctions[_account]
