"""Running a research pipeline: purged walk-forward LightGBM against the logistic baseline and a
volatility-only reference, then metrics, skill verdicts with confidence intervals, executable backtests with
their alpha decay and cost sensitivity, SHAP and a report, all written to one run folder (config,
predictions, metrics, models, figures)."""

from __future__ import annotations

import dataclasses
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
from scipy.stats import norm

from workbench._progress import progress as progress_bar
from workbench.evaluation import (
    ICResult,
    backtest_top_k,
    buy_and_hold,
    calibration_figure,
    calibration_table,
    classification_report,
    equity_figure,
    execution_sensitivity,
    information_coefficient,
    paired_loss_test,
    precision_at_k,
    sensitivity_figure,
)
from workbench.evaluation._shap import (
    dependence_figure,
    explain,
    importance_by_regime_figure,
    importance_figure,
    interaction_figure,
    volatility_regimes,
)
from workbench.models import LightGBMModel, LogisticBaseline, VolatilityReference, tune_lightgbm
from workbench.models._tuning import default_storage
from workbench.pipeline._config import PipelineConfig
from workbench.pipeline._dataset import ResearchData, build_research_data, open_dataset
from workbench.pipeline._fit import check_fit
from workbench.pipeline._report import metrics_tables, write_report
from workbench.validation import PurgedKFold, WalkForward

MODELS = ("lightgbm", "baseline", "volatility")
"""Every run scores LightGBM, the logistic baseline and a volatility-only reference (direction-free inputs:
what a volatility timer gets from ``y`` = upper barrier first, which is not direction skill)."""
LOSS_TESTS = (("lightgbm", "baseline"), ("lightgbm", "volatility"), ("baseline", "volatility"))
HORIZONTAL = ("pt", "sl")  # events that touched a horizontal barrier: there ``y`` is pure direction


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
        dataset = open_dataset(config)
        fit = check_fit(config, dataset)  # a setting that cannot work on this data fails before any work
        path = Path(out_dir) if out_dir is not None else runs_root() / f"{config.name}-{config.fingerprint}"
        (path / "models").mkdir(parents=True, exist_ok=True)
        (path / "figures").mkdir(exist_ok=True)
        (path / "config.json").write_text(config.to_json())
        timings: dict[str, float] = {}
        bar = progress_bar(total=5, desc=f"run {config.name}", unit="stages", enabled=progress)

        started = time.perf_counter()
        data = build_research_data(config, dataset, fit)
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
        for k, (train, test) in enumerate(progress_bar(splits, desc="walk-forward folds", enabled=progress)):
            model = LightGBMModel(**params).fit(X.iloc[train], y[train], weight[train], t1=t1.iloc[train])
            baseline = LogisticBaseline().fit(X.iloc[train], y[train], weight[train])
            volatility = VolatilityReference().fit(X.iloc[train], y[train], weight[train])
            model.save(path / "models" / f"fold_{k}.txt")
            piece = frame.iloc[test][["ts", "ticker", "y", "ret", "t1", "entry_ts", "weight", "barrier"]].copy()
            piece["fold"] = k
            piece["p_lightgbm"] = model.predict_proba(X.iloc[test])[:, 1]
            piece["p_baseline"] = baseline.predict_proba(X.iloc[test])[:, 1]
            piece["p_volatility"] = volatility.predict_proba(X.iloc[test])[:, 1]
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
        evaluation, horizon, execution = config.evaluation, config.labels.vertical_bars, config.execution
        metrics: dict[str, Any] = {"classification": {}, "classification_horizontal": {}, "cross_section": {},
                                   "backtests": {}, "loss_tests": {}, "skill": {}}
        figures: dict[str, Any] = {}
        horizontal = predictions["barrier"].isin(HORIZONTAL).to_numpy()
        traded = data.prices.since(predictions["ts"].min())  # from the first prediction on, to hold the last
        trading = {"prices": traded, "k": evaluation.top_k, "horizon_bars": horizon, "execution": execution,
                   "flatten_at_close": True}
        results = {}
        for name in MODELS:
            p = predictions[f"p_{name}"].to_numpy()
            metrics["classification"][name] = classification_report(predictions["y"], p)
            metrics["classification_horizontal"][name] = classification_report(predictions["y"][horizontal],
                                                                                p[horizontal])
            panel = predictions.rename(columns={f"p_{name}": "p"})[["ts", "ticker", "p", "y", "ret"]]
            ic = information_coefficient(panel, min_names=evaluation.min_names, nw_lags=max(horizon - 1, 0))
            top = precision_at_k(panel, evaluation.top_k)
            metrics["cross_section"][name] = {"ic": ic.summary().drop("method").to_dict(),
                                              "precision_at_k": top.summary().to_dict()}
            metrics["skill"][name] = ic_verdict(ic, evaluation.alpha)
            results[f"{name} top-{evaluation.top_k} long"] = backtest_top_k(panel, **trading)
            figures[f"Calibration {name}"] = calibration_figure(calibration_table(predictions["y"], p),
                                                                title=f"Reliability of {name}")
            if name == "lightgbm":
                long_short = f"{name} top/bottom-{evaluation.top_k} long-short"
                results[long_short] = backtest_top_k(panel, long_short=True, **trading)
                figures["Rank IC per minute (cumulative)"] = _cumulative_ic_figure(ic.series)
                table = execution_sensitivity(panel, long_short=True, delays=evaluation.decay_delays,
                                              cost_multipliers=evaluation.cost_multipliers, **trading)
                metrics["sensitivity"] = {"strategy": long_short, "table": table.to_dict(orient="records")}
                figures[f"Alpha decay and cost sensitivity ({long_short})"] = sensitivity_figure(table)
        probabilities = predictions.rename(columns={f"p_{name}": name for name in MODELS})
        for model, reference in LOSS_TESTS:
            test = paired_loss_test(probabilities, model, reference, t1="t1", method=evaluation.loss_test,
                                    alpha=evaluation.alpha, seed=config.seed)
            metrics["loss_tests"][f"{model} vs {reference}"] = {**test.summary().to_dict(), "text": str(test)}
            if reference == "volatility":
                metrics["skill"][model]["beats_volatility"] = test.model_better
        if data.index_ticker is not None:  # without an index instrument there is no benchmark to hold
            first = next(iter(results.values())).equity.index
            results[f"buy and hold {data.index_ticker}"] = buy_and_hold(
                traded.select([data.index_ticker]).between(first[0], first[-1]), execution=execution)
        metrics["index"] = {"ticker": data.index_ticker, "skipped_features": list(data.skipped_index_features),
                            "benchmark": None if data.index_ticker is None else f"buy and hold {data.index_ticker}",
                            "note": data.index_note}
        metrics["dropped_features"] = dict(data.dropped_features)
        metrics["backtests"] = {name: result.summary().to_dict() for name, result in results.items()}
        metrics["execution"] = {**dataclasses.asdict(execution), "quoted_share": traded.quoted_share}
        figures["Equity"] = equity_figure(results, gross=True)
        metrics["lightgbm_beats_baseline_log_loss"] = bool(
            metrics["loss_tests"]["lightgbm vs baseline"]["model_better"])
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
        execution = metrics["execution"]
        notes = [f"{metrics['n_events']:,} labelled events, {len(metrics['folds'])} purged walk-forward folds.",
                 f"Execution: a signal at bar t fills at the {execution['fill_price']} of bar t + "
                 f"{execution['delay_bars']} and pays {execution['fees_bps']:g} bp fees plus half the quoted spread"
                 f"{' and square-root impact' if execution['impact_coef'] > 0 else ''}; labels enter at the same "
                 "fill, on prices adjusted for corporate actions.",
                 f"LightGBM out-of-sample rank IC of the signed label return {ic['mean']:.4f} (Newey-West t = "
                 f"{ic['t_stat_nw']:.1f}); direction skill at {metrics['skill']['lightgbm']['level']:.0%}: "
                 f"{metrics['skill']['lightgbm']['skill']}."]
        if execution["quoted_share"] < 1.0:
            notes.append(f"No quote is known for {1 - execution['quoted_share']:.1%} of the bars traded: fills there "
                         f"pay half of the configured fallback spread of {execution['fallback_spread_bps']:g} bp "
                         "(execution.fallback_spread_bps) instead of a quoted one.")
        if metrics["index"]["note"]:
            notes.append(f"{metrics['index']['note']} Left out: {', '.join(metrics['index']['skipped_features'])}.")
        if metrics["dropped_features"]:
            notes.append(f"{len(metrics['dropped_features'])} feature(s) are NaN on every event of this data and were "
                         "left out of the model inputs (data.features_all_nan = 'drop'): "
                         + "; ".join(f"{c} ({why})" for c, why in metrics["dropped_features"].items()) + ".")
        notes += [test["text"] for test in metrics["loss_tests"].values()]
        return notes


def ic_verdict(ic: ICResult, alpha: float) -> dict[str, Any]:
    """Direction skill as a volatility timer cannot fake it: the rank IC of the signed label return, with its
    two-sided ``1 - alpha`` Newey-West interval; skill is claimed only when the whole interval is above zero
    (noise does so with probability ``alpha / 2``)."""
    z = float(norm.ppf(1.0 - alpha / 2.0))
    se = abs(ic.mean / ic.t_stat_nw) if np.isfinite(ic.t_stat_nw) and ic.t_stat_nw != 0 else np.nan
    low, high = ic.mean - z * se, ic.mean + z * se
    return {"ic": ic.mean, "ci_low": low, "ci_high": high, "level": 1.0 - alpha, "skill": bool(low > 0)}


def _cumulative_ic_figure(series: pd.Series) -> go.Figure:
    """The running sum of the per-minute IC: a straight rising line is a stable edge."""
    figure = go.Figure(go.Scatter(x=pd.DatetimeIndex(series.index), y=series.cumsum().to_numpy(), mode="lines"))
    figure.update_layout(title="Cumulative rank IC of LightGBM's out-of-sample predictions",
                         yaxis_title="cumulative IC", template="plotly_white")
    return figure
