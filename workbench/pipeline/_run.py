"""Running a research pipeline: purged walk-forward LightGBM against the logistic baseline, then metrics,
backtests, SHAP and a report, all written to one run folder (config, predictions, metrics, models, figures)."""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from tqdm.auto import tqdm

from workbench.evaluation import (
    backtest_top_k,
    buy_and_hold,
    calibration_figure,
    calibration_table,
    classification_report,
    equity_figure,
    information_coefficient,
    precision_at_k,
)
from workbench.evaluation._shap import (
    dependence_figure,
    explain,
    importance_by_regime_figure,
    importance_figure,
    interaction_figure,
    volatility_regimes,
)
from workbench.models import LightGBMModel, LogisticBaseline, tune_lightgbm
from workbench.models._tuning import default_storage
from workbench.pipeline._config import PipelineConfig
from workbench.pipeline._dataset import ResearchData, build_research_data
from workbench.pipeline._report import metrics_tables, write_report
from workbench.validation import PurgedKFold, WalkForward

MODELS = ("lightgbm", "baseline")


def runs_root() -> Path:
    """Where runs are written: ``$WB_RUNS`` or ``./runs``."""
    return Path(os.environ.get("WB_RUNS", "runs")).resolve()


@dataclass(frozen=True)
class RunResult:
    """A finished run: its folder, metrics and out-of-sample predictions."""

    path: Path
    metrics: dict[str, Any]
    predictions: pd.DataFrame

    @property
    def report(self) -> Path:
        """The HTML report."""
        return self.path / "report.html"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else float(value)
    return value


class Pipeline:
    """``Pipeline(config).run()``: deterministic for a given config (the seed is part of it)."""

    def __init__(self, config: PipelineConfig | dict[str, Any]) -> None:
        self.config = config if isinstance(config, PipelineConfig) else PipelineConfig.from_dict(config)

    def run(self, out_dir: str | Path | None = None, *, progress: bool = True) -> RunResult:
        """Build the data, walk forward, evaluate, explain, and write the run folder."""
        config = self.config
        path = Path(out_dir) if out_dir is not None else runs_root() / f"{config.name}-{config.fingerprint}"
        (path / "models").mkdir(parents=True, exist_ok=True)
        (path / "figures").mkdir(exist_ok=True)
        (path / "config.json").write_text(config.to_json())
        timings: dict[str, float] = {}
        bar = tqdm(total=5, desc=f"run {config.name}", unit="stage", disable=not progress)

        started = time.perf_counter()
        data = build_research_data(config)
        timings["data"] = time.perf_counter() - started
        bar.update()

        started = time.perf_counter()
        splitter = WalkForward(train_days=config.cv.train_days, test_days=config.cv.test_days,
                               step=config.cv.step_days, embargo=config.cv.embargo_bars,
                               expanding=config.cv.expanding, t1=data.t1)
        splits = list(splitter.split(data.X))
        params = {**config.model.params, "seed": config.seed}
        tuning = self._tune(data, splits[0][0], path) if config.model.n_trials > 0 else None
        if tuning is not None:
            params.update(tuning["best_params"])
        timings["tuning"] = time.perf_counter() - started
        bar.update()

        started = time.perf_counter()
        predictions, folds, last_model, last_test = self._walk_forward(data, splits, params, path, progress)
        predictions.to_parquet(path / "predictions.parquet", index=False)
        timings["walk_forward"] = time.perf_counter() - started
        bar.update()

        started = time.perf_counter()
        metrics, figures = self._evaluate(data, predictions)
        timings["evaluation"] = time.perf_counter() - started
        bar.update()

        started = time.perf_counter()
        figures.update(self._explain(last_model, data.X.iloc[last_test], path))
        timings["shap"] = time.perf_counter() - started
        metrics.update(folds=folds, tuning=tuning, timings=timings, n_events=len(data.frame),
                       fingerprint=config.fingerprint, name=config.name)
        metrics = _jsonable(metrics)
        (path / "metrics.json").write_text(json.dumps(metrics, indent=2))
        for name, figure in figures.items():
            slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
            figure.write_html(path / "figures" / f"{slug}.html", include_plotlyjs="directory")  # offline
        write_report(path / "report.html", f"Research run {config.name} ({config.fingerprint})",
                     metrics_tables(metrics), figures, self._notes(metrics))
        bar.update()
        bar.close()
        return RunResult(path=path, metrics=metrics, predictions=predictions)

    def _tune(self, data: ResearchData, train: np.ndarray, path: Path) -> dict[str, Any]:
        config = self.config
        X, t1 = data.X.iloc[train], data.t1.iloc[train]
        result = tune_lightgbm(X, data.frame["y"].to_numpy()[train],
                               cv=PurgedKFold(config.model.tuning_folds, t1=t1, embargo_pct=0.01), t1=t1,
                               sample_weight=data.frame["weight"].to_numpy()[train], n_trials=config.model.n_trials,
                               storage=config.model.storage or default_storage(path),
                               study_name=f"{config.name}-{config.fingerprint}", seed=config.seed,
                               model_params=config.model.params)
        return {"best_params": result.best_params, "best_log_loss": result.best_value,
                "n_trials": len(result.study.trials)}

    def _walk_forward(self, data: ResearchData, splits: list[tuple[np.ndarray, np.ndarray]], params: dict[str, Any],
                      path: Path, progress: bool) -> tuple[pd.DataFrame, list[dict[str, Any]], LightGBMModel,
                                                           np.ndarray]:
        frame, X, t1 = data.frame, data.X, data.t1
        y, weight = frame["y"].to_numpy(), frame["weight"].to_numpy()
        pieces, folds = [], []
        model, test = None, np.zeros(0, dtype=np.int64)
        for k, (train, test) in enumerate(tqdm(splits, desc="walk-forward folds", disable=not progress)):
            model = LightGBMModel(**params).fit(X.iloc[train], y[train], weight[train], t1=t1.iloc[train])
            baseline = LogisticBaseline().fit(X.iloc[train], y[train], weight[train])
            model.save(path / "models" / f"fold_{k}.txt")
            piece = frame.iloc[test][["ts", "ticker", "y", "ret", "t1", "weight", "barrier"]].copy()
            piece["fold"] = k
            piece["p_lightgbm"] = model.predict_proba(X.iloc[test])[:, 1]
            piece["p_baseline"] = baseline.predict_proba(X.iloc[test])[:, 1]
            pieces.append(piece)
            folds.append({"fold": k, "train_start": str(frame["ts"].iloc[train].min()),
                          "train_end": str(frame["ts"].iloc[train].max()), "test_start": str(piece["ts"].min()),
                          "test_end": str(piece["ts"].max()), "n_train": len(train), "n_test": len(test),
                          "best_iteration": model.best_iteration_})
        if model is None:
            raise ValueError("the walk-forward configuration yields no folds on this data; shorten cv.train_days "
                             "or add sessions")
        predictions = pd.concat(pieces, ignore_index=True)
        predictions["ticker"] = predictions["ticker"].astype(str)
        return predictions, folds, model, test

    def _evaluate(self, data: ResearchData, predictions: pd.DataFrame) -> tuple[dict[str, Any], dict[str, Any]]:
        config = self.config
        evaluation, horizon = config.evaluation, config.labels.vertical_bars
        metrics: dict[str, Any] = {"classification": {}, "cross_section": {}, "backtests": {}}
        figures: dict[str, Any] = {}
        traded = data.close.loc[predictions["ts"].min():]  # from the first prediction on, to hold the last
        results = {}
        for name in MODELS:
            p = predictions[f"p_{name}"].to_numpy()
            metrics["classification"][name] = classification_report(predictions["y"], p)
            panel = predictions.rename(columns={f"p_{name}": "p"})[["ts", "ticker", "p", "y", "ret"]]
            ic = information_coefficient(panel, min_names=evaluation.min_names, nw_lags=max(horizon - 1, 0))
            top = precision_at_k(panel, evaluation.top_k)
            metrics["cross_section"][name] = {"ic": ic.summary().drop("method").to_dict(),
                                              "precision_at_k": top.summary().to_dict()}
            results[f"{name} top-{evaluation.top_k} long"] = backtest_top_k(
                panel, close=traded, k=evaluation.top_k, horizon_bars=horizon, fees_bps=evaluation.fees_bps,
                slippage_bps=evaluation.slippage_bps, flatten_at_close=True)
            figures[f"Calibration {name}"] = calibration_figure(calibration_table(predictions["y"], p),
                                                                title=f"Reliability of {name}")
            if name == "lightgbm":
                results[f"{name} top/bottom-{evaluation.top_k} long-short"] = backtest_top_k(
                    panel, close=traded, k=evaluation.top_k, horizon_bars=horizon, long_short=True,
                    fees_bps=evaluation.fees_bps, slippage_bps=evaluation.slippage_bps, flatten_at_close=True)
                figures["Rank IC per minute (cumulative)"] = _cumulative_ic_figure(ic.series)
        first = next(iter(results.values())).equity.index
        index_close = data.close[data.index_ticker].loc[first[0]:first[-1]].dropna()
        results[f"buy and hold {data.index_ticker}"] = buy_and_hold(index_close, fees_bps=evaluation.fees_bps,
                                                                  slippage_bps=evaluation.slippage_bps)
        metrics["backtests"] = {name: result.summary().to_dict() for name, result in results.items()}
        figures["Equity"] = equity_figure(results, gross=True)
        lightgbm, baseline = metrics["classification"]["lightgbm"], metrics["classification"]["baseline"]
        metrics["lightgbm_beats_baseline_log_loss"] = bool(lightgbm["log_loss"] < baseline["log_loss"])
        return metrics, figures

    def _explain(self, model: LightGBMModel, X: pd.DataFrame, path: Path) -> dict[str, Any]:
        result = explain(model, X, max_rows=self.config.evaluation.shap_rows, seed=self.config.seed)
        result.values.to_parquet(path / "shap_values.parquet")
        figures = {"SHAP importance": importance_figure(result)}
        volatility = next((c for c in ("rv_60", "rv_15", "atr_n_14") if c in result.data), None)
        if volatility is not None:
            table = result.importance_by(volatility_regimes(result.data[volatility]))
            figures["SHAP importance by volatility regime"] = importance_by_regime_figure(table)
        top = result.global_importance().index[0]
        figures[f"SHAP dependence {top}"] = dependence_figure(result, top)
        figures["SHAP interactions"] = interaction_figure(result)
        return figures

    @staticmethod
    def _notes(metrics: dict[str, Any]) -> list[str]:
        ic = metrics["cross_section"]["lightgbm"]["ic"]
        return [f"{metrics['n_events']:,} labelled events, {len(metrics['folds'])} purged walk-forward folds.",
                f"LightGBM out-of-sample rank IC {ic['mean']:.4f} (t = {ic['t_stat']:.1f}, Newey-West t = "
                f"{ic['t_stat_nw']:.1f}); beats the logistic baseline on log-loss: "
                f"{metrics['lightgbm_beats_baseline_log_loss']}."]


def _cumulative_ic_figure(series: pd.Series) -> go.Figure:
    """The running sum of the per-minute IC: a straight rising line is a stable edge."""
    figure = go.Figure(go.Scatter(x=pd.DatetimeIndex(series.index), y=series.cumsum().to_numpy(), mode="lines"))
    figure.update_layout(title="Cumulative rank IC of LightGBM's out-of-sample predictions",
                         yaxis_title="cumulative IC", template="plotly_white")
    return figure
