"""Dated events of the synthetic market, drawn up front: volatility regimes, the flash crash, halts,
splits and dividends, and the macro calendar."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from workbench.data._calendar import EXCHANGE_TZ
from workbench.data.synth._config import SynthConfig
from workbench.data.synth._universe import Universe

REGIME_LEVELS = np.array([0.7, 1.0, 1.7])  # calm, normal, stressed volatility multipliers
REGIME_STAY = 0.88
MACRO_EVENTS = (  # name, New York time, importance; in-session ones move the market at that minute
    ("CPI", "08:30", 3),
    ("Nonfarm Payrolls", "08:30", 3),
    ("Retail Sales", "08:30", 2),
    ("ISM Manufacturing", "10:00", 2),
    ("JOLTS", "10:00", 1),
    ("FOMC Rate Decision", "14:00", 3),
)


@dataclass(frozen=True)
class Halt:
    """A trading halt: no bars for ``ticker`` in minutes [start, start + minutes) of session ``day``."""

    ticker_index: int
    day: int
    start: int
    minutes: int
    jump: float  # log-price move revealed at the reopening (the news behind the halt)


@dataclass(frozen=True)
class FlashCrash:
    """A sharp market drop over ``down_minutes`` and a partial recovery over ``up_minutes``."""

    day: int
    start: int
    down_minutes: int = 4
    up_minutes: int = 10
    depth: float = 0.06
    recovery: float = 0.85


@dataclass(frozen=True)
class Schedule:
    """All dated events, by session index."""

    sessions: pd.DataFrame
    regime: np.ndarray  # volatility multiplier per session
    halts: list[Halt] = field(default_factory=list)
    flash_crash: FlashCrash | None = None
    splits: dict[tuple[int, int], float] = field(default_factory=dict)  # (day, ticker) -> ratio
    dividend_yields: dict[tuple[int, int], float] = field(default_factory=dict)  # (day, ticker) -> D/P
    macro: pd.DataFrame = field(default_factory=pd.DataFrame)

    def in_session_events(self, day: int) -> list[tuple[int, int]]:
        """(minute index, importance) of macro releases that fall inside session ``day``."""
        events = self.macro[self.macro["day"] == day]
        return [(int(m), int(i)) for m, i in zip(events["minute"], events["importance"], strict=True)
                if m >= 0]


def _regimes(n_days: int, rng: np.random.Generator) -> np.ndarray:
    state = 1
    path = np.empty(n_days)
    for d in range(n_days):
        if d and rng.random() > REGIME_STAY:
            state = int(rng.choice([s for s in range(len(REGIME_LEVELS)) if s != state]))
        path[d] = REGIME_LEVELS[state]
    return path


def _macro_calendar(sessions: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for day, (date, open_utc, minutes) in enumerate(
        zip(sessions["date"], sessions["open"], sessions["minutes"], strict=True)
    ):
        if rng.random() > 0.45:
            continue
        name, clock, importance = MACRO_EVENTS[rng.integers(len(MACRO_EVENTS))]
        if minutes < 390 and clock == "14:00":  # nothing scheduled after a half day's close
            clock = "10:00"
        scheduled = pd.Timestamp(f"{date} {clock}", tz=EXCHANGE_TZ).tz_convert("UTC")
        minute = int((scheduled - open_utc) / pd.Timedelta(minutes=1))
        rows.append(
            {
                "event": name,
                "scheduled_at": scheduled,
                "importance": importance,
                # economic calendars are published weeks ahead
                "available_at": scheduled - pd.Timedelta(days=21),
                "day": day,
                "minute": minute,  # < 0: before the open (moves the overnight gap)
            }
        )
    columns = ["event", "scheduled_at", "importance", "available_at", "day", "minute"]
    return pd.DataFrame(rows, columns=columns)


def make_schedule(config: SynthConfig, universe: Universe, sessions: pd.DataFrame,
                  rng: np.random.Generator) -> Schedule:
    """Draw every dated event of the simulation."""
    n_days = len(sessions)
    stocks = np.arange(1, universe.n)
    minutes = sessions["minutes"].to_numpy()
    crash = None
    if config.flash_crash:
        day = int(rng.integers(1, n_days)) if n_days > 1 else 0
        crash = FlashCrash(day=day, start=int(rng.integers(90, minutes[day] - 40)))
    n_halts = config.n_halts if config.n_halts is not None else max(1, n_days // 8)
    small_first = stocks[np.argsort(universe.market_cap[stocks])][: max(1, len(stocks) // 3)]
    halts = []
    for _ in range(n_halts):
        day = int(rng.integers(n_days))
        halts.append(
            Halt(
                ticker_index=int(rng.choice(small_first)),
                day=day,
                start=int(rng.integers(20, minutes[day] - 30)),
                minutes=int(rng.integers(5, 16)),
                jump=float(rng.choice([-1, 1]) * rng.uniform(0.03, 0.08)),
            )
        )
    splits: dict[tuple[int, int], float] = {}
    dividends: dict[tuple[int, int], float] = {}
    if n_days > 1:
        by_price = stocks[np.argsort(-universe.price0[stocks])]
        n_splits = max(1, round(0.01 * len(stocks) * n_days / 20))
        for ticker in rng.choice(by_price[: max(3, len(stocks) // 5)], size=min(n_splits, len(stocks)),
                                 replace=False):
            splits[(int(rng.integers(1, n_days)), int(ticker))] = float(rng.choice([2.0, 3.0, 4.0, 1.5]))
        n_dividends = max(1, round(0.03 * len(stocks) * n_days / 20))
        for ticker in rng.choice(stocks, size=min(n_dividends, len(stocks)), replace=False):
            dividends[(int(rng.integers(1, n_days)), int(ticker))] = float(rng.uniform(0.002, 0.012))
    return Schedule(
        sessions=sessions,
        regime=_regimes(n_days, rng),
        halts=halts,
        flash_crash=crash,
        splits=splits,
        dividend_yields=dividends,
        macro=_macro_calendar(sessions, rng),
    )
