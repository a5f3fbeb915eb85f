"""Turning a file's raw records into lake bars (ts at the end of the minute, UTC) plus a reason per row."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.data._schema import BAR_COLUMNS
from workbench.data.importers._formats import Layout
from workbench.data.importers._problems import merge, note
from workbench.data.importers._read import RawTable
from workbench.data.importers._timestamps import (
    Stamps,
    bar_ends,
    is_epoch,
    parse_epoch,
    parse_formatted,
    parse_text,
)

_NULL_TEXT = ("", "nan", "null", "none")
_FLOAT_COLUMNS = tuple(c for c in BAR_COLUMNS if c not in ("ts", "ticker", "trades"))


@dataclass(frozen=True)
class ParsedBars:
    """A file's bars in lake columns, each row's first problem, the stamps as read (before they were moved
    to bar ends and put on the minute grid, for the file-level checks) and the ticker spellings changed."""

    bars: pd.DataFrame
    problems: np.ndarray
    stamps: Stamps
    respelled: dict[str, str]


def parse_bars(raw: RawTable, layout: Layout, tz: str | None) -> ParsedBars:
    """Every lake column for every record of ``raw`` (nulls where unmapped), and each row's first problem."""
    problems = raw.problems.copy()
    readable = problems == ""
    stamps = _stamps(_ts_values(raw, layout), layout, tz)
    ends = bar_ends(stamps, layout.label)
    merge(problems, ends.problems)
    bars = pd.DataFrame({"ts": ends.utc.where(readable)}, index=raw.fields.index)
    if layout.ticker is not None:
        bars["ticker"], respelled = layout.ticker, {}
    else:
        bars["ticker"], respelled = normalize_tickers(raw.fields[layout.columns["ticker"]], problems)
    for column in _FLOAT_COLUMNS:
        bars[column] = _numbers(raw.fields, layout, column, problems)
    trades = _numbers(raw.fields, layout, "trades", problems)
    whole = np.isfinite(trades) & (trades == np.round(trades))
    note(problems, ~np.isnan(trades) & ~whole, "non-integer trades")
    bars["trades"] = pd.array(np.where(whole, trades, np.nan), dtype="Int64")
    return ParsedBars(bars=bars[list(BAR_COLUMNS)], problems=problems, stamps=stamps, respelled=respelled)


def normalize_tickers(raw: pd.Series, problems: np.ndarray) -> tuple[pd.Series, dict[str, str]]:
    """Tickers stripped and upper-cased (``agq`` and ``"AGQ "`` are AGQ, never a second series), with the
    spellings that changed; a null or blank one is a problem."""
    stated = raw.astype("str")
    text = stated.str.strip().str.upper()
    note(problems, (text.isna() | (text == "")).to_numpy(dtype=bool), "missing ticker")
    changed = stated.notna() & (text != "") & (stated != text)
    respelled = dict(zip(stated[changed], text[changed], strict=True))
    return text, respelled


def _ts_values(raw: RawTable, layout: Layout) -> pd.Series:
    """The stamp column, or the date and time columns joined by a space (null where either is)."""
    if not layout.split_ts:
        return raw.fields[layout.columns["ts"]]
    date = raw.fields[layout.columns["date"]].astype("str").str.strip()
    time = raw.fields[layout.columns["time"]].astype("str").str.strip()
    return (date + " " + time).where(date.notna() & time.notna() & (date != "") & (time != ""))


def _stamps(values: pd.Series, layout: Layout, tz: str | None) -> Stamps:
    if layout.ts_format is not None:
        return parse_formatted(values, layout.ts_format, tz)
    if layout.epoch_unit == "auto":
        return parse_epoch(values, "auto") if is_epoch(values) else parse_text(values, tz)
    if layout.epoch_unit is not None:
        return parse_epoch(values, layout.epoch_unit)
    return parse_text(values, tz)


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
