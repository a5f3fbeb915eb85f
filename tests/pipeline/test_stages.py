"""The pipeline's public stages: called one by one they give what ``Pipeline.run`` gives; the models come from
the config's list by kind; per-fold metrics and every model's daily IC agree with scikit-learn and scipy
computed from the predictions; the typed metrics render the CLI's text and round-trip through JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import log_loss, roc_auc_score

from tests.pipeline._real_data import small_market
from workbench.data import EXCHANGE_TZ, Dataset
from workbench.pipeline import (
    CVConfig,
    DataConfig,
    EvalConfig,
    ModelConfig,
    Pipeline,
    PipelineConfig,
    RunMetrics,
    RunResult,
    build_research_data,
    evaluate,
    explain_fold,
    walk_forward,
)

EVAL = EvalConfig(top_k=3, shap_rows=200, min_names=10)


def _config(dataset: Dataset, **overrides: object) -> PipelineConfig:
    return PipelineConfig(name="stages", data=DataConfig(dataset=dataset.name), cv=CVConfig(train_days=2, test_days=1),
                          evaluation=EVAL, **overrides)


@pytest.fixture(scope="module")
def small(lake_root: Path) -> Dataset:
    return small_market(lake_root)


@pytest.fixture(scope="module")
def run(small: Dataset, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return Pipeline(_config(small)).run(tmp_path_factory.mktemp("run") / "stages", progress=False)


@pytest.fixture(scope="module")
def four_models(small: Dataset, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    models = ({"kind": "lightgbm", "params": {"n_estimators": 60}}, {"kind": "logistic"},
              {"kind": "logistic", "name": "strong_l2", "params": {"C": 0.001}}, {"kind": "volatility"})
    config = _config(small, model=ModelConfig(models=models))
    return Pipeline(config).run(tmp_path_factory.mktemp("run") / "four", progress=False)


def test_the_stages_one_by_one_give_what_the_pipeline_gives(small: Dataset, run: RunResult) -> None:
    config = _config(small)
    data = build_research_data(config)
    folds = walk_forward(config, data)
    evaluation = evaluate(config, data, folds)
    explanation = explain_fold(config, data, folds)
    pd.testing.assert_frame_equal(folds.predictions, run.predictions)
    stage = evaluation.metrics.to_dict()
    whole = run.metrics
    for key in ("timings", "identity", "explained_fold"):
        stage.pop(key), whole.pop(key)
    assert stage == whole
    assert explanation is not None and explanation.fold == run.metrics["explained_fold"] == len(folds.folds) - 1
    shap = pd.read_parquet(run.path / "shap_values.parquet")
    pd.testing.assert_frame_equal(explanation.shap.values, shap)
    test_index = data.X.iloc[folds.test_rows[-1]].index
    assert set(shap.index) <= set(test_index)  # SHAP explains the last fold's model on that fold's test rows


def test_models_come_from_the_config_list_by_kind(four_models: RunResult) -> None:
    metrics = four_models.run_metrics
    names = ["lightgbm", "baseline", "strong_l2", "volatility"]
    assert [m["name"] for m in metrics.models] == names
    assert {f"p_{name}" for name in names} <= set(four_models.predictions.columns)
    assert list(metrics.loss_tests) == [f"{a} vs {b}" for i, a in enumerate(names) for b in names[i + 1:]]
    assert {name for name, skill in metrics.skill.items() if "beats_volatility" in skill} == set(names[:3])
    assert not np.allclose(four_models.predictions["p_baseline"], four_models.predictions["p_strong_l2"])
    spread = four_models.predictions[["p_baseline", "p_strong_l2"]].std()
    assert spread["p_strong_l2"] < spread["p_baseline"]  # strong L2 shrinks towards the base rate
    assert set(metrics.daily_ic) == set(names) and {row["model"] for row in metrics.fold_metrics} == set(names)


def _reference_ic(predictions: pd.DataFrame, model: str, min_names: int) -> pd.Series:
    """Per-minute Spearman IC of ``p_model`` against the label return, by scipy, skipping thin or constant
    minutes."""
    values = {}
    for ts, minute in predictions.groupby("ts"):
        if len(minute) < min_names or minute[f"p_{model}"].nunique() < 2 or minute["ret"].nunique() < 2:
            continue
        values[ts] = spearmanr(minute[f"p_{model}"], minute["ret"]).statistic
    return pd.Series(values)


def test_daily_ic_and_per_fold_metrics_match_scipy_and_sklearn(run: RunResult) -> None:
    predictions, metrics = run.predictions, run.run_metrics
    for model in ("lightgbm", "baseline", "volatility"):
        ic = _reference_ic(predictions, model, EVAL.min_names)
        days = pd.DatetimeIndex(ic.index).tz_convert(EXCHANGE_TZ).date
        daily = {str(day): value for day, value in ic.groupby(days).mean().items()}
        assert metrics.daily_ic[model] == pytest.approx(daily, abs=1e-12)
        for fold, piece in predictions.groupby("fold"):
            row = next(r for r in metrics.fold_metrics if r["fold"] == fold and r["model"] == model)
            assert row["log_loss"] == pytest.approx(log_loss(piece["y"], piece[f"p_{model}"]), rel=1e-12)
            assert row["roc_auc"] == pytest.approx(roc_auc_score(piece["y"], piece[f"p_{model}"]), rel=1e-12)
            inside = ic[pd.DatetimeIndex(ic.index).isin(pd.DatetimeIndex(piece["ts"].unique()))]
            assert row["rank_ic"] == pytest.approx(inside.mean(), abs=1e-12) and row["n_minutes"] == len(inside)


def test_the_typed_metrics_render_the_cli_text_and_round_trip_through_json(run: RunResult) -> None:
    metrics = run.run_metrics
    stored = json.loads((run.path / "metrics.json").read_text())
    assert stored == run.metrics
    assert RunMetrics.from_dict(stored).to_dict() == stored
    assert RunMetrics.from_dict(stored).render_text() == metrics.render_text()
    assert "direction skill" in metrics.render_text() and "alpha decay" in metrics.render_text()
    assert stored["lightgbm_beats_baseline_log_loss"] == stored["loss_tests"]["lightgbm vs baseline"]["model_better"]


def test_the_run_records_its_identity(small: Dataset, run: RunResult) -> None:
    identity = run.metrics["identity"]
    assert identity["config_fingerprint"] == run.metrics["fingerprint"] == _config(small).fingerprint
    assert identity["dataset"] == small.name and len(identity["dataset_fingerprint"]) >= 8
    assert identity["code_version"] and {"python", "pandas", "numpy", "lightgbm", "vectorbt", "workbench"
                                          } <= set(identity["versions"])
