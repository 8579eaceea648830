# pragma version ~=0.4.3
"""
@title InvariantProbe
@notice Test-only view: the sums behind the liquidation machine's global invariants in one static call, so the
        fuzzer checks them after every step without decoding every account's state in Python.
@dev Not deployed by `crossmargin deploy`; the fuzz world deploys it next to the protocol.
"""

# dev: copies of the protocol's view layouts (this file lives outside contracts/, so no relative imports)
struct Position:
    instrument: uint256
    size: int256
    cost: int256
    funding_snapshot: int256


struct AssetInfo:
    decimals: uint8
    underlying_id: uint256
    cap_wad: uint256
    total_wad: uint256
    is_settlement: bool
    listed: bool


interface IVault:
    def cash_of(_id: uint256) -> int256: view
    def assets() -> DynArray[address, 16]: view
    def balances_of(_id: uint256) -> DynArray[uint256, 16]: view
    def asset_info(_token: address) -> AssetInfo: view


interface IPositions:
    def positions_of(_account: uint256) -> DynArray[Position, 32]: view
    def open_interest(_instrument: uint256) -> uint256: view


interface IERC20:
    def balanceOf(_owner: address) -> uint256: view


# @dev The sums (WAD unless stated).
struct Totals:
    value: int256                          # Σ (cash - cost)·WAD + Σ size·funding_snapshot (WAD²): W·WAD
    positive_cash: uint256                 # Σ max(cash, 0)
    debt: uint256                          # Σ max(-cash, 0)
    net_size: DynArray[int256, 32]         # per instrument: Σ size
    long_size: DynArray[uint256, 32]       # per instrument: Σ max(size, 0)
    open_interest: DynArray[uint256, 32]   # per instrument: Clearinghouse.open_interest
    balances: DynArray[uint256, 16]        # per asset: Σ collateral balance over the accounts
    total_wad: DynArray[uint256, 16]       # per asset: Vault total_wad
    held_wad: DynArray[uint256, 16]        # per asset: token.balanceOf(vault) · 10**(18 - decimals)


@external
@view
def totals(
    _vault: address, _positions: address, _accounts: DynArray[uint256, 64], _instruments: uint256
) -> Totals:
    """
    @notice The sums over `_accounts` (pass every open account, the insurance fund and fee account included).
    @param _vault Vault.
    @param _positions Clearinghouse.
    @param _accounts Account ids.
    @param _instruments Instrument ids 1.._instruments are summed (at most 32).
    @return The sums.
    """
    return self._totals(_vault, _positions, _accounts, _instruments)


@internal
@view
def _totals(
    _vault: address, _positions: address, _accounts: DynArray[uint256, 64], _instruments: uint256
) -> Totals:
    t: Totals = empty(Totals)
    for i: uint256 in range(_instruments, bound=32):
        t.net_size.append(0)
        t.long_size.append(0)
        t.open_interest.append(staticcall IPositions(_positions).open_interest(i + 1))
    tokens: DynArray[address, 16] = staticcall IVault(_vault).assets()
    for token: address in tokens:
        info: AssetInfo = staticcall IVault(_vault).asset_info(token)
        t.balances.append(0)
        t.total_wad.append(info.total_wad)
        t.held_wad.append(staticcall IERC20(token).balanceOf(_vault) * 10 ** convert(18 - info.decimals, uint256))
    for account: uint256 in _accounts:
        cash: int256 = staticcall IVault(_vault).cash_of(account)
        t.value += cash * 10**18
        if cash > 0:
            t.positive_cash += convert(cash, uint256)
        else:
            t.debt += convert(-cash, uint256)
        balances: DynArray[uint256, 16] = staticcall IVault(_vault).balances_of(account)
        for k: uint256 in range(len(balances), bound=16):
            t.balances[k] += balances[k]
        for pos: Position in staticcall IPositions(_positions).positions_of(account):
            t.value += pos.size * pos.funding_snapshot - pos.cost * 10**18
            if pos.instrument >= 1 and pos.instrument <= _instruments:
                t.net_size[pos.instrument - 1] += pos.size
                if pos.size > 0:
                    t.long_size[pos.instrument - 1] += convert(pos.size, uint256)
    return t


@external
@view
def check(
    _vault: address, _positions: address, _accounts: DynArray[uint256, 64], _instruments: uint256, _settlement: uint256
) -> (int256, bool, bool):
    """
    @notice The global invariants in four words: (total·WAD - W·WAD of the settlement asset, every token's vault
            balance == its total and every collateral's Σ balances == its total, Σ size == 0 and open interest ==
            Σ long sizes for every instrument).
    @param _vault Vault.
    @param _positions Clearinghouse.
    @param _accounts Account ids (all of them).
    @param _instruments Instruments 1.._instruments.
    @param _settlement Index of the settlement asset in `Vault.assets()`.
    @return (leak, conservation ok, zero sum ok).
    """
    t: Totals = self._totals(_vault, _positions, _accounts, _instruments)
    tokens_ok: bool = True
    for k: uint256 in range(len(t.total_wad), bound=16):
        if t.held_wad[k] != t.total_wad[k] or (k != _settlement and t.balances[k] != t.total_wad[k]):
            tokens_ok = False
    zero_ok: bool = True
    for i: uint256 in range(len(t.net_size), bound=32):
        if t.net_size[i] != 0 or t.long_size[i] != t.open_interest[i]:
            zero_ok = False
    return convert(t.total_wad[_settlement], int256) * 10**18 - t.value, tokens_ok, zero_ok
