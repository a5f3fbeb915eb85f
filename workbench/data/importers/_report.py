"""What an import did, with every row accounted for: read = written + quarantined + extended-hours skipped."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

_TICKERS_SHOWN = 10


@dataclass(frozen=True)
class ImportReport:
    """Counts, tickers and time span of one import into ``dataset`` (``first_ts``/``last_ts`` are bar ends),
    the ticker spellings normalized (``respelled``: as written -> as stored), the index instrument set and
    the stream control messages skipped (not rows)."""

    dataset: Path
    files: tuple[Path, ...]
    rows_read: int
    rows_written: int
    rows_quarantined: int
    extended_hours_skipped: int
    tickers: tuple[str, ...]
    first_ts: pd.Timestamp | None
    last_ts: pd.Timestamp | None
    respelled: tuple[tuple[str, str], ...] = ()
    index: str | None = None
    index_replaced: str | None = None
    control_skipped: int = 0

    def __str__(self) -> str:
        shown = ", ".join(self.tickers[:_TICKERS_SHOWN]) + (" ..." if len(self.tickers) > _TICKERS_SHOWN else "")
        span = "none" if self.first_ts is None else f"{self.first_ts} .. {self.last_ts} (bar ends, UTC)"
        quarantine = f" (in {self.dataset / 'quarantine.parquet'})" if self.rows_quarantined else ""
        lines = [
            f"imported {len(self.files)} file(s) into dataset {self.dataset.name!r} at {self.dataset}",
            f"  rows read:              {self.rows_read:,}",
            f"  rows written:           {self.rows_written:,}",
            f"  rows quarantined:       {self.rows_quarantined:,}{quarantine}",
            f"  extended-hours skipped: {self.extended_hours_skipped:,} (outside 09:30-16:00 New York)",
            f"  tickers:                {len(self.tickers)}" + (f" ({shown})" if self.tickers else ""),
            f"  bars:                   {span}",
        ]
        if self.control_skipped:
            lines.append(f"  stream control messages skipped: {self.control_skipped:,} (connection acknowledgements)")
        if self.respelled:
            pairs = ", ".join(f"{old!r} -> {new}" if old.strip() != old else f"{old} -> {new}"
                              for old, new in self.respelled)
            lines.append(f"  normalized {len(self.respelled)} ticker spelling(s): {pairs}")
        if self.index is not None:
            was = f" (was {self.index_replaced})" if self.index_replaced else ""
            lines.append(f"  index instrument:       {self.index}{was}")
        return "\n".join(lines)
