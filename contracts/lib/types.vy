# pragma version ~=0.4.3
"""
@title crossmargin shared structs
@notice The structs that cross contract boundaries (Markets -> RiskEngine, Clearinghouse -> RiskEngine ->
        Liquidation -> Lens), declared once. Import with `from .lib import types` and write `types.Position`.
"""


# @dev A listed instrument (Markets). Kinds in constants: PERP=1, FUTURE=2, CALL=3, PUT=4.
struct Instrument:
    kind: uint8                  # PERP / FUTURE / CALL / PUT
    underlying: uint256          # underlying id (OracleRouter / VolOracle key)
    strike: uint256              # WAD, options only
    expiry: uint256              # unix seconds; 0 for perps
    settlement_price: uint256    # WAD, recorded once after expiry (0 = not yet)
    max_open_interest: uint256   # WAD units of the underlying (long side)
    max_position: uint256        # WAD, largest |size| one account may hold
    active: bool                 # listed and tradable


# @dev One open position of an account (Clearinghouse).
struct Position:
    instrument: uint256          # instrument id
    size: int256                 # signed WAD units of the underlying (long > 0)
    cost: int256                 # linear: entry notional of the open size (WAD USD); options: 0
    funding_snapshot: int256     # perp cumulative funding index when last settled


# @dev An account's margin state (RiskEngine).
struct MarginResult:
    equity_im: int256            # equity with IM haircuts
    equity_mm: int256            # equity with MM haircuts
    im: uint256                  # initial margin requirement
    mm: uint256                  # maintenance margin requirement
    status: uint8                # worst oracle status among the prices used


# @dev Aggregate Greeks of one underlying (RiskEngine views, bots).
struct Greeks:
    underlying: uint256
    delta: int256                # units of the underlying (WAD)
    delta_usd: int256            # delta · spot (WAD USD)
    gamma: int256                # per unit spot move (WAD)
    vega: int256                 # per 1.00 vol (WAD USD)
    theta: int256                # per year (WAD USD)
