"""Turning a file's raw records into lake bars (ts at the end of the minute, UTC) plus a reason per row."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.data._schema import BAR_COLUMNS
from workbench.data.importers._formats import Layout
from workbench.data.importers._problems import merge, note
from workbench.data.importers._read import RawTable
from workbench.data.importers._timestamps import bar_ends, parse_epoch_ns, parse_text
from workbench.errors import DataValidationError

_NULL_TEXT = ("", "nan", "null", "none")
_FLOAT_COLUMNS = tuple(c for c in BAR_COLUMNS if c not in ("ts", "ticker", "trades"))


def parse_bars(raw: RawTable, layout: Layout, tz: str | None) -> tuple[pd.DataFrame, np.ndarray]:
    """Every lake column for every record of ``raw`` (nulls where unmapped), and each row's first problem."""
    problems = raw.problems.copy()
    readable = problems == ""
    values = raw.fields[layout.columns["ts"]]
    stamps = parse_epoch_ns(values) if layout.epoch_ns else parse_text(values, tz)
    naive = stamps.naive & readable
    if tz is None and naive.any():
        first = int(np.flatnonzero(naive)[0])
        raise DataValidationError(
            f"{raw.path}: timestamps have no timezone (line {raw.lines[first]}: {values.iloc[first]!r}); "
            "say which one they are in with tz (CLI --tz), e.g. America/New_York"
        )
    stamps = bar_ends(stamps, layout.label)
    merge(problems, stamps.problems)
    bars = pd.DataFrame({"ts": stamps.utc.where(readable)}, index=raw.fields.index)
    bars["ticker"] = _tickers(raw.fields[layout.columns["ticker"]], problems)
    for column in _FLOAT_COLUMNS:
        bars[column] = _numbers(raw.fields, layout, column, problems)
    trades = _numbers(raw.fields, layout, "trades", problems)
    whole = np.isfinite(trades) & (trades == np.round(trades))
    note(problems, ~np.isnan(trades) & ~whole, "non-integer trades")
    bars["trades"] = pd.array(np.where(whole, trades, np.nan), dtype="Int64")
    return bars[list(BAR_COLUMNS)], problems


def _tickers(raw: pd.Series, problems: np.ndarray) -> pd.Series:
    """Tickers as stripped text; a null or blank one is a problem."""
    text = raw.astype("str").str.strip()
    note(problems, (text.isna() | (text == "")).to_numpy(dtype=bool), "missing ticker")
    return text


def _numbers(fields: pd.DataFrame, layout: Layout, column: str, problems: np.ndarray) -> np.ndarray:
    """Lake column ``column`` as floats (NaN when unmapped or null); text that is not a number is a problem."""
    if column not in layout.columns:
        return np.full(len(fields), np.nan)
    raw = fields[layout.columns[column]]
    text = raw.astype("str")
    parsed = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64")
    stated = (text.notna() & ~text.str.strip().str.lower().isin(_NULL_TEXT)).to_numpy(dtype=bool)
    note(problems, stated & np.isnan(parsed), f"unparseable {column}", raw)
    return parsed
