# pragma version ~=0.4.3
"""
@title MockLendingPeer
@notice Test double for the Vault's deleveraging peers: a price source (`price`, as the OracleRouter) and a
        margin view (`margin`, as the RiskEngine), both set by the test.
"""

struct MarginResult:
    equity_im: int256
    equity_mm: int256
    im: uint256
    mm: uint256
    status: uint8


prices: public(HashMap[uint256, uint256])
status: public(uint8)
results: public(HashMap[uint256, MarginResult])


@external
def set_price(_uid: uint256, _price: uint256, _status: uint8):
    """
    @notice Set the price of an underlying and the status every price reports.
    @param _uid Underlying id.
    @param _price WAD price.
    @param _status Oracle status.
    """
    self.prices[_uid] = _price
    self.status = _status


@external
def set_margin(_account: uint256, _equity_mm: int256, _mm: uint256, _status: uint8):
    """
    @notice Set what `margin(_account)` returns.
    @param _account Account id.
    @param _equity_mm MM equity.
    @param _mm MM requirement.
    @param _status Oracle status.
    """
    self.results[_account] = MarginResult(equity_im=_equity_mm, equity_mm=_equity_mm, im=_mm, mm=_mm, status=_status)


@external
@view
def price(_uid: uint256) -> (uint256, uint8):
    """
    @notice Price and status of an underlying.
    @param _uid Underlying id.
    @return (price, status).
    """
    return self.prices[_uid], self.status


@external
@view
def margin(_account: uint256) -> MarginResult:
    """
    @notice The margin result set for an account.
    @param _account Account id.
    @return MarginResult.
    """
    return self.results[_account]


@external
@view
def is_above_im(_account: uint256) -> bool:
    """
    @notice The withdrawal hook: always true here.
    @param _account Account id.
    @return True.
    """
    return True
