"""Reading vendor files (CSV, JSON lines or one vendor JSON document, optionally gzipped) into raw records.

Nothing is interpreted here: values stay as the file wrote them, so bad rows can be reported and
quarantined verbatim, and a record that cannot even be split into fields is a row problem, not a crash.
A CSV's delimiter (comma, semicolon, tab or pipe) is the one its header line uses most. A JSON document
is flattened by its vendor shape (:mod:`workbench.data.vendors`) into one record per bar or message,
numbered from 1 in the document's order.
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

from workbench.data.vendors import VendorPayloadError, detect_shape
from workbench.data.vendors._bars import message_records
from workbench.data.vendors._shapes import Shape
from workbench.errors import DataValidationError

_GZIP_MAGIC = b"\x1f\x8b"
_JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class RawTable:
    """A file's data records as the file wrote them, one row per record, with the line each starts on.

    ``shape`` is ``"table"`` for CSV and flat JSON lines, else the vendor shape's name; ``item`` names
    what ``lines`` counts in messages ("line", or "bar"/"message" in a JSON document).
    """

    path: Path
    columns: list[str]
    fields: pd.DataFrame
    lines: np.ndarray
    problems: np.ndarray
    records: np.ndarray
    shape: str = "table"
    item: str = "line"
    control_skipped: int = 0

    def __len__(self) -> int:
        return len(self.fields)


def read_raw(path: Path, *, json_allowed: bool) -> RawTable:
    """Read ``path`` as CSV, or (when ``json_allowed``) as JSON if its name or content says so."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with _open_text(path) as handle:
            head = handle.read(4096).lstrip()
        if not head:
            raise DataValidationError(f"{path}: file is empty")
        as_json = json_allowed and _looks_like_json(path, head)
        with _open_text(path) as handle:
            if not as_json:
                return _read_csv(path, handle, _delimiter(head))
            text = handle.read()
        return _read_json(path, text)
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
    return not name.endswith(".csv") and head[:1] in ("{", "[")


def _delimiter(head: str) -> str:
    """The candidate delimiter the header line holds most often (a comma when it holds none)."""
    header = head.splitlines()[0] if head else ""
    counts = [header.count(d) for d in DELIMITERS]
    return DELIMITERS[int(np.argmax(counts))] if max(counts) else ","


def _read_csv(path: Path, handle: IO[str], delimiter: str) -> RawTable:
    reader = csv.reader(handle, delimiter=delimiter)
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
                records.append(delimiter.join(fields))
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


def _read_json(path: Path, text: str) -> RawTable:
    """One vendor document (a REST response, or an array of stream messages), else JSON lines."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return _read_json_lines(path, text)
    shape = detect_shape(document)
    if shape is not None:
        return _document_table(path, shape, document)
    if isinstance(document, dict):
        return _read_json_lines(path, text)
    raise DataValidationError(
        f"{path}: a JSON document that is no vendor shape this importer knows (an Alpaca v2 bars response, "
        "a Polygon aggregates response, or an array of Alpaca/Polygon stream messages); flat bars go one "
        "JSON object per line")


def _document_table(path: Path, shape: Shape, document: object) -> RawTable:
    """A vendor document flattened to one record per bar or message, numbered from 1."""
    try:
        objects = shape.records(document)
    except VendorPayloadError as exc:
        raise DataValidationError(f"{path}: {exc}") from exc
    numbers = list(range(1, len(objects) + 1))
    problems = [shape.record_problem(obj) if shape.record_problem else "" for obj in objects]
    return _objects_table(path, objects, numbers, problems, [None] * len(objects), shape=shape, item=shape.item)


def _read_json_lines(path: Path, text: str) -> RawTable:
    """One JSON value per line: flat bar objects, or stream frames (arrays or single messages)."""
    parsed_lines = [(number, line, _loads(line)) for number, line in enumerate(text.splitlines(), start=1)
                    if line.strip()]
    shape = next((s for _, _, value in parsed_lines if value is not None and (s := detect_shape(value))
                  and s.record_problem is not None), None)
    objects: list[dict[str, object]] = []
    lines: list[int] = []
    problems: list[str] = []
    records: list[str | None] = []
    for number, line, value in parsed_lines:
        if isinstance(value, dict | list) and (shape is not None or isinstance(value, dict)):
            items = message_records(value) if shape is not None else [value]
            for item in items:
                objects.append(item)
                lines.append(number)
                problems.append(shape.record_problem(item) if shape and shape.record_problem else "")
                records.append(None)
        else:
            objects.append({})
            lines.append(number)
            problems.append("malformed JSON (expected one object per line)")
            records.append(line.rstrip("\r\n"))
    return _objects_table(path, objects, lines, problems, records, shape=shape, item="line")


def _loads(line: str) -> object:
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None


def _objects_table(path: Path, objects: list[dict[str, object]], lines: list[int], problems: list[str],
                   records: list[str | None], *, shape: Shape | None, item: str) -> RawTable:
    """The records as a table; stream control messages (connection acknowledgements) are counted, not kept."""
    control = [bool(shape and shape.is_control and shape.is_control(obj)) for obj in objects]
    if any(control):
        kept = [k for k, skip in enumerate(control) if not skip]
        objects, lines = [objects[k] for k in kept], [lines[k] for k in kept]
        problems, records = [problems[k] for k in kept], [records[k] for k in kept]
    keys = [*(shape.fields.values() if shape else ()), *(key for obj in objects for key in obj)]
    columns = list(dict.fromkeys(keys))
    fields = pd.DataFrame(objects, columns=columns, dtype=object)
    return _table(path, columns, fields, lines, problems, records, shape=shape.name if shape else "table", item=item,
                  control_skipped=sum(control))


def _table(path: Path, columns: list[str], fields: pd.DataFrame, lines: list[int], problems: list[str],
           records: list[str | None], *, shape: str = "table", item: str = "line",
           control_skipped: int = 0) -> RawTable:
    return RawTable(path=path, columns=columns, fields=fields, lines=np.asarray(lines, dtype=np.int64),
                    problems=np.asarray(problems, dtype=object), records=np.asarray(records, dtype=object),
                    shape=shape, item=item, control_skipped=control_skipped)
