"""Connect to a chain the way every command does: an Ape network by name, a running local node, or an
embedded anvil started for the command and stopped after it.

`with connect(network=None) as s:` gives the provider, the signer and whether the chain is a dev chain
(mocks allowed). Signers (`crossmargin.chain.signers`): Ape test accounts on dev chains; otherwise an Ape keystore
alias (`--account`, unattended through Ape's `APE_ACCOUNTS_<alias>_PASSPHRASE`) or a raw key in
`CROSSMARGIN_PRIVATE_KEY`. The signer is resolved on first use, so read-only commands need no key.

Without `--network`: CROSSMARGIN_NETWORK, else ETH_RPC_URL, else the local node / embedded anvil.
"""

from __future__ import annotations

import os
import warnings
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Iterator

from crossmargin.chain.node import DEFAULT_CHAIN_ID, Anvil, NodeError, embedded_state_file, port_open

DEV_CHAIN_IDS = {31337, 31338, 1337}
LOCAL_NODE_PORT = 8545
KEY_ENV = "CROSSMARGIN_PRIVATE_KEY"
NETWORK_ENV = "CROSSMARGIN_NETWORK"
# The deployment file a command chose (`--deployment FILE`): sessions opened while it is set use it.
DEPLOYMENT_CHOICE: ContextVar = ContextVar("crossmargin_deployment", default=None)


@dataclass
class Session:
    provider: Any
    network_choice: str
    chain_id: int
    dev_chain: bool
    account: Any  # the --account value (resolved lazily), or a ready signer object
    confirmations: int
    deployment: str | None = None  # --deployment FILE (None: CROSSMARGIN_DEPLOYMENT or deployments/<chain_id>.json)
    _signer_obj: Any = None

    @property
    def web3(self):
        return self.provider.web3

    @property
    def signer(self):
        """The signing account, resolved on first use (read-only commands never ask for a key)."""
        if self._signer_obj is None:
            if self.account is not None and not isinstance(self.account, str):
                self._signer_obj = self.account
            else:
                self._signer_obj = _signer(self.account, self.chain_id in DEV_CHAIN_IDS)
        return self._signer_obj

    @property
    def rpc(self) -> str:
        """The node's JSON-RPC endpoint (recorded in the deployment file)."""
        return str(getattr(self.provider, "http_uri", None) or getattr(self.provider, "uri", None)
                   or getattr(self.provider.web3.provider, "endpoint_uri", "") or "")

    def tx_kwargs(self, signer=None) -> dict:
        kwargs = {"sender": signer or self.signer}
        if not self.dev_chain:
            kwargs["required_confirmations"] = self.confirmations
        return kwargs

    def test_account(self, index: int):
        """A funded dev-chain account (trader, keeper, ...); only on dev chains."""
        if not self.dev_chain:
            raise NodeError("test accounts exist only on dev chains: pass --account")
        from ape import accounts

        return accounts.test_accounts[index]


def _quiet_ape() -> None:
    warnings.filterwarnings("ignore")
    import logging

    from ape.logging import logger

    logger.set_level(os.environ.get("CROSSMARGIN_APE_LOG", "ERROR"))
    logging.getLogger("web3").setLevel(logging.ERROR)


def _signer(account: str | None, dev_chain: bool):
    """An Ape account that signs without prompting: TEST::i, a keystore alias (passphrase from the environment,
    or asked once on a terminal), CROSSMARGIN_PRIVATE_KEY, or test account 0 on dev chains."""
    from ape_accounts.accounts import ApeSigner

    from crossmargin.chain.signers import SignerError, resolve_key, test_key

    try:
        key = resolve_key(account, dev_chain)
    except SignerError as exc:
        raise NodeError(str(exc)) from None
    if key is None:
        if not dev_chain:
            raise NodeError(f"no signer: pass --account ALIAS (Ape keystore) or set {KEY_ENV}")
        key = test_key(0)
    return ApeSigner(private_key="0x" + key.hex())


def default_network() -> str | None:
    """--network when none was given: CROSSMARGIN_NETWORK, else ETH_RPC_URL (Foundry's convention)."""
    return os.environ.get(NETWORK_ENV) or os.environ.get("ETH_RPC_URL") or None


@contextmanager
def connect(
    network: str | None = None,
    account: str | None = None,
    confirmations: int = 1,
    mocks: bool | None = None,
    chain_id: int = DEFAULT_CHAIN_ID,
    deployment: str | None = None,
) -> Iterator[Session]:
    """Open a session. `network=None`: CROSSMARGIN_NETWORK / ETH_RPC_URL if set, else a node already listening on
    127.0.0.1:8545 (`crossmargin node`), else an embedded anvil whose chain persists in `.cache/anvil/`."""
    _quiet_ape()
    from ape import networks

    network = network or default_network()
    deployment = deployment or DEPLOYMENT_CHOICE.get()
    node = None
    settings: dict = {}
    choice = network
    if network is None:
        if port_open("127.0.0.1", LOCAL_NODE_PORT):
            uri = f"http://127.0.0.1:{LOCAL_NODE_PORT}"
        else:
            node = Anvil(chain_id=chain_id, state_file=embedded_state_file(chain_id)).start()
            uri = node.uri
        choice, settings = "ethereum:local:foundry", {"host": uri}
    try:
        try:
            ctx = networks.parse_network_choice(choice, provider_settings=settings)
            provider = ctx.__enter__()
        except Exception as exc:  # Ape raises many types for unknown names / unreachable nodes
            first = str(exc).splitlines()[0].split(" Options:")[0] if str(exc) else type(exc).__name__
            raise NodeError(f"cannot connect to network {choice!r}: {first}") from None
        try:
            cid = provider.chain_id
            dev = mocks if mocks is not None else (cid in DEV_CHAIN_IDS)
            yield Session(provider, choice, cid, dev, account, confirmations, deployment)
        finally:
            ctx.__exit__(None, None, None)
    finally:
        if node is not None:
            node.stop()
