"""A first look at a dataset (notebook 01_explore): its summary, a per-ticker data-quality table and the
intraday profile of returns, volatility, volume and spread by New York minute of day.

The lead-lag heatmap is in :mod:`workbench.viz.lead_lag`, the candlestick picker in :mod:`workbench.viz.candles`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench.data import EXCHANGE_TZ, Dataset
from workbench.data._quality import HALT_MINUTES, minute_coverage
from workbench.data._summary import summarize

#: columns of the quarantine that name a record's ticker (CSV/Polygon ``ticker``, Alpaca ``symbol``)
QUARANTINE_TICKER_COLUMNS = ("ticker", "symbol")
PROFILE_COLUMNS = ("mean_abs_return_bp", "volatility_bp", "volume_share", "spread_bp")


def dataset_overview(ds: Dataset) -> pd.DataFrame:
    """What ``wb data summary`` reports (without the stylized facts), one row per item: a table to display."""
    summary = summarize(ds, facts=False)
    summary["unrecorded_splits"] = [f"{s['ticker']} {s['date']} looks like {s['looks_like']}"
                                    for s in summary["unrecorded_splits"]]
    return pd.DataFrame({"value": [_cell(v) for v in summary.values()]}, index=pd.Index(summary, name="item"))


def _cell(value: Any) -> str:
    """A summary value as one line of text (lists joined)."""
    if isinstance(value, list):
        return ", ".join(map(str, value)) if value else "none"
    return str(value)


def data_quality_table(ds: Dataset, *, halt_minutes: int = HALT_MINUTES) -> pd.DataFrame:
    """Per ticker: ``sector``, ``sessions`` (with at least one bar), ``bars``, ``expected_minutes`` (the
    calendar's minutes of every session of the dataset, half days included), ``missing_minutes``,
    ``missing_share``, ``halts`` and ``halted_minutes`` (runs of >= ``halt_minutes`` absent minutes inside a
    session), ``quarantined_rows`` (records an import set aside, by their ticker or symbol column), ``splits``
    and ``dividends`` (recorded corporate actions). Sorted worst first (missing share, then quarantined rows).

    Quarantined records whose ticker is unknown (no such column, a bad value) are in the dataset overview's
    total only; a ticker that only appears in the quarantine gets a row of its own with no bars.
    """
    coverage = minute_coverage(ds, halt_minutes=halt_minutes)
    per_ticker = coverage.groupby(level="ticker").agg(
        sessions=("bars", lambda bars: int((bars > 0).sum())), bars=("bars", "sum"),
        expected_minutes=("expected", "sum"), missing_minutes=("missing", "sum"), halts=("halts", "sum"),
        halted_minutes=("halted_minutes", "sum"))
    quarantined = _quarantined_by_ticker(ds)
    names = per_ticker.index.union(quarantined.index)
    table = per_ticker.reindex(names)
    table["sessions"] = table["sessions"].fillna(0)
    table["bars"] = table["bars"].fillna(0)
    expected = int(coverage.groupby(level="date")["expected"].first().sum())
    table["expected_minutes"] = table["expected_minutes"].fillna(expected)
    table["missing_minutes"] = table["expected_minutes"] - table["bars"]
    table = table.fillna(0).astype("int64")
    table["missing_share"] = table["missing_minutes"] / table["expected_minutes"].where(table["expected_minutes"] > 0)
    table["quarantined_rows"] = quarantined.reindex(names, fill_value=0).astype("int64")
    actions = ds.corporate_actions
    table["splits"] = (actions["split_ratio"] != 1.0).groupby(actions["ticker"].astype(str)).sum().reindex(
        names, fill_value=0).astype("int64")
    table["dividends"] = (actions["cash_dividend"] > 0).groupby(actions["ticker"].astype(str)).sum().reindex(
        names, fill_value=0).astype("int64")
    sectors = ds.tickers.assign(ticker=ds.tickers["ticker"].astype(str)).set_index("ticker")["sector"]
    table.insert(0, "sector", sectors.reindex(names).to_numpy())
    table = table.sort_values(["missing_share", "quarantined_rows"], ascending=False, kind="stable")
    return table.rename_axis("ticker")[["sector", "sessions", "bars", "expected_minutes", "missing_minutes",
                                        "missing_share", "halts", "halted_minutes", "quarantined_rows", "splits",
                                        "dividends"]]


def _quarantined_by_ticker(ds: Dataset) -> pd.Series:
    """Quarantined records per ticker, read from the first ticker-naming column the quarantine has."""
    path = ds.path / "quarantine.parquet"
    if not path.exists():
        return pd.Series(dtype="int64")
    quarantine = pd.read_parquet(path)
    column = next((c for c in QUARANTINE_TICKER_COLUMNS if c in quarantine.columns), None)
    if column is None:
        return pd.Series(dtype="int64")
    return quarantine[column].dropna().astype(str).value_counts()


def intraday_profile(ds: Dataset, tickers: list[str] | None = None, start: Any = None, end: Any = None
                     ) -> pd.DataFrame:
    """By minute of the session (1 = the bar ending 09:31 New York, 390 = 16:00), pooled over ``tickers``
    (default: every stock, the index left out) and sessions between ``start`` and ``end``:

    - ``mean_abs_return_bp`` and ``volatility_bp``: mean and standard deviation of the one-minute log return
      (close over the close one minute earlier, in basis points; the session's first bar and a bar after an
      absent minute have none);
    - ``volume_share``: mean share of the ticker-session's volume traded in that minute;
    - ``spread_bp``: mean quoted spread (ask - bid) / mid at the bar's close, in basis points (NaN without
      quotes);
    - ``time`` (``HH:MM`` New York, the bar's end) and ``observations`` (bars pooled).

    Raw prices: a corporate action never changes a return inside a session. Half days add to minutes
    1-210 only.
    """
    if tickers is None:
        table = ds.tickers
        tickers = sorted(table.loc[~table["is_index"].fillna(False).astype(bool), "ticker"].astype(str))
    bars = ds.bars(tickers, start, end, columns=["ts", "ticker", "close", "volume", "bid", "ask"])
    local = pd.DatetimeIndex(bars["ts"]).tz_convert(EXCHANGE_TZ)
    day = local.tz_localize(None).normalize().asi8
    keys = [pd.factorize(bars["ticker"])[0], day]  # integer keys: a groupby on date objects is slow
    minute = pd.Series((local.hour * 60 + local.minute - 570).to_numpy(), index=bars.index)
    log_close = np.log(bars["close"])
    previous = log_close.groupby(keys).shift(1)
    after_gap = minute.groupby(keys).diff() != 1
    ret_bp = ((log_close - previous) * 1e4).mask(after_gap)
    share = bars["volume"] / bars["volume"].groupby(keys).transform("sum")
    mid = (bars["ask"] + bars["bid"]) / 2
    spread_bp = (bars["ask"] - bars["bid"]) / mid * 1e4
    frame = pd.DataFrame({"abs_ret": ret_bp.abs(), "ret": ret_bp, "share": share, "spread": spread_bp,
                          "minute": minute})
    grouped = frame.groupby("minute")
    out = pd.DataFrame({
        "mean_abs_return_bp": grouped["abs_ret"].mean(), "volatility_bp": grouped["ret"].std(),
        "volume_share": grouped["share"].mean(), "spread_bp": grouped["spread"].mean(),
        "observations": grouped.size(),
    }).rename_axis("minute")
    clock = 570 + out.index.to_numpy()
    out.insert(0, "time", [f"{m // 60:02d}:{m % 60:02d}" for m in clock])
    return out


def intraday_figure(profile: pd.DataFrame, title: str = "Intraday profile") -> go.Figure:
    """Four stacked panels of :func:`intraday_profile` (mean |return|, volatility, volume share, spread)
    against the New York time of day, sharing the time axis."""
    missing = [c for c in ("time", *PROFILE_COLUMNS) if c not in profile.columns]
    if missing:
        raise ValueError(f"profile lacks column(s) {missing}: pass what intraday_profile returns")
    labels = ("mean |return| (bp)", "volatility (bp)", "volume share", "spread (bp)")
    figure = make_subplots(rows=4, cols=1, shared_xaxes=True, subplot_titles=labels, vertical_spacing=0.05)
    for row, (column, label) in enumerate(zip(PROFILE_COLUMNS, labels, strict=True), start=1):
        figure.add_trace(go.Scatter(x=profile["time"], y=profile[column], mode="lines", name=label), row=row, col=1)
    figure.update_layout(title=title, height=800, showlegend=False)
    figure.update_xaxes(title_text="New York time (bar end)", row=4, col=1)
    return figure
