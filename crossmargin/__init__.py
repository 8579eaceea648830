"""crossmargin: on-chain cross-margin protocol (Vyper contracts) and its Python tooling."""

__version__ = "0.1.0"
