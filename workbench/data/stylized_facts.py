"""Statistics that tell a realistic minute-bar market from a random walk (and a planted signal from noise).

Used by ``wb data summary`` and by the generator's tests; all take a long bar frame (``ts``, ``ticker``,
prices) such as :meth:`workbench.data.Dataset.bars` returns. Pass back-adjusted bars so that splits
and dividends do not show up as returns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.data._calendar import EXCHANGE_TZ


def _session_keys(bars: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    local = bars["ts"].dt.tz_convert(EXCHANGE_TZ)
    return bars["ticker"], local.dt.date


def minute_log_returns(bars: pd.DataFrame) -> pd.Series:
    """Close-to-close log return within each (ticker, session); NaN on a session's first bar."""
    ordered = bars.sort_values(["ticker", "ts"])
    ticker, session = _session_keys(ordered)
    log_close = np.log(ordered["close"])
    previous = log_close.groupby([ticker, session]).shift(1)
    return (log_close - previous).reindex(bars.index)


def forward_log_returns(bars: pd.DataFrame, horizon: int) -> pd.Series:
    """Log return from a bar's close to the close ``horizon`` bars later in the same session (else NaN)."""
    ordered = bars.sort_values(["ticker", "ts"])
    ticker, session = _session_keys(ordered)
    log_close = np.log(ordered["close"])
    ahead = log_close.groupby([ticker, session]).shift(-horizon)
    return (ahead - log_close).reindex(bars.index)


def autocorrelation(values: pd.Series, groups: pd.Series, lag: int = 1) -> float:
    """Pooled lag-``lag`` autocorrelation of ``values`` computed within groups (NaNs skipped)."""
    lagged = values.groupby(groups).shift(lag)
    both = pd.concat([values, lagged], axis=1).dropna()
    return float(np.corrcoef(both.iloc[:, 0], both.iloc[:, 1])[0, 1])


def abs_return_autocorrelation(bars: pd.DataFrame, lag: int = 1) -> float:
    """Autocorrelation of |return| (volatility clustering: > 0 in real markets, 0 for a random walk).

    Returns are standardized by each ticker's own volatility so large-cap and small-cap names pool.
    """
    returns = minute_log_returns(bars)
    scaled = returns / returns.groupby(bars["ticker"]).transform("std")
    return autocorrelation(scaled.abs(), bars["ticker"], lag)


def return_autocorrelation(bars: pd.DataFrame, lag: int = 1) -> float:
    """Pooled autocorrelation of standardized one-minute returns."""
    returns = minute_log_returns(bars)
    scaled = returns / returns.groupby(bars["ticker"]).transform("std")
    return autocorrelation(scaled, bars["ticker"], lag)


def minute_of_session(ts: pd.Series) -> pd.Series:
    """Minutes since 09:30 New York time of each bar-end timestamp (1 for the first bar)."""
    local = ts.dt.tz_convert(EXCHANGE_TZ)
    return ((local - local.dt.normalize()).dt.total_seconds() // 60 - 570).astype("int64")


def intraday_volume_profile(bars: pd.DataFrame) -> pd.Series:
    """Median of volume relative to each (ticker, session) mean, by minute of session."""
    ticker, session = _session_keys(bars)
    relative = bars["volume"] / bars["volume"].groupby([ticker, session]).transform("mean")
    return relative.groupby(minute_of_session(bars["ts"])).median()


def lead_lag_profile(bars: pd.DataFrame, leader: str, followers: list[str], max_lag: int = 5) -> pd.Series:
    """Mean correlation between ``leader``'s return at t - k and each follower's return at t, k = 0..max_lag."""
    returns = bars.assign(ret=minute_log_returns(bars)).pivot_table(index="ts", columns="ticker", values="ret")
    lead = returns[leader]
    profile = {
        k: float(np.nanmean([lead.shift(k).corr(returns[f]) for f in followers if f in returns]))
        for k in range(max_lag + 1)
    }
    return pd.Series(profile, name="correlation").rename_axis("lag")


def cross_sectional_rank_ic(frame: pd.DataFrame, signal: str, target: str, by: str = "ts",
                            min_names: int = 10) -> pd.Series:
    """Spearman correlation between ``signal`` and ``target`` across names, one value per ``by`` group.

    Groups with fewer than ``min_names`` complete rows are skipped. Vectorized: ranks within groups,
    then a Pearson correlation of the ranks from group sums.
    """
    data = frame[[by, signal, target]].dropna()
    counts = data.groupby(by)[signal].transform("size")
    data = data[counts >= min_names]
    grouped = data.groupby(by)
    x = grouped[signal].rank()
    y = grouped[target].rank()
    x = x - x.groupby(data[by]).transform("mean")
    y = y - y.groupby(data[by]).transform("mean")
    keys = data[by]
    cov = (x * y).groupby(keys).sum()
    var = (x * x).groupby(keys).sum() * (y * y).groupby(keys).sum()
    return (cov / np.sqrt(var)).rename("rank_ic")


def book_imbalance(bars: pd.DataFrame) -> pd.Series:
    """(bid_size - ask_size) / (bid_size + ask_size) at each bar's close."""
    return (bars["bid_size"] - bars["ask_size"]) / (bars["bid_size"] + bars["ask_size"])


def imbalance_rank_ic(bars: pd.DataFrame, horizon: int = 5) -> tuple[float, float]:
    """Mean per-minute rank IC of book imbalance against the next ``horizon`` minutes' return, and its t-stat."""
    stocks = bars[bars["bid_size"].notna()]
    frame = pd.DataFrame(
        {"ts": stocks["ts"], "imbalance": book_imbalance(stocks), "forward": forward_log_returns(stocks, horizon)}
    )
    ic = cross_sectional_rank_ic(frame, "imbalance", "forward").dropna()
    return float(ic.mean()), float(ic.mean() / ic.std(ddof=1) * np.sqrt(len(ic)))
