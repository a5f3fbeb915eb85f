"""The run's HTML report: headline metrics as tables and every plotly figure, in one self-contained file
(plotly.js embedded once, so it opens offline)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go


def _table(title: str, frame: pd.DataFrame) -> str:
    body = frame.to_html(float_format=lambda v: f"{v:.4g}", border=0, classes="metrics")
    return f"<h2>{html.escape(title)}</h2>\n{body}"


def write_report(path: Path, title: str, tables: dict[str, pd.DataFrame], figures: dict[str, go.Figure],
                 notes: list[str]) -> Path:
    """Write ``tables`` then ``figures`` under ``title``; returns ``path``."""
    parts = [f"<h1>{html.escape(title)}</h1>"]
    parts += [f"<p>{html.escape(note)}</p>" for note in notes]
    parts += [_table(name, frame) for name, frame in tables.items()]
    for k, (name, figure) in enumerate(figures.items()):
        parts.append(f"<h2>{html.escape(name)}</h2>")
        parts.append(figure.to_html(full_html=False, include_plotlyjs=k == 0))
    style = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}"
             "table.metrics{border-collapse:collapse;margin-bottom:1em}"
             "table.metrics td,table.metrics th{padding:2px 10px;border-bottom:1px solid #ddd;text-align:right}")
    document = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                f"<style>{style}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>")
    path.write_text(document, encoding="utf-8")
    return path


def metrics_tables(metrics: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """The headline tables of a run's metrics: skill a volatility timer cannot fake first (rank IC of the
    signed label return, the verdicts with their intervals, executable P&L), then the classification metrics on
    all events and on the horizontal-barrier events side by side."""
    skill = pd.DataFrame({name: {**values["ic"], **values["precision_at_k"]}
                          for name, values in metrics["cross_section"].items()}).T
    verdicts = pd.DataFrame(metrics["skill"]).T
    tests = pd.DataFrame(metrics["loss_tests"]).T.drop(columns=["text"], errors="ignore")
    backtests = pd.DataFrame(metrics["backtests"]).T
    sensitivity = pd.DataFrame(metrics["sensitivity"]["table"])
    pooled = pd.DataFrame(metrics["classification"]).T.drop(columns=["note", "threshold"], errors="ignore")
    horizontal = pd.DataFrame(metrics["classification_horizontal"]).T.drop(columns=["note", "threshold"],
                                                                           errors="ignore")
    classification = pd.concat({"all events": pooled, "horizontal-barrier events": horizontal}, axis=1)
    folds = pd.DataFrame(metrics["folds"])
    dropped = pd.DataFrame({"reason": metrics.get("dropped_features") or {}})
    dropped.index.name = "feature"
    left_out = {"Features left out (NaN on every event of this data)": dropped} if len(dropped) else {}
    return {**left_out,"Cross-sectional skill per minute (rank IC of the signed label return, precision@K)": skill,
            "Direction skill verdict (rank IC, Newey-West interval)": verdicts,
            "Paired log-loss tests (negative = first model better)": tests,
            "Backtests (executable fills, net of fees, quoted half-spread and impact unless marked gross)": backtests,
            f"Alpha decay and cost sensitivity ({metrics['sensitivity']['strategy']})": sensitivity,
            "Out-of-sample classification: all events | events that touched a horizontal barrier": classification,
            "Walk-forward folds": folds}
