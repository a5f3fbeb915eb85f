"""Context: the session clock, the volatility index as published (point in time), log market cap as
of the bar, and sector/ticker categoricals. Stateless: each value depends on the bar alone.

Session boundaries: the clock uses the NYSE calendar of that day (half days close at 13:00, so
``minutes_to_close`` counts to 13:00). The volatility index is the last value whose ``available_at`` is
at or before the bar's end, so a value published at 10:00:30 first shows on the 10:01 bar. Market
cap: shares outstanding at the reference session, scaled by every split since, times the raw close.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from workbench.features._rows import Rows
from workbench.features._universe import FeatureUniverse
from workbench.features.families._base import Family, State


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
    """``vix``: the volatility-index level as published at the bar's end."""

    kind: ClassVar[str] = "vix"
    reads_vix = True

    @property
    def columns(self) -> tuple[str, ...]:
        return ("vix",)

    def new_state(self, universe: FeatureUniverse) -> State:
        return {}

    def run(self, rows: Rows, state: State, out: np.ndarray) -> None:
        out[:, 0] = rows.vix


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
