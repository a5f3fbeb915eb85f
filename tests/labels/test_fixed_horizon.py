"""fixed_horizon against the direct pandas shift formula."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.labels._data import random_close
from workbench.errors import DataValidationError
from workbench.labels import fixed_horizon


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 80),
    horizon=st.integers(1, 20),
    threshold=st.sampled_from([0.0, 0.001, 0.01]),
    classes=st.sampled_from([2, 3]),
    tick=st.booleans(),
)
def test_matches_shift_formula(seed, n, horizon, threshold, classes, tick):
    close = random_close(seed, n, vol=0.003 if tick else 0.01, tick=tick)
    ret = close.shift(-horizon) / close - 1
    if classes == 2:
        want = (ret > threshold).astype("Int8")
    else:
        want = (ret > threshold).astype("Int8") - (ret < -threshold).astype("Int8")
    want = want.mask(ret.isna())
    got = fixed_horizon(close, horizon, threshold, classes=classes)
    assert got.dtype == "Int8"
    assert got.index.equals(close.index)
    assert got.isna().tolist() == ret.isna().tolist()
    assert got.isna().sum() == min(horizon, n)
    assert got.dropna().tolist() == want.dropna().astype(int).tolist()


def test_three_classes_and_threshold_edges():
    close = pd.Series([100.0, 101.0, 100.0, 100.0], index=pd.date_range("2024-11-25", periods=4, freq="min", tz="UTC"))
    assert fixed_horizon(close, 1, 0.0, classes=3).tolist() == [1, -1, 0, pd.NA]
    exact = 101.0 / 100.0 - 1  # a return equal to the threshold is neutral, on both sides
    assert fixed_horizon(close, 1, exact, classes=3).tolist() == [0, 0, 0, pd.NA]
    assert fixed_horizon(close, 1, 0.0).tolist() == [1, 0, 0, pd.NA]


def test_label_at_t_ignores_the_past_and_far_future():
    close = random_close(1, 30)
    base = fixed_horizon(close, 5)
    shaken = close.copy()
    shaken.iloc[:10] *= 3.0
    shaken.iloc[16:] *= 0.2
    assert fixed_horizon(shaken, 5).iloc[10] == base.iloc[10]


def test_bad_input():
    close = random_close(0, 10)
    with pytest.raises(ValueError, match="horizon"):
        fixed_horizon(close, 0)
    with pytest.raises(ValueError, match="classes"):
        fixed_horizon(close, 1, classes=4)
    with pytest.raises(ValueError, match="threshold"):
        fixed_horizon(close, 1, -0.1)
    with pytest.raises(DataValidationError, match="strictly increasing"):
        fixed_horizon(close.iloc[::-1], 1)
    with pytest.raises(DataValidationError, match="nan"):
        fixed_horizon(close.where(close.index != close.index[3]), 1)
    with pytest.raises(TypeError, match="Series"):
        fixed_horizon(close.to_numpy(), 1)
    with pytest.raises(DataValidationError, match="numbers"):
        fixed_horizon(close.astype(str), 1)
