"""EIP-712 signatures: domain (chain id + contract), signer = owner or approved operator, malformed signatures."""

import boa
from eth_utils import keccak

from crossmargin.chain.orders import ORDER_TYPEHASH, domain, order_hash, recover_signer, sign_order

from .conftest import MAKER_KEY, OPERATOR_KEY, STRANGER_KEY, WAD

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _domain_separator(chain_id: int, contract: str) -> bytes:
    from eth_abi import encode  # noqa: PLC0415

    type_hash = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    return keccak(encode(["bytes32", "bytes32", "bytes32", "uint256", "address"],
                         [type_hash, keccak(text="crossmargin"), keccak(text="1"), chain_id, contract]))


def test_domain_and_type_hash_match_python(ch, make_order):
    chain_id = boa.env.evm.patch.chain_id
    assert ch.ORDER_TYPEHASH() == ORDER_TYPEHASH
    assert ch.domain_separator() == _domain_separator(chain_id, ch.address)
    fields, name, version, cid, contract, _, _ = ch.eip712Domain()
    assert (name, version, cid, contract) == ("crossmargin", "1", chain_id, ch.address)
    assert domain(chain_id, ch.address)["verifyingContract"] == ch.address
    order = make_order(nonce=12345, is_buy=False, fee_rate=7)
    assert ch.order_hash(order.as_tuple()) == order_hash(order, chain_id, ch.address)
    assert recover_signer(order, sign_order(MAKER_KEY.key, order, chain_id, ch.address), chain_id, ch.address) == (
        MAKER_KEY.address
    )


def test_wrong_signer_reverts(make_order, fill, sign, errors):
    order = make_order()
    with boa.reverts(errors.BAD_SIGNATURE):
        fill(order, signature=sign(order, key=STRANGER_KEY))


def test_tampered_order_reverts(make_order, fill, sign, errors):
    signed = make_order(size=WAD)
    with boa.reverts(errors.BAD_SIGNATURE):
        fill(make_order(size=100 * WAD), signature=sign(signed))  # the size was changed after signing


def test_wrong_chain_id_reverts(make_order, fill, sign, errors):
    order = make_order()
    with boa.reverts(errors.BAD_SIGNATURE):
        fill(order, signature=sign(order, chain_id=boa.env.evm.patch.chain_id + 1))


def test_other_deployment_reverts(make_order, fill, sign, errors, vault):
    order = make_order()
    with boa.reverts(errors.BAD_SIGNATURE):
        fill(order, signature=sign(order, contract=vault.address))  # signed for another verifying contract


def test_chain_fork_rebuilds_domain(ch, make_order, fill, sign, errors):
    order = make_order()
    old_chain = boa.env.evm.patch.chain_id
    signature = sign(order)
    try:
        boa.env.evm.patch.chain_id = old_chain + 10
        with boa.reverts(errors.BAD_SIGNATURE):  # cached separator is not reused on the fork
            fill(order, signature=signature)
        fill(order, signature=sign(order, chain_id=old_chain + 10))
    finally:
        boa.env.evm.patch.chain_id = old_chain


def test_operator_may_sign_until_revoked(vault, make_order, fill, sign, errors):
    order = make_order(size=2 * WAD)
    with boa.env.prank(MAKER_KEY.address):
        vault.set_operator(OPERATOR_KEY.address, True)
    fill(order, size=WAD, signature=sign(order, key=OPERATOR_KEY))
    with boa.env.prank(MAKER_KEY.address):
        vault.set_operator(OPERATOR_KEY.address, False)
    with boa.reverts(errors.BAD_SIGNATURE):
        fill(order, size=WAD, signature=sign(order, key=OPERATOR_KEY))


def test_malformed_signatures_revert(make_order, fill, sign, errors):
    order = make_order()
    good = sign(order)
    r, s, v = good[:32], int.from_bytes(good[32:64], "big"), good[64]
    high_s = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])  # the malleable twin (EIP-2)
    for bad in [high_s, good[:64] + bytes([v - 27]), good[:64] + bytes([29]), good[:64], b""]:
        with boa.reverts(errors.BAD_SIGNATURE):
            fill(order, signature=bad)
    fill(order, signature=good)
