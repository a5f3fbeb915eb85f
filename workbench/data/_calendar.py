"""NYSE regular sessions (holidays and half days included) and the bar timestamps inside them.

Backed by ``exchange_calendars``' XNYS rules, so no network is needed. Bars are stamped with the end
of their minute: a full session has 390 bars, 09:31 ... 16:00 America/New_York; a half day 210.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
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


@dataclass(frozen=True)
class SessionIndex:
    """Every XNYS session of the calendar's range as sorted int64 arrays, to place bar ends without pandas.

    Locating a timestamp is one ``searchsorted``: the feature engine does it for every minute it sees.
    """

    open_ns: np.ndarray  # UTC nanoseconds
    close_ns: np.ndarray
    ordinal: np.ndarray  # proleptic Gregorian ordinal of the session date
    day_of_week: np.ndarray  # Monday = 0

    def locate(self, ts_ns: np.ndarray) -> np.ndarray:
        """Position of the session each bar end falls in (open < ts <= close), -1 outside every session."""
        position = np.searchsorted(self.close_ns, ts_ns, side="left")
        inside = position < len(self.close_ns)
        clipped = np.minimum(position, len(self.close_ns) - 1)
        inside &= self.open_ns[clipped] < ts_ns
        return np.where(inside, clipped, -1)


@lru_cache(maxsize=1)
def session_index() -> SessionIndex:
    """The :class:`SessionIndex` of the whole calendar (built once per process)."""
    schedule = _xnys().schedule
    labels = schedule.index
    return SessionIndex(
        open_ns=pd.DatetimeIndex(schedule["open"]).tz_convert("UTC").as_unit("ns").asi8.copy(),
        close_ns=pd.DatetimeIndex(schedule["close"]).tz_convert("UTC").as_unit("ns").asi8.copy(),
        ordinal=np.array([d.toordinal() for d in labels.date], dtype=np.int64),
        day_of_week=labels.day_of_week.to_numpy().astype(np.int64),
    )


def regular_session_mask(ts: pd.Series) -> np.ndarray:
    """True where a bar-end timestamp falls inside a regular session, i.e. open < ts <= close."""
    stamps = pd.DatetimeIndex(ts)
    if len(stamps) == 0:
        return np.zeros(0, dtype=bool)
    return session_index().locate(stamps.tz_convert("UTC").as_unit("ns").asi8) >= 0


def session_date(ts: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Exchange-local date of each bar-end timestamp (bars end at most at 16:00 New York time)."""
    return pd.DatetimeIndex(ts).tz_convert(EXCHANGE_TZ).date
