"""Fixed-horizon labels (AFML section 3.2): the sign of the return over the next ``horizon`` bars."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.labels._validate import close_series, non_negative, positive_int


def fixed_horizon(close: pd.Series, horizon: int, threshold: float = 0.001, *, classes: int = 2) -> pd.Series:
    """Label bar t from r = close[t + horizon] / close[t] - 1: forward-looking, for targets only, never features.

    ``classes=2``: 1 if r > threshold else 0. ``classes=3``: +1 if r > threshold, -1 if r < -threshold, else 0.
    Returns a nullable ``Int8`` Series on ``close``'s index; the last ``horizon`` bars are ``<NA>`` (their
    window is unfinished). Horizons count bars, so a window may span a session gap. AFML notes fixed
    horizons ignore volatility: prefer :func:`triple_barrier` with a volatility target.
    """
    index, values = close_series(close)
    horizon = positive_int(horizon, "horizon")
    threshold = non_negative(threshold, "threshold")
    if classes not in (2, 3) or isinstance(classes, bool):
        raise ValueError(f"classes must be 2 (up / not up) or 3 (up / neutral / down), got {classes!r}")
    n_labelled = max(values.size - horizon, 0)
    ret = values[horizon:] / values[:n_labelled] - 1.0
    label = (ret > threshold).astype(np.int8)
    if classes == 3:
        label -= (ret < -threshold).astype(np.int8)
    data = np.zeros(values.size, dtype=np.int8)
    data[:n_labelled] = label
    mask = np.arange(values.size) >= n_labelled
    return pd.Series(pd.arrays.IntegerArray(data, mask), index=index, name="label")
