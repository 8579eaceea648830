"""Model tests: pure Python, fast. Shared strategies live in tests/strategies.py."""

import importlib.util
import math
import sys
import types
from pathlib import Path

# crossmargin/model/pricing.py is written by another engineer. Until it lands, a math.erfc Black-76 with the
# agreed signature stands in (tests only) so the margin engine imports; once the real module exists this
# block does nothing.
if importlib.util.find_spec("crossmargin.model.pricing") is None:  # pragma: no cover - transitional
    def _ncdf(x):
        return 0.5 * math.erfc(-x / math.sqrt(2.0))

    def black76_price(is_call, F, K, T_years, sigma, r=0.0):
        sd = sigma * math.sqrt(T_years)
        d1 = (math.log(F / K) + 0.5 * sd * sd) / sd
        d2 = d1 - sd
        df = math.exp(-r * T_years)
        if is_call:
            return df * (F * _ncdf(d1) - K * _ncdf(d2))
        return df * (K * _ncdf(-d2) - F * _ncdf(-d1))

    _stub = types.ModuleType("crossmargin.model.pricing")
    _stub.black76_price = black76_price
    sys.modules["crossmargin.model.pricing"] = _stub

# The venv's pymultihash ships a stray top-level `tests` package that shadows this repository's `tests/`
# (a namespace package loses to a regular one anywhere on sys.path). Point `tests` at ours so
# `from tests.strategies import ...` works; a no-op once `tests/__init__.py` exists or the stray package is gone.
_TESTS = Path(__file__).resolve().parents[1]
_spec = importlib.util.find_spec("tests")
if _spec is None or not any(Path(p).resolve() == _TESTS for p in (_spec.submodule_search_locations or ())):
    _pkg = types.ModuleType("tests")
    _pkg.__path__ = [str(_TESTS)]
    sys.modules["tests"] = _pkg
