"""``compute`` takes the dataset inputs explicitly: corporate actions, the universe and the context tables
must be passed (``None`` on purpose is allowed) — forgetting them no longer yields split-distorted returns
and all-NaN columns without a word."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.features._histories import random_history
from workbench.data import EXCHANGE_TZ, Dataset
from workbench.features import FeatureSpec, compute, compute_dataset, dataset_inputs

INPUTS = ("corporate_actions", "universe", "context")
SPEC = FeatureSpec.of(("log_return", {"periods": [1]}), "rsi", "vix", "log_mcap", "categories")


@pytest.fixture(scope="module")
def history() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Three stocks and SPY over three sessions; S2 splits 2:1 on 2024-12-04 (no dividend)."""
    bars, tickers, actions = random_history(2, 3, 3, 0.3)
    assert actions.to_dict("records") == [{"ticker": "S2", "ex_date": pd.Timestamp("2024-12-04").date(),
                                           "split_ratio": 2.0, "cash_dividend": 0.0}]
    return bars, tickers, actions


@given(passed=st.sets(st.sampled_from(INPUTS), max_size=2))
def test_omitting_a_dataset_input_is_a_type_error_naming_it_and_the_way_out(passed: set[str]) -> None:
    bars, _, _ = random_history(1, 1, 1, 0.05)
    with pytest.raises(TypeError) as caught:
        compute(bars, SPEC, **dict.fromkeys(passed))
    message = str(caught.value)
    missing = [name for name in INPUTS if name not in passed]
    assert message.startswith(f"compute() needs {', '.join(missing)}: pass them (None on purpose for none)")
    assert "compute_dataset(dataset)" in message and "**dataset_inputs(dataset)" in message and "\n" not in message


def test_none_on_purpose_means_no_actions_no_reference_data_and_no_context(history) -> None:
    bars, tickers, _ = history
    bare = compute(bars, SPEC, corporate_actions=None, universe=None, context=None)
    listed = compute(bars, SPEC, corporate_actions=None, universe=sorted(set(bars["ticker"])), context=None)
    pd.testing.assert_frame_equal(bare, listed)
    assert bare[["vix", "log_mcap", "sector"]].isna().all().all()  # what None says: none of these inputs
    vix = pd.DataFrame({"available_at": bars["ts"].drop_duplicates().sort_values(), "vix": 20.0})
    full = compute(bars, SPEC, corporate_actions=None, universe=tickers, context={"vix": vix},
                   ref_close=bars.groupby("ticker")["close"].first(), ref_date=bars["ts"].min().date())
    assert full["vix"].notna().any() and full["log_mcap"].notna().any() and full["sector"].notna().any()


def test_a_split_is_a_return_only_when_the_actions_are_left_out_on_purpose(history) -> None:
    bars, tickers, actions = history
    stock = bars[bars["ticker"] == "S2"]
    day = pd.DatetimeIndex(stock["ts"]).tz_convert(EXCHANGE_TZ).date
    first = np.flatnonzero(day == actions["ex_date"].iloc[0])[0]  # the first bar on the ex-date
    label, before = stock.index[first], stock["close"].iloc[first - 1]
    raw = compute(bars, SPEC, corporate_actions=None, universe=tickers, context=None)
    adjusted = compute(bars, SPEC, corporate_actions=actions, universe=tickers, context=None)
    close = stock["close"].iloc[first]
    assert raw.at[label, "ret_1"] == pytest.approx(np.log(close / before), abs=1e-12)  # ≈ log(1/2): the split
    assert adjusted.at[label, "ret_1"] == pytest.approx(np.log(close / (before / 2.0)), abs=1e-12)
    assert abs(adjusted.at[label, "ret_1"]) < 0.2 < abs(raw.at[label, "ret_1"])


def test_context_is_a_mapping_of_the_tables_the_features_read(history) -> None:
    bars, tickers, _ = history
    with pytest.raises(ValueError, match=r"unknown context table\(s\) \['rate'\]; the features read "
                                         r"\['vix', 'rates', 'macro_events'\]"):
        compute(bars, SPEC, corporate_actions=None, universe=tickers, context={"rate": pd.DataFrame()})
    with pytest.raises(TypeError, match=r"context must map a table name to its rows, e.g. \{'vix': vix\}"):
        compute(bars, SPEC, corporate_actions=None, universe=tickers, context=pd.DataFrame())


def test_dataset_inputs_carry_everything_the_dataset_has(market: Dataset) -> None:
    """``compute(bars, spec, **dataset_inputs(ds))`` = ``compute_dataset``, with sectors, sizes, VIX and
    actions from the dataset (each of them filled somewhere)."""
    stock = market.corporate_actions["ticker"].iloc[0]
    inputs = dataset_inputs(market)
    assert set(inputs) == {"corporate_actions", "universe", "context", "ref_close", "ref_date"}
    assert set(inputs["context"]) == {"vix", "rates", "macro_events"}
    bars = market.bars([stock, "SPY"])
    ours = compute(bars, FeatureSpec.default(), **inputs)
    theirs = compute_dataset(market, FeatureSpec.default(), tickers=[stock])
    np.testing.assert_array_equal(ours.select_dtypes("number").to_numpy(),
                                  theirs.select_dtypes("number").to_numpy())
    assert ours[["vix", "log_mcap", "sector", "beta_60"]].notna().any().all()
