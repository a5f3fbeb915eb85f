"""Regime monitor: New York weeks, a planted regime change found in its week, live check = batch run, bad input."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.data import EXCHANGE_TZ, sessions
from workbench.errors import DataValidationError
from workbench.validation._regime import RESULT_COLUMNS, RegimeMonitor, ny_days, week_of, week_start

MONDAYS = [dt.date(2024, 1, 1) + dt.timedelta(weeks=k) for k in range(10)]  # weeks 1..10
CHANGE = MONDAYS[5]  # week 6: feature x1 moves up by 1.5 standard deviations


def weekly_features(seed: int = 1, rows_per_session: int = 100) -> pd.DataFrame:
    """Rows at random bar ends of every NYSE session of ten weeks, four standard-normal features."""
    rng = np.random.default_rng(seed)
    frames = []
    for _, day in sessions(MONDAYS[0], MONDAYS[-1] + dt.timedelta(days=4)).iterrows():
        minutes = np.sort(rng.choice(day["minutes"], rows_per_session, replace=False)) + 1
        x = rng.standard_normal((rows_per_session, 4))
        if day["date"] >= CHANGE:
            x[:, 1] += 1.5
        frames.append(
            pd.DataFrame(
                {"ts": day["open"] + pd.to_timedelta(minutes, unit="min"), "ticker": "AAA"}
                | {f"x{i}": x[:, i] for i in range(4)}
            )
        )
    return pd.concat(frames, ignore_index=True)


def monday_of(frame: pd.DataFrame) -> np.ndarray:
    return np.array([week_start(w) for w in week_of(ny_days(frame))])


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return weekly_features()


@pytest.fixture(scope="module")
def result(features: pd.DataFrame) -> pd.DataFrame:
    return RegimeMonitor(threshold=0.65, lookback_weeks=4).run(features)


# --- weeks --------------------------------------------------------------------------------------------------------


near_week_ends = st.builds(  # seconds from a UTC Monday 00:00 (2000 to 2035) give or take half a day
    lambda week, offset: 946_857_600 + week * 604_800 + offset, st.integers(0, 1850), st.integers(-43_200, 43_200)
)


@settings(max_examples=30, deadline=None)
@given(st.lists(near_week_ends, min_size=1, max_size=20))
def test_weeks_are_iso_weeks_of_the_new_york_date(seconds: list[int]) -> None:
    stamps = pd.to_datetime(seconds, unit="s", utc=True)
    mondays = monday_of(pd.DataFrame({"ts": stamps}))
    for stamp, monday in zip(stamps, mondays, strict=True):
        local = stamp.tz_convert(EXCHANGE_TZ).date()
        assert monday == dt.date.fromisocalendar(*local.isocalendar()[:2], 1)


def test_sunday_evening_in_new_york_belongs_to_the_week_before() -> None:
    stamps = pd.to_datetime(["2024-03-11 03:30", "2024-03-11 04:30"], utc=True)  # 23:30 Sunday, 00:30 Monday (EDT)
    assert list(monday_of(pd.DataFrame({"ts": stamps}))) == [dt.date(2024, 3, 4), dt.date(2024, 3, 11)]


# --- the planted regime change ------------------------------------------------------------------------------------


def test_the_regime_change_week_triggers_a_retrain_and_no_earlier_week_does(
    features: pd.DataFrame, result: pd.DataFrame
) -> None:
    assert list(result.index) == MONDAYS and list(result.columns) == list(RESULT_COLUMNS)
    first_four = result.iloc[:4]
    assert first_four["auc"].isna().all() and not first_four["drift"].any() and not first_four["retrain"].any()
    week5 = result.loc[MONDAYS[4]]
    assert not week5["drift"] and week5["ci_low"] < 0.5 < week5["ci_high"]
    week6 = result.loc[CHANGE]
    assert week6["drift"] and week6["retrain"] and week6["ci_low"] > 0.65
    assert (week6["top_feature"], week6["top_direction"]) == ("x1", "higher in B")
    assert result.index[result["retrain"]].tolist() == [CHANGE]  # later drifted weeks echo the same change
    assert result["n_new"].sum() == len(features)
    assert result.loc[MONDAYS[5], "n_history"] == result.loc[MONDAYS[1]:MONDAYS[4], "n_new"].sum()


def test_with_a_one_week_lookback_weeks_two_to_five_are_compared_and_quiet(features: pd.DataFrame) -> None:
    first_six = features[monday_of(features) <= CHANGE]
    result = RegimeMonitor(threshold=0.65, lookback_weeks=1).run(first_six)
    assert list(result.index) == MONDAYS[:6]
    assert result["auc"].iloc[1:].notna().all() and np.isnan(result["auc"].iloc[0])
    assert not result.loc[MONDAYS[1]:MONDAYS[4], "drift"].any()
    assert result.index[result["retrain"]].tolist() == [CHANGE]


def test_live_check_gives_the_batch_row_and_keeps_the_cooldown(features: pd.DataFrame, result: pd.DataFrame) -> None:
    weeks = monday_of(features)
    monitor = RegimeMonitor(threshold=0.65, lookback_weeks=4)
    for monday in MONDAYS[5:7]:
        row = monitor.check(features[weeks == monday], features[weeks < monday])
        pd.testing.assert_series_equal(row.drop("week"), result.loc[monday], check_names=False, check_dtype=False)
        assert row["week"] == monday
    assert monitor.last_report_ is not None and monitor.last_report_.n_b == (weeks == MONDAYS[6]).sum()
    with pytest.raises(ValueError, match="check weeks in time order"):
        monitor.check(features[weeks == MONDAYS[5]], features[weeks < MONDAYS[5]])
    assert monitor.reset().last_week_ is None


def test_a_datetime_index_works_like_a_ts_column(features: pd.DataFrame, result: pd.DataFrame) -> None:
    weeks = monday_of(features)
    indexed = features.set_index("ts")
    row = RegimeMonitor().check(indexed[weeks == CHANGE], indexed[weeks < CHANGE])
    assert row["auc"] == result.loc[CHANGE, "auc"]


def test_short_history_thin_weeks_and_one_session_weeks_are_not_compared(features: pd.DataFrame) -> None:
    weeks = monday_of(features)
    new, history = features[weeks == CHANGE], features[weeks < CHANGE]
    days = ny_days(new)
    rows = [
        RegimeMonitor(lookback_weeks=6).check(new, history),  # history starts only 5 weeks back
        RegimeMonitor(min_rows=600).check(new, history),  # the week has 500 rows
        RegimeMonitor().check(new[days == days[0]], history),  # a single session
    ]
    for row in rows:
        assert np.isnan(row["auc"]) and not row["drift"] and not row["retrain"] and row["top_feature"] is None
    assert RegimeMonitor(lookback_weeks=5).check(new, history)["drift"]


def test_figure_draws_auc_threshold_and_retrain_week(result: pd.DataFrame) -> None:
    fig = RegimeMonitor(threshold=0.65).figure(result)
    assert list(fig.data[0].x) == MONDAYS
    retrain = next(trace for trace in fig.data if trace.name == "retrain")
    assert list(retrain.x) == [CHANGE]
    assert any(shape.y0 == 0.65 for shape in fig.layout.shapes)
    with pytest.raises(ValueError, match="lacks columns"):
        RegimeMonitor().figure(result.drop(columns="auc"))


# --- bad input ----------------------------------------------------------------------------------------------------


def test_bad_frames_get_a_clear_error(features: pd.DataFrame) -> None:
    weeks = monday_of(features)
    new, history = features[weeks == CHANGE], features[weeks < CHANGE]
    monitor = RegimeMonitor()
    with pytest.raises(DataValidationError, match="tz-aware"):
        monitor.run(features.assign(ts=features["ts"].dt.tz_localize(None)))
    with pytest.raises(DataValidationError, match="needs a tz-aware 'ts' column"):
        monitor.run(features.drop(columns="ts"))
    with pytest.raises(DataValidationError, match="exactly one New York week"):
        monitor.check(features[weeks >= CHANGE], history)
    with pytest.raises(DataValidationError, match="not before the new week"):
        monitor.check(new, features[weeks <= CHANGE])
    with pytest.raises(DataValidationError, match=r"lacks the feature columns \['x9'\]"):
        RegimeMonitor(features=["x0", "x9"]).check(new, history)
    with pytest.raises(DataValidationError, match="'venue'.*category"):
        monitor.check(new.assign(venue="X"), history.assign(venue="X"))
    with pytest.raises(DataValidationError, match="history has feature columns"):
        monitor.check(new, history.drop(columns="x3"))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"threshold": 2.0}, "threshold"),
        ({"lookback_weeks": 0}, "lookback_weeks"),
        ({"min_rows": 2}, "min_rows must be an integer >= 5"),
        ({"max_rows": 100, "min_rows": 200}, "max_rows must be an integer >= 200"),
    ],
)
def test_bad_parameters_get_a_clear_error(features: pd.DataFrame, kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RegimeMonitor(**kwargs).run(features)
