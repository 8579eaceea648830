"""OracleRouter share feeds (issue 16): listing checks, the guard, the poke, and a vault that stops answering.
A router of its own (the test's admin) next to a World's tokens."""

from __future__ import annotations

import pytest

from crossmargin.chain.errors import reasons
from crossmargin.chain.revm import RevmRevert
from crossmargin.fuzz.world import World

E = reasons()
WAD = 10**18
DAY = 86_400
RISE, DROP = WAD // 1000, WAD // 20


@pytest.fixture(scope="module")
def env():
    w = World.revm(n_traders=2)
    b, a = w.backend, w.admin
    router = b.deploy("OracleRouter")
    feed = b.deploy("mocks/MockAggregator", 8, 3000 * 10**8)
    router.set_feed(1, feed.address, "0x" + "00" * 20, 3600, 0, 0, sender=a)
    weth = w.tokens["WETH"]
    vault = b.deploy("mocks/MockERC4626", "Vault sETH", "sETH", weth.address, 0)
    weth.mint(a, 100 * WAD, sender=a)
    weth.approve(vault.address, 100 * WAD, sender=a)
    vault.deposit(100 * WAD, a, sender=a)
    return w, router, feed, vault


def test_listing_checks(env):
    w, router, feed, vault = env
    a, other = w.admin, w.traders[0].address
    with pytest.raises(RevmRevert, match=E["MISSING_ROLE"]):
        router.set_share_feed(10, vault.address, 1, RISE, DROP, WAD, sender=other)
    with pytest.raises(RevmRevert, match=E["FEED_EXISTS"]):
        router.set_share_feed(1, vault.address, 1, RISE, DROP, WAD, sender=a)
    with pytest.raises(RevmRevert, match=E["UNKNOWN_UNDERLYING"]):
        router.set_share_feed(10, vault.address, 7, RISE, DROP, WAD, sender=a)
    with pytest.raises(RevmRevert, match=E["BAD_SHARE_GUARD"]):
        router.set_share_feed(10, vault.address, 1, RISE, 0, WAD, sender=a)
    with pytest.raises(RevmRevert, match=E["BAD_SHARE_RATE"]):
        router.set_share_feed(10, vault.address, 1, RISE, DROP, 0, sender=a)
    with pytest.raises(RevmRevert, match=E["UNKNOWN_UNDERLYING"]):
        router.price(10)


def test_guard_poke_and_dead_vault(env):
    w, router, feed, vault = env
    a, keeper = w.admin, w.traders[0].address
    router.set_share_feed(10, vault.address, 1, RISE, DROP, 2 * WAD, sender=a)
    with pytest.raises(RevmRevert, match=E["FEED_EXISTS"]):
        router.set_feed(10, feed.address, "0x" + "00" * 20, 3600, 0, 0, sender=a)
    assert tuple(router.price(10)) == (3000 * WAD, 0)
    assert tuple(router.share_feed_of(10))[1:] == (1, 18, 18, RISE, DROP, WAD, w.now)

    w.tokens["WETH"].mint(vault.address, 50 * WAD, sender=a)          # a donation: live 1.5
    w.warp(DAY)
    feed.set_answer(3000 * 10**8, sender=a)
    live, used, status = router.share_rate(10)
    assert abs(live - 3 * WAD // 2) < 10**10 and (used, status) == (WAD + RISE, 0)
    assert tuple(router.price(10)) == (3000 * (WAD + RISE), 0)
    router.update_share_rate(10, sender=keeper)                      # the headroom restarts
    assert router.share_rate(10)[1] == WAD + RISE

    vault.lose(vault.totalAssets() // 2, sender=a)                   # a loss: 0.75 < (1 - 5 %) x 1.001
    live, used, status = router.share_rate(10)
    assert used == live and status == 1
    assert router.price(10)[1] == 1, "DEGRADED until a poke accepts the fall"
    router.update_share_rate(10, sender=keeper)
    assert router.price(10)[1] == 0 and router.share_feed_of(10)[6] == live

    for mode in (1, 2):                                              # reverts / returns 0
        vault.set_mode(mode, sender=a)
        assert tuple(router.price(10)) == (0, 2)
        assert router.update_share_rate(10, sender=keeper) == live     # nothing changes
    vault.set_mode(0, sender=a)


def test_ids_checked(env):
    w, router, feed, vault = env
    with pytest.raises(RevmRevert, match=E["ZERO_ID"]):
        router.set_share_feed(0, vault.address, 1, RISE, DROP, WAD, sender=w.admin)
    with pytest.raises(RevmRevert, match=E["ID_TOO_LARGE"]):
        router.set_share_feed(2**64, vault.address, 1, RISE, DROP, WAD, sender=w.admin)
    with pytest.raises(RevmRevert, match=E["ID_TOO_LARGE"]):     # the settlement unit's id is no share id
        router.set_share_feed(SETTLEMENT, vault.address, 1, RISE, DROP, WAD, sender=w.admin)


# ---- a vault over the settlement asset (a yield-bearing USDC vault): asset id SETTLEMENT_UID, price 1 USD, OK


SETTLEMENT = 2**64 - 1


def test_settlement_unit_is_built_in(env):
    w, router, feed, vault = env
    from crossmargin.model.params import SETTLEMENT_PRICE_ID

    assert SETTLEMENT_PRICE_ID == SETTLEMENT
    assert tuple(router.prices(SETTLEMENT)) == (WAD, 0, 0) and tuple(router.price(SETTLEMENT)) == (WAD, 0)
    with pytest.raises(RevmRevert, match=E["FEED_EXISTS"]):          # nobody can feed the unit
        router.set_feed(SETTLEMENT, feed.address, "0x" + "00" * 20, 3600, 0, 0, sender=w.admin)


def test_usdc_vault_priced_at_its_guarded_rate(env):
    w, router, feed, vault = env
    a, keeper = w.admin, w.traders[0].address
    usdc = w.tokens["USDC"]
    yusd = w.backend.deploy("mocks/MockERC4626", "Vault yUSD", "yUSD", usdc.address, 0)
    usdc.mint(a, 1_000_000 * 10**6, sender=a)
    usdc.approve(yusd.address, 1_000_000 * 10**6, sender=a)
    yusd.deposit(1_000_000 * 10**6, a, sender=a)
    router.set_share_feed(11, yusd.address, SETTLEMENT, RISE, DROP, 2 * WAD, sender=a)
    assert router.share_asset(11) == SETTLEMENT
    assert tuple(router.share_feed_of(11))[1:4] == (SETTLEMENT, 6, 6)
    assert tuple(router.prices(11)) == (WAD, 0, 0)
    usdc.mint(yusd.address, 1_000_000 * 10**6, sender=a)              # a donation: live 2.0, credited r0
    assert tuple(router.prices(11)) == (WAD, 0, 0)
    w.warp(DAY)
    assert tuple(router.prices(11)) == (WAD + RISE, 0, 0), "a day's rise, no asset feed to go stale"
    router.update_share_rate(11, sender=keeper)
    yusd.lose(yusd.totalAssets() * 6 // 10, sender=a)                # live 0.8: DEGRADED until accepted
    assert tuple(router.prices(11))[1:] == (0, 1)
    rate, status, liquidity = router.share_state(11, a)
    assert status == 1 and rate == router.share_rate(11)[0] and liquidity == 1_000_000 * WAD
