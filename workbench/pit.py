"""Point-in-time joins: attach slow data (VIX, rates, fundamentals...) to bars as it was known then.

A table row becomes visible to a bar once it is published: ``table[on] <= bars[ts]``. A value
published at 10:00:30 is unknown to the bar completed at 10:00:00 and known to the 10:01 bar.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from workbench.data._schema import require_columns
from workbench.errors import DataValidationError

_UNIT_ORDER = ("s", "ms", "us", "ns")


def asof_join(
    bars: pd.DataFrame,
    table: pd.DataFrame,
    on: str = "available_at",
    *,
    ts: str = "ts",
    by: str | None = None,
    columns: list[str] | None = None,
    suffix: str = "",
) -> pd.DataFrame:
    """Return ``bars`` (same index and row order) plus, per bar, the latest ``table`` row with ``on <= ts``.

    ``by`` (e.g. ``"ticker"``) restricts matches to equal keys. Joined are ``columns`` or else every
    table column except ``on`` and ``by``; bars with nothing published yet get missing values. When
    several rows share a publication time the later one in ``table`` wins. A joined column whose
    name a bar column already has gets ``suffix`` appended (an error when ``suffix`` is empty).
    """
    require_columns(bars, [ts] + ([by] if by else []), "bars")
    require_columns(table, [on] + ([by] if by else []), "table")
    if columns is None:
        columns = [c for c in table.columns if c not in (on, by)]
    else:
        require_columns(table, columns, "table")
    names = _output_names(bars, columns, suffix)
    bar_times = _naive_utc(bars[ts], "bars", ts)
    table_times = _naive_utc(table[on], "table", on)
    finest = max(bar_times.dt.unit, table_times.dt.unit, key=_UNIT_ORDER.index)

    left = pd.DataFrame({"row": np.arange(len(bars)), "t": _as_int(bar_times, finest)})
    right = pd.DataFrame({"pos": np.arange(len(table)), "t": _as_int(table_times, finest)})
    if by is not None:
        left["k"], right["k"] = _common_codes(bars[by], table[by])
        right = right[right["k"] >= 0]  # keys no bar has (or missing keys) can never match
    keys = ["t"] if by is None else ["k", "t"]
    right = right[~right.duplicated(subset=keys, keep="last")]

    match = "l.k = r.k AND l.t >= r.t" if by is not None else "l.t >= r.t"
    with duckdb.connect(":memory:") as con:
        con.register("l", left)
        con.register("r", right)
        found = con.execute(f"SELECT l.row, coalesce(r.pos, -1) AS pos FROM l ASOF LEFT JOIN r ON {match}").fetchnumpy()
    positions = np.empty(len(bars), dtype=np.int64)
    positions[np.asarray(found["row"])] = np.asarray(found["pos"])

    # rows gathered by position with missing for -1, so each column keeps its own dtype (tz and all)
    joined = table[columns].reset_index(drop=True).reindex(positions)
    joined.columns = names
    joined.index = bars.index
    return pd.concat([bars, joined], axis=1)


def _output_names(bars: pd.DataFrame, columns: list[str], suffix: str) -> list[str]:
    """Names of the joined columns: clashes with bar columns get ``suffix``, or are refused."""
    clashes = [c for c in columns if c in bars.columns]
    if clashes and not suffix:
        raise ValueError(
            f"table column(s) {clashes} clash with bars columns; pass suffix= (e.g. suffix='_ctx') "
            f"or choose columns= without them"
        )
    names = [c + suffix if c in bars.columns else c for c in columns]
    still = sorted({n for n in names if n in bars.columns or names.count(n) > 1})
    if still:
        raise ValueError(f"joined column name(s) {still} would still be duplicated in the output; pick another suffix")
    return names


def _naive_utc(values: pd.Series, frame: str, column: str) -> pd.Series:
    """``values`` as naive UTC datetimes, after checking they are tz-aware and complete."""
    if not isinstance(values.dtype, pd.DatetimeTZDtype):
        kind = "naive (no timezone)" if pd.api.types.is_datetime64_dtype(values.dtype) else f"of dtype {values.dtype}"
        raise ValueError(
            f"{frame} column {column!r} is {kind}: it must hold tz-aware timestamps, e.g. "
            f"pd.to_datetime(..., utc=True) or .dt.tz_localize('UTC')"
        )
    missing = int(values.isna().sum())
    if missing:
        raise DataValidationError(
            f"{frame} column {column!r} has {missing} missing timestamp(s) (NaT); "
            f"such rows cannot be placed in time — drop or fill them first"
        )
    return values.dt.tz_convert(None)


def _as_int(values: pd.Series, unit: str) -> np.ndarray:
    """Integer ticks since the epoch in ``unit``, exact for sub-microsecond stamps (DuckDB keeps µs)."""
    return values.dt.as_unit(unit).to_numpy().view(np.int64)


def _common_codes(bar_keys: pd.Series, table_keys: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes for both key columns: equal keys share a code; -1 marks a key absent from bars."""
    bar_codes, uniques = pd.factorize(bar_keys)
    table_codes = pd.Index(uniques).get_indexer(table_keys)
    return bar_codes, table_codes
