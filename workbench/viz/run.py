"""Figures and tables of one finished pipeline run, read from its folder (what the run wrote, nothing
recomputed but the reliability bins): every out-of-sample metric, the equity curve and drawdown of each
backtest (``returns.parquet``), the rank IC over time (daily, every model), the primary model's calibration,
the per-fold table and the config — the ``05_walk_forward`` notebook's views."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench.data import EXCHANGE_TZ
from workbench.evaluation import calibration_figure, calibration_table


def _metrics(folder: str | Path) -> dict[str, Any]:
    return json.loads((Path(folder) / "metrics.json").read_text())


def run_config(folder: str | Path) -> dict[str, Any]:
    """The run's ``config.json``."""
    return json.loads((Path(folder) / "config.json").read_text())


def metrics_table(folder: str | Path) -> pd.DataFrame:
    """Every out-of-sample headline metric, one row per model: log-loss, Brier score and ROC-AUC on all events
    and on the horizontal-barrier events, rank IC with its Newey-West t and interval, direction skill, and
    precision@K against its base rate."""
    metrics = _metrics(folder)
    rows = {}
    for model in (entry["name"] for entry in metrics["models"]):
        every, horizontal = metrics["classification"][model], metrics["classification_horizontal"][model]
        ic, top = metrics["cross_section"][model]["ic"], metrics["cross_section"][model]["precision_at_k"]
        skill = metrics["skill"][model]
        rows[model] = {"log_loss": every.get("log_loss"), "brier": every.get("brier"), "roc_auc": every.get("roc_auc"),
                       "log_loss_horizontal": horizontal.get("log_loss"),
                       "roc_auc_horizontal": horizontal.get("roc_auc"), "rank_ic": ic.get("mean"),
                       "rank_ic_t_nw": ic.get("t_stat_nw"), "ic_ci_low": skill.get("ci_low"),
                       "ic_ci_high": skill.get("ci_high"), "direction_skill": skill.get("skill"),
                       "precision_at_k": top.get("precision"), "base_rate": top.get("base_rate")}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")


def backtest_table(folder: str | Path) -> pd.DataFrame:
    """Every backtest's summary (net of costs, ``gross_sharpe`` before them), one row per strategy."""
    return pd.DataFrame.from_dict(_metrics(folder)["backtests"], orient="index").rename_axis("backtest")


def fold_table(folder: str | Path) -> pd.DataFrame:
    """One row per walk-forward fold: its windows and sizes, then each model's log-loss, ROC-AUC and mean
    per-minute rank IC on the fold's test rows (columns ``<metric> <model>``)."""
    metrics = _metrics(folder)
    folds = pd.DataFrame(metrics["folds"]).set_index("fold")
    scores = pd.DataFrame(metrics["fold_metrics"]).pivot(index="fold", columns="model",
                                                         values=["log_loss", "roc_auc", "rank_ic"])
    scores.columns = [f"{metric} {model}" for metric, model in scores.columns]
    return folds.join(scores)


def _local(index: pd.Index) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(index).tz_convert(EXCHANGE_TZ).tz_localize(None)


def equity_drawdown_figure(folder: str | Path) -> go.Figure:
    """Each backtest's equity per unit of capital (the compounded per-minute net returns of
    ``returns.parquet``; the primary backtest's gross curve dashed) over its drawdown from the running peak.
    Exchange time on the axis, overnight gaps hidden."""
    metrics = _metrics(folder)
    primary = metrics.get("primary_backtest")
    returns = pd.read_parquet(Path(folder) / "returns.parquet")
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04)
    for name, piece in returns.groupby("backtest", sort=False):
        piece = piece.sort_values("ts")
        x = _local(piece["ts"])
        equity = (1.0 + piece["net_return"]).cumprod()
        width = 2.5 if name == primary else 1.2
        figure.add_trace(go.Scatter(x=x, y=equity, mode="lines", name=str(name), legendgroup=str(name),
                                    line={"width": width}), row=1, col=1)
        if name == primary:
            gross = (1.0 + piece["gross_return"]).cumprod()
            figure.add_trace(go.Scatter(x=x, y=gross, mode="lines", name=f"{name} (gross)", legendgroup=str(name),
                                        line={"dash": "dash", "width": 1.2}), row=1, col=1)
        figure.add_trace(go.Scatter(x=x, y=equity / equity.cummax() - 1.0, mode="lines", name=f"{name} drawdown",
                                    legendgroup=str(name), showlegend=False, line={"width": width}), row=2, col=1)
    figure.update_xaxes(rangebreaks=[{"bounds": [16, 9.5], "pattern": "hour"}, {"bounds": ["sat", "mon"]}])
    figure.update_yaxes(title_text="equity", row=1, col=1)
    figure.update_yaxes(title_text="drawdown", tickformat=".1%", row=2, col=1)
    figure.update_layout(title=f"Equity and drawdown (primary: {primary})", template="plotly_white")
    return figure


def ic_over_time_figure(folder: str | Path) -> go.Figure:
    """Each model's daily rank IC (the mean per-minute IC of each session, ``metrics.json``'s ``daily_ic``) as
    bars, with its running mean over the sessions as a line."""
    daily = _metrics(folder)["daily_ic"]
    figure = go.Figure()
    for model, days in daily.items():
        series = pd.Series(days, dtype=float).sort_index()
        figure.add_trace(go.Bar(x=list(series.index), y=series.to_numpy(), name=f"{model} daily IC",
                                legendgroup=model))
        figure.add_trace(go.Scatter(x=list(series.index), y=series.expanding().mean().to_numpy(), mode="lines+markers",
                                    name=f"{model} running mean", legendgroup=model))
    figure.update_layout(title="Rank IC over time (daily mean of the per-minute IC)", yaxis_title="rank IC",
                         xaxis_title="session", barmode="group", template="plotly_white")
    return figure


def run_calibration_figure(folder: str | Path, model: str | None = None, n_bins: int = 10) -> go.Figure:
    """The reliability diagram of ``model`` (default: the primary) on the run's out-of-sample predictions
    (:func:`workbench.evaluation.calibration_table` with quantile bins)."""
    metrics = _metrics(folder)
    model = model or metrics["models"][0]["name"]
    names = [entry["name"] for entry in metrics["models"]]
    if model not in names:
        raise ValueError(f"no model {model!r} in this run; its models: {', '.join(names)}")
    predictions = pd.read_parquet(Path(folder) / "predictions.parquet", columns=["y", f"p_{model}"])
    table = calibration_table(predictions["y"], predictions[f"p_{model}"], n_bins=n_bins, strategy="quantile")
    return calibration_figure(table, title=f"Reliability of {model} (out of sample)")
