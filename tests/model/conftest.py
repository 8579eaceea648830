"""Model tests: pure Python, fast. Shared strategies live in tests/strategies.py."""

import importlib.util
import sys
import types
from pathlib import Path

# The venv's pymultihash ships a stray top-level `tests` package that shadows this repository's `tests/`
# (a namespace package loses to a regular one anywhere on sys.path). Point `tests` at ours so
# `from tests.strategies import ...` works; a no-op once `tests/__init__.py` exists or the stray package is gone.
_TESTS = Path(__file__).resolve().parents[1]
_spec = importlib.util.find_spec("tests")
if _spec is None or not any(Path(p).resolve() == _TESTS for p in (_spec.submodule_search_locations or ())):
    _pkg = types.ModuleType("tests")
    _pkg.__path__ = [str(_TESTS)]
    sys.modules["tests"] = _pkg
