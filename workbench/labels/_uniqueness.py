"""Average uniqueness of overlapping labels (AFML ch. 4): sample weights that discount redundant labels."""

from __future__ import annotations

import numba as nb
import numpy as np
import pandas as pd

from workbench.errors import DataValidationError
from workbench.labels._layout import panel_layout
from workbench.labels._validate import time_index


@nb.njit(cache=True, nogil=True, error_model="numpy")
def mean_inverse_concurrency_nb(concurrency, first, last):  # pragma: no cover - numba
    """mean(1 / concurrency[first[k] : last[k] + 1]) for each span k (AFML snippet 4.2's ``mpSampleTW``)."""
    out = np.empty(first.shape[0])
    for k in range(first.shape[0]):
        total = 0.0
        for t in range(first[k], last[k] + 1):
            total += 1.0 / concurrency[t]
        out[k] = total / (last[k] - first[k] + 1)
    return out


@nb.njit(cache=True, nogil=True, error_model="numpy")
def span_end_rows_nb(ts_ns, rows, block_last, t1_ns):  # pragma: no cover - numba
    """Row of ``t1_ns[k]`` among rows[k] ... block_last[rows[k]] (binary search); -1 if no bar has that time."""
    out = np.full(rows.shape[0], -1, dtype=np.int64)
    for k in range(rows.shape[0]):
        lo = rows[k]
        hi = block_last[lo] + 1
        target = t1_ns[k]
        while lo < hi:
            mid = (lo + hi) // 2
            if ts_ns[mid] < target:
                lo = mid + 1
            else:
                hi = mid
        if lo <= block_last[rows[k]] and ts_ns[lo] == target:
            out[k] = lo
    return out


def uniqueness_of_spans(first: np.ndarray, last: np.ndarray, n_bars: int) -> np.ndarray:
    """Average uniqueness of label spans given as inclusive bar positions [first, last] on an ``n_bars`` grid.

    c_t = number of spans covering bar t (AFML snippet 4.1); uniqueness = mean of 1 / c_t over the span.
    """
    if first.size == 0:
        return np.zeros(0)
    concurrency = np.cumsum(
        np.bincount(first, minlength=n_bars + 1) - np.bincount(last + 1, minlength=n_bars + 1)
    )[:n_bars]
    return mean_inverse_concurrency_nb(concurrency.astype(np.float64), first, last)


def average_uniqueness(
    t0: pd.Index | np.ndarray, t1: pd.Series | pd.Index | np.ndarray, bar_times: pd.DatetimeIndex
) -> pd.Series:
    """AFML ch. 4 average uniqueness of each label span [t0, t1] (both on the ``bar_times`` grid, inclusive).

    Typical call: ``average_uniqueness(labels.index, labels["t1"], close.index)`` on a :func:`triple_barrier`
    frame. Spans with a missing t1 (NaT) get NaN and do not count towards concurrency. Returns a float Series
    indexed by t0, in (0, 1]; use it as ``sample_weight`` (AFML 4.4) or to set a bagging ``max_samples``.
    """
    grid = time_index(pd.DatetimeIndex(bar_times), "bar_times")
    start = pd.DatetimeIndex(t0)
    end = pd.DatetimeIndex(t1)
    if start.size != end.size:
        raise ValueError(f"t0 and t1 must have the same length, got {start.size} and {end.size}")
    if start.hasnans:
        raise DataValidationError(f"t0 is missing (NaT) at position {np.flatnonzero(start.isna())[0]}")
    first = grid.get_indexer(start)
    _check_on_grid(first, start, "t0")
    has_end = ~end.isna()
    last = grid.get_indexer(end[has_end])
    _check_on_grid(last, end[has_end], "t1")
    before = np.flatnonzero(last < first[has_end])
    if before.size:
        k = np.flatnonzero(has_end)[before[0]]
        raise DataValidationError(f"label span ends before it starts: t1 {end[k]} < t0 {start[k]}")
    out = np.full(start.size, np.nan)
    out[has_end] = uniqueness_of_spans(first[has_end].astype(np.int64), last.astype(np.int64), grid.size)
    return pd.Series(out, index=start, name="uniqueness")


def _check_on_grid(positions: np.ndarray, times: pd.DatetimeIndex, what: str) -> None:
    missing = np.flatnonzero(positions < 0)
    if missing.size:
        raise DataValidationError(
            f"{what} {times[missing[0]]} is not a bar time of bar_times ({missing.size} such value(s)); "
            "label spans must start and end on bars"
        )


def average_uniqueness_panel(bars: pd.DataFrame, labels: pd.DataFrame) -> pd.Series:
    """:func:`average_uniqueness` per ticker for a :func:`triple_barrier_panel` frame (row-aligned with ``bars``).

    Each ticker's own bars are its grid; labels of different tickers never overlap. Returns a float Series on
    ``bars.index``: NaN on rows without a label.
    """
    layout = panel_layout(bars, ("ts", "ticker"))
    if not isinstance(labels, pd.DataFrame) or "t1" not in labels.columns:
        raise DataValidationError("labels must be the frame triple_barrier_panel returned (it needs a t1 column)")
    if not labels.index.equals(bars.index):
        raise DataValidationError("labels must be row-aligned with bars (same index), as triple_barrier_panel returns")
    if not isinstance(labels["t1"].dtype, pd.DatetimeTZDtype):
        raise DataValidationError(f"labels.t1 must hold tz-aware timestamps, got dtype {labels['t1'].dtype}")
    t1 = pd.DatetimeIndex(labels["t1"]).tz_convert("UTC")
    rows = np.flatnonzero(~t1.isna()).astype(np.int64)
    t1_ns = t1[rows].as_unit("ns").asi8
    last = span_end_rows_nb(layout.ts_ns, rows, layout.block_last, t1_ns)
    missing = np.flatnonzero(last < 0)
    if missing.size:
        raise DataValidationError(
            f"labels.t1 {t1[rows[missing[0]]]} at {layout.where(int(rows[missing[0]]))} is not a later bar of the "
            "same ticker; were the labels computed on these bars?"
        )
    out = np.full(t1.size, np.nan)
    out[rows] = uniqueness_of_spans(rows, last, t1.size)
    return pd.Series(out, index=bars.index, name="uniqueness")
