"""Shared titanoboa fixtures for the unit tests: small factories, one place for addresses and errors.

Every test gets fresh deployments (deploying on py-evm costs milliseconds); compiled
contracts are cached per session. Revert reasons are read from `contracts/lib/errors.vy`,
never retyped: `with boa.reverts(errors.ZERO_AMOUNT): ...`.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import boa
import pytest
from eth_utils import keccak

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
WAD = 10**18
RAY = 10**27
MAX_UINT256 = 2**256 - 1
DEFAULT_CAP_WAD = 10**12 * WAD  # a trillion units: caps never bind unless a test sets them

_ERROR_LINE = re.compile(r'^([A-Z][A-Z0-9_]*):\s*constant\(String\[\d+\]\)\s*=\s*"([^"]*)"', re.MULTILINE)


def load_errors(path: Path = CONTRACTS / "lib" / "errors.vy") -> dict[str, str]:
    """Parse `NAME: constant(String[n]) = "reason"` lines of errors.vy into {NAME: reason}."""
    return dict(_ERROR_LINE.findall(path.read_text()))


class _Errors(SimpleNamespace):
    """Attribute access to revert reasons; an unknown name fails loudly instead of matching nothing."""

    def __getattr__(self, name: str) -> str:
        raise AttributeError(f"{name} is not declared in contracts/lib/errors.vy")


ERRORS = _Errors(**load_errors())


def role_id(name: str) -> bytes:
    """Role ids are keccak256 of the role's name (contracts/lib/constants.vy)."""
    return keccak(text=name)


# ---------------------------------------------------------------- session: compiled contracts


@pytest.fixture(autouse=True)
def _fresh_storage_traces():
    """Work around a titanoboa 0.2.8 crash on revert: boa's test plugin rolls every test back, so
    later tests deploy other contracts at the same addresses, but the sstore/sha3 traces it uses to
    print a contract's storage in a revert message are never cleared; decoding another layout's
    slots then raises `AttributeError: 'StructT' object has no attribute 'key_type'` instead of
    the revert. Start each test with empty traces (they only feed that printout)."""
    boa.env.sstore_trace = {}
    boa.env.sha3_trace = {}
    yield


@pytest.fixture(scope="session")
def errors():
    return ERRORS


@pytest.fixture(scope="session")
def vault_deployer():
    return boa.load_partial(str(CONTRACTS / "Vault.vy"))


@pytest.fixture(scope="session")
def router_deployer():
    return boa.load_partial(str(CONTRACTS / "OracleRouter.vy"))


@pytest.fixture(scope="session")
def vol_oracle_deployer():
    return boa.load_partial(str(CONTRACTS / "VolOracle.vy"))


@pytest.fixture(scope="session")
def token_deployer():
    return boa.load_partial(str(CONTRACTS / "mocks" / "MockERC20.vy"))


@pytest.fixture(scope="session")
def fee_token_deployer():
    return boa.load_partial(str(CONTRACTS / "mocks" / "MockFeeERC20.vy"))


@pytest.fixture(scope="session")
def aggregator_deployer():
    return boa.load_partial(str(CONTRACTS / "mocks" / "MockAggregator.vy"))


@pytest.fixture(scope="session")
def checker_deployer():
    return boa.load_partial(str(CONTRACTS / "mocks" / "MockMarginChecker.vy"))


@pytest.fixture(scope="session")
def roles():
    return SimpleNamespace(
        ADMIN=b"\x00" * 32,
        RISK_MANAGER=role_id("RISK_MANAGER_ROLE"),
        GUARDIAN=role_id("GUARDIAN_ROLE"),
        FEEDER=role_id("FEEDER_ROLE"),
        CLEARING=role_id("CLEARING_ROLE"),
    )


# ---------------------------------------------------------------- addresses


@pytest.fixture(scope="session")
def admin():
    return boa.env.eoa


@pytest.fixture(scope="session")
def alice():
    return boa.env.generate_address("alice")


@pytest.fixture(scope="session")
def bob():
    return boa.env.generate_address("bob")


@pytest.fixture(scope="session")
def carol():
    return boa.env.generate_address("carol")


@pytest.fixture(scope="session")
def guardian():
    return boa.env.generate_address("guardian")


@pytest.fixture(scope="session")
def clearing():
    return boa.env.generate_address("clearing")


@pytest.fixture(scope="session")
def feeder():
    return boa.env.generate_address("feeder")


# ---------------------------------------------------------------- tokens


@pytest.fixture
def make_token(token_deployer, fee_token_deployer):
    """make_token(decimals, symbol=None, fee_bps=None) -> a mock ERC20 (fee-on-transfer if fee_bps is set)."""

    def _make(decimals: int, symbol: str | None = None, fee_bps: int | None = None):
        symbol = symbol or f"T{decimals}"
        if fee_bps is not None:
            return fee_token_deployer.deploy(f"Fee {symbol}", symbol, decimals, fee_bps)
        return token_deployer.deploy(f"Mock {symbol}", symbol, decimals)

    return _make


@pytest.fixture
def usdc(make_token):
    return make_token(6, "USDC")


@pytest.fixture
def wbtc(make_token):
    return make_token(8, "WBTC")


@pytest.fixture
def weth(make_token):
    return make_token(18, "WETH")


# ---------------------------------------------------------------- vault


@pytest.fixture
def bare_vault(vault_deployer, admin):
    """A Vault with no assets listed and no roles granted beyond the deployer's admin."""
    with boa.env.prank(admin):
        return vault_deployer.deploy()


@pytest.fixture
def vault(bare_vault, admin, guardian, clearing, usdc, weth, wbtc, roles):
    """Vault with USDC (settlement, 6 dec), WETH (underlying 1, 18 dec), WBTC (underlying 2, 8 dec)."""
    with boa.env.prank(admin):
        bare_vault.grantRole(roles.GUARDIAN, guardian)
        bare_vault.grantRole(roles.CLEARING, clearing)
        bare_vault.list_asset(usdc.address, 0, DEFAULT_CAP_WAD, True)
        bare_vault.list_asset(weth.address, 1, DEFAULT_CAP_WAD, False)
        bare_vault.list_asset(wbtc.address, 2, DEFAULT_CAP_WAD, False)
    return bare_vault


@pytest.fixture
def fund():
    """fund(token, user, amount, spender): mint `amount` to `user` and approve `spender` for everything."""

    def _fund(token, user, amount, spender):
        token.mint(user, amount)
        with boa.env.prank(user):
            token.approve(spender.address, MAX_UINT256)

    return _fund


@pytest.fixture
def open_account(vault):
    """open_account(user, isolated_instrument=0) -> new account id owned by `user`."""

    def _open(user, isolated_instrument: int = 0) -> int:
        with boa.env.prank(user):
            return vault.open_account(isolated_instrument)

    return _open


@pytest.fixture
def deposit(vault, fund):
    """deposit(user, account_id, token, amount): mint, approve and deposit `amount` (token decimals)."""

    def _deposit(user, account_id, token, amount):
        fund(token, user, amount, vault)
        with boa.env.prank(user):
            vault.deposit(account_id, token.address, amount)

    return _deposit


@pytest.fixture
def checker(checker_deployer, vault, admin):
    """A MockMarginChecker wired into the vault."""
    c = checker_deployer.deploy(vault.address)
    with boa.env.prank(admin):
        vault.set_margin_checker(c.address)
    return c


# ---------------------------------------------------------------- oracles


@pytest.fixture
def make_feed(aggregator_deployer):
    """make_feed(decimals=8, answer=2000 * 10**8) -> MockAggregator with round 1 at now."""

    def _make(decimals: int = 8, answer: int = 2000 * 10**8):
        return aggregator_deployer.deploy(decimals, answer)

    return _make


@pytest.fixture
def router(router_deployer, admin):
    with boa.env.prank(admin):
        return router_deployer.deploy()


@pytest.fixture
def vol_oracle(vol_oracle_deployer, admin, feeder, roles):
    with boa.env.prank(admin):
        oracle = vol_oracle_deployer.deploy()
        oracle.grantRole(roles.FEEDER, feeder)
    return oracle


# ---------------------------------------------------------------- events


@pytest.fixture(scope="session")
def last_event():
    """last_event(contract, "Name") -> the last `Name` log of the contract's last transaction."""

    def _last(contract, name: str):
        logs = [log for log in contract.get_logs() if type(log).__name__ == name]
        assert logs, f"no {name} event in the last transaction"
        return logs[-1]

    return _last


# ---------------------------------------------------------------- markets (shared by tests/unit/markets and /clearinghouse)


@pytest.fixture(scope="session")
def markets_deployer():
    return boa.load_partial(str(CONTRACTS / "Markets.vy"))


@pytest.fixture(scope="session")
def risk_manager():
    return boa.env.generate_address("risk_manager")


@pytest.fixture
def eth_feed(make_feed):
    """ETH (underlying 1) primary feed at 3,000 USD, 8 decimals."""
    return make_feed(8, 3000 * 10**8)


@pytest.fixture
def btc_feed(make_feed):
    """BTC (underlying 2) primary feed at 60,000 USD, 8 decimals."""
    return make_feed(8, 60_000 * 10**8)


@pytest.fixture
def priced_router(router, admin, eth_feed, btc_feed):
    """OracleRouter with ETH (1) and BTC (2) primary feeds, one-day heartbeats, no secondary."""
    zero = "0x" + "00" * 20
    with boa.env.prank(admin):
        router.set_feed(1, eth_feed.address, zero, 86_400, 0, 0)
        router.set_feed(2, btc_feed.address, zero, 86_400, 0, 0)
    return router


@pytest.fixture
def markets(markets_deployer, priced_router, admin, risk_manager, roles):
    """Markets on `priced_router`, nothing listed; `risk_manager` holds RISK_MANAGER_ROLE."""
    with boa.env.prank(admin):
        m = markets_deployer.deploy(priced_router.address)
        m.grantRole(roles.RISK_MANAGER, risk_manager)
    return m
