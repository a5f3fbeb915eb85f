"""Writing an import into the lake: bar partitions, the ticker table, corporate actions and quarantine."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from workbench.data._calendar import session_date
from workbench.data._schema import BAR_COLUMNS, CORPORATE_ACTION_SCHEMA, TICKER_SCHEMA
from workbench.data._writer import write_bars_partition, write_corporate_actions, write_parquet_atomic, write_tickers
from workbench.data.importers._read import RawTable

QUARANTINE_FILE = "quarantine.parquet"
QUARANTINE_META = ("source_file", "line", "reason", "record")


def write_bars(dataset_dir: Path, bars: pd.DataFrame, part: str) -> None:
    """One Parquet file per New York session date, named ``part`` so earlier imports stay untouched."""
    for date, day in bars.groupby(session_date(bars["ts"]), sort=True):
        write_bars_partition(dataset_dir, date, day[list(BAR_COLUMNS)], part=part)


def ensure_reference_tables(dataset_dir: Path, tickers: list[str]) -> None:
    """Add unseen ``tickers`` to ``tickers.parquet`` (keeping existing rows) and create an empty
    ``corporate_actions.parquet`` when there is none, so the dataset opens with :class:`Dataset`."""
    (dataset_dir / "bars").mkdir(parents=True, exist_ok=True)
    path = dataset_dir / "tickers.parquet"
    known = pd.read_parquet(path) if path.exists() else pd.DataFrame(columns=TICKER_SCHEMA.names)
    fresh = sorted(set(tickers) - set(known["ticker"]))
    if fresh or not path.exists():
        added = pd.DataFrame({"ticker": fresh, "sector": None, "industry": None, "market_cap": np.nan,
                              "is_index": False}, columns=TICKER_SCHEMA.names)
        write_tickers(dataset_dir, pd.concat([known, added], ignore_index=True) if len(known) else added)
    if not (dataset_dir / "corporate_actions.parquet").exists():
        write_corporate_actions(dataset_dir, pd.DataFrame(columns=CORPORATE_ACTION_SCHEMA.names))


def known_tickers(dataset_dir: Path) -> set[str]:
    """The tickers ``tickers.parquet`` lists (none for a new dataset)."""
    path = dataset_dir / "tickers.parquet"
    return set(pd.read_parquet(path, columns=["ticker"])["ticker"]) if path.exists() else set()


def mark_index(dataset_dir: Path, symbol: str) -> str | None:
    """Make ``symbol`` the dataset's one index instrument (``is_index``), keeping every other column of
    ``tickers.parquet``; returns the symbol that was the index before, if another one was."""
    tickers = pd.read_parquet(dataset_dir / "tickers.parquet")
    before = tickers.loc[tickers["is_index"].astype(bool) & (tickers["ticker"] != symbol), "ticker"]
    tickers["is_index"] = tickers["ticker"] == symbol
    write_tickers(dataset_dir, tickers)
    return str(before.iloc[0]) if len(before) else None


def quarantine_rows(raw: RawTable, rows: np.ndarray, reasons: np.ndarray) -> pd.DataFrame:
    """The bad records of one file as text, with where they came from and why they were refused."""
    values = raw.fields.iloc[rows].map(_as_text)
    values = values.rename(columns=lambda c: f"raw_{c}" if c in QUARANTINE_META else c)
    meta = pd.DataFrame({"source_file": str(raw.path), "line": raw.lines[rows], "reason": reasons,
                         "record": raw.records[rows]}, index=values.index)
    return pd.concat([meta, values], axis=1).reset_index(drop=True)


def append_quarantine(dataset_dir: Path, rows: pd.DataFrame) -> Path:
    """Add ``rows`` to ``quarantine.parquet`` (columns are the union over imports; all text but ``line``)."""
    path = dataset_dir / QUARANTINE_FILE
    frame = pd.concat([pd.read_parquet(path), rows], ignore_index=True) if path.exists() else rows
    schema = pa.schema([pa.field(c, pa.int64() if c == "line" else pa.string()) for c in frame.columns])
    return write_parquet_atomic(pa.Table.from_pandas(frame, schema=schema, preserve_index=False), path)


def _as_text(value: object) -> str | None:
    """A raw value as the text the file held (JSON values other than strings as JSON)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value if isinstance(value, str) else json.dumps(value)
