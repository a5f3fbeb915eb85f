"""The research pipeline end to end on the synthetic market and its no-signal control: it finds the planted
signal out of sample with an interval that excludes zero, it claims nothing in noise (tests/pipeline/
test_acceptance.py runs more noise markets), and a run is reproducible.

Both markets here are built without the flash crash: its 4-minute drop and 10-minute recovery is genuine,
learnable mean reversion in either market, so a control that keeps it is not noise (the data tests leave
its session out for the same reason)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from workbench.data import Dataset
from workbench.data._writer import write_bars_partition
from workbench.data.synth import SynthConfig, build_synthetic_market
from workbench.pipeline import CVConfig, DataConfig, EvalConfig, Pipeline, PipelineConfig, RunResult

CV = CVConfig(train_days=3, test_days=1, embargo_bars=5)
EVAL = EvalConfig(top_k=5, shap_rows=800, min_names=20)


def _run(dataset: Dataset, folder: Path) -> RunResult:
    config = PipelineConfig(name=dataset.name, data=DataConfig(dataset=dataset.name), cv=CV, evaluation=EVAL)
    return Pipeline(config).run(folder, progress=False)


def _market(lake_root: Path, name: str, signal: bool) -> Dataset:
    if not (lake_root / name).exists():
        build_synthetic_market(SynthConfig(n_tickers=80, n_days=6, seed=11, signal=signal, flash_crash=False), name,
                               progress=False)
    return Dataset(name)


@pytest.fixture(scope="module")
def market(lake_root: Path) -> Dataset:
    """The test market's draws with its planted signal, without the flash crash."""
    return _market(lake_root, "market-no-crash", signal=True)


@pytest.fixture(scope="module")
def signal_run(market: Dataset, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return _run(market, tmp_path_factory.mktemp("run") / "market")


@pytest.fixture(scope="module")
def control_run(lake_root: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return _run(_market(lake_root, "control-no-crash", signal=False), tmp_path_factory.mktemp("run") / "control")


def test_planted_signal_is_found_out_of_sample_with_an_interval_that_excludes_zero(signal_run: RunResult) -> None:
    metrics = signal_run.metrics
    for model in ("lightgbm", "baseline"):
        skill = metrics["skill"][model]
        assert skill["skill"] and skill["ci_low"] > 0, (model, skill)
    assert metrics["loss_tests"]["lightgbm vs baseline"]["verdict"] != "worse", metrics["loss_tests"]
    gross = {(row["scenario"], row["value"]): row["gross_sharpe"] for row in metrics["sensitivity"]["table"]}
    assert gross["costs", 0.0] > 0, metrics["sensitivity"]  # the edge is there before costs


def test_no_alpha_is_found_in_noise(control_run: RunResult) -> None:
    metrics = control_run.metrics
    ic = metrics["cross_section"]["lightgbm"]["ic"]
    assert abs(ic["t_stat_nw"]) < 2, ic
    assert not any(skill["skill"] for skill in metrics["skill"].values()), metrics["skill"]
    assert not metrics["skill"]["lightgbm"]["beats_volatility"], metrics["loss_tests"]
    for name, result in metrics["backtests"].items():
        if not name.startswith("buy and hold"):
            assert result["sharpe"] < 0, (name, result)  # net of spreads and fees: nothing to harvest


def test_labels_enter_where_the_backtest_fills(signal_run: RunResult, market: Dataset) -> None:
    """Default execution: a signal at bar t fills at the open of the ticker's next bar; the label enters there."""
    predictions = signal_run.predictions
    assert (predictions["entry_ts"] > predictions["ts"]).all()
    bars = market.bars(None, adjust="raw", columns=["ts", "ticker"])
    bars["next_ts"] = bars.groupby("ticker")["ts"].shift(-1)
    want = predictions.merge(bars, on=["ts", "ticker"], how="left")
    assert (want["entry_ts"] == want["next_ts"]).all()


def test_run_folder_holds_config_predictions_metrics_models_shap_and_report(signal_run: RunResult) -> None:
    path = signal_run.path
    config = PipelineConfig.from_json((path / "config.json").read_text())
    assert config.fingerprint == signal_run.metrics["fingerprint"]
    predictions = pd.read_parquet(path / "predictions.parquet")
    assert {"ts", "ticker", "fold", "y", "ret", "entry_ts", "p_lightgbm", "p_baseline", "p_volatility"
            } <= set(predictions.columns)
    assert predictions["p_lightgbm"].between(0, 1).all()
    assert len(predictions) == sum(fold["n_test"] for fold in signal_run.metrics["folds"])
    models = sorted((path / "models").glob("fold_*.txt"))
    assert len(models) == len(signal_run.metrics["folds"]) and models[0].read_text().startswith("tree")
    assert not list(path.rglob("*.pkl")) and not list(path.rglob("*.pickle"))
    assert (path / "shap_values.parquet").exists()
    assert json.loads((path / "metrics.json").read_text())["n_events"] > 1000
    report = (path / "report.html").read_text()
    assert "Walk-forward folds" in report and "plotly" in report.lower()
    for section in ("Alpha decay and cost sensitivity", "horizontal-barrier events", "Paired log-loss tests",
                    "Direction skill verdict"):
        assert section in report, section


def test_walk_forward_never_trains_on_labels_that_reach_the_test_period(signal_run: RunResult) -> None:
    for fold in signal_run.metrics["folds"]:
        assert pd.Timestamp(fold["train_end"]) < pd.Timestamp(fold["test_start"])


def test_same_config_gives_the_same_run(market: Dataset, signal_run: RunResult, tmp_path: Path) -> None:
    again = _run(market, tmp_path / "again")
    pd.testing.assert_frame_equal(again.predictions, signal_run.predictions)


def test_tuning_runs_optuna_on_the_first_training_window_and_keeps_the_study(market: Dataset, tmp_path: Path) -> None:
    from workbench.pipeline import ModelConfig

    tickers = tuple(market.tickers["ticker"].iloc[:30])
    config = PipelineConfig(name="tuned", data=DataConfig(dataset=market.name, tickers=tickers), cv=CV,
                            model=ModelConfig(n_trials=3, tuning_folds=2, params={"n_estimators": 60}),
                            evaluation=EvalConfig(top_k=3, shap_rows=300, min_names=10))
    run = Pipeline(config).run(tmp_path / "tuned", progress=False)
    assert run.metrics["tuning"]["n_trials"] == 3 and set(run.metrics["tuning"]["best_params"]) >= {"learning_rate"}
    assert (tmp_path / "tuned" / "optuna.db").exists()


def test_a_dataset_without_quotes_pays_the_fallback_spread_and_the_report_says_so(market: Dataset, lake_root: Path,
                                                                                  tmp_path: Path) -> None:
    name = "market-no-quotes"
    if not (lake_root / name).exists():
        shutil.copytree(market.path, lake_root / name)
        for date in market.dates:
            bars = market.bars(None, date.isoformat(), date.isoformat(), adjust="raw")
            bars[["bid", "ask", "bid_size", "ask_size"]] = None
            for old in (lake_root / name / "bars" / f"date={date.isoformat()}").glob("*.parquet"):
                old.unlink()
            write_bars_partition(lake_root / name, date, bars)
    tickers = tuple(market.tickers["ticker"].iloc[:30])
    config = PipelineConfig(name=name, data=DataConfig(dataset=name, tickers=tickers), cv=CV,
                            evaluation=EvalConfig(top_k=3, shap_rows=200, min_names=10))
    run = Pipeline(config).run(tmp_path / "run", progress=False)
    assert run.metrics["execution"]["quoted_share"] == 0.0
    for name_, result in run.metrics["backtests"].items():
        assert result["fallback_share"] == 1.0 and result["mean_half_spread_bps"] == pytest.approx(5.0), name_
    assert "No quote is known for 100.0% of the bars traded" in run.report.read_text()


@pytest.mark.slow
def test_no_alpha_in_a_demo_sized_control_market(lake_root: Path, tmp_path: Path) -> None:
    """200 names × 12 sessions of noise (flash crash included): the walk-forward finds no skill, no verdict
    of skill is reached and every strategy loses after costs."""
    build_synthetic_market(SynthConfig(n_tickers=200, n_days=12, seed=7, signal=False), "control-200", progress=False)
    config = PipelineConfig(name="control-200", data=DataConfig(dataset="control-200"),
                            cv=CVConfig(train_days=6, test_days=2), evaluation=EvalConfig(shap_rows=500))
    metrics = Pipeline(config).run(tmp_path / "run", progress=False).metrics
    for model in ("lightgbm", "baseline"):
        assert abs(metrics["cross_section"][model]["ic"]["t_stat_nw"]) < 2, metrics["cross_section"][model]
    assert not any(skill["skill"] for skill in metrics["skill"].values()), metrics["skill"]
    assert not metrics["skill"]["lightgbm"]["beats_volatility"], metrics["loss_tests"]
    for name, result in metrics["backtests"].items():
        if not name.startswith("buy and hold"):
            assert result["sharpe"] < 0, (name, result)
