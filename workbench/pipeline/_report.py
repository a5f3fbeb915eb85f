"""The run's HTML report, in one self-contained file (plotly.js embedded once, so it opens offline).

Order: a header (run date, identity, package versions, git commit, the config collapsed), the notes, then
verdicts, skill (cross-section and daily IC of every model), backtests and sensitivity, classification,
folds (windows and per-fold metrics), and the figures — SHAP's captioned with the fold it explains. Shares and
returns are shown as percentages."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from workbench.pipeline._metrics import RunMetrics

#: columns holding shares or returns: shown as percentages
PERCENT_COLUMNS = frozenset({"total_return", "gross_total_return", "max_drawdown", "fallback_share",
                             "positive_share", "IC positive_share", "level", "base_rate", "precision@K",
                             "precision@K base_rate", "quoted_share", "mean_trade_return", "gross_mean_trade_return",
                             "mean_p", "precision", "recall"})
_STYLE = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}"
          "table.metrics{border-collapse:collapse;margin-bottom:1em}"
          "table.metrics td,table.metrics th{padding:2px 10px;border-bottom:1px solid #ddd;text-align:right}"
          "pre{background:#f6f6f6;padding:1em;overflow:auto}")


def _cell(column: str) -> Callable[[Any], str]:
    """How to show one value of ``column``: percentages for shares and returns, 4 significant digits else."""
    def show(value: Any) -> str:
        if value is None or (isinstance(value, float) and not np.isfinite(value)):
            return "–"
        if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
            return str(value)
        if column in PERCENT_COLUMNS:
            return f"{float(value):.2%}"
        if isinstance(value, int | np.integer):
            return f"{int(value):,}"
        return f"{float(value):.4g}"
    return show


def format_table(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as display strings, each column by its (last-level) name."""
    shown = frame.astype(object).copy()
    for column in frame.columns:
        name = column[-1] if isinstance(column, tuple) else str(column)
        shown[column] = [_cell(name)(value) for value in frame[column].to_numpy(dtype=object)]
    return shown


def _table(title: str, frame: pd.DataFrame) -> str:
    body = format_table(frame).to_html(border=0, classes="metrics")
    return f"<h2>{html.escape(title)}</h2>\n{body}"


def cross_section_table(metrics: RunMetrics) -> pd.DataFrame:
    """Per model, the rank-IC summary and precision@K side by side, each count under its own statistic's name
    (``IC n_periods`` and ``precision@K n_periods`` are different minutes: one skips minutes with too few
    names, the other those with fewer than K labelled names)."""
    rows = {}
    for name, values in metrics.cross_section.items():
        top = values["precision_at_k"]
        rows[name] = {**{f"IC {key}": value for key, value in values["ic"].items()},
                      "precision@K k": top["k"], "precision@K": top["precision"],
                      "precision@K base_rate": top["base_rate"], "precision@K lift": top["lift"],
                      "precision@K n_periods": top["n_periods"], "precision@K n_skipped": top["n_skipped"]}
    return pd.DataFrame(rows).T


def metrics_tables(metrics: RunMetrics) -> dict[str, pd.DataFrame]:
    """The report's tables in reading order: verdicts, skill, backtests and sensitivity, classification, folds."""
    verdicts = pd.DataFrame(metrics.skill).T
    tests = pd.DataFrame(metrics.loss_tests).T.drop(columns=["text"], errors="ignore")
    daily = pd.DataFrame(metrics.daily_ic)
    daily.index.name = "session"
    pooled = pd.DataFrame(metrics.classification).T.drop(columns=["note", "threshold"], errors="ignore")
    horizontal = pd.DataFrame(metrics.classification_horizontal).T.drop(columns=["note", "threshold"],
                                                                        errors="ignore")
    per_fold = pd.DataFrame(metrics.fold_metrics)
    if len(per_fold):
        per_fold = per_fold.pivot(index="fold", columns="model", values=["log_loss", "roc_auc", "rank_ic"])
        per_fold = per_fold.swaplevel(axis=1)[[m["name"] for m in metrics.models]]
    tables = {"Direction skill verdict (rank IC, Newey-West interval)": verdicts,
              "Paired log-loss tests (negative = first model better)": tests,
              "Cross-sectional skill per minute (rank IC of the signed label return, precision@K)":
                  cross_section_table(metrics),
              "Daily rank IC of every model (mean of the per-minute IC per session)": daily,
              "Backtests (executable fills, net of fees, quoted half-spread and impact unless marked gross)":
                  pd.DataFrame(metrics.backtests).T}
    if metrics.sensitivity:
        tables[f"Alpha decay and cost sensitivity ({metrics.sensitivity['strategy']})"] = pd.DataFrame(
            metrics.sensitivity["table"])
    tables["Out-of-sample classification: all events | events that touched a horizontal barrier"] = pd.concat(
        {"all events": pooled, "horizontal-barrier events": horizontal}, axis=1)
    tables["Walk-forward folds"] = pd.DataFrame(metrics.folds)
    tables["Per-fold metrics (log-loss, ROC-AUC, mean rank IC of each fold's test rows)"] = per_fold
    return tables


def notes(metrics: RunMetrics) -> list[str]:
    """The run's plain-language notes: size, execution, the primary model's skill, what the data lacked."""
    primary = metrics.primary
    ic, skill, execution = metrics.cross_section[primary]["ic"], metrics.skill[primary], metrics.execution
    lines = [f"{metrics.n_events:,} labelled events, {len(metrics.folds)} purged walk-forward folds.",
             f"Execution: a signal at bar t fills at the {execution['fill_price']} of bar t + "
             f"{execution['delay_bars']} and pays {execution['fees_bps']:g} bp fees plus half the quoted spread"
             f"{' and square-root impact' if execution['impact_coef'] > 0 else ''}; labels enter at the same "
             "fill, on prices adjusted for corporate actions.",
             f"{primary} out-of-sample rank IC of the signed label return {ic['mean']:.4f} (Newey-West t = "
             f"{ic['t_stat_nw']:.1f}); direction skill at {skill['level']:.0%}: {skill['skill']}."]
    if execution["quoted_share"] < 1.0:
        lines.append(f"No quote is known for {1 - execution['quoted_share']:.1%} of the bars traded: fills there "
                     f"pay half of the configured fallback spread of {execution['fallback_spread_bps']:g} bp "
                     "(execution.fallback_spread_bps) instead of a quoted one.")
    if metrics.index.get("note"):
        lines.append(f"{metrics.index['note']} Left out: {', '.join(metrics.index['skipped_features'])}.")
    if metrics.dropped_features:
        lines.append(f"{len(metrics.dropped_features)} feature(s) are NaN on every event of this data and were "
                     "left out of the model inputs (data.features_all_nan = 'drop'): "
                     + "; ".join(f"{c} ({why})" for c, why in metrics.dropped_features.items()) + ".")
    lines += [test["text"] for test in metrics.loss_tests.values()]
    return lines


def _header(metrics: RunMetrics, config_json: str) -> list[str]:
    identity = metrics.identity
    versions = identity.get("versions", {})
    facts = {"run date (UTC)": identity.get("started_at"), "run id": identity.get("run_id"),
             "config fingerprint": metrics.fingerprint,
             "dataset": f"{identity.get('dataset')} (fingerprint {identity.get('dataset_fingerprint')})",
             "git commit": identity.get("git_commit") or "not a git checkout",
             "versions": ", ".join(f"{name} {version}" for name, version in versions.items())}
    rows = "".join(f"<tr><th>{html.escape(key)}</th><td style='text-align:left'>{html.escape(str(value))}</td></tr>"
                   for key, value in facts.items())
    config = html.escape(json.dumps(json.loads(config_json), indent=2, sort_keys=True))
    return [f"<table class='metrics'>{rows}</table>",
            f"<details><summary>Configuration (JSON)</summary><pre>{config}</pre></details>"]


def render_report(title: str, metrics: RunMetrics, config_json: str, figures: dict[str, go.Figure],
                  shap_caption: str | None = None) -> str:
    """The report as one HTML document."""
    parts = [f"<h1>{html.escape(title)}</h1>", *_header(metrics, config_json)]
    parts += [f"<p>{html.escape(note)}</p>" for note in notes(metrics)]
    if metrics.dropped_features:
        dropped = pd.DataFrame({"reason": metrics.dropped_features})
        dropped.index.name = "feature"
        parts.append(_table("Features left out (NaN on every event of this data)", dropped))
    parts += [_table(name, frame) for name, frame in metrics_tables(metrics).items()]
    parts.append("<h2>Figures</h2>")
    captioned = False
    for k, (name, figure) in enumerate(figures.items()):
        if name.startswith("SHAP") and shap_caption and not captioned:
            parts.append(f"<p><strong>{html.escape(shap_caption)}</strong></p>")
            captioned = True
        parts.append(f"<h3>{html.escape(name)}</h3>")
        parts.append(figure.to_html(full_html=False, include_plotlyjs=k == 0))
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>")


def write_report(path: Path, title: str, metrics: RunMetrics, config_json: str, figures: dict[str, go.Figure],
                 shap_caption: str | None = None) -> Path:
    """Write :func:`render_report` to ``path``; returns ``path``."""
    path.write_text(render_report(title, metrics, config_json, figures, shap_caption), encoding="utf-8")
    return path
