"""A comparison as one self-contained HTML page (``wb runs compare --html F`` and every sweep's
``summary.html``): the verdict on overfitting, the metric table, metric-vs-parameter plots, the overlaid equity
curves and the CSCV figure."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from workbench.experiments._compare import RunComparison, compare_runs, metric_table
from workbench.experiments._sweep_stats import SweepStatistics, sweep_statistics


def comparison_html(comparison: RunComparison, statistics: SweepStatistics, *, title: str,
                    metric: str = "net_sharpe") -> str:
    """The page's HTML (plotly.js embedded once, so the file opens offline)."""
    from workbench.viz.compare import comparison_figures

    figures = comparison_figures(comparison, metric, statistics)
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p><b>Overfitting:</b> {html.escape(statistics.verdict)}</p>",
             metric_table(comparison).to_html(float_format=lambda x: f"{x:.4g}", na_rep="", border=0)]
    for k, (name, figure) in enumerate(figures.items()):
        parts.append(f"<h2>{html.escape(name)}</h2>")
        parts.append(figure.to_html(full_html=False, include_plotlyjs=k == 0))
    style = ("body{font-family:sans-serif;margin:2em} table{border-collapse:collapse} "
             "td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")


def write_comparison_html(comparison: RunComparison, path: str | Path, *, title: str, objective: str = "net_sharpe",
                          direction: str = "maximize") -> tuple[Path, SweepStatistics]:
    """Compute the statistics and write the page to ``path``; returns the path and the statistics."""
    statistics = sweep_statistics(comparison, objective, direction)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(comparison_html(comparison, statistics, title=title, metric=objective))
    return path, statistics


def write_sweep_summary(sweep_id: str, path: str | Path, *, objective: str = "net_sharpe",
                        direction: str = "maximize", registry: Any = None) -> tuple[Path, SweepStatistics]:
    """The sweep's ``summary.html``: every run of ``sweep_id`` compared, with the best run's DSR and the PBO;
    returns the path and the statistics."""
    comparison = compare_runs(sweep_id=sweep_id, registry=registry)
    return write_comparison_html(comparison, path, title=f"Sweep {sweep_id}", objective=objective,
                                 direction=direction)
