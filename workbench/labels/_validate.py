"""Input checks shared by the label functions: bad data raises DataValidationError, bad parameters ValueError."""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np
import pandas as pd

from workbench.errors import DataValidationError


def time_index(index: pd.Index, what: str) -> pd.DatetimeIndex:
    """``index`` as a DatetimeIndex, checked strictly increasing (no NaT, no duplicate, no step back)."""
    if not isinstance(index, pd.DatetimeIndex):
        raise DataValidationError(
            f"{what} must be indexed by bar timestamps (a DatetimeIndex), got {type(index).__name__}"
        )
    if index.hasnans:
        raise DataValidationError(f"{what} has a missing timestamp (NaT) at position {np.flatnonzero(index.isna())[0]}")
    if len(index) > 1:
        steps = np.diff(index.asi8)
        bad = np.flatnonzero(steps <= 0)
        if bad.size:
            i = bad[0] + 1
            kind = "repeats" if steps[bad[0]] == 0 else "goes back to"
            raise DataValidationError(
                f"{what} time must be strictly increasing: position {i} {kind} {index[i]} after {index[i - 1]}; "
                "sort by time and drop duplicate bars"
            )
    return index


def price_values(values: pd.Series, what: str, where: Callable[[int], str]) -> np.ndarray:
    """Prices as float64, checked finite and positive; the error names the first bad row (``where(i)``)."""
    if not (pd.api.types.is_float_dtype(values.dtype) or pd.api.types.is_integer_dtype(values.dtype)):
        raise DataValidationError(f"{what} must hold numbers, got dtype {values.dtype}")
    out = values.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~(np.isfinite(out) & (out > 0)))
    if bad.size:
        i = bad[0]
        raise DataValidationError(
            f"{what} holds {out[i]} at {where(i)} ({bad.size} bad value(s) in all); prices must be finite and > 0: "
            "drop or fill missing bars before labelling"
        )
    return out


def close_series(close: pd.Series) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The time index and float64 values of a one-instrument close Series, both checked."""
    if not isinstance(close, pd.Series):
        raise TypeError(f"close must be a pandas Series indexed by bar time, got {type(close).__name__}")
    index = time_index(close.index, "close")
    return index, price_values(close, "close", lambda i: str(index[i]))


def positive_int(value: object, name: str) -> int:
    """``value`` as an int >= 1, else a ValueError naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1 (a number of bars), got {value!r}")
    return int(value)


def non_negative_int(value: object, name: str) -> int:
    """``value`` as an int >= 0, else a ValueError naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0 (a number of bars), got {value!r}")
    return int(value)


def non_negative(value: object, name: str) -> float:
    """``value`` as a finite float >= 0, else a ValueError naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def pt_sl_pair(pt_sl: object) -> tuple[float, float]:
    """The (profit-taking, stop-loss) multipliers, each finite and >= 0 (0 disables that barrier)."""
    if not isinstance(pt_sl, tuple | list) or len(pt_sl) != 2:
        raise ValueError(f"pt_sl must be a pair (pt, sl) of multipliers of the target, got {pt_sl!r}")
    return non_negative(pt_sl[0], "pt_sl[0] (profit-taking multiplier)"), non_negative(
        pt_sl[1], "pt_sl[1] (stop-loss multiplier)"
    )
