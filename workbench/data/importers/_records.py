"""Reference-table files (corporate actions, ticker metadata) as records: values as written, with where each
record came from, so a bad one can be named (file, line, reason) or quarantined verbatim.

Bar files go through ``_read``; these tables are small, so a whole file is read at once.
"""

from __future__ import annotations

import csv
import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from workbench.data.importers._problems import shown
from workbench.errors import DataValidationError

ON_BAD: tuple[str, ...] = ("refuse", "quarantine")
MAX_LISTED = 5
_TRUE = ("true", "t", "1", "yes", "y")
_FALSE = ("false", "f", "0", "no", "n", "")


@dataclass(frozen=True)
class Records:
    """One file's records: ``fields`` (text or JSON values), the 1-based ``line`` (CSV line, Parquet row or
    position in a JSON list), a readable location per record and its verbatim text."""

    path: Path
    fields: pd.DataFrame
    lines: np.ndarray
    where: np.ndarray
    texts: np.ndarray

    def __len__(self) -> int:
        return len(self.fields)


def read_table(path: Path) -> Records:
    """A CSV (header first) or Parquet file as records; an empty file or a repeated column name is an error."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix.lower() == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except (OSError, pa.ArrowException) as exc:
            raise DataValidationError(f"{path}: not a readable Parquet file ({exc})") from exc
        lines = np.arange(1, len(frame) + 1)
        where = np.array([f"row {n}" for n in lines], dtype=object)
        texts = np.array([json.dumps(r, default=str) for r in frame.to_dict("records")], dtype=object)
        return _checked(Records(path, frame.astype(object), lines, where, texts))
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            rows, lines, header, previous = [], [], None, 0
            for fields in reader:
                start, previous = previous + 1, reader.line_num
                if not any(f.strip() for f in fields):
                    continue
                if header is None:
                    header = [name.strip() for name in fields]
                    continue
                rows.append(fields)
                lines.append(start)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataValidationError(f"{path}: not readable as UTF-8 CSV ({exc})") from exc
    if header is None:
        raise DataValidationError(f"{path}: file is empty")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise DataValidationError(f"{path}: repeated column name(s) {repeated} in the header")
    width = [len(r) for r in rows]
    bad = [n for n, w in zip(lines, width, strict=True) if w != len(header)]
    if bad:
        raise DataValidationError(f"{path} line {bad[0]}: expected {len(header)} fields like the header, found "
                                  f"{width[lines.index(bad[0])]}")
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    numbers = np.asarray(lines, dtype=np.int64)
    return _checked(Records(path, frame, numbers, np.array([f"line {n}" for n in lines], dtype=object),
                            np.array([",".join(r) for r in rows], dtype=object)))


def _checked(records: Records) -> Records:
    if not len(records):
        raise DataValidationError(f"{records.path}: no data rows (only a header)")
    return records


def require(records: Records, columns: Iterable[str], what: str) -> None:
    """Refuse a file that lacks one of ``columns``, listing what it has."""
    missing = [c for c in columns if c not in records.fields]
    if missing:
        raise DataValidationError(f"{records.path}: missing column(s) {missing} for {what}; the file has "
                                  f"{list(records.fields.columns)}")


def text(values: pd.Series) -> pd.Series:
    """Values as stripped text; nulls become ""."""
    return values.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())


def numbers(values: pd.Series, default: float) -> tuple[np.ndarray, np.ndarray]:
    """Values as floats (``default`` where blank) and a mask of stated values that are not numbers."""
    written = text(values)
    parsed = pd.to_numeric(written.where(written != "", str(default)), errors="coerce").to_numpy(dtype=float)
    unparseable = np.isnan(parsed) & ~written.str.lower().isin(["", "nan"]).to_numpy()
    return parsed, unparseable


def booleans(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """true/false, yes/no, 1/0 (blank: false) as booleans, and a mask of values that are none of those."""
    written = text(values).str.lower()
    return written.isin(_TRUE).to_numpy(), ~written.isin(_TRUE + _FALSE).to_numpy()


def note(problems: np.ndarray, mask: np.ndarray, reason: str, values: pd.Series | None = None) -> None:
    """Record ``reason`` on the rows of ``mask`` that have no problem yet, quoting the value when given."""
    for i in np.flatnonzero(mask & (problems == "")):
        problems[i] = reason if values is None else f"{reason} {shown(values.iloc[i])}"


def match_tickers(written: pd.Series, known: Iterable[str]) -> tuple[pd.Series, dict[str, str], np.ndarray]:
    """Tickers matched to the dataset's: exact first, else by case (``agq`` -> ``AGQ``, reported); returns
    the matched tickers, the renames made and a mask of tickers the dataset does not hold."""
    known = set(known)
    by_case: dict[str, list[str]] = {}
    for ticker in known:
        by_case.setdefault(ticker.upper(), []).append(ticker)
    renames: dict[str, str] = {}
    out = []
    for ticker in written:
        if ticker not in known and len(by_case.get(ticker.upper(), [])) == 1:
            renames[ticker] = by_case[ticker.upper()][0]
        out.append(renames.get(ticker, ticker))
    matched = pd.Series(out, index=written.index, dtype=object)
    return matched, renames, ~matched.isin(known).to_numpy()


def unknown_tickers_warning(tickers: pd.Series, known: Iterable[str], what: str) -> str:
    """"N rows for tickers the dataset has no bars for (...), skipped", with close matches as hints."""
    known = list(known)
    names = sorted(tickers.unique())
    hints = {t: difflib.get_close_matches(t, known, n=2) for t in names[:MAX_LISTED]}
    hint = "; ".join(f"{t!r}: did you mean {h}?" for t, h in hints.items() if h)
    listed = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "")
    return (f"{len(tickers)} {what} for {len(names)} ticker(s) the dataset has no bars for ({listed}), skipped"
            + (f" — {hint}" if hint else ""))


def refusal(records: Records, problems: np.ndarray, dataset_dir: Path) -> str:
    """One line naming the first bad records (file, where, reason), the total, and the way forward."""
    bad = np.flatnonzero(problems != "")
    listed = "; ".join(f"{records.path} {records.where[i]}: {problems[i]}" for i in islice(bad, MAX_LISTED))
    more = f"; and {len(bad) - MAX_LISTED} more" if len(bad) > MAX_LISTED else ""
    return (f"refused to import {records.path.name} into {dataset_dir} ({len(bad)} bad row(s), nothing written): "
            f"{listed}{more}. Fix them, or pass on_bad='quarantine' (CLI --on-bad quarantine) to set them aside")


def quarantined(records: Records, problems: np.ndarray) -> pd.DataFrame:
    """The bad records as ``quarantine.parquet`` rows: file, line, reason, verbatim record."""
    bad = np.flatnonzero(problems != "")
    return pd.DataFrame({"source_file": str(records.path), "line": records.lines[bad], "reason": problems[bad],
                         "record": [f"{records.where[i]}: {records.texts[i]}" for i in bad]})


def check_on_bad(on_bad: str) -> None:
    """Reject an ``on_bad`` other than refuse or quarantine."""
    if on_bad not in ON_BAD:
        raise ValueError(f"on_bad must be one of {list(ON_BAD)}, got {on_bad!r}")
