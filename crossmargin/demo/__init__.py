"""The demo (`make demo`, `crossmargin demo`): a fresh embedded anvil, the protocol deployed with the demo
parameters, a realistic book of accounts, the market maker, keeper and band agent running, an oracle crash,
and a report (rich tables, PNG plots and JSON in reports/)."""

from crossmargin.demo.run import run_demo

__all__ = ["run_demo"]
