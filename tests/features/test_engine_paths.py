"""The engine's fast paths change nothing: arrays in = frame in, threads = one thread, any row order =
the lake's order; and the pieces they stand on (row validity codes, session lookup, ticker ranges,
lane planning) agree with slow, obviously-right versions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.features._histories import random_history
from tests.features.test_parity import assert_same_features
from workbench.data import Dataset, sessions
from workbench.data._calendar import session_index
from workbench.data._schema import BAR_VALUE_COLUMNS, PROBLEM_REASONS, bar_problems
from workbench.errors import DataValidationError
from workbench.features import BarBatch, FeatureSpec, OnlineFeatureEngine, compute, dataset_inputs, frac_diff_ffd
from workbench.features._lanes import KernelLanes


def test_update_batch_from_arrays_equals_update_of_a_frame() -> None:
    bars, tickers, actions = random_history(5, 3, 2, 0.2)
    by_frame = OnlineFeatureEngine(FeatureSpec.default(), tickers, corporate_actions=actions)
    by_arrays = OnlineFeatureEngine(FeatureSpec.default(), tickers, corporate_actions=actions)
    for _, minute in bars.groupby("ts", sort=True):
        frame = by_frame.update(minute)
        batch = BarBatch.from_arrays(minute["ts"].array.as_unit("ns").asi8,
                                     by_arrays.universe.rows_of(minute["ticker"].to_numpy(dtype=object)),
                                     **{c: minute[c].to_numpy(float) for c in BAR_VALUE_COLUMNS})
        values = by_arrays.update_batch(batch)
        numeric = frame.drop(columns=["sector", "ticker"])
        np.testing.assert_array_equal(values[:, : numeric.shape[1]], numeric.to_numpy(float))
        np.testing.assert_array_equal(values[:, -1], frame["ticker"].cat.codes.to_numpy())


def test_two_threads_give_exactly_one_threads_numbers(market: Dataset) -> None:
    bars = market.bars(market.tickers["ticker"].iloc[:20].tolist(), market.dates[0], market.dates[2])
    assert len(bars) > 5000  # big enough to be split across threads
    one = compute(bars, FeatureSpec.default(), **dataset_inputs(market), threads=1)
    two = compute(bars, FeatureSpec.default(), **dataset_inputs(market), threads=2)
    pd.testing.assert_frame_equal(one, two)


def test_row_order_of_the_input_does_not_matter(market: Dataset) -> None:
    bars = market.bars(market.tickers["ticker"].iloc[:10].tolist(), market.dates[0], market.dates[1])
    shuffled = bars.sample(frac=1.0, random_state=3)
    in_lake_order = compute(bars, FeatureSpec.default(), **dataset_inputs(market))
    any_order = compute(shuffled, FeatureSpec.default(), **dataset_inputs(market))
    assert any_order.index.equals(shuffled.index)
    assert_same_features(any_order.loc[bars.index], in_lake_order)


def test_index_bar_arriving_after_the_stocks_gives_nan_beta_never_a_stale_one_and_is_refused() -> None:
    bars, tickers, _ = random_history(8, 2, 1, 0.6, split_prob=0.0)
    spec = FeatureSpec.of(("beta", {"window": 5}))
    engine = OnlineFeatureEngine(spec, tickers)
    minutes = [m for _, m in bars.groupby("ts", sort=True)]
    for minute in minutes[:-1]:
        engine.update(minute)
    last = minutes[-1]
    stocks = engine.update(last[last["ticker"] != "SPY"])
    assert stocks.notna().sum().sum() == 0  # the index return of this minute is unknown: NaN
    with pytest.raises(DataValidationError, match="index bar"):  # taking it now would diverge from batch
        engine.update(last[last["ticker"] == "SPY"])
    in_order = compute(bars, spec, universe=tickers, corporate_actions=None, context=None).loc[last.index]
    assert in_order.loc[last["ticker"] != "SPY"].notna().all().all()  # with the index first they exist


def test_ffd_feature_equals_frac_diff_of_the_log_close(market: Dataset) -> None:
    split = set(market.corporate_actions["ticker"])
    ticker = next(t for t in market.tickers["ticker"] if t not in split and t != "SPY")
    bars = market.bars(ticker)
    ours = compute(bars, FeatureSpec.of(("ffd", {"d": 0.4, "threshold": 1e-4})), universe=[ticker],
                   corporate_actions=None, context=None)["ffd_close"]
    reference = frac_diff_ffd(np.log(bars["close"]), 0.4, 1e-4)
    assert ours.notna().sum() > 1000
    np.testing.assert_allclose(ours.to_numpy(), reference.to_numpy(), rtol=1e-9, atol=1e-12, equal_nan=True)


def test_log_market_cap_is_the_share_count_times_the_bars_own_close(market: Dataset) -> None:
    inputs = dataset_inputs(market)
    split = market.corporate_actions.query("split_ratio != 1.0")["ticker"]
    for ticker in [split.iloc[0], next(t for t in market.tickers["ticker"] if t not in set(split))]:
        bars = market.bars([ticker, "SPY"])
        features = compute(bars, FeatureSpec.of("log_mcap"), **inputs)["log_mcap"][bars["ticker"] == ticker]
        cap = float(market.tickers.set_index("ticker").loc[ticker, "market_cap"])
        adjusted = market.bars(ticker, adjust="splits")["close"].to_numpy()
        expected = np.log(cap) + np.log(adjusted / adjusted[0])  # market cap moves with the adjusted price
        np.testing.assert_allclose(features.to_numpy(), expected, rtol=0, atol=1e-9)


def _slow_problem(row: dict[str, float]) -> str:
    for name in ("open", "high", "low", "close"):
        x = row[name]
        if np.isnan(x):
            return f"NaN {name} price"
        if np.isinf(x):
            return f"infinite {name} price"
        if x <= 0:
            return f"non-positive {name} price"
    checks = [(row["high"] < row["low"], "high < low"),
              (not row["low"] <= row["close"] <= row["high"], "close outside [low, high]"),
              (not row["low"] <= row["open"] <= row["high"], "open outside [low, high]"),
              (not np.isfinite(row["volume"]), "NaN or infinite volume"), (row["volume"] < 0, "negative volume")]
    checks += [(np.isinf(row[c]), f"infinite {c}") for c in ("vwap", "bid", "ask", "bid_size", "ask_size")]
    checks += [(row["bid"] <= 0, "non-positive bid"), (row["ask"] <= 0, "non-positive ask"),
               (row["bid"] > row["ask"], "crossed quote (bid > ask)"),
               (row["bid_size"] < 0, "negative bid_size"), (row["ask_size"] < 0, "negative ask_size")]
    return next((reason for failed, reason in checks if failed), "")


values = st.sampled_from([np.nan, np.inf, -np.inf, -1.0, 0.0, 1.0, 2.0, 3.0, 100.0])


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.fixed_dictionaries({c: values for c in BAR_VALUE_COLUMNS}), min_size=1, max_size=20))
def test_row_rules_match_a_row_by_row_reference(rows: list[dict[str, float]]) -> None:
    frame = pd.DataFrame(rows).assign(ticker=[f"T{k}" for k in range(len(rows))],
                                      ts=pd.Timestamp("2024-11-25 15:00", tz="UTC"))
    assert bar_problems(frame).tolist() == [_slow_problem(r) for r in rows]
    assert set(bar_problems(frame)) <= set(PROBLEM_REASONS)


@settings(max_examples=200, deadline=None)
@given(offset=st.integers(0, 40 * 24 * 60))
def test_session_index_places_bar_ends_like_the_calendar_table(offset: int) -> None:
    stamp = pd.Timestamp("2024-11-20", tz="UTC") + pd.Timedelta(minutes=offset)
    table = sessions("2024-11-15", "2025-01-10")
    inside = table[(table["open"] < stamp) & (stamp <= table["close"])]
    found = int(session_index().locate(np.array([stamp.as_unit("ns").value]))[0])
    if inside.empty:
        assert found == -1
    else:
        assert session_index().ordinal[found] == inside["date"].iloc[0].toordinal()


def test_ticker_ranges_cover_all_rows_and_never_split_a_ticker() -> None:
    bars, tickers, actions = random_history(2, 5, 2, 0.3)
    engine = OnlineFeatureEngine(FeatureSpec.of("rsi"), tickers, corporate_actions=actions, threads=1)
    from workbench.features._rows import prepare_rows

    rows = prepare_rows(engine.batch(bars), engine.universe, engine.book, engine.clock, None)
    for parts in (1, 2, 3, 8):
        ranges = rows.ticker_ranges(parts)
        assert ranges[0][0] == 0 and ranges[-1][1] == len(rows) and len(ranges) <= parts
        for (_, stop), (start, _) in zip(ranges[:-1], ranges[1:], strict=True):
            assert stop == start and rows.ticker[start - 1] != rows.ticker[start]


def test_lanes_balance_by_measured_cost_and_propagate_errors() -> None:
    lanes = KernelLanes(2)
    lanes.cost = {"a": 3.0, "b": 1.0, "c": 1.0, "d": 1.0}
    plan = lanes._plan([(key, lambda: None) for key in "abcd"])
    assert sorted(sorted(k for k, _ in lane) for lane in plan) == [["a"], ["b", "c", "d"]]

    def boom() -> None:
        raise RuntimeError("kernel failed")

    with pytest.raises(RuntimeError, match="kernel failed"):
        lanes.run([("a", lambda: None), ("b", boom), ("c", lambda: None)])
