"""The run-folder views of 05_walk_forward, on a hand-made run folder: equity and drawdown against a loop over
the returns, IC over time against the daily values and a running mean by hand, calibration against sklearn's
quantile bins, and the tables against the metrics dict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve

from workbench.viz.run import (
    backtest_table,
    equity_drawdown_figure,
    fold_table,
    ic_over_time_figure,
    metrics_table,
    run_calibration_figure,
    run_config,
)

PRIMARY = "lightgbm top/bottom-5 long-short"
MODELS = ("lightgbm", "baseline")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(3)
    ts = pd.date_range("2024-11-25 14:31", periods=120, freq="min", tz="UTC")
    frames = [pd.DataFrame({"ts": ts, "backtest": name, "net_return": rng.normal(0, 1e-3, len(ts)),
                            "gross_return": rng.normal(1e-4, 1e-3, len(ts))})
              for name in (PRIMARY, "lightgbm top-5 long")]
    pd.concat(frames).to_parquet(folder / "returns.parquet", index=False)
    p = rng.uniform(0.2, 0.8, 2000)
    pd.DataFrame({"y": (rng.uniform(size=p.size) < p).astype(int), "p_lightgbm": p,
                  "p_baseline": np.full(p.size, 0.5)}).to_parquet(folder / "predictions.parquet")
    metrics = {
        "models": [{"name": m, "kind": m} for m in MODELS], "primary_backtest": PRIMARY,
        "classification": {m: {"log_loss": 0.6 + i, "brier": 0.2, "roc_auc": 0.7 - i} for i, m in enumerate(MODELS)},
        "classification_horizontal": {m: {"log_loss": 0.5, "roc_auc": 0.8} for m in MODELS},
        "cross_section": {m: {"ic": {"mean": 0.03 * (i + 1), "t_stat_nw": 2.0},
                              "precision_at_k": {"precision": 0.55, "base_rate": 0.5}} for i, m in enumerate(MODELS)},
        "skill": {m: {"ci_low": 0.01, "ci_high": 0.05, "skill": True} for m in MODELS},
        "backtests": {PRIMARY: {"sharpe": 1.2, "max_drawdown": -0.01}, "lightgbm top-5 long": {"sharpe": 0.4,
                                                                                                "max_drawdown": -0.03}},
        "folds": [{"fold": 0, "n_train": 100, "n_test": 20}, {"fold": 1, "n_train": 120, "n_test": 20}],
        "fold_metrics": [{"fold": f, "model": m, "log_loss": 0.6 + f / 10, "roc_auc": 0.6 + i / 10, "rank_ic": f - i}
                         for f in (0, 1) for i, m in enumerate(MODELS)],
        "daily_ic": {"lightgbm": {"2024-11-26": 0.04, "2024-11-25": 0.02, "2024-11-27": -0.01},
                     "baseline": {"2024-11-25": 0.0, "2024-11-26": 0.01, "2024-11-27": 0.02}},
    }
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "config.json").write_text(json.dumps({"name": "hand-made", "cv": {"train_days": 3}}))
    return folder


def test_equity_and_drawdown_compound_the_net_returns(folder: Path) -> None:
    figure = equity_drawdown_figure(folder)
    returns = pd.read_parquet(folder / "returns.parquet")
    for name in (PRIMARY, "lightgbm top-5 long"):
        r = returns.loc[returns["backtest"] == name].sort_values("ts")["net_return"].to_list()
        equity, peak, drawdown, value = [], 0.0, [], 1.0
        for x in r:
            value *= 1 + x
            peak = max(peak, value)
            equity.append(value)
            drawdown.append(value / peak - 1)
        curve = next(t for t in figure.data if t.name == name)
        down = next(t for t in figure.data if t.name == f"{name} drawdown")
        np.testing.assert_allclose(curve.y, equity, rtol=1e-12)
        np.testing.assert_allclose(down.y, drawdown, rtol=1e-12, atol=1e-15)
        assert down.yaxis == "y2"
    gross = next(t for t in figure.data if t.name == f"{PRIMARY} (gross)")
    primary = returns.loc[returns["backtest"] == PRIMARY].sort_values("ts")
    assert gross.y[-1] == pytest.approx(np.prod(1 + primary["gross_return"].to_numpy()), rel=1e-12)
    assert PRIMARY in figure.layout.title.text


def test_ic_over_time_is_the_daily_ic_and_its_running_mean(folder: Path) -> None:
    figure = ic_over_time_figure(folder)
    bars = next(t for t in figure.data if t.name == "lightgbm daily IC")
    assert list(bars.x) == ["2024-11-25", "2024-11-26", "2024-11-27"]
    np.testing.assert_allclose(bars.y, [0.02, 0.04, -0.01])
    mean = next(t for t in figure.data if t.name == "lightgbm running mean")
    np.testing.assert_allclose(mean.y, [0.02, 0.03, 0.05 / 3])


def test_calibration_is_the_quantile_reliability_of_the_primary(folder: Path) -> None:
    figure = run_calibration_figure(folder, n_bins=5)
    predictions = pd.read_parquet(folder / "predictions.parquet")
    observed, _ = calibration_curve(predictions["y"], predictions["p_lightgbm"], n_bins=5, strategy="quantile")
    points = next(t for t in figure.data if t.name == "observed")
    np.testing.assert_allclose(points.y, observed)
    assert "lightgbm" in figure.layout.title.text
    with pytest.raises(ValueError, match="its models: lightgbm, baseline"):
        run_calibration_figure(folder, model="nope")


def test_tables_hold_the_metrics(folder: Path) -> None:
    table = metrics_table(folder)
    assert list(table.index) == list(MODELS)
    assert table.loc["baseline", "log_loss"] == 1.6 and table.loc["baseline", "rank_ic"] == 0.06
    assert table.loc["lightgbm", "precision_at_k"] == 0.55 and table.loc["lightgbm", "direction_skill"]
    folds = fold_table(folder)
    assert list(folds.index) == [0, 1] and folds.loc[1, "n_train"] == 120
    assert folds.loc[1, "rank_ic baseline"] == 0 and folds.loc[0, "rank_ic baseline"] == -1
    assert folds.loc[1, "log_loss lightgbm"] == pytest.approx(0.7)
    assert backtest_table(folder).loc[PRIMARY, "sharpe"] == 1.2
    assert run_config(folder)["cv"]["train_days"] == 3
