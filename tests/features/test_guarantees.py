"""No catalog feature sees the future, and bad input gets a clear error naming the ticker and time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.features._histories import random_history
from workbench.audit import DEFAULT_N_CUTS, check_causality
from workbench.data import Dataset
from workbench.errors import DataValidationError, UnknownTickerError
from workbench.features import FeatureSpec, OnlineFeatureEngine, compute


def test_every_catalog_feature_is_causal(market: Dataset) -> None:
    """Every channel is perturbed: bar values, bar existence, quotes, the VIX and corporate actions."""
    bars = market.bars(market.tickers["ticker"].iloc[:8].tolist(), market.dates[0], market.dates[2])
    tickers = market.tickers

    def catalog(b: pd.DataFrame, vix: pd.DataFrame, corporate_actions: pd.DataFrame) -> pd.DataFrame:
        return compute(b, FeatureSpec.default(), universe=tickers, corporate_actions=corporate_actions,
                       context={"vix": vix})

    report = check_causality(catalog, bars, context={"vix": market.context("vix")},
                             corporate_actions=market.corporate_actions)
    assert report.ok and report.checked_rows > 0
    assert report.channels == ("values", "bars", "quotes", "context", "corporate_actions")
    assert len(report.cuts) == DEFAULT_N_CUTS


def _bars() -> tuple[pd.DataFrame, pd.DataFrame]:
    bars, tickers, _ = random_history(3, 2, 1, 0.05)
    return bars, tickers


@pytest.mark.parametrize(("column", "value", "message"), [
    ("close", np.nan, "NaN close price"),
    ("open", -1.0, "non-positive open price"),
    ("high", np.inf, "infinite"),
])
def test_bad_prices_name_ticker_and_time(column: str, value: float, message: str) -> None:
    bars, tickers = _bars()
    bars.loc[5, column] = value
    with pytest.raises(DataValidationError, match=message) as caught:
        compute(bars, universe=tickers, corporate_actions=None, context=None)
    assert str(bars.loc[5, "ticker"]) in str(caught.value) and str(bars.loc[5, "ts"]) in str(caught.value)


def test_duplicate_bars_are_refused() -> None:
    bars, tickers = _bars()
    with pytest.raises(DataValidationError, match=r"duplicate \(ticker, ts\)"):
        compute(pd.concat([bars, bars.iloc[[3]]], ignore_index=True), universe=tickers, corporate_actions=None,
                context=None)


def test_missing_column_and_naive_time_are_refused() -> None:
    bars, tickers = _bars()
    with pytest.raises(DataValidationError, match=r"missing required column\(s\) \['volume'\]"):
        compute(bars.drop(columns="volume"), universe=tickers, corporate_actions=None, context=None)
    with pytest.raises(DataValidationError, match="timezone-aware"):
        compute(bars.assign(ts=bars["ts"].dt.tz_localize(None)), universe=tickers, corporate_actions=None, context=None)


def test_online_refuses_late_bars_and_unknown_tickers() -> None:
    bars, tickers = _bars()
    engine = OnlineFeatureEngine(FeatureSpec.default(), tickers)
    last = bars["ts"].max()
    engine.update(bars[bars["ts"] == last])
    with pytest.raises(DataValidationError, match="not newer than what this ticker already had"):
        engine.update(bars[bars["ts"] < last].tail(1))
    stranger = bars.tail(1).assign(ticker="ZZZZ", ts=last + pd.Timedelta(minutes=1))
    with pytest.raises(UnknownTickerError, match="unknown ticker 'ZZZZ' at"):
        engine.update(stranger)


def test_snapshot_of_another_spec_is_refused() -> None:
    _, tickers = _bars()
    blob = OnlineFeatureEngine(FeatureSpec.default(), tickers).snapshot()
    other = OnlineFeatureEngine(FeatureSpec.of("rsi"), tickers)
    with pytest.raises(ValueError, match="snapshot was taken with spec"):
        other.restore(blob)
