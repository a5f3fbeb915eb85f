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
from workbench.data.importers._formats import FORMATS, check_mapping, layout_for
from workbench.data.importers._parse import parse_bars
from workbench.data.importers._read import RawTable, read_raw
from workbench.data.importers._report import ImportReport
from workbench.data.importers._store import (
    append_quarantine,
    ensure_reference_tables,
    quarantine_rows,
    write_bars,
)
from workbench.data.importers._timestamps import check_timezone
from workbench.data.importers._validate import judge
from workbench.errors import DataValidationError

ON_BAD: tuple[str, ...] = ("refuse", "quarantine")
LABELS: tuple[str, ...] = ("start", "end")
MAX_LISTED = 5


@dataclass(frozen=True)
class _Parsed:
    """One file read and parsed: its raw records, its bars, and each row's parse problem."""

    raw: RawTable
    bars: pd.DataFrame
    problems: np.ndarray


def import_files(paths: Sequence[str | os.PathLike[str]], fmt: str, name: str, *, on_bad: str = "refuse",
                 mapping: Mapping[str, str] | None = None, tz: str | None = None,
                 label: str = "start") -> ImportReport:
    """Import vendor minute bars from ``paths`` (format ``fmt``) into dataset ``name``, creating it if needed.

    Bars outside the regular session are counted and skipped. With ``on_bad="refuse"`` a single bad
    row stops the import before anything is written; with ``"quarantine"`` bad rows go to
    ``quarantine.parquet`` with their reason, file and line. ``mapping`` (lake column -> CSV column)
    and ``label`` (whether a CSV stamps bars by the start or end of their minute) apply to ``"csv"``.
    """
    _check_options(paths, fmt, on_bad, mapping, tz, label)
    dataset_dir = dataset_path(name, must_exist=False)
    files = tuple(Path(p) for p in paths)
    parsed = [_parse_file(path, fmt, mapping, tz, label) for path in files]
    bars = pd.concat([p.bars for p in parsed], ignore_index=True)
    verdict = judge(bars, np.concatenate([p.problems for p in parsed]), dataset_dir)
    if verdict.bad.any() and on_bad == "refuse":
        raise DataValidationError(_refusal(parsed, verdict.problems, dataset_dir))

    good = bars[verdict.good]
    write_bars(dataset_dir, good, part=f"import-{uuid.uuid4().hex[:12]}")
    tickers = sorted(good["ticker"].unique())
    ensure_reference_tables(dataset_dir, tickers)
    if verdict.bad.any():
        append_quarantine(dataset_dir, _quarantine(parsed, verdict.problems))
    return ImportReport(
        dataset=dataset_dir, files=files, rows_read=len(bars), rows_written=len(good),
        rows_quarantined=int(verdict.bad.sum()), extended_hours_skipped=int(verdict.extended.sum()),
        tickers=tuple(tickers), first_ts=good["ts"].min() if len(good) else None,
        last_ts=good["ts"].max() if len(good) else None,
    )


def _check_options(paths: Sequence[str | os.PathLike[str]], fmt: str, on_bad: str,
                   mapping: Mapping[str, str] | None, tz: str | None, label: str) -> None:
    """Reject bad arguments before any file is read."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {list(FORMATS)}")
    if on_bad not in ON_BAD:
        raise ValueError(f"on_bad must be one of {list(ON_BAD)}, got {on_bad!r}")
    if label not in LABELS:
        raise ValueError(f"label must be one of {list(LABELS)}, got {label!r}")
    if not paths:
        raise ValueError("no files to import")
    if fmt != "csv" and (mapping or label != "start"):
        raise ValueError(f"a column mapping and label='end' apply to csv files only; {fmt} files have a fixed "
                         "layout and stamp bars by the start of their minute")
    if fmt == "polygon" and tz is not None:
        raise ValueError("tz does not apply to polygon files: window_start is nanoseconds since the epoch, UTC")
    if mapping:
        check_mapping(mapping)
    if tz is not None:
        check_timezone(tz)


def _parse_file(path: Path, fmt: str, mapping: Mapping[str, str] | None, tz: str | None, label: str) -> _Parsed:
    raw = read_raw(path, json_allowed=fmt == "alpaca")
    bars, problems = parse_bars(raw, layout_for(fmt, path, raw.columns, mapping=mapping, label=label), tz)
    return _Parsed(raw=raw, bars=bars, problems=problems)


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
    every = (f"{raw.path} line {raw.lines[i]}: {reason}"
             for raw, rows, reasons in _bad_rows(parsed, problems) for i, reason in zip(rows, reasons, strict=True))
    listed = list(islice(every, MAX_LISTED))
    total = int((problems != "").sum())
    more = f"; and {total - MAX_LISTED} more" if total > MAX_LISTED else ""
    return (f"refused to import into {dataset_dir} ({total} bad row(s), nothing written): " + "; ".join(listed)
            + more + ". Fix them, or pass on_bad='quarantine' (CLI --on-bad quarantine) to set them aside")


def _quarantine(parsed: list[_Parsed], problems: np.ndarray) -> pd.DataFrame:
    """Every bad row of the import, ready for ``quarantine.parquet``."""
    frames = [quarantine_rows(raw, rows, reasons) for raw, rows, reasons in _bad_rows(parsed, problems)]
    return pd.concat(frames, ignore_index=True)
