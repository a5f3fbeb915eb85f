"""Fixed-horizon vs triple-barrier counts and uniqueness over time, against loops and the one-ticker APIs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.labels import average_uniqueness
from workbench.viz.label_weights import (
    comparison_figure,
    fixed_horizon_panel,
    label_comparison,
    uniqueness_figure,
    uniqueness_over_time,
)
from workbench.viz.labels import barrier_labels, cusum_events

NY = "America/New_York"
SPAN = 60



def test_fixed_horizon_panel_never_holds_overnight(bars: pd.DataFrame) -> None:
    fixed = fixed_horizon_panel(bars, 10, 0.0005)
    day = bars["ts"].dt.tz_convert(NY).dt.date
    for i in bars.index[::53]:
        same = bars[(bars["ticker"] == bars.at[i, "ticker"]) & (day == day[i])]
        ahead = same.index[same.index.get_loc(i) + 10] if same.index.get_loc(i) + 10 < len(same) else None
        if ahead is None:
            assert pd.isna(fixed[i])
        else:
            ret = bars.at[ahead, "close"] / bars.at[i, "close"] - 1
            assert fixed[i] == (1 if ret > 0.0005 else -1 if ret < -0.0005 else 0)


def test_comparison_counts_equal_a_loop_over_events(bars: pd.DataFrame) -> None:
    events = cusum_events(bars, 1.5, SPAN)
    table = label_comparison(bars, (1.0, 1.0), 20, threshold=0.0, span=SPAN, events=events)
    labels = barrier_labels(bars, (1.0, 1.0), 20, span=SPAN, events=events)
    day = bars["ts"].dt.tz_convert(NY).dt.date
    expected = pd.DataFrame(0, index=[-1, 0, 1], columns=[-1, 0, 1])
    for i in np.flatnonzero(events):
        same = bars[(bars["ticker"] == bars["ticker"].iat[i]) & (day == day.iat[i])]
        k = same.index.get_loc(bars.index[i])
        if k + 20 >= len(same) or pd.isna(labels["t1"].iat[i]):
            continue
        ret = same["close"].iat[k + 20] / same["close"].iat[k] - 1
        expected.loc[int(np.sign(ret)), int(labels["bin"].iat[i])] += 1
    assert table.to_numpy().tolist() == expected.to_numpy().tolist()
    assert table.to_numpy().sum() > 50 and np.trace(table.to_numpy()) > table.to_numpy().sum() / 2
    figure = comparison_figure(table)
    agree = np.trace(table.to_numpy()) / table.to_numpy().sum()
    assert f"{agree:.1%}" in figure.layout.title.text
    assert [t.type for t in figure.data] == ["bar", "bar", "heatmap"]
    np.testing.assert_allclose(figure.data[0].y, table.sum(axis=1) / table.to_numpy().sum())


def test_uniqueness_over_time_equals_per_ticker_average_uniqueness(bars: pd.DataFrame) -> None:
    labels = barrier_labels(bars, (2.0, 2.0), 30, span=SPAN)
    over_time = uniqueness_over_time(bars, labels)
    pieces = []
    for _, one in bars.groupby("ticker"):
        done = labels.loc[one.index][labels.loc[one.index, "t1"].notna()]
        weights = average_uniqueness(pd.DatetimeIndex(one.loc[done.index, "ts"]), done["t1"],
                                     pd.DatetimeIndex(one["ts"]))
        pieces.append(weights)
    expected = pd.concat(pieces).groupby(level=0).agg(["mean", "size"])
    assert over_time.index.equals(expected.index)
    np.testing.assert_allclose(over_time["mean_uniqueness"], expected["mean"], rtol=1e-12)
    assert over_time["labels"].tolist() == expected["size"].tolist()
    assert 0 < over_time["mean_uniqueness"].min() <= over_time["mean_uniqueness"].max() <= 1
    sparse = uniqueness_over_time(bars, barrier_labels(bars, (2.0, 2.0), 30, span=SPAN,
                                                       events=cusum_events(bars, 2.0, SPAN)))
    assert sparse["mean_uniqueness"].mean() > 2 * over_time["mean_uniqueness"].mean()  # fewer overlaps
    figure = uniqueness_figure(over_time)
    assert [t.type for t in figure.data] == ["scatter", "bar"]
    assert len(figure.data[0].x) == len(over_time)
