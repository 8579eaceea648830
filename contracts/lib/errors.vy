# pragma version ~=0.4.3
"""
@title crossmargin revert reasons
@notice The only place for revert reason strings. Contracts write
        `assert cond, errors.NAME`; Python parses this file to map reasons back
        (tests/unit/conftest.py, crossmargin/chain/errors.py).
@dev One constant per reason: short, lowercase, at most 32 characters, declared as
     `NAME: constant(String[32]) = "reason"` on one line (the parsers rely on it).
     Later contracts append their own section; never reuse a string for two meanings.
"""

# ---------------------------------------------------------------- generic
ZERO_AMOUNT: constant(String[32]) = "zero amount"
EMPTY_ADDRESS: constant(String[32]) = "zero address"
ZERO_ID: constant(String[32]) = "zero id"
MISSING_ROLE: constant(String[32]) = "missing role"
PAUSED: constant(String[32]) = "paused"
NOT_PAUSED: constant(String[32]) = "not paused"
TRANSFER_FAILED: constant(String[32]) = "transfer failed"

# ---------------------------------------------------------------- accounts
UNKNOWN_ACCOUNT: constant(String[32]) = "unknown account"
NOT_AUTHORIZED: constant(String[32]) = "not authorized"
SELF_OPERATOR: constant(String[32]) = "self operator"

# ---------------------------------------------------------------- vault
NOT_LISTED: constant(String[32]) = "not listed"
ALREADY_LISTED: constant(String[32]) = "already listed"
TOO_MANY_ASSETS: constant(String[32]) = "too many assets"
BAD_DECIMALS: constant(String[32]) = "bad decimals"
SETTLEMENT_EXISTS: constant(String[32]) = "settlement exists"
SETTLEMENT_LINKED: constant(String[32]) = "settlement has no underlying"
CAP_EXCEEDED: constant(String[32]) = "cap exceeded"
NOTHING_RECEIVED: constant(String[32]) = "nothing received"
INSUFFICIENT_BALANCE: constant(String[32]) = "insufficient balance"
INSUFFICIENT_LIQUIDITY: constant(String[32]) = "insufficient liquidity"
BELOW_INITIAL_MARGIN: constant(String[32]) = "below initial margin"
SAME_ACCOUNT: constant(String[32]) = "same account"
NO_POSITIVE_CASH: constant(String[32]) = "no positive cash"

# ---------------------------------------------------------------- oracles
UNKNOWN_UNDERLYING: constant(String[32]) = "unknown underlying"
BAD_HEARTBEAT: constant(String[32]) = "bad heartbeat"
BAD_DEVIATION: constant(String[32]) = "bad deviation"
BAD_GRACE_PERIOD: constant(String[32]) = "bad grace period"
BAD_FEED_DECIMALS: constant(String[32]) = "bad feed decimals"
VOL_OUT_OF_BOUNDS: constant(String[32]) = "vol out of bounds"
BAD_VOL_BOUNDS: constant(String[32]) = "bad vol bounds"
EXPIRY_PASSED: constant(String[32]) = "expiry passed"

# ---------------------------------------------------------------- markets
UNKNOWN_INSTRUMENT: constant(String[32]) = "unknown instrument"
INSTRUMENT_INACTIVE: constant(String[32]) = "instrument inactive"
INSTRUMENT_EXPIRED: constant(String[32]) = "instrument expired"
NOT_EXPIRED: constant(String[32]) = "not expired"
ALREADY_SETTLED: constant(String[32]) = "already settled"
NOT_DATED: constant(String[32]) = "not a dated instrument"
NOT_PERP: constant(String[32]) = "not a perp"
ZERO_PRICE: constant(String[32]) = "zero price"
ZERO_STRIKE: constant(String[32]) = "zero strike"
BAD_FUNDING_PARAMS: constant(String[32]) = "funding params out of bounds"
BAD_PRICE_BAND: constant(String[32]) = "price band out of bounds"
BAD_BOUNDS: constant(String[32]) = "bad bounds"
PRICE_OUTSIDE_BAND: constant(String[32]) = "price outside band"
ORACLE_NOT_OK: constant(String[32]) = "oracle not ok"

# ---------------------------------------------------------------- clearinghouse
BAD_SIGNATURE: constant(String[32]) = "bad signature"
ORDER_EXPIRED: constant(String[32]) = "order expired"
ORDER_CANCELLED: constant(String[32]) = "order cancelled"
OVERFILL: constant(String[32]) = "overfill"
ZERO_NOTIONAL: constant(String[32]) = "zero notional"
WRONG_INSTRUMENT: constant(String[32]) = "isolated to another instrument"
OPEN_INTEREST_CAP: constant(String[32]) = "open interest cap"
POSITION_CAP: constant(String[32]) = "position cap"
TOO_MANY_POSITIONS: constant(String[32]) = "too many positions"
FEE_TOO_HIGH: constant(String[32]) = "fee too high"
STALE_ORACLE: constant(String[32]) = "stale oracle"
DEGRADED_ORACLE: constant(String[32]) = "degraded oracle"

# ---------------------------------------------------------------- risk engine
NOT_CONFIGURED: constant(String[32]) = "risk engine not configured"
BOUNDS_ALREADY_SET: constant(String[32]) = "bounds already set"
BOUNDS_NOT_SET: constant(String[32]) = "bounds not set"
OUT_OF_BOUNDS: constant(String[32]) = "out of bounds"
BAD_CORRELATION: constant(String[32]) = "bad correlation"
PARTIAL_CORRELATION: constant(String[32]) = "partial correlation matrix"
NOT_PSD: constant(String[32]) = "correlation not semi-definite"
NOT_COLLATERAL: constant(String[32]) = "not collateral"
BAD_HAIRCUT: constant(String[32]) = "im haircut below mm haircut"
BAD_DEPTH: constant(String[32]) = "bad depth"
TOO_MANY_UNDERLYINGS: constant(String[32]) = "too many underlyings"
OPTIONS_NOT_SUPPORTED: constant(String[32]) = "options not supported"
UNKNOWN_KIND: constant(String[32]) = "unknown instrument kind"
ID_TOO_LARGE: constant(String[32]) = "id too large"

# ---------------------------------------------------------------- liquidation
BAD_FRACTION: constant(String[32]) = "bad fraction"
RESERVED_ACCOUNT: constant(String[32]) = "reserved account"
NOT_LIQUIDATABLE: constant(String[32]) = "not liquidatable"
AUCTION_ACTIVE: constant(String[32]) = "auction active"
NO_AUCTION: constant(String[32]) = "no auction"
ABOVE_INITIAL_MARGIN: constant(String[32]) = "above initial margin"
ISOLATED_BIDDER: constant(String[32]) = "isolated bidder"
FULL_BID_ONLY: constant(String[32]) = "insolvent: full bid only"
PRICE_ABOVE_MAX: constant(String[32]) = "price above max cost"
HEALTH_DECREASED: constant(String[32]) = "health decreased"
BAD_LIQUIDATION_PARAMS: constant(String[32]) = "bad liquidation params"
OUT_OF_RANGE: constant(String[32]) = "value out of range"

# ---------------------------------------------------------------- timelock (governance)
BAD_DELAY: constant(String[32]) = "delay out of bounds"
BAD_CALLDATA: constant(String[32]) = "bad calldata"
NOT_QUEUED: constant(String[32]) = "not queued"
WRONG_OPERATION: constant(String[32]) = "wrong operation"
TIMELOCK_NOT_READY: constant(String[32]) = "timelock not ready"
TIMELOCK_EXPIRED: constant(String[32]) = "timelock expired"
NOT_TIGHTENABLE: constant(String[32]) = "not tightenable"
NOT_TIGHTER: constant(String[32]) = "not tighter"

# ---------------------------------------------------------------- auctions (stale auctions, loss holds)
AUCTION_EXPIRED: constant(String[32]) = "auction expired"
STILL_LIQUIDATABLE: constant(String[32]) = "still liquidatable"
LOSS_PENDING: constant(String[32]) = "loss pending"
NOT_INSOLVENT: constant(String[32]) = "not insolvent"
# ---------------------------------------------------------------- markets: mark, settlement rounds
BAD_SETTLEMENT_GRACE: constant(String[32]) = "bad settlement grace"
ROUND_HINT_REQUIRED: constant(String[32]) = "round hint required"
GRACE_NOT_OVER: constant(String[32]) = "settlement grace not over"
BAD_ROUND_HINT: constant(String[32]) = "bad round hint"
ROUND_NOT_CLOSED: constant(String[32]) = "round not closed"
NO_USABLE_ROUND: constant(String[32]) = "no usable round"

# ---------------------------------------------------------------- lending (Vault interest, caps, deleveraging)
BAD_LENDING_PARAMS: constant(String[32]) = "bad lending params"
UTILISATION_CAP: constant(String[32]) = "utilisation cap"
DELEVERAGE_CLOSED: constant(String[32]) = "deleveraging closed"
NO_DEBT: constant(String[32]) = "no debt"
DELEVERAGE_LIMIT: constant(String[32]) = "above deleveraging share"
BAD_PRICE: constant(String[32]) = "price unusable"
BELOW_MAINTENANCE_MARGIN: constant(String[32]) = "below maintenance margin"
# ---------------------------------------------------------------- oracles: vol rate limit and staleness
VOL_RATE_LIMITED: constant(String[32]) = "vol rate limited"
BAD_VOL_FACTOR: constant(String[32]) = "bad vol factor"
# ---------------------------------------------------------------- clearinghouse: reductions below IM, auctions (issue 10 §1)
ACCOUNT_IN_AUCTION: constant(String[32]) = "account in auction"
UNDER_WATER: constant(String[32]) = "account under water"
MARGIN_RATIO_FELL: constant(String[32]) = "margin ratio fell"

# ---------------------------------------------------------------- gas bounds (issue 11 §3)
TOO_MANY_OPTIONS: constant(String[32]) = "too many options"

# ---------------------------------------------------------------- crowding aggregates (issue 12 §1)
CROWDING_OVERFLOW: constant(String[32]) = "crowding overflow"

# ---------------------------------------------------------------- ERC-4626 share feeds (issue 16)
NOT_SHARE_FEED: constant(String[32]) = "not a share feed"
FEED_EXISTS: constant(String[32]) = "feed id taken"
BAD_SHARE_GUARD: constant(String[32]) = "bad share guard"
BAD_SHARE_RATE: constant(String[32]) = "share rate unusable"
