"""The triple-barrier views of 02_triple_barrier against direct calls of workbench.labels and hand counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from workbench.data import Dataset
from workbench.labels import cusum_filter, ewm_volatility, triple_barrier
from workbench.viz import labels as label_views
from workbench.viz.labels import (
    barrier_figure,
    barrier_labels,
    cusum_events,
    label_bars,
    label_explorer,
    label_grid,
    label_grid_figure,
    label_summary,
)

NY = "America/New_York"
SPAN = 60



def test_cusum_events_are_cusum_filter_per_ticker(bars: pd.DataFrame) -> None:
    mask = cusum_events(bars, 2.0, SPAN)
    for ticker, one in bars.groupby("ticker"):
        close = one.set_index("ts")["close"]
        expected = cusum_filter(close, 2.0 * close.pct_change().ewm(span=SPAN).std())
        assert pd.DatetimeIndex(one.loc[mask[one.index], "ts"]).equals(expected), ticker
    assert 0 < mask.sum() < len(bars) / 3


def test_label_grid_shares_equal_direct_triple_barrier_counts(bars: pd.DataFrame) -> None:
    events = cusum_events(bars, 1.5, SPAN)
    settings, verticals = [1.0, (0.5, 2.0)], [5, 20]
    grid = label_grid(bars, settings, verticals, span=SPAN, events=events, clip_to_session=False)
    assert grid.index.tolist() == [(1.0, 1.0, 5), (1.0, 1.0, 20), (0.5, 2.0, 5), (0.5, 2.0, 20)]
    for (pt, sl, vertical), row in grid.iterrows():
        counts = {"pt": 0, "sl": 0, "vertical": 0, "up": 0, "down": 0, "flat": 0}
        holding = []
        for _, one in bars.groupby("ticker"):
            close = one.set_index("ts")["close"]
            t_events = pd.DatetimeIndex(one.loc[events[one.index], "ts"])
            labels = triple_barrier(close, t_events, ewm_volatility(close, SPAN), (pt, sl), vertical_bars=vertical)
            for barrier in ("pt", "sl", "vertical"):
                counts[barrier] += int((labels["barrier"] == barrier).sum())
            counts["up"] += int((labels["bin"] == 1).sum())
            counts["down"] += int((labels["bin"] == -1).sum())
            counts["flat"] += int((labels["bin"] == 0).sum())
            holding += list(close.index.get_indexer(labels["t1"]) - close.index.get_indexer(labels.index))
        n = counts["pt"] + counts["sl"] + counts["vertical"]
        assert row["labels"] == n > 50
        for key in counts:
            assert row[f"share_{key}"] == pytest.approx(counts[key] / n, abs=1e-12), (pt, sl, vertical, key)
        assert row["mean_holding_bars"] == pytest.approx(np.mean(holding), abs=1e-12)
    wide, narrow = grid.loc[(1.0, 1.0, 20)], grid.loc[(1.0, 1.0, 5)]
    assert wide["share_vertical"] < narrow["share_vertical"] and wide["mean_holding_bars"] > narrow["mean_holding_bars"]
    figure = label_grid_figure(grid)
    assert [t.type for t in figure.data] == ["heatmap"] * 4
    assert list(figure.data[0].y) == ["1/1", "0.5/2"] and list(figure.data[0].x) == ["5", "20"]
    np.testing.assert_allclose(figure.data[0].z, [[grid.loc[(1.0, 1.0, 5), "share_pt"],
                                                   grid.loc[(1.0, 1.0, 20), "share_pt"]],
                                                  [grid.loc[(0.5, 2.0, 5), "share_pt"],
                                                   grid.loc[(0.5, 2.0, 20), "share_pt"]]])


def test_session_clipped_grid_equals_triple_barrier_on_each_session(bars: pd.DataFrame) -> None:
    day = bars["ts"].dt.tz_convert(NY).dt.date
    events = cusum_events(bars, 1.5, SPAN) & (day == day.iat[0]).to_numpy()  # a later session exists: all finish
    grid = label_grid(bars, [(1.0, 2.0)], [5, 25], span=SPAN, events=events)
    for (pt, sl, vertical), row in grid.iterrows():
        barriers, holding = [], []
        for _, one in bars.groupby("ticker"):
            target = ewm_volatility(one.set_index("ts")["close"], SPAN)  # over the ticker's whole history
            session = one[day[one.index] == day.iat[0]].set_index("ts")["close"]
            for t0 in session.index[events[one.index][: len(session)]]:
                left = len(session) - 1 - session.index.get_loc(t0)
                if left == 0:
                    continue  # nothing after the event in its session: no label
                label = triple_barrier(session, pd.DatetimeIndex([t0]), target, (pt, sl),
                                       vertical_bars=min(vertical, left))
                barriers.append(str(label["barrier"].iat[0]))
                holding.append(session.index.get_loc(label["t1"].iat[0]) - session.index.get_loc(t0))
        assert row["labels"] == len(barriers) > 30
        for barrier in ("pt", "sl", "vertical"):
            assert row[f"share_{barrier}"] == pytest.approx(barriers.count(barrier) / len(barriers), abs=1e-12)
        assert row["mean_holding_bars"] == pytest.approx(np.mean(holding), abs=1e-12)


def test_holding_time_is_t1_minus_t0_in_bars_counted_by_hand(bars: pd.DataFrame) -> None:
    labels = barrier_labels(bars, (2.0, 2.0), 30, span=SPAN)
    done = labels[labels["t1"].notna()]
    assert len(done) > 1000
    fewer_bars_than_minutes = 0
    for i in done.index[::37]:
        ticker, t0, t1 = bars.at[i, "ticker"], bars.at[i, "ts"], done.at[i, "t1"]
        same = bars[bars["ticker"] == ticker]
        by_hand = int(((same["ts"] > t0) & (same["ts"] <= t1)).sum())
        assert done.at[i, "holding_bars"] == by_hand
        assert by_hand <= 30 and t1.tz_convert(NY).date() == t0.tz_convert(NY).date()  # clipped to the session
        fewer_bars_than_minutes += by_hand < (t1 - t0) / pd.Timedelta(minutes=1)
    assert fewer_bars_than_minutes > 0  # CQW skips minutes: holding counts bars, not minutes
    assert labels.loc[labels["t1"].isna(), "holding_bars"].isna().all()
    summary = label_summary(labels)
    assert summary["labels"] == len(done)
    assert summary["share_pt"] + summary["share_sl"] + summary["share_vertical"] == pytest.approx(1.0)


def test_barrier_shapes_sit_at_entry_times_one_plus_minus_k_sigma(bars: pd.DataFrame) -> None:
    one = bars[bars["ticker"] == "AKT"].reset_index(drop=True)
    row, vertical, pt_sl = 50, 20, (2.0, 1.5)
    t0 = one.at[row, "ts"]
    figure = barrier_figure(bars, [t0], pt_sl, vertical, ticker="AKT", span=SPAN)

    sigma = one["close"].pct_change().ewm(span=SPAN).std().iat[row]
    entry = one.at[row, "close"]
    clock = pd.DatetimeIndex(one["ts"]).tz_convert(NY).tz_localize(None)
    shapes = {shape.name: shape for shape in figure.layout.shapes}
    assert len(figure.layout.shapes) == 3
    assert shapes["pt"].y0 == shapes["pt"].y1 == pytest.approx(entry * (1 + 2.0 * sigma), rel=1e-12)
    assert shapes["sl"].y0 == shapes["sl"].y1 == pytest.approx(entry * (1 - 1.5 * sigma), rel=1e-12)
    assert pd.Timestamp(shapes["pt"].x0) == clock[row] and pd.Timestamp(shapes["pt"].x1) == clock[row + vertical]
    assert pd.Timestamp(shapes["vertical"].x0) == pd.Timestamp(shapes["vertical"].x1) == clock[row + vertical]
    assert (shapes["vertical"].y0, shapes["vertical"].y1) == (shapes["sl"].y0, shapes["pt"].y0)

    # the touch: the first close after t0 beyond a barrier, else the vertical bar, found by a loop
    hit, at = "vertical", row + vertical
    for j in range(row + 1, row + vertical + 1):
        if one.at[j, "close"] > shapes["pt"].y0 or one.at[j, "close"] < shapes["sl"].y0:
            hit, at = ("pt" if one.at[j, "close"] > shapes["pt"].y0 else "sl"), j
            break
    markers = {trace.name: trace for trace in figure.data[1:]}
    assert list(markers[hit].x) == [clock[at]] and list(markers[hit].y) == [one.at[at, "close"]]
    assert sum(len(trace.x) for trace in markers.values()) == 1


def test_barrier_figure_caps_at_the_session_and_drops_disabled_barriers(bars: pd.DataFrame) -> None:
    one = bars[bars["ticker"] == "AKT"].reset_index(drop=True)
    first_day = one["ts"].dt.tz_convert(NY).dt.date == one["ts"].dt.tz_convert(NY).dt.date.iat[0]
    last = int(np.flatnonzero(first_day)[-1])
    figure = barrier_figure(bars, [one.at[last - 5, "ts"]], (0.0, 50.0), 30, ticker="AKT", span=SPAN)
    assert [shape.name for shape in figure.layout.shapes] == ["sl", "vertical"]
    end = pd.DatetimeIndex(one["ts"]).tz_convert(NY).tz_localize(None)[last]
    assert pd.Timestamp(figure.layout.shapes[1].x0) == end
    with pytest.raises(ValueError, match="pass ticker="):
        barrier_figure(bars, [one.at[0, "ts"]], (1.0, 1.0), 5)


def test_many_events_are_thinned_to_max_events(bars: pd.DataFrame) -> None:
    events = cusum_events(bars, 1.0, SPAN)
    figure = barrier_figure(bars, events, (1.0, 1.0), 10, ticker="FPY", span=SPAN, max_events=5)
    assert sum(len(trace.x) for trace in figure.data[1:]) == 5 and len(figure.layout.shapes) == 15


def test_the_explorer_redraws_through_the_tested_functions(bars: pd.DataFrame,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def record(bars: pd.DataFrame, events: np.ndarray, pt_sl: tuple, vertical: int, **kw: object) -> go.Figure:
        calls.append((pt_sl, vertical, kw["ticker"]))
        return go.Figure(layout={"title": f"{pt_sl} {vertical}"})

    monkeypatch.setattr(label_views, "barrier_figure", record)
    events = cusum_events(bars, 2.0, SPAN)
    explorer = label_explorer(bars, events, ticker="CQW", pt=1.0, sl=2.0, vertical_bars=15, span=SPAN)
    (pt, sl, vertical), shown, table = explorer.children[0].children, *explorer.children[1:]
    sl.value = 3.0
    vertical.value = 40
    pt.value = 0.5
    assert calls == [((1.0, 2.0), 15, "CQW"), ((1.0, 3.0), 15, "CQW"), ((1.0, 3.0), 40, "CQW"),
                     ((0.5, 3.0), 40, "CQW")]
    assert shown.layout.title.text == "(0.5, 3.0) 40"
    summary = label_summary(barrier_labels(bars, (0.5, 3.0), 40, span=SPAN, events=events))
    assert f"<td>{summary['labels']:.3f}</td>" in table.value and "pt/sl 0.5/3, vertical 40" in table.value
    assert f"<td>{summary['share_pt']:.3f}</td>" in table.value


def test_label_bars_are_the_largest_stocks_back_adjusted(market: Dataset) -> None:
    table = market.tickers[~market.tickers["is_index"]]
    largest = table.nlargest(3, "market_cap")["ticker"].tolist()
    chosen = label_bars(market, start="2024-11-25", end="2024-11-25", n_tickers=3)
    assert sorted(chosen["ticker"].unique()) == sorted(largest)
    expected = market.bars(largest, "2024-11-25", "2024-11-25", adjust="backward")
    np.testing.assert_array_equal(chosen["close"].to_numpy(), expected["close"].to_numpy())
