"""The comparison figures draw what the comparison holds: each run's metric at its parameter value, equity
curves compounded from the returns (checked against a loop), the CSCV logits and ranks as given, and a figure
that says why when the statistics could not be computed."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from workbench.experiments._compare import RunComparison, metric_table
from workbench.experiments._sweep_stats import SweepStatistics
from workbench.viz.compare import (
    equity_figure,
    metric_vs_parameter_figure,
    overfitting_figure,
    statistics_figure,
)


def _comparison() -> RunComparison:
    rng = np.random.default_rng(3)
    ids = ["r1", "r2", "r3", "r4"]
    parameters = [{"top_k": 5, "train_days": 3, "dataset": "m"}, {"top_k": 10, "train_days": 3, "dataset": "m"},
                  {"top_k": 5, "train_days": 5, "dataset": "m"}, {"top_k": 10, "train_days": 5, "dataset": "m"}]
    table = pd.DataFrame({"run_id": ids, "status": ["complete", "complete", "complete", "failed"],
                          "parameters": [json.dumps(p) for p in parameters],
                          "net_sharpe": [0.5, -0.2, 1.1, None], "rank_ic": [0.01, 0.02, 0.03, None],
                          "duration_s": [10.0, 11.0, 12.0, 1.0]})
    ts = pd.date_range("2024-11-25 14:30", periods=50, freq="min", tz="UTC")
    returns = pd.DataFrame({run_id: rng.normal(0, 1e-3, 50) for run_id in ids[:3]}, index=ts)
    returns.iloc[:5, 2] = np.nan  # r3 started later
    return RunComparison(table=table, parameters=pd.DataFrame(parameters, index=ids), returns=returns)


def test_varied_parameters_and_metric_table() -> None:
    comparison = _comparison()
    assert comparison.varied == ["top_k", "train_days"]
    table = metric_table(comparison)
    assert list(table.index) == ["r1", "r2", "r3", "r4"]
    assert list(table.columns[:3]) == ["status", "top_k", "train_days"]
    assert table.loc["r3", "net_sharpe"] == 1.1 and np.isnan(table.loc["r4", "net_sharpe"])


def test_metric_vs_parameter_plots_each_complete_run_at_its_value() -> None:
    figure = metric_vs_parameter_figure(_comparison(), "net_sharpe")
    assert [trace.name for trace in figure.data] == ["top_k", "train_days"]
    top_k = figure.data[0]
    assert list(top_k.text) == ["r1", "r2", "r3"]  # the failed run has no metric to plot
    assert list(top_k.x) == [5, 10, 5] and list(top_k.y) == [0.5, -0.2, 1.1]
    assert list(figure.data[1].x) == [3, 3, 5]


def test_equity_curves_compound_each_runs_own_minutes() -> None:
    comparison = _comparison()
    figure = equity_figure(comparison)
    assert [trace.name for trace in figure.data] == ["r1", "r2", "r3"]
    for trace in figure.data:
        returns = comparison.returns[trace.name].dropna().to_numpy()
        expected, level = [], 1.0
        for r in returns:
            level *= 1.0 + r
            expected.append(level)
        np.testing.assert_allclose(trace.y, expected, rtol=1e-12)
        assert len(trace.x) == len(returns)


def test_overfitting_figure_shows_the_logits_and_ranks_given() -> None:
    logits, ranks = np.array([-1.0, 0.5, 2.0, -0.3]), np.array([0.2, 0.6, 0.9, 0.4])
    figure = overfitting_figure(logits, ranks, pbo=0.5, n_trials=8)
    np.testing.assert_array_equal(figure.data[0].x, logits)
    np.testing.assert_array_equal(figure.data[1].x, ranks)
    assert "PBO 0.50" in figure.layout.annotations[0].text and "8 trials" in figure.layout.title.text


def test_statistics_figure_says_why_when_there_are_none() -> None:
    statistics = SweepStatistics(n_trials=1, verdict="the overfitting statistics (DSR, PBO) need ≥ 2 complete runs")
    figure = statistics_figure(statistics)
    assert not figure.data and "need ≥ 2 complete runs" in figure.layout.title.text
