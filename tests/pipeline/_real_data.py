"""Small lake datasets shaped like real vendor data: a synthetic market of 30 names × 4 sessions, and copies
of it rewritten the way real data falls short (no index instrument, no quotes, no sectors, no VIX, no
market caps)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from workbench.data import Dataset
from workbench.data._writer import write_bars_partition, write_tickers
from workbench.data.synth import SynthConfig, build_synthetic_market

SMALL = SynthConfig(n_tickers=30, n_days=4, seed=3, flash_crash=False)
"""30 stocks + SPY over 2024-11-25 … 2024-11-29 (four sessions, Thanksgiving's half day among them)."""


def small_market(lake_root: Path) -> Dataset:
    """The 30 × 4 market (built once per test session)."""
    if not (lake_root / "small").exists():
        build_synthetic_market(SMALL, "small", progress=False)
    return Dataset("small")


def rewritten(source: Dataset, lake_root: Path, name: str, *,
              bars: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
              tickers: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
              drop_context: tuple[str, ...] = ()) -> Dataset:
    """A copy of ``source`` whose bars (per session) and ticker table went through the given rewrites."""
    target = lake_root / name
    if not target.exists():
        shutil.copytree(source.path, target)
        if bars is not None:
            for date in source.dates:
                day = bars(source.bars(None, date.isoformat(), date.isoformat(), adjust="raw"))
                for old in (target / "bars" / f"date={date.isoformat()}").glob("*.parquet"):
                    old.unlink()
                write_bars_partition(target, date, day)
        if tickers is not None:
            write_tickers(target, tickers(source.tickers))
        for table in drop_context:
            (target / "context" / f"{table}.parquet").unlink()
    return Dataset(name)
