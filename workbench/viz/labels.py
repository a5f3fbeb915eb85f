"""Triple-barrier labels made visible (notebook 02_triple_barrier): barriers drawn on the price path, the
label balance and holding time over a grid of multipliers and vertical barriers, and a widget that redraws
both for one setting. Labels come from :func:`workbench.labels.triple_barrier_panel`, as the pipeline builds
them; fixed-horizon comparison and uniqueness weights are in :mod:`workbench.viz.label_weights`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench.data import EXCHANGE_TZ, Dataset
from workbench.labels import cusum_filter, ewm_volatility, triple_barrier_panel
from workbench.viz._figures import SESSION_BREAKS, redraw

#: colour of each barrier that ends a label
BARRIER_COLOURS = {"pt": "#2ca02c", "sl": "#d62728", "vertical": "#7f7f7f"}
SUMMARY_COLUMNS = ("labels", "share_pt", "share_sl", "share_vertical", "share_up", "share_down", "share_flat",
                   "mean_holding_bars")


def label_bars(ds: Dataset, tickers: list[str] | None = None, start: Any = None, end: Any = None, *,
               n_tickers: int = 5) -> pd.DataFrame:
    """Back-adjusted bars to label (splits and dividends would otherwise hit barriers): ``tickers``, or the
    ``n_tickers`` largest stocks by market cap (alphabetical when caps are missing), ``start`` to ``end``."""
    if tickers is None:
        table = ds.tickers[~ds.tickers["is_index"].fillna(False).astype(bool)]
        table = table.assign(ticker=table["ticker"].astype(str)).sort_values("ticker")
        tickers = table.sort_values("market_cap", ascending=False, kind="stable", na_position="last")[
            "ticker"].head(n_tickers).tolist()
    return ds.bars(tickers, start, end, adjust="backward")


def barrier_labels(bars: pd.DataFrame, pt_sl: tuple[float, float], vertical_bars: int, *, span: int = 100,
                   events: np.ndarray | None = None, min_ret: float = 0.0, clip_to_session: bool = True
                   ) -> pd.DataFrame:
    """:func:`triple_barrier_panel` of ``bars`` (``ts, ticker, close``, sorted by ticker then ts) with a
    ``holding_bars`` column: how many of the ticker's bars the label spans, the row of t1 minus the row of t0
    (missing minutes are not bars, so it can be fewer than the minutes between them). Row-aligned with
    ``bars``; rows without a label have ``<NA>``. ``events`` is a row-aligned boolean mask (default every bar).
    """
    labels = triple_barrier_panel(bars, pt_sl=tuple(pt_sl), vertical_bars=vertical_bars, span=span,
                                  events=events, min_ret=min_ret, clip_to_session=clip_to_session)
    row = pd.Series(np.arange(len(bars)), index=bars.index)
    lookup = pd.Series(row.to_numpy(), index=pd.MultiIndex.from_arrays([bars["ticker"], bars["ts"]]))
    labelled = labels["t1"].notna().to_numpy()
    t1_rows = lookup.reindex(pd.MultiIndex.from_arrays([bars["ticker"][labelled], labels["t1"][labelled]]))
    holding = np.zeros(len(bars), dtype=np.int64)
    holding[labelled] = t1_rows.to_numpy() - row.to_numpy()[labelled]
    return labels.assign(holding_bars=pd.arrays.IntegerArray(holding, ~labelled))


def label_summary(labels: pd.DataFrame) -> pd.Series:
    """The balance of :func:`barrier_labels`: ``labels`` (count), the share ending at each barrier (``pt``,
    ``sl``, ``vertical``), the share of each sign of ``bin`` (``up`` +1, ``down`` -1, ``flat`` 0) and the
    mean ``holding_bars``. Rows without a label are left out."""
    done = labels[labels["t1"].notna()]
    n = len(done)
    share = (lambda mask: float(mask.sum()) / n) if n else (lambda mask: np.nan)
    barrier = done["barrier"].astype(str)
    sign = done["bin"].astype("int64")
    return pd.Series({
        "labels": n, "share_pt": share(barrier == "pt"), "share_sl": share(barrier == "sl"),
        "share_vertical": share(barrier == "vertical"), "share_up": share(sign > 0), "share_down": share(sign < 0),
        "share_flat": share(sign == 0),
        "mean_holding_bars": float(done["holding_bars"].astype("float64").mean()) if n else np.nan,
    })


def _pairs(pt_sl_values: Iterable[float | tuple[float, float]]) -> list[tuple[float, float]]:
    """Multipliers as (pt, sl) pairs: a number k means the symmetric (k, k)."""
    pairs = [(float(v), float(v)) if np.isscalar(v) else (float(v[0]), float(v[1])) for v in pt_sl_values]
    if not pairs:
        raise ValueError("pt_sl_values is empty; pass multipliers such as [1.0, 2.0] or pairs [(1, 2), (2, 1)]")
    return pairs


def label_grid(bars: pd.DataFrame, pt_sl_values: Iterable[float | tuple[float, float]],
               vertical_values: Iterable[int], *, span: int = 100, events: np.ndarray | None = None,
               min_ret: float = 0.0, clip_to_session: bool = True) -> pd.DataFrame:
    """:func:`label_summary` of :func:`barrier_labels` for every (pt, sl) in ``pt_sl_values`` (a number k is
    (k, k)) and every vertical barrier in ``vertical_values``: one row per setting, indexed by ``pt, sl,
    vertical_bars``. Wider barriers end more labels at the vertical one and hold them longer."""
    verticals = [int(v) for v in vertical_values]
    if not verticals:
        raise ValueError("vertical_values is empty; pass bar counts such as [15, 30, 60]")
    rows = {(pt, sl, vertical): label_summary(barrier_labels(bars, (pt, sl), vertical, span=span, events=events,
                                                             min_ret=min_ret, clip_to_session=clip_to_session))
            for pt, sl in _pairs(pt_sl_values) for vertical in verticals}
    grid = pd.DataFrame.from_dict(rows, orient="index")
    grid.index = pd.MultiIndex.from_tuples(list(rows), names=["pt", "sl", "vertical_bars"])
    return grid.astype({"labels": "int64"})


def label_grid_figure(grid: pd.DataFrame, values: tuple[str, ...] = ("share_pt", "share_sl", "share_vertical",
                                                                     "mean_holding_bars")) -> go.Figure:
    """One heatmap per column of :func:`label_grid` in ``values``: multipliers (``pt/sl``) down, vertical
    barrier across."""
    unknown = [v for v in values if v not in grid.columns]
    if unknown:
        raise ValueError(f"unknown grid column(s) {unknown}; label_grid has {list(grid.columns)}")
    flat = grid.reset_index()
    flat["pt/sl"] = [f"{pt:g}/{sl:g}" for pt, sl in zip(flat["pt"], flat["sl"], strict=True)]
    figure = make_subplots(rows=1, cols=len(values), subplot_titles=values, horizontal_spacing=0.06)
    for col, value in enumerate(values, start=1):
        table = flat.pivot(index="pt/sl", columns="vertical_bars", values=value).reindex(
            list(dict.fromkeys(flat["pt/sl"])))
        figure.add_trace(go.Heatmap(z=table.to_numpy(), x=[str(c) for c in table.columns], y=list(table.index),
                                    colorscale="Viridis", showscale=False, texttemplate="%{z:.2f}",
                                    name=value), row=1, col=col)
        figure.update_xaxes(title_text="vertical barrier (bars)", row=1, col=col)
    figure.update_layout(title="Label balance and holding time by barrier setting", height=380)
    return figure


def cusum_events(bars: pd.DataFrame, multiplier: float = 2.0, span: int = 100) -> np.ndarray:
    """Row-aligned event mask: per ticker, :func:`cusum_filter` with a threshold of ``multiplier`` times the
    ticker's :func:`ewm_volatility` (AFML 2.5: label where the price has moved, not every bar)."""
    mask = np.zeros(len(bars), dtype=bool)
    position = pd.Series(np.arange(len(bars)), index=pd.DatetimeIndex(bars["ts"]))
    for _, rows in position.groupby(bars["ticker"].to_numpy(), sort=False):
        close = pd.Series(bars["close"].to_numpy()[rows.to_numpy()], index=rows.index)
        times = cusum_filter(close, multiplier * ewm_volatility(close, span))
        mask[rows.loc[times].to_numpy()] = True
    return mask


def _one_ticker(bars: pd.DataFrame, ticker: str | None) -> pd.DataFrame:
    """The bars of ``ticker`` (which may be omitted when ``bars`` holds one ticker), index reset."""
    names = list(dict.fromkeys(bars["ticker"]))
    if ticker is None:
        if len(names) != 1:
            raise ValueError(f"bars hold {len(names)} tickers; pass ticker= (one of {names[:5]})")
        ticker = names[0]
    if ticker not in names:
        raise ValueError(f"ticker {ticker!r} has no bars here; the bars hold {names[:5]}")
    return bars[bars["ticker"] == ticker].reset_index(drop=True)


def barrier_figure(bars: pd.DataFrame, events: Iterable[pd.Timestamp] | np.ndarray, pt_sl: tuple[float, float],
                   vertical_bars: int, *, ticker: str | None = None, span: int = 100, max_events: int | None = 8,
                   clip_to_session: bool = True) -> go.Figure:
    """``ticker``'s close path with, for each event (bar times, or a row-aligned mask of ``bars``; at most
    ``max_events`` of those the panel labels, evenly thinned), its upper and lower barriers
    entry x (1 +- k x target) as lines from t0 to the vertical barrier (``vertical_bars`` bars later, capped at
    the session's last bar when ``clip_to_session``) and the vertical barrier itself, plus a marker at the
    touch coloured by the barrier hit. A disabled barrier (k = 0) is not drawn. New York time."""
    one = _one_ticker(bars, ticker)
    if isinstance(events, np.ndarray) and events.dtype == np.bool_:
        events = bars.loc[events & (bars["ticker"] == one["ticker"].iat[0]).to_numpy(), "ts"]
    times = pd.DatetimeIndex(one["ts"])
    labels = barrier_labels(one, pt_sl, vertical_bars, span=span, events=times.isin(pd.DatetimeIndex(events)),
                            clip_to_session=clip_to_session)
    rows = np.flatnonzero(labels["t1"].notna().to_numpy())
    if max_events is not None and len(rows) > max_events:
        rows = rows[np.linspace(0, len(rows) - 1, max_events).round().astype(int)]
    clock = times.tz_convert(EXCHANGE_TZ).tz_localize(None)
    figure = go.Figure(go.Scatter(x=clock, y=one["close"], mode="lines", name="close", line={"color": "#1f77b4"}))
    session_last = pd.Series(np.arange(len(one))).groupby(clock.normalize()).transform("max").to_numpy()
    touches = []
    for r in rows:
        entry, target = one["close"].iat[r], labels["target"].iat[r]
        end = min(r + vertical_bars, session_last[r] if clip_to_session else len(one) - 1)
        upper, lower = entry * (1 + pt_sl[0] * target), entry * (1 - pt_sl[1] * target)
        for k, level, barrier in ((pt_sl[0], upper, "pt"), (pt_sl[1], lower, "sl")):
            if k > 0:
                figure.add_shape(type="line", x0=clock[r], x1=clock[end], y0=level, y1=level, name=barrier,
                                 line={"color": BARRIER_COLOURS[barrier], "dash": "dash"})
        figure.add_shape(type="line", x0=clock[end], x1=clock[end], y0=lower if pt_sl[1] > 0 else entry,
                         y1=upper if pt_sl[0] > 0 else entry, name="vertical",
                         line={"color": BARRIER_COLOURS["vertical"], "dash": "dot"})
        t1 = r + int(labels["holding_bars"].iat[r])
        touches.append((clock[t1], one["close"].iat[t1], str(labels["barrier"].iat[r]), clock[r]))
    for barrier, colour in BARRIER_COLOURS.items():
        hit = [t for t in touches if t[2] == barrier]
        figure.add_trace(go.Scatter(x=[t[0] for t in hit], y=[t[1] for t in hit], mode="markers", name=barrier,
                                    marker={"color": colour, "size": 10, "symbol": "x"},
                                    customdata=[str(t[3]) for t in hit], hovertemplate="t0 %{customdata}"))
    figure.update_layout(title=f"{one['ticker'].iat[0]}: triple barriers pt/sl = {pt_sl[0]:g}/{pt_sl[1]:g}, "
                               f"vertical {vertical_bars} bars ({len(touches)} events)",
                         xaxis_title="New York time", yaxis_title="close", height=450)
    figure.update_xaxes(rangebreaks=list(SESSION_BREAKS))
    return figure


def label_explorer(bars: pd.DataFrame, events: np.ndarray, *, ticker: str | None = None, pt: float = 1.0,
                   sl: float = 1.0, vertical_bars: int = 30, span: int = 100) -> widgets.VBox:
    """Sliders for the profit-taking and stop-loss multipliers and the vertical barrier above a plotly
    FigureWidget that :func:`barrier_figure` redraws in place for ``ticker`` (default: the first) and a table of
    the :func:`label_summary` of every ticker's ``events`` (a row-aligned mask) at that setting."""
    ticker = str(_one_ticker(bars, ticker or str(bars["ticker"].iat[0]))["ticker"].iat[0])
    pt_slider = widgets.FloatSlider(value=pt, min=0.0, max=5.0, step=0.25, description="pt")
    sl_slider = widgets.FloatSlider(value=sl, min=0.0, max=5.0, step=0.25, description="sl")
    vertical = widgets.IntSlider(value=vertical_bars, min=1, max=240, step=1, description="vertical bars")
    figure, table = go.FigureWidget(), widgets.HTML()

    def update(_: object = None) -> None:
        pt_sl = (pt_slider.value, sl_slider.value)
        summary = label_summary(barrier_labels(bars, pt_sl, vertical.value, span=span, events=events))
        redraw(figure, barrier_figure(bars, events, pt_sl, vertical.value, ticker=ticker, span=span))
        table.value = summary.to_frame(f"pt/sl {pt_sl[0]:g}/{pt_sl[1]:g}, vertical {vertical.value}").T.to_html(
            float_format="{:.3f}".format)

    for control in (pt_slider, sl_slider, vertical):
        control.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox([pt_slider, sl_slider, vertical]), figure, table])
