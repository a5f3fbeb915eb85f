"""Causal EWM volatility of one-bar returns: the ``target`` that scales the triple barrier (AFML snippet 3.1)."""

from __future__ import annotations

import numba as nb
import numpy as np
import pandas as pd

from workbench.labels._validate import close_series, positive_int


@nb.njit(cache=True, nogil=True, error_model="numpy")
def ewm_return_std_nb(close, bounds, com):  # pragma: no cover - numba
    """EWM std of simple one-bar returns inside each block ``close[bounds[g]:bounds[g + 1]]``.

    Twin of ``close.pct_change().ewm(com=com).std()`` per block (pandas' adjust=True, bias-corrected
    recursion, ignore_na=False); the first bar of a block has no return. Causal: out[t] uses close[<= t].
    """
    out = np.full(close.shape[0], np.nan)
    alpha = 1.0 / (1.0 + com)
    decay = 1.0 - alpha
    for g in range(bounds.shape[0] - 1):
        start, stop = bounds[g], bounds[g + 1]
        mean = np.nan
        var = 0.0
        sum_wt = 1.0
        sum_wt2 = 1.0
        old_wt = 1.0
        for i in range(start + 1, stop):
            cur = close[i] / close[i - 1] - 1.0
            if mean == mean:
                sum_wt *= decay
                sum_wt2 *= decay * decay
                old_wt *= decay
                old_mean = mean
                if mean != cur:  # keeps a constant series' variance exactly 0
                    mean = (old_wt * old_mean + cur) / (old_wt + 1.0)
                var = (old_wt * (var + (old_mean - mean) * (old_mean - mean)) + (cur - mean) * (cur - mean)) / (
                    old_wt + 1.0
                )
                sum_wt += 1.0
                sum_wt2 += 1.0
                old_wt += 1.0
            else:
                mean = cur
            numerator = sum_wt * sum_wt
            denominator = numerator - sum_wt2
            if denominator > 0:
                out[i] = np.sqrt(max(numerator / denominator * var, 0.0))
    return out


def span_com(span: object) -> float:
    """pandas' centre of mass for an EWM ``span`` (span >= 2 bars)."""
    span = positive_int(span, "span")
    if span < 2:
        raise ValueError(f"span must be >= 2 bars (span=1 gives every weight to the newest return), got {span}")
    return (span - 1) / 2.0


def ewm_volatility(close: pd.Series, span: int = 100) -> pd.Series:
    """EWM standard deviation of simple one-bar returns ``close[t] / close[t-1] - 1`` (AFML ``getDailyVol``).

    Causal (the value at t uses closes up to t), so it can size barriers set at t. Equals pandas'
    ``close.pct_change().ewm(span=span).std()``: NaN for the first two bars (no return, then one return).
    Simple returns, because the triple-barrier levels are simple-return multiples of this target.
    """
    index, values = close_series(close)
    com = span_com(span)
    out = ewm_return_std_nb(values, np.array([0, values.size], dtype=np.int64), com)
    return pd.Series(out, index=index, name="target")
