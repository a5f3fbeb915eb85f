"""The evaluation stage: out-of-sample predictions → classification metrics (all events and horizontal-barrier
events), rank IC and precision@K per minute, direction-skill verdicts with their intervals, paired log-loss
tests, executable backtests with the primary model's alpha decay and cost sensitivity, per-fold metrics and the
daily IC of every model — as :class:`RunMetrics` plus the figures."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy.stats import norm

from workbench.data import EXCHANGE_TZ
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
from workbench.pipeline._config import PipelineConfig
from workbench.pipeline._dataset import ResearchData
from workbench.pipeline._metrics import RunMetrics
from workbench.pipeline._walk import WalkForwardResult

HORIZONTAL = ("pt", "sl")  # events that touched a horizontal barrier: there ``y`` is pure direction


@dataclass(frozen=True)
class Evaluation:
    """The evaluation stage's output: the metrics, the figures (title → plotly figure) and the per-minute
    returns of every backtest (long: ``ts``, ``backtest``, ``net_return``, ``gross_return``) of a run."""

    metrics: RunMetrics
    figures: dict[str, go.Figure]
    returns: pd.DataFrame


def backtest_returns(results: dict[str, Any]) -> pd.DataFrame:
    """Every backtest's per-minute net and gross returns in long format (``returns.parquet``): one row per
    backtest and UTC minute, the name as ``metrics.json``'s ``backtests`` key."""
    frames = [pd.DataFrame({"ts": pd.DatetimeIndex(result.returns.index).tz_convert("UTC"), "backtest": name,
                            "net_return": result.returns.to_numpy(dtype=float),
                            "gross_return": result.gross_returns.reindex(result.returns.index).to_numpy(dtype=float)})
              for name, result in results.items()]
    return pd.concat(frames, ignore_index=True)


def ic_verdict(ic: ICResult, alpha: float) -> dict[str, Any]:
    """Direction skill as a volatility timer cannot fake it: the rank IC of the signed label return, with its
    two-sided ``1 - alpha`` Newey-West interval; skill is claimed only when the whole interval is above zero
    (noise does so with probability ``alpha / 2``)."""
    z = float(norm.ppf(1.0 - alpha / 2.0))
    se = abs(ic.mean / ic.t_stat_nw) if np.isfinite(ic.t_stat_nw) and ic.t_stat_nw != 0 else np.nan
    low, high = ic.mean - z * se, ic.mean + z * se
    return {"ic": ic.mean, "ci_low": low, "ci_high": high, "level": 1.0 - alpha, "skill": bool(low > 0)}


def daily_ic(series: pd.Series) -> dict[str, float]:
    """The mean per-minute IC of each New York session date (``YYYY-MM-DD`` → mean)."""
    days = pd.DatetimeIndex(series.index).tz_convert(EXCHANGE_TZ).date
    return {str(day): float(value) for day, value in series.groupby(days).mean().items()}


def fold_metrics(predictions: pd.DataFrame, names: list[str], ics: dict[str, ICResult]) -> list[dict[str, Any]]:
    """Per fold and model: log-loss and ROC-AUC of its test rows, and the mean per-minute rank IC of its test
    minutes (folds' test windows do not overlap, so each minute belongs to one fold)."""
    rows = []
    for fold, piece in predictions.groupby("fold", sort=True):
        minutes = pd.DatetimeIndex(piece["ts"].unique())
        for name in names:
            report = classification_report(piece["y"], piece[f"p_{name}"])
            series = ics[name].series
            inside = series[pd.DatetimeIndex(series.index).isin(minutes)]
            rows.append({"fold": int(fold), "model": name, "n_test": len(piece), "log_loss": report["log_loss"],
                         "roc_auc": report["roc_auc"], "rank_ic": float(inside.mean()) if len(inside) else np.nan,
                         "n_minutes": len(inside)})
    return rows


def evaluate(config: PipelineConfig, data: ResearchData, result: WalkForwardResult) -> Evaluation:
    """Score ``result``'s out-of-sample predictions of every configured model on ``data``'s adjusted bars."""
    evaluation, horizon, execution = config.evaluation, config.labels.vertical_bars, config.execution
    predictions, specs = result.predictions, result.specs
    names, primary = [spec.name for spec in specs], specs[0].name
    sections: dict[str, dict[str, Any]] = {key: {} for key in (
        "classification", "classification_horizontal", "cross_section", "backtests", "loss_tests", "skill")}
    calibration: dict[str, go.Figure] = {}
    sensitivity_figures: dict[str, go.Figure] = {}
    horizontal = predictions["barrier"].isin(HORIZONTAL).to_numpy()
    traded = data.prices.since(predictions["ts"].min())  # from the first prediction on, to hold the last
    trading = {"prices": traded, "k": evaluation.top_k, "horizon_bars": horizon, "execution": execution,
               "flatten_at_close": True}
    results, ics, sensitivity, long_short = {}, {}, {}, None
    for name in names:
        p = predictions[f"p_{name}"].to_numpy()
        sections["classification"][name] = classification_report(predictions["y"], p)
        sections["classification_horizontal"][name] = classification_report(predictions["y"][horizontal],
                                                                             p[horizontal])
        panel = predictions.rename(columns={f"p_{name}": "p"})[["ts", "ticker", "p", "y", "ret"]]
        ics[name] = information_coefficient(panel, min_names=evaluation.min_names, nw_lags=max(horizon - 1, 0))
        top = precision_at_k(panel, evaluation.top_k)
        sections["cross_section"][name] = {"ic": ics[name].summary().drop("method").to_dict(),
                                           "precision_at_k": top.summary().to_dict()}
        sections["skill"][name] = ic_verdict(ics[name], evaluation.alpha)
        results[f"{name} top-{evaluation.top_k} long"] = backtest_top_k(panel, **trading)
        calibration[f"Calibration {name}"] = calibration_figure(calibration_table(predictions["y"], p),
                                                            title=f"Reliability of {name}")
        if name == primary:
            long_short = f"{name} top/bottom-{evaluation.top_k} long-short"
            results[long_short] = backtest_top_k(panel, long_short=True, **trading)
            table = execution_sensitivity(panel, long_short=True, delays=evaluation.decay_delays,
                                          cost_multipliers=evaluation.cost_multipliers, **trading)
            sensitivity = {"strategy": long_short, "table": table.to_dict(orient="records")}
            sensitivity_figures[f"Alpha decay and cost sensitivity ({long_short})"] = sensitivity_figure(table)
    _loss_tests(config, predictions, specs, sections)
    if data.index_ticker is not None:  # without an index instrument there is no benchmark to hold
        first = next(iter(results.values())).equity.index
        results[f"buy and hold {data.index_ticker}"] = buy_and_hold(
            traded.select([data.index_ticker]).between(first[0], first[-1]), execution=execution)
    sections["backtests"] = {name: backtest.summary().to_dict() for name, backtest in results.items()}
    daily = {name: daily_ic(ics[name].series) for name in names}
    figures = {"Rank IC per minute (cumulative), every model": _cumulative_ic_figure(ics),
               "Daily rank IC, every model": _daily_ic_figure(daily), "Equity": equity_figure(results, gross=True),
               **sensitivity_figures, **calibration}  # the report's order: skill, money, calibration
    metrics = RunMetrics(
        name=config.name, fingerprint=config.fingerprint, n_events=len(data.frame),
        models=[{"name": spec.name, "kind": spec.kind} for spec in specs], **sections, sensitivity=sensitivity,
        execution={**dataclasses.asdict(execution), "quoted_share": traded.quoted_share},
        index={"ticker": data.index_ticker, "skipped_features": list(data.skipped_index_features),
               "benchmark": None if data.index_ticker is None else f"buy and hold {data.index_ticker}",
               "note": data.index_note},
        dropped_features=dict(data.dropped_features), folds=result.folds,
        fold_metrics=fold_metrics(predictions, names, ics), daily_ic=daily, tuning=result.tuning,
        primary_backtest=long_short)
    return Evaluation(metrics=metrics, figures=figures, returns=backtest_returns(results))


def _loss_tests(config: PipelineConfig, predictions: pd.DataFrame, specs: tuple, sections: dict[str, Any]) -> None:
    """Paired log-loss tests of every pair of models in config order; a model's ``beats_volatility`` verdict is
    its test against the volatility-kind reference."""
    evaluation = config.evaluation
    probabilities = predictions.rename(columns={f"p_{spec.name}": spec.name for spec in specs})
    for model, reference in combinations(specs, 2):
        test = paired_loss_test(probabilities, model.name, reference.name, t1="t1", method=evaluation.loss_test,
                                alpha=evaluation.alpha, seed=config.seed)
        sections["loss_tests"][f"{model.name} vs {reference.name}"] = {**test.summary().to_dict(), "text": str(test)}
        if reference.kind == "volatility" and model.kind != "volatility":
            sections["skill"][model.name]["beats_volatility"] = test.model_better


def _cumulative_ic_figure(ics: dict[str, ICResult]) -> go.Figure:
    """The running sum of each model's per-minute IC: a straight rising line is a stable edge."""
    figure = go.Figure([go.Scatter(x=pd.DatetimeIndex(ic.series.index), y=ic.series.cumsum().to_numpy(),
                                   mode="lines", name=name) for name, ic in ics.items()])
    figure.update_layout(title="Cumulative rank IC of the out-of-sample predictions", yaxis_title="cumulative IC",
                         template="plotly_white")
    return figure


def _daily_ic_figure(daily: dict[str, dict[str, float]]) -> go.Figure:
    """Each model's mean per-minute rank IC per session date, side by side."""
    figure = go.Figure([go.Bar(x=list(days), y=list(days.values()), name=name) for name, days in daily.items()])
    figure.update_layout(title="Daily rank IC (mean of the per-minute IC) of every model", yaxis_title="rank IC",
                         barmode="group", template="plotly_white")
    return figure
