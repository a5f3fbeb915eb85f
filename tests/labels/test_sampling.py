"""cusum_filter and average_uniqueness against slow loops."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.labels._data import random_close
from tests.labels._reference import slow_cusum, slow_uniqueness
from workbench.errors import DataValidationError
from workbench.labels import average_uniqueness, cusum_filter, ewm_volatility, triple_barrier


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 200), h=st.floats(0.001, 0.05), series=st.booleans())
def test_cusum_matches_slow_loop(seed, n, h, series):
    close = random_close(seed, n)
    threshold = h
    if series:
        rng = np.random.default_rng(seed)
        threshold = pd.Series(rng.uniform(0.2 * h, h, n), index=close.index)
        threshold[rng.random(n) < 0.1] = np.nan
    got = cusum_filter(close, threshold)
    assert isinstance(got, pd.DatetimeIndex)
    assert list(got) == slow_cusum(close, threshold)


def test_cusum_is_causal_and_fires_on_drift():
    close = pd.Series(100 * np.exp(np.linspace(0, 0.1, 11)), index=pd.date_range("2024-11-25", periods=11,
                                                                                  freq="min", tz="UTC"))
    assert list(cusum_filter(close, 0.025)) == list(close.index[[3, 6, 9]])  # steps of 0.01 in log price
    shaken = close.copy()
    shaken.iloc[7:] = 50.0
    assert list(cusum_filter(shaken, 0.025))[:2] == list(close.index[[3, 6]])
    vol = ewm_volatility(close, 5)
    assert cusum_filter(close, vol.fillna(0.01)).size > 0


def test_cusum_bad_input():
    close = random_close(0, 10)
    with pytest.raises(ValueError, match="threshold"):
        cusum_filter(close, 0.0)
    with pytest.raises(ValueError, match="threshold"):
        cusum_filter(close, pd.Series(-1.0, index=close.index))
    with pytest.raises(DataValidationError, match="index"):
        cusum_filter(close, pd.Series(0.01, index=close.index[:5]))
    with pytest.raises(TypeError, match="threshold"):
        cusum_filter(close, "1%")


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n_bars=st.integers(1, 30))
def test_uniqueness_matches_slow_loop(data, n_bars):
    grid = pd.date_range("2024-11-25 14:31", periods=n_bars, freq="min", tz="UTC")
    n_labels = data.draw(st.integers(0, 15))
    first = data.draw(st.lists(st.integers(0, n_bars - 1), min_size=n_labels, max_size=n_labels))
    last = [data.draw(st.integers(a, n_bars - 1)) for a in first]
    open_ended = data.draw(st.lists(st.booleans(), min_size=n_labels, max_size=n_labels))
    t1 = pd.Series([pd.NaT if o else grid[b] for b, o in zip(last, open_ended, strict=True)], dtype=grid.dtype)
    got = average_uniqueness(grid[first], t1, grid)
    closed = [k for k in range(n_labels) if not open_ended[k]]
    want = slow_uniqueness([first[k] for k in closed], [last[k] for k in closed])
    assert got.isna().tolist() == open_ended
    np.testing.assert_allclose(got.to_numpy()[closed], want, rtol=1e-12)


def test_uniqueness_of_triple_barrier_labels():
    close = random_close(2, 100)
    labels = triple_barrier(close, close.index, 0.01, vertical_bars=5)
    weights = average_uniqueness(labels.index, labels["t1"], close.index)
    assert weights.index.equals(labels.index)
    assert ((weights > 0) & (weights <= 1)).all()
    spans = average_uniqueness(close.index[[0, 2]], close.index[[1, 3]], close.index)  # disjoint: unique
    assert spans.tolist() == [1.0, 1.0]
    assert average_uniqueness(close.index[[0, 0]], close.index[[1, 1]], close.index).tolist() == [0.5, 0.5]


def test_uniqueness_bad_input():
    grid = pd.date_range("2024-11-25", periods=5, freq="min", tz="UTC")
    with pytest.raises(DataValidationError, match="ends before it starts"):
        average_uniqueness(grid[[3]], grid[[1]], grid)
    with pytest.raises(DataValidationError, match="not a bar time"):
        average_uniqueness(grid[[0]], [grid[1] + pd.Timedelta(seconds=1)], grid)
    with pytest.raises(ValueError, match="same length"):
        average_uniqueness(grid[[0, 1]], grid[[1]], grid)
    with pytest.raises(DataValidationError, match="strictly increasing"):
        average_uniqueness(grid[[0]], grid[[1]], grid[::-1])
