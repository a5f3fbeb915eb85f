"""``Dataset.bars`` never returns an empty frame silently: a selection with no bars (a weekend, a holiday,
dates before or after the data, times outside the session, tickers that did not trade) is a one-line error
saying what the dataset covers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.pipeline._real_data import rewritten, small_market
from workbench.data import Dataset, sessions
from workbench.errors import DataValidationError

COVERS = r"; it covers 2024-11-25 … 2024-11-29 \(4 sessions\)$"


@pytest.fixture(scope="module")
def small(lake_root: Path) -> Dataset:
    return small_market(lake_root)


@pytest.mark.parametrize(("start", "end", "shown"), [
    ("2024-11-30", "2024-12-01", r"between 2024-11-30 and 2024-12-01 \(a weekend\)"),
    ("2024-11-28", "2024-11-28", r"on 2024-11-28 \(no NYSE session: a holiday\)"),
    ("2024-11-01", "2024-11-22", r"between 2024-11-01 and 2024-11-22 \(before the data\)"),
    ("2024-12-02", "2024-12-06", r"between 2024-12-02 and 2024-12-06 \(after the data\)"),
    ("2024-11-25 07:00-05:00", "2024-11-25 09:30-05:00",
     r"between 2024-11-25 07:00 EST and 2024-11-25 09:30 EST \(outside the regular-session bars\)"),
])
def test_an_empty_selection_says_what_the_dataset_covers(small: Dataset, start: str, end: str, shown: str) -> None:
    with pytest.raises(DataValidationError, match=rf"^no bars in dataset 'small' for \['SPY'\] {shown}{COVERS}"):
        small.bars(["SPY"], start, end)


def test_a_session_the_dataset_does_not_hold_is_named_as_such(small: Dataset, lake_root: Path) -> None:
    """A gap inside the data (a session missing from the lake) is not a weekend or a holiday."""
    gap = rewritten(small, lake_root, "small-gap")
    for file in (gap.path / "bars" / "date=2024-11-26").glob("*.parquet"):
        file.unlink()
    gap = Dataset(gap.name)
    with pytest.raises(DataValidationError, match=r"on 2024-11-26 \(sessions the dataset does not hold\); it covers "
                                                  r"2024-11-25 … 2024-11-29 \(3 sessions\)"):
        gap.bars(None, "2024-11-26", "2024-11-26")


def test_tickers_that_did_not_trade_there_are_named(small: Dataset, lake_root: Path) -> None:
    stock = next(t for t in small.tickers["ticker"] if t != "SPY")
    late = rewritten(small, lake_root, "small-late-listing",
                     bars=lambda b: b[(b["ticker"] != stock) | (b["ts"] >= "2024-11-27")])
    with pytest.raises(DataValidationError, match=rf"for \['{stock}'\] on 2024-11-25 \(none of these tickers traded "
                                                  "there\\)"):
        late.bars([stock], "2024-11-25", "2024-11-25")
    assert len(late.bars([stock], "2024-11-27", "2024-11-27")) > 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.dates(min_value=dt.date(2024, 11, 1),
                      max_value=dt.date(2024, 12, 31)), days=st.integers(0, 6))
def test_a_date_range_is_empty_exactly_when_it_holds_none_of_the_datasets_sessions(small: Dataset, first: dt.date,
                                                                                   days: int) -> None:
    """Against the calendar: bars come back when the range holds a session of the data, else the error."""
    last = first + dt.timedelta(days=days)
    held = set(sessions(first, last)["date"]) & set(small.dates)
    if held:
        bars = small.bars(["SPY"], first, last)
        assert set(bars["ts"].dt.tz_convert("America/New_York").dt.date) == held
    else:
        with pytest.raises(DataValidationError, match=COVERS):
            small.bars(["SPY"], first, last)
