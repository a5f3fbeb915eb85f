"""A dataset of the Parquet lake, queried with DuckDB.

Layout of ``datasets/<name>/``::

    bars/date=YYYY-MM-DD/*.parquet   one row per (ticker, minute), sorted by ticker then ts
    tickers.parquet                  ticker, sector, industry, market_cap, is_index
    corporate_actions.parquet        ticker, ex_date, split_ratio, cash_dividend
    context/*.parquet                slow data, each row with an ``available_at`` timestamp
    quarantine.parquet               rows an import refused, with a ``reason`` (optional)
    fingerprint.json                 size, mtime and SHA-256 of each table file (``Dataset.fingerprint``)

Queries prune by the ``date=`` partition and push ticker and time filters into the Parquet scan
(row-group statistics), so loading one ticker-day never reads the whole lake.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd

from workbench.data._calendar import EXCHANGE_TZ, sessions
from workbench.data._fingerprint import content_fingerprint
from workbench.data._paths import dataset_path
from workbench.data._schema import BAR_COLUMNS, CORPORATE_ACTION_SCHEMA, TICKER_SCHEMA
from workbench.errors import DatasetNotFoundError, DataValidationError, UnknownTickerError

Adjust = Literal["raw", "splits", "backward"]
ADJUST_MODES: tuple[str, ...] = ("raw", "splits", "backward")
PRICE_FIELDS = ("open", "high", "low", "close", "vwap", "bid", "ask")
SIZE_FIELDS = ("volume", "bid_size", "ask_size")
CONTEXT_TABLES = ("vix", "rates", "macro_events")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _bound(value: Any, *, upper: bool) -> pd.Timestamp:
    """A UTC time bound from a tz-aware timestamp, or from an exchange date (a whole session)."""
    is_date = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    if isinstance(value, str) and _DATE_ONLY.match(value):
        is_date = True
    if is_date:
        day = pd.Timestamp(value).tz_localize(EXCHANGE_TZ)
        if upper:
            day = day + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
        return day.tz_convert("UTC")
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        raise ValueError(
            f"time bound {value!r} has no timezone: pass a tz-aware timestamp such as "
            f"'2024-11-25 10:00-05:00' or '2024-11-25T15:00Z', or a plain date 'YYYY-MM-DD' "
            f"(an exchange session date)"
        )
    return stamp.tz_convert("UTC")


class Dataset:
    """One dataset of the lake: bars, reference tables and context, with ad-hoc SQL over all of them.

    Parameters
    ----------
    name_or_path
        A dataset name under ``datasets/`` (or ``$WB_DATASETS``) or a folder path.

    Examples
    --------
    >>> ds = Dataset("default")                                       # doctest: +SKIP
    >>> ds.bars(["SPY"], "2024-11-25", "2024-11-26", adjust="backward")  # doctest: +SKIP
    """

    def __init__(self, name_or_path: str | os.PathLike[str]) -> None:
        self.path: Path = dataset_path(name_or_path)
        self.name: str = self.path.name
        self._con = duckdb.connect(":memory:")
        self._con.execute("SET TimeZone = 'UTC'")
        self._register_views()

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, path={str(self.path)!r})"

    # -- reference tables -------------------------------------------------------------------------

    @cached_property
    def tickers(self) -> pd.DataFrame:
        """The ticker table (``ticker, sector, industry, market_cap, is_index``)."""
        return self._read_table("tickers.parquet", TICKER_SCHEMA.names)

    @cached_property
    def corporate_actions(self) -> pd.DataFrame:
        """Splits and cash dividends (``ticker, ex_date, split_ratio, cash_dividend``)."""
        return self._read_table("corporate_actions.parquet", CORPORATE_ACTION_SCHEMA.names)

    def context(self, table: str) -> pd.DataFrame:
        """A context table (``vix``, ``rates`` or ``macro_events``), each row with ``available_at``."""
        path = self.path / "context" / f"{table}.parquet"
        if not path.exists():
            have = sorted(p.stem for p in (self.path / "context").glob("*.parquet"))
            raise DatasetNotFoundError(f"dataset {self.name!r} has no context table {table!r}; it has {have}")
        return pd.read_parquet(path)

    @cached_property
    def index_ticker(self) -> str | None:
        """The dataset's index instrument (the ticker flagged ``is_index`` in tickers.parquet), or None when it
        has none: the cross-asset features and the buy-and-hold benchmark read it."""
        tickers = self.tickers
        if "is_index" not in tickers:
            return None
        flagged = sorted(tickers.loc[tickers["is_index"].fillna(False).astype(bool), "ticker"].astype(str))
        if len(flagged) > 1:
            raise DataValidationError(f"dataset {self.name!r} flags {len(flagged)} index instruments {flagged} "
                                      "in tickers.parquet (is_index); keep one")
        return flagged[0] if flagged else None

    @property
    def fingerprint(self) -> str:
        """A 16-hex-digit identity of the data a run reads: a hash of the relative path and SHA-256 of the bytes
        of every table file (bars, tickers, corporate actions, context; not the quarantine).

        It depends on content only: the same across re-opens and for a byte-identical copy of the folder, and
        different after any change to those tables, e.g. recorded corporate actions or appended bars. It stays
        cheap through ``fingerprint.json`` in the folder, which records each file's size, mtime and hash: only
        new or changed files (and ones hashed within seconds of a write) are read (see
        :mod:`workbench.data._fingerprint`).
        """
        return content_fingerprint(self.path)

    @cached_property
    def dates(self) -> list[dt.date]:
        """Session dates present in the lake, ascending."""
        found = []
        for folder in (self.path / "bars").glob("date=*"):
            if any(folder.glob("*.parquet")):
                found.append(dt.date.fromisoformat(folder.name.removeprefix("date=")))
        return sorted(found)

    # -- bars -------------------------------------------------------------------------------------

    def bars(
        self,
        tickers: str | Iterable[str] | None = None,
        start: Any = None,
        end: Any = None,
        *,
        columns: Sequence[str] | None = None,
        adjust: Adjust = "raw",
    ) -> pd.DataFrame:
        """Load bars for ``tickers`` between ``start`` and ``end`` (both inclusive), sorted by ticker, ts.

        ``start``/``end`` are tz-aware timestamps or exchange dates ('YYYY-MM-DD' means the whole
        session). ``adjust``: ``"raw"`` (as traded; the live path), ``"splits"`` (split-adjusted) or
        ``"backward"`` (splits and cash dividends, back-adjusted to the latest prices; research).
        Back-adjusted price *levels* embed actions that happen after a bar, so use them for returns
        and charts; the feature pipeline adjusts point-in-time itself.
        """
        if adjust not in ADJUST_MODES:
            raise ValueError(f"adjust must be one of {ADJUST_MODES}, got {adjust!r}")
        wanted = self._check_tickers(tickers)
        cols = list(BAR_COLUMNS if columns is None else columns)
        unknown_cols = sorted(set(cols) - set(BAR_COLUMNS))
        if unknown_cols:
            raise ValueError(f"unknown bar column(s) {unknown_cols}; available: {list(BAR_COLUMNS)}")
        for key in ("ts", "ticker"):
            if key not in cols:
                cols.insert(0, key)
        if not self.dates:
            raise DataValidationError(f"dataset {self.name!r} holds no bars; import some with `wb data import`")
        lo = _bound(start, upper=False) if start is not None else None
        hi = _bound(end, upper=True) if end is not None else None
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"start {start!r} is after end {end!r}")
        where, params = [], []
        # partition pruning: bars of a session are stamped with that session's New York date
        if lo is not None:
            where.append("date >= ?")
            params.append(lo.tz_convert(EXCHANGE_TZ).date())
            where.append("ts >= ?")
            params.append(lo.to_pydatetime())
        if hi is not None:
            where.append("date <= ?")
            params.append(hi.tz_convert(EXCHANGE_TZ).date())
            where.append("ts <= ?")
            params.append(hi.to_pydatetime())
        if wanted is not None:
            where.append("ticker IN (SELECT unnest(?::VARCHAR[]))")
            params.append(wanted)
        select = ", ".join(f'"{c}"' for c in cols)
        sql = f"SELECT {select} FROM bars"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY ticker, ts"
        frame = self._con.execute(sql, params).df()
        if frame.empty:
            raise DataValidationError(self._no_bars_message(wanted, lo, hi))
        return self.adjust(frame, adjust)

    def _no_bars_message(self, tickers: list[str] | None, lo: pd.Timestamp | None, hi: pd.Timestamp | None) -> str:
        """Why a selection is empty, and what the dataset covers (a selection is never silently empty)."""
        first, last = self.dates[0], self.dates[-1]
        start = lo.tz_convert(EXCHANGE_TZ) if lo is not None else None
        end = hi.tz_convert(EXCHANGE_TZ) if hi is not None else None
        day_lo = start.date() if start is not None else first
        day_hi = end.date() if end is not None else last
        shown_lo = _show(start) if start is not None else "its start"
        shown_hi = _show(end) if end is not None else "its end"
        span = f" on {shown_lo}" if shown_lo == shown_hi else f" between {shown_lo} and {shown_hi}"
        open_days = set(sessions(day_lo, day_hi)["date"]) if day_lo <= day_hi else set()
        if not open_days:
            days = pd.date_range(day_lo, day_hi, freq="D")
            reason = "a weekend" if len(days) and all(d.weekday() >= 5 for d in days) else "no NYSE session: a holiday"
        elif day_hi < first:
            reason = "before the data"
        elif day_lo > last:
            reason = "after the data"
        elif not open_days & set(self.dates):
            reason = "sessions the dataset does not hold"
        elif tickers is not None and self._has_bars(lo, hi):
            reason = "none of these tickers traded there"
        else:
            reason = "outside the regular-session bars"
        where = f" for {tickers[:10]}" if tickers is not None else ""
        return (f"no bars in dataset {self.name!r}{where}{span} ({reason}); it covers {first} … {last} "
                f"({len(self.dates)} sessions)")

    def _has_bars(self, lo: pd.Timestamp | None, hi: pd.Timestamp | None) -> bool:
        """Whether any ticker has a bar between the bounds."""
        low = (lo if lo is not None else pd.Timestamp.min.tz_localize("UTC")).to_pydatetime()
        high = (hi if hi is not None else pd.Timestamp.max.tz_localize("UTC")).to_pydatetime()
        row = self._con.execute("SELECT 1 FROM bars WHERE ts >= ? AND ts <= ? LIMIT 1", [low, high]).fetchone()
        return row is not None

    def adjust(self, bars: pd.DataFrame, adjust: Adjust) -> pd.DataFrame:
        """Raw bars of this dataset as :meth:`bars` returns them for ``adjust`` (e.g. back-adjusted closes for
        a backtest from bars already loaded raw for features), without scanning the lake again."""
        if adjust not in ADJUST_MODES:
            raise ValueError(f"adjust must be one of {ADJUST_MODES}, got {adjust!r}")
        if adjust == "raw" or not len(bars):
            return bars
        return self._apply_adjustment(bars, dividends=adjust == "backward")

    def adjustment_factors(self, *, dividends: bool = True) -> pd.DataFrame:
        """Per corporate action, the factor that multiplies prices (and divides sizes) before ex_date.

        Split ``r``:1 → price factor ``1/r``. Cash dividend ``D`` → ``1 - D / close`` where ``close``
        is the last raw close before the ex-date (CRSP convention), so a back-adjusted series shows
        the total return across the ex-date.
        """
        actions = self.corporate_actions
        out = pd.DataFrame(
            {
                "ticker": actions["ticker"].astype(str),
                "ex_date": pd.to_datetime(actions["ex_date"]).dt.date,
                "price_factor": 1.0 / actions["split_ratio"].to_numpy(dtype=float),
                "size_factor": actions["split_ratio"].to_numpy(dtype=float),
            }
        )
        if dividends:
            cash = actions["cash_dividend"].to_numpy(dtype=float)
            for i in np.flatnonzero(cash > 0):
                prev_close = self._close_before(out.at[i, "ticker"], out.at[i, "ex_date"])
                if prev_close is not None:
                    # the dividend is paid on pre-split shares: compare it with the pre-split close
                    out.at[i, "price_factor"] *= 1.0 - cash[i] / prev_close
        return out

    def _close_before(self, ticker: str, ex_date: dt.date) -> float | None:
        row = self._con.execute(
            "SELECT close FROM bars WHERE ticker = ? AND date < ? AND date >= ? ORDER BY ts DESC LIMIT 1",
            [ticker, ex_date, ex_date - dt.timedelta(days=31)],
        ).fetchone()
        return None if row is None else float(row[0])

    def _apply_adjustment(self, frame: pd.DataFrame, *, dividends: bool) -> pd.DataFrame:
        factors = self.adjustment_factors(dividends=dividends)
        factors = factors[factors["ticker"].isin(frame["ticker"].unique())]
        if factors.empty:
            return frame
        frame = frame.copy()
        dates = pd.DatetimeIndex(frame["ts"]).tz_convert(EXCHANGE_TZ).tz_localize(None).normalize()
        price_mult = np.ones(len(frame))
        size_mult = np.ones(len(frame))
        tickers = frame["ticker"].to_numpy()
        for ticker, group in factors.groupby("ticker"):
            rows = np.flatnonzero(tickers == ticker)
            group = group.sort_values("ex_date")
            ex = pd.DatetimeIndex(pd.to_datetime(group["ex_date"]))
            # actions strictly after a bar's date apply to it: cumulative product from the right
            price_after = np.append(np.cumprod(group["price_factor"].to_numpy()[::-1])[::-1], 1.0)
            size_after = np.append(np.cumprod(group["size_factor"].to_numpy()[::-1])[::-1], 1.0)
            position = np.searchsorted(ex.to_numpy(), dates[rows].to_numpy(), side="right")
            price_mult[rows] = price_after[position]
            size_mult[rows] = size_after[position]
        for col in PRICE_FIELDS:
            if col in frame:
                frame[col] = frame[col] * price_mult
        for col in SIZE_FIELDS:
            if col in frame:
                frame[col] = frame[col] * size_mult
        return frame

    # -- SQL --------------------------------------------------------------------------------------

    def sql(self, query: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run ad-hoc SQL. Views: ``bars`` (with a ``date`` partition column), ``tickers``,
        ``corporate_actions`` and each context table (``vix``, ``rates``, ``macro_events``)."""
        return self._con.execute(query, list(params or [])).df()

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection with the dataset's views registered (for EXPLAIN, profiling...)."""
        return self._con

    # -- internals --------------------------------------------------------------------------------

    def _register_views(self) -> None:
        glob = (self.path / "bars" / "date=*" / "*.parquet").as_posix()
        if self.dates:
            self._con.execute(
                f"CREATE VIEW bars AS SELECT * FROM read_parquet({_quote(glob)}, hive_partitioning = true, "
                "hive_types = {'date': DATE})"
            )
        else:
            columns = ", ".join(f"NULL::{t} AS {c}" for c, t in _EMPTY_BAR_TYPES.items())
            self._con.execute(f"CREATE VIEW bars AS SELECT {columns} WHERE false")
        for name in ("tickers", "corporate_actions"):
            path = self.path / f"{name}.parquet"
            if path.exists():
                self._con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({_quote(path.as_posix())})")
        for path in sorted((self.path / "context").glob("*.parquet")):
            self._con.execute(f'CREATE VIEW "{path.stem}" AS SELECT * FROM read_parquet({_quote(path.as_posix())})')

    def _read_table(self, filename: str, columns: list[str]) -> pd.DataFrame:
        path = self.path / filename
        if not path.exists():
            raise DatasetNotFoundError(f"dataset {self.name!r} has no {filename} (looked in {self.path})")
        frame = pd.read_parquet(path)
        return frame[[c for c in columns if c in frame]]

    def _check_tickers(self, tickers: str | Iterable[str] | None) -> list[str] | None:
        if tickers is None:
            return None
        wanted = [tickers] if isinstance(tickers, str) else list(tickers)
        if not wanted:
            raise ValueError("tickers is an empty list; pass None for all tickers")
        bad_type = [t for t in wanted if not isinstance(t, str)]
        if bad_type:
            raise TypeError(f"tickers must be strings, got {bad_type[:5]}")
        known = set(self.tickers["ticker"].astype(str))
        unknown = [t for t in wanted if t not in known]
        if unknown:
            hints = {t: difflib.get_close_matches(t, known, n=3) for t in unknown[:5]}
            hint_text = "; ".join(f"{t!r}: did you mean {h}?" for t, h in hints.items() if h)
            raise UnknownTickerError(
                f"unknown ticker(s) {unknown[:10]}{' ...' if len(unknown) > 10 else ''} in dataset "
                f"{self.name!r} ({len(known)} tickers)" + (f" — {hint_text}" if hint_text else "")
            )
        return list(dict.fromkeys(wanted))


_EMPTY_BAR_TYPES = {
    "ts": "TIMESTAMPTZ", "ticker": "VARCHAR", "open": "DOUBLE", "high": "DOUBLE", "low": "DOUBLE",
    "close": "DOUBLE", "volume": "DOUBLE", "vwap": "DOUBLE", "trades": "BIGINT", "bid": "DOUBLE",
    "ask": "DOUBLE", "bid_size": "DOUBLE", "ask_size": "DOUBLE", "date": "DATE",
}


def _show(stamp: pd.Timestamp) -> str:
    """A New York bound as the user would write it: a date when it is a whole day's edge, else the time."""
    whole_day = stamp.time() in (dt.time(0), dt.time(23, 59, 59, 999999))
    return str(stamp.date()) if whole_day else stamp.strftime("%Y-%m-%d %H:%M %Z")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
