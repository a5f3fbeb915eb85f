"""ewm_volatility against pandas' EWM std of pct_change, and its causality."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.labels._data import random_close
from workbench.labels import ewm_volatility


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 300), span=st.integers(2, 150), tick=st.booleans())
def test_matches_pandas(seed, n, span, tick):
    close = random_close(seed, n, vol=0.002, tick=tick)
    want = close.pct_change().ewm(span=span).std()
    got = ewm_volatility(close, span)
    assert got.index.equals(close.index)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12, atol=1e-15)
    assert got.iloc[: min(2, n)].isna().all()


def test_constant_prices_have_zero_volatility():
    close = random_close(0, 20) * 0 + 50.0
    assert (ewm_volatility(close, 5).iloc[2:] == 0).all()


def test_causal():
    close = random_close(4, 100)
    base = ewm_volatility(close, 10)
    shaken = close.copy()
    shaken.iloc[60:] *= 1.5
    assert base.iloc[:60].equals(ewm_volatility(shaken, 10).iloc[:60])
    assert not base.iloc[60:].equals(ewm_volatility(shaken, 10).iloc[60:])


@pytest.mark.parametrize("span", [1, 0, 2.5, True])
def test_bad_span(span):
    with pytest.raises(ValueError, match="span"):
        ewm_volatility(random_close(0, 10), span)
