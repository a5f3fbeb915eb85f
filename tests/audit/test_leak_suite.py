"""The audit catches every leak of the suite through the channel it leaks through and flags no honest
feature (bars, VIX and corporate actions of the test market, default cuts)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.audit._suite import HONEST, LEAKY, _asof, all_features, suite_inputs
from workbench.audit import CHANNELS, check_causality
from workbench.data import Dataset
from workbench.pit import asof_join


@pytest.fixture(scope="module")
def suite(market: Dataset) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return suite_inputs(market)


def test_the_suite_covers_every_channel(suite: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    bars, vix, actions = suite
    assert len(LEAKY) >= 15 and len(HONEST) >= 5 and set(LEAKY.values()) == set(CHANNELS)
    assert list(all_features(bars, vix, actions).columns) == [*LEAKY, *HONEST]
    assert bars["ticker"].nunique() == 6 and bars["ts"].dt.tz_convert("America/New_York").dt.date.nunique() == 3
    assert set(actions["ticker"]) <= set(bars["ticker"]) and len(actions) > 0
    assert (bars.groupby("ticker").size() < bars["ts"].nunique()).any()  # some names skip minutes or halt


def test_every_leak_is_caught_through_its_channel_and_no_honest_feature_is_flagged(
        suite: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    bars, vix, actions = suite
    report = check_causality(all_features, bars, context={"vix": vix}, corporate_actions=actions,
                             raise_on_leak=False)
    assert report.channels == tuple(CHANNELS)
    assert {name: leak.channel for name, leak in report.leaky_columns.items()} == LEAKY
    for leak in report.leaky_columns.values():
        assert leak.ts <= leak.cut
    assert not set(HONEST) & set(report.leaky_columns)
    text = str(report)
    assert "which bars exist" in text and "context rows published after the cut" in text


def test_the_suites_asof_reference_equals_the_point_in_time_join(
        suite: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    bars, vix, _ = suite
    expected = asof_join(bars[["ts"]], vix, columns=["vix"])["vix"].to_numpy()
    assert pd.Series(_asof(vix, "available_at", bars["ts"])).equals(pd.Series(expected))
