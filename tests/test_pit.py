"""Point-in-time joins: a value is visible to a bar only once published (``available_at <= ts``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.data import Dataset
from workbench.errors import DataValidationError
from workbench.pit import asof_join

T0 = pd.Timestamp("2024-11-25 15:00", tz="UTC")


def _bars(minutes: list[int], tickers: tuple[str, ...] = ("AAA",)) -> pd.DataFrame:
    """Bars ending at ``T0 + minutes`` for each ticker, sorted by ticker, ts."""
    rows = [(T0 + pd.Timedelta(minutes=m), t) for t in tickers for m in minutes]
    bars = pd.DataFrame(rows, columns=["ts", "ticker"])
    bars["close"] = np.arange(len(bars), dtype=float) + 100.0
    return bars


def _table(published: list[str], values: list[float], **extra: list) -> pd.DataFrame:
    return pd.DataFrame({"available_at": pd.to_datetime(published, utc=True), "value": values, **extra})


def test_value_published_mid_minute_waits_for_the_next_bar() -> None:
    bars = _bars([0, 1])  # bars complete at 15:00:00 and 15:01:00
    table = _table(["2024-11-25 15:00:30Z"], [7.0])
    out = asof_join(bars, table)
    assert np.isnan(out.loc[0, "value"])
    assert out.loc[1, "value"] == 7.0


def test_value_published_exactly_at_bar_end_is_visible() -> None:
    out = asof_join(_bars([0, 1]), _table(["2024-11-25 15:00:00Z", "2024-11-25 15:01:00Z"], [1.0, 2.0]))
    assert out["value"].tolist() == [1.0, 2.0]


def test_one_nanosecond_late_is_invisible() -> None:
    published = pd.Series([T0 + pd.Timedelta(nanoseconds=1)]).dt.as_unit("ns")
    out = asof_join(_bars([0, 1]), pd.DataFrame({"available_at": published, "value": [3.0]}))
    assert np.isnan(out.loc[0, "value"]) and out.loc[1, "value"] == 3.0


def test_nothing_published_yet_gives_missing_and_dtypes_survive() -> None:
    table = _table(
        ["2024-11-25 15:00:30Z", "2024-11-25 15:01:30Z"],
        [1.0, 2.0],
        label=pd.array(["a", "b"], dtype="str"),
        when=pd.to_datetime(["2024-11-25 14:00Z", "2024-11-25 14:30Z"], utc=True),
    )
    out = asof_join(_bars([0, 1, 2]), table, columns=["value", "label", "when", "available_at"])
    assert list(out.columns) == ["ts", "ticker", "close", "value", "label", "when", "available_at"]
    assert pd.isna(out.loc[0, "label"]) and pd.isna(out.loc[0, "when"]) and np.isnan(out.loc[0, "value"])
    assert out["label"].tolist()[1:] == ["a", "b"]
    assert out["when"].dtype == table["when"].dtype and str(out["available_at"].dt.tz) == "UTC"
    assert (out["available_at"].iloc[1:] <= out["ts"].iloc[1:]).all()


def test_by_joins_each_ticker_to_its_own_rows() -> None:
    bars = _bars([0, 1, 2], ("AAA", "BBB"))
    table = _table(
        ["2024-11-25 14:00:00Z", "2024-11-25 14:00:00Z", "2024-11-25 15:01:00Z", "2024-11-25 15:00:10Z"],
        [1.0, 10.0, 2.0, 20.0],
        ticker=["AAA", "BBB", "AAA", "BBB"],
    )
    out = asof_join(bars, table, by="ticker")
    assert out["value"].tolist() == [1.0, 2.0, 2.0, 10.0, 20.0, 20.0]
    assert "ticker" in out and list(out.columns).count("ticker") == 1


def test_later_row_wins_when_publication_times_tie() -> None:
    table = _table(["2024-11-25 15:00Z", "2024-11-25 15:00Z"], [1.0, 2.0])
    assert asof_join(_bars([0]), table)["value"].tolist() == [2.0]


def test_index_and_row_order_are_preserved_for_shuffled_input() -> None:
    bars = _bars(list(range(10)), ("AAA", "BBB")).sample(frac=1.0, random_state=3)
    bars.index = pd.Index([f"r{i}" for i in range(len(bars))])
    table = _table([f"2024-11-25 15:0{i}:30Z" for i in range(9)], list(range(9)), ticker=["AAA", "BBB"] * 4 + ["AAA"])
    out = asof_join(bars, table, by="ticker")
    assert out.index.equals(bars.index)
    pd.testing.assert_frame_equal(out[bars.columns], bars)
    expected = [_reference(bars.iloc[[i]], table, "ticker")[0] for i in range(len(bars))]
    np.testing.assert_array_equal(out["value"].to_numpy(dtype=float), np.array(expected, dtype=float))


def test_duplicate_index_labels_are_kept_in_place() -> None:
    bars = _bars([0, 1, 2])
    bars.index = [5, 5, 5]
    out = asof_join(bars, _table(["2024-11-25 15:00:30Z"], [1.0]))
    assert out.index.tolist() == [5, 5, 5] and out["close"].tolist() == bars["close"].tolist()
    assert out["value"].iloc[1:].tolist() == [1.0, 1.0]


def _reference(bars: pd.DataFrame, table: pd.DataFrame, by: str | None) -> list[float]:
    """Obviously right and slow: per bar, the last row (by publication, then table order) with on <= ts."""
    ordered = table.sort_values("available_at", kind="stable")
    found = []
    for _, bar in bars.iterrows():
        seen = ordered[ordered["available_at"] <= bar["ts"]]
        if by is not None:
            seen = seen[seen[by] == bar[by]]
        found.append(seen["value"].iloc[-1] if len(seen) else np.nan)
    return found


@settings(max_examples=60, deadline=None)
@given(
    bar_seconds=st.lists(st.integers(0, 600), min_size=1, max_size=25),
    rows=st.lists(st.tuples(st.integers(-60, 660), st.sampled_from(["AAA", "BBB", "CCC"])), max_size=25),
    use_by=st.booleans(),
)
def test_matches_slow_reference(bar_seconds: list[int], rows: list[tuple[int, str]], use_by: bool) -> None:
    tickers = ["AAA", "BBB"]
    bars = pd.DataFrame(
        {
            "ts": [T0 + pd.Timedelta(seconds=s) for s in bar_seconds],
            "ticker": [tickers[i % 2] for i in range(len(bar_seconds))],
        }
    )
    table = pd.DataFrame(
        {
            "available_at": pd.to_datetime([T0 + pd.Timedelta(seconds=s) for s, _ in rows], utc=True),
            "value": np.arange(len(rows), dtype=float),
            "ticker": [t for _, t in rows],
        }
    )
    by = "ticker" if use_by else None
    out = asof_join(bars, table, by=by, columns=["value"])
    expected = _reference(bars, table, by)
    np.testing.assert_array_equal(out["value"].to_numpy(dtype=float), np.array(expected, dtype=float))


def test_naive_timestamps_are_refused_naming_column_and_frame() -> None:
    bars, table = _bars([0]), _table(["2024-11-25 15:00Z"], [1.0])
    with pytest.raises(ValueError, match=r"bars column 'ts' is naive"):
        asof_join(bars.assign(ts=bars["ts"].dt.tz_localize(None)), table)
    with pytest.raises(ValueError, match=r"table column 'available_at' is naive"):
        asof_join(bars, table.assign(available_at=table["available_at"].dt.tz_localize(None)))
    with pytest.raises(ValueError, match=r"table column 'available_at' is of dtype"):
        asof_join(bars, table.assign(available_at="2024-11-25"))


def test_missing_columns_and_missing_times_are_refused() -> None:
    bars, table = _bars([0]), _table(["2024-11-25 15:00Z"], [1.0])
    with pytest.raises(DataValidationError, match=r"table is missing required column\(s\) \['published'\]"):
        asof_join(bars, table, on="published")
    with pytest.raises(DataValidationError, match=r"bars is missing required column\(s\) \['sector'\]"):
        asof_join(bars, table.assign(sector="x"), by="sector")
    with pytest.raises(DataValidationError, match=r"\['nope'\]"):
        asof_join(bars, table, columns=["nope"])
    with pytest.raises(DataValidationError, match=r"'available_at' has 1 missing timestamp"):
        asof_join(bars, table.assign(available_at=table["available_at"].where(table["value"] > 5)))


def test_name_clashes_need_a_suffix() -> None:
    bars = _bars([0, 1])
    table = _table(["2024-11-25 15:00Z"], [1.0], close=[9.0])
    with pytest.raises(ValueError, match=r"\['close'\] clash with bars columns; pass suffix="):
        asof_join(bars, table)
    out = asof_join(bars, table, suffix="_ctx")
    assert list(out.columns) == ["ts", "ticker", "close", "value", "close_ctx"]
    assert out["close_ctx"].tolist() == [9.0, 9.0]


def test_vix_joined_onto_spy_is_the_previous_minute(market: Dataset) -> None:
    vix = market.context("vix")
    assert (vix["available_at"] > vix["ts"]).all()  # each minute's print arrives after its own bar
    spy = market.bars("SPY")
    out = asof_join(spy, vix, columns=["vix", "ts", "available_at"], suffix="_vix")
    assert out.index.equals(spy.index) and out[spy.columns].equals(spy)
    seen = out["available_at"].notna()
    assert (out.loc[seen, "available_at"] <= out.loc[seen, "ts"]).all()
    # within a session, bar t carries the VIX of minute t-1; a session's first bar the previous close's
    day = out["ts"].dt.tz_convert("America/New_York").dt.date
    first = day != day.shift()
    assert (out.loc[~first, "ts_vix"] == out.loc[~first, "ts"] - pd.Timedelta(minutes=1)).all()
    assert out.loc[first, "ts_vix"].isna().iloc[0]
    last_of_previous = out.loc[first.shift(-1, fill_value=True), "ts"].iloc[:-1].to_numpy()
    np.testing.assert_array_equal(out.loc[first, "ts_vix"].iloc[1:].to_numpy(), last_of_previous)
    expected = vix.set_index("ts")["vix"].reindex(out["ts_vix"]).to_numpy()
    np.testing.assert_array_equal(out["vix"].to_numpy(), expected)
