"""Point-in-time context: slow data (the VIX, the daily short rate, the macro calendar) as it was known.

One :class:`ContextSeries` per context table holds its rows in publication order (``available_at``, UTC
ns) and answers the one question every feature asks of it: what had been published by a bar's end. The
online engine keeps one per table and appends to it as values are published; batch
:func:`~workbench.features.compute` builds the same objects from whole tables through the engine's own
``update_context``, so both paths look values up by the same code.

A row becomes visible to a bar once ``available_at <= ts`` (the bar's end), as in
:func:`workbench.pit.asof_join`; among rows published at the same time the later one wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType

import numpy as np
import pandas as pd

from workbench.data._schema import require_columns
from workbench.errors import DataValidationError

NUMBER, TIME = "number", "time"
#: the context tables the features can read (the lake's ``context/<name>.parquet``), with the value columns
#: each must carry besides ``available_at``: numbers (float64) or timestamps (tz-aware, held as int64 UTC ns)
CONTEXTS: MappingProxyType[str, MappingProxyType[str, str]] = MappingProxyType({
    "vix": MappingProxyType({"vix": NUMBER}),
    "rates": MappingProxyType({"rate": NUMBER}),
    "macro_events": MappingProxyType({"scheduled_at": TIME}),
})
_DTYPES = {NUMBER: np.float64, TIME: np.int64}


def check_context_names(names: Iterable[str]) -> None:
    """Refuse context table names the features do not know (a typo would otherwise be ignored)."""
    unknown = sorted(set(names) - set(CONTEXTS))
    if unknown:
        raise ValueError(f"unknown context table(s) {unknown}; the features read {list(CONTEXTS)}")


class ContextSeries:
    """The published rows of one context table, oldest publication first.

    Number columns are held as float64; timestamp columns (a macro event's ``scheduled_at``) as int64 UTC
    nanoseconds (:data:`CONTEXTS` says which is which). Rows only ever append (:meth:`append` refuses one
    published before the last row held), so a lookup at a time never changes once that time has passed.

    Parameters
    ----------
    name
        A key of :data:`CONTEXTS`; it fixes the value columns.

    Examples
    --------
    >>> series = ContextSeries("vix")
    >>> series.append(pd.DataFrame({"available_at": pd.to_datetime(["2024-11-25 15:30:05Z"]), "vix": [14.0]}))
    >>> series.as_of(pd.to_datetime(["2024-11-25 15:30Z", "2024-11-25 15:31Z"]).asi8).tolist()
    [nan, 14.0]
    """

    def __init__(self, name: str) -> None:
        check_context_names([name])
        self.name = name
        self.value_columns = tuple(CONTEXTS[name])
        self._available_at = np.zeros(0, dtype=np.int64)
        self._values: dict[str, np.ndarray] = {c: np.zeros(0, dtype=_DTYPES[kind])
                                               for c, kind in CONTEXTS[name].items()}

    def __len__(self) -> int:
        return len(self._available_at)

    @property
    def available_at(self) -> np.ndarray:
        """Publication times (int64 UTC ns), non-decreasing; read-only."""
        return _read_only(self._available_at)

    def values(self, column: str | None = None) -> np.ndarray:
        """One value column (default: the first) in publication order; read-only."""
        return _read_only(self._values[self._column(column)])

    def append(self, table: pd.DataFrame) -> None:
        """Add newly published rows (``available_at`` tz-aware, plus the value columns; others ignored).

        Rows within ``table`` may come in any order (they are sorted by ``available_at``, ties kept in
        table order); none may be published before the last row already held, since a lookup already
        answered would then change. Nothing is added when the table is refused.
        """
        what = f"context {self.name!r}"
        if not isinstance(table, pd.DataFrame):
            raise TypeError(f"{what} must be a pandas DataFrame, got {type(table).__name__}")
        require_columns(table, ["available_at", *self.value_columns], what)
        stamps = _utc_ns(table["available_at"], what, "available_at")
        order = np.argsort(stamps, kind="stable")
        stamps = stamps[order]
        columns = {c: _value_array(table[c], kind, what, c)[order] for c, kind in CONTEXTS[self.name].items()}
        if len(self) and len(stamps) and stamps[0] < self._available_at[-1]:
            raise DataValidationError(
                f"{what}: a value published at {pd.Timestamp(stamps[0], tz='UTC')} is older than the last one "
                f"already received ({pd.Timestamp(self._available_at[-1], tz='UTC')}); append in publication order")
        if not len(stamps):
            return
        self._available_at = np.concatenate([self._available_at, stamps])
        self._values = {c: np.concatenate([self._values[c], columns[c]]) for c in self.value_columns}

    def published(self, ts: np.ndarray) -> np.ndarray:
        """How many rows had been published at or before each time (int64 UTC ns): the visible prefix."""
        return np.searchsorted(self._available_at, np.asarray(ts, dtype=np.int64), side="right")

    def as_of(self, ts: np.ndarray, column: str | None = None) -> np.ndarray:
        """The last published value of ``column`` (default: the first) at each time (int64 UTC ns), as
        float64; NaN before the first publication."""
        values = self._values[self._column(column)].astype(np.float64, copy=False)
        position = self.published(ts) - 1
        if not len(values):
            return np.full(len(position), np.nan)
        return np.where(position >= 0, values[np.maximum(position, 0)], np.nan)

    def state(self) -> dict[str, np.ndarray]:
        """Everything the series holds, as arrays (for an engine snapshot): ``available_at`` and
        ``values.<column>``."""
        return {"available_at": self._available_at, **{f"values.{c}": v for c, v in self._values.items()}}

    @classmethod
    def from_state(cls, name: str, state: dict[str, np.ndarray]) -> ContextSeries:
        """Inverse of :meth:`state`; refuses arrays that do not fit ``name``'s columns."""
        series = cls(name)
        expected = {"available_at", *(f"values.{c}" for c in series.value_columns)}
        if set(state) != expected:
            raise ValueError(f"context {name!r} state holds {sorted(state)}, expected {sorted(expected)}")
        series._available_at = np.asarray(state["available_at"], dtype=np.int64).copy()
        series._values = {c: np.asarray(state[f"values.{c}"], dtype=_DTYPES[kind]).copy()
                          for c, kind in CONTEXTS[name].items()}
        if any(len(v) != len(series) for v in series._values.values()):
            raise ValueError(f"context {name!r} state arrays differ in length")
        return series

    def _column(self, column: str | None) -> str:
        if column is None:
            return self.value_columns[0]
        if column not in self._values:
            raise KeyError(f"context {self.name!r} has no column {column!r}; it holds {list(self.value_columns)}")
        return column


def _utc_ns(values: pd.Series, what: str, column: str) -> np.ndarray:
    """tz-aware timestamps as int64 UTC nanoseconds (missing ones refused)."""
    if not isinstance(values.dtype, pd.DatetimeTZDtype):
        raise DataValidationError(f"{what}: {column} must be timezone-aware timestamps (e.g. "
                                  f"pd.to_datetime(..., utc=True)), got dtype {values.dtype}")
    if values.isna().any():
        raise DataValidationError(f"{what}: {int(values.isna().sum())} row(s) without {column}; drop them first")
    return values.dt.tz_convert("UTC").array.as_unit("ns").asi8.copy()


def _value_array(values: pd.Series, kind: str, what: str, column: str) -> np.ndarray:
    """A value column of its declared kind: timestamps as int64 UTC ns, numbers as float64 (NaN for missing)."""
    if kind == TIME:
        return _utc_ns(values, what, column)
    if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        raise DataValidationError(f"{what}: column {column!r} must be numeric, got dtype {values.dtype}")
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view
