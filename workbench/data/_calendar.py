"""NYSE regular sessions (holidays and half days included) and the bar timestamps inside them.

Backed by ``exchange_calendars``' XNYS rules, so no network is needed. Bars are stamped with the end
of their minute: a full session has 390 bars, 09:31 ... 16:00 America/New_York; a half day 210.
"""

from __future__ import annotations

import datetime as dt
import warnings
from functools import lru_cache

import exchange_calendars as xcals
import numpy as np
import pandas as pd

EXCHANGE_TZ = "America/New_York"
BAR = pd.Timedelta(minutes=1)


@lru_cache(maxsize=1)
def _xnys() -> xcals.ExchangeCalendar:
    with warnings.catch_warnings():  # exchange_calendars 4.13 trips a pandas 3.1 deprecation internally
        warnings.simplefilter("ignore", category=DeprecationWarning)
        return xcals.get_calendar("XNYS", start="2000-01-01", end="2035-12-31")


def sessions(start: str | dt.date, end: str | dt.date) -> pd.DataFrame:
    """Sessions from ``start`` to ``end`` (exchange dates, both inclusive).

    Returns a frame with ``date`` (datetime.date), ``open`` and ``close`` (UTC timestamps) and
    ``minutes`` (number of one-minute bars).
    """
    cal = _xnys()
    labels = cal.sessions_in_range(pd.Timestamp(start), pd.Timestamp(end))
    opens = cal.schedule.loc[labels, "open"]
    closes = cal.schedule.loc[labels, "close"]
    return pd.DataFrame(
        {
            "date": [d.date() for d in labels],
            "open": opens.to_numpy(),
            "close": closes.to_numpy(),
            "minutes": ((closes - opens) // BAR).to_numpy().astype(int),
        }
    )


def first_sessions(start: str | dt.date, count: int) -> pd.DataFrame:
    """The first ``count`` sessions on or after ``start``."""
    cal = _xnys()
    first = cal.date_to_session(pd.Timestamp(start), direction="next")
    labels = cal.sessions_window(first, count)
    return sessions(labels[0].date(), labels[-1].date())


def bar_times(open_utc: pd.Timestamp, close_utc: pd.Timestamp) -> pd.DatetimeIndex:
    """End-of-minute timestamps of every bar in a session (UTC, microsecond resolution)."""
    return pd.date_range(open_utc + BAR, close_utc, freq=BAR, tz="UTC").as_unit("us")


def regular_session_mask(ts: pd.Series) -> np.ndarray:
    """True where a bar-end timestamp falls inside a regular session, i.e. open < ts <= close."""
    stamps = pd.DatetimeIndex(ts)
    if len(stamps) == 0:
        return np.zeros(0, dtype=bool)
    local_dates = stamps.tz_convert(EXCHANGE_TZ).normalize().tz_localize(None)
    table = sessions(local_dates.min().date(), local_dates.max().date())
    bounds = pd.DataFrame({"open": table["open"].to_numpy(), "close": table["close"].to_numpy()},
                          index=pd.DatetimeIndex([pd.Timestamp(d) for d in table["date"]]))
    opens = bounds["open"].reindex(local_dates).to_numpy()
    closes = bounds["close"].reindex(local_dates).to_numpy()
    values = stamps.tz_convert("UTC").as_unit("ns").to_numpy()
    valid = ~pd.isna(opens)
    mask = np.zeros(len(stamps), dtype=bool)
    opens_ns = pd.DatetimeIndex(opens[valid]).tz_convert("UTC").as_unit("ns").to_numpy()
    closes_ns = pd.DatetimeIndex(closes[valid]).tz_convert("UTC").as_unit("ns").to_numpy()
    mask[valid] = (values[valid] > opens_ns) & (values[valid] <= closes_ns)
    return mask


def session_date(ts: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Exchange-local date of each bar-end timestamp (bars end at most at 16:00 New York time)."""
    return pd.DatetimeIndex(ts).tz_convert(EXCHANGE_TZ).date
