"""DESIGN §2: `sim` uses `model` only (off chain), and library code never imports the CLI."""

import ast
from pathlib import Path

import crossmargin.sim

SIM = Path(crossmargin.sim.__file__).parent


def test_sim_imports_only_the_model_and_itself():
    for path in SIM.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                if name.startswith("crossmargin"):
                    assert name.startswith(("crossmargin.model", "crossmargin.sim")), f"{path.name} imports {name}"
