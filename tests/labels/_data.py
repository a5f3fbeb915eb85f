"""Small random price paths and bar panels for the label tests (seeded, so hypothesis can shrink them)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.data import bar_times, first_sessions

START = pd.Timestamp("2024-11-25 14:31", tz="UTC")


def random_close(seed: int, n: int, vol: float = 0.01, tick: bool = False) -> pd.Series:
    """A geometric random walk of ``n`` one-minute closes; ``tick`` rounds to cents so prices repeat."""
    rng = np.random.default_rng(seed)
    prices = 100 * np.exp(np.cumsum(rng.normal(0, vol, n)))
    if tick:
        prices = np.round(prices, 2)
    return pd.Series(prices, index=pd.date_range(START, periods=n, freq="min"), name="close")


def random_panel(seed: int, n_tickers: int, n_sessions: int = 3, vol: float = 0.002) -> pd.DataFrame:
    """Bars (ts, ticker, close) in lake order: a few bars around each session's open and close, with gaps;
    some tickers' data stop in the middle of the last session."""
    rng = np.random.default_rng(seed)
    table = first_sessions("2024-11-25", n_sessions)
    grids = []
    for open_, close_ in zip(table["open"], table["close"], strict=True):
        times = bar_times(open_, close_)
        grids.append(times[:4].append(times[-20:]))
    frames = []
    for k in range(n_tickers):
        keep = [g[rng.random(g.size) < rng.uniform(0.5, 1.0)] for g in grids]
        if rng.random() < 0.5 and keep[-1].size > 2:  # data ending mid-session
            keep[-1] = keep[-1][: rng.integers(1, keep[-1].size)]
        ts = keep[0].append(keep[1:]) if len(keep) > 1 else keep[0]
        prices = 50 * np.exp(np.cumsum(rng.normal(0, vol, ts.size)))
        frames.append(pd.DataFrame({"ts": ts, "ticker": f"T{k:02d}", "close": prices}))
    return pd.concat(frames, ignore_index=True)
