"""Clearinghouse fixtures: a wired deployment (Vault + Markets + MockRiskEngine + Clearinghouse), makers and
takers with real secp256k1 keys (orders are signed with crossmargin.chain.orders, as bots and the CLI do),
and small factories: `make_order`, `sign`, `fill`, `trade`.

Instruments (listed in this order, so these are their ids):
    1 ETH-PERP, 2 ETH future (30 days), 3 ETH call 3000 (30 days), 4 ETH put 3000 (30 days), 5 BTC-PERP.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import boa
import pytest
from eth_account import Account
from eth_utils import keccak

from crossmargin.chain.orders import Order, sign_order

CONTRACTS = Path(__file__).resolve().parents[3] / "contracts"
WAD = 10**18
USDC = 10**6
DAY = 86_400
EXPIRY_DAYS = 30
ETH_PRICE = 3000 * WAD
BIG_CAP = 10**9 * WAD

# Deterministic keys: makers must sign, so their owners need private keys (boa's generated addresses have none).
MAKER_KEY = Account.from_key(keccak(text="crossmargin test maker"))
TAKER_KEY = Account.from_key(keccak(text="crossmargin test taker"))
OPERATOR_KEY = Account.from_key(keccak(text="crossmargin test operator"))
STRANGER_KEY = Account.from_key(keccak(text="crossmargin test stranger"))


@pytest.fixture(scope="session")
def clearinghouse_deployer():
    return boa.load_partial(str(CONTRACTS / "Clearinghouse.vy"))


@pytest.fixture(scope="session")
def mock_risk_deployer():
    return boa.load_partial(str(CONTRACTS / "mocks" / "MockRiskEngine.vy"))


@pytest.fixture
def risk(mock_risk_deployer):
    """MockRiskEngine: permissive until a test configures it."""
    return mock_risk_deployer.deploy()


@pytest.fixture
def inst(markets, admin):
    """List the five test instruments; returns their ids by name."""
    expiry = boa.env.timestamp + EXPIRY_DAYS * DAY
    with boa.env.prank(admin):
        ids = SimpleNamespace(
            perp=markets.list_perp(1, BIG_CAP, BIG_CAP),
            future=markets.list_future(1, expiry, BIG_CAP, BIG_CAP),
            call=markets.list_option(1, True, ETH_PRICE, expiry, BIG_CAP, BIG_CAP),
            put=markets.list_option(1, False, ETH_PRICE, expiry, BIG_CAP, BIG_CAP),
            btc_perp=markets.list_perp(2, BIG_CAP, BIG_CAP),
        )
    ids.expiry = expiry
    return ids


@pytest.fixture
def ch(clearinghouse_deployer, vault, markets, risk, inst, admin, guardian, risk_manager, roles):
    """The Clearinghouse, wired as deploy does: CLEARING_ROLE on Markets and the Vault; guardian and risk manager."""
    with boa.env.prank(admin):
        c = clearinghouse_deployer.deploy(vault.address, markets.address, risk.address)
        markets.grantRole(roles.CLEARING, c.address)
        vault.grantRole(roles.CLEARING, c.address)
        c.grantRole(roles.GUARDIAN, guardian)
        c.grantRole(roles.RISK_MANAGER, risk_manager)
    return c


@pytest.fixture(scope="session")
def keys():
    return SimpleNamespace(maker=MAKER_KEY, taker=TAKER_KEY, operator=OPERATOR_KEY, stranger=STRANGER_KEY)


@pytest.fixture
def new_account(open_account, deposit, usdc):
    """new_account(key, cash_usd=1_000_000, isolated_instrument=0) -> account id owned by `key.address`, funded."""

    def _new(key, cash_usd: int = 1_000_000, isolated_instrument: int = 0) -> int:
        acct = open_account(key.address, isolated_instrument)
        if cash_usd:
            deposit(key.address, acct, usdc, cash_usd * USDC)
        return acct

    return _new


@pytest.fixture
def maker_acct(new_account, ch):
    return new_account(MAKER_KEY)


@pytest.fixture
def taker_acct(new_account, ch):
    return new_account(TAKER_KEY)


@pytest.fixture
def make_order(maker_acct, inst):
    """make_order(**fields) -> Order; defaults: maker buys 10 ETH-PERP at 3,000, nonce 1, valid 1 h, no fee."""

    def _make(**fields) -> Order:
        base = dict(
            account=maker_acct,
            instrument=inst.perp,
            is_buy=True,
            size=10 * WAD,
            limit_price=ETH_PRICE,
            nonce=1,
            expiry=boa.env.timestamp + 3600,
            fee_rate=0,
        )
        base.update(fields)
        return Order(**base)

    return _make


@pytest.fixture
def sign(ch):
    """sign(order, key=MAKER_KEY, chain_id=current, contract=ch) -> 65-byte signature."""

    def _sign(order: Order, key=MAKER_KEY, chain_id: int | None = None, contract: str | None = None) -> bytes:
        chain_id = boa.env.evm.patch.chain_id if chain_id is None else chain_id
        return sign_order(key.key, order, chain_id, contract or ch.address)

    return _sign


@pytest.fixture
def fill(ch, sign, taker_acct):
    """fill(order, size=None, taker_account=taker_acct, sender=TAKER, signature=None) -> order hash."""

    def _fill(order: Order, size: int | None = None, taker_account: int | None = None, sender=None, signature=None):
        signature = sign(order) if signature is None else signature
        with boa.env.prank(sender or TAKER_KEY.address):
            return ch.fill(
                order.as_tuple(),
                signature,
                order.size if size is None else size,
                taker_acct if taker_account is None else taker_account,
            )

    return _fill


@pytest.fixture
def trade(ch, sign, vault):
    """trade(maker_acct, taker_acct, instrument, maker_size, price, nonce=None, fee_rate=0) -> order hash.

    `maker_size` is signed (> 0: the maker buys). Signs with the maker account owner's key (a known key) and
    sends from the taker account's owner.
    """
    owners = {k.address: k for k in (MAKER_KEY, TAKER_KEY, OPERATOR_KEY, STRANGER_KEY)}
    counter = iter(range(10**6, 10**9))

    def _trade(maker: int, taker: int, instrument: int, maker_size: int, price: int, nonce=None, fee_rate=0):
        order = Order(
            account=maker,
            instrument=instrument,
            is_buy=maker_size > 0,
            size=abs(maker_size),
            limit_price=price,
            nonce=next(counter) if nonce is None else nonce,
            expiry=boa.env.timestamp + 3600,
            fee_rate=fee_rate,
        )
        key = owners[vault.owner_of(maker)]
        with boa.env.prank(vault.owner_of(taker)):
            return ch.fill(order.as_tuple(), sign(order, key=key), order.size, taker)

    return _trade


@pytest.fixture
def refresh_feeds(eth_feed, btc_feed):
    """refresh_feeds(eth=None, btc=None): new rounds now (same answers unless given, in USD)."""

    def _refresh(eth: float | None = None, btc: float | None = None):
        eth_feed.set_answer(int(eth * 10**8) if eth is not None else eth_feed.latestRoundData()[1])
        btc_feed.set_answer(int(btc * 10**8) if btc is not None else btc_feed.latestRoundData()[1])

    return _refresh
