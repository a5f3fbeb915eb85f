"""Checked layout of a many-ticker bar frame: row blocks per ticker, in the lake's (ticker, ts) order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.errors import DataValidationError


@dataclass(frozen=True)
class PanelLayout:
    """Bar times and ticker blocks of a panel: ticker g owns rows ``bounds[g]:bounds[g + 1]``."""

    frame: pd.DataFrame
    ts: pd.DatetimeIndex
    ts_ns: np.ndarray  # int64 UTC nanoseconds
    bounds: np.ndarray  # int64, block starts then the row count
    block_last: np.ndarray  # per row, the last row of its ticker's block

    def where(self, i: int) -> str:
        """Row ``i`` described for an error message."""
        return f"row {self.frame.index[i]!r} (ticker {self.frame['ticker'].iat[i]!r}, ts {self.ts[i]})"


def panel_layout(bars: object, columns: tuple[str, ...] = ("ts", "ticker", "close")) -> PanelLayout:
    """Validate ``bars`` (columns present, tz-aware ts, sorted by ticker then strictly increasing ts) and
    return its ticker blocks. Raises DataValidationError naming the first offending row."""
    if not isinstance(bars, pd.DataFrame):
        raise TypeError(f"bars must be a pandas DataFrame with columns {list(columns)}, got {type(bars).__name__}")
    missing = [c for c in columns if c not in bars.columns]
    if missing:
        raise DataValidationError(f"bars is missing required column(s) {missing}; it has {list(bars.columns)}")
    if not bars.index.is_unique:
        raise DataValidationError("bars has a duplicated index; the output is row-aligned with it: reset_index() first")
    if not isinstance(bars["ts"].dtype, pd.DatetimeTZDtype):
        raise DataValidationError(f"bars.ts must be tz-aware timestamps (UTC bar ends), got dtype {bars['ts'].dtype}")
    ts = pd.DatetimeIndex(bars["ts"]).tz_convert("UTC")
    if ts.hasnans:
        raise DataValidationError(f"bars.ts is missing (NaT) at row {bars.index[np.flatnonzero(ts.isna())[0]]!r}")
    codes, uniques = pd.factorize(bars["ticker"], sort=False)
    n = codes.size
    if (codes < 0).any():
        raise DataValidationError(f"bars.ticker is missing at row {bars.index[np.flatnonzero(codes < 0)[0]]!r}")
    step = np.diff(codes)
    back = np.flatnonzero(step < 0)
    if back.size:
        i = back[0] + 1
        raise DataValidationError(
            f"bars must be sorted by (ticker, ts): ticker {bars['ticker'].iat[i]!r} reappears at row "
            f"{bars.index[i]!r} after other tickers; sort_values(['ticker', 'ts']) first"
        )
    names = pd.Index(uniques).astype(str)
    if not names.is_monotonic_increasing:
        k = int(np.flatnonzero(np.asarray(names[1:] < names[:-1]))[0])
        raise DataValidationError(
            f"bars must be sorted by (ticker, ts): ticker {names[k + 1]!r} comes after {names[k]!r}; "
            "sort_values(['ticker', 'ts']) first"
        )
    ts_ns = ts.as_unit("ns").asi8
    bad = np.flatnonzero((np.diff(ts_ns) <= 0) & (step == 0))
    if bad.size:
        i = bad[0] + 1
        kind = "repeats" if ts_ns[i] == ts_ns[i - 1] else "goes back in time"
        raise DataValidationError(
            f"bars must be sorted by (ticker, ts) with one bar per (ticker, ts): row {bars.index[i]!r} "
            f"(ticker {bars['ticker'].iat[i]!r}, ts {ts[i]}) {kind}; sort and drop duplicate bars first"
        )
    bounds = np.concatenate(([0], np.flatnonzero(step) + 1, [n] if n else [])).astype(np.int64)
    block_last = (bounds[1:] - 1)[codes] if n else np.zeros(0, dtype=np.int64)
    return PanelLayout(frame=bars, ts=ts, ts_ns=ts_ns, bounds=bounds, block_last=block_last.astype(np.int64))
