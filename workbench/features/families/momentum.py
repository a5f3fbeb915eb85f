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


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _lagged_close_nb(ticker, pf, values, lags, ring, count, pos, out, as_roc):  # pragma: no cover - numba
    """out[r, j] = log close minus the log close lags[j] bars ago (``values`` = log closes), or TA-Lib
    ROC in % (``values`` = closes, TA-Lib's exact division). The ring holds past ``values``."""
    depth = ring.shape[1]
    cur, seen, p = -1, 0, 0  # the current ticker's count and ring position, kept in registers
    for r in range(len(ticker)):
        i = ticker[r]
        if i != cur:
            if cur >= 0:
                count[cur], pos[cur] = seen, p
            cur, seen, p = i, count[i], pos[i]
        if pf[r] != 1.0:
            if as_roc:
                ring[i, :] *= pf[r]
            else:
                ring[i, :] += np.log(pf[r])
        x = values[r]
        for j in range(len(lags)):
            k = lags[j]
            if seen >= k:
                past = ring[i, p - k if p >= k else p - k + depth]
                out[r, j] = (x / past - 1.0) * 100.0 if as_roc else x - past
            else:
                out[r, j] = np.nan
        ring[i, p] = x
        p = p + 1 if p + 1 < depth else 0
        seen += 1
    if cur >= 0:
        count[cur], pos[cur] = seen, p


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
        _lagged_close_nb(rows.ticker, rows.price_factor, rows.log_close, lags, state["ring"], state["count"],
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


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _rsi_nb(ticker, pf, close, period, count, prev, avg_gain, avg_loss, out):  # pragma: no cover - numba
    """Wilder RSI as TA-Lib: seed with the mean gain/loss of the first ``period`` changes."""
    cur, n, last, gains, losses = -1, 0, np.nan, 0.0, 0.0  # the current ticker's state, in registers
    for r in range(len(ticker)):
        i = ticker[r]
        if i != cur:
            if cur >= 0:
                count[cur], prev[cur], avg_gain[cur], avg_loss[cur] = n, last, gains, losses
            cur, n, last, gains, losses = i, count[i], prev[i], avg_gain[i], avg_loss[i]
        if pf[r] != 1.0:
            last *= pf[r]
            gains *= pf[r]
            losses *= pf[r]
        c = close[r]
        out[r, 0] = np.nan
        if not np.isnan(last):  # n = changes seen before this bar
            change = c - last
            gain = change if change > 0.0 else 0.0
            loss = -change if change < 0.0 else 0.0
            if n < period:
                gains += gain
                losses += loss
                if n + 1 == period:
                    gains /= period
                    losses /= period
            else:
                gains = (gains * (period - 1) + gain) / period
                losses = (losses * (period - 1) + loss) / period
            n += 1
            if n >= period:
                total = gains + losses
                out[r, 0] = 100.0 * gains / total if total != 0.0 else 0.0
        last = c
    if cur >= 0:
        count[cur], prev[cur], avg_gain[cur], avg_loss[cur] = n, last, gains, losses


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


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _macd_nb(ticker, pf, close, fast, slow, signal, count, sums, emas, out, normalize):  # pragma: no cover
    """MACD as TA-Lib: the slow EMA seeded with the SMA of the first ``slow`` closes, the fast EMA with
    the SMA of the ``fast`` closes ending there, the signal with the SMA of the first ``signal`` MACDs.

    sums[i] = (slow seed, fast seed, signal seed); emas[i] = (fast, slow, signal).
    """
    k_fast = 2.0 / (fast + 1)
    k_slow = 2.0 / (slow + 1)
    k_signal = 2.0 / (signal + 1)
    cur, c = -1, 0
    slow_seed, fast_seed, signal_seed, ema_fast, ema_slow, ema_signal = 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    for r in range(len(ticker)):
        i = ticker[r]
        if i != cur:  # keep the current ticker's state in registers
            if cur >= 0:
                count[cur] = c
                sums[cur, 0], sums[cur, 1], sums[cur, 2] = slow_seed, fast_seed, signal_seed
                emas[cur, 0], emas[cur, 1], emas[cur, 2] = ema_fast, ema_slow, ema_signal
            cur, c = i, count[i]
            slow_seed, fast_seed, signal_seed = sums[i, 0], sums[i, 1], sums[i, 2]
            ema_fast, ema_slow, ema_signal = emas[i, 0], emas[i, 1], emas[i, 2]
        if pf[r] != 1.0:
            slow_seed *= pf[r]
            fast_seed *= pf[r]
            signal_seed *= pf[r]
            ema_fast *= pf[r]
            ema_slow *= pf[r]
            ema_signal *= pf[r]
        x = close[r]
        c += 1
        out[r, 0] = np.nan
        out[r, 1] = np.nan
        out[r, 2] = np.nan
        if c <= slow:
            slow_seed += x
            if c > slow - fast:
                fast_seed += x
            if c < slow:
                continue
            ema_slow = slow_seed / slow
            ema_fast = fast_seed / fast
        else:
            ema_fast += (x - ema_fast) * k_fast
            ema_slow += (x - ema_slow) * k_slow
        line = ema_fast - ema_slow
        m = c - slow + 1  # MACD values so far, this one included
        if m < signal:
            signal_seed += line
            continue
        if m == signal:
            ema_signal = (signal_seed + line) / signal
        else:
            ema_signal += (line - ema_signal) * k_signal
        scale = x if normalize else 1.0
        out[r, 0] = line / scale
        out[r, 1] = ema_signal / scale
        out[r, 2] = (line - ema_signal) / scale
    if cur >= 0:
        count[cur] = c
        sums[cur, 0], sums[cur, 1], sums[cur, 2] = slow_seed, fast_seed, signal_seed
        emas[cur, 0], emas[cur, 1], emas[cur, 2] = ema_fast, ema_slow, ema_signal


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
