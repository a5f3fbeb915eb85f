"""Cut placement: a leak confined to a session's last 4 minutes is caught with >= 95 % probability at the
default number of cuts, computed exactly, measured over seeds, and shown end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.audit import DEFAULT_N_CUTS, check_causality, cut_times
from workbench.data import EXCHANGE_TZ, bar_times, sessions
from workbench.errors import DataValidationError

FULL_DAYS = sessions("2024-12-02", "2024-12-04")  # three full sessions
WITH_HALF_DAY = sessions("2024-11-26", "2024-11-29")  # 11-26, 11-27 full, 11-29 a half day


def _grid(days: pd.DataFrame, tickers: tuple[str, ...] = ("A",)) -> pd.DataFrame:
    """Every bar end of ``days`` for each ticker, with a gentle random walk (valid bars)."""
    rng = np.random.default_rng(0)
    ts = pd.DatetimeIndex(np.concatenate([bar_times(d.open, d.close) for d in days.itertuples()]))
    frames = []
    for ticker in tickers:
        close = 40 * np.exp(np.cumsum(rng.normal(0, 1e-3, len(ts))))
        frames.append(pd.DataFrame({"ts": ts, "ticker": ticker, "open": close, "high": close * 1.001,
                                    "low": close * 0.999, "close": close, "volume": 100.0}))
    return pd.concat(frames, ignore_index=True)


def _exact_catch_probability(last: int, n_close: int) -> float:
    """P(some close stratum draws d in {1, 2, 3}) for a session of ``last + 1`` bar ends: stratum j
    draws v uniformly in [j/c, (j+1)/c) and catches when (L + 2)^v is in [2, 5)."""
    low, high = np.log(2) / np.log(last + 2), np.log(5) / np.log(last + 2)
    miss = 1.0
    for j in range(n_close):
        overlap = max(0.0, min((j + 1) / n_close, high) - max(j / n_close, low))
        miss *= 1 - overlap * n_close
    return 1 - miss


def _catches_last_minutes(cuts: list[pd.Timestamp], closes: set[pd.Timestamp]) -> bool:
    """Whether a cut falls 1 to 3 minutes before a session's close (the only cuts that catch a leak
    confined to the last 4 minutes: rows 15:57-16:00 reading a later bar of their session)."""
    return any(cut + pd.Timedelta(minutes=k) in closes for cut in cuts for k in (1, 2, 3))


def test_default_is_the_smallest_even_count_with_95_percent_exactly() -> None:
    full, half = 389, 209  # L: a full session has 390 bar ends, a half day 210
    assert _exact_catch_probability(full, DEFAULT_N_CUTS // 2) == 1.0
    assert _exact_catch_probability(half, DEFAULT_N_CUTS // 2) == pytest.approx(0.9785, abs=1e-4)
    for n_cuts in range(2, DEFAULT_N_CUTS, 2):
        assert _exact_catch_probability(full, n_cuts // 2) < 0.95, n_cuts
    assert _exact_catch_probability(full, 7) == pytest.approx(0.9086, abs=1e-4)


@pytest.mark.parametrize(("days", "n_cuts", "expected"), [
    (FULL_DAYS, DEFAULT_N_CUTS, 1.0),
    (WITH_HALF_DAY, DEFAULT_N_CUTS, (2 + 0.9785) / 3),  # the catching stratum lands on the half day 1 time in 3
    (FULL_DAYS, DEFAULT_N_CUTS - 2, 0.9086),
])
def test_measured_catch_rate_matches_the_exact_one(days: pd.DataFrame, n_cuts: int, expected: float) -> None:
    bars = _grid(days)
    closes = set(days["close"])
    n_seeds = 1000
    caught = sum(_catches_last_minutes(cut_times(bars, n_cuts, seed=seed), closes) for seed in range(n_seeds))
    assert abs(caught / n_seeds - expected) < 4 * np.sqrt(expected * (1 - expected) / n_seeds) + 1e-9
    assert (caught / n_seeds >= 0.95) == (n_cuts == DEFAULT_N_CUTS)


def test_a_leak_in_the_last_4_minutes_is_caught_end_to_end() -> None:
    bars = _grid(WITH_HALF_DAY)
    to_close = bars["ts"].dt.tz_convert(EXCHANGE_TZ).dt.date.map(WITH_HALF_DAY.set_index("date")["close"]) - bars["ts"]
    day = bars["ts"].dt.tz_convert(EXCHANGE_TZ).dt.date

    def last_minutes_leak(b: pd.DataFrame) -> pd.Series:
        local_day = b["ts"].dt.tz_convert(EXCHANGE_TZ).dt.date
        minutes_left = (local_day.map(WITH_HALF_DAY.set_index("date")["close"]) - b["ts"]) / pd.Timedelta(minutes=1)
        last = b.groupby([b["ticker"], local_day])["close"].transform("last")
        return pd.Series(np.where(minutes_left < 4, last, b["close"]), index=b.index, name="leak")

    assert (to_close < pd.Timedelta(minutes=4)).sum() == 3 * 4 and day.nunique() == 3
    n_seeds = 10
    caught = sum(not check_causality(last_minutes_leak, bars, seed=seed, raise_on_leak=False).ok
                 for seed in range(n_seeds))
    assert caught == n_seeds  # 99 % expected here (the half day is one session in three)
    five_uniform = [np.random.default_rng(s).choice(len(bars) - 1, 5, replace=False) for s in range(n_seeds)]
    closes = set(WITH_HALF_DAY["close"])
    uniform_hits = sum(_catches_last_minutes(list(bars["ts"].iloc[c]), closes) for c in five_uniform)
    assert uniform_hits <= 2  # what 5 uniform cuts (the audit before) would have caught: ~4.5 % a run


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n_cuts=st.integers(1, 40), n_days=st.integers(1, 3))
def test_cuts_are_distinct_sorted_usable_and_cover_every_session(seed: int, n_cuts: int, n_days: int) -> None:
    days = FULL_DAYS.iloc[:n_days]
    bars = _grid(days)
    cuts = cut_times(bars, n_cuts, seed=seed)
    times = pd.DatetimeIndex(bars["ts"].unique())
    assert len(cuts) == n_cuts and cuts == sorted(set(cuts))
    assert set(cuts) <= set(times[:-1])
    if n_cuts >= 2 * n_days:  # each side's strata cycle through a permutation of the sessions
        assert set(pd.DatetimeIndex(cuts).tz_convert(EXCHANGE_TZ).date) == set(days["date"])
    assert cut_times(bars, n_cuts, seed=seed) == cuts


def test_short_data_uses_every_usable_time_and_bad_counts_are_refused() -> None:
    bars = _grid(FULL_DAYS.iloc[:1]).iloc[:6]
    assert cut_times(bars, 10) == list(bars["ts"].iloc[:5])
    with pytest.raises(DataValidationError, match="n_cuts must be a positive integer"):
        cut_times(bars, 0)
    with pytest.raises(DataValidationError, match="two distinct timestamps"):
        cut_times(bars.iloc[:1])
