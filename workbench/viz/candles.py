"""Minute candles of one ticker with volume and the L1 quotes, and an ipywidgets picker that redraws them
(notebook 01_explore)."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench.data import ADJUST_MODES, EXCHANGE_TZ, Dataset
from workbench.viz._figures import SESSION_BREAKS, redraw


def candlestick_figure(ds: Dataset, ticker: str, start: Any = None, end: Any = None, adjust: str = "raw"
                       ) -> go.Figure:
    """OHLC candles of ``ticker``'s bars from ``start`` to ``end`` (dates or tz-aware times, as
    :meth:`Dataset.bars` takes them) priced as ``adjust`` says (``raw``, ``splits``, ``backward``), the bid
    and ask at each bar's close as lines where the dataset has quotes, and volume below on a shared time axis.
    Times are shown in New York time; a split shows as a jump in raw prices and disappears once adjusted."""
    bars = ds.bars([ticker], start, end, adjust=adjust)
    when = bars["ts"].dt.tz_convert(EXCHANGE_TZ).dt.tz_localize(None)  # New York clock, as plotly draws it
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.75, 0.25], vertical_spacing=0.03)
    figure.add_trace(go.Candlestick(x=when, open=bars["open"], high=bars["high"], low=bars["low"],
                                    close=bars["close"], name=ticker), row=1, col=1)
    for side, colour in (("bid", "#2ca02c"), ("ask", "#d62728")):
        if bars[side].notna().any():
            figure.add_trace(go.Scatter(x=when, y=bars[side], mode="lines", name=side,
                                        line={"width": 1, "color": colour}), row=1, col=1)
    figure.add_trace(go.Bar(x=when, y=bars["volume"], name="volume", marker_color="#7f7f7f"), row=2, col=1)
    figure.update_layout(title=f"{ticker} minute bars ({adjust})", height=600, xaxis_rangeslider_visible=False,
                         legend={"orientation": "h"})
    figure.update_yaxes(title_text="price", row=1, col=1)
    figure.update_yaxes(title_text="volume", row=2, col=1)
    # no bars overnight and at weekends: hide those hours instead of drawing empty stretches
    figure.update_xaxes(rangebreaks=list(SESSION_BREAKS))
    return figure


def bar_picker(ds: Dataset, ticker: str | None = None, adjust: str = "raw") -> widgets.VBox:
    """A ticker dropdown, a session range slider and a raw / splits / backward toggle above a plotly
    FigureWidget that :func:`candlestick_figure` redraws in place on every change (drawn once at start for
    ``ticker``, default the index or the first ticker, over the first session)."""
    if adjust not in ADJUST_MODES:
        raise ValueError(f"adjust must be one of {ADJUST_MODES}, got {adjust!r}")
    names = sorted(ds.tickers["ticker"].astype(str))
    ticker = ticker or ds.index_ticker or names[0]
    if ticker not in names:
        raise ValueError(f"ticker {ticker!r} is not in dataset {ds.name!r}; it has e.g. {names[:5]}")
    if not ds.dates:
        raise ValueError(f"dataset {ds.name!r} holds no bars to draw; import some with `wb data import`")
    pick = widgets.Dropdown(options=names, value=ticker, description="ticker")
    days = widgets.SelectionRangeSlider(options=[(str(d), d) for d in ds.dates], index=(0, 0),
                                        description="sessions", layout={"width": "500px"})
    mode = widgets.ToggleButtons(options=list(ADJUST_MODES), value=adjust, description="prices")
    figure = go.FigureWidget()

    def update(_: object = None) -> None:
        first, last = days.value
        redraw(figure, candlestick_figure(ds, pick.value, first, last, mode.value))

    for control in (pick, days, mode):
        control.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox([pick, mode]), days, figure])
