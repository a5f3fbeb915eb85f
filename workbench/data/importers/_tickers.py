"""``import_tickers``: sector, industry, market cap and the index flag of a dataset's tickers, validated and
merged into ``tickers.parquet``.

A CSV or Parquet table with ``ticker`` and any of ``sector, industry, market_cap, is_index``. The columns the
file has replace the stored ones for the tickers it lists; the others stay. ``market_cap`` is read as of the
first session's first close (the features derive a share count from it: ``workbench.features.dataset_inputs``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data._lake import Dataset
from workbench.data._schema import TICKER_SCHEMA
from workbench.data._writer import write_tickers
from workbench.data.importers._records import (
    Records,
    booleans,
    check_on_bad,
    match_tickers,
    note,
    numbers,
    quarantined,
    read_table,
    refusal,
    require,
    text,
    unknown_tickers_warning,
)
from workbench.data.importers._store import append_quarantine
from workbench.errors import DataValidationError

METADATA = ("sector", "industry", "market_cap", "is_index")


@dataclass(frozen=True)
class TickersReport:
    """What one ticker-metadata import did: every record updates a ticker, matches it already, is skipped
    (no bars for that ticker) or is bad."""

    dataset: Path
    file: Path
    records_read: int
    columns: tuple[str, ...]
    updated: int
    unchanged: int
    skipped: int
    quarantined: int
    index: str | None
    warnings: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        quarantine = f" (in {self.dataset / 'quarantine.parquet'})" if self.quarantined else ""
        return "\n".join([
            f"imported ticker metadata ({', '.join(self.columns)}) from {self.file} into dataset {self.dataset.name!r}",
            f"  records read:        {self.records_read:,}",
            f"  tickers updated:     {self.updated:,}",
            f"  already so:          {self.unchanged:,}",
            f"  skipped (no bars):   {self.skipped:,}",
            f"  quarantined:         {self.quarantined:,}{quarantine}",
            f"  index instrument:    {self.index or 'none'}",
            *(f"  warning: {w}" for w in self.warnings),
        ])


def import_tickers(path: str | os.PathLike[str], name: str, *, on_bad: str = "refuse") -> TickersReport:
    """Merge the ticker metadata of ``path`` into dataset ``name`` (whose bars must be imported first).

    Bad records (missing ticker, the same ticker twice, a market cap that is not a positive number, an
    is_index that is not true/false) refuse the file, writing nothing, or with ``on_bad="quarantine"`` go to
    ``quarantine.parquet``. Tickers the dataset has no bars for are a warning and skipped. A result with more
    than one index instrument is refused whatever ``on_bad`` says.
    """
    check_on_bad(on_bad)
    dataset = Dataset(name)
    records = read_table(Path(path))
    require(records, ["ticker"], "ticker metadata")
    columns = tuple(c for c in METADATA if c in records.fields)
    if not columns:
        raise DataValidationError(f"{records.path}: no metadata column besides ticker; give any of {list(METADATA)}")
    stored = dataset.tickers.reindex(columns=TICKER_SCHEMA.names).reset_index(drop=True)
    known = stored["ticker"].astype(str)
    problems = np.full(len(records), "", dtype=object)
    values, skipped, renames = _judge(records, columns, known, problems)
    if (problems != "").any() and on_bad == "refuse":
        raise DataValidationError(refusal(records, problems, dataset.path))
    good = (problems == "") & ~skipped
    table, updated = _merge(stored, values[good], columns)
    index = _one_index(table, records.path)
    warnings = []
    ignored = [c for c in records.fields if c not in ("ticker", *METADATA)]
    if ignored:
        warnings.append(f"ignored column(s) {ignored}: tickers.parquet holds {list(TICKER_SCHEMA.names)}")
    if renames:
        warnings.append("tickers matched to the dataset's by case: "
                        + ", ".join(f"{a!r} -> {b!r}" for a, b in sorted(renames.items())))
    if skipped.any():
        warnings.append(unknown_tickers_warning(text(records.fields["ticker"])[skipped], known, "record(s)"))
    if updated:
        write_tickers(dataset.path, table)
    if (problems != "").any():
        append_quarantine(dataset.path, quarantined(records, problems))
    return TickersReport(dataset=dataset.path, file=records.path, records_read=len(records), columns=columns,
                         updated=updated, unchanged=int(good.sum()) - updated, skipped=int(skipped.sum()),
                         quarantined=int((problems != "").sum()), index=index, warnings=tuple(warnings))


def _judge(records: Records, columns: tuple[str, ...], known: pd.Series,
           problems: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, dict[str, str]]:
    """Typed metadata per record, problems noted; records of tickers without bars are skipped."""
    fields = records.fields
    written = text(fields["ticker"])
    note(problems, (written == "").to_numpy(), "missing ticker")
    tickers, renames, unknown = match_tickers(written, known)
    values = pd.DataFrame({"ticker": tickers})
    for column in ("sector", "industry"):
        if column in columns:
            label = text(fields[column])
            values[column] = label.where(label != "", None)
    if "market_cap" in columns:
        cap, unparseable = numbers(fields["market_cap"], np.nan)
        note(problems, unparseable, "unparseable market_cap", fields["market_cap"])
        note(problems, np.isinf(cap) | (cap <= 0), "market_cap not a positive number", fields["market_cap"])
        values["market_cap"] = cap
    if "is_index" in columns:
        flags, unreadable = booleans(fields["is_index"])
        note(problems, unreadable, "is_index not true/false", fields["is_index"])
        values["is_index"] = flags
    skipped = unknown & (written != "").to_numpy()
    problems[skipped] = ""
    first: dict[str, int] = {}
    for i in np.flatnonzero((problems == "") & ~skipped):
        ticker = values.at[i, "ticker"]
        if ticker in first:
            problems[i] = f"duplicate ticker {ticker!r} in the file ({records.where[first[ticker]]} gives it first)"
        first.setdefault(ticker, i)
    return values, skipped, renames


def _merge(stored: pd.DataFrame, values: pd.DataFrame, columns: tuple[str, ...]) -> tuple[pd.DataFrame, int]:
    """``stored`` with the file's columns replaced for the tickers it lists, and how many tickers changed."""
    table = stored.copy()
    position = {t: k for k, t in enumerate(table["ticker"].astype(str))}
    updated = 0
    for row in values.itertuples(index=False):
        k = position[row.ticker]
        before = table.loc[k, list(columns)].tolist()
        after = [getattr(row, c) for c in columns]
        if any(not _same(a, b) for a, b in zip(before, after, strict=True)):
            table.loc[k, list(columns)] = after
            updated += 1
    table["is_index"] = table["is_index"].fillna(False).astype(bool)
    return table, updated


def _same(a: object, b: object) -> bool:
    if pd.isna(a) and pd.isna(b):
        return True
    if isinstance(a, float | np.floating) and isinstance(b, float | np.floating):
        return bool(np.isclose(a, b, rtol=1e-12, atol=0))
    return a == b


def _one_index(table: pd.DataFrame, path: Path) -> str | None:
    """The index instrument of the merged table; two or more is refused."""
    flagged = sorted(table.loc[table["is_index"], "ticker"].astype(str))
    if len(flagged) > 1:
        raise DataValidationError(
            f"{path}: the dataset would have {len(flagged)} index instruments ({', '.join(flagged)}), at most one "
            "is allowed; give is_index false for all but one of them in the file (nothing written)")
    return flagged[0] if flagged else None
