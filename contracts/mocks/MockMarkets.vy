# pragma version ~=0.4.3
"""
@title MockMarkets
@notice Stand-in for Markets with the surface the RiskEngine reads:
        `margin_terms(id)` and `funding_index_at(id, price, ok)`, plus `instrument(id)`
        and `funding_index(id)`. Instruments are stored unpacked (one struct per id):
        measure gas against the real Markets, not this mock.
@dev Never deploy to production. Anyone may set anything.
"""

from ..lib import types


# @dev Instrument per id.
_instruments: HashMap[uint256, types.Instrument]
# @dev Cumulative funding index per perp id (WAD USD per unit).
_funding: HashMap[uint256, int256]


@external
def set_instrument(_id: uint256, _instrument: types.Instrument):
    """
    @notice Store (or replace) instrument `_id`.
    @param _id Instrument id.
    @param _instrument The instrument.
    """
    self._instruments[_id] = _instrument


@external
def set_funding_index(_id: uint256, _index: int256):
    """
    @notice Set the cumulative funding index of perp `_id`.
    @param _id Instrument id.
    @param _index Funding index (WAD USD per unit).
    """
    self._funding[_id] = _index


@external
def set_settlement_price(_id: uint256, _price: uint256):
    """
    @notice Record a settlement price for dated instrument `_id`.
    @param _id Instrument id.
    @param _price Settlement price (WAD).
    """
    self._instruments[_id].settlement_price = _price


@external
@view
def instrument(_id: uint256) -> types.Instrument:
    """
    @notice Instrument `_id` (all zero if unknown).
    @param _id Instrument id.
    @return The instrument.
    """
    return self._instruments[_id]


@external
@view
def margin_terms(_id: uint256) -> types.Instrument:
    """
    @notice Instrument `_id` (as Markets.margin_terms; here a settlement price counts as soon as it is set).
    @param _id Instrument id.
    @return The instrument.
    """
    return self._instruments[_id]


@external
@view
def funding_index_at(_id: uint256, _index: uint256, _ok: bool) -> int256:
    """
    @notice Cumulative funding index of perp `_id` (the price is ignored: the mock's index is set directly).
    @param _id Instrument id.
    @param _index Ignored.
    @param _ok Ignored.
    @return WAD USD per unit.
    """
    return self._funding[_id]


@external
@view
def funding_index(_id: uint256) -> int256:
    """
    @notice Cumulative funding index of perp `_id`.
    @param _id Instrument id.
    @return WAD USD per unit.
    """
    return self._funding[_id]
