"""Context: the session clock, point-in-time context (the volatility index, the daily short rate, the
macro calendar), log market cap as of the bar, and sector/ticker categoricals. Stateless: each value
depends on the bar and on what had been published by its end.

Session boundaries: the clock uses the NYSE calendar of that day (half days close at 13:00, so
``minutes_to_close`` counts to 13:00). Context tables are read through
:class:`~workbench.features._context.ContextSeries`: a row is visible to a bar once its ``available_at`` is
at or before the bar's end, so a VIX value published at 10:00:30 first shows on the 10:01 bar and a rate
published at 08:00 New York shows from the day's first bar. Market cap: shares outstanding at the
reference session, scaled by every split since, times the raw close.
"""

from __future__ import annotations

from typing import ClassVar

import numba as nb
import numpy as np

from workbench.features._rows import NS_PER_MINUTE, Rows
from workbench.features._universe import FeatureUniverse
from workbench.features.families._base import Family, State

NS_PER_DAY = 24 * 60 * NS_PER_MINUTE


class SessionClock(Family):
    """``minute_of_session`` (1 = the 09:31 bar), ``minutes_to_close`` and ``day_of_week`` (Monday = 0)."""

    kind: ClassVar[str] = "session_clock"

    @property
    def columns(self) -> tuple[str, ...]:
        return ("minute_of_session", "minutes_to_close", "day_of_week")

    def new_state(self, universe: FeatureUniverse) -> State:
        return {}

    def run(self, rows: Rows, state: State, out: np.ndarray) -> None:
        out[:, 0] = rows.minute_of_session
        out[:, 1] = rows.minutes_to_close
        out[:, 2] = rows.day_of_week


class VolatilityIndex(Family):
    """``vix``: the volatility-index level as published at the bar's end.

    Point in time: the last row of the ``vix`` context with ``available_at`` at or before the bar's end
    (NaN before the first); a value published during a minute shows from the next bar on.
    """

    kind: ClassVar[str] = "vix"
    reads_context = ("vix",)
    semantics = __doc__ or ""

    @property
    def columns(self) -> tuple[str, ...]:
        return ("vix",)

    def new_state(self, universe: FeatureUniverse) -> State:
        return {}

    def run(self, rows: Rows, state: State, out: np.ndarray) -> None:
        out[:, 0] = rows.context["vix"].as_of(rows.ts)


class ShortRate(Family):
    """``short_rate``: the daily short rate (the ``rates`` context's ``rate``) as published at the bar's end.

    Point in time: the last rate with ``available_at`` at or before the bar's end (NaN before the first).
    The synthetic market publishes the previous business day's rate at 08:00 New York, so every bar of a
    session sees that morning's print and never the next one.
    """

    kind: ClassVar[str] = "short_rate"
    reads_context = ("rates",)
    semantics = __doc__ or ""

    @property
    def columns(self) -> tuple[str, ...]:
        return ("short_rate",)

    def new_state(self, universe: FeatureUniverse) -> State:
        return {}

    def run(self, rows: Rows, state: State, out: np.ndarray) -> None:
        out[:, 0] = rows.context["rates"].as_of(rows.ts)


class MacroEventProximity(Family):
    """``minutes_to_macro_event`` and ``minutes_since_macro_event``: minutes from the bar's end to the next
    scheduled macro release, and since the last one, among the ``macro_events`` rows already published at
    the bar's end.

    Point in time: an event counts only once its calendar row's ``available_at`` is at or before the bar's
    end (a release announced later is unknown until then, even if it is scheduled earlier). An event
    scheduled exactly at the bar's end is 0 minutes away and counts as "since" from the next bar on. NaN
    when no published event lies within ``horizon_days`` calendar days either way. Each row is one
    scheduled release (a rescheduled one published as a new row does not retract the old time).
    """

    kind: ClassVar[str] = "macro_event"
    param_defaults = {"horizon_days": 7}
    reads_context = ("macro_events",)
    semantics = __doc__ or ""

    def validate(self) -> None:
        self._positive_int("horizon_days")

    @property
    def columns(self) -> tuple[str, ...]:
        return ("minutes_to_macro_event", "minutes_since_macro_event")

    def new_state(self, universe: FeatureUniverse) -> State:
        return {}

    def run(self, rows: Rows, state: State, out: np.ndarray) -> None:
        events = rows.context["macro_events"]
        scheduled = events.values("scheduled_at")
        rank = np.argsort(scheduled, kind="stable")  # publication position of each event, by schedule
        _macro_proximity_nb(rows.ts, events.published(rows.ts), scheduled[rank], rank,
                            int(self.params["horizon_days"]) * NS_PER_DAY, out[:, 0], out[:, 1])


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _macro_proximity_nb(ts, published, scheduled, rank, horizon, to_out, since_out):  # pragma: no cover - numba
    """Per row: minutes to the first event scheduled at or after ``ts`` and since the last one before it,
    among events whose publication position ``rank`` is below the row's ``published`` count; NaN beyond
    ``horizon`` ns. ``scheduled`` is sorted; each scan stops at the horizon."""
    n = len(scheduled)
    for r in range(len(ts)):
        t = ts[r]
        visible = published[r]
        k = np.searchsorted(scheduled, t)
        to_out[r] = np.nan
        j = k
        while j < n and scheduled[j] - t <= horizon:
            if rank[j] < visible:
                to_out[r] = (scheduled[j] - t) / 60e9
                break
            j += 1
        since_out[r] = np.nan
        j = k - 1
        while j >= 0 and t - scheduled[j] <= horizon:
            if rank[j] < visible:
                since_out[r] = (t - scheduled[j]) / 60e9
                break
            j -= 1


class LogMarketCap(Family):
    """``log_mcap``: log of the market cap as of the bar (NaN when the universe has no size)."""

    kind: ClassVar[str] = "log_mcap"

    @property
    def columns(self) -> tuple[str, ...]:
        return ("log_mcap",)

    def new_state(self, universe: FeatureUniverse) -> State:
        return {}

    def run(self, rows: Rows, state: State, out: np.ndarray) -> None:
        out[:, 0] = rows.log_shares + rows.log_close


class Categories(Family):
    """``sector`` and ``ticker`` as pandas categoricals with the universe's fixed categories."""

    kind: ClassVar[str] = "categories"
    categorical = True

    @property
    def columns(self) -> tuple[str, ...]:
        return ("sector", "ticker")

    def new_state(self, universe: FeatureUniverse) -> State:
        return {}

    def run(self, rows: Rows, state: State, out: np.ndarray) -> None:
        out[:, 0] = np.where(rows.sector >= 0, rows.sector, np.nan)
        out[:, 1] = rows.ticker

    def categories(self, universe: FeatureUniverse) -> dict[str, list[str]]:
        return {"sector": list(universe.sector_names), "ticker": [str(t) for t in universe.tickers]}
