"""Volatility: Bollinger %B and width (SMA, population std, as TA-Lib), ATR / close (Wilder, as
TA-Lib) and realized volatility of intraday one-bar log returns.

Session boundaries: Bollinger and ATR carry across sessions (the bar series is continuous, the true
range of the open includes the gap); realized volatility uses intraday returns only (the first bar of a
session contributes close/open), so the overnight gap does not inflate it. Halts and missing
minutes: windows count bars. Splits/dividends: stored closes and ranges are rescaled on the ex-date
(Bollinger's window is then re-summed afresh).
"""

from __future__ import annotations

from typing import ClassVar

import numba as nb
import numpy as np

from workbench.features._rows import Rows
from workbench.features._universe import FeatureUniverse
from workbench.features.families._base import Family, State
from workbench.features.families._rolling import rescale_nb, resum_nb, stale_nb, step_nb


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _bollinger_nb(ticker, pf, close, period, nbdev, ring, count, pos, sums, center, budget, out,
                  raw):  # pragma: no cover - numba
    """Rolling mean and population std of ``period`` closes from sums about a window value (see
    ``_rolling``), so a tiny std on a large price keeps its digits; %B and width come from the
    deviation ``close - mean`` and the std directly, never from differences of the bands.

    ``raw``: write (upper, middle, lower) instead of (%B, width).
    """
    inv_period = 1.0 / period
    half_band = 0.5 / nbdev
    cur, s1, s2, c, b, seen, p = -1, 0.0, 0.0, 0.0, 0.0, 0, 0  # the current ticker's state, in registers
    for r in range(len(ticker)):
        i = ticker[r]
        if i != cur:
            if cur >= 0:
                sums[cur, 0], sums[cur, 1], center[cur], budget[cur], count[cur], pos[cur] = s1, s2, c, b, seen, p
            cur, s1, s2, c, b, seen, p = i, sums[i, 0], sums[i, 1], center[i], budget[i], count[i], pos[i]
        if pf[r] != 1.0:
            s1, s2, c, b = rescale_nb(ring, i, seen, p, pf[r])
        x = close[r]
        s1, s2, c, b = step_nb(s1, s2, c, b, seen, period, ring[i, p], x)
        ring[i, p] = x
        p = p + 1 if p + 1 < period else 0
        seen += 1
        if p == i % period or stale_nb(s1, s2, b, seen, period):  # once per turn, or when rounding caught up
            c = x
            s1, s2 = resum_nb(ring, i, seen, c)
            b = 0.0
        if seen < period:
            for j in range(out.shape[1]):
                out[r, j] = np.nan
            continue
        offset = s1 * inv_period  # mean - center
        var = (s2 - s1 * offset) * inv_period
        std = np.sqrt(var) if var > 0.0 else 0.0
        mean = c + offset
        if raw:
            out[r, 0] = mean + nbdev * std
            out[r, 1] = mean
            out[r, 2] = mean - nbdev * std
        else:  # (x - lower) / (upper - lower) = (x - mean) / (2 nbdev std) + 1/2
            out[r, 0] = ((x - c) - offset) * half_band / std + 0.5 if std > 0.0 else np.nan
            out[r, 1] = 2.0 * nbdev * std / mean
    if cur >= 0:
        sums[cur, 0], sums[cur, 1], center[cur], budget[cur], count[cur], pos[cur] = s1, s2, c, b, seen, p


class Bollinger(Family):
    """``bb_pctb_n`` = (close - lower) / (upper - lower); ``bb_width_n`` = (upper - lower) / middle."""

    kind: ClassVar[str] = "bollinger"
    param_defaults = {"period": 20, "nbdev": 2.0}

    def validate(self) -> None:
        self._positive_int("period", 2)
        if not float(self.params["nbdev"]) > 0:
            raise ValueError(f"feature 'bollinger': nbdev must be > 0, got {self.params['nbdev']!r}")

    @property
    def columns(self) -> tuple[str, ...]:
        n = self.params["period"]
        return (f"bb_pctb_{n}", f"bb_width_{n}")

    def new_state(self, universe: FeatureUniverse) -> State:
        n = universe.n
        return {"ring": np.zeros((n, self.params["period"])), "count": np.zeros(n, dtype=np.int64),
                "pos": np.zeros(n, dtype=np.int64), "sums": np.zeros((n, 2)), "center": np.zeros(n),
                "budget": np.zeros(n)}

    def run(self, rows: Rows, state: State, out: np.ndarray, raw: bool = False) -> None:
        _bollinger_nb(rows.ticker, rows.price_factor, rows.close, self.params["period"], float(self.params["nbdev"]),
                      state["ring"], state["count"], state["pos"], state["sums"], state["center"], state["budget"],
                      out, raw)


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _atr_nb(ticker, pf, high, low, close, period, count, prev, atr, out, normalize):  # pragma: no cover
    """Wilder ATR as TA-Lib: true ranges from the second bar, seeded with their mean over ``period``."""
    cur, n, last, average = -1, 0, np.nan, 0.0  # the current ticker's state, in registers
    for r in range(len(ticker)):
        i = ticker[r]
        if i != cur:
            if cur >= 0:
                count[cur], prev[cur], atr[cur] = n, last, average
            cur, n, last, average = i, count[i], prev[i], atr[i]
        if pf[r] != 1.0:
            last *= pf[r]
            average *= pf[r]
        out[r, 0] = np.nan
        if not np.isnan(last):
            tr = max(high[r] - low[r], abs(high[r] - last), abs(low[r] - last))
            if n < period:
                average += tr
                if n + 1 == period:
                    average /= period
            else:
                average = (average * (period - 1) + tr) / period
            n += 1
            if n >= period:
                out[r, 0] = average / close[r] if normalize else average
        last = close[r]
    if cur >= 0:
        count[cur], prev[cur], atr[cur] = n, last, average


class ATR(Family):
    """``atr_n_n``: average true range (Wilder) divided by close."""

    kind: ClassVar[str] = "atr"
    param_defaults = {"period": 14}

    def validate(self) -> None:
        self._positive_int("period", 2)

    @property
    def columns(self) -> tuple[str, ...]:
        return (f"atr_n_{self.params['period']}",)

    def new_state(self, universe: FeatureUniverse) -> State:
        n = universe.n
        return {"count": np.zeros(n, dtype=np.int64), "prev": np.full(n, np.nan), "atr": np.zeros(n)}

    def run(self, rows: Rows, state: State, out: np.ndarray, normalize: bool = True) -> None:
        _atr_nb(rows.ticker, rows.price_factor, rows.high, rows.low, rows.close, self.params["period"],
                state["count"], state["prev"], state["atr"], out, normalize)


@nb.njit(cache=True, nogil=True, error_model="numpy", inline="always")  # inlined: a call per row costs ~15 ns
def intraday_return_nb(r, new_session, log_open, log_close, prev_log_close):  # pragma: no cover - numba
    """One-bar log return within the session: vs the previous close, or vs the open on a session's first bar."""
    if new_session[r] or np.isnan(prev_log_close):
        return log_close[r] - log_open[r]
    return log_close[r] - prev_log_close


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _realized_vol_nb(ticker, pf, new_session, log_open, log_close, window, prev, ring, count, pos, total,
                     out):  # pragma: no cover - numba
    """sqrt(sum of squared intraday one-bar log returns over the last ``window`` bars); ``prev`` holds
    each ticker's last log close."""
    cur, last, acc, seen, p = -1, np.nan, 0.0, 0, 0  # the current ticker's state, in registers
    for r in range(len(ticker)):
        i = ticker[r]
        if i != cur:
            if cur >= 0:
                prev[cur], total[cur], count[cur], pos[cur] = last, acc, seen, p
            cur, last, acc, seen, p = i, prev[i], total[i], count[i], pos[i]
        if pf[r] != 1.0:
            last += np.log(pf[r])
        ret = intraday_return_nb(r, new_session, log_open, log_close, last)
        last = log_close[r]
        sq = ret * ret
        if seen >= window:
            acc -= ring[i, p]
        ring[i, p] = sq
        acc += sq
        p = p + 1 if p + 1 < window else 0
        seen += 1
        if p == i % window:  # once per turn, at a ticker-dependent position: re-sum exactly
            acc = 0.0
            for k in range(window):
                acc += ring[i, k]
        out[r, 0] = np.sqrt(max(acc, 0.0)) if seen >= window else np.nan
    if cur >= 0:
        prev[cur], total[cur], count[cur], pos[cur] = last, acc, seen, p


class RealizedVol(Family):
    """``rv_w``: realized volatility over the last ``window`` bars (not annualized)."""

    kind: ClassVar[str] = "realized_vol"
    param_defaults = {"window": 15}

    def validate(self) -> None:
        self._positive_int("window", 2)

    @property
    def columns(self) -> tuple[str, ...]:
        return (f"rv_{self.params['window']}",)

    def new_state(self, universe: FeatureUniverse) -> State:
        n = universe.n
        return {"prev": np.full(n, np.nan), "ring": np.zeros((n, self.params["window"])),
                "count": np.zeros(n, dtype=np.int64), "pos": np.zeros(n, dtype=np.int64), "total": np.zeros(n)}

    def run(self, rows: Rows, state: State, out: np.ndarray) -> None:
        _realized_vol_nb(rows.ticker, rows.price_factor, rows.new_session, rows.log_open, rows.log_close,
                         self.params["window"], state["prev"], state["ring"], state["count"], state["pos"],
                         state["total"], out)
