"""Figures that compare runs (``wb runs compare``, the sweep summary, ``07_compare_runs``): a metric against each
parameter that varies, the runs' equity curves overlaid, and the overfitting statistics of a sweep (the
distribution of the CSCV logits λ and where the in-sample best lands out of sample)."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench.experiments._compare import RunComparison


def metric_vs_parameter_figure(comparison: RunComparison, metric: str = "net_sharpe") -> go.Figure:
    """``metric`` of every complete run against each varied parameter, one panel per parameter (numeric values
    on a numeric axis, others as categories); hovering names the run."""
    table = comparison.table.set_index("run_id")
    complete = table.index[table["status"] == "complete"]
    names = comparison.varied or list(comparison.parameters.columns[:1])
    figure = make_subplots(rows=1, cols=max(len(names), 1), shared_yaxes=True, subplot_titles=names)
    for col, name in enumerate(names, start=1):
        values = comparison.parameters.loc[complete, name]
        x = values if pd.api.types.is_numeric_dtype(values) else values.map(str)
        figure.add_trace(go.Scatter(x=x, y=table.loc[complete, metric], mode="markers", name=name,
                                    text=list(complete), hovertemplate="%{text}<br>%{x}: %{y}<extra></extra>",
                                    showlegend=False), row=1, col=col)
    figure.update_yaxes(title_text=metric, row=1, col=1)
    figure.update_layout(title=f"{metric} vs parameters ({len(complete)} complete runs)", template="plotly_white")
    return figure


def equity_figure(comparison: RunComparison) -> go.Figure:
    """The runs' primary-backtest equity curves (net of costs) on one time axis."""
    equity = comparison.equity
    figure = go.Figure([go.Scatter(x=curve.dropna().index, y=curve.dropna().to_numpy(), mode="lines", name=run_id)
                        for run_id, curve in equity.items()])
    figure.update_layout(title=f"Equity of {equity.shape[1]} runs (primary backtest, net)", template="plotly_white",
                         yaxis_title="equity per unit of capital", xaxis_title="time (UTC)")
    return figure


def overfitting_figure(logits: np.ndarray | pd.Series, oos_ranks: np.ndarray | pd.Series, *, pbo: float,
                       n_trials: int) -> go.Figure:
    """CSCV's view of a sweep: the logits λ of the in-sample best configuration's out-of-sample rank, one per
    split combination (PBO is the share with λ ≤ 0), and that relative rank's distribution (1 = best out of
    sample)."""
    logits, oos_ranks = np.asarray(logits, dtype=float), np.asarray(oos_ranks, dtype=float)
    figure = make_subplots(rows=1, cols=2, subplot_titles=(f"λ over {len(logits)} splits (PBO {pbo:.2f})",
                                                          "OOS relative rank of the IS best"))
    figure.add_trace(go.Histogram(x=logits, name="λ", nbinsx=30, showlegend=False), row=1, col=1)
    figure.add_vline(x=0.0, line_dash="dash", line_color="firebrick", row=1, col=1)
    figure.add_trace(go.Histogram(x=oos_ranks, name="OOS rank", xbins={"start": 0.0, "end": 1.0, "size": 0.05},
                                  showlegend=False), row=1, col=2)
    figure.update_xaxes(title_text="λ = logit(OOS rank)", row=1, col=1)
    figure.update_xaxes(title_text="relative rank out of sample", range=[0, 1], row=1, col=2)
    figure.update_yaxes(title_text="split combinations", row=1, col=1)
    figure.update_layout(title=f"Probability of backtest overfitting over {n_trials} trials",
                         template="plotly_white")
    return figure


def comparison_figures(comparison: RunComparison, metric: str = "net_sharpe", statistics: Any = None
                       ) -> dict[str, go.Figure]:
    """The comparison's figures by title, in reading order (with the overfitting one when ``statistics``)."""
    figures = {"Metric vs parameters": metric_vs_parameter_figure(comparison, metric),
               "Equity curves": equity_figure(comparison)}
    if statistics is not None:
        figures["Overfitting"] = statistics_figure(statistics)
    return figures

def statistics_figure(statistics: Any) -> go.Figure:
    """The CSCV figure of a sweep's statistics, or, when they could not be computed (fewer than 2 complete
    runs, too few common minutes), an empty figure whose title says why."""
    if statistics.logits is not None:
        return overfitting_figure(statistics.logits, statistics.oos_ranks, pbo=statistics.pbo,
                                  n_trials=statistics.n_trials)
    figure = go.Figure()
    figure.update_layout(title=f"Overfitting statistics: {statistics.verdict}", template="plotly_white",
                         xaxis_visible=False, yaxis_visible=False)
    return figure


def run_picker(registry: Any = None, *, selected: list[str] | tuple[str, ...] = (), objective: str = "net_sharpe",
               direction: str = "maximize") -> Any:
    """A list of the registry's runs to pick from (ctrl/shift-click for several) above the picked runs'
    comparison (:func:`comparison_view`: table and verdict, then the figures, redrawn in place on every pick)."""
    import ipywidgets as widgets

    from workbench.experiments._registry import RunRegistry
    from workbench.viz._figures import redraw

    rows = (registry if registry is not None else RunRegistry()).runs()
    options = [(f"{row['run_id']}  {row['kind']}  {row['status']}"
                + (f"  sweep {row['sweep_id']}" if isinstance(row.get("sweep_id"), str) else ""), row["run_id"])
               for row in rows.to_dict("records")]
    known = {value for _, value in options}
    picker = widgets.SelectMultiple(options=options, value=tuple(r for r in selected if r in known),
                                    rows=min(max(len(options), 3), 12), description="runs",
                                    layout=widgets.Layout(width="95%"))
    text = widgets.HTML()
    figures = {name: go.FigureWidget() for name in ("metric vs parameters", "equity", "overfitting")}

    def show(_: Any = None) -> None:
        if not picker.value:
            text.value = "<p>pick runs to compare</p>"
            return
        view = comparison_view(list(picker.value), objective=objective, direction=direction, registry=registry)
        text.value = (f"<p><b>Overfitting:</b> {html.escape(view['verdict'])}</p>"
                      + view["table"].to_html(float_format=lambda x: f"{x:.4g}", na_rep=""))
        for name, target in figures.items():
            redraw(target, view[name])

    picker.observe(show, names="value")
    show()
    return widgets.VBox([picker, text, *figures.values()])


def comparison_view(run_ids: list[str], *, sweep_id: str | None = None, objective: str = "net_sharpe",
                    direction: str = "maximize", registry: Any = None) -> dict[str, Any]:
    """What the picker shows for a pick: the metric table, the verdict, and the figures, by name."""
    from workbench.experiments._compare import compare_runs, metric_table
    from workbench.experiments._sweep_stats import sweep_statistics

    comparison = compare_runs(run_ids, sweep_id=sweep_id, registry=registry)
    statistics = sweep_statistics(comparison, objective, direction)
    return {"table": metric_table(comparison), "verdict": statistics.verdict,
            "metric vs parameters": metric_vs_parameter_figure(comparison, objective),
            "equity": equity_figure(comparison), "overfitting": statistics_figure(statistics)}
