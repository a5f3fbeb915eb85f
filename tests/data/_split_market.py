"""Raw minute bars of a stock across a real split (AAPL's 7-for-1, ex-date 2014-06-09) beside SPY, written as
a vendor CSV and imported through ``import_files``: the lake holds them as traded, jump included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data import sessions
from workbench.data.importers import import_files

EX_DATE = "2014-06-09"
DAYS = ("2014-06-05", "2014-06-06", "2014-06-09", "2014-06-10")
START_PRICES = {"SPY": 194.0, "AAPL": 645.0}


def split_bars(ratio: float = 7.0, ex_date: str = EX_DATE, days: tuple[str, ...] = DAYS, minutes: int = 120,
               seed: int = 3, gap_sd: float = 0.004) -> pd.DataFrame:
    """The first ``minutes`` bars of each session (bar starts, UTC) of SPY and AAPL; AAPL's prices drop to
    1 / ``ratio`` (and its volume rises ``ratio``-fold) from ``ex_date`` on, as an unadjusted feed shows them."""
    rng = np.random.default_rng(seed)
    calendar = sessions(days[0], days[-1])
    calendar = calendar[calendar["date"].astype(str).isin(days)]
    frames = []
    for ticker, start in START_PRICES.items():
        log_price = np.log(start)
        for day in calendar.itertuples(index=False):
            log_price += rng.normal(0.0, gap_sd)
            steps = rng.normal(0.0, 0.0006, minutes)
            closes = log_price + np.cumsum(steps)
            opens = np.concatenate([[log_price], closes[:-1]])
            log_price = closes[-1]
            scale = 1.0 / ratio if ticker == "AAPL" and str(day.date) >= ex_date else 1.0
            o, c = np.exp(opens) * scale, np.exp(closes) * scale
            wiggle = np.exp(np.abs(rng.normal(0.0, 0.0003, minutes)))
            frames.append(pd.DataFrame({
                "ts": pd.Timestamp(day.open) + pd.to_timedelta(np.arange(minutes), unit="min"),
                "ticker": ticker, "open": o, "high": np.maximum(o, c) * wiggle, "low": np.minimum(o, c) / wiggle,
                "close": c, "volume": np.round(rng.uniform(1e4, 5e4, minutes) / scale),
            }))
    return pd.concat(frames, ignore_index=True)


def import_split_market(folder: Path, name: str, **kwargs: object) -> pd.DataFrame:
    """Write :func:`split_bars` as a CSV in ``folder`` and import it into dataset ``name``; returns the bars."""
    bars = split_bars(**kwargs)
    path = folder / f"{name}-bars.csv"
    bars.assign(ts=bars["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(path, index=False)
    import_files([path], "csv", name)
    return bars
