"""Bot plumbing without a node: nonces, gas caps, signers, revert reasons, metrics lines."""

from __future__ import annotations

import io
import json

import pytest

from crossmargin.bots.core import (GWEI, BotError, GasCapped, GasPolicy, Loop, Metrics, NonceManager, dev_key,
                                   load_signer, revert_reason)


class _Eth:
    def __init__(self, count: int):
        self.count = count

    def get_transaction_count(self, address, block):
        assert block == "pending"
        return self.count


class _W3:
    def __init__(self, count: int):
        self.eth = _Eth(count)


class _Chain:
    """Heads for `Loop`: `block_number` and `get_block`."""

    def __init__(self):
        self.block_number = 10

    def get_block(self, number):
        return {"number": number, "timestamp": 1_700_000_000 + number}


class _Bot:
    name = "probe"

    def __init__(self, fail_at: int | None = None):
        self.fail_at, self.starts, self.seen = fail_at, 0, []

    def start(self, loop):
        self.starts += 1

    def on_block(self, loop, block):
        if block["number"] == self.fail_at:
            self.fail_at = None  # fails once, then the same head is handled again
            raise ValueError("boom")
        self.seen.append(block["number"])
        return {"seen": len(self.seen)}

    def stop(self, loop):
        return {"seen": self.seen}


def test_nonces_are_consecutive_and_resync_from_pending():
    w3 = _W3(7)
    n = NonceManager(w3, "0xabc")
    assert [n.take(), n.take(), n.take()] == [7, 8, 9]
    n.release(9)  # never reached the node: handed out again
    assert n.take() == 9
    n.release(8)  # not the last one: a gap would follow, so it is not reused
    assert n.take() == 10
    w3.eth.count = 4  # the node lost our pending transactions (restart): their nonces are free again
    assert n.resync() == 4 and n.take() == 4


def test_gas_policy_caps_the_fee():
    p = GasPolicy(max_fee_gwei=50, priority_gwei=2)
    assert p.fees(10 * GWEI) == {"maxFeePerGas": 22 * GWEI, "maxPriorityFeePerGas": 2 * GWEI}
    assert p.fees(40 * GWEI)["maxFeePerGas"] == 50 * GWEI  # 2·base + tip capped
    with pytest.raises(GasCapped):
        p.fees(49 * GWEI)


def test_dev_signers_are_anvils_accounts(monkeypatch):
    monkeypatch.delenv("CROSSMARGIN_PRIVATE_KEY", raising=False)
    assert dev_key(0).address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert load_signer("TEST::1", 31337).address == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    assert load_signer(None, 31337) is None  # no signer: dry run
    with pytest.raises(BotError, match="dev chains"):
        load_signer("TEST::1", 1)
    monkeypatch.setenv("CROSSMARGIN_PRIVATE_KEY", dev_key(4).key.hex())
    assert load_signer(None, 1).address == dev_key(4).address


@pytest.mark.parametrize("text,reason", [
    ("execution reverted: auction active", "auction active"),
    ("('execution reverted: no auction', '0x08c379a0')", "no auction"),
    ("execution reverted", "reverted"),
    ("insufficient funds for gas * price + value", "insufficient funds for gas * price + value"),
])
def test_revert_reason(text, reason):
    assert revert_reason(Exception(text)) == reason


def test_metrics_are_json_lines(tmp_path):
    out = io.StringIO()
    path = tmp_path / "m.jsonl"
    with Metrics("keeper", stream=out, path=path) as m:
        m.emit({"event": "loop", "block": 3, "scanned": 10})
        m.emit({"event": "send", "purpose": "bid"})
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [r["event"] for r in lines] == ["loop", "send"] and lines[0]["bot"] == "keeper"
    assert path.read_text().splitlines() == out.getvalue().splitlines()
    assert m.last["block"] == 3 and list(m.events)[-1]["purpose"] == "bid"


def test_loop_step_handles_each_new_head_once_and_retries_a_failed_one():
    w3, bot, records = type("W3", (), {"eth": _Chain()})(), _Bot(fail_at=11), []
    loop = Loop(bot, w3, Metrics("probe", sink=records.append))
    assert loop.step()["seen"] == 1 and loop.step() is None  # head 10, then nothing new
    w3.eth.block_number = 11
    assert loop.step()["event"] == "error" and loop.errors == 1  # logged and counted, not raised
    assert loop.step()["block"] == 11 and loop.step() is None  # the failed head is handled on the next step
    summary = loop.finish()
    assert bot.starts == 1 and bot.seen == [10, 11]
    assert summary["blocks"] == 2 and summary["errors"] == 1 and summary["seen"] == [10, 11]
    assert [r["event"] for r in records] == ["loop", "error", "loop", "stopped"]
    assert records[1]["error"] == "ValueError: boom" and all(r["bot"] == "probe" for r in records)
