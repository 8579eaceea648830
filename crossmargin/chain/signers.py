"""Keys, one way for every command and bot: `--account TEST::i` (dev chains), `--account ALIAS` (an Ape keystore,
unlocked unattended with APE_ACCOUNTS_<alias>_PASSPHRASE, or asked once on a terminal), or CROSSMARGIN_PRIVATE_KEY.

Nothing here prompts "Sign: [y/N]" or prints a transaction: a key is decrypted once and signs without asking.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

KEY_ENV = "CROSSMARGIN_PRIVATE_KEY"
DEV_ACCOUNTS = 20  # anvil (and our Anvil) fund 20 accounts of the test mnemonic
TEST_MNEMONIC = "test test test test test test test test test test test junk"


class SignerError(ValueError):
    """A signer that cannot be used: one line for the user."""


def passphrase_env(alias: str) -> str:
    return f"APE_ACCOUNTS_{alias}_PASSPHRASE"


def test_index(spec: str) -> int:
    """`TEST::3` -> 3 (a dev chain's funded account)."""
    text = spec.split("::", 1)[1] if "::" in spec else ""
    if not text.isdigit() or int(text) >= DEV_ACCOUNTS:
        raise SignerError(f"--account {spec}: TEST::i takes an index 0..{DEV_ACCOUNTS - 1} "
                          "(the dev chain's funded test accounts)")
    return int(text)


def is_test(spec: str | None) -> bool:
    return bool(spec) and spec.upper().startswith("TEST::")


def test_key(index: int) -> bytes:
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    return bytes(Account.from_mnemonic(TEST_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}").key)


def keystore_dir() -> Path:
    from ape import config

    return Path(config.DATA_FOLDER) / "accounts"


def keystore_key(alias: str) -> bytes:
    """Decrypt Ape keystore `alias` with its passphrase from the environment, else (on a terminal only) ask once."""
    from eth_account import Account

    path = keystore_dir() / f"{alias}.json"
    if not path.exists():
        raise SignerError(f"no Ape account {alias!r} ({path}): create one with `ape accounts generate {alias}` "
                          f"or `ape accounts import {alias}`")
    env = passphrase_env(alias)
    passphrase = os.environ.get(env)
    if passphrase is None:
        if not sys.stdin.isatty():
            raise SignerError(f"account {alias!r} is locked: set {env} (no terminal to ask the passphrase on)")
        import click

        passphrase = click.prompt(f"passphrase for {alias!r}", hide_input=True, err=True)
    try:
        return bytes(Account.decrypt(json.loads(path.read_text()), passphrase))
    except ValueError as exc:
        if "MAC mismatch" in str(exc) or "passphrase" in str(exc).lower():
            raise SignerError(f"wrong passphrase for Ape account {alias!r} ({env})") from None
        raise SignerError(f"{path} is not a keystore file: {str(exc).splitlines()[0]}") from None


def env_key() -> bytes | None:
    text = os.environ.get(KEY_ENV)
    if not text:
        return None
    raw = text.strip().removeprefix("0x")
    try:
        key = bytes.fromhex(raw)
    except ValueError:
        key = b""
    if len(key) != 32 or int.from_bytes(key, "big") == 0:
        raise SignerError(f"{KEY_ENV} is not a private key (expected 64 hex digits)")
    return key


def resolve_key(account: str | None, dev_chain: bool) -> bytes | None:
    """The signing key for `--account` / the environment; None: no signer chosen."""
    if account:
        if is_test(account):
            index = test_index(account)
            if not dev_chain:
                raise SignerError(f"--account {account}: test accounts exist only on dev chains")
            return test_key(index)
        return keystore_key(account)
    return env_key()
