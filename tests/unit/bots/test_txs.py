"""The keeper's transaction rules that need no node (issue 18): gas limits sized to the call and capped, fee
bumps that a node accepts as replacements, the per-block gas budget, and a dead shard's accounts moving to its
successor."""

from __future__ import annotations

import pytest

from crossmargin.bots.base import BotOptions
from crossmargin.bots.core import GWEI, GasPolicy
from crossmargin.bots.keeper import Keeper, KeeperConfig
from crossmargin.bots.reads import Health
from crossmargin.bots.txs import Flight, TooBig, TxPolicy, TxSender

WAD = 10**18


def sender(**kw) -> TxSender:
    s = TxSender(None, None, 31337, GasPolicy(max_fee_gwei=100, priority_gwei=1), tx=TxPolicy(**kw))
    s.begin_block({"number": 10, "gasLimit": 30_000_000, "baseFeePerGas": GWEI})
    return s


def test_gas_limit_is_the_estimate_plus_a_margin_never_above_the_cap():
    s = sender()
    assert s.gas_limit(600_000) == 600_000 * 6 // 5 + 50_000            # a bid: ~0.77M, not 30M
    assert s.gas_limit(12_600_000) == 15_000_000                          # the margin is cut at the cap
    with pytest.raises(TooBig):
        s.gas_limit(15_000_000)                                           # cannot fit: split, never send
    s.begin_block({"number": 11, "gasLimit": 8_000_000})
    assert s.cap == 8_000_000 and s.gas_limit(7_900_000) == 8_000_000     # a smaller block caps it lower
    with pytest.raises(TooBig):
        s.gas_limit(7_990_000)


def test_fee_bump_raises_both_fees_by_more_than_ten_percent_up_to_the_cap():
    s = sender()
    tx = {"maxFeePerGas": 3 * GWEI, "maxPriorityFeePerGas": GWEI}
    up = s.bumped_fees(tx)
    assert up["maxFeePerGas"] >= tx["maxFeePerGas"] * 11 // 10 + 1
    assert up["maxPriorityFeePerGas"] >= tx["maxPriorityFeePerGas"] * 11 // 10 + 1
    assert s.bumped_fees({"maxFeePerGas": 95 * GWEI, "maxPriorityFeePerGas": GWEI}) is None  # 100 gwei cap


def test_room_is_bounded_per_block_and_in_flight():
    s = sender(block_share=0.5, inflight_blocks=1.0, max_in_flight=3)
    assert s.room() == 15_000_000
    s.head_gas = 14_000_000
    assert s.room() == 1_000_000
    s.begin_block({"number": 11, "gasLimit": 30_000_000})
    for i in range(3):
        s.pending[f"h{i}"] = Flight(f"h{i}", i, "bid", ("bid", i), 10, {}, {}, gas_limit=9_000_000)
    assert s.room() == 0                                                  # max_in_flight reached
    s.pending.pop("h2")
    assert s.room() == 12_000_000                                         # 30M in flight - 18M


def _keeper(shard: int, shards: int, takeover: int = 2) -> Keeper:
    return Keeper(None, None, BotOptions(), KeeperConfig(shard=shard, shards=shards, takeover_blocks=takeover,
                                                         dead_blocks=20))


def test_a_dead_shard_moves_to_its_first_successor_at_once_then_back():
    k = _keeper(shard=1, shards=3)
    dead_owner_account, other = 3, 6                                      # owner 0: rank 1 for shard 1
    assert k._rank(dead_owner_account, 100) == 1
    assert not k._my_turn(dead_owner_account, first_seen=100, head=101)
    assert k._my_turn(dead_owner_account, first_seen=100, head=102)       # the takeover: shard 0 counted dead
    assert k._rank(other, 103) == 0 and k._my_turn(other, first_seen=103, head=103), "no more delay"
    assert k._rank(other, 123) == 1, "dead only for dead_blocks"
    far = _keeper(shard=2, shards=3)                                      # rank 2 for shard 0: waits its turn
    assert not far._my_turn(dead_owner_account, first_seen=100, head=103)


def test_a_dead_shard_revives_on_its_keepers_start_whatever_that_keepers_account_id():
    """The successor hands a dead shard back when another keeper starts or bids one of its accounts; the
    restarted keeper's own account id (here even, like the successor's shard 0) says nothing of its shard."""
    from types import SimpleNamespace

    k = _keeper(shard=0, shards=2)
    k.account = 3
    k.state.dead[1] = 200
    log = {"topics": [b"\x00" * 32, (31).to_bytes(32, "big"), (4).to_bytes(32, "big")]}  # account 31, actor 4
    k.w3 = SimpleNamespace(eth=SimpleNamespace(get_logs=lambda _: [log]))
    k.liq = SimpleNamespace(available=True, address="0x" + "12" * 20)
    k.sender = SimpleNamespace(log=lambda rec: None)
    k._watch_peers(set(), 150)
    assert 1 not in k.state.dead and k._rank(31, 151) == 1


def test_bids_go_to_the_largest_expected_bad_debt_first():
    k = _keeper(0, 1)
    k.account = 5
    rows = [Health(a, e * WAD, mm * WAD, e * WAD, mm * WAD, 0, True)
            for a, e, mm in ((10, 50, 100), (11, -300, 100), (12, 10, 100), (13, -20, 50))]
    assert [h.account for h in k._bid_order(rows)] == [11, 13, 12, 10]


def test_fast_signing_gives_eth_accounts_bytes():
    from crossmargin.bots.core import dev_key
    from crossmargin.bots.txs import sign_1559

    key = dev_key(3)
    for nonce, data in ((0, "0x"), (7, "0x" + "ab" * 100), (2**40, "0x01")):
        tx = {"to": "0x5081a39b8A5f0E35a8D959395a630b68B74Dd30f", "data": data, "value": 0, "gas": 712_345,
              "chainId": 31337, "type": 2, "maxFeePerGas": 3 * GWEI + 1, "maxPriorityFeePerGas": GWEI, "nonce": nonce}
        signed = key.sign_transaction(tx)
        assert sign_1559(bytes(key.key), tx) == ("0x" + bytes(signed.raw_transaction).hex().removeprefix("0x"),
                                                  "0x" + bytes(signed.hash).hex().removeprefix("0x"))


def test_starts_are_sent_with_a_higher_tip_than_bids():
    """`urgent` sends (auction starts) carry `urgent_tip` times the priority fee: a block orders by tip, so the
    starts that open the Dutch clock go ahead of every keeper's pending bids."""
    from web3 import Web3

    from crossmargin.chain.artifacts import artifact

    records: list[dict] = []
    s = TxSender(None, None, 31337, GasPolicy(max_fee_gwei=100, priority_gwei=1), dry_run=True, log=records.append)
    s.begin_block({"number": 10, "gasLimit": 30_000_000, "baseFeePerGas": GWEI})
    liq = Web3().eth.contract(address="0x" + "12" * 20, abi=artifact("Liquidation").abi)
    s.send(liq, "bid", [5, 7, WAD, WAD], "bid", gas=500_000)
    s.send(liq, "start_auctions", [[1, 2], 7], "start_auctions", gas=300_000, urgent=True)
    assert [r["max_fee_gwei"] for r in records] == [3.0, 4.0]  # 2 x base + tip; tip 1 -> 2 gwei


def test_fixed_base_signature_equals_eth_keys():
    """`sign_hash` (k·G from a table of 4-bit windows) gives eth-keys' (v, r, s) for random keys and hashes."""
    import random

    from eth_keys import keys

    from crossmargin.bots.txs import sign_hash

    rng = random.Random(18)
    for _ in range(60):
        pk, h = rng.randbytes(32), rng.randbytes(32)
        sig = keys.PrivateKey(pk).sign_msg_hash(h)
        assert sign_hash(h, pk) == (sig.v, sig.r, sig.s)


def test_cached_calldata_equals_web3s():
    """`encode_call` (cached selector and types) gives web3's `encode_abi` bytes for the keeper's calls, a struct
    argument included; `decode_call` web3's decoding."""
    from eth_abi import encode
    from web3 import Web3

    from crossmargin.bots.txs import decode_call, encode_call
    from crossmargin.chain.artifacts import artifact

    w3 = Web3()
    liq = w3.eth.contract(address="0x" + "12" * 20, abi=artifact("Liquidation").abi)
    ch = w3.eth.contract(address="0x" + "56" * 20, abi=artifact("Clearinghouse").abi)
    lens = w3.eth.contract(address="0x" + "34" * 20, abi=artifact("Lens").abi)
    order = (1, 2, True, WAD, 3000 * WAD, 5, 10**9, 0)
    for c, fn, args in ((liq, "bid", [5, 7, WAD, -3 * WAD]), (liq, "start_auctions", [[1, 2, 3], 9]),
                        (lens, "health_for_liquidation", [[1, 2, 3]]), (ch, "positions_of", [3]),
                        (ch, "fill", [order, b"\x01" * 65, WAD // 10, 9])):
        assert encode_call(c, fn, args) == c.encode_abi(fn, args=args)
    assert decode_call(liq, "discount", "0x" + encode(["uint256"], [7]).hex()) == 7


def test_refresh_loss_when_an_auction_goes_or_sinks_under_water():
    """An auction that opened solvent and is now under water gets `refresh_loss` (its loss then holds
    withdrawals); one that opened under water, once its V fell by more than 1 % of MM since first seen."""
    from types import SimpleNamespace

    from crossmargin.bots.liquidation import Auction

    k = _keeper(0, 1)
    k.sender = SimpleNamespace(busy=lambda key: False)
    h = Health(9, -10 * WAD, 1000 * WAD, -10 * WAD, 1200 * WAD, 0, True)
    solvent_at_start = Auction(start=1, insolvent=False, active=True, expiry=10**9)
    assert k._refresh_due(9, solvent_at_start, -5 * WAD, h)
    insolvent = Auction(start=1, insolvent=True, active=True, expiry=10**9)
    assert not k._refresh_due(10, insolvent, -5 * WAD, h)        # first seen: its booked loss is about this
    assert not k._refresh_due(10, insolvent, -14 * WAD, h)       # fell 9 USD < 1 % of MM
    assert k._refresh_due(10, insolvent, -16 * WAD, h)           # fell 11 USD
