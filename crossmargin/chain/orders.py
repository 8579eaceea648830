"""EIP-712 maker orders of the Clearinghouse: the one definition of the Order type for tests, bots and the CLI.

The contract (`contracts/Clearinghouse.vy`, struct in `contracts/interfaces/IClearinghouse.vyi`) verifies
`sign_order(...)` signatures over the domain {name "crossmargin", version "1", chainId, verifyingContract}, so an
order signed for one chain or one deployment cannot be replayed on another.

    order = Order(account=3, instrument=1, is_buy=True, size=10**18, limit_price=3000 * 10**18,
                  nonce=1, expiry=now + 3600, fee_rate=0)
    sig = sign_order(private_key, order, chain_id, clearinghouse_address)
    clearinghouse.fill(order.as_tuple(), sig, order.size, taker_account)

Units are the contract's: sizes and prices WAD (1e18), `fee_rate` a WAD fraction of notional, `expiry` unix seconds
(inclusive). `order_hash` is the EIP-712 digest the contract keys `filled(...)` by.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address

DOMAIN_NAME = "crossmargin"
DOMAIN_VERSION = "1"

# Field order and types exactly as in IClearinghouse.Order (the type hash depends on both).
ORDER_FIELDS: tuple[tuple[str, str], ...] = (
    ("account", "uint256"),
    ("instrument", "uint256"),
    ("is_buy", "bool"),
    ("size", "uint256"),
    ("limit_price", "uint256"),
    ("nonce", "uint256"),
    ("expiry", "uint256"),
    ("fee_rate", "uint256"),
)
ORDER_TYPE = "Order(" + ",".join(f"{t} {n}" for n, t in ORDER_FIELDS) + ")"
ORDER_TYPEHASH: bytes = keccak(text=ORDER_TYPE)

_EIP712_DOMAIN = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


@dataclass(frozen=True)
class Order:
    """A maker order (field order = the contract struct's; ints are WAD / seconds / ids)."""

    account: int
    instrument: int
    is_buy: bool
    size: int
    limit_price: int
    nonce: int
    expiry: int
    fee_rate: int = 0

    def __post_init__(self) -> None:
        for name, typ in ORDER_FIELDS:
            value = getattr(self, name)
            if typ == "bool":
                if not isinstance(value, bool):
                    raise TypeError(f"Order.{name} must be a bool, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**256:
                raise ValueError(f"Order.{name} must be a uint256, got {value!r}")

    def as_tuple(self) -> tuple:
        """The ABI tuple the contract's `fill(order, ...)` and `order_hash(order)` take."""
        return tuple(getattr(self, f.name) for f in fields(self))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def replace(self, **changes: Any) -> Order:
        return replace(self, **changes)


def domain(chain_id: int, clearinghouse: str) -> dict[str, Any]:
    """The EIP-712 domain of a Clearinghouse deployment."""
    return {
        "name": DOMAIN_NAME,
        "version": DOMAIN_VERSION,
        "chainId": int(chain_id),
        "verifyingContract": to_checksum_address(str(clearinghouse)),
    }


def typed_data(order: Order, chain_id: int, clearinghouse: str) -> dict[str, Any]:
    """The full EIP-712 message (what a wallet's `eth_signTypedData_v4` takes)."""
    return {
        "types": {
            "EIP712Domain": _EIP712_DOMAIN,
            "Order": [{"name": n, "type": t} for n, t in ORDER_FIELDS],
        },
        "primaryType": "Order",
        "domain": domain(chain_id, clearinghouse),
        "message": order.as_dict(),
    }


def order_hash(order: Order, chain_id: int, clearinghouse: str) -> bytes:
    """EIP-712 digest `keccak256(0x1901 || domainSeparator || hashStruct(order))` (= `Clearinghouse.order_hash`)."""
    signable = encode_typed_data(full_message=typed_data(order, chain_id, clearinghouse))
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign_order(private_key: bytes | str, order: Order, chain_id: int, clearinghouse: str) -> bytes:
    """65-byte signature (r || s || v, v in {27, 28}, low s) of `order` for the given deployment."""
    signable = encode_typed_data(full_message=typed_data(order, chain_id, clearinghouse))
    return bytes(Account.sign_message(signable, private_key).signature)


def recover_signer(order: Order, signature: bytes, chain_id: int, clearinghouse: str) -> str:
    """Checksummed address that signed `order` (what the contract checks against the account's owner/operators)."""
    signable = encode_typed_data(full_message=typed_data(order, chain_id, clearinghouse))
    return Account.recover_message(signable, signature=signature)
