"""Slow, obviously-right loops the backtest is checked against: the cohort schedule, the fill prices, the quote
known before each fill, the square-root impact inputs, the P&L of rebalancing at fill prices, and trade returns.
Also small random bar panels (open, close, vwap, volume, bid, ask) on real NYSE minutes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from workbench.data import bar_times, sessions

START = pd.Timestamp("2024-11-25 14:31", tz="UTC")  # 09:31 New York, the first bar of a session


def session_bars(n_sessions: int) -> pd.DatetimeIndex:
    """Every regular-session minute bar end of the first ``n_sessions`` NYSE sessions from 2024-12-02."""
    days = sessions("2024-12-02", "2024-12-31").iloc[:n_sessions]
    index = bar_times(days["open"].iloc[0], days["close"].iloc[0])
    for _, day in days.iloc[1:].iterrows():
        index = index.append(bar_times(day["open"], day["close"]))
    return index


def random_bars(seed: int, index: pd.DatetimeIndex, n_names: int, *, missing: float = 0.0,
                no_quote: float = 0.0) -> pd.DataFrame:
    """A long bar frame: random-walk closes, opens near the previous close, vwap inside the bar, positive volume,
    a quote around the close; the last name misses bars (never the first) and quotes go missing at random."""
    rng = np.random.default_rng(seed)
    n = len(index)
    rows = []
    for j in range(n_names):
        close = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
        open_ = close * np.exp(rng.normal(0, 0.004, n))
        vwap = (open_ + close) / 2 * np.exp(rng.normal(0, 0.001, n))
        half = close * rng.uniform(1e-4, 1e-3, n)
        quoted = rng.random(n) >= no_quote
        present = np.ones(n, dtype=bool)
        if j == n_names - 1:
            present[1:] = rng.random(n - 1) >= missing
        for i in np.flatnonzero(present):
            rows.append((index[i], f"N{j}", open_[i], close[i], rng.uniform(100, 1000), vwap[i],
                         close[i] - half[i] if quoted[i] else np.nan, close[i] + half[i] if quoted[i] else np.nan))
    return pd.DataFrame(rows, columns=["ts", "ticker", "open", "close", "volume", "vwap", "bid", "ask"])


def reference_targets(frame: pd.DataFrame, close: pd.DataFrame, k: int, horizon: int, long_short: bool,
                      delay: int) -> tuple[np.ndarray, dict[int, dict[int, int]]]:
    """The schedule by loops: per signal bar t sort the names with a bar at t + delay, then add each cohort to
    the H bars it lives. Returns bars x names target weights and {fill row: {name position: side}}."""
    bars = list(close.index)
    names = [c for c in close.columns if c in set(frame["ticker"])]
    cohorts: dict[int, dict[int, int]] = {}
    for ts, minute in frame.groupby("ts"):
        r = bars.index(ts) + delay
        if r >= len(bars):
            continue
        eligible = [(row.p, names.index(row.ticker)) for row in minute.itertuples()
                    if not np.isnan(close.iloc[r][row.ticker])]
        if len(eligible) < (2 * k if long_short else k):
            continue
        ranked = sorted(eligible, key=lambda e: (-e[0], e[1]))
        members = {j: 1 for _, j in ranked[:k]}
        if long_short:
            members.update({j: -1 for _, j in ranked[-k:]})
        cohorts[r] = members
    scale = (0.5 if long_short else 1.0) / (k * horizon)
    weights = np.zeros((len(bars), len(names)))
    for r, members in cohorts.items():
        for t in range(r, min(r + horizon, len(bars))):
            for j, side in members.items():
                weights[t, j] += side * scale
    return weights, cohorts


def reference_fills(close: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Per bar and name: the ``kind`` price where the bar exists, else the last close before it (NaN if none)."""
    out = np.full(close.shape, np.nan)
    for j in range(close.shape[1]):
        last = np.nan
        for i in range(close.shape[0]):
            if not np.isnan(close[i, j]):
                out[i, j] = kind[i, j]
                last = close[i, j]
            else:
                out[i, j] = last
    return out


def reference_half_spread(bid: np.ndarray, ask: np.ndarray, session: np.ndarray, fill_price: str,
                          fallback_bps: float) -> tuple[np.ndarray, np.ndarray]:
    """Per bar and name the half spread of the last quote at or before the fill's information time (bar f's
    close for a close fill, bar f - 1's for open and vwap) within f's session; else half the fallback spread."""
    half = np.full(bid.shape, fallback_bps / 2 * 1e-4)
    fallback = np.ones(bid.shape, dtype=bool)
    for j in range(bid.shape[1]):
        for f in range(bid.shape[0]):
            i = f if fill_price == "close" else f - 1
            while i >= 0 and session[i] == session[f]:
                if not np.isnan(bid[i, j]):
                    half[f, j] = (ask[i, j] - bid[i, j]) / (ask[i, j] + bid[i, j])
                    fallback[f, j] = False
                    break
                i -= 1
    return half, fallback


def reference_impact_inputs(open_: np.ndarray, close: np.ndarray, vwap: np.ndarray, volume: np.ndarray,
                            session: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Per bar and name: RMS of the intraday one-bar log returns and mean dollar volume of the bars the name
    traded among the ``window`` rows before (the first bar of a session returns log(close / open))."""
    n, m = close.shape
    sigma, dollars = np.full((n, m), np.nan), np.full((n, m), np.nan)
    for j in range(m):
        ret = np.full(n, np.nan)
        for i in range(n):
            if np.isnan(close[i, j]):
                continue
            prev = [p for p in range(i) if session[p] == session[i] and not np.isnan(close[p, j])]
            ret[i] = math.log(close[i, j] / (close[prev[-1], j] if prev else open_[i, j]))
        for f in range(n):
            rows = [i for i in range(max(0, f - window), f) if not np.isnan(close[i, j])]
            if rows:
                sigma[f, j] = math.sqrt(sum(ret[i] ** 2 for i in rows) / len(rows))
                dollars[f, j] = sum(volume[i, j] * vwap[i, j] for i in rows) / len(rows)
    return sigma, dollars


def reference_pnl(close: np.ndarray, fill: np.ndarray, fee: np.ndarray, weights: np.ndarray,
                  present: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Equity per bar of rebalancing to ``weights`` at the fill prices, valued at the (last known) close, from 1;
    and the mean traded value (at the fill) / equity per bar. The book is valued at the fill prices to size the
    orders; each fill pays ``fee`` of its value. Orders go smallest value first (sells, then buys, the biggest
    last) and a buy is cut to the cash left: no borrowing. A name without a bar (``present`` False) is not traded.
    """
    present = np.ones(close.shape, dtype=bool) if present is None else present
    cash, shares = 1.0, np.zeros(close.shape[1])
    equity, turnover = [], []
    for mark, price, rate, weight, trades in zip(close, fill, fee, weights, present, strict=True):
        held = shares != 0
        value = cash + shares[held] @ price[held]
        target = shares.copy()
        wanted = (weight != 0) & trades
        target[trades] = 0.0
        target[wanted] = weight[wanted] * value / price[wanted]
        delta = target - shares
        moved = np.flatnonzero(delta != 0)
        traded = 0.0
        order_value = weight * value - shares * np.nan_to_num(price)  # target value - held value
        for j in moved[np.argsort(order_value[moved], kind="stable")]:
            size = min(delta[j], cash / (price[j] * (1 + rate[j]))) if delta[j] > 0 else delta[j]
            cash -= size * price[j] + rate[j] * abs(size) * price[j]
            shares[j] += size
            traded += abs(size) * price[j]
        held = shares != 0
        equity.append(cash + shares[held] @ mark[held])
        turnover.append(traded / equity[-1])
    return np.array(equity), float(np.mean(turnover))


def reference_order_weights(weights: np.ndarray, present: np.ndarray) -> np.ndarray:
    """|target - the target reached at the name's last bar| where the name has a bar, 0 elsewhere."""
    out = np.zeros(weights.shape)
    for j in range(weights.shape[1]):
        reached = 0.0
        for i in range(weights.shape[0]):
            if present[i, j]:
                out[i, j] = abs(weights[i, j] - reached)
                reached = weights[i, j]
    return out


def reference_exit(present: np.ndarray, r: int, horizon: int, j: int) -> int:
    """The bar a position of name j filled at bar r leaves at: r + horizon, or the name's next bar after it."""
    e = r + horizon
    while e < len(present) and not present[e, j]:
        e += 1
    return e


def reference_trade_returns(cohorts: dict[int, dict[int, int]], fill: np.ndarray, rate: np.ndarray,
                            horizon: int, present: np.ndarray) -> tuple[float, float]:
    """Mean net and gross side * (exit / entry - 1) over completed positions, net of both fills' cost rates; a
    position leaves at its expiry bar or the name's next bar after it."""
    net, gross = [], []
    for r, members in cohorts.items():
        for j, side in members.items():
            e = reference_exit(present, r, horizon, j)
            if e >= len(fill):
                continue
            g = side * (fill[e, j] / fill[r, j] - 1)
            gross.append(g)
            net.append(g - rate[r, j] - rate[e, j])
    return (float(np.mean(net)), float(np.mean(gross))) if net else (np.nan, np.nan)
