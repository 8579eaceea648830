"""black76.vy against the numpy/scipy reference (crossmargin.model.pricing) and against itself.

Grid of the brief: spot 0.01 .. 1e6, strike 0.2x .. 5x spot, T 1 hour .. 2 years, vol 5 % .. 300 %.
Bounds checked: |chain - ref| <= 2e-7·F everywhere and <= 1e-6 relative for options worth >= 1e-3·F (both
rounding directions), and the tighter measured ones: unrounded time value within 1e-14·(F + K) of the
reference, `round_up=False` <= reference <= `round_up=True` (rounding favours the protocol).
"""

import math

import boa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossmargin.model.pricing import YEAR_SECONDS, black76_greeks, black76_price

WAD = 10**18
YEAR = YEAR_SECONDS
HOUR = 3600

ABS_TOL = 2e-7         # × F, everywhere (the brief)
REL_TOL = 1e-6         # relative, options worth >= 1e-3 · F (the brief)
RAW_TOL = 1e-14        # × (F + K): unrounded time value vs reference (measured ~2e-15)
REF_SLACK = 1e-15      # × (F + K): double-precision noise of the reference itself


# ---------------------------------------------------------------- strategies (build valid inputs)


@st.composite
def options(draw, spot_exp=(-2.0, 6.0), t_min=HOUR, t_max=2 * YEAR, vol=(0.05, 3.0)):
    """(is_call, F, K, T seconds, sigma) as chain integers: F log-uniform, K/F in [0.2, 5] log-uniform."""
    is_call = draw(st.booleans())
    F = int(10 ** draw(st.floats(*spot_exp)) * WAD)
    K = max(1, int(F * math.exp(draw(st.floats(math.log(0.2), math.log(5.0))))))
    T = draw(st.integers(t_min, t_max))
    sigma = draw(st.integers(int(vol[0] * WAD), int(vol[1] * WAD)))
    return is_call, F, K, T, sigma


def ref_price(is_call, F, K, T, sigma, r=0):
    return black76_price(is_call, F / WAD, K / WAD, T / YEAR, sigma / WAD, r / WAD)


def intrinsic(is_call, F, K):
    return max(F - K, 0) if is_call else max(K - F, 0)


def raw_price(b76, is_call, F, K, T, sigma):
    """Unrounded on-chain price (intrinsic + black76._time_value), in WAD."""
    return intrinsic(is_call, F, K) + b76.time_value(F, K, T, sigma)


# ---------------------------------------------------------------- accuracy


@settings(max_examples=100, deadline=None)
@given(opt=options())
def test_price_matches_reference_on_the_grid(b76, opt):
    is_call, F, K, T, sigma = opt
    ref = ref_price(*opt)
    f, k = F / WAD, K / WAD
    lo = b76.price_r(is_call, F, K, T, sigma, 0, False) / WAD
    hi = b76.price_r(is_call, F, K, T, sigma, 0, True) / WAD
    for got in (lo, hi):
        assert abs(got - ref) <= ABS_TOL * f
        if ref >= 1e-3 * f:
            assert abs(got / ref - 1) <= REL_TOL
    # Directed rounding brackets the exact price.
    assert lo <= ref + REF_SLACK * (f + k) and hi >= ref - REF_SLACK * (f + k)
    # The default `_price` (r = 0) is the rounded-down one.
    assert b76.price(is_call, F, K, T, sigma) == b76.price_r(is_call, F, K, T, sigma, 0, False)


@settings(max_examples=100, deadline=None)
@given(opt=options())
def test_unrounded_time_value_error_is_tiny(b76, opt):
    is_call, F, K, T, sigma = opt
    f, k = F / WAD, K / WAD
    tv_ref = ref_price(*opt) - intrinsic(is_call, f, k)
    assert abs(b76.time_value(F, K, T, sigma) / WAD - tv_ref) <= RAW_TOL * (f + k)


@settings(max_examples=30, deadline=None)
@given(opt=options(), rate=st.integers(-WAD // 20, WAD // 5))
def test_price_with_rate_matches_reference(b76, opt, rate):
    is_call, F, K, T, sigma = opt
    ref = ref_price(is_call, F, K, T, sigma, rate)
    f = F / WAD
    for up in (False, True):
        got = b76.price_r(is_call, F, K, T, sigma, rate, up) / WAD
        assert abs(got - ref) <= ABS_TOL * f
        if ref >= 1e-3 * f:
            assert abs(got / ref - 1) <= REL_TOL


# ---------------------------------------------------------------- parity, bounds, monotonicity


@settings(max_examples=50, deadline=None)
@given(opt=options())
def test_put_call_parity_is_exact(b76, opt):
    _, F, K, T, sigma = opt
    for up in (False, True):
        c = b76.price_r(True, F, K, T, sigma, 0, up)
        p = b76.price_r(False, F, K, T, sigma, 0, up)
        assert c - p == F - K  # both are intrinsic + the same time value


@settings(max_examples=30, deadline=None)
@given(opt=options(), rate=st.integers(-WAD // 20, WAD // 5))
def test_put_call_parity_with_rate(b76, opt, rate):
    _, F, K, T, sigma = opt
    disc = b76.discount(rate, T)
    c = b76.price_r(True, F, K, T, sigma, rate, False)
    p = b76.price_r(False, F, K, T, sigma, rate, False)
    assert abs((c - p) - (F - K) * disc // WAD) <= 2


@settings(max_examples=50, deadline=None)
@given(opt=options())
def test_price_within_no_arbitrage_bounds(b76, opt):
    is_call, F, K, T, sigma = opt
    lo = b76.price_r(is_call, F, K, T, sigma, 0, False)
    hi = b76.price_r(is_call, F, K, T, sigma, 0, True)
    assert intrinsic(is_call, F, K) <= lo <= hi <= (F if is_call else K)


def test_call_decreasing_in_strike_and_increasing_in_vol_and_time(b76):
    F, T, sigma = 2000 * WAD, 30 * 86400, 8 * WAD // 10
    calls = [b76.price(True, F, k * WAD, T, sigma) for k in range(400, 8001, 200)]
    assert all(a >= b for a, b in zip(calls, calls[1:]))
    for K in (1000 * WAD, 2000 * WAD, 3000 * WAD):
        by_vol = [b76.price(False, F, K, T, s * WAD // 100) for s in range(5, 301, 15)]
        assert all(a <= b for a, b in zip(by_vol, by_vol[1:]))
        by_time = [b76.price(True, F, K, t, sigma) for t in range(HOUR, 2 * YEAR, 37 * 86400)]
        assert all(a <= b for a, b in zip(by_time, by_time[1:]))


# ---------------------------------------------------------------- Greeks


CASES = [
    # is_call, F, K, T, sigma, rate
    (True, 2000, 2000, 30 * 86400, 0.8, 0.0),
    (False, 2000, 2100, 30 * 86400, 0.8, 0.0),
    (True, 2000, 1500, 7 * 86400, 0.5, 0.03),
    (False, 60000, 45000, 180 * 86400, 0.6, 0.0),
    (True, 150, 300, 2 * YEAR, 1.5, 0.05),
    (False, 1.5, 1.2, 6 * HOUR, 1.2, 0.0),
    (True, 2000, 2010, 2 * HOUR, 0.4, 0.0),
    (False, 0.01, 0.048, 90 * 86400, 3.0, -0.01),
]


def _chain(case):
    is_call, F, K, T, sigma, rate = case
    return is_call, int(F * WAD), int(K * WAD), T, int(sigma * WAD), int(rate * WAD)


@pytest.mark.parametrize("case", CASES)
def test_greeks_match_reference(b76, case):
    is_call, F, K, T, sigma, rate = _chain(case)
    raw = b76.greeks(is_call, F, K, T, sigma, rate)
    assert raw[0] == b76.price_r(is_call, F, K, T, sigma, rate, False)
    got = [x / WAD for x in raw]
    ref = black76_greeks(is_call, F / WAD, K / WAD, T / YEAR, sigma / WAD, rate / WAD)
    f = F / WAD
    assert abs(got[0] - ref.price) <= 1e-12 * f + 1e-15 * (f + K / WAD)
    assert abs(got[1] - ref.delta) <= 1e-12
    # φ comes out of one WAD exp: deep in the tails its last wei (1e-18) sets the absolute floor.
    v = sigma / WAD * math.sqrt(T / YEAR)
    assert abs(got[2] - ref.gamma) <= 1e-10 * ref.gamma + 4e-18 / (f * v) + 2e-18
    assert abs(got[3] - ref.vega) <= 1e-10 * ref.vega + 4e-18 * f * math.sqrt(T / YEAR) + 2e-18
    assert abs(got[4] - ref.theta) <= 1e-10 * abs(ref.theta) + 1e-15 * f


@pytest.mark.parametrize("case", [c for c in CASES if c[5] == 0.0])
def test_greeks_are_finite_differences_of_the_chain_price(b76, case):
    is_call, F, K, T, sigma, _ = _chain(case)
    price, delta, gamma, vega, theta = (x / WAD for x in b76.greeks(is_call, F, K, T, sigma, 0))
    p = lambda F_=F, T_=T, s_=sigma: raw_price(b76, is_call, F_, K, T_, s_) / WAD  # noqa: E731
    v = sigma / WAD * math.sqrt(T / YEAR)
    dF = int(F * v * 1e-3)                # a thousandth of a standard deviation
    up, mid, down = p(F_=F + dF), p(), p(F_=F - dF)
    h = dF / WAD
    assert abs((up - down) / (2 * h) - delta) <= 1e-6
    assert abs((up - 2 * mid + down) / (h * h) - gamma) <= 1e-4 * gamma + 1e-3 / (F / WAD * v)
    ds = max(1, sigma // 1000)
    vega_fd = (p(s_=sigma + ds) - p(s_=sigma - ds)) / (2 * ds / WAD)
    assert abs(vega_fd - vega) <= 1e-5 * vega + 1e-9 * F / WAD
    dt = max(1, T // 1000)
    theta_fd = -(p(T_=T + dt) - p(T_=T - dt)) / (2 * dt / YEAR)
    assert abs(theta_fd - theta) <= 1e-5 * abs(theta) + 1e-9 * F / WAD


# ---------------------------------------------------------------- edges


@pytest.mark.parametrize("is_call", [True, False])
@pytest.mark.parametrize("K", [1500 * WAD, 2000 * WAD, 2500 * WAD])
def test_expired_is_intrinsic(b76, is_call, K):
    F = 2000 * WAD
    for up in (False, True):
        assert b76.price_r(is_call, F, K, 0, 8 * WAD // 10, 0, up) == intrinsic(is_call, F, K)
        assert b76.price_r(is_call, F, K, 0, 8 * WAD // 10, WAD // 10, up) == intrinsic(is_call, F, K)
    price, delta, gamma, vega, theta = b76.greeks(is_call, F, K, 0, 8 * WAD // 10, 0)
    itm = F > K if is_call else F < K
    assert price == intrinsic(is_call, F, K)
    assert delta == ((WAD if is_call else -WAD) if itm else 0)
    assert (gamma, vega, theta) == (0, 0, 0)


@pytest.mark.parametrize("sigma", [0, 1, 10**6])
def test_tiny_total_vol_is_intrinsic_and_bracketed(b76, sigma):
    F, K, T = 2000 * WAD, 2000 * WAD, 30 * 86400  # at the money: the worst case for dropping the time value
    v = b76.sigma_sqrt_t(sigma, T)
    assert v < 10**9
    assert b76.price_r(True, F, K, T, sigma, 0, False) == 0
    up = b76.price_r(True, F, K, T, sigma, 0, True)
    exact = F / WAD * (2 * 0.5 * math.erf(v / WAD / 2 / math.sqrt(2)))  # ATM: F·(2N(v/2) - 1)
    assert up / WAD >= exact and up <= F * v // WAD + 1


def test_zero_strike_and_zero_spot_revert(b76, b76_errors):
    T, s = 30 * 86400, 8 * WAD // 10
    calls = [
        lambda F, K: b76.price(True, F, K, T, s),
        lambda F, K: b76.price_r(False, F, K, T, s, 0, True),
        lambda F, K: b76.price_r(False, F, K, 0, s, 0, True),
        lambda F, K: b76.greeks(True, F, K, T, s, 0),
        lambda F, K: b76.greeks(True, F, K, 0, s, 0),
        lambda F, K: b76.price_from_d(True, F, K, 0, 10**17, WAD, False),
        lambda F, K: b76.log_moneyness(F, K),
        lambda F, K: b76.d1_d2(F, K, 10**17),
    ]
    for call in calls:
        with boa.reverts(b76_errors.ZERO_STRIKE):
            call(2000 * WAD, 0)
        with boa.reverts(b76_errors.ZERO_SPOT):
            call(0, 2000 * WAD)
    assert (b76_errors.ZERO_SPOT, b76_errors.ZERO_STRIKE) == ("zero spot", "zero strike")


@pytest.mark.parametrize(
    "F, K",
    [(1, 10**40), (10**40, 1), (10**40, 10**40), (WAD, 10**9 * WAD), (10**9 * WAD, WAD), (1, 1), (10**12, 10**12)],
)
@pytest.mark.parametrize("T, sigma", [(1, 10**9), (HOUR, WAD // 20), (10 * YEAR, 10 * WAD), (10**10, 100 * WAD)])
def test_extremes_do_not_overflow(b76, F, K, T, sigma):
    for is_call in (True, False):
        lo = b76.price_r(is_call, F, K, T, sigma, 0, False)
        hi = b76.price_r(is_call, F, K, T, sigma, 0, True)
        assert intrinsic(is_call, F, K) <= lo <= hi <= (F if is_call else K)
        price, delta, _, _, _ = b76.greeks(is_call, F, K, T, sigma, WAD // 10)
        assert price <= lo and 0 <= (delta if is_call else -delta) <= WAD


def test_deep_in_and_out_of_the_money_values(b76):
    F, T, s = 2000 * WAD, 30 * 86400, 8 * WAD // 10
    assert b76.price(True, F, 20 * F, T, s) == 0                  # worthless
    assert b76.price(False, F, F // 20, T, s) == 0
    assert b76.price(True, F, F // 20, T, s) == F - F // 20        # pure intrinsic
    assert b76.price_r(True, F, 20 * F, T, s, 0, True) > 0         # a liability is never priced at zero
    price, delta, gamma, vega, theta = b76.greeks(True, F, F // 20, T, s, 0)
    assert (delta, gamma, vega, theta) == (WAD, 0, 0, 0)
    # With a rate, a deep in-the-money option still carries: theta = r·V, delta = discount.
    rate = WAD // 20
    price, delta, gamma, vega, theta = b76.greeks(False, F, 20 * F, T, s, rate)
    assert delta == -b76.discount(rate, T) and (gamma, vega) == (0, 0)
    assert theta == b76.swad_mul(rate, price) > 0


# ---------------------------------------------------------------- sharing across scenarios


def test_scenario_grid_equals_direct_prices(b76):
    F, K, T, s = 2000 * WAD, 2100 * WAD, 30 * 86400, 8 * WAD // 10
    moves = [k * WAD // 40 for k in range(-4, 5)]  # ±10 % in quarters
    factors = [7 * WAD // 10, WAD, 13 * WAD // 10]
    grid = b76.scenario_grid(True, F, K, T, s, moves, factors)
    assert len(grid) == 27
    for i, f in enumerate(factors):
        for j, m in enumerate(moves):
            spot = F * (WAD + m) // WAD
            direct = b76.price(True, spot, K, T, s * f // WAD)
            assert abs(grid[i * 9 + j] - direct) <= 1e-14 * (spot + K) + 100


# ---------------------------------------------------------------- gas budget (regression guard)


def _gas(contract, fn, *args):
    getattr(contract, fn)(*args)
    return contract._computation.get_gas_used()


def test_gas_budget(b76):
    F, T, s = 2000 * WAD, 30 * 86400, 8 * WAD // 10
    for K in (1500 * WAD, 2000 * WAD, 2500 * WAD):
        assert _gas(b76, "price", True, F, K, T, s) <= 7_000
        v = b76.sigma_sqrt_t(s, T)
        d1, _ = b76.d1_d2(F, K, v)
        assert _gas(b76, "price_from_d", True, F, K, d1, v, WAD, True) <= 3_800
        assert _gas(b76, "greeks", False, F, K, T, s, 0) <= 12_000
    assert _gas(b76, "cdf", WAD // 3) <= 2_000


# ---------------------------------------------------------------- fixed point helpers


@settings(max_examples=50, deadline=None)
@given(x=st.integers(0, 10**30), y=st.integers(1, 10**30))
def test_fixed_point_rounding_directions(b76, x, y):
    assert b76.wad_mul_down(x, y) == x * y // WAD
    assert b76.wad_mul_up(x, y) == -(-x * y // WAD)
    assert b76.wad_div_down(x, y) == x * WAD // y
    assert b76.wad_div_up(x, y) == -(-x * WAD // y)
    assert b76.wad_sqrt_down(x) == math.isqrt(x * WAD)


@settings(max_examples=50, deadline=None)
@given(x=st.integers(-(10**30), 10**30), y=st.integers(-(10**30), 10**30).filter(bool))
def test_signed_helpers_truncate_towards_zero(b76, x, y):
    assert b76.swad_mul(x, y) == int(np_trunc_div(x * y, WAD))
    assert b76.swad_div(x, y) == int(np_trunc_div(x * WAD, y))
    assert b76.abs_(x) == abs(x)


def np_trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def test_abs_of_min_int(b76):
    assert b76.abs_(-(2**255)) == 2**255


@pytest.mark.parametrize("x", [1, WAD // 7, WAD, 3 * WAD, 10**30])
def test_ln_exp_wrappers(b76, x):
    assert abs(b76.wad_ln(x) / WAD - math.log(x / WAD)) <= 1e-15 * max(1, abs(math.log(x / WAD)))
    assert abs(b76.wad_exp(b76.wad_ln(x)) - x) <= 1e-16 * x + 2
