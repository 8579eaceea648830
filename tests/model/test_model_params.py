"""crossmargin.model.params: loading, lookups, exact on-chain integers, validation messages."""

import dataclasses
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossmargin.model.params import (
    BOUNDED, WAD, Kind, from_wad, load_params, to_units, to_wad, validate_correlation,
)
from tests.strategies import DEFAULT, DEMO, decimals


# -- loading and lookups ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["default", "demo"])
def test_shipped_parameter_sets_load(name):
    p = load_params(name)
    assert p.name == name
    assert p.symbols == ("ETH", "BTC", "SOL")
    assert [u.id for u in p.underlyings] == [1, 2, 3]
    assert p.settlement.symbol == "USDC" and p.settlement.decimals == 6
    assert p.collateral("WETH").underlying == "ETH" and p.collateral("WETH").decimals == 18
    assert p.collateral("WBTC").underlying == "BTC" and p.collateral("WBTC").decimals == 8
    assert {m.name for m in p.markets if m.kind is Kind.PERP} == {"ETH-PERP", "BTC-PERP", "SOL-PERP"}
    assert p.market("ETH-30D").kind is Kind.FUTURE and p.market("ETH-30D").expiry_days == 30
    assert [m.id for m in p.markets] == list(range(1, len(p.markets) + 1))


def test_demo_is_the_default_universe():
    ids = lambda p: [(u.symbol, u.id) for u in p.underlyings]  # noqa: E731
    assert ids(DEMO) == ids(DEFAULT)
    assert [(m.id, m.name, m.kind) for m in DEMO.markets] == [(m.id, m.name, m.kind) for m in DEFAULT.markets]
    assert [c.symbol for c in DEMO.collaterals] == [c.symbol for c in DEFAULT.collaterals]
    np.testing.assert_array_equal(DEMO.rho, DEFAULT.rho)


def test_load_by_path(tmp_path):
    src = (load_params.__globals__["PARAMS_DIR"] / "default.toml").read_text()
    f = tmp_path / "mine.toml"
    f.write_text(src.replace('name = "default"\n', ""))
    p = load_params(f)
    assert p.name == "mine" and p.risk == DEFAULT.risk


def test_lookups_by_symbol_and_id():
    assert DEFAULT.underlying("BTC") is DEFAULT.underlying(2)
    assert DEFAULT.market("ETH-PERP") is DEFAULT.market(1)
    assert DEFAULT.market(DEFAULT.market(4)).name == "ETH-30D"
    assert DEFAULT.index("SOL") == 2
    assert DEFAULT.rho[0, 1] == 0.8 and DEFAULT.rho[1, 2] == 0.65
    with pytest.raises(KeyError, match="unknown market"):
        DEFAULT.market("DOGE-PERP")
    with pytest.raises(ValueError):
        DEFAULT.rho[0, 1] = 0.0  # read-only view


def test_reference_numbers_are_realistic():
    vol = {u.symbol: u.vol for u in DEFAULT.underlyings}
    assert vol == {"ETH": 0.6, "BTC": 0.5, "SOL": 0.9}
    r = DEFAULT.risk
    assert (r.z, r.horizon_days, r.shock_min, r.shock_max, r.im_factor, r.basis_rate) == (3.0, 1, 0.05, 0.5, 1.25, 0.005)


def test_listed_fixes_absolute_expiry():
    spec = DEFAULT.market("ETH-30D").listed(at=1_700_000_000)
    assert spec.expiry == 1_700_000_000 + 30 * 86_400
    assert spec.time_to_expiry(1_700_000_000 + 15 * 86_400) == pytest.approx(15 / 365)
    assert DEFAULT.market("ETH-30D").time_to_expiry(123) == pytest.approx(30 / 365)  # unlisted: as if listed now


# -- exact integers ----------------------------------------------------------------------------------------

def test_to_wad_is_exact():
    assert to_wad(0.6) == 6 * 10**17
    assert to_wad(0.1) + to_wad(0.2) == to_wad(0.3)
    assert to_wad("1e-18") == 1
    assert to_wad(Decimal("3000.123456789012345678")) == 3000123456789012345678
    assert to_wad(Fraction(1, 4)) == WAD // 4
    assert to_wad(-2) == -2 * WAD
    assert to_units(1000, 6) == 1_000_000_000
    assert to_units(3000.12, 8) == 300_012_000_000
    assert from_wad(to_wad(0.65)) == 0.65


def test_to_wad_refuses_to_round_silently():
    with pytest.raises(ValueError, match="rounding"):
        to_wad(Fraction(1, 3))
    assert to_wad(Fraction(1, 3), rounding="down") == 333333333333333333
    assert to_wad(Fraction(1, 3), rounding="up") == 333333333333333334
    with pytest.raises(ValueError):
        to_wad(float("nan"))
    with pytest.raises(TypeError):
        to_wad(True)


@given(decimals(-1e9, 1e9, 6))
def test_to_wad_roundtrips_short_decimals(x):
    assert to_wad(x) == int(Fraction(repr(x)) * WAD)
    assert from_wad(to_wad(x)) == x


def test_onchain_is_all_ints_and_exact():
    o = DEFAULT.onchain()
    risk = o["risk"]
    assert risk["z"] == 3 * WAD and risk["im_factor"] == 125 * WAD // 100 and risk["basis_rate"] == 5 * WAD // 1000
    assert risk["horizon_seconds"] == 86_400 and risk["vol_t_ref_seconds"] == 30 * 86_400
    assert risk["bounds"]["horizon_seconds"] == (21_600, 7 * 86_400)
    assert set(risk["bounds"]) == {n.replace("_days", "_seconds") for n in BOUNDED} | {"basis_vol"}
    assert risk["basis_vol"] == WAD // 10 and risk["bounds"]["basis_vol"] == (0, WAD // 2)   # [scenarios]
    eth = o["underlyings"][0]
    assert (eth["id"], eth["price"], eth["feed_answer"], eth["vol"]) == (1, 3000 * WAD, 3000 * 10**8, 6 * 10**17)
    usdc, weth = o["collaterals"][0], o["collaterals"][1]
    assert usdc["is_settlement"] and usdc["underlying_id"] == 0 and usdc["decimals"] == 6
    assert weth["underlying_id"] == 1 and weth["haircut_base_im"] == 8 * 10**16
    fut = next(m for m in o["markets"] if m["name"] == "ETH-30D")
    assert fut["kind"] == Kind.FUTURE == 2 and fut["expiry_seconds"] == 30 * 86_400 and fut["strike"] == 0
    assert o["correlation"][0][1] == o["correlation"][1][0] == 8 * 10**17

    def ints_only(x):
        if isinstance(x, dict):
            return all(ints_only(v) for k, v in x.items() if k not in ("name", "symbol"))
        if isinstance(x, (list, tuple)):
            return all(ints_only(v) for v in x)
        return isinstance(x, int)
    assert ints_only(o)


# -- validation --------------------------------------------------------------------------------------------

def rho_with(**pairs):
    rho = DEFAULT.rho.copy()
    for key, value in pairs.items():
        a, b = key.split("_")
        rho[DEFAULT.index(a), DEFAULT.index(b)] = value
    return rho


def test_correlation_must_be_symmetric():
    with pytest.raises(ValueError, match=r"not symmetric: rho\[ETH,BTC\] = 0.5 but rho\[BTC,ETH\] = 0.8"):
        DEFAULT.replace(correlation=rho_with(ETH_BTC=0.5))


def test_correlation_must_be_psd():
    # each pair is a valid correlation, the triple is not: ETH~BTC, ETH~SOL, but BTC anti SOL
    bad = rho_with(ETH_BTC=0.9, BTC_ETH=0.9, ETH_SOL=0.9, SOL_ETH=0.9, BTC_SOL=-0.9, SOL_BTC=-0.9)
    with pytest.raises(ValueError, match="not positive semi-definite: smallest eigenvalue"):
        DEFAULT.replace(correlation=bad)


def test_correlation_unit_diagonal_range_and_shape():
    with pytest.raises(ValueError, match=r"diagonal must be 1: rho\[SOL,SOL\] = 0.9"):
        DEFAULT.replace(correlation=rho_with(SOL_SOL=0.9))
    with pytest.raises(ValueError, match=r"rho\[ETH,BTC\] = 1.2 is outside \[-1, 1\]"):
        DEFAULT.replace(correlation=rho_with(ETH_BTC=1.2, BTC_ETH=1.2))
    with pytest.raises(ValueError, match="must be 3x3"):
        DEFAULT.replace(correlation=np.eye(2))
    validate_correlation(np.eye(3))  # uncorrelated is fine
    validate_correlation(np.ones((3, 3)))  # perfectly correlated is PSD (eigenvalues 3, 0, 0)


def test_haircut_im_must_be_at_least_mm():
    weth = DEFAULT.collateral("WETH")
    with pytest.raises(ValueError, match=r"collateral WETH: haircut_base_im \(0.04\) must be >= haircut_base_mm \(0.05\)"):
        dataclasses.replace(weth, haircut_base_im=0.04)


def test_im_factor_and_every_parameter_within_bounds():
    with pytest.raises(ValueError, match=r"risk.im_factor = 0.9 is outside its on-chain bounds \[1.0, 3.0\]"):
        DEFAULT.with_risk(im_factor=0.9)
    with pytest.raises(ValueError, match=r"risk.z = 7.0 is outside"):
        DEFAULT.with_risk(z=7.0)
    weth = dataclasses.replace(DEFAULT.collateral("WETH"), haircut_slope=6.0)
    with pytest.raises(ValueError, match="collateral WETH: haircut_slope = 6.0 is outside"):
        DEFAULT.replace(collaterals=[c if c.symbol != "WETH" else weth for c in DEFAULT.collaterals])
    sol = dataclasses.replace(DEFAULT.underlying("SOL"), concentration=9.0)
    with pytest.raises(ValueError, match="underlying SOL: concentration = 9.0 is outside"):
        DEFAULT.replace(underlyings=[u if u.symbol != "SOL" else sol for u in DEFAULT.underlyings])


def test_bounds_must_keep_design_constraints():
    b = dict(DEFAULT.risk.bounds)
    with pytest.raises(ValueError, match="im_factor: min must be >= 1"):
        DEFAULT.with_risk(bounds={**b, "im_factor": (0.5, 3.0)})
    with pytest.raises(ValueError, match="vol_down max · vol_shock_cap max must be < 1"):
        DEFAULT.with_risk(bounds={**b, "vol_down": (0.0, 0.5)})
    with pytest.raises(ValueError, match="basis_rate max must be <= shock_min min"):
        DEFAULT.with_risk(bounds={**b, "basis_rate": (0.0, 0.05)})
    with pytest.raises(ValueError, match=r"missing bounds for \['rate'\]"):
        DEFAULT.with_risk(bounds={k: v for k, v in b.items() if k != "rate"})


def test_universe_consistency():
    usdc2 = dataclasses.replace(DEFAULT.settlement, symbol="DAI")
    with pytest.raises(ValueError, match="exactly one settlement collateral"):
        DEFAULT.replace(collaterals=(*DEFAULT.collaterals, usdc2))
    stray = dataclasses.replace(DEFAULT.market("ETH-PERP"), name="DOGE-PERP", underlying="DOGE", id=99)
    with pytest.raises(ValueError, match="market DOGE-PERP: unknown underlying 'DOGE'"):
        DEFAULT.replace(markets=(*DEFAULT.markets, stray))
    with pytest.raises(ValueError, match="a PERP has no expiry"):
        dataclasses.replace(DEFAULT.market("ETH-PERP"), expiry_days=30)
    with pytest.raises(ValueError, match="an option needs strike > 0"):
        dataclasses.replace(DEFAULT.market("ETH-C-3000-30D"), strike=None)


def _write(tmp_path, text):
    f = tmp_path / "p.toml"
    f.write_text(text)
    return f


def test_toml_errors_name_the_key(tmp_path):
    src = (load_params.__globals__["PARAMS_DIR"] / "default.toml").read_text()
    with pytest.raises(ValueError, match=r"\[risk\]: unknown key\(s\) \['zz'\]"):
        load_params(_write(tmp_path, src.replace("z = 3.0 ", "zz = 3.0 ")))
    with pytest.raises(ValueError, match=r"risk.shock_min = 0.0500000000000000001: more significant digits"):
        load_params(_write(tmp_path, src.replace("shock_min = 0.05 ", "shock_min = 0.0500000000000000001 ")))
    with pytest.raises(ValueError, match=r"\[\[markets\]\] #1: 'SWAP'"):
        load_params(_write(tmp_path, src.replace('kind = "PERP"', 'kind = "SWAP"', 1)))
    with pytest.raises(FileNotFoundError, match="one of"):
        load_params("nope")


@given(st.floats(-1.0, 1.0))
def test_every_2x2_correlation_is_accepted(r):
    validate_correlation(np.array([[1.0, r], [r, 1.0]]))


def test_at_most_eight_underlyings():
    """The RiskEngine lists at most MAX_UNDERLYINGS = 8 (set_correlation takes them all in one matrix)."""
    eth = DEFAULT.underlying("ETH")
    nine = [dataclasses.replace(eth, symbol=f"U{i}", id=10 + i) for i in range(9)]
    with pytest.raises(ValueError, match="1 to 8 underlyings"):
        DEFAULT.replace(underlyings=[*DEFAULT.underlyings, *nine[:6]], correlation=np.eye(9).tolist())
    eight = DEFAULT.replace(underlyings=[*DEFAULT.underlyings, *nine[:5]], correlation=np.eye(8).tolist())
    assert len(eight.underlyings) == 8


def test_a_file_may_extend_another(tmp_path):
    """`extends = NAME`: the file's tables merge key by key into that set's, arrays replace whole, its own name;
    a file extending itself is refused."""
    (tmp_path / "a.toml").write_text('extends = "default"\nname = "a"\n[risk]\nvol_up = 0.9\n'
                                     "[correlation]\nmatrix = [[1.0, 0.9, 0.7], [0.9, 1.0, 0.65], [0.7, 0.65, 1.0]]\n")
    a = load_params(tmp_path / "a.toml")
    assert a.name == "a" and a.risk.vol_up == 0.9 and a.risk.z == DEFAULT.risk.z and a.rho[0, 1] == 0.9
    assert a.markets == DEFAULT.markets and a.oracle == DEFAULT.oracle
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n[risk]\nz = 2.5\n')       # relative to b.toml
    b = load_params(tmp_path / "b.toml")
    assert b.name == "b" and (b.risk.z, b.risk.vol_up) == (2.5, 0.9)
    (tmp_path / "c.toml").write_text(f'extends = "{tmp_path / "c.toml"}"\n')
    with pytest.raises(ValueError, match="no cycles"):
        load_params(tmp_path / "c.toml")
