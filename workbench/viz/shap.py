"""A finished run's SHAP explanation (notebook 04_shap): the stored SHAP values of the explained fold with its
LightGBM model and feature rows, the run's importance, regime, dependence and interaction views, and the waterfall
of a single prediction (one ticker-minute) from the base value to the model's log-odds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from workbench.data import EXCHANGE_TZ
from workbench.errors import WorkbenchError
from workbench.evaluation._shap import (
    ShapResult,
    dependence_figure,
    explain,
    importance_by_regime_figure,
    importance_figure,
    interaction_figure,
    volatility_regimes,
)
from workbench.models import LightGBMModel
from workbench.pipeline import PipelineConfig, RunFolderError, build_research_data, locate_run, read_status

__all__ = [
    "RunExplanation",
    "ShapRunError",
    "dependence_figure",
    "importance_by_regime_figure",
    "importance_by_volatility",
    "importance_figure",
    "interaction_figure",
    "load_explanation",
    "pick_row",
    "row_contributions",
    "waterfall_figure",
]

VOLATILITY_FEATURES = ("rv_60", "rv_15", "atr_n_14")
"""The volatility feature the regimes are cut from: the first the run has, as the pipeline's explanation picks."""

_TOLERANCE = 1e-6


class ShapRunError(WorkbenchError, ValueError):
    """A run that cannot be explained: missing, without SHAP values, or no longer reproducible from its data."""


@dataclass(frozen=True)
class RunExplanation:
    """The explained fold of a run: its LightGBM ``model``, ``shap`` (the stored SHAP values, log-odds, with the
    feature rows they explain; both indexed by ``(ts, ticker)``) and ``fold_rows`` (features of every test row of
    the fold, rebuilt from the run's config; indexed alike)."""

    folder: Path
    fold: int
    model_name: str
    model: LightGBMModel
    shap: ShapResult
    fold_rows: pd.DataFrame

    def raw_score(self, rows: pd.DataFrame) -> np.ndarray:
        """The model's log-odds of ``rows`` (LightGBM ``raw_score``, early-stopped as its probabilities)."""
        features = rows[list(self.model.feature_names_in_)]
        return self.model.booster_.predict(features, raw_score=True, num_iteration=self.model.best_iteration_)


def load_explanation(run: str | Path = "latest") -> RunExplanation:
    """The SHAP explanation a run wrote (``shap_values.parquet`` of fold ``metrics.json["explained_fold"]``), with
    that fold's model (``models/``) and feature rows. The run folder holds no features, so they are rebuilt from its
    ``config.json`` by :func:`workbench.pipeline.build_research_data`, and checked: the rebuilt rows must reproduce
    the run's stored predictions and SHAP sums, or the data changed since the run."""
    try:
        folder = locate_run(run)
    except RunFolderError as error:
        hint = "" if "wb demo" in str(error) else "; `wb demo` makes a first run"
        raise ShapRunError(f"{error}{hint}") from None
    state = read_status(folder).get("state")
    if state != "complete":
        raise ShapRunError(f"run {folder.name} is {state}, not complete: explain a finished run (`wb runs list`), "
                           "or re-run it")
    explained = json.loads((folder / "metrics.json").read_text()).get("explained_fold")
    if explained is None or not (folder / "shap_values.parquet").is_file():
        raise ShapRunError(f"run {folder.name} holds no SHAP values: it fits no LightGBM model; list a lightgbm "
                           "model in model.models and re-run it")
    config = PipelineConfig.from_json((folder / "config.json").read_text())
    position, spec = next((i, s) for i, s in enumerate(config.model.specs) if s.kind == "lightgbm")
    stem = f"fold_{explained}" if position == 0 else f"{spec.name}_fold_{explained}"
    model = LightGBMModel.load(folder / "models" / f"{stem}.txt")
    values = pd.read_parquet(folder / "shap_values.parquet")
    frame = build_research_data(config).frame
    keyed = frame[list(model.feature_names_in_)].set_axis(_keys(frame))
    predictions = pd.read_parquet(folder / "predictions.parquet")
    in_fold = predictions[predictions["fold"] == explained]
    fold_keys = _keys(in_fold)
    stale = ShapRunError(f"the data of run {folder.name} changed since it ran (dataset {config.data.dataset!r}): "
                         "the rebuilt rows do not reproduce its predictions; re-run its config.json")
    if not fold_keys.isin(keyed.index).all() or values.index.max() >= len(frame):
        raise stale
    fold_rows = keyed.loc[fold_keys]
    probability = model.predict_proba(fold_rows)[:, 1]
    if not np.allclose(probability, in_fold[f"p_{spec.name}"].to_numpy(), rtol=0, atol=_TOLERANCE):
        raise stale
    data = keyed.iloc[values.index.to_numpy()]
    base = explain(model, data.iloc[:1]).base_value
    values = values.set_axis(data.index)[list(model.feature_names_in_)]
    explanation = RunExplanation(folder=folder, fold=int(explained), model_name=spec.name, model=model,
                                 shap=ShapResult(values=values, data=data, base_value=base), fold_rows=fold_rows)
    if not np.allclose(base + values.sum(axis=1), explanation.raw_score(data), rtol=0, atol=_TOLERANCE):
        raise stale
    return explanation


def _keys(frame: pd.DataFrame) -> pd.MultiIndex:
    """(ts in UTC nanoseconds, ticker as text) of every row: the key predictions and research rows share."""
    ts = pd.DatetimeIndex(frame["ts"]).as_unit("ns")
    return pd.MultiIndex.from_arrays([ts, frame["ticker"].astype(str).to_numpy()], names=["ts", "ticker"])


def importance_by_volatility(explanation: RunExplanation) -> pd.DataFrame:
    """Mean |SHAP| per feature in calm / normal / stressed terciles of the run's volatility feature."""
    shap = explanation.shap
    column = next((c for c in VOLATILITY_FEATURES if c in shap.data), None)
    if column is None:
        raise ShapRunError(f"the run's model has no volatility feature ({', '.join(VOLATILITY_FEATURES)}) to cut "
                           "regimes from; add one to the feature spec")
    return shap.importance_by(volatility_regimes(shap.data[column]))


def _timestamp(ts: object) -> pd.Timestamp:
    """``ts`` in UTC; a time without a zone is read as New York time, as a researcher types a minute."""
    stamp = pd.Timestamp(ts)
    if stamp.tz is None:
        stamp = stamp.tz_localize(EXCHANGE_TZ)
    return stamp.tz_convert("UTC").as_unit("ns")


def pick_row(explanation: RunExplanation, ticker: str | None = None, ts: object = None) -> tuple[pd.Timestamp, str]:
    """The (ts, ticker) of a test row of the explained fold: the given one, or, for what is left open, the row of
    the most confident prediction (largest |log-odds|) — of ``ticker``, at minute ``ts``, or over the fold."""
    rows = explanation.fold_rows
    chosen = np.ones(len(rows), dtype=bool)
    if ticker is not None:
        chosen &= rows.index.get_level_values("ticker") == str(ticker)
    if ts is not None:
        chosen &= rows.index.get_level_values("ts") == _timestamp(ts)
    if not chosen.any():
        times = rows.index.get_level_values("ts").tz_convert(EXCHANGE_TZ)
        raise ShapRunError(f"fold {explanation.fold} has no test row for ticker={ticker!r} at ts={ts!r}; its rows run "
                           f"from {times.min():%Y-%m-%d %H:%M} to {times.max():%Y-%m-%d %H:%M} New York time")
    candidates = rows[chosen]
    best = int(np.argmax(np.abs(explanation.raw_score(candidates))))
    stamp, name = candidates.index[best]
    return pd.Timestamp(stamp), str(name)


def row_contributions(explanation: RunExplanation, ticker: str, ts: object) -> pd.Series:
    """SHAP values (log-odds) of one test row of the explained fold: the stored ones when the run explained that
    row, else TreeSHAP of the same model on it."""
    key = (_timestamp(ts), str(ticker))
    if key in explanation.shap.values.index:
        return explanation.shap.values.loc[key]
    if key not in explanation.fold_rows.index:
        raise ShapRunError(f"({key[1]}, {key[0]}) is not a test row of fold {explanation.fold}; pick one with "
                           "pick_row")
    return explain(explanation.model, explanation.fold_rows.loc[[key]]).values.iloc[0]


def waterfall_figure(explanation: RunExplanation, ticker: str, ts: object, top_n: int = 10) -> go.Figure:
    """One prediction's SHAP waterfall: the base value, the ``top_n`` largest contributions by |SHAP| (the rest
    summed as "other"), ending at the model's log-odds for that row (base + contributions = log-odds)."""
    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
        raise ValueError(f"top_n must be an integer >= 1, got {top_n!r}")
    contributions = row_contributions(explanation, ticker, ts)
    stamp = _timestamp(ts)
    values = explanation.fold_rows.loc[(stamp, str(ticker))]
    order = contributions.abs().sort_values(ascending=False, kind="stable").index
    top, rest = list(order[:top_n]), list(order[top_n:])
    names = ["base value", *[f"{name} = {_shown(values[name])}" for name in top]]
    steps = [explanation.shap.base_value, *contributions[top].to_numpy()]
    if rest:
        names.append(f"other ({len(rest)} features)")
        steps.append(float(contributions[rest].sum()))
    log_odds = float(explanation.shap.base_value + contributions.sum())
    figure = go.Figure(go.Waterfall(
        x=[*steps, log_odds], y=[*names, "log-odds"], orientation="h",
        measure=["absolute", *["relative"] * (len(steps) - 1), "total"],
        decreasing={"marker": {"color": "#1f77b4"}}, increasing={"marker": {"color": "#d62728"}},
        totals={"marker": {"color": "#7f7f7f"}}))
    local = stamp.tz_convert(EXCHANGE_TZ)
    figure.update_layout(
        title=f"SHAP waterfall: {ticker} at {local:%Y-%m-%d %H:%M} New York — log-odds {log_odds:.3f} "
              f"(p = {1 / (1 + np.exp(-log_odds)):.3f}), fold {explanation.fold} {explanation.model_name}",
        yaxis={"autorange": "reversed"}, xaxis_title="log-odds", height=max(350, 28 * len(names) + 150))
    return figure


def _shown(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float | np.floating) else str(value)
