"""The run's report: a header with the run date, identity, package versions, git commit and the config; the
cross-section table showing IC's own counts (not precision@K's, which used to overwrite them); per-fold metrics
and every model's daily IC; SHAP captioned with the fold it explains; percentages as percentages; sections in
reading order."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from tests.pipeline._real_data import small_market
from workbench.data import Dataset
from workbench.pipeline import CVConfig, DataConfig, EvalConfig, Pipeline, PipelineConfig, RunMetrics, RunResult
from workbench.pipeline._report import cross_section_table, format_table, render_report

SECTIONS = ("Direction skill verdict", "Paired log-loss tests", "Cross-sectional skill per minute", "Daily rank IC",
            "Backtests (executable fills", "Alpha decay and cost sensitivity", "Out-of-sample classification",
            "Walk-forward folds", "Per-fold metrics", "<h2>Figures</h2>")


@pytest.fixture(scope="module")
def run(lake_root: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    dataset: Dataset = small_market(lake_root)
    config = PipelineConfig(name="report", data=DataConfig(dataset=dataset.name),
                            cv=CVConfig(train_days=2, test_days=1),
                            evaluation=EvalConfig(top_k=3, shap_rows=150, min_names=10))
    return Pipeline(config).run(tmp_path_factory.mktemp("run") / "report", progress=False)


@pytest.fixture(scope="module")
def report(run: RunResult) -> str:
    return run.report.read_text()


def test_the_cross_section_table_shows_each_statistics_own_counts(run: RunResult) -> None:
    """IC and precision@K skip different minutes; with different counts each must show its own."""
    data = run.run_metrics.to_dict()
    for values in data["cross_section"].values():
        values["ic"].update(n_periods=111, n_skipped=7)
        values["precision_at_k"].update(n_periods=222, n_skipped=3)
    table = cross_section_table(RunMetrics.from_dict(data))
    for model in data["cross_section"]:
        assert table.loc[model, "IC n_periods"] == 111 and table.loc[model, "IC n_skipped"] == 7
        assert table.loc[model, "precision@K n_periods"] == 222 and table.loc[model, "precision@K n_skipped"] == 3
        assert table.loc[model, "IC mean"] == data["cross_section"][model]["ic"]["mean"]


def test_the_report_header_holds_date_identity_versions_commit_and_config(run: RunResult, report: str) -> None:
    identity = run.metrics["identity"]
    for fact in ("run date (UTC)", identity["started_at"], identity["run_id"], identity["dataset_fingerprint"]):
        assert html.escape(str(fact)) in report, fact
    for package in ("python", "pandas", "numpy", "lightgbm", "vectorbt", "workbench"):
        assert f"{package} {identity['versions'][package]}" in report, package
    assert html.escape(identity["git_commit"] or "not a git checkout") in report
    config = re.search(r"<details><summary>Configuration \(JSON\)</summary><pre>(.*?)</pre></details>", report, re.S)
    assert config is not None
    assert PipelineConfig.from_dict(json.loads(html.unescape(config.group(1)))) == PipelineConfig.from_json(
        (run.path / "config.json").read_text())


def test_sections_come_in_reading_order(report: str) -> None:
    positions = [report.index(section) for section in SECTIONS]
    assert positions == sorted(positions), dict(zip(SECTIONS, positions, strict=True))


def test_per_fold_metrics_and_every_models_daily_ic_are_in_the_report(run: RunResult, report: str) -> None:
    metrics = run.run_metrics
    for model, days in metrics.daily_ic.items():
        assert len(days) >= 1 and f"<th>{model}</th>" in report
        for day in days:
            assert f"<th>{day}</th>" in report
    assert len(metrics.fold_metrics) == 3 * len(metrics.folds)
    assert "Daily rank IC, every model" in report and "Rank IC per minute (cumulative), every model" in report


def test_shap_says_which_fold_it_explains(run: RunResult, report: str) -> None:
    fold = run.metrics["explained_fold"]
    assert fold == len(run.metrics["folds"]) - 1
    caption = report.index(f"SHAP explains fold {fold}&#x27;s lightgbm model on its test rows")
    assert caption < report.index(f"SHAP importance (fold {fold}, lightgbm)")


def test_percentages_are_shown_as_percentages(run: RunResult, report: str) -> None:
    frame = pd.DataFrame({"total_return": [0.1127, -0.0284], "max_drawdown": [-0.009, None], "sharpe": [48.05, 1.0],
                          "n_trades": [12, 3]}, index=["a", "b"])
    shown = format_table(frame)
    assert shown["total_return"].tolist() == ["11.27%", "-2.84%"] and shown["max_drawdown"].tolist() == ["-0.90%", "–"]
    assert shown["sharpe"].tolist() == ["48.05", "1"] and shown["n_trades"].tolist() == ["12", "3"]
    for name, backtest in run.metrics["backtests"].items():
        assert f"{backtest['total_return']:.2%}" in report, name


def test_the_report_renders_from_the_stored_metrics_alone(run: RunResult) -> None:
    """metrics.json holds everything the tables need (figures aside): the step-6 registry can re-render it."""
    stored = RunMetrics.from_dict(json.loads((run.path / "metrics.json").read_text()))
    page = render_report("again", stored, (run.path / "config.json").read_text(), {})
    assert all(section in page for section in SECTIONS)
    assert stored.to_dict() == run.metrics
