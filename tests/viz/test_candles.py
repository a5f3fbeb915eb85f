"""The candlestick of 01_explore: raw and split-adjusted candles differ exactly across a split, quotes are drawn
where they exist, and the picker redraws through candlestick_figure."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from workbench.data import Dataset
from workbench.viz import candles
from workbench.viz.candles import bar_picker, candlestick_figure


def test_raw_and_split_adjusted_candles_differ_exactly_across_the_split(market: Dataset) -> None:
    actions = market.corporate_actions
    split = actions[actions["split_ratio"] != 1.0].iloc[0]
    ticker, ex_date, ratio = split["ticker"], pd.Timestamp(split["ex_date"]).date(), float(split["split_ratio"])
    before = max(d for d in market.dates if d < ex_date)
    raw = candlestick_figure(market, ticker, before, ex_date, "raw")
    adjusted = candlestick_figure(market, ticker, before, ex_date, "splits")

    assert [t.type for t in raw.data] == ["candlestick", "scatter", "scatter", "bar"]
    assert [t.name for t in raw.data[1:]] == ["bid", "ask", "volume"]
    day = pd.DatetimeIndex(raw.data[0].x).date
    pre = day < ex_date
    assert pre.any() and (~pre).any()
    for field in ("open", "high", "low", "close"):
        ratio_seen = np.asarray(getattr(adjusted.data[0], field)) / np.asarray(getattr(raw.data[0], field))
        np.testing.assert_allclose(ratio_seen[pre], 1 / ratio, rtol=1e-12)
        np.testing.assert_array_equal(ratio_seen[~pre], 1.0)
    for trace in (1, 2):  # bid, ask
        np.testing.assert_allclose((np.asarray(adjusted.data[trace].y) / np.asarray(raw.data[trace].y))[pre],
                                   1 / ratio, rtol=1e-12)
    volume = np.asarray(adjusted.data[3].y) / np.asarray(raw.data[3].y)
    np.testing.assert_allclose(volume[pre], ratio, rtol=1e-12)
    np.testing.assert_array_equal(volume[~pre], 1.0)
    # the raw overnight jump is the split; adjusted, it is an ordinary move
    last_pre, first_post = np.flatnonzero(pre)[-1], np.flatnonzero(~pre)[0]
    raw_close = np.asarray(raw.data[0].close)
    assert raw_close[first_post] / raw_close[last_pre] == pytest.approx(1 / ratio, rel=0.05)
    assert "(splits)" in adjusted.layout.title.text and ticker in raw.layout.title.text


def test_candles_match_the_bars_in_new_york_time(market: Dataset) -> None:
    figure = candlestick_figure(market, "SPY", "2024-11-29", "2024-11-29")
    bars = market.bars(["SPY"], "2024-11-29", "2024-11-29")
    assert len(figure.data[0].x) == len(bars) == 210
    assert pd.Timestamp(figure.data[0].x[0]) == pd.Timestamp("2024-11-29 09:31")
    assert pd.Timestamp(figure.data[0].x[-1]) == pd.Timestamp("2024-11-29 13:00")  # the half day
    np.testing.assert_array_equal(np.asarray(figure.data[0].close), bars["close"].to_numpy())


def test_quote_lines_are_left_out_without_quotes(market: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    original = Dataset.bars

    def without_quotes(self: Dataset, *args: object, **kwargs: object) -> pd.DataFrame:
        return original(self, *args, **kwargs).assign(bid=np.nan, ask=np.nan)

    monkeypatch.setattr(Dataset, "bars", without_quotes)
    figure = candlestick_figure(market, "SPY", "2024-11-25", "2024-11-25")
    assert [t.type for t in figure.data] == ["candlestick", "bar"]


def test_the_picker_redraws_through_candlestick_figure(market: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def record(ds: Dataset, ticker: str, start: object, end: object, adjust: str) -> go.Figure:
        calls.append((ticker, start, end, adjust))
        return go.Figure(go.Scatter(y=[len(calls)]), layout={"title": f"{ticker} {adjust}"})

    monkeypatch.setattr(candles, "candlestick_figure", record)
    picker = bar_picker(market)
    (ticker, mode), (days, shown) = picker.children[0].children, picker.children[1:]
    assert calls == [("SPY", market.dates[0], market.dates[0], "raw")]
    ticker.value = "FPY"
    mode.value = "backward"
    days.value = (dt.date(2024, 11, 26), dt.date(2024, 11, 29))
    assert calls[1:] == [("FPY", market.dates[0], market.dates[0], "raw"),
                         ("FPY", market.dates[0], market.dates[0], "backward"),
                         ("FPY", dt.date(2024, 11, 26), dt.date(2024, 11, 29), "backward")]
    assert isinstance(shown, go.FigureWidget) and shown.layout.title.text == "FPY backward"
    assert len(shown.data) == 1 and list(shown.data[0].y) == [4]
    with pytest.raises(ValueError, match="not in dataset"):
        bar_picker(market, ticker="NOPE")


def test_the_picker_shows_the_real_candles(market: Dataset) -> None:
    shown = bar_picker(market, "FPY", "splits").children[2]
    expected = candlestick_figure(market, "FPY", market.dates[0], market.dates[0], "splits")
    assert [t.type for t in shown.data] == [t.type for t in expected.data]
    np.testing.assert_array_equal(np.asarray(shown.data[0].close), np.asarray(expected.data[0].close))
