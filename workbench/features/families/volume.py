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
from workbench.features.families._rolling import push_with_squares_nb

MINUTES_PER_SESSION = 390


@nb.njit(cache=True)
def _obv_z_nb(ticker, pf, vf, close, volume, window, prev, obv, ring, count, pos, sums, out,
              raw):  # pragma: no cover - numba
    """OBV (TA-Lib: starts at the first volume) and the t-statistic of its last ``window`` increments.

    ``raw``: write OBV itself instead of the z-score.
    """
    for r in range(len(ticker)):
        i = ticker[r]
        if pf[r] != 1.0:
            prev[i] *= pf[r]
        if vf[r] != 1.0:
            obv[i] *= vf[r]
            ring[i, :] *= vf[r]
            sums[i, 0] *= vf[r]
            sums[i, 1] *= vf[r] * vf[r]
        c = close[r]
        v = volume[r]
        if np.isnan(prev[i]):
            step = np.nan
            obv[i] = v
        else:
            step = v if c > prev[i] else (-v if c < prev[i] else 0.0)
            obv[i] += step
        prev[i] = c
        if raw:
            out[r, 0] = obv[i]
            continue
        out[r, 0] = np.nan
        if np.isnan(step):
            continue
        push_with_squares_nb(ring, sums, count, pos, i, step)
        if count[i] >= window:
            mean = sums[i, 0] / window
            var = (sums[i, 1] - window * mean * mean) / (window - 1)
            if var > 1e-12 * (sums[i, 1] / window + 1e-300):
                out[r, 0] = mean / np.sqrt(var) * np.sqrt(window)


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
                "count": np.zeros(n, dtype=np.int64), "pos": np.zeros(n, dtype=np.int64), "sums": np.zeros((n, 2))}

    def run(self, rows: Rows, state: State, out: np.ndarray, raw: bool = False) -> None:
        _obv_z_nb(rows.ticker, rows.price_factor, rows.volume_factor, rows.close, rows.volume,
                  self.params["window"], state["prev"], state["obv"], state["ring"], state["count"], state["pos"],
                  state["sums"], out, raw)


@nb.njit(cache=True)
def _volume_z_tod_nb(ticker, vf, minute_of_session, volume, alpha, min_sessions, stats,
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
        x = np.log1p(volume[r])
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
        _volume_z_tod_nb(rows.ticker, rows.volume_factor, rows.minute_of_session, rows.volume, alpha,
                         float(self.params["min_sessions"]), state["stats"], out)


@nb.njit(cache=True)
def _vwap_dev_nb(ticker, new_session, high, low, close, volume, vwap, sums, out):  # pragma: no cover - numba
    """close / session VWAP - 1, the session VWAP accumulated from each bar's VWAP (typical price if absent)."""
    for r in range(len(ticker)):
        i = ticker[r]
        if new_session[r]:
            sums[i, 0] = 0.0
            sums[i, 1] = 0.0
        price = vwap[r] if not np.isnan(vwap[r]) else (high[r] + low[r] + close[r]) / 3.0
        sums[i, 0] += price * volume[r]
        sums[i, 1] += volume[r]
        out[r, 0] = close[r] / (sums[i, 0] / sums[i, 1]) - 1.0 if sums[i, 1] > 0.0 else np.nan


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
