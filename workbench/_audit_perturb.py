"""The causality audit's perturbations: change one channel of what a feature may read after a cut.

Channels: bar values (:func:`perturb_after`), which bars exist (:func:`perturb_bar_existence`), which
quotes are missing (:func:`perturb_quotes`), context rows published after the cut
(:func:`perturb_context`) and corporate actions with ex-dates after the cut's session
(:func:`perturb_corporate_actions`). Each returns a new frame, leaves everything at or before the cut
exactly as it was, and keeps the data valid (bars pass ``bar_problems``, quotes stay uncrossed, split
ratios positive, dividends below the price), so an honest feature runs on it unchanged.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from workbench.data import EXCHANGE_TZ, bar_times, first_sessions, sessions
from workbench.data._schema import PRICE_COLUMNS, require_columns
from workbench.errors import DataValidationError

_PRICE_SIGMA = 0.02  # log-scale of the random price moves: large enough to flip signs and ranks
_SIZE_SIGMA = 0.5
_CONTEXT_SIGMA = 0.1  # relative move of context values (a VIX of 16 moves by about 1.6)
DROP_SHARE = 0.2  # of future bars (and of context rows published after the cut) that disappear
INSERT_SHARE = 0.2  # of free future minutes (a ticker had no bar there) that get one
QUOTE_FLIP_SHARE = 0.3  # of future bars whose quote goes missing, or appears where it was missing
ACTION_SHARE = 0.5  # of future actions removed; of tickers given a new action
QUOTE_COLUMNS = ("bid", "ask", "bid_size", "ask_size")
ACTION_COLUMNS = ("ticker", "ex_date", "split_ratio", "cash_dividend")


def perturb_after(bars: pd.DataFrame, cut: Any, rng: np.random.Generator) -> pd.DataFrame:
    """A copy of ``bars`` in which every bar with ``ts > cut`` is randomly changed yet stays a valid bar.

    Prices move by random factors with high >= max(open, close) >= min(open, close) >= low > 0 and
    vwap inside [low, high]; volume, trades and quote sizes are rescaled; bid and ask move together
    with the spread kept positive. Missing values stay missing; other columns are left as they are.
    """
    check_bars(bars, "bars")
    return _moved(bars, (bars["ts"] > as_cut(cut)).to_numpy(), rng)


def perturb_bar_existence(bars: pd.DataFrame, cut: Any, rng: np.random.Generator) -> pd.DataFrame:
    """``bars`` with a random share of the bars after ``cut`` dropped and bars inserted after it where a
    ticker had none (a halt, a skipped minute, the rest of a session the data does not reach).

    Candidate minutes are the bar times of ``bars`` and the NYSE bar ends of the sessions it spans.
    An inserted bar copies its ticker's nearest earlier bar (else its first), with values moved as in
    :func:`perturb_after`, and takes the next free integer label. It is placed in time order: by
    ``ts`` if ``bars`` are sorted by time, else just before its ticker's next bar.
    """
    check_bars(bars, "bars")
    if not pd.api.types.is_integer_dtype(bars.index.dtype):
        raise DataValidationError("bars need an integer index to label inserted bars: use bars.reset_index(drop=True)")
    cut = as_cut(cut)
    drop = (bars["ts"] > cut).to_numpy() & (rng.random(len(bars)) < DROP_SHARE)
    inserted = _inserted_bars(bars, cut, rng)
    start = int(bars.index.max()) + 1 if len(bars) else 0
    inserted.index = pd.RangeIndex(start, start + len(inserted))
    key = np.r_[2 * np.flatnonzero(~drop), _insert_keys(bars, inserted)]
    merged = _concat([bars[~drop], inserted], ignore_index=False)
    stamps = _ns(merged["ts"])
    return merged.iloc[np.lexsort((stamps, key))]


def perturb_quotes(bars: pd.DataFrame, cut: Any, rng: np.random.Generator) -> pd.DataFrame:
    """``bars`` with the quote of a random share of the bars after ``cut`` blanked (bid, ask and sizes
    missing) where it was present, or filled (an uncrossed quote around the close) where any part of it
    was missing."""
    check_bars(bars, "bars")
    columns = [c for c in QUOTE_COLUMNS if c in bars]
    out = bars.copy()
    if not columns:
        return out
    flip = (bars["ts"] > as_cut(cut)).to_numpy() & (rng.random(len(bars)) < QUOTE_FLIP_SHARE)
    quoted = bars[columns].notna().all(axis=1).to_numpy()
    blank, fill = flip & quoted, flip & ~quoted
    close = bars["close"].to_numpy(dtype="float64")
    half_spread = rng.uniform(1e-4, 1e-3, len(bars))
    filled = {"bid": close * (1 - half_spread), "ask": close * (1 + half_spread),
              "bid_size": rng.integers(1, 1000, len(bars)).astype(float),
              "ask_size": rng.integers(1, 1000, len(bars)).astype(float)}
    for column in columns:
        values = bars[column].to_numpy(dtype="float64", na_value=np.nan, copy=True)
        values[blank] = np.nan
        values[fill] = filled[column][fill]  # the whole quote, so a half-present one cannot end up crossed
        out[column] = pd.Series(values, index=out.index).astype(bars[column].dtype)
    return out


def perturb_context(table: pd.DataFrame, cut: Any, rng: np.random.Generator, *, until: Any,
                    name: str = "context") -> pd.DataFrame:
    """A context table (every row with ``available_at``) with the rows published after ``cut`` changed:
    numeric values moved, a random share dropped, and copies of rows inserted with a publication time
    in (cut, max(until, the table's last ``available_at``)]. Rows are re-sorted by ``available_at`` when
    the table was sorted by it; the result has a fresh RangeIndex."""
    if not isinstance(table, pd.DataFrame):
        raise DataValidationError(f"context table {name!r} must be a pandas DataFrame, got {type(table).__name__}")
    require_columns(table, ["available_at"], f"context table {name!r}")
    if not isinstance(table["available_at"].dtype, pd.DatetimeTZDtype):
        raise DataValidationError(f"context table {name!r} column 'available_at' must hold tz-aware timestamps, "
                                  f"got dtype {table['available_at'].dtype}")
    cut = as_cut(cut)
    if table.empty:
        return table.reset_index(drop=True)
    after = (table["available_at"] > cut).to_numpy()
    moved = _moved_context(table, after, rng)
    n_new = int(rng.binomial(max(int(after.sum()), 1), INSERT_SHARE)) + 1
    copies = _moved_context(table.iloc[rng.integers(0, len(table), n_new)], np.ones(n_new, dtype=bool), rng)
    horizon = max(pd.Timestamp(until), table["available_at"].max())
    span = max((horizon - cut).value, 1)
    stamps = pd.to_datetime(cut.value + rng.integers(1, span + 1, n_new), utc=True)
    copies["available_at"] = pd.Series(stamps, index=copies.index).astype(table["available_at"].dtype)
    out = pd.concat([moved[~(after & (rng.random(len(table)) < DROP_SHARE))], copies], ignore_index=True)
    if table["available_at"].is_monotonic_increasing:
        out = out.sort_values("available_at", kind="stable", ignore_index=True)
    return out


def perturb_corporate_actions(actions: pd.DataFrame, cut: Any, rng: np.random.Generator,
                              bars: pd.DataFrame) -> pd.DataFrame:
    """``actions`` (``ticker, ex_date, split_ratio, cash_dividend``) with those whose ex-date is after the
    cut's session (New York date) changed: half removed, the rest with a new split ratio and dividend,
    and a new action for about half the tickers of ``bars``, most often in the next few sessions
    (the k-th next with probability 2^-k). New dividends are a small share of the ticker's last close
    at or before the cut, so the price factor ``1 - dividend / close`` stays positive."""
    if not isinstance(actions, pd.DataFrame):
        raise DataValidationError(f"corporate_actions must be a pandas DataFrame, got {type(actions).__name__}")
    require_columns(actions, ACTION_COLUMNS, "corporate_actions")
    cut = as_cut(cut)
    today = cut.tz_convert(EXCHANGE_TZ).date()
    ex = np.array([pd.Timestamp(d).date() > today for d in actions["ex_date"]], dtype=bool)
    keep = ~(ex & (rng.random(len(actions)) < ACTION_SHARE))
    out = actions.copy()
    changed = ex & keep
    ratio = out["split_ratio"].to_numpy(dtype="float64", copy=True)
    cash = out["cash_dividend"].to_numpy(dtype="float64", copy=True)
    ratio[changed] *= np.exp(rng.normal(0.0, 0.3, int(changed.sum())))
    cash[changed] *= rng.uniform(0.5, 1.5, int(changed.sum()))
    out["split_ratio"], out["cash_dividend"] = ratio, cash
    return _concat([out[keep], _new_actions(actions, bars, cut, today, rng)])


def check_bars(bars: pd.DataFrame, what: str) -> None:
    """Refuse what is not a bars frame with tz-aware ``ts``, ``ticker`` and prices."""
    if not isinstance(bars, pd.DataFrame):
        raise DataValidationError(f"{what} must be a pandas DataFrame, got {type(bars).__name__}")
    require_columns(bars, ("ts", "ticker", *PRICE_COLUMNS), what)
    if not isinstance(bars["ts"].dtype, pd.DatetimeTZDtype):
        raise DataValidationError(f"{what} column 'ts' must hold tz-aware timestamps, got dtype {bars['ts'].dtype}")


def as_cut(cut: Any) -> pd.Timestamp:
    """``cut`` as a tz-aware timestamp (a naive one is refused: its moment is ambiguous)."""
    cut = pd.Timestamp(cut)
    if cut.tzinfo is None:
        raise DataValidationError(f"cut {cut} has no timezone: pass a tz-aware timestamp")
    return cut


def _moved(bars: pd.DataFrame, rows: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """A copy of ``bars`` with the values of ``rows`` (a boolean mask) moved, bars kept valid."""
    out = bars.copy()
    n = int(rows.sum())

    def moved(column: str, sigma: float) -> np.ndarray:
        return bars[column].to_numpy(dtype="float64", na_value=np.nan)[rows] * np.exp(rng.normal(0.0, sigma, n))

    new = {"open": moved("open", _PRICE_SIGMA), "close": moved("close", _PRICE_SIGMA)}
    new["high"] = np.fmax(moved("high", _PRICE_SIGMA), np.fmax(new["open"], new["close"]))
    new["low"] = np.fmin(moved("low", _PRICE_SIGMA), np.fmin(new["open"], new["close"]))
    if "vwap" in bars:
        new["vwap"] = np.clip(moved("vwap", _PRICE_SIGMA), new["low"], new["high"])
    for column in ("volume", "trades", "bid_size", "ask_size"):
        if column in bars:
            new[column] = moved(column, _SIZE_SIGMA)
    if "bid" in bars and "ask" in bars:
        quote_move = np.exp(rng.normal(0.0, _PRICE_SIGMA, n))
        widen = 1.0 + rng.uniform(1e-4, 1e-2, n)  # ask/bid grows strictly, so bid < ask stays true
        new["bid"] = bars["bid"].to_numpy(dtype="float64", na_value=np.nan)[rows] * quote_move
        new["ask"] = bars["ask"].to_numpy(dtype="float64", na_value=np.nan)[rows] * quote_move * widen
    for column, values in new.items():
        original = bars[column]
        full = original.to_numpy(dtype="float64", na_value=np.nan, copy=True)
        full[rows] = values
        full[original.isna().to_numpy()] = np.nan
        if pd.api.types.is_integer_dtype(original.dtype):
            full = np.ceil(full)  # a positive count stays positive
        out[column] = pd.Series(full, index=out.index).astype(original.dtype)
    return out


def _concat(frames: list[pd.DataFrame], *, ignore_index: bool = True) -> pd.DataFrame:
    """``frames`` stacked, the empty ones left out (pandas warns on them), keeping the first's dtypes."""
    kept = [f for f in frames if len(f)] or frames[:1]
    out = pd.concat(kept, ignore_index=ignore_index)
    return out.astype(frames[0].dtypes.to_dict())


def _ns(stamps: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """UTC nanoseconds since the epoch as int64."""
    return pd.DatetimeIndex(stamps).tz_convert("UTC").as_unit("ns").asi8


def _future_minutes(bars: pd.DataFrame, cut: pd.Timestamp) -> np.ndarray:
    """Bar ends after ``cut`` (UTC ns): those of ``bars`` and of the NYSE sessions its dates span."""
    local = bars["ts"].dt.tz_convert(EXCHANGE_TZ)
    every = np.union1d(_ns(bars["ts"]), _calendar_minutes(local.min().date(), local.max().date()))
    return every[every > cut.value]


@lru_cache(maxsize=32)
def _calendar_minutes(first: dt.date, last: dt.date) -> np.ndarray:
    """Every NYSE bar end (UTC ns) of the sessions from ``first`` to ``last`` (cached: each cut asks)."""
    days = sessions(first, last)
    each = [_ns(bar_times(s.open, s.close)) for s in days.itertuples()]
    minutes = np.concatenate([np.zeros(0, dtype=np.int64), *each])
    minutes.setflags(write=False)  # shared by every caller of the cache
    return minutes


def _inserted_bars(bars: pd.DataFrame, cut: pd.Timestamp, rng: np.random.Generator) -> pd.DataFrame:
    """New bars after ``cut`` at free minutes of each ticker: copies of its nearest earlier bar, moved."""
    minutes = _future_minutes(bars, cut)
    stamps = _ns(bars["ts"])
    sources, times = [], []
    for positions in bars.groupby("ticker", sort=False, observed=True).indices.values():
        own = positions[np.argsort(stamps[positions], kind="stable")]
        free = np.setdiff1d(minutes, stamps[own])
        new = free[rng.random(len(free)) < INSERT_SHARE]
        nearest = np.maximum(np.searchsorted(stamps[own], new, side="right") - 1, 0)
        sources.append(own[nearest])
        times.append(new)
    source = np.concatenate(sources) if sources else np.zeros(0, dtype=np.int64)
    copies = bars.iloc[source].copy()
    ts = pd.to_datetime(np.concatenate(times) if times else np.zeros(0, dtype=np.int64), utc=True)
    copies["ts"] = pd.Series(ts, index=copies.index).dt.tz_convert(bars["ts"].dt.tz).astype(bars["ts"].dtype)
    return _moved(copies, np.ones(len(copies), dtype=bool), rng)


def _insert_keys(bars: pd.DataFrame, inserted: pd.DataFrame) -> np.ndarray:
    """Sort keys placing each inserted bar among the originals (whose keys are 2 × position)."""
    stamps, new = _ns(bars["ts"]), _ns(inserted["ts"])
    if bars["ts"].is_monotonic_increasing:
        return 2 * np.searchsorted(stamps, new, side="right") - 1
    keys = np.empty(len(inserted), dtype=np.int64)
    groups = bars.groupby("ticker", sort=False, observed=True).indices
    for ticker, rows in inserted.groupby("ticker", sort=False, observed=True).indices.items():
        own = groups[ticker]  # ascending positions, in time order within the ticker
        after = np.searchsorted(stamps[own], new[rows], side="right")
        keys[rows] = np.where(after < len(own), 2 * own[np.minimum(after, len(own) - 1)] - 1, 2 * own[-1] + 1)
    return keys


def _moved_context(table: pd.DataFrame, rows: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """A copy of ``table`` with the numeric values of ``rows`` moved (multiplicatively when a column is
    positive, so a level stays positive; else by a share of its spread)."""
    out = table.copy()
    n = int(rows.sum())
    for column in table.columns:
        dtype = table[column].dtype
        if column == "available_at" or not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            continue
        values = table[column].to_numpy(dtype="float64", na_value=np.nan, copy=True)
        known = values[~np.isnan(values)]
        if len(known) and (known > 0).all():
            values[rows] *= np.exp(rng.normal(0.0, _CONTEXT_SIGMA, n))
        else:
            scale = float(np.std(known)) if len(known) > 1 and np.std(known) > 0 else 1.0
            values[rows] += rng.normal(0.0, _CONTEXT_SIGMA * scale, n)
        if pd.api.types.is_integer_dtype(dtype):
            values = np.round(values)
        out[column] = pd.Series(values, index=out.index).astype(dtype)
    return out


def _new_actions(actions: pd.DataFrame, bars: pd.DataFrame, cut: pd.Timestamp, today: dt.date,
                 rng: np.random.Generator) -> pd.DataFrame:
    """New actions for about half the tickers of ``bars``, ex-dates k sessions after ``today`` (P = 2^-k)."""
    known = bars[bars["ts"] <= cut]
    last_close = known.groupby("ticker", observed=True)["close"].last()
    tickers = last_close.index[rng.random(len(last_close)) < ACTION_SHARE]
    n = len(tickers)
    upcoming = first_sessions(today + dt.timedelta(days=1), 30)["date"].to_numpy()
    ex = upcoming[np.minimum(rng.geometric(0.5, n) - 1, len(upcoming) - 1)]
    split = rng.random(n) < 0.5
    ratio = np.where(split, rng.choice([0.5, 1.5, 2.0, 3.0], n), 1.0)
    cash = np.where(split, 0.0, last_close.loc[tickers].to_numpy(dtype="float64") * rng.uniform(0.002, 0.02, n))
    if pd.api.types.is_datetime64_any_dtype(actions["ex_date"].dtype):
        ex_dates: Any = pd.Series(pd.to_datetime(ex)).astype(actions["ex_date"].dtype)
    else:
        ex_dates = list(ex)
    added = pd.DataFrame({"ticker": list(tickers), "ex_date": ex_dates, "split_ratio": ratio, "cash_dividend": cash})
    for column in ACTION_COLUMNS:
        added[column] = added[column].astype(actions[column].dtype)
    return added
