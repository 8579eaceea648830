"""`crossmargin fuzz` and `crossmargin liquidations` commands (registered by crossmargin.cli.liquidation)."""

from __future__ import annotations

import json

import click
from click.testing import CliRunner

from crossmargin.cli import liquidation
from crossmargin.fuzz.machine import INVARIANTS


def _cli() -> click.Group:
    @click.group()
    def cli() -> None:
        pass

    liquidation.register(cli)
    return cli


def test_register_adds_both_commands():
    assert {"fuzz", "liquidations"} <= set(_cli().commands)


def test_fuzz_reports_invariant_counts_and_speed():
    result = CliRunner().invoke(_cli(), ["fuzz", "--steps", "150", "--seed", "4", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["steps"] == 150 and data["violation"] is None and data["books"] == "linear"
    assert set(data["invariants"]) == set(INVARIANTS)
    assert data["invariants"]["collateral_conservation"] == 150 and data["steps_per_second"] > 0


def test_fuzz_prints_tables():
    result = CliRunner().invoke(_cli(), ["fuzz", "--steps", "50", "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert "invariants checked" in result.output and "steps/s" in result.output


def test_fuzz_rejects_a_non_positive_step_count():
    result = CliRunner().invoke(_cli(), ["fuzz", "--steps", "0"])
    assert result.exit_code != 0 and "--steps must be positive" in result.output
