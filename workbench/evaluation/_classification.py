"""Pooled classification quality of predicted up-probabilities: scikit-learn's metrics and a reliability table.

These treat every (ts, ticker) row as one independent prediction; cross-sectional skill per minute is in
:mod:`workbench.evaluation._cross_section`.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from sklearn import metrics
from sklearn.exceptions import UndefinedMetricWarning
from statsmodels.stats.proportion import proportion_confint

from workbench.errors import DataValidationError
from workbench.evaluation._inputs import check_binary


def _as_float(values: object, name: str) -> np.ndarray:
    """A 1-D float64 copy of ``values``; non-numeric input is a clear error."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(f"{name} must be numeric: {exc}") from None
    if array.ndim != 1:
        raise DataValidationError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def _labels_and_probabilities(y: object, p: object) -> tuple[np.ndarray, np.ndarray]:
    """Validated (labels in {0, 1}, probabilities in [0, 1]) of equal length, with no NaN in either."""
    labels, probs = _as_float(y, "y"), _as_float(p, "p")
    if len(labels) != len(probs):
        raise DataValidationError(f"y and p differ in length: {len(labels)} labels, {len(probs)} probabilities")
    if len(labels) == 0:
        raise DataValidationError("y and p are empty: nothing to evaluate")
    for name, values in (("y", labels), ("p", probs)):
        missing = np.isnan(values)
        if missing.any():
            raise DataValidationError(f"{name} has {int(missing.sum())} NaN value(s) (first at position "
                                      f"{int(np.flatnonzero(missing)[0])}); drop those rows before evaluating")
    check_binary(labels, "y")
    outside = (probs < 0.0) | (probs > 1.0)
    if outside.any():
        raise DataValidationError(f"p must be probabilities in [0, 1]; {int(outside.sum())} value(s) outside, "
                                  f"e.g. {probs[outside][:3].tolist()}")
    return labels, probs


def classification_report(y: object, p: object, *, threshold: float = 0.5,
                          sample_weight: object | None = None) -> dict[str, float | int | str]:
    """Log-loss, Brier, ROC-AUC, PR-AUC (average precision) and precision/recall/F1 of ``p >= threshold``.

    Computed by scikit-learn, optionally weighted. Keys: ``n``, ``base_rate`` (weighted share of label 1),
    ``mean_p``, ``log_loss``, ``brier``, ``roc_auc``, ``pr_auc``, ``precision``, ``recall``, ``f1``,
    ``threshold`` and ``note``. Undefined metrics are NaN and ``note`` says why (one class only: both AUCs;
    no predicted positives: precision; no actual positives: recall; F1 with neither); ``note`` is ``""``
    otherwise. NaN in ``y`` or ``p`` raises.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must lie strictly between 0 and 1, got {threshold}")
    labels, probs = _labels_and_probabilities(y, p)
    weights = None
    if sample_weight is not None:
        weights = _as_float(sample_weight, "sample_weight")
        if len(weights) != len(labels) or np.isnan(weights).any() or (weights < 0).any() or weights.sum() <= 0:
            raise DataValidationError(f"sample_weight must be {len(labels)} non-negative numbers with a positive "
                                      f"sum, one per row of y")
    predicted = (probs >= threshold).astype(np.float64)
    notes: list[str] = []
    single_class = np.unique(labels).size < 2
    if single_class:
        notes.append(f"y holds only class {int(labels[0])}: ROC-AUC and PR-AUC are undefined (NaN)")
    if not predicted.any():
        notes.append(f"no prediction reaches threshold {threshold}: precision is undefined (NaN)")
    if not labels.any():
        notes.append("y has no positives: recall is undefined (NaN)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UndefinedMetricWarning)
        report: dict[str, float | int | str] = {
            "n": len(labels),
            "base_rate": float(np.average(labels, weights=weights)),
            "mean_p": float(np.average(probs, weights=weights)),
            "log_loss": float(metrics.log_loss(labels, probs, labels=[0.0, 1.0], sample_weight=weights)),
            "brier": float(metrics.brier_score_loss(labels, probs, sample_weight=weights, labels=[0.0, 1.0])),
            "roc_auc": np.nan if single_class else float(metrics.roc_auc_score(labels, probs,
                                                                               sample_weight=weights)),
            "pr_auc": np.nan if single_class else float(metrics.average_precision_score(labels, probs,
                                                                                        sample_weight=weights)),
            "precision": float(metrics.precision_score(labels, predicted, sample_weight=weights,
                                                       zero_division=np.nan)),
            "recall": float(metrics.recall_score(labels, predicted, sample_weight=weights, zero_division=np.nan)),
            "f1": float(metrics.f1_score(labels, predicted, sample_weight=weights, zero_division=np.nan)),
            "threshold": threshold,
            "note": "; ".join(notes),
        }
    return report


def calibration_table(y: object, p: object, n_bins: int = 10,
                      strategy: Literal["uniform", "quantile"] = "uniform") -> pd.DataFrame:
    """Reliability table: per probability bin, the mean predicted ``p`` against the observed share of label 1.

    Bins follow :func:`sklearn.calibration.calibration_curve` (``uniform`` edges on [0, 1] or ``quantile``
    edges of ``p``, right-closed), but empty bins are kept with ``count`` 0 and NaN means. ``ci_low`` /
    ``ci_high`` are the 95% Wilson interval of the observed share, so a bin's miss can be judged against noise.
    Direction models' probabilities often sit close to the base rate: ``quantile`` bins then keep every bin filled.
    """
    if not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    if strategy not in ("uniform", "quantile"):
        raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")
    labels, probs = _labels_and_probabilities(y, p)
    edges = np.linspace(0.0, 1.0, n_bins + 1) if strategy == "uniform" else np.percentile(
        probs, np.linspace(0.0, 1.0, n_bins + 1) * 100)  # sklearn's exact edges: ties on an edge bin alike
    bin_of = np.searchsorted(edges[1:-1], probs)
    count = np.bincount(bin_of, minlength=n_bins)
    positives = np.bincount(bin_of, weights=labels, minlength=n_bins)
    sum_p = np.bincount(bin_of, weights=probs, minlength=n_bins)
    filled = count > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p, observed = sum_p / count, positives / count
    ci_low, ci_high = np.full(n_bins, np.nan), np.full(n_bins, np.nan)
    ci_low[filled], ci_high[filled] = proportion_confint(positives[filled], count[filled], alpha=0.05,
                                                         method="wilson")
    return pd.DataFrame({"bin": np.arange(n_bins), "p_low": edges[:-1], "p_high": edges[1:], "count": count,
                         "mean_p": mean_p, "observed": observed, "ci_low": ci_low, "ci_high": ci_high})


def calibration_figure(table: pd.DataFrame, *, title: str = "Reliability") -> go.Figure:
    """Reliability diagram of a :func:`calibration_table`: observed share (with its 95% interval) against mean
    predicted probability and the diagonal of perfect calibration, over a histogram of the bins' counts."""
    missing = [c for c in ("p_low", "p_high", "mean_p", "observed", "ci_low", "ci_high", "count")
               if c not in table.columns]
    if missing:
        raise DataValidationError(f"table is missing column(s) {missing}; pass the output of calibration_table")
    filled = table[table["count"] > 0]
    lo = float(min(filled["mean_p"].min(), filled["ci_low"].min())) if len(filled) else 0.0
    hi = float(max(filled["mean_p"].max(), filled["ci_high"].max())) if len(filled) else 1.0
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.75, 0.25], vertical_spacing=0.05)
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="perfect calibration",
                             line={"dash": "dash", "color": "grey"}), row=1, col=1)
    fig.add_trace(go.Scatter(
        x=filled["mean_p"], y=filled["observed"], mode="lines+markers", name="observed",
        error_y={"type": "data", "symmetric": False, "array": filled["ci_high"] - filled["observed"],
                 "arrayminus": filled["observed"] - filled["ci_low"]},
        customdata=filled["count"], hovertemplate="mean p %{x:.4f}<br>observed %{y:.4f}<br>n %{customdata}"),
        row=1, col=1)
    fig.add_trace(go.Bar(x=(filled["p_low"] + filled["p_high"]) / 2, y=filled["count"], name="count",
                         width=filled["p_high"] - filled["p_low"], showlegend=False,
                         marker={"color": "lightgrey", "line": {"color": "white", "width": 1}}), row=2, col=1)
    fig.update_xaxes(title_text="mean predicted probability", row=2, col=1)
    fig.update_yaxes(title_text="observed frequency", row=1, col=1)
    fig.update_yaxes(title_text="count", rangemode="tozero", row=2, col=1)
    fig.update_layout(title=title, legend={"orientation": "h", "y": -0.2}, template="plotly_white")
    return fig
