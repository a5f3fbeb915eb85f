"""The datasets of a lake at a glance (``wb data list``): sessions, tickers, rows and fingerprint of each,
read from file names and Parquet footers so that listing a large lake never scans its bars."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from workbench.data._lake import Dataset
from workbench.data._paths import datasets_root


@dataclass(frozen=True)
class CatalogEntry:
    """One dataset of the lake: its session range, ``n_tickers`` (rows of ``tickers.parquet``, which every
    import and build extends with the tickers it writes bars for), ``n_rows`` bars and its fingerprint."""

    name: str
    first_session: dt.date | None
    last_session: dt.date | None
    n_sessions: int
    n_tickers: int
    n_rows: int
    fingerprint: str


def catalog(root: Path | None = None) -> list[CatalogEntry]:
    """Every dataset (a folder with ``bars/``) under ``root`` (default: :func:`datasets_root`), by name."""
    folder = datasets_root() if root is None else root
    entries = []
    for path in sorted(p for p in folder.glob("*") if (p / "bars").is_dir()):
        ds = Dataset(path)
        tickers = path / "tickers.parquet"
        entries.append(CatalogEntry(
            name=path.name,
            first_session=ds.dates[0] if ds.dates else None,
            last_session=ds.dates[-1] if ds.dates else None,
            n_sessions=len(ds.dates),
            n_tickers=pq.read_metadata(tickers).num_rows if tickers.is_file() else 0,
            n_rows=sum(pq.read_metadata(f).num_rows for f in (path / "bars").glob("date=*/*.parquet")),
            fingerprint=ds.fingerprint,
        ))
    return entries


def format_catalog(entries: list[CatalogEntry]) -> str:
    """The entries as an aligned text table (name, sessions first..last (count), tickers, rows, fingerprint)."""
    header = ("name", "sessions", "tickers", "rows", "fingerprint")
    rows = [(e.name, f"{e.first_session}..{e.last_session} ({e.n_sessions})" if e.n_sessions else "none",
             f"{e.n_tickers:,}", f"{e.n_rows:,}", e.fingerprint) for e in entries]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    right = {2, 3}  # counts align right
    return "\n".join("  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                               for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
                     for row in [header, *rows])
