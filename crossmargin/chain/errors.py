"""Revert reasons: read from `contracts/lib/errors.vy`, the one place they are written.

`reason_name("cap exceeded") == "CAP_EXCEEDED"`; `explain(exc)` turns any chain exception into one line.
"""

from __future__ import annotations

import re
from functools import lru_cache

from crossmargin.paths import CONTRACTS

_CONST = re.compile(r'^(\w+)\s*:\s*constant\(String\[\d+\]\)\s*=\s*"([^"]*)"', re.M)


@lru_cache(maxsize=1)
def reasons() -> dict[str, str]:
    """NAME -> revert string, exactly as the contracts use them."""
    return dict(_CONST.findall((CONTRACTS / "lib" / "errors.vy").read_text()))


def reason_name(message: str) -> str | None:
    for name, text in reasons().items():
        if text == message:
            return name
    return None


def revert_reason(exc: BaseException) -> str | None:
    """The contract's revert string inside any Ape/web3/boa exception, if there is one."""
    for attr in ("revert_message", "message"):
        value = getattr(exc, attr, None)
        if isinstance(value, str) and value in reasons().values():
            return value
    text = str(exc)
    for value in sorted(reasons().values(), key=len, reverse=True):
        if value and value in text:
            return value
    return None


def explain(exc: BaseException) -> str:
    """One readable line for a user."""
    reason = revert_reason(exc)
    if reason:
        return f"transaction reverted: {reason}"
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__
