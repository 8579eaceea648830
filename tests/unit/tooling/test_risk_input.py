"""The risk CLI's input parsing: exact integers for the chain, one clear error otherwise (no node needed)."""

from __future__ import annotations

import pytest

from crossmargin.chain.protocol import ProtocolError
from crossmargin.chain.risk_settings import _parse
from crossmargin.cli.common import UserError
from crossmargin.cli.risk import _assignments, _pairs

WAD = 10**18


@pytest.mark.parametrize("name,text,expected", [
    ("im_factor", "1.3", 13 * WAD // 10), ("im_factor", "1", WAD), ("basis_rate", "0.000000000000000001", 1),
    ("horizon_seconds", "7200", 7200), ("horizon_seconds", "7200.0", 7200), ("rate", "0", 0),
])
def test_values_become_exact_chain_integers(name, text, expected):
    assert _parse(name, text) == expected


@pytest.mark.parametrize("name,text,message", [
    ("im_factor", "abc", "must be a number"), ("im_factor", "-1", "must be >= 0"), ("im_factor", "inf", "finite"),
    ("horizon_seconds", "1.5", "whole seconds"), ("basis_rate", "0.0000000000000000001", "18 decimals at most"),
])
def test_bad_values_are_one_clear_error(name, text, message):
    with pytest.raises(ProtocolError, match=message):
        _parse(name, text)


def test_pairs_and_assignments():
    assert _pairs(("eth:btc=0.9", "SOL:ETH=-0.2")) == {("ETH", "BTC"): "0.9", ("SOL", "ETH"): "-0.2"}
    assert _assignments(("im_factor=1.3",)) == {"im_factor": "1.3"}
    for bad in ("ETH-BTC=0.9", "ETH:BTC", ":BTC=1", "ETH:=1"):
        with pytest.raises(UserError, match="a pair looks like"):
            _pairs((bad,))
    with pytest.raises(UserError, match="a change looks like"):
        _assignments(("=1",))
