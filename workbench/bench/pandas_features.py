"""The speed baseline of ``wb bench features``: the momentum, volatility and volume features written the
way a researcher would in plain pandas (groupby + shift/rolling/ewm/cumsum), vectorized, no numba.

It computes the same quantities as the catalog (without ex-date adjustment, and with an expanding
instead of an exponential minute-of-day volume profile), so timing it against
:func:`workbench.features.compute` on the same bars measures what the kernels buy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.data._calendar import EXCHANGE_TZ


def _by(values: pd.Series, keys: pd.Series | list[pd.Series]):
    return values.groupby(keys, sort=False)


def _ewm(values: pd.Series, ticker: pd.Series, **kwargs: float) -> pd.Series:
    return _by(values, ticker).ewm(adjust=False, **kwargs).mean().reset_index(level=0, drop=True)


def _rolling(values: pd.Series, ticker: pd.Series, window: int, how: str) -> pd.Series:
    rolled = getattr(_by(values, ticker).rolling(window), how)(**({"ddof": 0} if how in ("std", "var") else {}))
    return rolled.reset_index(level=0, drop=True)


def pandas_features(bars: pd.DataFrame) -> pd.DataFrame:
    """ret_1/5/15/30, roc_10, rsi_14, MACD/price, Bollinger %B and width, ATR/price, rv_15/60, OBV-slope z,
    minute-of-day volume z and session VWAP deviation, one row per bar (bars sorted by ticker, ts)."""
    bars = bars.sort_values(["ticker", "ts"], kind="stable").reset_index(drop=True)
    ticker, close, volume = bars["ticker"], bars["close"], bars["volume"]
    local = bars["ts"].dt.tz_convert(EXCHANGE_TZ)
    session = local.dt.normalize()
    minute = (local - session).dt.total_seconds() // 60 - 570
    out: dict[str, pd.Series] = {}

    log_close = np.log(close)
    for k in (1, 5, 15, 30):
        out[f"ret_{k}"] = log_close - _by(log_close, ticker).shift(k)
    out["roc_10"] = (close / _by(close, ticker).shift(10) - 1.0) * 100.0

    delta = _by(close, ticker).diff()
    gain = _ewm(delta.clip(lower=0), ticker, alpha=1 / 14)
    loss = _ewm(-delta.clip(upper=0), ticker, alpha=1 / 14)
    out["rsi_14"] = 100.0 - 100.0 / (1.0 + gain / loss)

    macd = _ewm(close, ticker, span=12) - _ewm(close, ticker, span=26)
    signal = _ewm(macd, ticker, span=9)
    out.update(macd_n=macd / close, macd_signal_n=signal / close, macd_hist_n=(macd - signal) / close)

    mean, std = _rolling(close, ticker, 20, "mean"), _rolling(close, ticker, 20, "std")
    out["bb_pctb_20"] = (close - (mean - 2 * std)) / (4 * std)
    out["bb_width_20"] = 4 * std / mean

    previous = _by(close, ticker).shift(1)
    true_range = pd.concat([bars["high"] - bars["low"], (bars["high"] - previous).abs(),
                            (bars["low"] - previous).abs()], axis=1).max(axis=1)
    out["atr_n_14"] = _ewm(true_range, ticker, alpha=1 / 14) / close

    first_of_session = _by(session, ticker).diff().ne(pd.Timedelta(0))
    intraday = np.log(close / previous.where(~first_of_session, bars["open"]))
    for window in (15, 60):
        out[f"rv_{window}"] = np.sqrt(_rolling(intraday**2, ticker, window, "sum"))

    signed = np.sign(delta.fillna(0.0)) * volume
    slope = _by(_by(signed, ticker).cumsum(), ticker).diff()  # OBV's increments
    sd = np.sqrt(_rolling(slope, ticker, 20, "var").clip(lower=0) * 20 / 19)  # sample std of the last 20 increments
    out["obv_z_20"] = _rolling(slope, ticker, 20, "mean") / (sd / np.sqrt(20))

    log_volume = np.log1p(volume)
    slot = [ticker, minute]
    seen = _by(log_volume, slot).cumcount()
    past_sum = _by(log_volume, slot).cumsum() - log_volume
    past_sq = _by(log_volume**2, slot).cumsum() - log_volume**2
    past_mean = past_sum / seen
    out["volume_z_tod"] = (log_volume - past_mean) / np.sqrt((past_sq / seen - past_mean**2).clip(lower=0))

    day = [ticker, session]
    typical = (bars["high"] + bars["low"] + close) / 3.0
    price = bars["vwap"].fillna(typical) if "vwap" in bars else typical  # each bar's own VWAP when known
    vwap = _by(price * volume, day).cumsum() / _by(volume, day).cumsum()
    out["vwap_dev"] = close / vwap - 1.0
    return pd.DataFrame(out)
