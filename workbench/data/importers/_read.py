"""Reading vendor files (CSV or JSON lines, optionally gzipped) into raw records with their line numbers.

Nothing is interpreted here: values stay as the file wrote them, so bad rows can be reported and
quarantined verbatim, and a record that cannot even be split into fields is a row problem, not a crash.
"""

from __future__ import annotations

import csv
import gzip
import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from workbench.errors import DataValidationError

_GZIP_MAGIC = b"\x1f\x8b"
_JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")


@dataclass(frozen=True)
class RawTable:
    """A file's data records as the file wrote them, one row per record, with the line each starts on."""

    path: Path
    columns: list[str]
    fields: pd.DataFrame
    lines: np.ndarray
    problems: np.ndarray
    records: np.ndarray

    def __len__(self) -> int:
        return len(self.fields)


def read_raw(path: Path, *, json_allowed: bool) -> RawTable:
    """Read ``path`` as CSV, or (when ``json_allowed``) as JSON lines if its name or content says so."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with _open_text(path) as handle:
            head = handle.read(4096).lstrip()
        if not head:
            raise DataValidationError(f"{path}: file is empty")
        as_json = json_allowed and _looks_like_json(path, head)
        if as_json and head.startswith("["):
            raise DataValidationError(f"{path}: a JSON array; expected JSON lines (one bar object per line)")
        with _open_text(path) as handle:
            return _read_json_lines(path, handle) if as_json else _read_csv(path, handle)
    except (UnicodeDecodeError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataValidationError(f"{path}: cannot read it as UTF-8 text, plain or gzipped ({exc})") from exc


def _open_text(path: Path) -> IO[str]:
    with path.open("rb") as probe:
        gzipped = probe.read(2) == _GZIP_MAGIC
    if gzipped:
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def _looks_like_json(path: Path, head: str) -> bool:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(_JSON_SUFFIXES):
        return True
    return not name.endswith(".csv") and head.startswith("{")


def _read_csv(path: Path, handle: IO[str]) -> RawTable:
    reader = csv.reader(handle)
    header: list[str] | None = None
    rows: list[list[str | None]] = []
    lines: list[int] = []
    problems: list[str] = []
    records: list[str | None] = []
    previous_line = 0
    try:
        for fields in reader:
            start, previous_line = previous_line + 1, reader.line_num
            if not fields:
                continue
            if header is None:
                header = [name.strip() for name in fields]
                _check_header(path, header)
                continue
            lines.append(start)
            if len(fields) == len(header):
                rows.append(fields)
                problems.append("")
                records.append(None)
            else:
                padded: list[str | None] = [*fields, *[None] * len(header)]
                rows.append(padded[: len(header)])
                problems.append(f"expected {len(header)} fields, found {len(fields)}")
                records.append(",".join(fields))
    except csv.Error as exc:
        raise DataValidationError(f"{path} line {reader.line_num}: not readable as CSV ({exc})") from exc
    if header is None:
        raise DataValidationError(f"{path}: file is empty")
    if not rows:
        raise DataValidationError(f"{path}: no data rows (only a header)")
    return _table(path, header, pd.DataFrame(rows, columns=header, dtype=object), lines, problems, records)


def _check_header(path: Path, header: list[str]) -> None:
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise DataValidationError(f"{path}: repeated column name(s) {repeated} in the header")


def _read_json_lines(path: Path, handle: IO[str]) -> RawTable:
    objects: list[dict[str, object]] = []
    lines: list[int] = []
    problems: list[str] = []
    records: list[str | None] = []
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            parsed = json.loads(line)
        except json.JSONDecodeError:
            parsed = None
        lines.append(number)
        if isinstance(parsed, dict):
            objects.append(parsed)
            problems.append("")
            records.append(None)
        else:
            objects.append({})
            problems.append("malformed JSON (expected one object per line)")
            records.append(line.rstrip("\r\n"))
    columns = list(dict.fromkeys(key for obj in objects for key in obj))
    return _table(path, columns, pd.DataFrame(objects, columns=columns, dtype=object), lines, problems, records)


def _table(path: Path, columns: list[str], fields: pd.DataFrame, lines: list[int], problems: list[str],
           records: list[str | None]) -> RawTable:
    return RawTable(path=path, columns=columns, fields=fields, lines=np.asarray(lines, dtype=np.int64),
                    problems=np.asarray(problems, dtype=object), records=np.asarray(records, dtype=object))
