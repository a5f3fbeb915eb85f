"""Writing the lake: one Parquet file per (session date, source), atomically, sorted for pushdown."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.data._schema import CORPORATE_ACTION_SCHEMA, TICKER_SCHEMA, to_bar_table

# Small row groups carry tight per-ticker min/max statistics: a one-ticker query skips the rest.
ROW_GROUP_ROWS = 16_384


def write_parquet_atomic(table: pa.Table, path: Path, **kwargs: object) -> Path:
    """Write ``table`` to ``path`` through a temporary file, so readers never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd", **kwargs)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_bars_partition(dataset_dir: Path, date: dt.date, bars: pd.DataFrame, part: str = "part-0") -> Path:
    """Write one session's bars to ``bars/date=YYYY-MM-DD/<part>.parquet``, sorted by ticker, ts."""
    ordered = bars.sort_values(["ticker", "ts"], kind="stable")
    table = to_bar_table(ordered)
    path = dataset_dir / "bars" / f"date={date.isoformat()}" / f"{part}.parquet"
    return write_parquet_atomic(table, path, row_group_size=ROW_GROUP_ROWS)


def write_tickers(dataset_dir: Path, tickers: pd.DataFrame) -> Path:
    """Write ``tickers.parquet`` in the lake schema."""
    table = pa.Table.from_pandas(tickers[TICKER_SCHEMA.names], schema=TICKER_SCHEMA, preserve_index=False)
    return write_parquet_atomic(table, dataset_dir / "tickers.parquet")


def write_corporate_actions(dataset_dir: Path, actions: pd.DataFrame) -> Path:
    """Write ``corporate_actions.parquet`` (an empty table is valid: no actions)."""
    frame = actions[CORPORATE_ACTION_SCHEMA.names].copy()
    frame["ex_date"] = pd.to_datetime(frame["ex_date"]).dt.date
    table = pa.Table.from_pandas(frame, schema=CORPORATE_ACTION_SCHEMA, preserve_index=False)
    return write_parquet_atomic(table, dataset_dir / "corporate_actions.parquet")


def write_context(dataset_dir: Path, name: str, frame: pd.DataFrame) -> Path:
    """Write a context table; it must carry an ``available_at`` column (point-in-time use)."""
    if "available_at" not in frame:
        raise ValueError(f"context table {name!r} needs an 'available_at' column for point-in-time joins")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return write_parquet_atomic(table, dataset_dir / "context" / f"{name}.parquet")
