"""Classic indicators on one price series, equal to TA-Lib's definitions (Wilder smoothing for RSI
and ATR, TA-Lib's EMA seeding for MACD, population std for Bollinger), NaN during warm-up.

Each runs the same kernel as the catalog feature of that name, so the TA-Lib tests vouch for the
features the models see.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.features._rows import Rows
from workbench.features._spec import Feature
from workbench.features._universe import FeatureUniverse
from workbench.features.families import Family, family_for

ArrayLike = pd.Series | np.ndarray


def _series_rows(close: ArrayLike, high: ArrayLike | None = None, low: ArrayLike | None = None,
                 volume: ArrayLike | None = None) -> Rows:
    """One ticker's bars as kernel rows (no sessions, no corporate actions)."""
    c = np.asarray(close, dtype=float)
    n = len(c)
    if np.isnan(c).any() or np.isinf(c).any():
        raise ValueError("close holds NaN or infinite values; clean or drop them first")
    zeros, ones, nan = np.zeros(n, dtype=np.int64), np.ones(n), np.full(n, np.nan)
    return Rows(order=np.arange(n), in_input_order=True, index_row=-1, ticker=zeros, ts=zeros,
                minute=np.arange(n, dtype=np.int64), session=zeros,
                minute_of_session=zeros, minutes_to_close=zeros, day_of_week=zeros, sector=zeros,
                new_session=np.zeros(n, dtype=np.bool_), price_factor=ones, volume_factor=ones,
                log_shares=nan, context={}, open=c, high=np.asarray(high if high is not None else c, dtype=float),
                low=np.asarray(low if low is not None else c, dtype=float), close=c,
                volume=np.asarray(volume if volume is not None else nan, dtype=float), vwap=nan, bid=nan, ask=nan,
                bid_size=nan, ask_size=nan)


def _run(kind: str, params: dict, rows: Rows, width: int, **options: bool) -> np.ndarray:
    family: Family = family_for(Feature(kind, params))
    out = np.empty((width, len(rows))).T  # feature-major, as the engine lays its output out
    family.run(rows, family.new_state(FeatureUniverse.build(["X"])), out, **options)
    return out


def _wrap(values: np.ndarray, like: ArrayLike) -> ArrayLike:
    return pd.Series(values, index=like.index) if isinstance(like, pd.Series) else values


def rsi(close: ArrayLike, period: int = 14) -> ArrayLike:
    """Relative strength index (TA-Lib ``RSI``)."""
    return _wrap(_run("rsi", {"period": period}, _series_rows(close), 1)[:, 0], close)


def roc(close: ArrayLike, period: int = 10) -> ArrayLike:
    """Rate of change in percent (TA-Lib ``ROC``)."""
    return _wrap(_run("roc", {"period": period}, _series_rows(close), 1)[:, 0], close)


def macd(close: ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9) -> tuple[ArrayLike, ...]:
    """(MACD line, signal, histogram) in price units (TA-Lib ``MACD``)."""
    out = _run("macd", {"fast": fast, "slow": slow, "signal": signal}, _series_rows(close), 3, normalize=False)
    return tuple(_wrap(out[:, k], close) for k in range(3))


def bollinger(close: ArrayLike, period: int = 20, nbdev: float = 2.0) -> tuple[ArrayLike, ...]:
    """(upper, middle, lower) bands around the SMA (TA-Lib ``BBANDS``, population std)."""
    out = _run("bollinger", {"period": period, "nbdev": nbdev}, _series_rows(close), 3, raw=True)
    return tuple(_wrap(out[:, k], close) for k in range(3))


def atr(high: ArrayLike, low: ArrayLike, close: ArrayLike, period: int = 14) -> ArrayLike:
    """Average true range, Wilder-smoothed (TA-Lib ``ATR``)."""
    out = _run("atr", {"period": period}, _series_rows(close, high, low), 1, normalize=False)
    return _wrap(out[:, 0], close)


def obv(close: ArrayLike, volume: ArrayLike) -> ArrayLike:
    """On-balance volume, starting at the first bar's volume (TA-Lib ``OBV``)."""
    out = _run("obv_z", {}, _series_rows(close, volume=volume), 1, raw=True)
    return _wrap(out[:, 0], close)
