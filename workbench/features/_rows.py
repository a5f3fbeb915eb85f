"""Bars → validated numpy rows with everything the feature kernels read.

Both the batch :func:`~workbench.features.compute` and the online engine go through
:func:`prepare_rows`, so validation, the session clock, point-in-time context and corporate-action
factors are defined once. Rows keep the caller's order whenever each ticker's bars are already in
time order (the lake's (ticker, ts) order, or a stream's minute-by-minute order): per-ticker kernels
then run without any sort, and only the cross-sectional families see a time-ordered copy.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from functools import cached_property
from typing import NoReturn

import numba as nb
import numpy as np
import pandas as pd

from workbench.data._calendar import session_index
from workbench.data._schema import (
    BAR_VALUE_COLUMNS,
    PROBLEM_REASONS,
    REQUIRED_COLUMNS,
    bar_value_columns,
    problem_codes,
    read_only,
    require_columns,
)
from workbench.errors import DataValidationError, UnknownTickerError
from workbench.features._context import ContextSeries
from workbench.features._universe import AdjustmentBook, FeatureUniverse

NS_PER_MINUTE = 60 * 1_000_000_000
NAT = np.iinfo(np.int64).min
IN_ORDER, UNSORTED, DUPLICATE, STALE = range(4)


@dataclass(frozen=True)
class BarBatch:
    """Bars as arrays, in the caller's order: what the engine consumes once a frame or a stream
    message has been unpacked. ``columns`` follow :data:`~workbench.data._schema.BAR_VALUE_COLUMNS`
    (read-only float64, NaN where a column is absent)."""

    ts: np.ndarray  # int64 ns UTC, end of the bar's minute
    ticker: np.ndarray  # int64 engine row
    columns: tuple[np.ndarray, ...]

    def __len__(self) -> int:
        return len(self.ts)

    @classmethod
    def from_frame(cls, bars: pd.DataFrame, universe: FeatureUniverse, *, strict: bool = True) -> BarBatch:
        """Unpack a bar frame (``ts`` timezone-aware, ``ticker`` symbols, prices, volume, optional quotes).

        Raises a clear error for a non-frame, missing or non-numeric columns, naive or missing
        timestamps, and (naming it) a ticker outside ``universe``. With ``strict=False`` (the buffered
        path, which refuses row by row) a missing timestamp stays ``NAT`` and an unknown ticker row -1.
        """
        if not isinstance(bars, pd.DataFrame):
            raise TypeError(f"bars must be a pandas DataFrame, got {type(bars).__name__}")
        require_columns(bars, REQUIRED_COLUMNS, "bars")
        ts = bars["ts"]
        if not isinstance(ts.dtype, pd.DatetimeTZDtype):
            raise DataValidationError(
                f"bars 'ts' must be timezone-aware timestamps (UTC bar ends), got dtype {ts.dtype}")
        stamps = ts.array.tz_convert("UTC").as_unit("ns").asi8
        symbols = bars["ticker"].array  # hashed as-is: converting the strings costs more than the lookup
        if not strict:
            return cls(ts=read_only(stamps), ticker=read_only(_known_rows(universe, symbols)),
                       columns=bar_value_columns(bars))
        missing = np.flatnonzero(stamps == NAT)
        if len(missing):
            raise DataValidationError(f"{len(missing)} bar(s) without a timestamp: first for ticker "
                                      f"{symbols[missing[0]]!r} (row {missing[0]})")
        return cls(ts=read_only(stamps), ticker=read_only(universe.rows_of(symbols, stamps)),
                   columns=bar_value_columns(bars))

    @classmethod
    def from_arrays(cls, ts: np.ndarray, ticker: np.ndarray, **columns: np.ndarray) -> BarBatch:
        """From int64 UTC nanoseconds, engine rows and one float array per bar column (the live path)."""
        unknown = sorted(set(columns) - set(BAR_VALUE_COLUMNS))
        if unknown:
            raise DataValidationError(f"unknown bar column(s) {unknown}; bars carry {list(BAR_VALUE_COLUMNS)}")
        n = len(ts)
        values = tuple(read_only(np.asarray(columns[c], dtype=np.float64) if c in columns else np.full(n, np.nan))
                       for c in BAR_VALUE_COLUMNS)
        if any(len(v) != n for v in values):
            raise DataValidationError(f"bar columns differ in length from ts ({n})")
        return cls(ts=read_only(np.asarray(ts, dtype=np.int64)), ticker=read_only(np.asarray(ticker, dtype=np.int64)),
                   columns=values)


def _known_rows(universe: FeatureUniverse, symbols: object) -> np.ndarray:
    """Engine row of each symbol, -1 for one outside the universe (the fast lookup first: it raises
    only when some symbol is unknown)."""
    try:
        return universe.rows_of(symbols)
    except UnknownTickerError:
        return pd.Index(universe.tickers).get_indexer(pd.Index(np.asarray(symbols, dtype=object))).astype(np.int64)


@dataclass(frozen=True)
class Rows:
    """One array per field, all of the same length, sorted by (ticker row, ts): each kernel walks one
    ticker's bars after the other with its state hot in cache (:attr:`time_order` for the global order)."""

    order: np.ndarray  # position of each row in the caller's batch
    in_input_order: bool  # order is the identity: outputs need no reordering
    index_row: int  # engine row of the index instrument (-1: none)
    ticker: np.ndarray  # engine row (int64)
    ts: np.ndarray  # int64 ns UTC, end of the bar's minute
    minute: np.ndarray  # ts in whole minutes since the epoch
    session: np.ndarray  # proleptic ordinal of the New York session date
    minute_of_session: np.ndarray  # 1 for the bar ending at 09:31
    minutes_to_close: np.ndarray  # 0 for the session's last bar (13:00 on half days)
    day_of_week: np.ndarray  # Monday = 0
    sector: np.ndarray
    new_session: np.ndarray  # first bar of this ticker in its session
    price_factor: np.ndarray  # multiply price state by this before using the bar (ex-date adjustment)
    volume_factor: np.ndarray
    log_shares: np.ndarray
    context: Mapping[str, ContextSeries]  # the point-in-time context tables some family reads, by name
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    vwap: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    bid_size: np.ndarray
    ask_size: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)

    def ticker_ranges(self, parts: int) -> list[tuple[int, int]]:
        """Up to ``parts`` contiguous row ranges of about equal size that never split a ticker's rows."""
        cuts = [0]
        for k in range(1, parts):
            at = int(np.searchsorted(self.ticker, self.ticker[len(self) * k // parts], side="left"))
            if cuts[-1] < at < len(self):
                cuts.append(at)
        cuts.append(len(self))
        return list(itertools.pairwise(cuts))

    def slice(self, start: int, stop: int) -> Rows:
        """Rows ``start:stop`` as views (for a per-ticker kernel working on a ticker range)."""
        sliced = {f.name: getattr(self, f.name)[start:stop] for f in fields(self)
                  if f.name not in ("in_input_order", "index_row", "context")}
        return replace(self, **sliced)

    @cached_property
    def log_close(self) -> np.ndarray:
        """log(close), vectorized once for every kernel that works in log prices."""
        return np.log(self.close)

    @cached_property
    def log_open(self) -> np.ndarray:
        """log(open), for the first bar's intraday return of a session."""
        return np.log(self.open)

    @cached_property
    def log1p_volume(self) -> np.ndarray:
        """log(1 + volume)."""
        return np.log1p(self.volume)

    @cached_property
    def time_order(self) -> np.ndarray:
        """Positions in global time order, the index instrument first within a minute: the visiting
        order of the cross-sectional kernels (computed once, only when one of them runs)."""
        is_index = self.ticker == self.index_row
        if len(self.ts) and self.ts.min() == self.ts.max():  # one minute, in ticker order: index to the front
            return np.concatenate([np.flatnonzero(is_index), np.flatnonzero(~is_index)])
        rank = np.where(is_index, -1, self.ticker)
        if _is_time_ordered_nb(self.ts, rank):
            return np.arange(len(self.ts))
        return np.lexsort((rank, self.ts))


@dataclass
class TickerClock:
    """Per-ticker memory the row preparation needs between batches (part of an engine snapshot)."""

    last_ts: np.ndarray  # int64 ns, -1 before the first bar
    last_session: np.ndarray  # ordinal, -1 before the first bar
    last_close: np.ndarray  # raw close of the last bar (for the dividend factor)

    @classmethod
    def empty(cls, n: int) -> TickerClock:
        """Nothing seen yet."""
        return cls(np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64), np.full(n, np.nan))


def refuse_rows(message: str, batch: BarBatch, universe: FeatureUniverse, positions: np.ndarray,
                reasons: list[str] | None = None) -> NoReturn:
    """Raise a :class:`~workbench.errors.DataValidationError`: ``message``, then the ticker and time of
    the first five rows at ``positions`` (with their reasons, when given)."""
    shown = []
    for k, pos in enumerate(positions[:5]):
        why = f": {reasons[k]}" if reasons else ""
        shown.append(f"{universe.tickers[batch.ticker[pos]]} at {pd.Timestamp(int(batch.ts[pos]), tz='UTC')}{why}")
    more = f" (and {len(positions) - 5} more)" if len(positions) > 5 else ""
    raise DataValidationError(f"{message}: " + "; ".join(shown) + more)


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _is_time_ordered_nb(ts, rank):  # pragma: no cover - numba
    for r in range(1, len(ts)):  # noqa: SIM110 - an explicit loop numba compiles
        if ts[r] < ts[r - 1] or (ts[r] == ts[r - 1] and rank[r] < rank[r - 1]):
            return False
    return True


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _first_off_grid_nb(ts, step):  # pragma: no cover - numba
    """First row whose ts is not a multiple of ``step``, or -1; divides only where ts changes (once for a
    minute's cross-section)."""
    for r in range(len(ts)):
        if (r == 0 or ts[r] != ts[r - 1]) and ts[r] % step != 0:
            return r
    return -1


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _ticker_major_nb(ticker, ts, clock_last_ts):  # pragma: no cover - numba
    """(status, row): IN_ORDER when rows are strictly sorted by (ticker row, ts) and newer than the
    clock; else the first row that is UNSORTED, a DUPLICATE of its predecessor, or STALE (not newer
    than the last bar an earlier batch delivered for its ticker)."""
    for r in range(len(ticker)):
        i = ticker[r]
        first_of_run = r == 0 or i != ticker[r - 1]
        if first_of_run and ts[r] <= clock_last_ts[i]:
            return STALE, r
        if r > 0 and (i < ticker[r - 1] or (i == ticker[r - 1] and ts[r] <= ts[r - 1])):
            return (DUPLICATE if i == ticker[r - 1] and ts[r] == ts[r - 1] else UNSORTED), r
    return IN_ORDER, -1


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _session_clock_nb(ts, open_ns, close_ns, ordinal, dow, session, minute_of_session, minutes_to_close,
                      day_of_week):  # pragma: no cover - numba
    """Place every bar end in its NYSE session (open < ts <= close); returns the first row outside one, or -1.
    The session found for one row is tried first for the next: a search only when the day changes."""
    k = -1
    for r in range(len(ts)):
        t = ts[r]
        if k < 0 or not (open_ns[k] < t <= close_ns[k]):
            k = np.searchsorted(close_ns, t)
            if k >= len(close_ns) or not open_ns[k] < t:
                return r
        session[r] = ordinal[k]
        minute_of_session[r] = (t - open_ns[k]) // 60_000_000_000
        minutes_to_close[r] = (close_ns[k] - t) // 60_000_000_000
        day_of_week[r] = dow[k]
    return -1


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _session_events_nb(ticker, session, close, offsets, ex_session, split_ratio, cash_dividend, log_shares_static,
                       ref_session, ts, last_ts, last_session, last_close, new_session, price_factor,
                       volume_factor, log_shares):  # pragma: no cover - numba
    """Per row: first bar of the session?, the ex-date factors to apply to state, log shares outstanding.
    Each ticker's rows are in time order, so the last assignment of ``last_ts`` is its newest bar."""
    for r in range(len(ticker)):
        i = ticker[r]
        s = session[r]
        prev = last_session[i]
        new_session[r] = s != prev
        pf = 1.0
        vf = 1.0
        if r > 0 and s == prev and ticker[r - 1] == i:  # same session as the ticker's previous row
            shares = log_shares[r - 1]
        else:  # actions take effect at a session's first bar: scan them only then
            shares = log_shares_static[i]
            for a in range(offsets[i], offsets[i + 1]):
                ex = ex_session[a]
                if prev >= 0 and prev < ex <= s:
                    pf /= split_ratio[a]
                    vf *= split_ratio[a]
                    if cash_dividend[a] > 0.0 and last_close[i] > 0.0:
                        pf *= 1.0 - cash_dividend[a] / last_close[i]  # paid on pre-split shares
                if ref_session[i] < ex <= s:
                    shares += np.log(split_ratio[a])
        price_factor[r] = pf
        volume_factor[r] = vf
        log_shares[r] = shares
        last_session[i] = s
        last_close[i] = close[r]
        last_ts[i] = ts[r]


def _check_order(batch: BarBatch, universe: FeatureUniverse, clock: TickerClock) -> np.ndarray | None:
    """None when the batch is already sorted by (ticker row, ts); else that sort (refusing duplicate
    and stale bars, named)."""
    status, row = _ticker_major_nb(batch.ticker, batch.ts, clock.last_ts)
    order = None
    if status == UNSORTED:
        if batch.ts.min() == batch.ts.max():  # one minute's cross-section: a single-key sort
            order = np.argsort(batch.ticker, kind="stable")
        else:
            order = np.lexsort((batch.ts, batch.ticker))
        status, row = _ticker_major_nb(batch.ticker[order], batch.ts[order], clock.last_ts)
    position = np.array([row if order is None else order[row]])
    if status == DUPLICATE:
        refuse_rows("duplicate (ticker, ts)", batch, universe, position)
    if status == STALE:
        refuse_rows("bars not newer than what this ticker already had (late, duplicate or out of order)",
                    batch, universe, position)
    return order


def prepare_rows(batch: BarBatch, universe: FeatureUniverse, book: AdjustmentBook, clock: TickerClock,
                 context: Mapping[str, ContextSeries]) -> Rows:
    """Validate ``batch`` and derive every per-row input; advances ``clock``.

    Raises a :class:`~workbench.errors.DataValidationError` naming the ticker and timestamp for
    invalid prices, timestamps off the minute grid, duplicate bars or bars not newer than what ``clock``
    has seen, or bars outside the session; nothing is advanced when the batch is refused. ``context`` is
    passed through to the families that read it (they look values up as of each row's ``ts``).
    """
    codes = problem_codes(batch.columns)
    bad = np.flatnonzero(codes)
    if len(bad):
        refuse_rows(f"{len(bad)} invalid bar(s)", batch, universe, bad, [PROBLEM_REASONS[c] for c in codes[bad[:5]]])
    if _first_off_grid_nb(batch.ts, NS_PER_MINUTE) >= 0:
        off_grid = np.flatnonzero(batch.ts % NS_PER_MINUTE)
        refuse_rows(f"{len(off_grid)} bar(s) off the minute grid (ts must be the end of a whole minute, "
                    "e.g. 15:31:00, not 15:30:30)", batch, universe, off_grid)
    order = _check_order(batch, universe, clock)
    if order is None:
        ticker, ts, columns = batch.ticker, batch.ts, batch.columns
        order = np.arange(len(batch))
        in_input_order = True
    else:
        ticker, ts = read_only(batch.ticker[order]), read_only(batch.ts[order])
        columns = tuple(read_only(c[order]) for c in batch.columns)
        in_input_order = False
    n = len(ts)
    session, minute_of_session, minutes_to_close, dow = (np.empty(n, dtype=np.int64) for _ in range(4))
    index = session_index()
    outside = _session_clock_nb(ts, index.open_ns, index.close_ns, index.ordinal, index.day_of_week, session,
                                minute_of_session, minutes_to_close, dow)
    if outside >= 0:
        refuse_rows("bars outside the regular NYSE session (ts must be a bar end in (open, close])",
                    batch, universe, order[[outside]])
    new_session = np.empty(n, dtype=np.bool_)
    price_factor, volume_factor, log_shares = np.empty(n), np.empty(n), np.empty(n)
    close = columns[BAR_VALUE_COLUMNS.index("close")]
    _session_events_nb(ticker, session, close, book.offsets, book.ex_session, book.split_ratio,
                       book.cash_dividend, universe.log_shares, universe.ref_session, ts, clock.last_ts,
                       clock.last_session, clock.last_close, new_session, price_factor, volume_factor, log_shares)
    return Rows(
        order=order, in_input_order=in_input_order, index_row=universe.index_row, ticker=ticker, ts=ts,
        minute=ts // NS_PER_MINUTE, session=session, minute_of_session=minute_of_session,
        minutes_to_close=minutes_to_close, day_of_week=dow,
        sector=universe.sector_code[ticker], new_session=new_session, price_factor=price_factor,
        volume_factor=volume_factor, log_shares=log_shares,
        context=context, **dict(zip(BAR_VALUE_COLUMNS, columns, strict=True)),
    )
