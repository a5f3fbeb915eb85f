"""Sample times of a panel for the time-based splitters: each row's event start t0, label end t1 and bar.

A panel has many rows (tickers) per timestamp. The splitters cut by TIME: a "bar" is one distinct t0, and
every row of a bar falls on the same side of a split. Rows need not be sorted; indices are positions in X.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.errors import DataValidationError

_T1_HELP = "t1 must be a pd.Series of label ends indexed by each row's event start t0, row-aligned with X"


@dataclass(frozen=True)
class SampleTimes:
    """Per-row event start ``t0_ns`` and label end ``t1_ns`` (UTC nanoseconds; ``t1_ns`` None when not given),
    ``bar`` (rank of the row's t0 among the distinct t0s) and ``bar_ns`` (the distinct t0s, ascending)."""

    t0_ns: np.ndarray
    t1_ns: np.ndarray | None
    bar: np.ndarray
    bar_ns: np.ndarray

    @property
    def n_samples(self) -> int:
        """Number of rows."""
        return len(self.bar)

    @property
    def n_bars(self) -> int:
        """Number of distinct event start times."""
        return len(self.bar_ns)

    def bar_label_end(self) -> np.ndarray:
        """Latest label end t1 of each bar's rows (UTC nanoseconds), the end of that bar's label span."""
        if self.t1_ns is None:
            raise ValueError("label ends are unknown: pass t1")
        ends = np.full(self.n_bars, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(ends, self.bar, self.t1_ns)
        return ends

    def bar_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows ordered by bar, and where each bar's rows start in that order (length ``n_bars + 1``).

        Rows of bars ``[a, b)`` are ``order[starts[a]:starts[b]]``: one slice per window, no scan of all rows.
        """
        order = np.argsort(self.bar, kind="stable")
        starts = np.searchsorted(self.bar[order], np.arange(self.n_bars + 1), side="left")
        return order, starts


def _utc_ns(values: pd.DatetimeIndex, what: str) -> np.ndarray:
    """Nanoseconds since the epoch (UTC) of tz-aware timestamps; refuses naive times and NaT."""
    if values.tz is None:
        raise DataValidationError(f"{what} is timezone-naive; localize it (e.g. .tz_localize('UTC')) first")
    missing = np.flatnonzero(values.isna())
    if missing.size:
        raise DataValidationError(
            f"{what} holds {missing.size} missing time(s) (NaT), first at row {missing[0]}; drop those rows first"
        )
    try:
        return values.tz_convert("UTC").as_unit("ns").asi8.copy()
    except (OverflowError, pd.errors.OutOfBoundsDatetime) as exc:
        raise DataValidationError(f"{what} holds times outside the nanosecond range (1677-2262): {exc}") from None


def check_t1(t1: object) -> tuple[np.ndarray, np.ndarray]:
    """Validated (t0, t1) of every row as UTC nanoseconds from a label-end Series; clear errors otherwise."""
    if not isinstance(t1, pd.Series):
        raise TypeError(f"{_T1_HELP}; got {type(t1).__name__}")
    if not isinstance(t1.index, pd.DatetimeIndex):
        raise DataValidationError(f"{_T1_HELP}; its index has dtype {t1.index.dtype}, not datetime")
    if not isinstance(t1.dtype, pd.DatetimeTZDtype):
        if pd.api.types.is_datetime64_dtype(t1.dtype):
            raise DataValidationError("t1's values are timezone-naive; localize them (e.g. .dt.tz_localize('UTC'))")
        raise DataValidationError(f"{_T1_HELP}; its values have dtype {t1.dtype}, not tz-aware datetime")
    t0_ns = _utc_ns(t1.index, "t1's index (event start t0)")
    t1_ns = _utc_ns(pd.DatetimeIndex(t1), "t1 (label end)")
    early = np.flatnonzero(t1_ns < t0_ns)
    if early.size:
        i = early[0]
        raise DataValidationError(
            f"t1 ends before t0 at {early.size} row(s), first at row {i}: t0={t1.index[i]}, t1={t1.iloc[i]}; "
            "a label ends at or after its event start"
        )
    return t0_ns, t1_ns


def n_rows(X: object) -> int:
    """Number of rows of an array-like X (DataFrame, ndarray, list)."""
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    try:
        return len(X)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"X must be array-like with one row per sample, got {type(X).__name__}") from None


def _index_time_levels(X: object) -> dict[str, pd.DatetimeIndex]:
    """X's tz-aware datetime index levels by name (empty when X has no pandas index or no such level)."""
    index = getattr(X, "index", None)
    if not isinstance(index, pd.Index):
        return {}
    levels = {}
    for i, name in enumerate(index.names):
        values = index.get_level_values(i)
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            key = str(name) if name is not None and str(name) not in levels else f"level {i}"
            levels[key] = pd.DatetimeIndex(values)
    return levels


def _has_naive_time_index(X: object) -> bool:
    """Whether X's index has a timezone-naive datetime level (to say so instead of "no time index")."""
    index = getattr(X, "index", None)
    if not isinstance(index, pd.Index):
        return False
    levels = [index.get_level_values(i) for i in range(index.nlevels)]
    return any(pd.api.types.is_datetime64_dtype(level.dtype) for level in levels)


def _check_aligned(X: object, t0_ns: np.ndarray) -> None:
    """When X carries a tz-aware time index, t1's index must equal it row by row (same rows, same order)."""
    levels = _index_time_levels(X)
    if not levels:
        return
    for values in levels.values():
        if np.array_equal(_utc_ns(values, "X's time index"), t0_ns):
            return
    name, values = next(iter(levels.items()))
    x_ns = _utc_ns(values, "X's time index")
    i = int(np.flatnonzero(x_ns != t0_ns)[0])
    raise DataValidationError(
        f"t1 is not aligned with X: at row {i} X's index level {name!r} is {values[i]} but t1's index (t0) is "
        f"{pd.Timestamp(int(t0_ns[i]), tz='UTC')}; build t1 from X's rows in X's order "
        "(e.g. pd.Series(label_end, index=X.index.get_level_values('ts')))"
    )


def sample_times(X: object, t1: pd.Series | None) -> SampleTimes:
    """The rows' times: from ``t1`` (checked against X's length and time index) or, without t1, X's time index."""
    if X is None:
        if t1 is None:
            raise ValueError("X is needed to know the samples' times (or pass t1 to the splitter)")
        t0_ns, t1_ns = check_t1(t1)
    elif t1 is not None:
        t0_ns, t1_ns = check_t1(t1)
        rows = n_rows(X)
        if rows != len(t0_ns):
            raise DataValidationError(
                f"t1 has {len(t0_ns)} rows but X has {rows}; {_T1_HELP} (one label end per row of X)"
            )
        _check_aligned(X, t0_ns)
    else:
        levels = _index_time_levels(X)
        if len(levels) != 1:
            if not levels and _has_naive_time_index(X):
                raise DataValidationError("X's time index is timezone-naive; localize it to UTC or pass t1")
            found = f"levels {sorted(levels)}" if levels else "no tz-aware datetime index"
            raise DataValidationError(
                f"cannot tell the samples' event times: X has {found}; give X one tz-aware datetime index level "
                "(e.g. a (ts, ticker) MultiIndex) or pass t1"
            )
        t0_ns, t1_ns = _utc_ns(next(iter(levels.values())), "X's time index"), None
    bar_ns, bar = np.unique(t0_ns, return_inverse=True)
    return SampleTimes(t0_ns=t0_ns, t1_ns=t1_ns, bar=bar.astype(np.int64), bar_ns=bar_ns)


def describe_t1(t1: pd.Series | None) -> str:
    """Short description of a label-end Series for a splitter's repr (row count and time range)."""
    if not isinstance(t1, pd.Series):
        return repr(t1)
    if len(t1) == 0:
        return "<t1: 0 rows>"
    return f"<t1: {len(t1)} rows, t0 {t1.index.min()} .. {t1.index.max()}>"


def splitter_repr(splitter: object, params: dict[str, object]) -> str:
    """``Name(param=value, ...)`` with t1 summarized instead of printed in full."""
    shown = ", ".join(f"{k}={describe_t1(v) if k == 't1' else repr(v)}" for k, v in params.items())
    return f"{type(splitter).__name__}({shown})"
