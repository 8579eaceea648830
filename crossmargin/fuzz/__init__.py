"""Stateful fuzzing of liquidation on pyrevm: the in-process protocol (`world`), the rules and named invariants
(`machine`), and the seeded random walk behind `crossmargin fuzz` (`runner`). The hypothesis state machine in
tests/property/test_liquidation_machine.py drives the same `LiquidationMachine`."""
