"""Reading the lake: bounds, columns, adjustment modes, SQL, clear errors, and query pushdown."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from workbench.data import Dataset
from workbench.errors import DatasetNotFoundError, UnknownTickerError


def _stock(ds: Dataset) -> str:
    return ds.tickers.loc[~ds.tickers["is_index"], "ticker"].iloc[0]


def test_bars_for_tickers_and_session_dates(market: Dataset) -> None:
    day = market.dates[1]
    bars = market.bars(["SPY", _stock(market)], str(day), str(day))
    assert set(bars["ticker"]) == {"SPY", _stock(market)}
    assert set(bars["ts"].dt.tz_convert("America/New_York").dt.date) == {day}
    assert bars.equals(bars.sort_values(["ticker", "ts"]))
    assert market.bars("SPY", day, day)["ts"].equals(bars.loc[bars["ticker"] == "SPY", "ts"].reset_index(drop=True))


def test_timestamp_bounds_are_inclusive_and_timezone_aware(market: Dataset) -> None:
    start = pd.Timestamp(f"{market.dates[0]} 10:00", tz="America/New_York")
    end = start + pd.Timedelta(minutes=4)
    bars = market.bars("SPY", start, end.tz_convert("UTC").isoformat())
    assert bars["ts"].tolist() == list(pd.date_range(start, end, freq="1min").tz_convert("UTC"))


def test_naive_time_bound_is_refused(market: Dataset) -> None:
    with pytest.raises(ValueError, match="no timezone"):
        market.bars("SPY", "2024-11-25 10:00", None)


def test_start_after_end_is_refused(market: Dataset) -> None:
    with pytest.raises(ValueError, match="is after end"):
        market.bars("SPY", "2024-11-27", "2024-11-25")


def test_unknown_ticker_names_it_and_suggests(market: Dataset) -> None:
    stock = _stock(market)
    typo = stock[:-1] + ("X" if stock[-1] != "X" else "Y")
    with pytest.raises(UnknownTickerError, match=rf"unknown ticker\(s\) \['{typo}'\].*did you mean"):
        market.bars([typo])


def test_column_selection_and_unknown_column(market: Dataset) -> None:
    bars = market.bars("SPY", market.dates[0], market.dates[0], columns=["close"])
    assert list(bars.columns) == ["ticker", "ts", "close"] or list(bars.columns) == ["ts", "ticker", "close"]
    with pytest.raises(ValueError, match=r"unknown bar column\(s\) \['clsoe'\]"):
        market.bars("SPY", columns=["clsoe"])


def test_bad_adjust_mode_is_refused(market: Dataset) -> None:
    with pytest.raises(ValueError, match="adjust must be one of"):
        market.bars("SPY", adjust="forward")  # type: ignore[arg-type]


def test_missing_dataset_names_known_ones(market: Dataset) -> None:
    with pytest.raises(DatasetNotFoundError, match="known datasets: .*market"):
        Dataset("no-such-dataset")
    with pytest.raises(ValueError, match="invalid dataset name"):
        Dataset("bad name!")


def test_missing_context_table_is_named(market: Dataset) -> None:
    with pytest.raises(DatasetNotFoundError, match="no context table 'earnings'"):
        market.context("earnings")


def test_ad_hoc_sql_sees_every_view(market: Dataset) -> None:
    counts = market.sql(
        "SELECT (SELECT count(*) FROM bars) AS bars, (SELECT count(*) FROM tickers) AS tickers, "
        "(SELECT count(*) FROM corporate_actions) AS actions, (SELECT count(*) FROM vix) AS vix"
    ).iloc[0]
    assert counts["tickers"] == len(market.tickers) and counts["actions"] == len(market.corporate_actions)
    assert counts["bars"] == len(market.bars()) and counts["vix"] == len(market.context("vix"))
    per_day = market.sql("SELECT date, count(*) AS n FROM bars WHERE ticker = ? GROUP BY date ORDER BY date",
                         ["SPY"])
    assert per_day["n"].tolist() == [210 if str(d.date() if hasattr(d, "date") else d) == "2024-11-29" else 390
                                     for d in per_day["date"]]


def test_split_adjustment_only_touches_bars_before_the_ex_date(market: Dataset) -> None:
    split = market.corporate_actions.query("split_ratio != 1").iloc[0]
    raw = market.bars(split["ticker"])
    adjusted = market.bars(split["ticker"], adjust="splits")
    before = raw["ts"].dt.tz_convert("America/New_York").dt.date < split["ex_date"]
    ratio = split["split_ratio"]
    pd.testing.assert_series_equal(adjusted.loc[before, "close"], raw.loc[before, "close"] / ratio)
    pd.testing.assert_series_equal(adjusted.loc[before, "volume"], raw.loc[before, "volume"] * ratio)
    pd.testing.assert_frame_equal(adjusted.loc[~before], raw.loc[~before])


def _profile_scan(ds: Dataset, tmp_path: Path, load) -> dict:
    """Run ``load`` with DuckDB's JSON profiler on and return the query-level numbers."""
    out = tmp_path / "profile.json"
    ds.connection.execute("PRAGMA enable_profiling = 'json'")
    ds.connection.execute(f"PRAGMA profiling_output = '{out.as_posix()}'")
    try:
        load()
    finally:
        ds.connection.execute("PRAGMA disable_profiling")
    return json.loads(out.read_text())["query"]


def test_loading_one_ticker_day_reads_one_file_and_one_row_group(market: Dataset, tmp_path: Path) -> None:
    day, ticker = market.dates[2], _stock(market)
    total_rows = int(market.sql("SELECT count(*) FROM bars").iloc[0, 0])
    stats = _profile_scan(market, tmp_path, lambda: market.bars(ticker, day, day))
    assert stats["total_rows_scanned"] <= 16_384 < total_rows  # one row group of one partition
    assert stats["total_row_groups_scanned"] < stats["total_row_groups_to_scan"]


def test_loading_one_day_never_opens_other_partitions(market: Dataset, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(market.path, tmp_path / "pruned"))
    keep = market.dates[3]
    schema_source = market.dates[0]  # DuckDB binds the view's schema from the first file
    for folder in (copy / "bars").glob("date=*"):
        if folder.name not in (f"date={keep}", f"date={schema_source}"):
            for file in folder.glob("*.parquet"):
                file.write_bytes(b"not parquet: reading me means the partition filter failed")
    ds = Dataset(copy)
    bars = ds.bars(_stock(market), keep, keep)
    assert len(bars) > 0 and set(bars["ts"].dt.tz_convert("America/New_York").dt.date) == {keep}
    with pytest.raises(Exception, match="(?i)parquet"):
        ds.bars(_stock(market), market.dates[4], market.dates[4])


def test_dates_lists_sessions_in_order(market: Dataset) -> None:
    assert market.dates == sorted(market.dates) and len(market.dates) == 6
    assert dt.date(2024, 11, 28) not in market.dates  # Thanksgiving
