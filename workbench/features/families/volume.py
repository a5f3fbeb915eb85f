"""Volume: OBV slope z-score, volume z-score against the same minute of past sessions, and the
deviation of the close from the session VWAP.

Session boundaries: OBV carries (TA-Lib's running sum); the minute-of-day volume statistics are
per minute of session across sessions (half days use their own first 210 minutes); the session VWAP
resets at each session's first bar. Halts and missing minutes: OBV windows count bars; a missing
minute simply adds no observation to its minute-of-day statistics. Splits: volumes in state are
multiplied by the split ratio (log volumes shifted by its log) on the ex-date.
"""

from __future__ import annotations

from typing import ClassVar

import numba as nb
import numpy as np

from workbench.features._rows import Rows
from workbench.features._universe import FeatureUniverse
from workbench.features.families._base import Family, State
from workbench.features.families._rolling import rescale_nb, resum_nb, stale_nb, step_nb

MINUTES_PER_SESSION = 390


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _obv_z_nb(ticker, pf, vf, close, volume, window, prev, obv, ring, count, pos, sums, center, budget, out,
              raw):  # pragma: no cover - numba
    """OBV (TA-Lib: starts at the first volume) and the t-statistic of its last ``window`` increments,
    from sums about a window value (see ``_rolling``) so steady volumes keep their small spread.

    ``raw``: write OBV itself instead of the z-score.
    """
    inv_window = 1.0 / window
    root_dof = np.sqrt(window - 1.0)
    cur, last, level, s1, s2, c, b, seen, p = -1, np.nan, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0  # state in registers
    for r in range(len(ticker)):
        i = ticker[r]
        if i != cur:
            if cur >= 0:
                prev[cur], obv[cur], sums[cur, 0], sums[cur, 1], center[cur], budget[cur], count[cur], pos[cur] = (
                    last, level, s1, s2, c, b, seen, p)
            cur, last, level, s1, s2, c, b, seen, p = (i, prev[i], obv[i], sums[i, 0], sums[i, 1], center[i],
                                                       budget[i], count[i], pos[i])
        if pf[r] != 1.0:
            last *= pf[r]
        if vf[r] != 1.0:
            level *= vf[r]
            s1, s2, c, b = rescale_nb(ring, i, seen, p, vf[r])
        price = close[r]
        v = volume[r]
        if np.isnan(last):
            step = np.nan
            level = v
        else:
            step = v if price > last else (-v if price < last else 0.0)
            level += step
        last = price
        if raw:
            out[r, 0] = level
            continue
        out[r, 0] = np.nan
        if np.isnan(step):
            continue
        s1, s2, c, b = step_nb(s1, s2, c, b, seen, window, ring[i, p], step)
        ring[i, p] = step
        p = p + 1 if p + 1 < window else 0
        seen += 1
        if p == i % window or stale_nb(s1, s2, b, seen, window):  # once per turn, or when rounding caught up
            c = step
            s1, s2 = resum_nb(ring, i, seen, c)
            b = 0.0
        if seen >= window:  # t = mean / (sd / sqrt(w)), sd the sample std: mean * sqrt(w (w - 1) / m2)
            m2 = s2 - s1 * s1 * inv_window
            if m2 > 0.0:
                out[r, 0] = (c + s1 * inv_window) * root_dof * np.sqrt(window / m2)
    if cur >= 0:
        prev[cur], obv[cur], sums[cur, 0], sums[cur, 1], center[cur], budget[cur], count[cur], pos[cur] = (
            last, level, s1, s2, c, b, seen, p)


class OBVZ(Family):
    """``obv_z_w``: t-statistic of the last ``window`` OBV increments (signed volumes) — OBV's slope in
    units of its own noise, comparable across tickers."""

    kind: ClassVar[str] = "obv_z"
    param_defaults = {"window": 20}

    def validate(self) -> None:
        self._positive_int("window", 3)

    @property
    def columns(self) -> tuple[str, ...]:
        return (f"obv_z_{self.params['window']}",)

    def new_state(self, universe: FeatureUniverse) -> State:
        n = universe.n
        return {"prev": np.full(n, np.nan), "obv": np.zeros(n), "ring": np.zeros((n, self.params["window"])),
                "count": np.zeros(n, dtype=np.int64), "pos": np.zeros(n, dtype=np.int64), "sums": np.zeros((n, 2)),
                "center": np.zeros(n), "budget": np.zeros(n)}

    def run(self, rows: Rows, state: State, out: np.ndarray, raw: bool = False) -> None:
        _obv_z_nb(rows.ticker, rows.price_factor, rows.volume_factor, rows.close, rows.volume,
                  self.params["window"], state["prev"], state["obv"], state["ring"], state["count"], state["pos"],
                  state["sums"], state["center"], state["budget"], out, raw)


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _volume_z_tod_nb(ticker, vf, minute_of_session, log1p_volume, alpha, min_sessions, stats,
                     out):  # pragma: no cover - numba
    """z of log(1 + volume) against the EW mean/variance of the same minute in past sessions, then update.

    stats[i, m] = (mean, variance, sessions seen) for minute-of-session m.
    """
    for r in range(len(ticker)):
        i = ticker[r]
        if vf[r] != 1.0:
            shift = np.log(vf[r])
            for m in range(stats.shape[1]):
                stats[i, m, 0] += shift
        m = minute_of_session[r] - 1
        x = log1p_volume[r]
        seen = stats[i, m, 2]
        var = stats[i, m, 1]
        out[r, 0] = (x - stats[i, m, 0]) / np.sqrt(var) if seen >= min_sessions and var > 0.0 else np.nan
        if seen == 0.0:
            stats[i, m, 0] = x
            stats[i, m, 1] = 0.0
        else:
            delta = x - stats[i, m, 0]
            stats[i, m, 0] += alpha * delta
            stats[i, m, 1] = (1.0 - alpha) * (var + alpha * delta * delta)
        stats[i, m, 2] = seen + 1.0


class VolumeZTimeOfDay(Family):
    """``volume_z_tod``: today's volume at this minute vs the same minute over past sessions
    (exponentially weighted with span ``span_sessions``; NaN until ``min_sessions`` were seen)."""

    kind: ClassVar[str] = "volume_z_tod"
    param_defaults = {"span_sessions": 20, "min_sessions": 5}

    def validate(self) -> None:
        self._positive_int("span_sessions", 2)
        self._positive_int("min_sessions", 2)

    @property
    def columns(self) -> tuple[str, ...]:
        return ("volume_z_tod",)

    def new_state(self, universe: FeatureUniverse) -> State:
        return {"stats": np.zeros((universe.n, MINUTES_PER_SESSION, 3))}

    def run(self, rows: Rows, state: State, out: np.ndarray) -> None:
        alpha = 2.0 / (self.params["span_sessions"] + 1.0)
        _volume_z_tod_nb(rows.ticker, rows.volume_factor, rows.minute_of_session, rows.log1p_volume, alpha,
                         float(self.params["min_sessions"]), state["stats"], out)


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _vwap_dev_nb(ticker, new_session, high, low, close, volume, vwap, sums, out):  # pragma: no cover - numba
    """close / session VWAP - 1, the session VWAP accumulated from each bar's VWAP (typical price if absent)."""
    cur, value, size = -1, 0.0, 0.0  # the current ticker's state, in registers
    for r in range(len(ticker)):
        i = ticker[r]
        if i != cur:
            if cur >= 0:
                sums[cur, 0], sums[cur, 1] = value, size
            cur, value, size = i, sums[i, 0], sums[i, 1]
        if new_session[r]:
            value = 0.0
            size = 0.0
        price = vwap[r] if not np.isnan(vwap[r]) else (high[r] + low[r] + close[r]) / 3.0
        value += price * volume[r]
        size += volume[r]
        out[r, 0] = close[r] / (value / size) - 1.0 if size > 0.0 else np.nan
    if cur >= 0:
        sums[cur, 0], sums[cur, 1] = value, size


class VWAPDeviation(Family):
    """``vwap_dev``: close relative to the session's volume-weighted average price so far."""

    kind: ClassVar[str] = "vwap_dev"

    @property
    def columns(self) -> tuple[str, ...]:
        return ("vwap_dev",)

    def new_state(self, universe: FeatureUniverse) -> State:
        return {"sums": np.zeros((universe.n, 2))}

    def run(self, rows: Rows, state: State, out: np.ndarray) -> None:
        _vwap_dev_nb(rows.ticker, rows.new_session, rows.high, rows.low, rows.close, rows.volume, rows.vwap,
                     state["sums"], out)
