"""Fixed-horizon against triple-barrier labels, and the average-uniqueness weights of overlapping labels over
time (notebook 02_triple_barrier)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench.data import EXCHANGE_TZ
from workbench.labels import average_uniqueness_panel, fixed_horizon
from workbench.viz._figures import SESSION_BREAKS
from workbench.viz.labels import barrier_labels

CLASSES = (-1, 0, 1)


def fixed_horizon_panel(bars: pd.DataFrame, horizon: int, threshold: float = 0.0, *, clip_to_session: bool = True
                        ) -> pd.Series:
    """Three-class :func:`fixed_horizon` labels of every ticker of ``bars``, row-aligned (``<NA>`` where the
    window is unfinished). With ``clip_to_session`` each session is labelled on its own, so no window holds
    overnight, as the triple-barrier panel clips its vertical barrier."""
    local = pd.DatetimeIndex(bars["ts"]).tz_convert(EXCHANGE_TZ)
    keys = [bars["ticker"].to_numpy(), local.date] if clip_to_session else [bars["ticker"].to_numpy()]
    close = pd.Series(bars["close"].to_numpy(), index=pd.DatetimeIndex(bars["ts"]))
    out = pd.Series(pd.array(np.zeros(len(bars), dtype=np.int8), dtype="Int8"), index=bars.index, name="label")
    for rows in pd.Series(np.arange(len(bars))).groupby(keys, sort=False).indices.values():
        out.iloc[rows] = fixed_horizon(close.iloc[rows], horizon, threshold, classes=3).to_numpy()
    return out


def label_comparison(bars: pd.DataFrame, pt_sl: tuple[float, float], vertical_bars: int, *,
                     horizon: int | None = None, threshold: float = 0.0, span: int = 100,
                     events: np.ndarray | None = None, clip_to_session: bool = True) -> pd.DataFrame:
    """Counts of events by fixed-horizon label (rows: the sign of the return over ``horizon`` bars, default
    ``vertical_bars``, beyond ``threshold``) and triple-barrier ``bin`` (columns), over the events (row-aligned
    mask, default every bar) both label. The diagonal is where they agree."""
    labels = barrier_labels(bars, pt_sl, vertical_bars, span=span, events=events, clip_to_session=clip_to_session)
    fixed = fixed_horizon_panel(bars, horizon or vertical_bars, threshold, clip_to_session=clip_to_session)
    chosen = np.ones(len(bars), dtype=bool) if events is None else np.asarray(events, dtype=bool)
    both = chosen & labels["t1"].notna().to_numpy() & fixed.notna().to_numpy()
    table = pd.crosstab(pd.Series(fixed.to_numpy()[both].astype(int), name="fixed_horizon"),
                        pd.Series(labels["bin"].to_numpy()[both].astype(int), name="triple_barrier"))
    return table.reindex(index=list(CLASSES), columns=list(CLASSES), fill_value=0)


def comparison_figure(table: pd.DataFrame) -> go.Figure:
    """Class shares of each scheme side by side and the :func:`label_comparison` counts as a heatmap, with the
    share of events on which the two agree in the title."""
    total = int(table.to_numpy().sum())
    agree = float(np.trace(table.to_numpy())) / total if total else float("nan")
    figure = make_subplots(rows=1, cols=2, subplot_titles=("class shares", "fixed horizon x triple barrier"))
    names = [str(c) for c in CLASSES]
    for scheme, counts in (("fixed horizon", table.sum(axis=1)), ("triple barrier", table.sum(axis=0))):
        figure.add_trace(go.Bar(x=names, y=counts.to_numpy() / max(total, 1), name=scheme), row=1, col=1)
    figure.add_trace(go.Heatmap(z=table.to_numpy(), x=names, y=names, colorscale="Blues", texttemplate="%{z}",
                                showscale=False, name="counts"), row=1, col=2)
    figure.update_xaxes(title_text="label", row=1, col=1)
    figure.update_xaxes(title_text="triple-barrier bin", row=1, col=2)
    figure.update_yaxes(title_text="fixed-horizon label", row=1, col=2)
    figure.update_layout(title=f"Fixed-horizon vs triple-barrier labels: agree on {agree:.1%} of {total} events",
                         barmode="group", height=420)
    return figure


def uniqueness_over_time(bars: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """:func:`average_uniqueness_panel` of ``labels`` (row-aligned, as :func:`barrier_labels` returns them) by
    event time: ``mean_uniqueness`` across the tickers with a label starting that minute, and ``labels``
    (their number). Low values mark stretches where many labels overlap and each counts for little."""
    weight = average_uniqueness_panel(bars[["ts", "ticker"]], labels)
    frame = pd.DataFrame({"ts": bars["ts"].to_numpy(), "uniqueness": weight.to_numpy()}).dropna()
    grouped = frame.groupby("ts")["uniqueness"]
    return pd.DataFrame({"mean_uniqueness": grouped.mean(), "labels": grouped.size()}).rename_axis("t0")


def uniqueness_figure(over_time: pd.DataFrame, title: str = "Average uniqueness of labels over time") -> go.Figure:
    """:func:`uniqueness_over_time` as two panels sharing New York time: mean uniqueness and labels started."""
    clock = pd.DatetimeIndex(over_time.index).tz_convert(EXCHANGE_TZ).tz_localize(None)
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.05)
    figure.add_trace(go.Scatter(x=clock, y=over_time["mean_uniqueness"], mode="lines", name="mean uniqueness"),
                     row=1, col=1)
    figure.add_trace(go.Bar(x=clock, y=over_time["labels"], name="labels started"), row=2, col=1)
    figure.update_yaxes(title_text="uniqueness", range=[0, 1.05], row=1, col=1)
    figure.update_yaxes(title_text="labels", row=2, col=1)
    figure.update_xaxes(rangebreaks=list(SESSION_BREAKS))
    figure.update_layout(title=title, height=450, showlegend=False)
    return figure
