"""``import_files``: read, parse and judge every row of every file first, then write (or refuse) at once."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data._paths import dataset_path
from workbench.data.importers._checks import check_file
from workbench.data.importers._formats import EPOCH_UNITS, FORMATS, check_mapping, layout_for
from workbench.data.importers._parse import parse_bars
from workbench.data.importers._read import RawTable, read_raw
from workbench.data.importers._report import ImportReport
from workbench.data.importers._store import (
    append_quarantine,
    ensure_reference_tables,
    known_tickers,
    mark_index,
    quarantine_rows,
    write_bars,
)
from workbench.data.importers._timestamps import check_timezone
from workbench.data.importers._validate import ALREADY_STORED, judge
from workbench.errors import DataValidationError

ON_BAD: tuple[str, ...] = ("refuse", "quarantine")
LABELS: tuple[str, ...] = ("start", "end")
MAX_LISTED = 5
#: what a folder argument stands for, per format: every such file in it (not in sub-folders), in name order
_VENDOR_FILES = ("*.json", "*.jsonl", "*.ndjson", "*.csv")
FOLDER_PATTERNS: dict[str, tuple[str, ...]] = {
    "alpaca": _VENDOR_FILES, "polygon": _VENDOR_FILES, "csv": ("*.csv", "*.txt", "*.tsv"),
}


@dataclass(frozen=True)
class _Parsed:
    """One file read and parsed: its raw records, its bars, and each row's parse problem."""

    raw: RawTable
    bars: pd.DataFrame
    problems: np.ndarray
    respelled: dict[str, str]


def import_files(paths: Sequence[str | os.PathLike[str]], fmt: str, name: str, *, on_bad: str = "refuse",
                 mapping: Mapping[str, str] | None = None, tz: str | None = None, label: str = "start",
                 ticker: str | None = None, ts_format: str | None = None, epoch_unit: str | None = None,
                 index: str | None = None) -> ImportReport:
    """Import vendor minute bars from ``paths`` in format ``fmt`` into dataset ``name``, creating it if needed.

    A folder stands for its files in name order (:data:`FOLDER_PATTERNS`, gzipped or not): paged REST
    responses, daily flat files, per-symbol CSVs.

    Bars outside the regular session are counted and skipped. With ``on_bad="refuse"`` a single bad
    row stops the import before anything is written; with ``"quarantine"`` bad rows go to
    ``quarantine.parquet`` with their reason, file and line. An import that would write nothing is an
    error. For ``"csv"``: ``mapping`` (lake column -> CSV column, or ``date``/``time`` for separate
    columns), ``label`` (whether bars are stamped by the start or end of their minute), ``ticker`` (the
    one ticker of per-symbol files; else taken from the file name when there is no ticker column),
    ``ts_format`` (strptime) and ``epoch_unit`` (``s``/``ms``/``us``/``ns``; told from the magnitude when
    integer stamps come without it). ``index`` records that symbol as the dataset's index instrument.
    Tickers are stripped and upper-cased.
    """
    _check_options(paths, fmt, on_bad, mapping, tz, label, ticker, ts_format, epoch_unit)
    dataset_dir = dataset_path(name, must_exist=False)
    files = _expand(paths, fmt)
    parsed = [_parse_file(path, fmt, mapping, tz, label, ticker, ts_format, epoch_unit) for path in files]
    bars = pd.concat([p.bars for p in parsed], ignore_index=True)
    verdict = judge(bars, np.concatenate([p.problems for p in parsed]), dataset_dir)
    _check_not_imported_before(parsed, verdict.problems, verdict.extended, dataset_dir)
    if verdict.bad.any() and on_bad == "refuse":
        raise DataValidationError(_refusal(parsed, verdict.problems, dataset_dir))
    good = bars[verdict.good]
    if good.empty:
        raise DataValidationError(_nothing_to_write(bars, verdict.bad, verdict.extended, dataset_dir))
    tickers = sorted(good["ticker"].unique())
    index_symbol = _index_symbol(index, tickers, dataset_dir)

    write_bars(dataset_dir, good, part=f"import-{uuid.uuid4().hex[:12]}")
    ensure_reference_tables(dataset_dir, tickers)
    replaced = mark_index(dataset_dir, index_symbol) if index_symbol is not None else None
    if verdict.bad.any():
        append_quarantine(dataset_dir, _quarantine(parsed, verdict.problems))
    respelled = {old: new for p in parsed for old, new in p.respelled.items()}
    return ImportReport(
        dataset=dataset_dir, files=files, rows_read=len(bars), rows_written=len(good),
        rows_quarantined=int(verdict.bad.sum()), extended_hours_skipped=int(verdict.extended.sum()),
        tickers=tuple(tickers), first_ts=good["ts"].min(), last_ts=good["ts"].max(),
        respelled=tuple(sorted(respelled.items())), index=index_symbol, index_replaced=replaced,
        control_skipped=sum(p.raw.control_skipped for p in parsed),
    )


def _check_options(paths: Sequence[str | os.PathLike[str]], fmt: str, on_bad: str,
                   mapping: Mapping[str, str] | None, tz: str | None, label: str, ticker: str | None,
                   ts_format: str | None, epoch_unit: str | None) -> None:
    """Reject bad arguments before any file is read."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {list(FORMATS)}")
    if on_bad not in ON_BAD:
        raise ValueError(f"on_bad must be one of {list(ON_BAD)}, got {on_bad!r}")
    if label not in LABELS:
        raise ValueError(f"label must be one of {list(LABELS)}, got {label!r}")
    if not paths:
        raise ValueError("no files to import")
    if fmt != "csv" and (mapping or label != "start" or ticker or ts_format or epoch_unit):
        raise ValueError(f"a column mapping, label='end', ticker, ts_format and epoch_unit apply to csv files "
                         f"only; {fmt} files have a fixed layout and stamp bars by the start of their minute")
    if fmt == "polygon" and tz is not None:
        raise ValueError("tz does not apply to polygon files: their stamps are epoch numbers, UTC")
    if epoch_unit is not None and epoch_unit not in EPOCH_UNITS:
        raise ValueError(f"epoch_unit must be one of {list(EPOCH_UNITS)}, got {epoch_unit!r}")
    if epoch_unit is not None and ts_format is not None:
        raise ValueError("give either epoch_unit (integer stamps) or ts_format (text stamps), not both")
    if ticker is not None and not ticker.strip():
        raise ValueError("ticker is blank; pass the symbol of the file, e.g. --ticker AAPL")
    if mapping:
        check_mapping(mapping)
    if tz is not None:
        check_timezone(tz)


def _expand(paths: Sequence[str | os.PathLike[str]], fmt: str) -> tuple[Path, ...]:
    """Files as given; a folder stands for its ``fmt`` files (:data:`FOLDER_PATTERNS`) in name order."""
    patterns = [p for pattern in FOLDER_PATTERNS[fmt] for p in (pattern, f"{pattern}.gz")]
    files: list[Path] = []
    for item in map(Path, paths):
        if item.is_dir():
            found = sorted({p for pattern in patterns for p in item.glob(pattern)
                            if p.is_file() and not p.name.startswith(".")})
            if not found:
                raise DataValidationError(f"{item}: a folder with no {' / '.join(FOLDER_PATTERNS[fmt])} files "
                                          f"for --format {fmt}; pass the files themselves")
            files += found
        else:
            files.append(item)
    return tuple(files)


def _parse_file(path: Path, fmt: str, mapping: Mapping[str, str] | None, tz: str | None, label: str,
                ticker: str | None, ts_format: str | None, epoch_unit: str | None) -> _Parsed:
    raw = read_raw(path, json_allowed=fmt != "csv")
    layout = layout_for(fmt, path, raw.columns, raw.shape, mapping=mapping, label=label,
                        ticker=ticker.strip().upper() if ticker else None, ts_format=ts_format, epoch_unit=epoch_unit)
    parsed = parse_bars(raw, layout, tz)
    check_file(raw, parsed, layout, fmt, tz)
    return _Parsed(raw=raw, bars=parsed.bars, problems=parsed.problems, respelled=parsed.respelled)


def _check_not_imported_before(parsed: list[_Parsed], problems: np.ndarray, extended: np.ndarray,
                               dataset_dir: Path) -> None:
    """A file whose every session bar is already in the dataset was imported before: say so, once."""
    start = 0
    for item in parsed:
        reasons, outside = problems[start:start + len(item.raw)], extended[start:start + len(item.raw)]
        start += len(item.raw)
        session = reasons[~outside]
        if session.size and (session == ALREADY_STORED).all():
            raise DataValidationError(
                f"every row of {item.raw.path} ({session.size:,} session bars) is already in dataset "
                f"{dataset_dir.name!r} (imported before?); nothing written. Leave the file out, or import "
                "into a new dataset")


def _index_symbol(index: str | None, tickers: list[str], dataset_dir: Path) -> str | None:
    """The index symbol, normalized, once it is known to be among the imported or stored tickers."""
    if index is None:
        return None
    symbol = index.strip().upper()
    held = set(tickers) | known_tickers(dataset_dir)
    if symbol not in held:
        raise DataValidationError(
            f"--index {symbol}: no bars of {symbol} in this import or in dataset {dataset_dir.name!r} (it holds "
            f"{sorted(held)[:10]}); import the index's bars too, e.g. in the same command")
    return symbol


def _bad_rows(parsed: list[_Parsed], problems: np.ndarray) -> Iterator[tuple[RawTable, np.ndarray, np.ndarray]]:
    """Each file with the positions (within it) of its bad rows, and their reasons."""
    start = 0
    for item in parsed:
        reasons = problems[start:start + len(item.raw)]
        rows = np.flatnonzero(reasons != "")
        if rows.size:
            yield item.raw, rows, reasons[rows]
        start += len(item.raw)


def _refusal(parsed: list[_Parsed], problems: np.ndarray, dataset_dir: Path) -> str:
    """One line naming the first bad rows (file, line, reason), the total, and the way forward."""
    every = (f"{raw.path} {raw.item} {raw.lines[i]}: {reason}"
             for raw, rows, reasons in _bad_rows(parsed, problems) for i, reason in zip(rows, reasons, strict=True))
    listed = list(islice(every, MAX_LISTED))
    total = int((problems != "").sum())
    more = f"; and {total - MAX_LISTED} more" if total > MAX_LISTED else ""
    return (f"refused to import into {dataset_dir} ({total} bad row(s), nothing written): " + "; ".join(listed)
            + more + ". Fix them, or pass on_bad='quarantine' (CLI --on-bad quarantine) to set them aside")


def _nothing_to_write(bars: pd.DataFrame, bad: np.ndarray, extended: np.ndarray, dataset_dir: Path) -> str:
    """Why an import would write no row, in one line."""
    if not len(bars):
        return f"nothing to import into {dataset_dir}: the files hold no bars"
    if extended.all():
        first = bars["ts"][extended].min().tz_convert("America/New_York")
        return (f"nothing to import into {dataset_dir}: all {len(bars):,} bars fall outside the regular session "
                f"(09:30-16:00 New York; the first ends {first:%Y-%m-%d %H:%M} New York); check the timezone "
                "(--tz), the label (--label) and that these are session minute bars")
    return (f"nothing to import into {dataset_dir}: of {len(bars):,} rows, {int(bad.sum()):,} are bad and "
            f"{int(extended.sum()):,} outside the session; nothing written (not even the quarantine)")


def _quarantine(parsed: list[_Parsed], problems: np.ndarray) -> pd.DataFrame:
    """Every bad row of the import, ready for ``quarantine.parquet``."""
    frames = [quarantine_rows(raw, rows, reasons) for raw, rows, reasons in _bad_rows(parsed, problems)]
    return pd.concat(frames, ignore_index=True)
