"""ERC-4626 share collateral on a `World` (issue 16), outside `World.build` so the fuzz world is unchanged.

    v = list_share_vault(world, "sETH", asset="WETH", uid=10)   # MockERC4626 of WETH priced as rate x ETH
    fresh(world, v)                                              # after a warp: fresh feeds and vols

The share id is a price id only (asset price x guarded rate): the token is listed in the Vault linked to it, and
the RiskEngine nets it into the asset's book (ETH for a vault of WETH: `set_collateral_risk` finds the asset through
`OracleRouter.share_asset`) with the asset collateral's haircuts; it needs no vol, no RiskEngine underlying and no
correlation row (TECH_SPEC "ERC-4626 shares netted into the asset's book"). A vault over the settlement asset
(`asset="USDC"`, a yield-bearing USDC vault) is priced rate x 1 USD (asset id SETTLEMENT_PRICE_ID) in no book, with
haircuts of its own (TECH_SPEC "Yield-bearing USDC vaults"). Every admin call goes through the Timelock in one
batch (one delay).
"""

from __future__ import annotations

from dataclasses import dataclass

from crossmargin.fuzz.world import CAP, World
from crossmargin.model.params import SETTLEMENT_PRICE_ID
from crossmargin.model.share_rate import ShareGuard, live_rate

WAD = 10**18


@dataclass
class ShareVault:
    symbol: str
    uid: int
    vault: object          # MockERC4626 (share token)
    asset: object          # its MockERC20 asset
    asset_symbol: str
    asset_uid: int
    guard: ShareGuard


def list_share_vault(w: World, symbol: str, asset: str = "WETH", uid: int = 10, offset: int = 0,
                     guard: ShareGuard | None = None, seed_assets: int = 0,
                     asset_token=None, before_execute=None, haircuts: tuple[int, int, int, int] | None = None
                     ) -> ShareVault:
    """Deploy a MockERC4626 of collateral `asset` (or of `asset_token`, a token priced at `asset`'s underlying),
    seed it with `seed_assets` (asset units, deposited by the admin: the listing needs a positive rate) and list
    it as collateral (`before_execute(vault)` runs once the Timelock delay has passed, before the listing is
    executed: a front-runner). Returns the handle.

    `asset` the settlement asset (USDC): a yield-bearing USDC vault, priced rate x 1 USD (asset id
    SETTLEMENT_PRICE_ID) in no book; `haircuts` (base_mm, base_im, slope, depth_usd; WAD) are then required (the
    settlement asset has none to lend it). Otherwise they default to the asset's."""
    guard = guard or w.params.share_guard
    o, a = w.params.onchain(), w.admin
    coll = next(c for c in o["collaterals"] if c["symbol"] == asset)
    if coll["is_settlement"]:
        if haircuts is None:
            raise ValueError(f"share vault {symbol} over the settlement asset {asset}: give its haircuts")
        asset_uid = SETTLEMENT_PRICE_ID
    else:
        asset_uid = next(u for u in o["underlyings"] if u["id"] == coll["underlying_id"])["id"]
    haircuts = haircuts or (coll["haircut_base_mm"], coll["haircut_base_im"], coll["haircut_slope"], coll["depth_usd"])
    token = asset_token or w.tokens[asset]
    vault = w.backend.deploy("mocks/MockERC4626", f"Vault {symbol}", symbol, token.address, offset)
    if seed_assets:
        token.mint(a, seed_assets, sender=a)
        token.approve(vault.address, seed_assets, sender=a)
        vault.deposit(seed_assets, a, sender=a)
    # the rate seen now (+1 %) bounds the accepted one: a pump between queue and execute is not accepted
    max_rate = max(1, live_rate(vault.convertToAssets(10 ** vault.decimals()), token.decimals())) * 101 // 100
    ops = [
        w.propose(w.router, "set_share_feed", uid, vault.address, asset_uid, guard.max_rise_per_day_wad,
                  guard.max_drop_wad, max_rate),
        w.propose(w.vault, "list_asset", vault.address, uid, CAP, False),
        w.propose(w.engine, "set_collateral_risk", vault.address, *haircuts),
    ]
    w.warp(int(w.timelock.delay()) + 1)
    w.refresh_all()
    if before_execute:
        before_execute(vault)
    for op in ops:
        w.execute(op)
    w.tokens[symbol] = vault
    return ShareVault(symbol, uid, vault, token, asset, asset_uid, guard)


def fresh(w: World, *vaults: ShareVault) -> None:
    """Fresh price rounds and vols at their last values (a share id has no vol of its own: kept for callers)."""
    w.refresh_all()


def deposit_shares(w: World, trader, v: ShareVault, assets: int, into_margin: bool = True) -> int:
    """Mint `assets` of the asset to the trader, deposit them into the ERC-4626 vault, and (by default) the shares
    into the trader's cross account. Returns the shares."""
    v.asset.mint(trader.address, assets, sender=w.admin)
    v.asset.approve(v.vault.address, assets, sender=trader.address)
    before = v.vault.balanceOf(trader.address)
    v.vault.deposit(assets, trader.address, sender=trader.address)
    shares = v.vault.balanceOf(trader.address) - before
    if into_margin and shares:
        v.vault.approve(w.vault.address, shares, sender=trader.address)
        w.vault.deposit(trader.account, v.vault.address, shares, sender=trader.address)
    return shares


def model_view(w: World, account: int, *vaults: ShareVault, secondary: bool = False):
    """The chain's view of `account` in the model's terms, read from the contracts: (params with each share token
    listed as its asset's collateral (`ShareVaultSpec.collateral`), the account (cash, collateral, positions, perp
    funding accrued), the oracle state: prices (the secondary feeds' where `secondary` and present), vols, crowding
    and deposit aggregates, each vault's guarded rate and liquidity for the Vault (`OracleRouter.share_state`)).
    What a differential test hands `crossmargin.model.margin` (`requirements`, `mark_value`)."""
    from crossmargin.model.params import Kind, ShareVaultSpec
    from crossmargin.model.portfolio import Account, MarketState, Position

    params = w.params
    for v in vaults:
        spec = ShareVaultSpec(v.symbol, v.asset_symbol, v.uid)
        params = params.replace(collaterals=params.collaterals + (spec.collateral(params),))
    spot, vol, crowding = {}, {}, {}
    for u in params.underlyings:
        primary, second, _ = w.router.prices(u.id)
        spot[u.symbol] = (second if secondary and second else primary) / WAD
        vol[u.symbol] = w.vol.vol(u.id)[0] / WAD
        crowding[u.symbol] = tuple(x / WAD for x in w.clearing.crowding(u.id))
    symbol_of = {t.address.lower(): s for s, t in w.tokens.items()}
    collateral, deposits = {}, {}
    for token, bal in zip(w.vault.assets(), w.vault.balances_of(account)):
        symbol = symbol_of[token.lower()]
        if bal and symbol != w.settlement:
            collateral[symbol] = bal / WAD
            deposits[symbol] = tuple(x / WAD for x in w.vault.deposits(token))
    shares = {}
    for v in vaults:
        rate, _, liquidity = w.router.share_state(v.uid, w.vault.address)
        shares[v.symbol] = (rate / WAD, liquidity / WAD)
    positions, funding = [], 0.0
    for inst, size, cost, snap in w.clearing.positions_of(account):
        spec = params.market(int(inst))
        positions.append(Position(spec, size / WAD, cost / WAD))
        if spec.kind is Kind.PERP:
            funding -= size * (w.markets.funding_index(inst) - snap) / WAD**2
    acct = Account(cash=w.vault.cash_of(account) / WAD, collateral=collateral, positions=tuple(positions),
                   funding=funding)
    state = MarketState(spot, vol, w.now, crowding=crowding, deposits=deposits, shares=shares)
    return params, acct, state
