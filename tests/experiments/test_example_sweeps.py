"""The example sweep files the README points at are valid sweeps, and none searches a cost assumption
(sweeping fees or spreads would pick the run with the kindest costs, not the best research choice)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.experiments import SweepSpec

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "sweeps").glob("*.yaml"))
COSTS = {"fees_bps", "spread", "fallback_spread_bps", "impact_coef", "cost_multiplier", "delay_bars", "fill_price"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_sweep_is_valid_and_varies_no_cost_assumption(path: Path) -> None:
    spec = SweepSpec.from_file(path)
    varied = {space.name for space in spec.space} | set(spec.grid)
    assert varied and not varied & COSTS, sorted(varied & COSTS)


def test_both_kinds_of_example_are_there() -> None:
    assert {SweepSpec.from_file(path).method for path in EXAMPLES} == {"grid", "optuna"}
