"""The feature benchmark measures what it claims: its pandas baseline computes the same features as the
catalog, and ``wb bench features`` runs end to end and prints its JSON line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from workbench.bench.features import talib_loop
from workbench.bench.pandas_features import pandas_features
from workbench.cli import main
from workbench.data import Dataset
from workbench.features import FeatureSpec, compute, dataset_inputs

# warm-up differences (pandas seeds EWMs with the first value, TA-Lib/ours with an SMA) decay below 1e-9
# after a few hundred bars; the minute-of-day volume profile is expanding in the baseline by design
SAME = ["ret_1", "ret_5", "ret_15", "ret_30", "roc_10", "rsi_14", "macd_n", "macd_signal_n", "macd_hist_n",
        "bb_pctb_20", "bb_width_20", "atr_n_14", "rv_15", "rv_60", "obv_z_20", "vwap_dev"]


def _split_free(market: Dataset, count: int) -> list[str]:
    split = set(market.corporate_actions["ticker"])
    return [t for t in market.tickers["ticker"] if t not in split and t != "SPY"][:count]


def test_pandas_baseline_computes_the_catalog_features(market: Dataset) -> None:
    tickers = _split_free(market, 5)
    bars = market.bars(tickers)
    ours = compute(bars, FeatureSpec.default(), **dataset_inputs(market)).set_index(
        pd.MultiIndex.from_frame(bars[["ticker", "ts"]]))
    theirs = pandas_features(bars).set_index(pd.MultiIndex.from_frame(bars[["ticker", "ts"]]))
    settled = bars.groupby("ticker").cumcount().to_numpy() >= 600
    for column in SAME:
        np.testing.assert_allclose(theirs[column].to_numpy()[settled], ours[column].to_numpy()[settled],
                                   rtol=1e-6, atol=1e-8, err_msg=column)


def test_talib_loop_returns_aligned_indicators(market: Dataset) -> None:
    tickers = _split_free(market, 3)
    bars = market.bars(tickers)
    out = talib_loop(bars)
    ours = compute(bars, FeatureSpec.of("rsi", "roc"), universe=market.tickers, corporate_actions=None, context=None)
    np.testing.assert_allclose(out["rsi"], ours["rsi_14"].to_numpy(), rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(out["roc"], ours["roc_10"].to_numpy(), rtol=1e-6, equal_nan=True)


@pytest.mark.benchmark
def test_bench_features_command_prints_numbers_and_json(lake_root: object) -> None:
    result = CliRunner().invoke(main, ["bench", "features", "--tickers", "12", "--days", "2", "--online-tickers",
                                       "30", "--online-minutes", "20", "--repeats", "1", "--json"])
    assert result.exit_code == 0, result.output
    numbers = json.loads(result.output.strip().splitlines()[-1])
    for key in ("batch_rows_per_s", "ratio_vs_pandas", "ratio_vs_talib", "online_p50_ms", "online_p99_ms"):
        assert numbers[key] > 0, key
    assert numbers["online_p99_ms"] >= numbers["online_p50_ms"]
    assert numbers["online_minutes"] == 20 and numbers["rows"] > 0
