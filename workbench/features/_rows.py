"""Bars → validated, time-ordered numpy rows with everything the feature kernels read.

Both the batch :func:`~workbench.features.compute` and the online engine go through
:func:`prepare_rows`, so validation, ordering, the session clock, point-in-time context and
corporate-action factors are defined once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numba as nb
import numpy as np
import pandas as pd

from workbench.data._calendar import EXCHANGE_TZ, sessions
from workbench.data._schema import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, bar_problems, require_columns
from workbench.errors import DataValidationError
from workbench.features._universe import AdjustmentBook, FeatureUniverse

NS_PER_MINUTE = 60 * 1_000_000_000
FLOAT_INPUTS = ("open", "high", "low", "close", "volume", "vwap", "bid", "ask", "bid_size", "ask_size")


@dataclass
class Rows:
    """One array per field, all of the same length, sorted by (ts, index instrument first, ticker row)."""

    order: np.ndarray  # position of each row in the caller's frame
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
    vix: np.ndarray
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


def _fail(message: str, frame: pd.DataFrame, positions: np.ndarray, reasons: list[str] | None = None) -> None:
    shown = []
    for k, pos in enumerate(positions[:5]):
        row = frame.iloc[int(pos)]
        why = f": {reasons[k]}" if reasons else ""
        shown.append(f"{row['ticker']} at {row['ts']}{why}")
    more = f" (and {len(positions) - 5} more)" if len(positions) > 5 else ""
    raise DataValidationError(f"{message}: " + "; ".join(shown) + more)


def _validate(bars: pd.DataFrame) -> None:
    require_columns(bars, REQUIRED_COLUMNS, "bars")
    ts = bars["ts"]
    if not isinstance(ts.dtype, pd.DatetimeTZDtype):
        raise DataValidationError(f"bars 'ts' must be timezone-aware timestamps (UTC bar ends), got dtype {ts.dtype}")
    numeric = bars[[c for c in (*REQUIRED_COLUMNS[2:], *OPTIONAL_COLUMNS) if c in bars]]
    values = numeric.to_numpy(dtype=float, na_value=np.nan)
    positive_inf = np.isposinf(values) | np.isneginf(values)
    if positive_inf.any():
        rows = np.flatnonzero(positive_inf.any(axis=1))
        _fail("bars hold infinite values", bars, rows)
    problems = bar_problems(bars).to_numpy()
    bad = np.flatnonzero(problems != "")
    if len(bad):
        _fail(f"{len(bad)} invalid bar(s)", bars, bad, [str(problems[i]) for i in bad[:5]])


def _session_clock(ts_ns: np.ndarray, bars: pd.DataFrame, order: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(session ordinal, minute of session, minutes to close, day of week) from the NYSE calendar."""
    unique, inverse = np.unique(ts_ns, return_inverse=True)
    stamps = pd.DatetimeIndex(unique.astype("datetime64[ns]")).tz_localize("UTC")
    local_day = stamps.tz_convert(EXCHANGE_TZ).normalize().tz_localize(None)
    table = sessions(local_day.min().date(), local_day.max().date())
    by_day = pd.DataFrame({"open": table["open"].to_numpy(), "close": table["close"].to_numpy()},
                          index=pd.DatetimeIndex([pd.Timestamp(d) for d in table["date"]]))
    opens = by_day["open"].reindex(local_day)
    closes = by_day["close"].reindex(local_day)
    open_ns = pd.DatetimeIndex(opens).as_unit("ns").asi8
    close_ns = pd.DatetimeIndex(closes).as_unit("ns").asi8
    outside = opens.isna().to_numpy() | (unique <= open_ns) | (unique > close_ns)
    if outside.any():
        first = np.flatnonzero(outside[inverse])
        _fail("bars outside the regular NYSE session (ts must be a bar end in (open, close])",
              bars, order[first])
    minute_of_session = (unique - open_ns) // NS_PER_MINUTE
    minutes_to_close = (close_ns - unique) // NS_PER_MINUTE
    ordinal = np.array([d.toordinal() for d in local_day.date], dtype=np.int64)
    dow = local_day.day_of_week.to_numpy().astype(np.int64)
    return ordinal[inverse], minute_of_session[inverse], minutes_to_close[inverse], dow[inverse]


@nb.njit(cache=True)
def _session_events_nb(ticker, session, close, offsets, ex_session, split_ratio, cash_dividend, log_shares_static,
                       ref_session, last_session, last_close, new_session, price_factor, volume_factor,
                       log_shares):  # pragma: no cover - numba
    """Per row: first bar of the session?, the ex-date factors to apply to state, log shares outstanding."""
    for r in range(len(ticker)):
        i = ticker[r]
        s = session[r]
        prev = last_session[i]
        new_session[r] = s != prev
        pf = 1.0
        vf = 1.0
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


def prepare_rows(bars: pd.DataFrame, universe: FeatureUniverse, book: AdjustmentBook, clock: TickerClock,
                 vix_at: Callable[[np.ndarray], np.ndarray]) -> Rows:
    """Validate ``bars``, order them, and derive every per-row input; advances ``clock``.

    Raises a :class:`~workbench.errors.DataValidationError` naming the ticker and timestamp for
    invalid prices, duplicate or out-of-order bars (older than what ``clock`` has seen), or bars
    outside the session; an unknown ticker raises :class:`~workbench.errors.UnknownTickerError`.
    """
    if not isinstance(bars, pd.DataFrame):
        raise TypeError(f"bars must be a pandas DataFrame, got {type(bars).__name__}")
    _validate(bars)
    ts_all = bars["ts"].dt.tz_convert("UTC").array.as_unit("ns").asi8
    tickers = universe.rows_of(bars["ticker"].astype(str).to_numpy(), ts_all)
    order = np.lexsort((tickers, ~universe.is_index[tickers], ts_all))
    ticker, ts = tickers[order], ts_all[order]
    stale = ts <= clock.last_ts[ticker]
    if stale.any():
        _fail("bars not newer than what this ticker already had (late, duplicate or out of order)",
              bars, order[np.flatnonzero(stale)])
    session, minute_of_session, minutes_to_close, dow = _session_clock(ts, bars, order)
    n = len(ts)
    columns = {c: bars[c].to_numpy(dtype=float, na_value=np.nan)[order] if c in bars else np.full(n, np.nan)
               for c in FLOAT_INPUTS}
    new_session = np.zeros(n, dtype=np.bool_)
    price_factor, volume_factor, log_shares = np.ones(n), np.ones(n), np.full(n, np.nan)
    _session_events_nb(ticker, session, columns["close"], book.offsets, book.ex_session, book.split_ratio,
                       book.cash_dividend, universe.log_shares, universe.ref_session, clock.last_session,
                       clock.last_close, new_session, price_factor, volume_factor, log_shares)
    np.maximum.at(clock.last_ts, ticker, ts)
    return Rows(
        order=order, ticker=ticker, ts=ts, minute=ts // NS_PER_MINUTE, session=session,
        minute_of_session=minute_of_session, minutes_to_close=minutes_to_close, day_of_week=dow,
        sector=universe.sector_code[ticker], new_session=new_session, price_factor=price_factor,
        volume_factor=volume_factor, log_shares=log_shares, vix=vix_at(ts), **columns,
    )
