"""Governance calldata (crossmargin.chain.governance): what the CLI and World queue on the Timelock is exactly what
the contract's own ABI encodes, and a queued call reads back as `Contract.function(args)`."""

from __future__ import annotations

import pytest
from eth_abi import decode
from eth_utils import keccak

from crossmargin.chain.artifacts import artifact
from crossmargin.chain.governance import Operation, calldata, describe, selector

WAD = 10**18
TARGET = "0x" + "ab" * 20


def test_calldata_is_selector_plus_abi_arguments():
    abi = artifact("Markets").abi
    data = calldata(abi, "set_caps", 3, 10 * WAD, 5 * WAD)
    assert data[:4] == keccak(text="set_caps(uint256,uint256,uint256)")[:4] == selector(abi, "set_caps")
    assert decode(["uint256", "uint256", "uint256"], data[4:]) == (3, 10 * WAD, 5 * WAD)


def test_struct_and_nested_array_arguments_encode():
    engine = artifact("RiskEngine").abi
    params = tuple(range(1, 15))   # RiskParams: 14 fields (basis_vol last, issue 12)
    data = calldata(engine, "set_risk_params", params)
    assert len(data) == 4 + 14 * 32
    matrix = [[WAD, WAD // 2], [WAD // 2, WAD]]
    data = calldata(engine, "set_correlation", [1, 2], matrix)
    assert decode(["uint256[]", "int256[][]"], data[4:]) == ((1, 2), ((WAD, WAD // 2), (WAD // 2, WAD)))


def test_unknown_function_is_an_error():
    with pytest.raises(ValueError, match="no function nope"):
        calldata(artifact("Markets").abi, "nope", 1)


def test_describe_names_the_call():
    abi = artifact("Markets").abi
    data = calldata(abi, "set_caps", 3, 10, 5)
    assert describe({TARGET: ("Markets", abi)}, TARGET, data) == "Markets.set_caps(3, 10, 5)"
    assert describe({}, TARGET, data).startswith(TARGET + " 0x")


def test_operation_window():
    op = Operation(1, TARGET, b"", eta=1000, state="queued")
    assert not op.ready(999, 100) and op.ready(1000, 100) and op.ready(1100, 100) and not op.ready(1101, 100)
    assert not Operation(1, TARGET, b"", 1000, "cancelled").ready(1000, 100)
