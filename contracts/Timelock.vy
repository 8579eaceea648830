# pragma version ~=0.4.3
"""
@title crossmargin Timelock
@custom:contract-name Timelock
@license MIT
@notice Every privileged change of the protocol (risk parameters, bounds,
        correlations, haircuts, listings, caps, feeds, wiring, role grants)
        is queued here, visible on chain for `delay` seconds, then executed
        by anyone holding EXECUTOR_ROLE; the guardian may cancel it meanwhile.
        After deploy the Timelock holds DEFAULT_ADMIN_ROLE and
        RISK_MANAGER_ROLE on every protocol contract and DEFAULT_ADMIN_ROLE on
        itself: no EOA changes anything without the delay (TECH_SPEC
        "Timelock" and "Who can do what, and how fast").

        Glossary
        - operation: one call `(target, data)` queued with an id (1, 2, ...),
          an eta = queue time + delay, and a state (QUEUED, EXECUTED,
          CANCELLED). Only its digest keccak256(target ++ data) is stored; the
          data is in the `Queued` event, and `execute` takes it again.
        - window: an operation executes in [eta, eta + GRACE_PERIOD]; after
          that it is stale and must be queued again (Compound's grace period).
        - delay: MIN_DELAY <= delay <= MAX_DELAY; changed only by an operation
          that calls `set_delay` on this contract (so through the delay).
        - roles: PROPOSER_ROLE queues; EXECUTOR_ROLE executes (held by the
          empty address: anyone); CANCELLER_ROLE cancels (the guardian);
          GUARDIAN_ROLE may `tighten` at once; DEFAULT_ADMIN_ROLE (this
          contract) grants and revokes all of them, through the delay.
        - tighten: an immediate call the guardian makes through this contract,
          limited to a short list of setters whose new value is checked, by
          reading the current value through a view, to block new risk only:
          never to lower an account's equity or raise its maintenance margin
          (so no healthy account can become liquidatable by it):
          * Markets.set_caps: lower (or equal) open-interest and position
            caps (caps block growth only; liquidation transfers ignore them);
          * Vault.set_cap: lower the deposit cap of a listed non-settlement
            collateral (the settlement asset can always be deposited, so an
            account can always add margin);
          * RiskEngine.set_risk_params: raise im_factor, every other field
            unchanged (IM = im_factor·MM: MM, hence liquidation, unchanged);
          * RiskEngine.set_collateral_risk: raise base_im of a configured
            token, every other field unchanged (the IM haircut only).

@dev Entry points: checks -> math -> storage -> event -> call. The digest is
     recorded as executed before the call, and `execute` / `tighten` hold a
     lock, so an executed operation cannot re-enter either. Calls to this
     contract itself (`set_delay`, `grantRole`) are not locked: an operation
     may target them.
"""

from snekmate.auth import access_control

from .lib import constants
from .lib import errors

initializes: access_control

exports: access_control.__interface__


interface IMarkets:
    def instrument(_id: uint256) -> Instrument: view

interface IVault:
    def asset_info(_token: address) -> AssetInfo: view

interface IRiskEngine:
    def collateral_risk(_token: address) -> CollateralRisk: view


# @dev Markets' instrument view (types.Instrument; only the caps are read).
struct Instrument:
    kind: uint8
    underlying: uint256
    strike: uint256
    expiry: uint256
    settlement_price: uint256
    max_open_interest: uint256
    max_position: uint256
    active: bool


# @dev The Vault's listing view (only cap_wad, is_settlement, listed are read).
struct AssetInfo:
    decimals: uint8
    underlying_id: uint256
    cap_wad: uint256
    total_wad: uint256
    is_settlement: bool
    listed: bool


# @dev The RiskEngine's haircut view of one collateral token.
struct CollateralRisk:
    underlying: uint256
    base_mm: uint256
    base_im: uint256
    slope: uint256
    depth: uint256


# @dev One queued call (its data lives in the `Queued` event).
struct Operation:
    digest: bytes32              # keccak256(target ++ data)
    eta: uint256                 # earliest execution time (unix seconds)
    state: uint8                 # NONE, QUEUED, EXECUTED, CANCELLED


event Queued:
    id: indexed(uint256)
    target: indexed(address)
    proposer: indexed(address)
    data: Bytes[MAX_DATA]
    eta: uint256

event Executed:
    id: indexed(uint256)
    target: indexed(address)
    executor: indexed(address)

event Cancelled:
    id: indexed(uint256)
    canceller: indexed(address)

event DelaySet:
    old_delay: uint256
    new_delay: uint256

event Tightened:
    target: indexed(address)
    guardian: indexed(address)
    data: Bytes[MAX_DATA]


# @dev Queues operations.
PROPOSER_ROLE: public(constant(bytes32)) = keccak256("PROPOSER_ROLE")
# @dev Executes operations once their eta has passed (held by empty(address): anyone).
EXECUTOR_ROLE: public(constant(bytes32)) = keccak256("EXECUTOR_ROLE")
# @dev Cancels queued operations (the guardian).
CANCELLER_ROLE: public(constant(bytes32)) = keccak256("CANCELLER_ROLE")
# @dev Tightens the listed safety settings at once.
GUARDIAN_ROLE: public(constant(bytes32)) = constants.GUARDIAN_ROLE

# @dev Shortest delay: long enough for a user to see a queued change and act (add margin, reduce, leave).
MIN_DELAY: public(constant(uint256)) = 12 * 3600
# @dev Longest delay: an emergency fix must still be possible within a month.
MAX_DELAY: public(constant(uint256)) = 30 * 86400
# @dev How long after its eta an operation may still execute (then it is stale).
GRACE_PERIOD: public(constant(uint256)) = 14 * 86400
# @dev Largest calldata of one operation (an 8 x 8 correlation matrix is 2,948 bytes).
MAX_DATA: constant(uint256) = 4096
# @dev Word of `im_factor` in the ABI encoding of RiskEngine.RiskParams.
IM_FACTOR_WORD: constant(uint256) = 8
# @dev Words of RiskEngine.RiskParams that a tighten compares (its 14 fields, with room to grow).
MAX_PARAM_WORDS: constant(uint256) = 32

QUEUED: public(constant(uint8)) = 1
EXECUTED: public(constant(uint8)) = 2
CANCELLED: public(constant(uint8)) = 3

SET_CAPS: constant(bytes4) = method_id("set_caps(uint256,uint256,uint256)", output_type=bytes4)
SET_CAP: constant(bytes4) = method_id("set_cap(address,uint256)", output_type=bytes4)
SET_RISK_PARAMS: constant(bytes4) = method_id(
    "set_risk_params((uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256))",
    output_type=bytes4,
)
RISK_PARAMS: constant(Bytes[4]) = method_id("risk_params()")
SET_COLLATERAL_RISK: constant(bytes4) = method_id(
    "set_collateral_risk(address,uint256,uint256,uint256,uint256)", output_type=bytes4
)

# @dev Markets (caps the guardian may lower).
markets: public(immutable(address))
# @dev Vault (deposit caps the guardian may lower).
vault: public(immutable(address))
# @dev RiskEngine (IM-only settings the guardian may raise).
risk_engine: public(immutable(address))

# @dev Seconds between queueing and the earliest execution.
delay: public(uint256)
# @dev Operations by id (1-based).
operations: public(HashMap[uint256, Operation])
# @dev Operations ever queued (the last id).
operation_count: public(uint256)


@deploy
def __init__(
    _delay: uint256,
    _markets: address,
    _vault: address,
    _risk_engine: address,
    _proposers: DynArray[address, 4],
    _guardian: address,
    _open_execution: bool,
):
    """
    @notice Deploy the timelock; the deployer keeps no role on it.
    @dev The contract is its own admin: roles change through the delay.
         Proposers are also executors unless execution is open to anyone.
    @param _delay Initial delay (seconds, MIN_DELAY..MAX_DELAY).
    @param _markets Markets (guardian caps).
    @param _vault Vault (guardian deposit caps).
    @param _risk_engine RiskEngine (guardian IM settings).
    @param _proposers Accounts that may queue.
    @param _guardian Account that may cancel and tighten.
    @param _open_execution True: anyone may execute a ready operation.
    """
    assert _delay >= MIN_DELAY and _delay <= MAX_DELAY, errors.BAD_DELAY
    access_control.__init__()
    access_control._revoke_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    access_control._grant_role(access_control.DEFAULT_ADMIN_ROLE, self)
    for p: address in _proposers:
        access_control._grant_role(PROPOSER_ROLE, p)
        if not _open_execution:
            access_control._grant_role(EXECUTOR_ROLE, p)
    if _open_execution:
        access_control._grant_role(EXECUTOR_ROLE, empty(address))
    access_control._grant_role(CANCELLER_ROLE, _guardian)
    access_control._grant_role(GUARDIAN_ROLE, _guardian)
    markets = _markets
    vault = _vault
    risk_engine = _risk_engine
    self.delay = _delay
    log DelaySet(old_delay=0, new_delay=_delay)


# ---------------------------------------------------------------- queue, execute, cancel


@external
def queue(_target: address, _data: Bytes[MAX_DATA]) -> uint256:
    """
    @notice Queue a call; it may execute from now + delay for GRACE_PERIOD.
    @dev PROPOSER_ROLE only.
    @param _target Contract to call.
    @param _data Calldata (selector and arguments).
    @return The operation id.
    """
    assert access_control.hasRole[PROPOSER_ROLE][msg.sender], errors.MISSING_ROLE
    assert _target != empty(address), errors.EMPTY_ADDRESS
    # dev: a call without a selector would hit a fallback: nothing of ours has one
    assert len(_data) >= 4, errors.BAD_CALLDATA
    eta: uint256 = block.timestamp + self.delay
    id: uint256 = self.operation_count + 1
    self.operation_count = id
    self.operations[id] = Operation(digest=self._digest(_target, _data), eta=eta, state=QUEUED)
    log Queued(id=id, target=_target, proposer=msg.sender, data=_data, eta=eta)
    return id


@external
@nonreentrant
def execute(_id: uint256, _target: address, _data: Bytes[MAX_DATA]):
    """
    @notice Execute a queued operation inside its window [eta, eta + GRACE_PERIOD].
    @dev EXECUTOR_ROLE only (anyone when the empty address holds it). `_target`
         and `_data` must be the queued ones. The call's revert bubbles up.
    @param _id Operation id.
    @param _target The queued target.
    @param _data The queued calldata.
    """
    assert (
        access_control.hasRole[EXECUTOR_ROLE][empty(address)]
        or access_control.hasRole[EXECUTOR_ROLE][msg.sender]
    ), errors.MISSING_ROLE
    op: Operation = self.operations[_id]
    assert op.state == QUEUED, errors.NOT_QUEUED
    assert op.digest == self._digest(_target, _data), errors.WRONG_OPERATION
    # dev: the delay is the whole point: users see the change coming for `delay` seconds
    assert block.timestamp >= op.eta, errors.TIMELOCK_NOT_READY
    # dev: a change nobody executed for two weeks is stale: queue it again, visibly
    assert block.timestamp <= op.eta + GRACE_PERIOD, errors.TIMELOCK_EXPIRED
    self.operations[_id].state = EXECUTED
    log Executed(id=_id, target=_target, executor=msg.sender)
    raw_call(_target, _data)


@external
def cancel(_id: uint256):
    """
    @notice Cancel a queued operation.
    @dev CANCELLER_ROLE only (the guardian).
    @param _id Operation id.
    """
    assert access_control.hasRole[CANCELLER_ROLE][msg.sender], errors.MISSING_ROLE
    assert self.operations[_id].state == QUEUED, errors.NOT_QUEUED
    self.operations[_id].state = CANCELLED
    log Cancelled(id=_id, canceller=msg.sender)


@external
def set_delay(_delay: uint256):
    """
    @notice Change the delay of operations queued from now on.
    @dev Only this contract (an executed operation), inside [MIN_DELAY, MAX_DELAY].
         Operations already queued keep their eta.
    @param _delay New delay (seconds).
    """
    assert msg.sender == self, errors.MISSING_ROLE
    assert _delay >= MIN_DELAY and _delay <= MAX_DELAY, errors.BAD_DELAY
    old: uint256 = self.delay
    self.delay = _delay
    log DelaySet(old_delay=old, new_delay=_delay)


# ---------------------------------------------------------------- guardian


@external
@nonreentrant
def tighten(_target: address, _data: Bytes[MAX_DATA]):
    """
    @notice Make one of the listed safety settings stricter at once.
    @dev GUARDIAN_ROLE only. Allowed: Markets.set_caps (caps not raised),
         Vault.set_cap (a non-settlement collateral's cap not raised),
         RiskEngine.set_risk_params (im_factor not lowered, the rest equal),
         RiskEngine.set_collateral_risk (base_im not lowered, the rest equal).
         None of them can make an account liquidatable (glossary).
    @param _target Markets, Vault or RiskEngine.
    @param _data Calldata of the setter.
    """
    assert access_control.hasRole[GUARDIAN_ROLE][msg.sender], errors.MISSING_ROLE
    assert len(_data) >= 4, errors.BAD_CALLDATA
    selector: bytes4 = convert(slice(_data, 0, 4), bytes4)
    if _target == markets and selector == SET_CAPS:
        self._check_caps(_data)
    elif _target == vault and selector == SET_CAP:
        self._check_deposit_cap(_data)
    elif _target == risk_engine and selector == SET_RISK_PARAMS:
        self._check_im_factor(_data)
    elif _target == risk_engine and selector == SET_COLLATERAL_RISK:
        self._check_im_haircut(_data)
    else:
        raise errors.NOT_TIGHTENABLE
    log Tightened(target=_target, guardian=msg.sender, data=_data)
    raw_call(_target, _data)


# ---------------------------------------------------------------- views


@external
@view
def is_ready(_id: uint256) -> bool:
    """
    @notice Whether an operation may execute now.
    @param _id Operation id.
    @return True inside its window and still queued.
    """
    op: Operation = self.operations[_id]
    return op.state == QUEUED and block.timestamp >= op.eta and block.timestamp <= op.eta + GRACE_PERIOD


@external
@pure
def digest(_target: address, _data: Bytes[MAX_DATA]) -> bytes32:
    """
    @notice The digest an operation stores.
    @param _target Target.
    @param _data Calldata.
    @return keccak256(target ++ data).
    """
    return self._digest(_target, _data)


# ---------------------------------------------------------------- internals


@internal
@pure
def _digest(_target: address, _data: Bytes[MAX_DATA]) -> bytes32:
    """
    @dev keccak256 of the 20-byte target followed by the calldata.
    @param _target Target.
    @param _data Calldata.
    @return The digest.
    """
    return keccak256(concat(convert(_target, bytes20), _data))


@internal
@view
def _check_caps(_data: Bytes[MAX_DATA]):
    """
    @dev set_caps(id, max_oi, max_pos): neither cap above its current value.
    @param _data The setter's calldata.
    """
    id: uint256 = 0
    max_oi: uint256 = 0
    max_pos: uint256 = 0
    id, max_oi, max_pos = abi_decode(slice(_data, 4, 96), (uint256, uint256, uint256))
    inst: Instrument = staticcall IMarkets(markets).instrument(id)
    assert max_oi <= inst.max_open_interest and max_pos <= inst.max_position, errors.NOT_TIGHTER


@internal
@view
def _check_deposit_cap(_data: Bytes[MAX_DATA]):
    """
    @dev set_cap(token, cap): a listed non-settlement collateral, cap not raised.
    @param _data The setter's calldata.
    """
    token: address = empty(address)
    cap: uint256 = 0
    token, cap = abi_decode(slice(_data, 4, 64), (address, uint256))
    info: AssetInfo = staticcall IVault(vault).asset_info(token)
    # dev: the settlement asset must always be depositable: it is how an account adds margin
    assert info.listed and not info.is_settlement, errors.NOT_TIGHTENABLE
    assert cap <= info.cap_wad, errors.NOT_TIGHTER


@internal
@view
def _check_im_factor(_data: Bytes[MAX_DATA]):
    """
    @dev set_risk_params(p): word for word equal to `risk_params()` except
         im_factor, which may only rise. Compared as ABI words so the check
         reads the engine's own encoding.
    @param _data The setter's calldata.
    """
    current: Bytes[MAX_PARAM_WORDS * 32] = raw_call(
        risk_engine, RISK_PARAMS, max_outsize=MAX_PARAM_WORDS * 32,
        is_static_call=True
    )
    n: uint256 = len(current)
    # dev: a RiskParams whose length differs from the engine's is a different struct
    assert len(_data) == n + 4 and n > (IM_FACTOR_WORD + 1) * 32, errors.BAD_CALLDATA
    for i: uint256 in range(MAX_PARAM_WORDS):
        if i * 32 >= n:
            break
        new: uint256 = convert(extract32(_data, 4 + i * 32), uint256)
        old: uint256 = convert(extract32(current, i * 32), uint256)
        if i == IM_FACTOR_WORD:
            assert new >= old, errors.NOT_TIGHTER
        else:
            assert new == old, errors.NOT_TIGHTENABLE


@internal
@view
def _check_im_haircut(_data: Bytes[MAX_DATA]):
    """
    @dev set_collateral_risk(token, base_mm, base_im, slope, depth): a
         configured token, base_im not lowered, the rest equal.
    @param _data The setter's calldata.
    """
    token: address = empty(address)
    base_mm: uint256 = 0
    base_im: uint256 = 0
    slope: uint256 = 0
    depth: uint256 = 0
    token, base_mm, base_im, slope, depth = abi_decode(
        slice(_data, 4, 160), (address, uint256, uint256, uint256, uint256)
    )
    c: CollateralRisk = staticcall IRiskEngine(risk_engine).collateral_risk(token)
    assert c.depth != 0, errors.NOT_TIGHTENABLE
    assert base_mm == c.base_mm and slope == c.slope and depth == c.depth, errors.NOT_TIGHTENABLE
    assert base_im >= c.base_im, errors.NOT_TIGHTER
