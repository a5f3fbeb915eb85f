"""Event and label-end times of the rows of a feature frame, for purging inside model fitting."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.errors import DataValidationError


def _ns(values: pd.Index | pd.Series | np.ndarray) -> np.ndarray:
    stamps = pd.DatetimeIndex(values)
    if stamps.tz is None:
        raise DataValidationError("event and label-end times must be timezone-aware (UTC)")
    if stamps.hasnans:
        raise DataValidationError("event and label-end times hold NaT")
    return stamps.tz_convert("UTC").as_unit("ns").asi8


def sample_times(X: pd.DataFrame, t1: pd.Series | None) -> tuple[np.ndarray, np.ndarray]:
    """(t0, t1) per row as int64 ns. With ``t1`` (index = event time, values = label end, row-aligned)
    both come from it; otherwise t0 is ``X``'s ``ts`` index level (or DatetimeIndex) and t1 = t0."""
    if t1 is not None:
        if len(t1) != len(X):
            raise DataValidationError(f"t1 has {len(t1)} rows but X has {len(X)}; they must be row-aligned")
        start, end = _ns(t1.index), _ns(t1.to_numpy())
        if (end < start).any():
            raise DataValidationError("t1 holds label ends before their event times")
        return start, end
    index = X.index
    if isinstance(index, pd.MultiIndex) and "ts" in index.names:
        stamps = _ns(index.get_level_values("ts"))
    elif isinstance(index, pd.DatetimeIndex):
        stamps = _ns(index)
    else:
        raise DataValidationError("pass t1, or index X by a 'ts' level / DatetimeIndex, so that early stopping "
                                  "can hold out the end of the training window")
    return stamps, stamps
