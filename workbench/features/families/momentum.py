"""Momentum: log returns over k bars, rate of change, RSI (Wilder) and MACD (TA-Lib seeding).

Session boundaries: carried — the bar series of a ticker is continuous, so a return over k bars
may span the overnight gap (that gap is information at the open). Halts and missing minutes: windows
count bars, not minutes; nothing is filled. Splits and dividends: stored prices and averages are
multiplied by the ex-date price factor before the first bar of the ex-date, so no fake jump appears.
"""

from __future__ import annotations

from typing import ClassVar

import numba as nb
import numpy as np

from workbench.features._rows import Rows
from workbench.features._universe import FeatureUniverse
from workbench.features.families._base import Family, State


@nb.njit(cache=True)
def _lagged_close_nb(ticker, pf, close, lags, ring, count, pos, out, as_roc):  # pragma: no cover - numba
    """out[r, j] = log(close / close lags[j] bars ago), or TA-Lib ROC in %. The ring holds past log closes
    (one log per bar, differences per lag) or, for ROC, past closes (TA-Lib's exact division)."""
    depth = ring.shape[1]
    for r in range(len(ticker)):
        i = ticker[r]
        if pf[r] != 1.0:
            if as_roc:
                ring[i, :] *= pf[r]
            else:
                ring[i, :] += np.log(pf[r])
        x = close[r] if as_roc else np.log(close[r])
        p = pos[i]
        for j in range(len(lags)):
            k = lags[j]
            if count[i] >= k:
                past = ring[i, p - k if p >= k else p - k + depth]
                out[r, j] = (x / past - 1.0) * 100.0 if as_roc else x - past
            else:
                out[r, j] = np.nan
        ring[i, p] = x
        pos[i] = p + 1 if p + 1 < depth else 0
        count[i] += 1


class LogReturn(Family):
    """``ret_k``: log(close_t / close_{t-k}) for each k in ``periods``."""

    kind: ClassVar[str] = "log_return"
    param_defaults = {"periods": (1, 5, 15, 30)}
    semantics = __doc__ or ""

    def validate(self) -> None:
        periods = self.params["periods"]
        if not periods or any(not isinstance(p, int) or p < 1 for p in periods):
            raise ValueError(f"feature 'log_return': periods must be positive integers, got {periods!r}")

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f"ret_{p}" for p in self.params["periods"])

    def new_state(self, universe: FeatureUniverse) -> State:
        depth = max(self.params["periods"])
        return {"ring": np.full((universe.n, depth), np.nan), "count": np.zeros(universe.n, dtype=np.int64),
                "pos": np.zeros(universe.n, dtype=np.int64)}

    def run(self, rows: Rows, state: State, out: np.ndarray) -> None:
        lags = np.asarray(self.params["periods"], dtype=np.int64)
        _lagged_close_nb(rows.ticker, rows.price_factor, rows.close, lags, state["ring"], state["count"],
                         state["pos"], out, False)


class RateOfChange(Family):
    """``roc_n``: TA-Lib ROC, (close_t / close_{t-n} - 1) * 100."""

    kind: ClassVar[str] = "roc"
    param_defaults = {"period": 10}

    def validate(self) -> None:
        self._positive_int("period")

    @property
    def columns(self) -> tuple[str, ...]:
        return (f"roc_{self.params['period']}",)

    def new_state(self, universe: FeatureUniverse) -> State:
        return {"ring": np.full((universe.n, self.params["period"]), np.nan),
                "count": np.zeros(universe.n, dtype=np.int64), "pos": np.zeros(universe.n, dtype=np.int64)}

    def run(self, rows: Rows, state: State, out: np.ndarray) -> None:
        lags = np.array([self.params["period"]], dtype=np.int64)
        _lagged_close_nb(rows.ticker, rows.price_factor, rows.close, lags, state["ring"], state["count"],
                         state["pos"], out, True)


@nb.njit(cache=True)
def _rsi_nb(ticker, pf, close, period, count, prev, avg_gain, avg_loss, out):  # pragma: no cover - numba
    """Wilder RSI as TA-Lib: seed with the mean gain/loss of the first ``period`` changes."""
    for r in range(len(ticker)):
        i = ticker[r]
        if pf[r] != 1.0:
            prev[i] *= pf[r]
            avg_gain[i] *= pf[r]
            avg_loss[i] *= pf[r]
        c = close[r]
        out[r, 0] = np.nan
        n = count[i]  # changes seen before this bar
        if n >= 0 and not np.isnan(prev[i]):
            change = c - prev[i]
            gain = change if change > 0.0 else 0.0
            loss = -change if change < 0.0 else 0.0
            if n < period:
                avg_gain[i] += gain
                avg_loss[i] += loss
                if n + 1 == period:
                    avg_gain[i] /= period
                    avg_loss[i] /= period
            else:
                avg_gain[i] = (avg_gain[i] * (period - 1) + gain) / period
                avg_loss[i] = (avg_loss[i] * (period - 1) + loss) / period
            count[i] = n + 1
            if n + 1 >= period:
                total = avg_gain[i] + avg_loss[i]
                out[r, 0] = 100.0 * avg_gain[i] / total if total != 0.0 else 0.0
        prev[i] = c


class RSI(Family):
    """``rsi_n``: relative strength index with Wilder smoothing, in [0, 100]."""

    kind: ClassVar[str] = "rsi"
    param_defaults = {"period": 14}

    def validate(self) -> None:
        self._positive_int("period", 2)

    @property
    def columns(self) -> tuple[str, ...]:
        return (f"rsi_{self.params['period']}",)

    def new_state(self, universe: FeatureUniverse) -> State:
        n = universe.n
        return {"count": np.zeros(n, dtype=np.int64), "prev": np.full(n, np.nan), "avg_gain": np.zeros(n),
                "avg_loss": np.zeros(n)}

    def run(self, rows: Rows, state: State, out: np.ndarray) -> None:
        _rsi_nb(rows.ticker, rows.price_factor, rows.close, self.params["period"], state["count"], state["prev"],
                state["avg_gain"], state["avg_loss"], out)


@nb.njit(cache=True)
def _macd_nb(ticker, pf, close, fast, slow, signal, count, sums, emas, out, normalize):  # pragma: no cover
    """MACD as TA-Lib: the slow EMA seeded with the SMA of the first ``slow`` closes, the fast EMA with
    the SMA of the ``fast`` closes ending there, the signal with the SMA of the first ``signal`` MACDs.

    sums[i] = (slow seed, fast seed, signal seed); emas[i] = (fast, slow, signal).
    """
    k_fast = 2.0 / (fast + 1)
    k_slow = 2.0 / (slow + 1)
    k_signal = 2.0 / (signal + 1)
    for r in range(len(ticker)):
        i = ticker[r]
        if pf[r] != 1.0:
            sums[i, :] *= pf[r]
            emas[i, :] *= pf[r]
        x = close[r]
        c = count[i] + 1
        count[i] = c
        out[r, 0] = np.nan
        out[r, 1] = np.nan
        out[r, 2] = np.nan
        if c <= slow:
            sums[i, 0] += x
            if c > slow - fast:
                sums[i, 1] += x
            if c < slow:
                continue
            emas[i, 1] = sums[i, 0] / slow
            emas[i, 0] = sums[i, 1] / fast
        else:
            emas[i, 0] += (x - emas[i, 0]) * k_fast
            emas[i, 1] += (x - emas[i, 1]) * k_slow
        line = emas[i, 0] - emas[i, 1]
        m = c - slow + 1  # MACD values so far, this one included
        if m < signal:
            sums[i, 2] += line
            continue
        if m == signal:
            emas[i, 2] = (sums[i, 2] + line) / signal
        else:
            emas[i, 2] += (line - emas[i, 2]) * k_signal
        scale = x if normalize else 1.0
        out[r, 0] = line / scale
        out[r, 1] = emas[i, 2] / scale
        out[r, 2] = (line - emas[i, 2]) / scale


class MACD(Family):
    """``macd_n``, ``macd_signal_n``, ``macd_hist_n``: MACD line, signal and histogram divided by close."""

    kind: ClassVar[str] = "macd"
    param_defaults = {"fast": 12, "slow": 26, "signal": 9}

    def validate(self) -> None:
        fast, slow = self._positive_int("fast", 2), self._positive_int("slow", 2)
        self._positive_int("signal", 1)
        if fast >= slow:
            raise ValueError(f"feature 'macd': fast ({fast}) must be shorter than slow ({slow})")

    @property
    def columns(self) -> tuple[str, ...]:
        return ("macd_n", "macd_signal_n", "macd_hist_n")

    def new_state(self, universe: FeatureUniverse) -> State:
        n = universe.n
        return {"count": np.zeros(n, dtype=np.int64), "sums": np.zeros((n, 3)), "emas": np.zeros((n, 3))}

    def run(self, rows: Rows, state: State, out: np.ndarray, normalize: bool = True) -> None:
        p = self.params
        _macd_nb(rows.ticker, rows.price_factor, rows.close, p["fast"], p["slow"], p["signal"], state["count"],
                 state["sums"], state["emas"], out, normalize)
