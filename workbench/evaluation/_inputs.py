"""Checks shared by the evaluation functions: a prediction panel's columns, a finite signal, binary labels.

Each raises :class:`~workbench.errors.DataValidationError` naming the column, the count and the first bad row,
so a notebook user sees what to fix rather than a pandas traceback.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.data._schema import require_columns
from workbench.errors import DataValidationError


def require_panel(frame: object, columns: list[str], what: str) -> pd.DataFrame:
    """Return ``frame`` once it is a DataFrame holding ``columns`` (raise a clear error otherwise)."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    require_columns(frame, columns, what)
    return frame


def _first_row(frame: pd.DataFrame, mask: np.ndarray, keys: list[str]) -> str:
    """``key=value`` of the first row where ``mask`` holds, for error messages."""
    row = frame.iloc[int(np.flatnonzero(mask)[0])]
    shown = [k for k in keys if k in frame.columns] or [frame.columns[0]]
    return ", ".join(f"{k}={row[k]!r}" for k in shown)


def float_column(frame: pd.DataFrame, column: str, what: str, *, keys: list[str], allow_nan: bool) -> np.ndarray:
    """``frame[column]`` as float64; non-numeric data, infinities and (unless ``allow_nan``) NaN are errors."""
    series = frame[column]
    if not (pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype)):
        raise DataValidationError(f"{what} column {column!r} must be numeric, got dtype {series.dtype}")
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        raise DataValidationError(f"{what} column {column!r} has {int(infinite.sum())} infinite value(s); "
                                  f"first at {_first_row(frame, infinite, keys)}")
    if not allow_nan:
        missing = np.isnan(values)
        if missing.any():
            raise DataValidationError(
                f"{what} column {column!r} has {int(missing.sum())} NaN value(s); first at "
                f"{_first_row(frame, missing, keys)}. Drop or fill those rows before evaluating.")
    return values


def check_binary(values: np.ndarray, what: str) -> None:
    """Raise unless every non-NaN value of ``values`` is 0 or 1."""
    bad = ~np.isnan(values) & (values != 0.0) & (values != 1.0)
    if bad.any():
        raise DataValidationError(f"{what} must be binary 0/1; found {int(bad.sum())} other value(s), "
                                  f"e.g. {values[bad][:3].tolist()}")


def check_unique_keys(frame: pd.DataFrame, by: str, what: str) -> None:
    """Raise when a ``ticker`` column exists and a (``by``, ticker) pair repeats: a name would count twice."""
    if "ticker" not in frame.columns:
        return
    duplicated = frame.duplicated([by, "ticker"]).to_numpy()
    if duplicated.any():
        raise DataValidationError(f"{what} has {int(duplicated.sum())} duplicate ({by}, ticker) row(s); first at "
                                  f"{_first_row(frame, duplicated, [by, 'ticker'])}. Keep one row per name per "
                                  f"{by}.")
