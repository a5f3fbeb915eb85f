"""Minute coverage of a dataset against the NYSE calendar: how many of each session's expected one-minute bars
every ticker has, and where the absent minutes sit (runs of missing minutes; long ones inside a session are
trading halts, which the lake records only as absent bars)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.data._calendar import BAR, sessions
from workbench.data._lake import Dataset

#: a run of at least this many absent minutes with bars on both sides counts as a halt (an LULD pause is 5)
HALT_MINUTES = 5


def minute_gaps(ds: Dataset, tickers: list[str] | None = None) -> pd.DataFrame:
    """Every run of absent minutes of each ticker (all, or ``tickers``) in each session of ``ds`` where it has
    at least one regular-session bar: ``ticker, date, first_missing`` (bar-end time, UTC) ``, minutes, where``
    (``"open"``: before the ticker's first bar of the session, ``"inside"``: between two bars, ``"close"``:
    after its last bar). Sessions without any bar of a ticker are not runs: :func:`minute_coverage` counts them.
    Bars outside the regular session (extended hours) are ignored."""
    frame = _session_bars(ds, tickers)
    rows = []
    for (ticker, date), group in frame.groupby(["ticker", "date"], sort=True):
        minute = np.sort(group["minute"].to_numpy())
        total, open_utc = int(group["minutes"].iat[0]), group["open"].iat[0]
        # a gap before minute m[i] of length m[i] - m[i-1] - 1, with sentinels 0 and total + 1
        edges = np.concatenate(([0], minute, [total + 1]))
        lengths = np.diff(edges) - 1
        for i in np.flatnonzero(lengths > 0):
            where = "open" if i == 0 else "close" if i == len(lengths) - 1 else "inside"
            rows.append((ticker, date, open_utc + BAR * int(edges[i] + 1), int(lengths[i]), where))
    return pd.DataFrame(rows, columns=["ticker", "date", "first_missing", "minutes", "where"])


def minute_coverage(ds: Dataset, tickers: list[str] | None = None, *, halt_minutes: int = HALT_MINUTES
                    ) -> pd.DataFrame:
    """Per ticker (all, or ``tickers``) and session of ``ds``: ``bars`` (regular-session bars held),
    ``expected`` (the calendar's minutes: 390, 210 on a half day), ``missing`` (expected - bars), ``halts``
    and ``halted_minutes`` (runs of at least ``halt_minutes`` absent minutes between two bars of the session).
    A session where the ticker has no bar at all has ``bars = 0`` and every minute missing."""
    if isinstance(halt_minutes, bool) or not isinstance(halt_minutes, int) or halt_minutes < 1:
        raise ValueError(f"halt_minutes must be an integer >= 1 (minutes), got {halt_minutes!r}")
    names = sorted(ds.tickers["ticker"].astype(str)) if tickers is None else sorted(tickers)
    calendar = _calendar(ds)
    grid = pd.MultiIndex.from_product([names, calendar["date"]], names=["ticker", "date"])
    held = _session_bars(ds, tickers).groupby(["ticker", "date"]).size()
    out = pd.DataFrame({"bars": held.reindex(grid, fill_value=0)})
    out["expected"] = calendar.set_index("date")["minutes"].reindex(grid.get_level_values("date")).to_numpy()
    out["missing"] = out["expected"] - out["bars"]
    gaps = minute_gaps(ds, tickers)
    halts = gaps[(gaps["where"] == "inside") & (gaps["minutes"] >= halt_minutes)]
    by_session = halts.groupby(["ticker", "date"])["minutes"]
    out["halts"] = by_session.size().reindex(grid, fill_value=0)
    out["halted_minutes"] = by_session.sum().reindex(grid, fill_value=0)
    return out.astype("int64")


def _calendar(ds: Dataset) -> pd.DataFrame:
    """The calendar rows (``date, open, close, minutes``) of the sessions the dataset holds."""
    if not ds.dates:
        return pd.DataFrame({"date": [], "open": [], "close": [], "minutes": []})
    calendar = sessions(ds.dates[0], ds.dates[-1])
    return calendar[calendar["date"].isin(ds.dates)].reset_index(drop=True)


def _session_bars(ds: Dataset, tickers: list[str] | None) -> pd.DataFrame:
    """``ticker, date, minute`` (1 = the bar ending one minute after the open) of every regular-session bar,
    with the session's ``open`` and ``minutes``."""
    calendar = _calendar(ds)
    bars = ds.bars(tickers, columns=["ts", "ticker"])
    ts = pd.DatetimeIndex(bars["ts"]).tz_convert("UTC").as_unit("ns")
    close_ns = pd.DatetimeIndex(calendar["close"]).tz_convert("UTC").as_unit("ns").asi8
    open_ns = pd.DatetimeIndex(calendar["open"]).tz_convert("UTC").as_unit("ns").asi8
    position = np.searchsorted(close_ns, ts.asi8, side="left")
    clipped = np.minimum(position, len(close_ns) - 1)
    inside = (position < len(close_ns)) & (open_ns[clipped] < ts.asi8)
    at = clipped[inside]
    return pd.DataFrame({
        "ticker": bars["ticker"].to_numpy()[inside].astype(str),
        "date": calendar["date"].to_numpy()[at],
        "minute": (ts.asi8[inside] - open_ns[at]) // BAR.value,
        "open": calendar["open"].to_numpy()[at],
        "minutes": calendar["minutes"].to_numpy()[at],
    })
