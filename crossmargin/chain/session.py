"""Connect to a chain the way every command does: an Ape network by name, a running local node, or an
embedded anvil started for the command and stopped after it.

`with connect(network=None) as s:` gives the provider, the signer and whether the chain is a dev chain
(mocks allowed). Signers: Ape test accounts on dev chains; otherwise an Ape keystore alias (`--account`,
unattended through Ape's `APE_ACCOUNTS_<alias>_PASSPHRASE`) or a raw key in `CROSSMARGIN_PRIVATE_KEY`.
"""

from __future__ import annotations

import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from crossmargin.chain.node import DEFAULT_CHAIN_ID, Anvil, NodeError, embedded_state_file, port_open

DEV_CHAIN_IDS = {31337, 31338, 1337}
LOCAL_NODE_PORT = 8545
KEY_ENV = "CROSSMARGIN_PRIVATE_KEY"


@dataclass
class Session:
    provider: Any
    network_choice: str
    chain_id: int
    dev_chain: bool
    signer: Any
    confirmations: int

    @property
    def web3(self):
        return self.provider.web3

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
    from ape import accounts

    if account:
        if account.startswith("TEST::"):
            return accounts.test_accounts[int(account.split("::")[1])]
        return accounts.load(account)
    if os.environ.get(KEY_ENV):
        from ape_accounts.accounts import ApeSigner

        return ApeSigner(private_key=os.environ[KEY_ENV])
    if dev_chain:
        return accounts.test_accounts[0]
    raise NodeError(f"no signer: pass --account ALIAS (Ape keystore) or set {KEY_ENV}")


@contextmanager
def connect(
    network: str | None = None,
    account: str | None = None,
    confirmations: int = 1,
    mocks: bool | None = None,
    chain_id: int = DEFAULT_CHAIN_ID,
) -> Iterator[Session]:
    """Open a session. `network=None`: a node already listening on 127.0.0.1:8545 (`crossmargin node`),
    else an embedded anvil whose chain persists in `.cache/anvil/` between commands."""
    _quiet_ape()
    from ape import networks

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
            yield Session(provider, choice, cid, dev, _signer(account, cid in DEV_CHAIN_IDS), confirmations)
        finally:
            ctx.__exit__(None, None, None)
    finally:
        if node is not None:
            node.stop()
