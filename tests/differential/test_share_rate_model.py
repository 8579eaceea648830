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
            v.asset.balanceOf(v.vault.address)
            v.vault.lose(v.asset.balanceOf(v.vault.address) * rng.randint(1, 15) // 100, sender=w.admin)
        elif op == "poke":
            w.router.update_share_rate(v.uid, sender=t.address)
        else:
            w.warp(rng.randint(60, 3 * 86_400))
            w.refresh()
        cfg = w.router.share_feed_of(v.uid)
        r0, t0 = cfg[6], cfg[7]
        live = m.live_rate(v.vault.convertToAssets(share_unit), decimals)
        assert w.router.share_rate(v.uid) == (live, *m.guarded_rate(live, r0, t0, w.now, cfg[4], cfg[5])[:1],
                                              m.guarded_rate(live, r0, t0, w.now, cfg[4], cfg[5])[1])
        asset_price, asset_status = w.router.price(v.asset_uid)
        assert tuple(w.router.price(v.uid)) == m.share_price(asset_price, asset_status, live, r0, t0, w.now,
                                                             cfg[4], cfg[5])
        checked += 1
    assert checked == 40
