# pragma version ~=0.4.3
"""
@title FlakyEngine
@notice Test stand-in for the RiskEngine's `margin`: a settable result per account, and accounts whose call
        reverts (like an instrument the engine cannot price) or returns too few bytes.
"""

from contracts.lib import types

results: public(HashMap[uint256, types.MarginResult])
reverts: public(HashMap[uint256, bool])
short: public(HashMap[uint256, bool])


@external
def set_result(_account: uint256, _r: types.MarginResult):
    self.results[_account] = _r


@external
def set_reverts(_account: uint256, _on: bool):
    self.reverts[_account] = _on


@external
def set_short(_account: uint256, _on: bool):
    self.short[_account] = _on


@external
@view
@raw_return
def margin(_account: uint256) -> Bytes[160]:
    assert not self.reverts[_account], "options not supported"
    if self.short[_account]:
        return b"\x01"
    return abi_encode(self.results[_account])
