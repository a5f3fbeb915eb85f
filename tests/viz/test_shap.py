"""A run's SHAP explanation against LightGBM itself: the stored SHAP values are LightGBM's pred_contrib of the
reloaded model on the rebuilt rows, a waterfall adds up to the model's raw log-odds, the default row is the run's
most confident stored prediction, the importance views are mean |SHAP| of shap_values.parquet, and a missing run
names `wb demo`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from workbench.data import Dataset
from workbench.pipeline import CVConfig, DataConfig, EvalConfig, Pipeline, PipelineConfig, RunResult
from workbench.viz.shap import (
    RunExplanation,
    ShapRunError,
    importance_by_volatility,
    importance_figure,
    load_explanation,
    pick_row,
    waterfall_figure,
)


@pytest.fixture(scope="module")
def run(market: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunResult]:
    """A small finished run on 30 of the market's tickers, in a runs folder of its own."""
    tickers = sorted(market.tickers.loc[~market.tickers["is_index"], "ticker"])[:30]
    config = PipelineConfig(name="shap-viz", data=DataConfig(dataset=market.name, tickers=tickers),
                            cv=CVConfig(train_days=3, test_days=1),
                            evaluation=EvalConfig(top_k=3, shap_rows=300, min_names=10))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WB_RUNS", str(tmp_path_factory.mktemp("shap-runs")))
        yield Pipeline(config).run(progress=False)


@pytest.fixture(scope="module")
def explanation(run: RunResult) -> RunExplanation:
    return load_explanation(str(run.path))


def booster(run: RunResult, fold: int) -> lgb.Booster:
    return lgb.Booster(model_file=str(run.path / "models" / f"fold_{fold}.txt"))


def test_stored_shap_values_are_lightgbm_contributions_on_the_rebuilt_rows(run: RunResult,
                                                                            explanation: RunExplanation) -> None:
    stored = pd.read_parquet(run.path / "shap_values.parquet")
    assert explanation.fold == run.run_metrics.explained_fold and explanation.model_name == "lightgbm"
    model = booster(run, explanation.fold)
    contrib = model.predict(explanation.shap.data[model.feature_name()], pred_contrib=True)
    np.testing.assert_allclose(explanation.shap.values[model.feature_name()].to_numpy(), contrib[:, :-1], atol=1e-6)
    np.testing.assert_allclose(stored[model.feature_name()].to_numpy(), contrib[:, :-1], atol=1e-6)
    assert explanation.shap.base_value == pytest.approx(contrib[0, -1], abs=1e-6)


def test_waterfall_adds_up_to_the_models_raw_log_odds(run: RunResult, explanation: RunExplanation) -> None:
    model = booster(run, explanation.fold)
    explained = explanation.shap.values.index[5]
    unexplained = next(k for k in explanation.fold_rows.index if k not in explanation.shap.values.index)
    for ts, ticker in (explained, unexplained):
        figure = waterfall_figure(explanation, ticker, ts, top_n=5)
        trace = figure.data[0]
        steps, total = np.asarray(trace.x[:-1], dtype=float), float(trace.x[-1])
        row = explanation.fold_rows.loc[[(ts, ticker)], model.feature_name()]
        raw = model.predict(row, raw_score=True)[0]
        assert steps.sum() == pytest.approx(raw, abs=1e-6) and total == pytest.approx(raw, abs=1e-6)
        assert list(trace.measure) == ["absolute", *["relative"] * 6, "total"]
        assert trace.y[0] == "base value" and trace.y[-2] == f"other ({len(model.feature_name()) - 5} features)"
        contrib = model.predict(row, pred_contrib=True)[0, :-1]
        assert np.abs(steps[1:6]).tolist() == pytest.approx(sorted(np.abs(contrib), reverse=True)[:5], abs=1e-6)


def test_default_row_is_the_most_confident_prediction_of_the_fold(run: RunResult,
                                                                 explanation: RunExplanation) -> None:
    predictions = pd.read_parquet(run.path / "predictions.parquet")
    fold = predictions[predictions["fold"] == explanation.fold]
    best = fold.loc[(fold["p_lightgbm"] - 0.5).abs().idxmax()]
    ts, ticker = pick_row(explanation)
    assert (ts, ticker) == (pd.Timestamp(best["ts"]), best["ticker"])
    of_ticker = fold[fold["ticker"] == best["ticker"]]
    assert pick_row(explanation, ticker=best["ticker"])[0] == of_ticker.loc[
        (of_ticker["p_lightgbm"] - 0.5).abs().idxmax(), "ts"]
    local = pd.Timestamp(best["ts"]).tz_convert("America/New_York").strftime("%Y-%m-%d %H:%M")
    assert pick_row(explanation, ticker=best["ticker"], ts=local) == (ts, ticker)  # a naive minute is New York
    with pytest.raises(ShapRunError, match="has no test row for ticker='NOPE'"):
        pick_row(explanation, ticker="NOPE")


def test_importance_views_are_mean_absolute_shap_of_the_stored_values(run: RunResult,
                                                                      explanation: RunExplanation) -> None:
    stored = pd.read_parquet(run.path / "shap_values.parquet")
    expected = stored.abs().mean().sort_values(ascending=False)
    bars = importance_figure(explanation.shap, top=10).data[0]
    assert list(bars.y) == list(expected.index[:10][::-1])
    np.testing.assert_allclose(np.asarray(bars.x, dtype=float), expected.to_numpy()[:10][::-1], rtol=1e-12)

    table = importance_by_volatility(explanation)
    rv = explanation.shap.data["rv_60"].to_numpy()
    terciles = pd.qcut(pd.Series(rv).rank(method="average"), 3, labels=["calm", "normal", "stressed"])
    reference = stored.abs().groupby(terciles.to_numpy(), observed=True).mean().T
    pd.testing.assert_frame_equal(table, reference.loc[table.index], check_names=False, check_dtype=False)


def test_a_missing_run_names_wb_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WB_RUNS", str(tmp_path))
    for ref in ("latest", "no-such-run"):
        with pytest.raises(ShapRunError, match="wb demo") as caught:
            load_explanation(ref)
        assert "\n" not in str(caught.value)
