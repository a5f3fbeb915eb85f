"""Comparing runs reads what the registry and the run folders hold: the table is the registry's rows, the equity
curves compound each run's ``returns.parquet`` (the primary backtest only), the overfitting statistics are the
evaluation functions applied to the trials' returns on their common minutes, and fewer than 2 complete runs
give a sentence instead of a crash."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.evaluation import deflated_sharpe_ratio, probability_of_backtest_overfitting
from workbench.experiments._compare import CompareError, compare_runs, primary_returns
from workbench.experiments._registry import RunRegistry
from workbench.experiments._sweep_report import write_sweep_summary
from workbench.experiments._sweep_stats import best_run, sweep_statistics

PRIMARY = "lightgbm top/bottom-5 long-short"
N_RUNS = 6


def _run_folder(root: Path, run_id: str, rng: np.random.Generator, start: int) -> Path:
    """A run folder as the pipeline writes it: metrics.json naming the primary backtest, returns.parquet in
    long format with that backtest and another one (which compare must leave out)."""
    folder = root / run_id
    folder.mkdir(parents=True)
    ts = pd.date_range("2024-11-25 14:30", periods=400, freq="min", tz="UTC")[start:]
    frames = [pd.DataFrame({"ts": ts, "backtest": name, "net_return": rng.normal(mu, 1e-3, len(ts)),
                            "gross_return": rng.normal(mu, 1e-3, len(ts))})
              for name, mu in ((PRIMARY, 1e-4), ("lightgbm top-5 long", 0.0))]
    pd.concat(frames).sample(frac=1.0, random_state=1).to_parquet(folder / "returns.parquet", index=False)
    (folder / "metrics.json").write_text(json.dumps({"primary_backtest": PRIMARY}))
    return folder


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> RunRegistry:
    root = tmp_path_factory.mktemp("compare-runs")
    registry = RunRegistry(root / "registry.duckdb")
    rng = np.random.default_rng(5)
    for k in range(N_RUNS):
        run_id = f"20241125T1430{k:02d}Z-{k:06x}"
        folder = _run_folder(root, run_id, rng, start=k * 3)  # staggered starts: common minutes are a subset
        registry.record({"run_id": run_id, "kind": "sweep", "sweep_id": "s", "parameters": json.dumps({"top_k": k}),
                         "net_sharpe": float(rng.normal()), "rank_ic": float(rng.normal(0, 0.02)),
                         "status": "complete", "path": str(folder), "dataset": "market"})
    registry.record({"run_id": "20241125T143099Z-failed", "kind": "sweep", "sweep_id": "s",
                     "parameters": json.dumps({"top_k": 99}), "status": "failed", "error": "Traceback ...",
                     "dataset": "market"})
    return registry


def test_table_is_the_registry_rows(registry: RunRegistry) -> None:
    comparison = compare_runs(sweep_id="s", registry=registry)
    expected = registry.runs(sweep_id="s")
    pd.testing.assert_frame_equal(comparison.table.sort_values("run_id").reset_index(drop=True),
                                  expected.sort_values("run_id").reset_index(drop=True))
    assert list(comparison.parameters["top_k"].sort_values()) == [0, 1, 2, 3, 4, 5, 99]


def test_named_runs_in_the_order_asked(registry: RunRegistry) -> None:
    ids = list(registry.runs(sweep_id="s")["run_id"])
    chosen = [ids[3], ids[0]]
    comparison = compare_runs(chosen, registry=registry)
    assert list(comparison.table["run_id"]) == chosen and list(comparison.returns.columns) == chosen


def test_equity_is_the_compounded_primary_returns(registry: RunRegistry) -> None:
    comparison = compare_runs(sweep_id="s", registry=registry)
    complete = registry.runs(sweep_id="s").query("status == 'complete'")
    assert sorted(comparison.equity.columns) == sorted(complete["run_id"])
    for row in complete.to_dict("records"):
        frame = pd.read_parquet(Path(row["path"]) / "returns.parquet")
        mine = frame[frame["backtest"] == PRIMARY].sort_values("ts")
        expected = np.cumprod(1.0 + mine["net_return"].to_numpy())
        got = comparison.equity[row["run_id"]].dropna()
        np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-12)
        assert list(got.index) == list(pd.DatetimeIndex(mine["ts"]))


def test_statistics_are_the_evaluation_functions_on_the_common_returns(registry: RunRegistry) -> None:
    rows = registry.runs(sweep_id="s").query("status == 'complete'")
    series = {}
    for row in rows.to_dict("records"):
        frame = pd.read_parquet(Path(row["path"]) / "returns.parquet")
        series[row["run_id"]] = frame[frame["backtest"] == PRIMARY].set_index("ts")["net_return"]
    common = pd.concat(series, axis=1, join="inner").sort_index()
    assert len(common) == 400 - 3 * (N_RUNS - 1)
    best = rows.loc[rows["net_sharpe"].idxmax(), "run_id"]

    statistics = sweep_statistics(compare_runs(sweep_id="s", registry=registry), "net_sharpe", "maximize")
    assert statistics.best_run == best == best_run(rows, "net_sharpe")
    assert statistics.n_trials == N_RUNS and statistics.n_observations == len(common)
    sharpes = common.mean() / common.std(ddof=1)
    expected_dsr = deflated_sharpe_ratio(common[best].to_numpy(), trial_sharpe_ratios=sharpes.to_numpy())
    expected_pbo = probability_of_backtest_overfitting(common.to_numpy(), n_splits=16)
    assert statistics.dsr == pytest.approx(float(expected_dsr), rel=1e-12)
    assert statistics.pbo == pytest.approx(float(expected_pbo.pbo), rel=1e-12)
    assert f"DSR {statistics.dsr:.2f}" in statistics.verdict and f"PBO {statistics.pbo:.2f}" in statistics.verdict
    assert f"best of {N_RUNS} runs" in statistics.verdict


def test_summary_html_reports_the_statistics(registry: RunRegistry, tmp_path: Path) -> None:
    path, _ = write_sweep_summary("s", tmp_path / "summary.html", registry=registry)
    text = path.read_text()
    statistics = sweep_statistics(compare_runs(sweep_id="s", registry=registry))
    assert f"DSR {statistics.dsr:.2f}" in text and f"PBO {statistics.pbo:.2f}" in text
    assert text.count("<table") == 1 and "Equity curves" in text and "20241125T143099Z-failed" in text


def test_fewer_than_two_complete_runs_say_so(registry: RunRegistry) -> None:
    ids = list(registry.runs(sweep_id="s").query("status == 'complete'")["run_id"])
    statistics = sweep_statistics(compare_runs(ids[:1] + ["20241125T143099Z-failed"], registry=registry))
    assert statistics.dsr is None and statistics.pbo is None and "need ≥ 2 complete runs" in statistics.verdict


def test_nothing_to_compare_is_one_line(registry: RunRegistry) -> None:
    with pytest.raises(CompareError, match="no runs in sweep 'nope'"):
        compare_runs(sweep_id="nope", registry=registry)
    with pytest.raises(CompareError, match="name runs to compare"):
        compare_runs([], registry=registry)


def test_primary_returns_refuses_a_run_without_its_backtest(tmp_path: Path) -> None:
    folder = _run_folder(tmp_path, "r", np.random.default_rng(0), 0)
    (folder / "metrics.json").write_text(json.dumps({"primary_backtest": "other"}))
    with pytest.raises(CompareError, match="no primary backtest 'other'"):
        primary_returns(folder)


def test_cli_compare_prints_the_table_and_verdict_and_writes_html(registry: RunRegistry, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from workbench.cli import main

    monkeypatch.setenv("WB_RUNS", str(registry.path.parent))
    html = tmp_path / "compare.html"
    result = CliRunner().invoke(main, ["runs", "compare", "--sweep", "s", "--html", str(html)])
    assert result.exit_code == 0, result.output
    statistics = sweep_statistics(compare_runs(sweep_id="s", registry=registry))
    assert all(run_id in result.output for run_id in registry.runs(sweep_id="s")["run_id"])
    assert f"overfitting: {statistics.verdict}" in result.output and html.is_file()
    as_json = CliRunner().invoke(main, ["runs", "compare", "--sweep", "s", "--json"])
    numbers = json.loads(as_json.output)
    assert numbers["overfitting"]["dsr"] == statistics.dsr and numbers["overfitting"]["pbo"] == statistics.pbo
    assert len(numbers["runs"]) == N_RUNS + 1
    unknown = CliRunner().invoke(main, ["runs", "compare", "nope"])
    assert unknown.exit_code != 0 and "wb runs list" in unknown.output and unknown.output.count("\n") == 1
