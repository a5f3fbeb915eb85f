"""Random but valid minute-bar histories for property tests: several sessions (a half day among them),
gaps, halts, missing quotes, and splits/dividends with their corporate-action records."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.data import bar_times, sessions

SESSION_DATES = sessions("2024-11-25", "2024-12-04")  # includes Thanksgiving's half day (2024-11-29)
SECTORS = ("Energy", "Financials")


def random_history(seed: int, n_stocks: int = 4, n_sessions: int = 3, coverage: float = 0.3,
                   split_prob: float = 0.5) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(bars, tickers, corporate_actions): SPY trades every sampled minute; stocks skip minutes and halt."""
    rng = np.random.default_rng(seed)
    first = int(rng.integers(0, len(SESSION_DATES) - n_sessions + 1))
    days = SESSION_DATES.iloc[first: first + n_sessions]
    stocks = [f"S{k}" for k in range(n_stocks)]
    tickers = pd.DataFrame({
        "ticker": ["SPY", *stocks],
        "sector": ["Index", *[SECTORS[k % len(SECTORS)] for k in range(n_stocks)]],
        "industry": None,
        "market_cap": [5e11, *rng.uniform(1e9, 1e11, n_stocks)],
        "is_index": [True] + [False] * n_stocks,
    })
    frames, actions = [], []
    price = {t: float(rng.uniform(20, 300)) for t in tickers["ticker"]}
    for d, (_, day) in enumerate(days.iterrows()):
        stamps = bar_times(day["open"], day["close"])
        minutes = stamps[np.sort(rng.choice(len(stamps), max(2, int(coverage * len(stamps))), replace=False))]
        for ticker in tickers["ticker"]:
            if ticker != "SPY" and d > 0 and rng.random() < split_prob / n_sessions:
                ratio = float(rng.choice([2.0, 3.0, 0.5]))
                cash = float(rng.choice([0.0, 0.3]))
                actions.append({"ticker": ticker, "ex_date": day["date"], "split_ratio": ratio, "cash_dividend": cash})
                price[ticker] = (price[ticker] - cash) / ratio
            keep = np.ones(len(minutes), dtype=bool)
            if ticker != "SPY":
                keep &= rng.random(len(minutes)) > 0.2  # missing minutes
                if rng.random() < 0.5:  # a halt
                    start = int(rng.integers(0, len(minutes)))
                    keep[start: start + int(rng.integers(3, 15))] = False
            ts = minutes[keep]
            n = len(ts)
            if n == 0:
                continue
            close = price[ticker] * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
            price[ticker] = float(close[-1])
            open_ = close * np.exp(rng.normal(0, 0.001, n))
            high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.001, n)))
            low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.001, n)))
            half = close * np.abs(rng.normal(0.0002, 0.0001, n)) + 0.005
            quoted = rng.random(n) > 0.1
            frames.append(pd.DataFrame({
                "ts": ts, "ticker": ticker, "open": open_, "high": high, "low": low, "close": close,
                "volume": rng.integers(100, 50_000, n).astype(float), "vwap": (high + low + close) / 3,
                "trades": rng.integers(1, 200, n),
                "bid": np.where(quoted, close - half, np.nan), "ask": np.where(quoted, close + half, np.nan),
                "bid_size": np.where(quoted, rng.integers(1, 5000, n), np.nan),
                "ask_size": np.where(quoted, rng.integers(1, 5000, n), np.nan),
            }))
    bars = pd.concat(frames, ignore_index=True).sort_values(["ticker", "ts"], ignore_index=True)
    corporate_actions = pd.DataFrame(actions, columns=["ticker", "ex_date", "split_ratio", "cash_dividend"])
    return bars, tickers, corporate_actions


def random_vix(bars: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A volatility index published a few seconds after each minute of the history."""
    rng = np.random.default_rng(seed)
    ts = pd.Series(sorted(bars["ts"].unique()))
    return pd.DataFrame({"ts": ts, "vix": 15 + np.cumsum(rng.normal(0, 0.1, len(ts))),
                         "available_at": ts + pd.to_timedelta(rng.uniform(1, 40, len(ts)), unit="s")})
