"""Where things live: one place for the repository's folders (the package is installed editable)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "contracts"
DEPLOYMENTS = ROOT / "deployments"
REPORTS = ROOT / "reports"
CACHE = ROOT / ".cache"
BUILD = ROOT / ".build" / "crossmargin"
NODE_BIN = ROOT / "node_modules" / ".bin"
