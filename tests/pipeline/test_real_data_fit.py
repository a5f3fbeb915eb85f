"""Defaults made for 200 names × 20 sessions fail on a small universe before any work, each naming the
setting and a value that fits this dataset (evaluation.min_names, evaluation.top_k, cv.train_days,
LightGBM's min_child_samples); the values they suggest do fit."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.pipeline._real_data import small_market
from workbench.data import EXCHANGE_TZ, Dataset
from workbench.pipeline import (
    ConfigFitError,
    CVConfig,
    DataConfig,
    EvalConfig,
    ModelConfig,
    Pipeline,
    PipelineConfig,
    build_research_data,
    check_fit,
)
from workbench.validation import WalkForward

SUGGESTION = re.compile(r"set ([a-z_.]+) to (\d+)")


@pytest.fixture(scope="module")
def small(lake_root: Path) -> Dataset:
    return small_market(lake_root)


@pytest.fixture(scope="module")
def twelve(small: Dataset) -> tuple[str, ...]:
    return tuple(t for t in small.tickers["ticker"] if t != "SPY")[:12]


@pytest.fixture(scope="module")
def event_bars(small: Dataset) -> pd.DataFrame:
    """Per (session, stock), the bars at event minutes (every 5th minute of the clock), counted in pandas."""
    bars = small.bars(None, columns=["ts", "ticker"])
    bars = bars[bars["ticker"] != "SPY"]
    minute = bars["ts"].array.as_unit("ns").asi8 // 60_000_000_000
    day = pd.DatetimeIndex(bars["ts"]).tz_convert(EXCHANGE_TZ).date
    return bars.assign(date=day, event=minute % 5 == 0).groupby(["date", "ticker"])["event"].sum().rename("events")


def _with(config: PipelineConfig, values: dict[str, int]) -> PipelineConfig:
    data = config.to_dict()
    for key, value in values.items():
        section, *rest = key.split(".")
        target = data[section]
        for part in rest[:-1]:
            target = target.setdefault(part, {})
        target[rest[-1]] = value
    return PipelineConfig.from_dict(data)


def test_defaults_on_twelve_names_and_four_sessions_fail_at_once_naming_every_setting(
        small: Dataset, twelve: tuple[str, ...], tmp_path: Path) -> None:
    config = PipelineConfig(name="twelve", data=DataConfig(dataset=small.name, tickers=twelve))
    out = tmp_path / "run"
    with pytest.raises(ConfigFitError) as caught:
        Pipeline(config).run(out, progress=False)
    message = str(caught.value)
    assert "\n" not in message and not out.exists()
    assert "cv.train_days = 10 and cv.test_days = 2 need 12 sessions but dataset 'small' has 4" in message
    assert "evaluation.min_names = 20 but dataset 'small' has 12 names" in message
    assert "evaluation.top_k = 10 needs 20 names" in message
    assert "model.params.min_child_samples = 1000 leaves no split possible" in message
    assert " bars" not in message  # it speaks of sessions, names and events, which is what it means
    suggested = dict((key, int(value)) for key, value in SUGGESTION.findall(message))
    assert set(suggested) == {"cv.train_days", "evaluation.min_names", "evaluation.top_k",
                              "model.params.min_child_samples"}
    fitted = check_fit(_with(config, suggested), small)  # the suggestions fit this dataset
    assert fitted.names == tuple(sorted(twelve)) and len(fitted.sessions) == 4


def test_the_first_folds_event_count_is_an_upper_bound_of_what_it_trains_on(small: Dataset,
                                                                             twelve: tuple[str, ...]) -> None:
    """The check counts bars at event minutes; the walk-forward's first fold trains on no more events."""
    config = PipelineConfig(data=DataConfig(dataset=small.name, tickers=twelve), cv=CVConfig(train_days=2, test_days=1),
                            evaluation=EvalConfig(top_k=2, min_names=6), model=ModelConfig(params={
                                "min_child_samples": 5000}))
    with pytest.raises(ConfigFitError) as caught:
        check_fit(config, small)
    message = str(caught.value)
    bound = int(re.search(r"fits at most ([\d,]+) events", message).group(1).replace(",", ""))
    fitted_config = _with(config, {"model.params.min_child_samples": 20})
    data = build_research_data(fitted_config, small)
    splitter = WalkForward(train_days=2, test_days=1, embargo=fitted_config.cv.embargo_bars, t1=data.t1)
    first_train = next(iter(splitter.split(data.X)))[0]
    assert int(len(first_train) * 0.85) <= bound
    assert bound > 0.5 * len(first_train)  # and not a loose one


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(train_days=st.integers(1, 5), test_days=st.integers(1, 3), min_names=st.integers(1, 40),
       top_k=st.integers(1, 20), min_child=st.integers(100, 6000))
def test_a_config_is_refused_exactly_when_a_setting_cannot_fit(small: Dataset, event_bars: pd.Series, train_days: int,
                                                               test_days: int, min_names: int, top_k: int,
                                                               min_child: int) -> None:
    config = PipelineConfig(data=DataConfig(dataset=small.name),
                            cv=CVConfig(train_days=train_days, test_days=test_days),
                            evaluation=EvalConfig(top_k=top_k, min_names=min_names),
                            model=ModelConfig(params={"min_child_samples": min_child}))
    sessions = sorted(event_bars.index.get_level_values("date").unique())
    names = event_bars.index.get_level_values("ticker").nunique()
    first = min(train_days, len(sessions) - min(test_days, len(sessions) - 1))
    events = int(event_bars.loc[sessions[:first]].sum())
    expected = {"cv.train_days": train_days + test_days > len(sessions), "evaluation.min_names": min_names > names,
                "evaluation.top_k": 2 * top_k > names,
                "model.params.min_child_samples": 2 * min_child > int(events * 0.85)}
    try:
        check_fit(config, small)
        refused: set[str] = set()
    except ConfigFitError as error:
        refused = {key for key in expected if f"{key} = " in str(error)}
    assert refused == {key for key, bad in expected.items() if bad}


def test_dates_on_a_weekend_say_what_the_dataset_covers(small: Dataset) -> None:
    config = PipelineConfig(data=DataConfig(dataset=small.name, start="2024-11-30", end="2024-12-01"))
    with pytest.raises(ValueError, match=r"no bars in dataset 'small' between 2024-11-30 and 2024-12-01 \(a weekend\); "
                                         r"it covers 2024-11-25 … 2024-11-29 \(4 sessions\)"):
        check_fit(config, small)
