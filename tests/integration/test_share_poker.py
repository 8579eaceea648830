"""The share-rate poker (`crossmargin agent shares`) as a real process on anvil, over the demo parameters' stETH
vault (deployed and listed by `crossmargin deploy`): a donation that doubles the vault's rate does not move the
accepted rate at once; the poke advances it only within the guard (r0 · (1 + max_rise_per_day · age)); a rate that
fell beyond max_drop (DEGRADED) is not poked."""

from __future__ import annotations

import pytest

from crossmargin.chain.node import rpc
from tests.integration.bots_world import BotWorld, assert_no_errors

pytestmark = pytest.mark.integration

WAD = 10**18
DAY = 86_400


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = BotWorld(tmp_path_factory.mktemp("shares")).start("demo")
    try:
        w.take_snapshot()
        yield w
    finally:
        w.close()


def _feed(w):
    spec = w.dep.params.share_vaults[0]
    router = w.dep.contract("OracleRouter")
    f = router.functions.share_feed_of(spec.uid).call()
    live, used, status = router.functions.share_rate(spec.uid).call()
    return spec, router, {"r0": f[6], "t0": f[7], "rise": f[4], "live": live, "used": used, "status": status}


def test_donation_is_not_accepted_at_once_and_the_poke_stays_within_the_guard(world):
    w = world
    w.reset()
    spec, router, g = _feed(w)
    weth = w.dep.contract("mocks/MockERC20", f"token:{spec.asset}")
    vault = w.dep.contract("mocks/MockERC4626", f"token:{spec.symbol}")
    r0 = g["r0"]
    eth = router.functions.price(w.dep.params.underlying("ETH").id).call()[0]
    # the Cream move: donate as much WETH as the vault holds (the live rate doubles) in one block
    held = vault.functions.totalAssets().call()
    w.sc.send_many(w.admin, [(weth, "mint", [vault.address, held])])
    _, _, g = _feed(w)
    share_price = router.functions.price(spec.uid).call()[0]
    print(f"\nstETH: accepted r0 {r0 / WAD:.6f}, live after the donation {g['live'] / WAD:.6f}, used {g['used'] / WAD:.6f}"
          f"; share price {share_price / WAD:,.2f} vs ETH {eth / WAD:,.2f}")
    assert g["live"] >= 2 * r0 - 2 and g["r0"] == r0
    assert g["used"] <= r0 * (WAD + g["rise"] * 60 // DAY) // WAD      # at most a minute of headroom credited
    assert share_price <= eth * g["used"] // WAD + 1
    # half a day later (fresh feeds), the poker accepts the rate only up to the cap
    rpc(w.node.uri, "evm_increaseTime", [DAY // 2])
    w.sc.set_prices({u.symbol: u.price for u in w.dep.params.underlyings})
    w.blocks()
    dry = w.bot("agent", "shares", "--dry-run", "--interval", "3600", name="shares dry-run")   # no key needed
    would = dry.wait_for(lambda: dry.events("would_send"), 40, "a would-be poke")[0]
    dry.interrupt()
    assert would["fn"] == "update_share_rate" and _feed(w)[2]["r0"] == r0 and not dry.events("send")
    bot = w.bot("agent", "shares", "--account", "TEST::0", "--interval", "3600", name="shares")
    bot.started()
    poke = bot.wait_for(lambda: bot.events("tx", status="ok"), 40, "a settled poke")
    sends = lambda: [e for e in bot.events("send") if e["args"] == [spec.uid]]   # noqa: E731 (the demo's yUSD too)
    send = sends()[0]
    _, _, g = _feed(w)
    cap = r0 + r0 * g["rise"] // WAD * (g["t0"] - _t0(w, r0)) // DAY
    print(f"poke ({send['why']}): r0 {r0 / WAD:.6f} -> {g['r0'] / WAD:.6f} after {send['age']} s "
          f"(cap {cap / WAD:.6f}, live {g['live'] / WAD:.6f})")
    assert poke and send["why"] == "age"
    assert r0 < g["r0"] <= cap < r0 * 1001 // 1000            # advanced, within 0.1 %/day, far below the live 2x
    assert g["live"] > 19 * g["r0"] // 10
    w.wait_blocks(3)
    assert len(sends()) == 1                                   # the headroom is now small: no second poke
    bot.interrupt()
    assert_no_errors(bot)


def _t0(w, r0):
    """When r0 was accepted (the stETH listing's ShareFeedSet block; the demo lists yUSD after it)."""
    router = w.dep.contract("OracleRouter")
    uid = w.dep.params.share_vaults[0].uid
    logs = [log for log in router.events.ShareFeedSet().get_logs(from_block=0) if log["args"]["uid"] == uid]
    return w.w3.eth.get_block(logs[-1]["blockNumber"])["timestamp"]


def test_degraded_feed_is_not_poked(world):
    w = world
    w.reset()
    spec, router, g = _feed(w)
    vault = w.dep.contract("mocks/MockERC4626", f"token:{spec.symbol}")
    held = vault.functions.totalAssets().call()
    w.sc.send_many(w.admin, [(vault, "lose", [held // 5])])          # the rate falls 20 % (> max_drop 5 %)
    w.blocks()
    bot = w.bot("agent", "shares", "--account", "TEST::0", "--interval", "1", name="shares")
    bot.wait_for(lambda: bot.events("degraded"), 40, "the degraded record")
    w.wait_blocks(3)
    _, _, after = _feed(w)
    steth = [e for e in bot.events("send") if e["args"] == [spec.uid]]     # the demo's yUSD may be poked
    print(f"\nstETH after a 20 % loss: live {after['live'] / WAD:.4f}, r0 {after['r0'] / WAD:.4f}, status "
          f"{after['status']}; pokes {len(steth)}")
    assert after["status"] == 1 and after["r0"] == g["r0"] and not steth
    bot.interrupt()
    assert_no_errors(bot)


def test_deployment_file_records_the_vault_and_a_second_deploy_sends_nothing(world):
    from crossmargin.chain.deploy import deploy
    from crossmargin.chain.protocol import Protocol
    from crossmargin.chain.risk_settings import RiskSettings
    from crossmargin.chain.session import connect
    from crossmargin.model.params import load_params

    w = world
    w.reset()
    m = w.dep.manifest
    spec = w.dep.params.share_vaults[0]
    assert m.deployed[f"token:{spec.symbol}"]["contract"] == "MockERC4626"
    assert m.parameters["share_vaults"][0]["uid"] == spec.uid and f"share.listed:{spec.symbol}" in m.steps_done
    vault = w.dep.contract("mocks/MockERC4626", f"token:{spec.symbol}")
    assert vault.functions.asset().call() == m.token(spec.asset)
    with connect(w.node.uri) as session:
        _, sent = deploy(session, load_params("demo"))
        shown = RiskSettings(Protocol(session, m, load_params("demo"))).show()
    assert sent == []
    # netted listing: the share id is no RiskEngine underlying (`risk show` refused this deployment while it counted it)
    assert shown["underlyings"] == list(load_params("demo").symbols)
    specs = w.dep.params.share_vaults
    assert [f["symbol"] for f in shown["share_feeds"]] == [v.symbol for v in specs]
    # the yield-bearing USDC vault: a 4626 over the USDC mock, in no book, its own haircuts shown
    (usd,) = [v for v in specs if v.asset == "USDC"]
    y = w.dep.contract("mocks/MockERC4626", f"token:{usd.symbol}")
    assert y.functions.asset().call() == m.token("USDC") and y.functions.decimals().call() == 6
    row = next(f for f in shown["share_feeds"] if f["symbol"] == usd.symbol)
    assert row["book"].startswith("none") and row["status"] == "OK"
    assert next(f for f in shown["share_feeds"] if f["symbol"] == spec.symbol)["book"] == "ETH"
    hc = next(c for c in shown["collaterals"] if c["symbol"] == usd.symbol)
    assert float(hc["base_mm"]) == usd.haircut_base_mm and float(hc["depth"]) == usd.depth_usd
