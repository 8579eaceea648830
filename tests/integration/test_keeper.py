"""The liquidation keeper as a real process on anvil (1 s blocks), against the real Liquidation contract.

Population (ETH-PERP longs on 10,000 USDC each, bought from the maker at 3,000):
- RISKY: 24 accounts liquidatable after a crash to 2,600 (some solvent, some under water);
- TIER2: 4 accounts healthy at 2,600, liquidatable at 2,400;
- HEALTHY: 4 accounts healthy at 2,400.
"""

from __future__ import annotations

import time

import pytest

from tests.integration.bots_world import BotWorld, assert_no_errors

pytestmark = pytest.mark.integration

WAD = 10**18
RISKY = [16, 17, 18, 19, 20, 25, 26, 27] * 3
TIER2 = [13, 14] * 2
HEALTHY = [2, 5, 8, 10]
CRASH, DEEPER = 2600, 2400


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = BotWorld(tmp_path_factory.mktemp("keeper")).start()
    try:
        sc = w.sc
        [w.maker] = sc.open_accounts(w.maker_key, 1)
        sc.deposit(w.maker_key, [w.maker], "USDC", 20_000_000)
        w.keepers = [sc.open_accounts(k, 1)[0] for k in w.keeper_keys]
        for key, acct in zip(w.keeper_keys, w.keepers):
            sc.deposit(key, [acct], "USDC", 1_000_000)
        sc.deposit(w.admin, [1], "USDC", 100_000)  # the insurance fund
        sizes = RISKY + TIER2 + HEALTHY
        ids = sc.open_accounts(w.trader, len(sizes))
        sc.deposit(w.trader, ids, "USDC", 10_000)
        # largest first: IM prices the protocol's open interest at the fill (crowding), so the most levered
        # books open while it is smallest, as a careful desk would sequence them
        fills = sorted(zip(ids, sizes), key=lambda x: -x[1])
        sc.trade(w.maker_key, w.maker, w.trader, [(a, "ETH-PERP", s) for a, s in fills], price=3000)
        w.risky, w.tier2, w.healthy = ids[:24], ids[24:28], ids[28:]
        w.traders = ids
        w.take_snapshot()
        yield w
    finally:
        w.close()


def move_price(w: BotWorld, price: float, symbol: str = "ETH", resume: bool = True) -> int:
    return w.move_price(price, symbol, resume)


def liquidatable_at(w: BotWorld, block: int) -> set[int]:
    rows = w.reader.scan(w.traders, block=block)
    return {h.account for h in rows if h.liquidatable}


def first_bids(w: BotWorld, since: int) -> dict[int, list]:
    out: dict[int, list] = {}
    for log in w.logs(w.dep.liquidation, "Bid", since):
        out.setdefault(int(log["args"]["account"]), []).append(log)
    return out


def wait_liquidated(w: BotWorld, accounts: set[int], since: int, timeout: float = 30.0) -> dict[int, list]:
    deadline = time.monotonic() + timeout
    while True:
        bids = first_bids(w, since)
        if accounts <= set(bids):
            return bids
        if time.monotonic() > deadline:
            raise AssertionError(f"not liquidated after {timeout:.0f}s: {sorted(accounts - set(bids))}")
        time.sleep(0.2)


def started_accounts(k) -> set[int]:
    """Accounts the keeper sent a start for (batched `start_auctions` or single `start_auction`)."""
    out = {r["account"] for r in k.events("send", purpose="start_auction")}
    for r in k.events("send", purpose="start_auctions"):
        out.update(r["accounts"])
    return out


def keeper(w: BotWorld, index: int = 0, *extra: str):
    return w.bot("keeper", "run", "--account", f"TEST::{3 + index}", "--account-id", str(w.keepers[index]), *extra,
                 name=f"keeper{index}")


def maker(w: BotWorld):
    return w.bot("agent", "maker", "--account", "TEST::1", "--account-id", str(w.maker), name="maker")


# ---------------------------------------------------------------------------------------------------------


def test_keeper_liquidates_every_liquidatable_account_within_3_blocks(world):
    w = world
    w.reset()
    w.blocks()
    m, k = maker(w), keeper(w)
    m.started()
    k.started()
    crash = move_price(w, CRASH)
    hit = liquidatable_at(w, crash)
    assert hit == set(w.risky), "population: exactly the RISKY accounts are liquidatable at 2,600"

    bids = wait_liquidated(w, hit, crash)
    late = {a: int(b[0]["blockNumber"]) - crash for a, b in bids.items() if int(b[0]["blockNumber"]) - crash > 3}
    assert not late, f"bid later than 3 blocks after the crash: {late}"
    touched = {int(log["args"]["account"]) for log in w.logs(w.dep.liquidation, "AuctionStarted", crash)}
    assert touched == hit, "no healthy account is touched"
    assert all(int(b["args"]["bidder_account"]) == w.keepers[0] for rows in bids.values() for b in rows)

    w.wait_blocks(2)
    after = w.health(w.traders + [w.keepers[0]])
    assert after[w.keepers[0]].equity_im >= after[w.keepers[0]].im, "the keeper stays above IM"
    assert not any(after[a].liquidatable and not after[a].in_auction for a in w.traders)

    block_gas = w.w3.eth.get_block("latest")["gasLimit"]
    sends = k.events("send")
    assert sends and all(r["gas_limit"] <= min(block_gas, 15_000_000) for r in sends), "gas limits fit a block"
    for r in k.events("send", purpose="bid"):  # sized to the bid's own estimate (issue 18: not 8-30M)
        assert r["gas_limit"] <= int(r["gas"] * 1.2) + 50_000 + 2 * 60_000, r
    assert any(r["n"] > 1 for r in k.events("send", purpose="start_auctions")), "starts are batched"

    summary = k.interrupt()
    assert summary["liquidations"] >= len(hit) and summary["errors"] == 0
    assert summary["dropped"] == 0
    records = [r for r in k.events("loop") if r["liquidatable"] or r["in_auction"]]
    assert records and all({"scanned", "scan_ms", "liquidations", "profit_usd", "loop_ms"} <= set(r) for r in records)
    assert k.events("tx", purpose="unwind", status="ok"), "what it took is offered to the maker"
    m.interrupt()
    assert_no_errors(k, m)


def test_two_keepers_compete_and_both_stay_healthy(world):
    w = world
    w.reset()
    w.blocks()
    m, k0, k1 = maker(w), keeper(w, 0), keeper(w, 1)
    for b in (m, k0, k1):
        b.started()
    crash = move_price(w, CRASH)
    hit = liquidatable_at(w, crash)
    bids = wait_liquidated(w, hit, crash)
    assert max(int(b[0]["blockNumber"]) for b in bids.values()) - crash <= 4
    w.wait_blocks(3)
    assert k0.alive() and k1.alive()
    h = w.health(w.keepers)
    for acct in w.keepers:
        assert h[acct].equity_im >= h[acct].im, f"keeper account {acct} below IM"
    bidders = {int(b["args"]["bidder_account"]) for rows in bids.values() for b in rows}
    assert bidders <= set(w.keepers)
    s0, s1 = k0.interrupt(), k1.interrupt()
    assert s0["liquidations"] + s1["liquidations"] >= len(hit)
    m.interrupt()
    assert_no_errors(k0, k1, m)


def _crash_by_hand(w: BotWorld):
    """Blocks mined by hand: a keeper (no unwinds), the crash to CRASH, and its start_auctions sent (not mined).
    Returns the keeper, the crash's block and the accounts liquidatable there."""
    w.reset()
    w.manual()
    k = keeper(w, 0, "--no-unwind", "--unwind-cost", "0.001")
    w.mine()
    k.started()
    crash = move_price(w, CRASH, resume=False)
    hit = liquidatable_at(w, crash)
    k.wait_for(lambda: started_accounts(k) >= hit, 20, "its start_auctions txs")
    return k, crash, hit


def test_a_lost_bid_race_is_backed_off_not_retried(world):
    """Issue 18 (lost-race back-off). Deterministic race: the test mines by hand and front-runs the keeper's bid
    with a higher tip; the keeper's bid reverts ("no auction"), counts as a lost race (not a failure), backs the
    account off and sends nothing more for it; the keeper keeps running."""
    w = world
    k, crash, hit = _crash_by_hand(w)
    w.mine()
    target = max(hit, key=lambda a: RISKY[w.risky.index(a)])  # the deepest: an insolvent portfolio, taken whole
    k.wait_for(lambda: k.events("send", purpose="bid", account=target), 20, "its bid on the target")

    rival = w.keeper_keys[1]
    liq = w.dep.liquidation
    tx = {"to": liq.address, "data": liq.encode_abi("bid", args=[target, w.keepers[1], WAD, 10**30]),
          "gas": 3_000_000, "maxFeePerGas": 50 * 10**9, "maxPriorityFeePerGas": 20 * 10**9,
          "nonce": w.w3.eth.get_transaction_count(rival.address, "pending"), "chainId": w.w3.eth.chain_id, "type": 2}
    rival_hash = w.w3.eth.send_raw_transaction(rival.sign_transaction(tx).raw_transaction)
    w.mine()
    assert w.sc.receipt(rival_hash)["status"] == 1
    k.wait_for(lambda: k.events("tx", purpose="bid", status="reverted"), 20, "its reverted bid")
    for _ in range(4):
        w.mine()
        time.sleep(0.4)
    assert k.alive()
    assert len(k.events("send", purpose="bid", account=target)) == 1, "no retry storm"
    last = k.events("loop")[-1]
    assert last["lost_races"] >= 1 and last["failures"] == 0, "the rival closed the auction: a race, not a failure"
    summary = k.interrupt()
    assert summary["reverted"] >= 1 and summary["errors"] == 0
    assert_no_errors(k)


def test_sharded_keepers_split_accounts_and_cover_a_lost_shard(world):
    """Issue 18: two shards split the accounts; one keeper is SIGKILLed and its successor serves its shard at
    once after one takeover delay; restarted, the killed keeper serves its shard again."""
    w = world
    w.reset()
    w.blocks()
    m = maker(w)
    ks = [keeper(w, i, "--shard", f"{i}/2", "--takeover-blocks", "2") for i in (0, 1)]
    for b in (m, *ks):
        b.started()
    crash = move_price(w, CRASH)
    hit = liquidatable_at(w, crash)
    bids = wait_liquidated(w, hit, crash)
    for acct, rows in bids.items():
        assert {int(b["args"]["bidder_account"]) for b in rows} == {w.keepers[acct % 2]}, \
            f"account {acct} bid by another shard"
    starts = w.logs(w.dep.liquidation, "AuctionStarted", crash)
    assert all(int(s["args"]["starter_account"]) == w.keepers[int(s["args"]["account"]) % 2] for s in starts)

    ks[1].kill()  # shard 1 is lost
    deeper = move_price(w, DEEPER)
    hit2 = {a for a in liquidatable_at(w, deeper) if not w.health([a])[a].in_auction}
    assert set(w.tier2) <= hit2 and any(a % 2 == 1 for a in hit2)
    bids2 = wait_liquidated(w, hit2, deeper, timeout=40)
    for acct in hit2:
        assert {int(b["args"]["bidder_account"]) for b in bids2[acct] if int(b["blockNumber"]) > deeper} == \
            {w.keepers[0]}
    late = {a: int(bids2[a][0]["blockNumber"]) - deeper for a in hit2}
    assert max(late.values()) <= 12, late
    dead = ks[0].events("shard_dead")
    assert dead and dead[0]["shard"] == 1, "the successor counts the killed shard dead and serves it at once"
    after = [int(bids2[a][0]["blockNumber"]) for a in hit2 if a % 2 == 1]
    print(f"\nshard takeover after a kill: first bids {sorted(b - deeper for b in after)} blocks after the move")

    # the killed keeper restarts (issue 18's kill run): while its successor still counts shard 1 dead it leaves
    # it the accounts the successor's pending transactions already act on (no race); once that window is over
    # (20 blocks after the successor's last takeover) it serves its own shard again, and the successor defers
    ks[1] = keeper(w, 1, "--shard", "1/2", "--takeover-blocks", "2")
    ks[1].started()
    until = max(r["until"] for r in ks[0].events("shard_dead", shard=1))
    w.wait_blocks(max(0, until - w.head() + 1))
    third = move_price(w, 1900)
    hit3 = {a for a in liquidatable_at(w, third) if not w.health([a])[a].in_auction}
    odd = {a for a in hit3 if a % 2 == 1}
    assert odd, f"population: a shard-1 account liquidatable at 1,900 ({sorted(hit3)})"
    bids3 = wait_liquidated(w, hit3, third, timeout=40)
    starts3 = w.logs(w.dep.liquidation, "AuctionStarted", third)
    by_1 = {int(e["args"]["account"]) for e in starts3 if int(e["args"]["starter_account"]) == w.keepers[1]}
    late3 = max(int(bids3[a][0]["blockNumber"]) for a in hit3) - third
    print(f"restart: the restarted keeper started {len(by_1 & odd)} of its {len(odd)} accounts; all {len(hit3)} "
          f"bid within {late3} blocks")
    assert by_1 and by_1 <= odd, "the restarted keeper serves its own shard (and only it)"
    assert late3 <= 8
    for k in ks:
        k.interrupt()
    m.interrupt()
    assert_no_errors(*ks, m)


def test_stale_oracle_waits_gas_spike_caps_and_dry_run_sends_nothing(world):
    w = world
    w.reset()
    w.blocks()
    k = keeper(w, 0, "--max-fee-gwei", "5", "--no-unwind", "--unwind-cost", "0.001")
    dry = w.bot("keeper", "run", "--account-id", str(w.keepers[1]), "--dry-run", name="dry-run")  # no signer
    k.started()
    dry.started()

    w.sc.break_feed("ETH")  # the oracle is down: ETH is STALE
    w.sc.set_price("ETH", CRASH)
    stale_from = w.head()
    k.wait_for(lambda: [r for r in k.events("loop") if r["block"] > stale_from + 1 and r["stale"] > 0], 20,
               "stale accounts")
    w.wait_blocks(2)
    assert not k.events("send"), "nothing is sent on stale prices"

    # the feed comes back during a gas spike: base fee 50 gwei, cap 5 gwei
    w.manual()
    w.sc.gas_price = 100 * 10**9
    w.w3.provider.make_request("anvil_setNextBlockBaseFeePerGas", [hex(50 * 10**9)])
    hashes = w.sc.send_many(w.admin, [(w.sc.feed(f), "set_reverts", [False]) for f in ("feed:ETH", "feed2:ETH")],
                            gas=100_000, wait=False)
    w.mine()
    fresh = w.sc.receipt(hashes[-1])["blockNumber"]
    w.sc.gas_price = 3 * 10**9
    w.blocks()
    k.wait_for(lambda: k.events("gas_capped"), 20, "a gas cap")
    w.wait_blocks(2)
    assert not k.events("send"), "nothing is sent above the gas cap"
    assert not w.logs(w.dep.liquidation, "AuctionStarted", fresh)

    w.w3.provider.make_request("anvil_setNextBlockBaseFeePerGas", [hex(10**9)])
    calm = w.wait_blocks(1)
    hit = liquidatable_at(w, calm)
    assert hit
    bids = wait_liquidated(w, hit, calm)
    assert max(int(b[0]["blockNumber"]) for b in bids.values()) - calm <= 4

    assert dry.events("would_send"), "the dry run logs what it would send"
    assert not dry.events("send")
    assert all(int(s["args"]["starter_account"]) == w.keepers[0]
               for s in w.logs(w.dep.liquidation, "AuctionStarted", stale_from))
    k.interrupt()
    dry.interrupt()
    assert_no_errors(k, dry)


def test_keeper_closes_recovered_auctions_and_restarts_expired_ones(world):
    """Stale auctions (TECH_SPEC "Liquidation"): an auction whose account is back above MM takes no bid ("not
    liquidatable"): the keeper ends it with `close_auction`; an auction older than its max age takes no bid
    ("auction expired"): the keeper restarts it (at d_start, no flag fee) and bids on the fresh one."""
    from crossmargin.chain.node import rpc

    w = world
    w.reset()
    target = w.risky[0]
    move_price(w, CRASH, resume=False)
    _rival_starts(w, target)
    recovered = move_price(w, 3000)
    assert not liquidatable_at(w, recovered)
    k = keeper(w, 0, "--no-unwind")
    k.started()
    k.wait_for(lambda: k.events("tx", purpose="close_auction", status="ok"), 30, "its close_auction")
    assert not w.health([target])[target].in_auction
    assert not w.logs(w.dep.liquidation, "Bid", recovered), "no bid on a recovered account"
    summary = k.interrupt()
    assert summary["closed"] == 1 and summary["errors"] == 0

    # the account is flagged again, nobody bids for longer than the auction's max age (1 h)
    move_price(w, CRASH, resume=False)
    _rival_starts(w, target)
    rpc(w.node.uri, "evm_increaseTime", [3700])
    refreshed = move_price(w, CRASH)   # new feed rounds after the warp (heartbeat 1 h)
    k = keeper(w, 0, "--no-unwind")
    k.started()
    bids = wait_liquidated(w, {target}, refreshed)
    restarts = w.logs(w.dep.liquidation, "AuctionStarted", refreshed, account=target)
    assert restarts and int(restarts[0]["args"]["flag_fee"]) == 0, "restarted, no second flag fee"
    assert int(restarts[0]["args"]["starter_account"]) == w.keepers[0]
    assert int(bids[target][0]["args"]["discount"]) < 3 * 10**17, "the fresh auction's discount, not d_max"
    summary = k.interrupt()
    assert summary["errors"] == 0
    assert_no_errors(k)


def test_stuck_transactions_are_replaced_with_bumped_fees_never_dropped(world):
    """Issue 18: a fee spike leaves the keeper's start below the base fee; two blocks later it re-signs the same
    nonce with both fees raised (the node accepts the replacement: no "underpriced"), and that version is mined."""
    w = world
    k, crash, hit = _crash_by_hand(w)
    first = k.events("send", purpose="start_auctions")[0]
    for _ in range(4):  # base fee 20 gwei: the 1-gwei-based fees cannot be included
        w.w3.provider.make_request("anvil_setNextBlockBaseFeePerGas", [hex(20 * 10**9)])
        w.mine()
        time.sleep(0.6)
    bumps = k.wait_for(lambda: k.events("bump", nonce=first["nonce"]), 20, "a fee bump")
    assert bumps[-1]["max_fee_gwei"] >= 1.1 * first["max_fee_gwei"]
    w.w3.provider.make_request("anvil_setNextBlockBaseFeePerGas", [hex(20 * 10**9)])
    w.mine()
    done = k.wait_for(lambda: k.events("tx", purpose="start_auctions", nonce=first["nonce"]), 20, "its outcome")
    assert done[0]["status"] == "ok"
    starts = w.logs(w.dep.liquidation, "AuctionStarted", crash)
    assert hit <= {int(e["args"]["account"]) for e in starts}
    mined = w.w3.eth.get_transaction(starts[0]["transactionHash"])
    assert mined["maxFeePerGas"] > first["max_fee_gwei"] * 10**9, "the bumped version was mined"
    summary = k.interrupt()
    w.w3.provider.make_request("anvil_setNextBlockBaseFeePerGas", [hex(10**9)])
    w.mine()
    assert summary["dropped"] == 0 and summary["bumped"] >= 1
    assert not k.events("replace_refused") and not k.events("skip")
    assert_no_errors(k)


def test_gas_limits_fit_a_small_block_and_batches_split(world):
    """Issue 18: a 1.5M-gas block: no transaction is sent with a gas limit above it; a batch of starts that cannot
    fit is split (never sent), and every account is still liquidated."""
    from crossmargin.chain.node import rpc

    w = world
    w.reset()
    rpc(w.node.uri, "evm_setBlockGasLimit", [hex(1_500_000)])
    try:
        w.blocks()
        k = keeper(w, 0, "--no-unwind", "--unwind-cost", "0.001")
        k.started()
        crash = move_price(w, CRASH)
        hit = liquidatable_at(w, crash)
        try:
            wait_liquidated(w, hit, crash, timeout=60)
        except AssertionError:
            print(k.tail(40), [r for r in k.records if r.get("event") not in ("loop",)][-20:])
            raise
        sends = k.events("send")
        assert max(r["gas_limit"] for r in sends) <= 1_500_000
        batches = [r["n"] for r in k.events("send", purpose="start_auctions")]
        assert max(batches) < len(hit) <= sum(batches), f"split: {batches}"
        per_start = [r["gas"] / r["n"] for r in k.events("send", purpose="start_auctions")]
        print(f"\n1.5M-gas blocks: start batches {batches}, {min(per_start):,.0f}-{max(per_start):,.0f} gas a start; "
              f"bid gas limits {sorted(r['gas_limit'] for r in k.events('send', purpose='bid'))[-3:]}")
        summary = k.interrupt()
        assert summary["dropped"] == 0 and summary["errors"] == 0
        assert_no_errors(k)
    finally:
        w.stop_all()
        rpc(w.node.uri, "evm_setBlockGasLimit", [hex(30_000_000)])


def test_a_rivals_pending_transaction_is_not_raced(world):
    """Issue 18: a rival's starts wait in the pool (blocks mined by hand): the keeper sees them there and sends
    nothing for those accounts, so it loses no race; once mined, it bids."""
    w = world
    w.reset()
    move_price(w, CRASH, resume=False)  # blocks by hand from here
    rival = w.keeper_keys[1]
    w.sc.send_many(rival, [(w.dep.liquidation, "start_auctions", [list(w.risky), w.keepers[1]])], gas=14_000_000,
                   wait=False)  # in the pool, not mined
    k = keeper(w, 0, "--no-unwind", "--unwind-cost", "0.001")
    k.started()
    k.wait_for(lambda: [r for r in k.events("loop") if r.get("rival_pending", 0) > 0], 20, "the rival seen")
    assert not started_accounts(k) & set(w.risky), "no start raced against the rival's pending one"
    w.blocks()
    wait_liquidated(w, set(w.risky), w.head() - 1, timeout=40)
    summary = k.interrupt()
    assert summary["lost_races"] == 0 and summary["reverted"] == 0
    assert_no_errors(k)


ILLIQUID = 0.06  # an unwind cost (fraction of notional) above a sliver's V·d_max + escalation_reward·MM


def _sliver_in_auction(w, *keeper_args):
    """The 25 ETH long moved to a mark value V of a few hundred USD (0.5 % of its notional) and put in auction by a
    keeper without unwinds (and `keeper_args`): (account, Liquidation contract, the ETH price, that keeper)."""
    w.reset()
    target = w.risky[RISKY.index(25)]
    liq = w.dep.liquidation
    price = 2612.0
    for _ in range(6):
        moved = move_price(w, price, resume=False)
        value = liq.functions.mark_value(target).call() / WAD
        if 150 <= value <= 450:
            break
        price += (300 - value) / 25
    assert 150 <= value <= 450, value
    k = keeper(w, 0, "--no-unwind", *keeper_args)
    k.started()
    w.blocks()
    # its AuctionStarted, not `in_auction`: an escalated sliver may be bid within a few blocks of its start
    k.wait_for(lambda: w.logs(liq, "AuctionStarted", moved, account=target), 20, "the target's auction")
    return target, liq, price, k


def test_an_unbiddable_auction_waits_then_is_cleared_at_a_bounded_loss(world):
    """Issue 18: an account whose mark value V is a sliver of its notional is worth V·d at most to a bidder, plus
    its escalation reward (at most escalation_reward·MM); to a keeper whose unwind costs more than that (here 6 % of
    the notional: an illiquid market), at the maximum discount and the reward's cap the keeper logs it `unbiddable`
    and does not bid; a keeper run with `--max-loss-usd` clears it (the operator pays a bounded loss, like
    `close_auction`'s gas)."""
    from crossmargin.chain.node import rpc

    w = world
    target, liq, price, k = _sliver_in_auction(w, "--unwind-cost", str(ILLIQUID))
    lp = liq.functions.auction_params(target).call()
    ramp, delay = int(lp[2]), int(lp[9])
    # past the ramp and the reward's ramp: the discount at d_max, the escalation reward at its cap
    rpc(w.node.uri, "evm_increaseTime", [max(ramp, delay + ramp) + 60])
    at_max = move_price(w, price)
    unbid = k.wait_for(lambda: k.events("unbiddable", account=target), 40, "the unbiddable log")[0]
    print(f"\nunbiddable: V {unbid['value_usd']} USD, gross at d_max {unbid['gross_usd']} USD, "
          f"unwind {unbid['unwind_usd']} USD, gas {unbid['gas_usd']} USD")
    assert unbid["gross_usd"] < unbid["unwind_usd"] + unbid["gas_usd"]
    assert not w.logs(liq, "Bid", at_max, account=target)
    assert not k.events("send", purpose="bid", account=target)
    k.interrupt()
    k2 = keeper(w, 1, "--no-unwind", "--unwind-cost", str(ILLIQUID), "--max-loss-usd", "5000")
    k2.started()
    wait_liquidated(w, {target}, at_max, timeout=40)
    assert k2.events("stranded_bid", account=target)
    assert not w.health([target])[target].in_auction
    k2.interrupt()
    assert_no_errors(k, k2)


def test_keeper_takes_an_escalated_auction(world):
    """Issue 18: the same sliver, left unbid for the escalation delay since its start: a full bid now also earns
    the escalation reward (out of the owner's proceeds, then the insurance fund), and a keeper with no
    `--max-loss-usd` takes it on its own once the reward covers its unwind cost."""
    w = world
    target, liq, price, k = _sliver_in_auction(w)
    started = w.logs(liq, "AuctionStarted", 0, account=target)[-1]
    since = int(started["blockNumber"])
    value = liq.functions.mark_value(target).call(block_identifier=since) / WAD
    assert value * WAD < int(started["args"]["mm"]) * liq.functions.auction_params(target).call()[10] // WAD, \
        "a sliver: V < escalation_reward·MM"
    # nobody else bids: the keeper waits (V·d alone never pays its unwind) until the reward covers it
    bids = wait_liquidated(w, {target}, since, timeout=70)
    escalated = w.logs(liq, "EscalatedBid", since, account=target)
    assert escalated, "the keeper's bid was an escalated one"
    ev = escalated[0]["args"]
    print(f"\nescalated: V {value:.0f} USD, reward {ev['reward'] / WAD:.0f} USD (owner {ev['owner_paid'] / WAD:.0f}, "
          f"fund {ev['fund_paid'] / WAD:.0f}); keeper payment {bids[target][0]['args']['payment'] / WAD:.0f} USD, "
          f"{int(escalated[0]['blockNumber']) - since} blocks after the auction's start")
    assert k.events("send", purpose="bid", account=target) and not k.events("stranded_bid", account=target)
    assert not w.health([target])[target].in_auction
    k.interrupt()
    assert_no_errors(k)


def test_keeper_resumes_after_anvil_restart(world):
    """Last in the module: the node restarts from its dumped state (snapshots do not survive that)."""
    w = world
    w.reset()
    w.blocks()
    k = keeper(w, 0, "--no-unwind", "--unwind-cost", "0.001")
    k.started()
    crash = move_price(w, CRASH, resume=False)
    hit = liquidatable_at(w, crash)
    # the keeper's start_auctions txs are in the mempool when the node goes down
    k.wait_for(lambda: started_accounts(k) >= hit, 20, "its start_auctions txs")
    w.node.stop()
    k.wait_for(lambda: k.events("node_down"), 10, "node_down")
    time.sleep(1.0)
    w.node.block_time = 1
    w.node.start()
    w.connect()
    k.wait_for(lambda: k.events("resynced"), 20, "a resync")
    resumed = w.head()
    bids = wait_liquidated(w, hit, crash, timeout=30)
    assert max(int(b[0]["blockNumber"]) for b in bids.values()) - resumed <= 5
    w.wait_blocks(2)

    address = w.keeper_keys[0].address
    assert w.w3.eth.get_transaction_count(address, "pending") == w.w3.eth.get_transaction_count(address, "latest"), \
        "no nonce gap: nothing stuck behind a lost nonce"
    mined = [r for r in k.events("tx") if r["status"] == "ok"]
    sends = k.events("send")
    lost = k.events("resynced")[0]["lost_txs"]
    print(f"\nnode restart: {lost} keeper transactions were lost with the mempool and re-sent")
    assert len(mined) == len(sends) - lost, "every transaction sent after the restart was mined"
    nonces = sorted(r["nonce"] for r in mined)
    assert nonces == list(range(nonces[0], nonces[0] + len(nonces))), "no duplicate or skipped nonce"
    summary = k.interrupt()
    assert summary["reconnects"] >= 1 and summary["liquidations"] >= len(hit)
    assert_no_errors(k)


def test_keeper_follows_a_redeploy_after_the_node_comes_back_empty(world):
    """A dev chain reset under a running keeper: it waits, then works on the new deployment."""
    w = world
    w.blocks()
    k = keeper(w, 0, "--no-unwind", "--unwind-cost", "0.001")
    k.started()
    w.redeploy_on_empty_node()
    sc = w.sc
    [maker_acct] = sc.open_accounts(w.maker_key, 1)
    sc.deposit(w.maker_key, [maker_acct], "USDC", 5_000_000)
    keepers = [sc.open_accounts(key, 1)[0] for key in w.keeper_keys]
    assert keepers[0] == w.keepers[0], "same opening order, same keeper account id"
    sc.deposit(w.keeper_keys[0], [keepers[0]], "USDC", 1_000_000)
    ids = sc.open_accounts(w.trader, 6)
    sc.deposit(w.trader, ids, "USDC", 10_000)
    sc.trade(w.maker_key, maker_acct, w.trader, [(a, "ETH-PERP", 18) for a in ids], price=3000)
    w.blocks()
    k.wait_for(lambda: [r for r in k.events("loop") if r.get("accounts", 0) >= len(ids)], 30,
               "the keeper indexing the new deployment")
    crash = move_price(w, CRASH)
    hit = {h.account for h in w.reader.scan(ids, block=crash) if h.liquidatable}
    assert hit == set(ids)
    wait_liquidated(w, hit, crash, timeout=30)
    summary = k.interrupt()
    assert summary["reconnects"] >= 1
    assert k.events("chain_reset")
    assert_no_errors(k)


def _rival_starts(w: BotWorld, account: int) -> None:
    """The second keeper opens an auction by hand (no bot is watching it; blocks mined by hand)."""
    [h] = w.sc.send_many(w.keeper_keys[1], [(w.dep.liquidation, "start_auction", [account, w.keepers[1]])],
                         gas=2_000_000, wait=False)
    w.mine()
    assert w.sc.receipt(h)["status"] == 1
