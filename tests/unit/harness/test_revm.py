"""RevmChain (crossmargin.chain.revm): calls, views, structs, events, reverts, time, snapshots, and the same
results as titanoboa on the same bytecode (tests/unit/harness/RevmProbe.vy)."""

from pathlib import Path

import boa
import pyrevm
import pytest
from eth_account import Account
from eth_utils import keccak
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from crossmargin.chain.artifacts import artifact_from_path
from crossmargin.chain.errors import explain
from crossmargin.chain.revm import (
    BLOCK_TIME,
    GENESIS_TIMESTAMP,
    RevmChain,
    RevmError,
    RevmHalt,
    RevmRevert,
)

PROBE = Path(__file__).with_name("RevmProbe.vy")
CAP = 1_000
ZERO_ADDRESS = "0x" + "00" * 20
WAD = 10**18


@pytest.fixture
def chain():
    return RevmChain()


@pytest.fixture
def owner(chain):
    return chain.accounts(1)[0]


@pytest.fixture
def alice(chain):
    return chain.accounts(1)[0]


@pytest.fixture
def probe(chain, owner):
    return chain.deploy(artifact_from_path(PROBE), CAP, sender=owner)


# calls and views


def test_constructor_sets_state(probe, owner):
    assert probe.owner() == owner
    assert probe.cap() == CAP


def test_transaction_returns_value_and_persists(probe, alice):
    assert probe.deposit(1, 10, sender=alice) == 10
    assert probe.deposit(1, 5, sender=alice) == 15
    assert probe.balance_of(1) == 15
    assert probe.total() == 15


def test_default_argument_picks_overload_by_arity(chain, probe):
    probe.deposit(1, 10)
    probe.deposit(1, 10, "memo")
    assert chain.last_events[0][1]["note"] == "memo"
    with pytest.raises(TypeError, match="takes"):
        probe.deposit(1)


def test_struct_is_a_tuple_dynarray_a_list_multireturn_a_tuple(probe, alice):
    probe.open(1, 7, -3 * WAD, sender=alice)
    probe.open(1, 8, 5)
    assert probe.position(1, 0) == (7, -3 * WAD, alice)
    positions = probe.positions_of(1)
    assert isinstance(positions, list) and len(positions) == 2
    assert positions[1][:2] == (8, 5)
    assert probe.positions_of(2) == []
    assert probe.summary(1) == (0, -3 * WAD + 5, True)


def test_addresses_come_back_checksummed(probe, owner):
    assert probe.owner() == owner
    assert str(probe.owner()) == str(owner) != str(owner).lower()


def test_contract_or_account_is_accepted_as_an_address(chain, probe):
    # `at` gives a second handle; passing a contract where an address is expected encodes its address
    again = chain.at(artifact_from_path(PROBE), probe.address)
    assert again.total() == probe.total()
    assert chain.get_balance(probe) == 0


def test_deploy_by_contract_name(chain, alice):
    token = chain.deploy("mocks/MockERC20", "Token", "TKN", 6, sender=alice)
    token.mint(alice, 10, sender=alice)
    assert chain.last_events == [("Transfer", {"sender": ZERO_ADDRESS, "receiver": alice, "value": 10})]
    assert (token.decimals(), token.balanceOf(alice)) == (6, 10)


def test_unknown_function(probe):
    with pytest.raises(AttributeError, match="no function 'nope'"):
        probe.nope()


def test_ether_value(chain, probe, alice):
    assert probe.pay(value=55, sender=alice) == 55
    assert chain.get_balance(probe) == 55


def test_accounts_carry_their_keys(chain):
    a, b = chain.accounts(2)
    assert a != b
    assert Account.from_key(a.key).address == a
    assert chain.get_balance(a) > 0


# events


def test_events_of_last_transaction(chain, probe, alice):
    probe.deposit(2, 10, "x", sender=alice)
    assert chain.last_events == [("Deposited", {"account": 2, "sender": alice, "amount": 10, "note": "x"})]
    probe.open(2, 4, -1, sender=alice)
    assert chain.last_events == [("Opened", {"account": 2, "position": (4, -1, alice)})]


def test_views_keep_events_failed_transactions_clear_them(chain, probe):
    probe.deposit(1, 10)
    probe.summary(1)
    assert [name for name, _ in chain.last_events] == ["Deposited"]
    with pytest.raises(RevmRevert):
        probe.deposit(1, CAP)
    assert chain.last_events == []


# failures


@pytest.mark.parametrize(
    "call, reason",
    [
        (lambda p: p.deposit(1, CAP + 1), "cap exceeded"),
        (lambda p: p.deposit(1, 0), "zero amount"),
        (lambda p: p.fail(3), "failed on purpose"),
    ],
)
def test_revert_reason(probe, call, reason):
    with pytest.raises(RevmRevert, match=reason) as info:
        call(probe)
    assert info.value.reason == str(info.value) == reason
    assert info.value.gas_used > 21_000


def test_revert_reason_names_the_sender_check(probe, owner, alice):
    with pytest.raises(RevmRevert, match="not owner"):
        probe.only_owner(sender=alice)
    assert probe.only_owner(sender=owner) is True


def test_bare_revert_and_overflow_have_no_reason(probe):
    for kind in (0, 1):
        with pytest.raises(RevmRevert, match="without a reason") as info:
            probe.fail(kind)
        assert info.value.reason == "" and info.value.data == b""


def test_custom_error_data_is_kept(probe):
    with pytest.raises(RevmRevert) as info:
        probe.fail(2)
    assert info.value.data[4:] == (2).to_bytes(32, "big")
    assert info.value.reason == "0x" + info.value.data.hex()


def test_out_of_gas_is_a_halt(chain, probe):
    with pytest.raises(RevmHalt, match="OutOfGas") as info:
        probe.work(100_000, gas=100_000)
    assert info.value.gas_used == chain.last_gas_used == 100_000


def test_refused_transaction_is_not_a_revert(probe, alice):
    with pytest.raises(RevmError, match="LackOfFund") as info:
        probe.pay(value=10**40, sender=alice)
    assert not isinstance(info.value, RevmRevert)


def test_errors_module_explains_a_revm_revert(probe):
    with pytest.raises(RevmRevert) as info:
        probe.fail(3)
    assert explain(info.value) == "failed on purpose"


# gas


def test_gas_used_counts_like_a_receipt(chain, probe):
    probe.deposit(1, 10)
    first = chain.last_gas_used
    probe.deposit(1, 10)
    second = chain.last_gas_used
    assert first > second > 21_000  # each transaction starts cold; a zero slot costs more to fill
    probe.work(1_000)
    assert chain.last_gas_used > 100_000


# time


def test_warp_and_mine_move_timestamp_and_number(chain, probe):
    assert probe.clock() == (GENESIS_TIMESTAMP, 1)
    chain.warp(3_600)
    assert probe.clock() == (GENESIS_TIMESTAMP + 3_600, 1 + 3_600 // BLOCK_TIME)
    chain.mine(2)
    assert probe.clock() == (GENESIS_TIMESTAMP + 3_600 + 2 * BLOCK_TIME, 3 + 3_600 // BLOCK_TIME)
    probe.deposit(1, 1)
    assert probe.last_touch() == chain.timestamp


# snapshots


def test_revert_restores_state_clock_and_code(chain, probe):
    probe.deposit(1, 10)
    snap = chain.snapshot()
    probe.deposit(1, 20)
    chain.warp(100)
    other = chain.deploy(artifact_from_path(PROBE), 5)
    chain.revert(snap)
    assert probe.total() == 10
    assert probe.clock() == (GENESIS_TIMESTAMP, 1)
    assert chain.evm.get_code(other.address) is None


def test_snapshot_can_be_reverted_to_again(chain, probe):
    snap = chain.snapshot()
    for amount in (1, 2, 3):
        probe.deposit(1, amount)
        assert probe.total() == amount
        chain.revert(snap)
        assert probe.total() == 0


def test_revert_to_outer_drops_inner_snapshots(chain, probe):
    outer = chain.snapshot()
    probe.deposit(1, 1)
    inner = chain.snapshot()
    probe.deposit(1, 2)
    chain.revert(outer)
    assert probe.total() == 0
    with pytest.raises(ValueError, match="unknown snapshot"):
        chain.revert(inner)  # pyrevm itself would accept it and roll back to genesis
    probe.deposit(1, 4)
    chain.revert(outer)
    assert probe.total() == 0


def test_anchor_leaves_no_checkpoint_behind(chain, probe):
    with chain.anchor():
        probe.deposit(1, 10)
        with chain.anchor():
            probe.deposit(1, 10)
            assert probe.total() == 20
        assert probe.total() == 10
    assert probe.total() == 0
    assert chain.evm.journal_depth == 0  # else every later call loses one level of call depth


# transaction boundaries


def test_transient_storage_is_cleared_between_transactions(probe):
    assert [probe.tick() for _ in range(3)] == [1, 1, 1]  # pyrevm alone (and titanoboa) give 1, 2, 3


# same results as titanoboa (py-evm) on the same bytecode

_account = st.integers(1, 3)
_amount = st.one_of(st.just(0), st.integers(1, CAP))  # 0 and the cap both revert
_size = st.one_of(st.just(0), st.integers(-(10**24), 10**24))  # 0 reverts
_operation = st.one_of(
    st.tuples(st.just("deposit"), _account, _amount, st.sampled_from(["", "memo"]), st.integers(0, 1)),
    st.tuples(st.just("open"), _account, st.integers(0, 5), _size, st.integers(0, 1)),
    st.tuples(st.just("only_owner"), st.integers(0, 1)),
    st.tuples(st.just("fail"), st.integers(0, 3)),
    st.tuples(st.just("warp"), st.integers(0, 10**6)),
)


def _plain(value):
    """boa's structs, Addresses and event tuples as plain Python values."""
    if value is None or isinstance(value, (bool, int, bytes)):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return tuple(_plain(v) for v in value)


def _outcome(run):
    """('ok', value) or ('revert', revert data) for either engine."""
    try:
        return "ok", _plain(run())
    except RevmRevert as exc:
        return "revert", exc.data
    except boa.BoaError as exc:
        return "revert", exc.stack_trace.last_frame.vm_error.args[0]


@pytest.fixture(scope="module")
def boa_probe_deployer():
    return boa.load_partial(str(PROBE))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(_operation, max_size=12))
def test_same_results_as_titanoboa(boa_probe_deployer, operations):
    chain = RevmChain()
    users = chain.accounts(2)
    revm = chain.deploy(artifact_from_path(PROBE), CAP, sender=users[0])
    with boa.env.anchor():
        boa.env.evm.patch.timestamp, boa.env.evm.patch.block_number = chain.timestamp, chain.block_number
        py = boa_probe_deployer.deploy(CAP, sender=users[0])
        assert py.address == revm.address  # same deployer, same nonce
        for op in operations:
            name, *args = op
            if name == "warp":
                chain.warp(args[0])
                boa.env.time_travel(seconds=args[0])
                continue
            *args, who = args if name != "fail" else (*args, 0)
            mine = _outcome(lambda: getattr(revm, name)(*args, sender=users[who]))
            theirs = _outcome(lambda: getattr(py, name)(*args, sender=users[who]))
            assert mine == theirs, op
            event(f"{name}: {mine[0]}")
            if mine[0] == "ok":
                theirs = [(type(e).__name__, {k: _plain(v) for k, v in e._asdict().items()}) for e in py.get_logs()]
                assert [(n, {"address": revm.address, **args}) for n, args in chain.last_events] == theirs
        for account in range(1, 4):
            assert revm.summary(account) == _plain(py.summary(account))
            assert revm.positions_of(account) == _plain(py.positions_of(account))
        assert revm.clock() == _plain(py.clock())
        assert revm.total() == py.total()


def test_chain_id_is_configurable():
    chain = RevmChain(chain_id=31337)
    echo = "0x" + "33" * 20
    code = bytes.fromhex("465f5260205ff3")  # CHAINID PUSH0 MSTORE PUSH1 32 PUSH0 RETURN
    chain.evm.insert_account_info(echo, pyrevm.AccountInfo(code=code))
    assert int.from_bytes(chain.call(echo), "big") == 31337


# pyrevm 0.3.7 facts revm.py works around: canaries, if one fails after an upgrade revisit the module docstring


def _raw(chain, contract, signature: str) -> bytes:
    return chain.evm.message_call(chain.eoa, contract.address, keccak(text=signature)[:4])


def test_pyrevm_keeps_transient_storage_between_calls(chain, probe):
    assert [int.from_bytes(_raw(chain, probe, "tick()"), "big") for _ in range(2)] == [1, 2]


def test_pyrevm_commit_at_depth_zero_breaks_every_later_call(chain, probe):
    chain.evm.commit()
    with pytest.raises(RuntimeError, match="CallTooDeep"):
        _raw(chain, probe, "total()")


def test_pyrevm_accepts_a_stale_checkpoint_and_rolls_back_too_far(chain, probe):
    probe.deposit(1, 1)
    outer = chain.evm.snapshot()
    probe.deposit(1, 2)
    inner = chain.evm.snapshot()
    chain.evm.revert(outer)
    chain.evm.revert(inner)  # no error
    assert chain.evm.get_code(probe.address) is None  # the deploy itself is gone


def test_pyrevm_set_balance_is_not_journaled(chain, alice):
    checkpoint = chain.evm.snapshot()
    chain.set_balance(alice, 5)
    chain.evm.revert(checkpoint)
    assert chain.get_balance(alice) == 5


def test_pyrevm_reports_failures_as_runtime_error_text(chain, probe):
    with pytest.raises(RuntimeError, match=r"^Revert \{ gas_used: \d+, output: 0x08c379a0"):
        _raw(chain, probe, "only_owner()")
