"""Split-proof labels: a market with a split gives, around the ex-date, the same labels as its twin in which
the split never happened (the same economic prices quoted on the post-split scale, no action recorded).

Labels read prices adjusted for corporate actions, so the split's overnight jump is neither volatility (the
barrier width) nor a barrier touch; on raw closes it is both (the test shows that too, so it has teeth)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.data import EXCHANGE_TZ, Dataset
from workbench.data._writer import write_bars_partition, write_corporate_actions
from workbench.data.synth import SynthConfig, build_synthetic_market
from workbench.labels import triple_barrier_panel
from workbench.pipeline import CVConfig, DataConfig, LabelConfig, PipelineConfig
from workbench.pipeline._dataset import build_research_data

SPLIT_MARKET = SynthConfig(n_tickers=40, n_days=5, seed=5, flash_crash=False)
LABELS = ("y", "t1", "barrier", "entry_ts")


def _without_split(source: Dataset, root: Path, name: str) -> tuple[Dataset, pd.Series]:
    """A copy of ``source`` whose first split never happened: earlier prices divided (sizes multiplied) by the
    ratio, the split's action removed and the ticker's earlier dividends restated per post-split share."""
    actions = source.corporate_actions
    split = actions[actions["split_ratio"] != 1.0].iloc[0]
    ticker, ratio, ex_date = split["ticker"], float(split["split_ratio"]), pd.Timestamp(split["ex_date"]).date()
    shutil.copytree(source.path, root / name)
    for date in source.dates:
        if date >= ex_date:
            continue
        bars = source.bars(None, date.isoformat(), date.isoformat(), adjust="raw")
        rows = bars["ticker"] == ticker
        for column in ("open", "high", "low", "close", "vwap", "bid", "ask"):
            bars.loc[rows, column] = bars.loc[rows, column] / ratio
        for column in ("volume", "bid_size", "ask_size"):
            bars.loc[rows, column] = bars.loc[rows, column] * ratio
        for old in (root / name / "bars" / f"date={date.isoformat()}").glob("*.parquet"):
            old.unlink()
        write_bars_partition(root / name, date, bars)
    twin_actions = actions.drop(index=split.name).copy()
    earlier = (twin_actions["ticker"] == ticker) & (pd.to_datetime(twin_actions["ex_date"]).dt.date < ex_date)
    twin_actions.loc[earlier, "cash_dividend"] = twin_actions.loc[earlier, "cash_dividend"] / ratio
    write_corporate_actions(root / name, twin_actions)
    return Dataset(name), split


@pytest.fixture(scope="module")
def markets(lake_root: Path) -> tuple[Dataset, Dataset, pd.Series]:
    if not (lake_root / "split-market").exists():
        build_synthetic_market(SPLIT_MARKET, "split-market", progress=False)
    market = Dataset("split-market")
    twin, split = _without_split(market, lake_root, "split-twin")
    return market, twin, split


def _labels(dataset: Dataset, ticker: str) -> pd.DataFrame:
    config = PipelineConfig(data=DataConfig(dataset=dataset.name), cv=CVConfig(train_days=2, test_days=1),
                            labels=LabelConfig(clip_to_session=False))
    frame = build_research_data(config, dataset).frame
    return frame[frame["ticker"] == ticker].set_index("ts")


def test_labels_around_a_split_equal_those_of_the_twin_without_it(markets) -> None:
    market, twin, split = markets
    with_split, without = _labels(market, split["ticker"]), _labels(twin, split["ticker"])
    assert len(with_split) > 300
    assert with_split.index.equals(without.index)
    for column in LABELS:
        assert with_split[column].tolist() == without[column].tolist(), column
    np.testing.assert_allclose(with_split["ret"], without["ret"], rtol=1e-9, atol=1e-12)
    ex_day = pd.DatetimeIndex(with_split.index).tz_convert(EXCHANGE_TZ).date == pd.Timestamp(split["ex_date"]).date()
    assert ex_day.sum() > 20 and with_split["ret"].abs().max() < 0.2


def test_raw_closes_would_have_seen_the_split(markets) -> None:
    """What the labels looked like before: the jump inflates the volatility target and is a touch."""
    market, _, split = markets
    bars = market.bars([split["ticker"]], adjust="raw")
    raw = triple_barrier_panel(bars[["ts", "ticker", "close"]], vertical_bars=5, span=100, clip_to_session=False)
    adjusted = triple_barrier_panel(market.adjust(bars[["ts", "ticker", "close"]], "backward"), vertical_bars=5,
                                    span=100, clip_to_session=False)
    ex_date = pd.Timestamp(split["ex_date"]).date()
    day = pd.DatetimeIndex(bars["ts"]).tz_convert(EXCHANGE_TZ).date == ex_date
    assert np.nanmedian(raw["target"][day]) > 3 * np.nanmedian(adjusted["target"][day])
    assert raw["ret"].abs().max() > 0.3 > adjusted["ret"].abs().max()
    assert ex_date > dt.date(2024, 11, 25)
