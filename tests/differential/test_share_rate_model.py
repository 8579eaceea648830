"""Differential: the OracleRouter's ERC-4626 share feed (guarded rate, price, status) equals the model's
`crossmargin.model.share_rate` exactly, over random deposits, donations, losses, pokes and warps, for an 18-decimal
asset without offset and a 6-decimal asset with a 3-decimal virtual-share offset (issue 16)."""

from __future__ import annotations

import random

import pytest

from crossmargin.fuzz.shares import deposit_shares, list_share_vault
from crossmargin.fuzz.world import World
from crossmargin.model import share_rate as m

WAD = 10**18


@pytest.mark.parametrize("decimals,offset", [(18, 0), (6, 3)])
def test_share_rate_matches_model(decimals, offset):
    rng = random.Random(16 + decimals)
    w = World.revm(n_traders=2)
    token = None
    if decimals != 18:
        token = w.backend.deploy("mocks/MockERC20", "Mock sUSD", "sUSD", decimals)
    unit = 10**decimals
    v = list_share_vault(w, "vTKN", offset=offset, seed_assets=1000 * unit, asset_token=token)
    t = w.traders[1]
    share_unit = 10 ** (decimals + offset)
    assert v.vault.decimals() == decimals + offset
    checked = 0
    for step in range(40):
        op = rng.choice(["deposit", "donate", "lose", "poke", "warp", "warp"])
        if op == "deposit":
            deposit_shares(w, t, v, rng.randint(1, 500) * unit, into_margin=False)
        elif op == "donate":
            v.asset.mint(w.admin, rng.randint(1, 300) * unit, sender=w.admin)
            v.asset.transfer(v.vault.address, v.asset.balanceOf(w.admin), sender=w.admin)
        elif op == "lose":
            v.vault.lose(v.asset.balanceOf(v.vault.address) * rng.randint(1, 15) // 100, sender=w.admin)
        elif op == "poke":
            w.router.update_share_rate(v.uid, sender=t.address)
        else:
            w.warp(rng.randint(60, 3 * 86_400))
            w.refresh()
        cfg = w.router.share_feed_of(v.uid)
        r0, t0 = cfg[6], cfg[7]
        live = m.live_rate(v.vault.convertToAssets(share_unit), decimals)
        used, status = m.guarded_rate(live, r0, t0, w.now, cfg[4], cfg[5])
        assert tuple(w.router.share_rate(v.uid)) == (live, used, status)
        asset_price, asset_status = w.router.price(v.asset_uid)
        assert tuple(w.router.price(v.uid)) == m.share_price(asset_price, asset_status, live, r0, t0, w.now,
                                                             cfg[4], cfg[5])
        checked += 1
    assert checked == 40


def test_share_guard_model_rules():
    """The model's rules on their own: a pump ages in at max_rise_per_day, a fall is taken at once, a fall beyond
    max_drop is DEGRADED, a dead vault is STALE at 0; the [share_guard] table is checked."""
    from crossmargin.model.params import params_from_dict, load_params

    g = m.ShareGuard()
    rise, drop = g.max_rise_per_day_wad, g.max_drop_wad
    assert m.guarded_rate(2 * WAD, WAD, 0, 0, rise, drop) == (WAD, m.OK)                        # same-block pump
    assert m.guarded_rate(2 * WAD, WAD, 0, 10 * m.DAY, rise, drop) == (WAD + 10 * rise, m.OK)   # ages in
    assert m.guarded_rate(WAD * 97 // 100, WAD, 0, 5, rise, drop) == (WAD * 97 // 100, m.OK)    # fall at once
    assert m.guarded_rate(WAD * 90 // 100, WAD, 0, 5, rise, drop)[1] == m.DEGRADED
    assert m.guarded_rate(0, WAD, 0, 5, rise, drop) == (0, m.STALE)
    assert m.live_rate(1_000_000, 6) == WAD and m.live_rate(0, 18) == 0
    import tomllib

    from crossmargin.model.params import PARAMS_DIR

    assert load_params("default").share_guard == g
    with pytest.raises(ValueError, match="max_drop"):
        m.ShareGuard(max_drop=0)
    doc = tomllib.loads((PARAMS_DIR / "default.toml").read_text())
    doc["share_guard"] = {"max_rise_per_day": 0.002, "max_drop": 0.1}
    assert params_from_dict(doc).share_guard == m.ShareGuard(0.002, 0.1)
    doc["share_guard"] = {"max_rise": 0.1}
    with pytest.raises(ValueError, match="unknown key"):
        params_from_dict(doc)
