"""The shared indicators equal TA-Lib's definitions after its warm-up, and are NaN before it."""

from __future__ import annotations

import numpy as np
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.features import indicators


def _bars(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    for k in np.flatnonzero(rng.random(n) < 0.05)[1:] if n > 1 else []:  # some unchanged closes
        close[k] = close[k - 1]
    spread = np.abs(rng.normal(0, 0.004, n)) * close
    high = close + spread * rng.random(n)
    low = close - spread * rng.random(n)
    volume = rng.integers(100, 10_000, n).astype(float)
    return close, high, low, volume


def _same(ours: np.ndarray, theirs: np.ndarray) -> None:
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))  # same warm-up
    valid = ~np.isnan(theirs)
    np.testing.assert_allclose(ours[valid], theirs[valid], rtol=1e-6, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 400), period=st.integers(2, 30))
def test_rsi_roc_atr_match_talib(seed: int, n: int, period: int) -> None:
    close, high, low, _ = _bars(seed, n)
    _same(indicators.rsi(close, period), talib.RSI(close, period))
    _same(indicators.roc(close, period), talib.ROC(close, period))
    _same(indicators.atr(high, low, close, period), talib.ATR(high, low, close, period))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 400), fast=st.integers(2, 15), extra=st.integers(1, 20),
       signal=st.integers(1, 12))
def test_macd_matches_talib(seed: int, n: int, fast: int, extra: int, signal: int) -> None:
    close, *_ = _bars(seed, n)
    ours = indicators.macd(close, fast, fast + extra, signal)
    theirs = talib.MACD(close, fast, fast + extra, signal)
    for a, b in zip(ours, theirs, strict=True):
        _same(a, b)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 400), period=st.integers(2, 40),
       nbdev=st.floats(0.5, 3.0))
def test_bollinger_matches_talib(seed: int, n: int, period: int, nbdev: float) -> None:
    close, *_ = _bars(seed, n)
    ours = indicators.bollinger(close, period, nbdev)
    theirs = talib.BBANDS(close, period, nbdev, nbdev, 0)
    for a, b in zip(ours, theirs, strict=True):
        _same(a, b)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 400))
def test_obv_matches_talib(seed: int, n: int) -> None:
    close, _, _, volume = _bars(seed, n)
    _same(indicators.obv(close, volume), talib.OBV(close, volume))


def test_default_parameters_on_a_long_series() -> None:
    close, high, low, volume = _bars(1, 5000)
    _same(indicators.rsi(close), talib.RSI(close, 14))
    for a, b in zip(indicators.macd(close), talib.MACD(close, 12, 26, 9), strict=True):
        _same(a, b)
    for a, b in zip(indicators.bollinger(close), talib.BBANDS(close, 20, 2.0, 2.0, 0), strict=True):
        _same(a, b)
    _same(indicators.atr(high, low, close), talib.ATR(high, low, close, 14))


def test_series_in_series_out() -> None:
    import pandas as pd

    close = pd.Series(_bars(2, 50)[0], index=pd.RangeIndex(100, 150))
    assert indicators.rsi(close).index.equals(close.index)


def test_bad_series_is_refused() -> None:
    with pytest.raises(ValueError, match="NaN or infinite"):
        indicators.rsi(np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ValueError, match="fast .* must be shorter than slow"):
        indicators.macd(np.ones(50), 26, 12)
