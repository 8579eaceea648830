"""Where things live: one place for the repository's folders (the package is installed editable)."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "contracts"
DEPLOYMENTS = ROOT / "deployments"
REPORTS = ROOT / "reports"
CACHE = ROOT / ".cache"
BUILD = ROOT / ".build" / "crossmargin"
NODE_BIN = ROOT / "node_modules" / ".bin"


# Overridable at run time, so tests and parallel runs keep their manifests and node state apart from the user's.
def deployments_dir() -> Path:
    return Path(os.environ.get("CROSSMARGIN_DEPLOYMENTS", DEPLOYMENTS))


def cache_dir() -> Path:
    return Path(os.environ.get("CROSSMARGIN_CACHE", CACHE))


def reports_dir() -> Path:
    return Path(os.environ.get("CROSSMARGIN_REPORTS", REPORTS))
