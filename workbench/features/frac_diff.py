"""Fractional differentiation with a fixed-width window (López de Prado, *Advances in Financial ML*, ch. 5).

A fractional order 0 < d < 1 makes a price series stationary while keeping far more of its memory than
the first difference (d = 1) does; :func:`min_ffd_order` finds the smallest such d on a grid.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.tsa.stattools import adfuller

MAX_WEIGHTS = 100_000
"""Longest window :func:`ffd_weights` builds; a smaller threshold than that allows is a mistake, not a request."""

_TREND_TERMS = {"n": 0, "c": 1, "ct": 2, "ctt": 3}  # deterministic regressors of each ADF ``regression``
_MIN_ADF_OBS = 20  # below this many points the ADF p-value means nothing


def ffd_weights(d: float, threshold: float = 1e-4) -> np.ndarray:
    """Weights w_0 = 1, w_k = -w_{k-1} (d - k + 1) / k, newest value first, cut before the first |w_k| < threshold.

    An integer d ends exactly after w_d (later weights are 0): d = 0 gives [1], d = 1 gives [1, -1].
    """
    if not isinstance(d, numbers.Real) or not np.isfinite(d) or d < 0:
        raise ValueError(f"d must be a finite number >= 0, got {d!r}")
    if not isinstance(threshold, numbers.Real) or not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold!r}")
    size = 64
    while True:
        k = np.arange(1, size)
        with np.errstate(over="ignore", invalid="ignore"):  # a huge d overflows; reported just below
            weights = np.concatenate(([1.0], np.cumprod((k - 1 - d) / k)))
        if not np.isfinite(weights).all():
            raise ValueError(f"d={d} is too large: its weights overflow float64")
        small = np.flatnonzero(np.abs(weights) < threshold)
        if small.size:
            return weights[: small[0]]
        if size > MAX_WEIGHTS:
            raise ValueError(
                f"threshold={threshold} is too small for d={d}: the window would exceed {MAX_WEIGHTS} weights"
            )
        size = min(2 * size, MAX_WEIGHTS + 1)


def _as_float_array(series: pd.Series) -> np.ndarray:
    """The values of a numeric Series as float64 (missing values as NaN); rejects other types and infinities."""
    if not isinstance(series, pd.Series):
        raise TypeError(f"series must be a pandas Series, got {type(series).__name__}")
    if not (pd.api.types.is_float_dtype(series.dtype) or pd.api.types.is_integer_dtype(series.dtype)):
        raise TypeError(f"series {series.name!r} must hold numbers, got dtype {series.dtype}")
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.flatnonzero(np.isinf(values))
    if infinite.size:
        i = infinite[0]
        raise ValueError(
            f"series {series.name!r} holds {values[i]} at position {i} (index label {series.index[i]!r}); "
            "only finite values or NaN are allowed"
        )
    return values


def _ffd_values(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """sum_k w_k x[t-k] over the full window at each t; NaN during warm-up and where the window holds a NaN."""
    out = np.full(values.size, np.nan)
    if values.size >= weights.size:  # np.convolve would swap its arguments otherwise
        out[weights.size - 1 :] = np.convolve(values, weights, mode="valid")
    return out


def frac_diff_ffd(series: pd.Series, d: float, threshold: float = 1e-4) -> pd.Series:
    """Fixed-width fractional difference of order ``d``: stationary enough to model, with most memory kept.

    Causal; NaN for the first ``len(ffd_weights(d, threshold)) - 1`` points and wherever the window holds a NaN.
    """
    values = _as_float_array(series)
    name = "ffd" if series.name is None else f"{series.name}_ffd"
    return pd.Series(_ffd_values(values, ffd_weights(d, threshold)), index=series.index, name=name)


@dataclass(frozen=True, eq=False)
class MinOrderResult:
    """The smallest stationary order found by :func:`min_ffd_order`, its ADF test, and the whole grid's results."""

    d: float
    adf_stat: float
    p_value: float
    critical_value_5pct: float
    table: pd.DataFrame  # one row per grid d: d, adf_stat, p_value, n_obs, n_weights, corr_with_original


def min_ffd_order(
    series: pd.Series,
    d_grid: np.ndarray | list[float] | None = None,
    threshold: float = 1e-4,
    significance: float = 0.05,
    max_lag: int = 1,
    regression: str = "c",
) -> MinOrderResult:
    """Smallest grid d whose fixed-width fractional difference passes the ADF test: stationary, most memory kept.

    Every grid d is tested (NaN outputs dropped first); raises ValueError if none passes or the series is too short.
    """
    grid = np.asarray(np.round(np.arange(0, 1.01, 0.05), 2) if d_grid is None else d_grid, dtype=float)
    if grid.ndim != 1 or grid.size == 0:
        raise ValueError(f"d_grid must be a non-empty 1-D sequence of orders, got {d_grid!r}")
    grid = np.unique(grid)  # ascending, so the first pass is the smallest d
    if not 0 < significance < 1:
        raise ValueError(f"significance must be in (0, 1), got {significance!r}")
    if isinstance(max_lag, bool) or not isinstance(max_lag, numbers.Integral) or max_lag < 0:
        raise ValueError(f"max_lag must be an integer >= 0, got {max_lag!r}")
    if regression not in _TREND_TERMS:
        raise ValueError(f"regression must be one of {sorted(_TREND_TERMS)}, got {regression!r}")
    values = _as_float_array(series)
    needed = max(_MIN_ADF_OBS, 2 * (max_lag + _TREND_TERMS[regression] + 1))
    rows, critical_values = [], []
    for d in grid:
        weights = ffd_weights(float(d), threshold)
        diffed = _ffd_values(values, weights)
        valid = ~np.isnan(diffed)
        if valid.sum() < needed:
            raise ValueError(
                f"series of length {values.size} has {valid.sum()} valid points after the {weights.size}-weight "
                f"window of d={d}; the ADF test needs {needed}: use a longer series, a larger threshold or fewer d"
            )
        adf = adfuller(diffed[valid], maxlag=max_lag, regression=regression, autolag=None, result_object=True)
        rows.append(
            {
                "d": float(d),
                "adf_stat": float(adf.statistic),
                "p_value": float(adf.pvalue),
                "n_obs": int(valid.sum()),
                "n_weights": weights.size,
                "corr_with_original": float(np.corrcoef(diffed[valid], values[valid])[0, 1]),
            }
        )
        critical_values.append(float(adf.critical_values["5%"]))
    table = pd.DataFrame(rows)
    passing = np.flatnonzero(table["p_value"].to_numpy() < significance)
    if not passing.size:
        best = table.loc[table["p_value"].idxmin()]
        raise ValueError(
            f"no d in the grid makes the series stationary at significance {significance}: "
            f"best p-value {best['p_value']:.4g} at d={best['d']}"
        )
    first = passing[0]
    return MinOrderResult(
        d=float(table.at[first, "d"]),
        adf_stat=float(table.at[first, "adf_stat"]),
        p_value=float(table.at[first, "p_value"]),
        critical_value_5pct=critical_values[first],
        table=table,
    )
