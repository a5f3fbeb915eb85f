"""``wb bench experiments`` runs end to end on a tiny configuration and prints numbers that add up: the overhead
is papermill's time minus the pipeline's, the sweep's ratio is its time over points / workers x one run."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from workbench.cli import main
from workbench.data import Dataset


@pytest.mark.benchmark
def test_bench_experiments_prints_its_numbers_and_json(market: Dataset) -> None:
    stocks = [t for t in market.tickers["ticker"] if t != "SPY"][:30]
    tiny = ["-p", "train_days", "3", "-p", "test_days", "1", "-p", "top_k", "5", "-p", "min_names", "10",
            "-p", "tickers", json.dumps([*stocks, "SPY"]), "-p", "models", "[{kind: logistic}]",
            "-p", "decay_delays", "[0]", "-p", "cost_multipliers", "[1.0]"]
    result = CliRunner().invoke(main, ["bench", "experiments", "--dataset", market.name, "--points", "2",
                                       "--workers", "2", *tiny, "--json"])
    assert result.exit_code == 0, result.output
    numbers = json.loads(result.output.strip().splitlines()[-1])
    assert numbers["pipeline_seconds"] > 0 and numbers["papermill_seconds"] > 0 and numbers["sweep_seconds"] > 0
    assert numbers["overhead_seconds"] == pytest.approx(numbers["papermill_seconds"] - numbers["pipeline_seconds"],
                                                        abs=0.011)
    ideal = numbers["points"] / numbers["workers"] * numbers["papermill_seconds"]
    assert numbers["sweep_ratio"] == pytest.approx(numbers["sweep_seconds"] / ideal, abs=2e-3)
    assert numbers["sweep_complete"] == 2
    assert "overhead" in result.output and "ratio" in result.output
