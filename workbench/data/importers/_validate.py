"""Judging parsed bars: the lake's row rules, duplicates against the dataset, and the regular session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data._calendar import regular_session_mask, session_date
from workbench.data._lake import Dataset
from workbench.data._schema import bar_problems
from workbench.data.importers._problems import merge, note

DUPLICATE = "duplicate (ticker, ts)"
ALREADY_STORED = "duplicate (ticker, ts) already in dataset"


@dataclass(frozen=True)
class Verdict:
    """Per row: its problem ("" when good) and whether it is an extended-hours bar (skipped, not bad)."""

    problems: np.ndarray
    extended: np.ndarray

    @property
    def bad(self) -> np.ndarray:
        """Rows that break a rule (refused, or quarantined)."""
        return self.problems != ""

    @property
    def good(self) -> np.ndarray:
        """Rows to write: no problem and inside the regular session."""
        return ~self.bad & ~self.extended


def judge(bars: pd.DataFrame, problems: np.ndarray, dataset_dir: Path) -> Verdict:
    """Classify every row; bars outside the regular session are skipped whatever else is wrong with them."""
    problems = problems.copy()
    stamped = bars["ts"].notna().to_numpy()
    extended = np.zeros(len(bars), dtype=bool)
    extended[stamped] = ~_in_session(bars.loc[stamped, "ts"])
    problems[extended] = ""
    candidates = (problems == "") & ~extended
    merge(problems, _row_rules(bars, candidates))
    good = (problems == "") & ~extended
    note(problems, good & _stored(bars, good, dataset_dir), ALREADY_STORED)
    return Verdict(problems=problems, extended=extended)


def _in_session(ts: pd.Series) -> np.ndarray:
    """``regular_session_mask`` evaluated once per distinct stamp (many tickers share each minute)."""
    distinct, position = np.unique(_ns(ts), return_inverse=True)
    return regular_session_mask(pd.Series(pd.to_datetime(distinct, unit="ns", utc=True)))[position]


def _row_rules(bars: pd.DataFrame, candidates: np.ndarray) -> np.ndarray:
    """``bar_problems`` on the candidate rows, where a repeat of a row that is itself bad is no duplicate."""
    found = np.full(len(bars), "", dtype=object)
    found[candidates] = bar_problems(bars[candidates]).to_numpy()
    retry = found == DUPLICATE
    if retry.any():
        kept = candidates & ((found == "") | retry)
        repeated = np.zeros(len(bars), dtype=bool)
        repeated[kept] = bars[kept].duplicated(subset=["ticker", "ts"], keep="first").to_numpy()
        found[retry & ~repeated] = ""
    return found


def _stored(bars: pd.DataFrame, rows: np.ndarray, dataset_dir: Path) -> np.ndarray:
    """Which rows' (ticker, ts) the dataset already holds (all False for a new dataset)."""
    stored = np.zeros(len(bars), dtype=bool)
    if not rows.any() or not (dataset_dir / "bars").is_dir():
        return stored
    subset = bars[rows]
    first, last = session_date(pd.Series([subset["ts"].min(), subset["ts"].max()]))
    existing = Dataset(dataset_dir).sql(
        "SELECT ticker, ts FROM bars WHERE date BETWEEN ? AND ? AND ticker IN (SELECT unnest(?::VARCHAR[]))",
        [first, last, sorted(subset["ticker"].unique())],
    )
    if existing.empty:
        return stored
    keys = pd.MultiIndex.from_arrays([existing["ticker"].astype("str"), _ns(existing["ts"])])
    stored[rows] = pd.MultiIndex.from_arrays([subset["ticker"], _ns(subset["ts"])]).isin(keys)
    return stored


def _ns(ts: pd.Series) -> np.ndarray:
    """UTC stamps as int64 nanoseconds, whatever their unit (the lake stores microseconds)."""
    return pd.DatetimeIndex(ts).as_unit("ns").asi8
