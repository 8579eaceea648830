"""Vault shares sold below their value because the vault's liquidity dried up (issue 16, the liquidity term, seen
from the auction).

The RiskEngine caps an ERC-4626 share token's depth at LIQUIDITY_DEPTH_FACTOR x liquidity x P (liquidity: the
vault's `maxRedeem` for the protocol Vault) and values the shares 0 when `maxRedeem` reverts (paused): the MM haircut
grows as redemptions gate. An auction sells the portfolio on its mark value V = E_mm + penalty + the MM haircuts the
engine took. Before the fix, Liquidation recomputed those haircuts with the configured depth and no zero rule, so it
added back less than the engine took off: V was understated by exactly the liquidity part of the haircut.

Who profits: the bidder. A vault's redemption queue filling up (or a lending vault whose idle cash a borrower takes)
is enough: (1) gated to 0.2 % redeemable, a 300k sETH holding was quoted at V = 150k, and the keeper took the
portfolio at half its mark value; (2) paused, an account worth +276k (sETH 300k, a BTC long 24k under water) had
V = -8.5k: the insolvent path, where the insurance fund *paid* the bidder ~9k to take 300k of shares.

Defence (TECH_SPEC "Liquidation", value V): `Liquidation._haircuts` reads the share state the engine reads
(`OracleRouter.share_state`) and applies the same cap, rounding and zero rule, so V = cash + Σ bal·P + positions
exactly: liquidity is a haircut (whether an account is liquidatable, how much a bidder's IM counts), never the price
it is sold at. A vault whose rate is unusable still counts 0 (no price: test_share_vault_reverts_mid_auction.py).
"""

from __future__ import annotations

from crossmargin.fuzz.shares import model_view
from crossmargin.model.margin import mark_value
from tests.e2e.helpers import WAD, health, share_margined, value

TOL = 1e-9   # chain (WAD integers) vs model (floats), relative


def _model_value(w, account, v) -> float:
    params, acct, state = model_view(w, account, v)
    return mark_value(acct, state, params)


def _close(chain_wad: int, model: float) -> bool:
    return abs(chain_wad / WAD - model) <= TOL * max(abs(model), 1.0)


def test_gated_redemptions_do_not_cheapen_the_auction(world):
    w = world
    maker, victim, keeper, v, shares = share_margined(w)               # 100 sETH ~ 300k
    w.trade(maker, victim, "ETH-PERP", -450 * WAD, 3000 * WAD)        # long 450 ETH, margined by the shares
    assert health(w, victim.account) > 0

    v.vault.set_redeem_cap(shares // 500, sender=keeper.address)     # the redemption queue fills: 0.2 % redeemable
    assert health(w, victim.account) < 0, "the liquidity haircut makes the account liquidatable"
    w.liquidation.start_auction(victim.account, keeper.account, sender=keeper.address)

    want = _model_value(w, victim.account, v)                         # 100 sETH x 3000 + the perp at par - flag fee
    got = value(w, victim.account)
    print(f"\nmaxRedeem 0.2 % of the holding: V on chain {got / WAD:,.2f} USD, model (bal x P, no haircut) "
          f"{want:,.2f} USD: understated by {want - got / WAD:,.2f} USD")
    assert _close(got, want), "V is the mark value whatever the vault's liquidity"

    payment, cap = w.liquidation.quote(victim.account, WAD)
    d = w.liquidation.discount(victim.account)
    paid = w.liquidation.bid(victim.account, keeper.account, cap, payment, sender=keeper.address)
    fair = cap / WAD * want * (1 - d / WAD)
    print(f"bid of {cap / WAD:.4f} at d = {d / WAD:.2%}: paid {paid / WAD:,.2f} USD, f·V·(1 - d) on the model's V "
          f"{fair:,.2f} USD")
    assert paid == payment and abs(paid / WAD - fair) <= TOL * fair, "the account is paid f·V·(1 - d) on the mark"


def test_paused_vault_does_not_make_a_solvent_account_insolvent(world):
    w = world
    maker, victim, keeper, v, _ = share_margined(w)                    # 100 sETH ~ 300k
    btc = w.prices["BTC"][0]
    w.trade(maker, victim, "BTC-PERP", -2 * WAD, btc)                 # long 2 BTC ...
    w.set_price("BTC", btc * 80 // 100)                               # ... 24k under water
    w.refresh()
    assert health(w, victim.account) > 0

    v.vault.set_mode(3, sender=keeper.address)                       # maxRedeem reverts: the shares count 0 for margin
    assert health(w, victim.account) < 0
    w.liquidation.start_auction(victim.account, keeper.account, sender=keeper.address)
    want = _model_value(w, victim.account, v)
    got = value(w, victim.account)
    print(f"\nvault paused: V on chain {got / WAD:,.2f} USD, model {want:,.2f} USD: understated by "
          f"{want - got / WAD:,.2f} USD")
    assert want > 250_000, "the portfolio is worth its shares less the BTC loss"
    assert _close(got, want), "a paused vault's shares keep their mark value in V"

    fund_before = w.vault.cash_of(1)
    payment, cap = w.liquidation.quote(victim.account, WAD)
    paid = w.liquidation.bid(victim.account, keeper.account, cap, payment, sender=keeper.address)
    print(f"bid of {cap / WAD:.4f}: the keeper paid {paid / WAD:,.2f} USD; the fund's cash moved by "
          f"{(w.vault.cash_of(1) - fund_before) / WAD:+,.2f} USD")
    assert paid > 0, "a solvent sale: the bidder pays for the shares"
    assert w.vault.cash_of(1) >= fund_before, "the insurance fund pays nothing (it earns its fee)"
