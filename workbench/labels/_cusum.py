"""Symmetric CUSUM filter (AFML snippet 2.4): sample events when log prices drift by more than a threshold."""

from __future__ import annotations

import numbers

import numba as nb
import numpy as np
import pandas as pd

from workbench.errors import DataValidationError
from workbench.labels._validate import close_series


@nb.njit(cache=True, nogil=True, error_model="numpy")
def cusum_events_nb(log_close, threshold):  # pragma: no cover - numba
    """Event flags of the symmetric CUSUM on ``diff(log_close)``; twin of :func:`cusum_filter`.

    s+ = max(0, s+ + d), s- = min(0, s- + d); a bar where s- < -h (checked first) or s+ > h is an event and
    resets the sum that fired. Where ``threshold`` is NaN both sums are held at 0 (no event, no build-up).
    """
    n = log_close.shape[0]
    flags = np.zeros(n, dtype=np.bool_)
    s_pos = 0.0
    s_neg = 0.0
    for i in range(1, n):
        h = threshold[i]
        if h != h:
            s_pos = 0.0
            s_neg = 0.0
            continue
        d = log_close[i] - log_close[i - 1]
        s_pos = max(0.0, s_pos + d)
        s_neg = min(0.0, s_neg + d)
        if s_neg < -h:
            s_neg = 0.0
            flags[i] = True
        elif s_pos > h:
            s_pos = 0.0
            flags[i] = True
    return flags


def cusum_filter(close: pd.Series, threshold: float | pd.Series) -> pd.DatetimeIndex:
    """Times t where the cumulative up or down drift of log(close) since the last reset exceeds ``threshold``.

    AFML snippet 2.4 on log-price differences, every difference included (the book's loop skips the first).
    ``threshold`` is a number > 0 or a Series on close's index (e.g. :func:`ewm_volatility`), read at t itself;
    shift it yourself to use the previous bar's value. NaN threshold bars (warm-up) emit nothing and reset the
    sums. Causal: whether t is an event uses closes up to t only, so events are safe to trade on.
    """
    index, values = close_series(close)
    if isinstance(threshold, pd.Series):
        if not threshold.index.equals(index):
            raise DataValidationError(
                "threshold Series must have exactly close's index (one value per bar); reindex it to close.index"
            )
        h = threshold.to_numpy(dtype=np.float64, na_value=np.nan)
    elif isinstance(threshold, numbers.Real) and not isinstance(threshold, bool):
        h = np.full(values.size, float(threshold))
    else:
        raise TypeError(f"threshold must be a number or a pandas Series, got {type(threshold).__name__}")
    bad = np.flatnonzero(~np.isnan(h) & ~((h > 0) & np.isfinite(h)))
    if bad.size:
        raise ValueError(f"threshold must be finite and > 0 (NaN skips a bar), got {h[bad[0]]} at {index[bad[0]]}")
    return index[cusum_events_nb(np.log(values), h)]
