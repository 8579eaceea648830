# pragma version ~=0.4.3
"""
@title crossmargin shared constants
@notice One place for every protocol-wide constant: units, oracle status codes,
        role ids, array bounds, instrument kinds, reserved account ids.
        Import with `from .lib import constants` (stateless: no `uses:` needed).
"""

# ---------------------------------------------------------------- units
# @dev Fixed-point unit of every price, value, vol, rate and internal balance.
WAD: constant(uint256) = 10**18
# @dev Higher-precision unit of the Vault's loss index (cash per scaled unit).
RAY: constant(uint256) = 10**27
# @dev Largest token decimals the Vault accepts (internal balances are WAD).
MAX_DECIMALS: constant(uint8) = 18

# ---------------------------------------------------------------- oracle status
# @dev Both feeds fresh and (if a secondary exists) agreeing.
OK: constant(uint8) = 0
# @dev Feeds disagree (or the secondary is unusable): no new risk, liquidation at both prices.
DEGRADED: constant(uint8) = 1
# @dev Price unusable: no new risk, no withdrawals, no liquidation.
STALE: constant(uint8) = 2

# ---------------------------------------------------------------- roles
# @dev Sets risk parameters inside the on-chain bounds.
RISK_MANAGER_ROLE: constant(bytes32) = keccak256("RISK_MANAGER_ROLE")
# @dev Pauses and unpauses.
GUARDIAN_ROLE: constant(bytes32) = keccak256("GUARDIAN_ROLE")
# @dev Pushes implied vols to the VolOracle.
FEEDER_ROLE: constant(bytes32) = keccak256("FEEDER_ROLE")
# @dev Moves cash and collateral between Vault accounts (Clearinghouse, Liquidation).
CLEARING_ROLE: constant(bytes32) = keccak256("CLEARING_ROLE")

# ---------------------------------------------------------------- bounds
# @dev Listed collateral assets in the Vault.
MAX_ASSETS: constant(uint256) = 16
# @dev Open positions per (sub)account.
MAX_POSITIONS: constant(uint256) = 32
# @dev Open option positions per (sub)account: each costs a 27-point Black-76 grid (~146k gas) per margin
#      evaluation, and a bid or reducing fill evaluates up to four books, which must fit the per-transaction gas
#      cap of EIP-7825 (2**24) with margin (TECH_SPEC "Worst-case gas").
MAX_OPTION_POSITIONS: constant(uint256) = 12
# @dev Distinct underlyings per account.
MAX_UNDERLYINGS: constant(uint256) = 8

# ---------------------------------------------------------------- instrument kinds
# @dev Perpetual future (funding settled lazily).
PERP: constant(uint8) = 1
# @dev Dated future (settlement price recorded once after expiry).
FUTURE: constant(uint8) = 2
# @dev European call, cash-settled.
CALL: constant(uint8) = 3
# @dev European put, cash-settled.
PUT: constant(uint8) = 4

# ---------------------------------------------------------------- reserved accounts
# @dev Insurance fund account id, opened by the Vault at deploy.
INSURANCE_FUND: constant(uint256) = 1
# @dev Fee account id, opened by the Vault at deploy.
FEE_ACCOUNT: constant(uint256) = 2

# ---------------------------------------------------------------- ERC-4626 share collateral
# @dev k of a share token's effective depth min(depth, k·liquidity·P), liquidity its vault's maxRedeem for the Vault
#      (RiskEngine's haircut, and so Liquidation's V): the model's SHARE_LIQUIDITY_FACTOR.
LIQUIDITY_DEPTH_FACTOR: constant(uint256) = 100

# ---------------------------------------------------------------- oracle defaults
# @dev Default L2 sequencer grace period after it comes back up (seconds).
DEFAULT_GRACE_PERIOD: constant(uint256) = 3600
# @dev Price id of the settlement asset, the unit (1 USD, OK, no feed): the asset id of an ERC-4626 vault over it
#      (OracleRouter). 2**64 - 1, the largest 64-bit id, so no underlying can take it (RiskEngine ids are smaller).
SETTLEMENT_UID: constant(uint256) = 18446744073709551615

# ---------------------------------------------------------------- liquidation
# @dev Moves a fraction of an account's positions to another account (Clearinghouse; held by Liquidation).
LIQUIDATOR_ROLE: constant(bytes32) = keccak256("LIQUIDATOR_ROLE")
