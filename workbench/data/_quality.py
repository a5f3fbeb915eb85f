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
    return _gaps(_session_bars(ds, tickers), _calendar(ds))


def _gaps(frame: pd.DataFrame, calendar: pd.DataFrame) -> pd.DataFrame:
    """:func:`minute_gaps` of the bars of :func:`_session_bars` on the sessions of ``calendar``."""
    minute, session = frame["minute"].to_numpy(), frame["session"].to_numpy()
    total = calendar["minutes"].to_numpy()[session]
    ticker = frame["ticker"].to_numpy()
    starts = np.ones(len(frame), dtype=bool)
    starts[1:] = (ticker[1:] != ticker[:-1]) | (session[1:] != session[:-1])
    ends = np.roll(starts, -1)
    if len(ends):
        ends[-1] = True
    previous = np.where(starts, 0, np.roll(minute, 1))  # minute 0 = the open: a gap before the first bar
    runs = [  # (row, first absent minute, length, where)
        (np.flatnonzero(starts), np.ones(int(starts.sum()), dtype=np.int64), (minute - 1)[starts], "open"),
        (np.flatnonzero(~starts), previous[~starts] + 1, (minute - previous - 1)[~starts], "inside"),
        (np.flatnonzero(ends), minute[ends] + 1, (total - minute)[ends], "close"),
    ]
    parts = []
    for rows, first, length, where in runs:
        keep = length > 0
        at = session[rows[keep]]
        parts.append(pd.DataFrame({
            "ticker": ticker[rows[keep]].astype(str), "date": calendar["date"].to_numpy()[at],
            "first_missing": pd.DatetimeIndex(calendar["open"].iloc[at]) + pd.to_timedelta(first[keep], unit="min"),
            "minutes": length[keep].astype("int64"), "where": where}))
    gaps = pd.concat(parts, ignore_index=True)
    return gaps.sort_values(["ticker", "first_missing"], kind="stable").reset_index(drop=True)


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
    frame = _session_bars(ds, tickers)
    held = frame.groupby([frame["ticker"].to_numpy(), calendar["date"].to_numpy()[frame["session"]]]).size()
    out = pd.DataFrame({"bars": held.reindex(grid, fill_value=0)})
    out["expected"] = calendar.set_index("date")["minutes"].reindex(grid.get_level_values("date")).to_numpy()
    out["missing"] = out["expected"] - out["bars"]
    gaps = _gaps(frame, calendar)
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
    """``ticker, session`` (row of :func:`_calendar`) and ``minute`` (1 = the bar ending one minute after the
    open) of every regular-session bar, in the lake's (ticker, ts) order."""
    calendar = _calendar(ds)
    bars = ds.bars(tickers, columns=["ts", "ticker"])
    ts = pd.DatetimeIndex(bars["ts"]).tz_convert("UTC").as_unit("ns").asi8
    close_ns = pd.DatetimeIndex(calendar["close"]).tz_convert("UTC").as_unit("ns").asi8
    open_ns = pd.DatetimeIndex(calendar["open"]).tz_convert("UTC").as_unit("ns").asi8
    position = np.searchsorted(close_ns, ts, side="left")
    clipped = np.minimum(position, len(close_ns) - 1)
    inside = (position < len(close_ns)) & (open_ns[clipped] < ts)
    at = clipped[inside]
    return pd.DataFrame({"ticker": bars["ticker"].to_numpy()[inside], "session": at,
                         "minute": (ts[inside] - open_ns[at]) // BAR.value})
