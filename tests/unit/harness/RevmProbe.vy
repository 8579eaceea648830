# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title RevmProbe
@notice Test-only contract for the in-process EVM harnesses (`crossmargin.chain.revm`, titanoboa): every ABI
        shape the protocol uses (structs, DynArrays of structs, signed ints, strings, multi-returns, events
        with indexed fields), reverts with and without reasons, block time, ether, transient storage, and a
        compute loop for engine speed comparisons. Never deployed outside tests and benchmarks.
"""

struct Position:
    instrument: uint256
    size: int256
    owner: address

event Deposited:
    account: indexed(uint256)
    sender: indexed(address)
    amount: uint256
    note: String[32]

event Opened:
    account: indexed(uint256)
    position: Position

MAX_POSITIONS: constant(uint256) = 8

owner: public(address)  # deployer; the only caller of `only_owner`
cap: public(uint256)  # largest `total` deposits may reach
total: public(uint256)  # sum of every account's balance
balance_of: public(HashMap[uint256, uint256])  # account -> deposited amount
last_touch: public(uint256)  # block.timestamp of the last deposit
_positions: HashMap[uint256, DynArray[Position, MAX_POSITIONS]]  # account -> open positions
_calls_this_tx: transient(uint256)  # counts `tick` calls inside one transaction


@deploy
def __init__(_cap: uint256):
    """
    @param _cap Largest total deposit.
    """
    self.owner = msg.sender
    self.cap = _cap


@external
def deposit(_account: uint256, _amount: uint256, _note: String[32] = "") -> uint256:
    """
    @notice Credit `_amount` to `_account`.
    @return The account's new balance.
    """
    assert _amount > 0, "zero amount"
    assert self.total + _amount <= self.cap, "cap exceeded"
    self.balance_of[_account] += _amount
    self.total += _amount
    self.last_touch = block.timestamp
    log Deposited(account=_account, sender=msg.sender, amount=_amount, note=_note)
    return self.balance_of[_account]


@external
def open(_account: uint256, _instrument: uint256, _size: int256):
    """
    @notice Append a position to `_account`.
    """
    assert _size != 0, "zero size"
    assert len(self._positions[_account]) < MAX_POSITIONS, "too many positions"
    position: Position = Position(instrument=_instrument, size=_size, owner=msg.sender)
    self._positions[_account].append(position)
    log Opened(account=_account, position=position)


@view
@external
def position(_account: uint256, _i: uint256) -> Position:
    """
    @notice One position (a struct: decoded as a tuple).
    """
    return self._positions[_account][_i]


@view
@external
def positions_of(_account: uint256) -> DynArray[Position, MAX_POSITIONS]:
    """
    @notice Every position of `_account` (a DynArray of structs: decoded as a list of tuples).
    """
    return self._positions[_account]


@view
@external
def summary(_account: uint256) -> (uint256, int256, bool):
    """
    @notice Balance, net size over all positions, whether any position is open (a multi-return).
    """
    net: int256 = 0
    for p: Position in self._positions[_account]:
        net += p.size
    return self.balance_of[_account], net, len(self._positions[_account]) > 0


@view
@external
def clock() -> (uint256, uint256):
    """
    @notice Block timestamp and number.
    """
    return block.timestamp, block.number


@external
def only_owner() -> bool:
    """
    @notice Reverts with "not owner" unless the deployer calls.
    """
    assert msg.sender == self.owner, "not owner"
    return True


@payable
@external
def pay() -> uint256:
    """
    @notice Accept ether; return this contract's balance.
    """
    return self.balance


@external
def fail(_kind: uint256):
    """
    @notice Fail in a chosen way: 0 bare revert, 1 arithmetic overflow, 2 custom error data, else a reason.
    """
    if _kind == 0:
        raise
    if _kind == 1:
        x: uint256 = max_value(uint256)
        x += _kind
    if _kind == 2:
        raw_revert(concat(method_id("Custom(uint256)"), convert(_kind, bytes32)))
    raise "failed on purpose"


@external
def tick() -> uint256:
    """
    @notice Count calls in this transaction (transient storage: must start at 1 in every transaction).
    """
    self._calls_this_tx += 1
    return self._calls_this_tx


@view
@external
def work(_rounds: uint256) -> uint256:
    """
    @notice A compute loop (mixed mul/div/mod as in fixed-point pricing code) for engine speed tests.
    """
    acc: uint256 = 10**18
    for i: uint256 in range(_rounds, bound=1_000_000):
        acc = (acc * 1_000_000_007 + i) % (2**127 - 1)
        acc = acc // 3 + unsafe_mul(acc % 1_000_003, 7)
    return acc
