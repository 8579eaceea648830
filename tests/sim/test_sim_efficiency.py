"""`report efficiency`: canonical books under cross, isolated and naive margin, from the model."""

import pytest

from crossmargin.model.margin import haircut, isolated_requirements, requirements
from crossmargin.model.params import load_params
from crossmargin.model.portfolio import MarketState
from crossmargin.sim.efficiency import (SHARE_BOOK, SPLIT_BOOK, canonical_books, efficiency, naive_im, share_listing,
                                        share_row, split_book)
from tests.sim.conftest import P, S0

ROWS = {r.book: r for r in efficiency(load_params("default"))}
DERIVATIVES_ONLY = ("basis trade", "covered call", "delta-hedged short straddle", "correlated longs",
                    "diversified longs", "long ETH vs short BTC")


def test_every_requested_book_is_reported():
    assert set(ROWS) == {"basis trade", "cash-and-carry", "covered call", "delta-hedged short straddle",
                         "correlated longs", "diversified longs", "long ETH vs short BTC", SPLIT_BOOK, SHARE_BOOK}


def test_numbers_are_the_models():
    books = canonical_books(P, 1_000_000.0, S0)
    for name, (acct, _) in books.items():
        row = ROWS[name]
        assert row.cross == requirements(acct, S0, P).im
        assert row.isolated == isolated_requirements(acct, S0, P).im
        assert row.naive == naive_im(acct, S0, P)


def test_basis_trade_under_cross_needs_at_most_10_percent_of_isolated():
    assert ROWS["basis trade"].cross <= 0.10 * ROWS["basis trade"].isolated
    assert ROWS["cash-and-carry"].cross <= 0.10 * ROWS["cash-and-carry"].isolated


def test_correlated_longs_need_more_than_diversified_longs():
    corr, div = ROWS["correlated longs"], ROWS["diversified longs"]
    assert div.isolated == pytest.approx(corr.isolated, rel=1e-9)  # same standalone risk ...
    assert corr.cross > div.cross                                   # ... only the correlation differs
    assert corr.cross_vs_isolated > div.cross_vs_isolated


def test_correlated_longs_need_more_than_the_cross_hedge():
    assert ROWS["correlated longs"].cross > ROWS["long ETH vs short BTC"].cross


def test_cross_never_exceeds_isolated_or_naive():
    for r in ROWS.values():
        assert r.cross <= r.isolated * (1 + 1e-12)   # the split row sums ten accounts: float noise
        assert r.cross <= r.naive * (1 + 1e-12)


def test_naive_equals_isolated_without_collateral_and_is_lower_with_it():
    for name in DERIVATIVES_ONLY:
        assert ROWS[name].naive == pytest.approx(ROWS[name].isolated, rel=1e-12)
    assert ROWS["cash-and-carry"].naive < ROWS["cash-and-carry"].isolated


def test_hedged_straddle_is_delta_neutral_and_notional_scales():
    from crossmargin.model.margin import net_delta

    acct, _ = canonical_books(P, 1_000_000.0, S0)["delta-hedged short straddle"]
    assert net_delta("ETH", acct, S0, P) == pytest.approx(0.0, abs=1e-9)
    small = {r.book: r for r in efficiency(load_params("default"), notional=100_000.0)}
    assert small["basis trade"].cross == pytest.approx(ROWS["basis trade"].cross / 10, rel=1e-9)


def test_demo_parameters_also_meet_the_expectations():
    rows = {r.book: r for r in efficiency(load_params("demo"))}
    assert rows["basis trade"].cross <= 0.10 * rows["basis trade"].isolated
    assert rows["correlated longs"].cross > rows["diversified longs"].cross


def test_same_book_split_ten_ways_needs_as_much_as_one_account():
    """Crowding on the protocol aggregate (issue 12 §1): the ten accounts' IM sum to the one account's (within 1 %);
    on each account's own exposure (no aggregate, the old pricing) the split would have saved 31 %."""
    row = ROWS[SPLIT_BOOK]
    whole, pieces, crowded = split_book(P, 1_000_000.0, S0)
    one = requirements(whole, crowded, P).im
    assert row.cross == pytest.approx(sum(requirements(p, crowded, P).im for p in pieces), rel=1e-12)
    assert one * 0.99 <= row.cross <= one * 1.01
    assert f"{one:,.0f}" in row.legs
    own = sum(requirements(p, S0, P).im for p in pieces)
    assert own < 0.75 * requirements(whole, S0, P).im


def test_stressed_column_is_the_model_at_vol_x3_and_the_basis_charge_rises():
    """Issue 12 §3: the cross IM of the same book with every vol × 3; the basis trade's charge rises in stress
    (its basis shock grows with vol) while it stays <= 10 % of isolated at normal vol (test above)."""
    books = canonical_books(P, 1_000_000.0, S0)
    stressed = S0.with_vol(**{u: min(P.oracle.max_vol, 3 * v) for u, v in S0.vol.items()})
    for name, (acct, _) in books.items():
        assert ROWS[name].cross_stressed == requirements(acct, stressed, P).im
        assert ROWS[name].cross_stressed > ROWS[name].cross
    basis = ROWS["basis trade"]
    print(f"\nbasis trade IM: {basis.cross:,.0f} normal, {basis.cross_stressed:,.0f} at vol x3 "
          f"(isolated {basis.isolated:,.0f})")
    assert basis.cross_stressed > 1.5 * basis.cross


def test_staked_eth_shares_net_like_weth():
    """The share row prices the listing as the chain does (netted into ETH's book, P = S_ETH x rate): at rate 1 and
    ample vault liquidity the book costs what cash-and-carry (WETH vs the same short perp) costs; at a higher rate the
    same USD notional is fewer shares and the same requirement; a vault redeeming almost nothing shrinks the depth
    and raises the haircut (h = 1 at no liquidity: the shares stop counting)."""
    row, carry = ROWS[SHARE_BOOK], ROWS["cash-and-carry"]
    params = load_params("default")
    listed, spec = share_listing(params)
    assert (spec.symbol, spec.asset, spec.uid) == ("stETH", "WETH", 10)
    assert listed.collateral("stETH").underlying == "ETH" and listed.symbols == params.symbols   # no own underlying
    for got, want in ((row.cross, carry.cross), (row.isolated, carry.isolated), (row.naive, carry.naive),
                      (row.cross_stressed, carry.cross_stressed)):
        assert got == pytest.approx(want, rel=1e-9)
    assert share_row(params, rate=1.05).cross == pytest.approx(row.cross, rel=1e-9)
    c = listed.collateral("stETH")
    assert haircut(c, 300.0, 3000.0, liquidity=0.0) == 1.0
    assert haircut(c, 300.0, 3000.0, liquidity=1.0) > haircut(c, 300.0, 3000.0, liquidity=300.0)
