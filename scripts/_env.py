"""Shared by the Ape scripts: the repository's node binaries on PATH (ape-foundry / ape-hardhat look for `anvil`
and `npx hardhat` there before connecting), and Ape's `--account` turned into our unattended signer spec."""

import os

from crossmargin.paths import NODE_BIN

if str(NODE_BIN) not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"


def account_spec(account) -> str | None:
    """Ape's `--account` value (a loaded account) as `ALIAS` / `TEST::i`; else CROSSMARGIN_ACCOUNT (None: the
    default signer: CROSSMARGIN_PRIVATE_KEY, or test account 0 on dev chains)."""
    if account is None:
        return os.environ.get("CROSSMARGIN_ACCOUNT") or None
    alias = getattr(account, "alias", None)
    if alias:
        return alias
    index = getattr(account, "index", None)
    return f"TEST::{index}" if index is not None else None
