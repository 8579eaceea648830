"""The share-rate poker's rule (`crossmargin.bots.shares.should_poke`) and the `[[share_vaults]]` parameter table."""

from __future__ import annotations

import tomllib

import pytest

from crossmargin.bots.shares import Guard, ShareConfig, should_poke
from crossmargin.model.params import PARAMS_DIR, load_params, params_from_dict
from crossmargin.model.share_rate import DAY, DEGRADED, OK, STALE

WAD = 10**18
RISE = WAD // 1000   # 0.1 %/day


def g(age: int, live: int = WAD, status: int = OK, r0: int = WAD) -> tuple[Guard, int]:
    now = 10 * DAY
    return Guard(r0, now - age, RISE, live, min(live, r0), status), now


def test_pokes_on_age_or_headroom_only():
    c = ShareConfig(interval=6 * 3600, max_headroom=0.0002)
    assert should_poke(*g(60), c) is None                       # fresh: headroom 7e-7
    assert should_poke(*g(6 * 3600), c) == "age"
    c2 = ShareConfig(interval=10 * DAY, max_headroom=0.0002)
    assert should_poke(*g(4 * 3600), c2) is None               # 1.67e-4 of headroom
    assert should_poke(*g(5 * 3600), c2) == "headroom"         # 2.08e-4
    guard, now = g(5 * 3600)
    assert guard.cap(now) == WAD + RISE * 5 * 3600 // DAY


def test_never_pokes_a_dead_vault_and_degraded_only_when_told():
    c = ShareConfig(interval=1)
    assert should_poke(*g(DAY, live=0, status=STALE), c) is None
    assert should_poke(*g(DAY, live=WAD // 2, status=DEGRADED), c) is None
    assert should_poke(*g(DAY, live=WAD // 2, status=DEGRADED), ShareConfig(interval=1, accept_drops=True)) == "age"


def test_share_vaults_table():
    demo = load_params("demo")
    v, y = demo.share_vaults
    assert (v.symbol, v.asset, v.uid, v.decimals(demo)) == ("stETH", "WETH", 10, 18)
    assert (y.symbol, y.asset, y.uid, y.decimals(demo)) == ("yUSD", "USDC", 11, 6)   # a yield-bearing USDC vault
    assert y.collateral(demo).unit and y.collateral(demo).haircut_base_mm == y.haircut_base_mm > 0
    c = v.collateral(demo)
    assert c.underlying == "ETH" and c.haircut_base_im == demo.collateral("WETH").haircut_base_im
    assert demo.onchain()["share_vaults"][0]["seed"] == 1000 * WAD
    assert load_params("default").share_vaults == ()
    doc = tomllib.loads((PARAMS_DIR / "demo.toml").read_text())
    for change, match in (({"asset": "USDC"}, "depth_usd must be > 0"), ({"decimals_offset": 1}, "above 18"),
                          ({"uid": 1}, "underlying's id"), ({"symbol": "WETH"}, "collateral's"),
                          ({"asset": "DAI"}, "unknown asset"), ({"yield": 0.1}, "unknown key")):
        bad = dict(doc, share_vaults=[{**doc["share_vaults"][0], **change}])
        with pytest.raises(ValueError, match=match):
            params_from_dict(bad)
    two = dict(doc, share_vaults=doc["share_vaults"] + [{**doc["share_vaults"][0], "symbol": "xETH", "uid": 12}])
    assert [v.uid for v in params_from_dict(two).share_vaults] == [10, 11, 12]   # netted: no matrix row, any number
    for change, match in (({"symbol": "xETH"}, "duplicate uids"), ({"uid": 12}, "duplicate symbols")):
        with pytest.raises(ValueError, match=match):
            params_from_dict(dict(doc, share_vaults=doc["share_vaults"] + [{**doc["share_vaults"][0], **change}]))


def test_vol_feeder_posts_no_share_id():
    from types import SimpleNamespace

    from crossmargin.bots.core import GasPolicy
    from crossmargin.bots.vol import VolConfig, VolFeeder

    f = VolFeeder(None, None, GasPolicy(), True, VolConfig())
    f.dep, f.targets = SimpleNamespace(params=load_params("demo")), {"ETH": 0.8, "BTC": 0.5}
    assert f._posted() == [("ETH", 1, 0.8), ("BTC", 2, 0.5)]   # stETH (uid 10) has no vol: netted into ETH's book
