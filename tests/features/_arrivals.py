"""Random arrival orders for a bar history, as a stream consumer sees them: bars arrive some seconds
after their minute ends, stragglers after later minutes' bars, the index's bar sometimes last in its
minute, and bad rows mixed in (re-sent duplicates, stamps 30 s off the minute, unknown tickers, NaN
prices)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SECOND = pd.Timedelta(seconds=1)


@dataclass(frozen=True)
class ArrivalMix:
    """How often each kind of disorder happens (probabilities per bar) and how long a straggler lags."""

    straggle: float = 0.1  # arrives 50-200 s after its minute's end instead of within 50 s
    index_last: float = 0.3  # the index's bar comes after every stock bar of its minute
    duplicate: float = 0.05  # the bar is sent again later
    off_grid: float = 0.02  # a copy stamped 30 s before the bar's end
    unknown: float = 0.02  # a copy for a ticker outside the universe
    invalid: float = 0.03  # a copy with a NaN close, arriving before or after the real bar


def arrival_stream(bars: pd.DataFrame, seed: int, mix: ArrivalMix = ArrivalMix()) -> pd.DataFrame:
    """``bars`` plus injected bad rows, each with an ``arrival`` time and a ``kind`` ("bar", "duplicate",
    "off_grid", "unknown", "invalid"), in arrival order. Original rows keep their labels; injected ones
    get new labels after them."""
    rng = np.random.default_rng(seed)
    n = len(bars)
    delay = np.where(rng.random(n) < mix.straggle, rng.uniform(50, 200, n), rng.uniform(0.5, 50, n))
    stream = bars.assign(arrival=bars["ts"] + delay * SECOND, kind="bar")
    latest = stream.groupby("ts")["arrival"].transform("max")
    index_last = (stream["ticker"] == "SPY").to_numpy() & (rng.random(n) < mix.index_last)
    stream.loc[index_last, "arrival"] = latest[index_last] + SECOND

    def copies(probability: float, kind: str) -> pd.DataFrame:
        picked = stream[(stream["kind"] == "bar") & (rng.random(n) < probability)].copy()
        picked["kind"] = kind
        return picked

    duplicate = copies(mix.duplicate, "duplicate")
    duplicate["arrival"] += rng.uniform(0.1, 100, len(duplicate)) * SECOND
    off_grid = copies(mix.off_grid, "off_grid")
    off_grid["ts"] -= 30 * SECOND
    unknown = copies(mix.unknown, "unknown")
    unknown["ticker"] = "ZZZZ"
    invalid = copies(mix.invalid, "invalid")
    invalid["close"] = np.nan
    invalid["arrival"] += rng.uniform(-30, 30, len(invalid)) * SECOND
    invalid["arrival"] = invalid["arrival"].where(invalid["arrival"] > invalid["ts"], invalid["ts"] + SECOND)
    injected = pd.concat([duplicate, off_grid, unknown, invalid])
    injected.index = pd.RangeIndex(bars.index.max() + 1, bars.index.max() + 1 + len(injected))
    stream = pd.concat([stream, injected])
    return stream.sort_values("arrival", kind="stable")


def chunks(stream: pd.DataFrame, seed: int, max_size: int) -> list[pd.DataFrame]:
    """The stream cut into consecutive reads of 1 to ``max_size`` rows (a consumer's XREAD count)."""
    rng = np.random.default_rng(seed)
    cuts = np.cumsum(rng.integers(1, max_size + 1, len(stream)))
    cuts = np.r_[0, cuts[cuts < len(stream)], len(stream)]
    return [stream.iloc[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
