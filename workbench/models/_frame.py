"""Checks shared by the models: a feature frame with named columns, finite labels, aligned weights."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.errors import DataValidationError


def check_features(X: pd.DataFrame, what: str = "X") -> None:
    """Refuse what a model cannot learn from: a non-frame, no rows, or columns that are neither numeric
    nor categorical (strings must be made categoricals on purpose)."""
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame of features, got {type(X).__name__}")
    if X.empty:
        raise DataValidationError(f"{what} has no rows")
    bad = [c for c in X.columns if not (pd.api.types.is_numeric_dtype(X[c]) or isinstance(X[c].dtype,
                                                                                           pd.CategoricalDtype))]
    if bad:
        raise DataValidationError(f"{what} columns {bad} are neither numeric nor categorical; convert them "
                                  "(e.g. .astype('category')) or drop them")
    infinite = [c for c in X.columns if pd.api.types.is_float_dtype(X[c]) and np.isinf(X[c].to_numpy()).any()]
    if infinite:
        raise DataValidationError(f"{what} columns {infinite} hold infinite values")


def check_labels(y: object, n: int) -> np.ndarray:
    """Binary 0/1 labels of length ``n`` as an int array."""
    labels = np.asarray(y)
    if labels.shape != (n,):
        raise DataValidationError(f"y has shape {labels.shape}; expected ({n},), one label per row of X")
    if pd.isna(labels).any():
        raise DataValidationError(f"y holds {int(pd.isna(labels).sum())} missing labels; drop unlabelled rows")
    values = set(np.unique(labels).tolist())
    if not values <= {0, 1}:
        raise DataValidationError(f"y must be binary 0/1, got values {sorted(values)[:10]}")
    return labels.astype(np.int64)


def check_weights(sample_weight: object, n: int) -> np.ndarray | None:
    """Non-negative finite weights of length ``n`` (or None)."""
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight, dtype=float)
    if weights.shape != (n,) or not np.isfinite(weights).all() or (weights < 0).any():
        raise DataValidationError("sample_weight must be one finite, non-negative weight per row of X")
    return weights
