"""The index instrument is a dataset property (``is_index`` in tickers.parquet): a dataset without one runs
without the index features and the buy-and-hold benchmark and says so; a spec naming an index the dataset
lacks fails before any work, naming the dataset's."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.pipeline._real_data import rewritten, small_market
from workbench.data import Dataset
from workbench.errors import DataValidationError
from workbench.features import FeatureSpec
from workbench.pipeline import (
    ConfigFitError,
    CVConfig,
    DataConfig,
    EvalConfig,
    Pipeline,
    PipelineConfig,
    RunResult,
    check_fit,
)

INDEX_COLUMNS = ["idx_ret_lag0", "idx_ret_lag1", "idx_ret_lag2", "idx_ret_lag3", "beta_60", "resid_ret"]


def _config(name: str, **features: object) -> PipelineConfig:
    spec = {**FeatureSpec.default().to_dict(), **features}
    return PipelineConfig(name=name, data=DataConfig(dataset=name), features=spec,
                          cv=CVConfig(train_days=2, test_days=1),
                          evaluation=EvalConfig(top_k=3, shap_rows=200, min_names=10))


@pytest.fixture(scope="module")
def small(lake_root: Path) -> Dataset:
    return small_market(lake_root)


@pytest.fixture(scope="module")
def no_index(small: Dataset, lake_root: Path) -> Dataset:
    """The market as a vendor file of stocks only: no SPY bars, no SPY row."""
    return rewritten(small, lake_root, "small-no-index", bars=lambda b: b[b["ticker"] != "SPY"],
                     tickers=lambda t: t[t["ticker"] != "SPY"])


@pytest.fixture(scope="module")
def no_index_run(no_index: Dataset, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return Pipeline(_config(no_index.name)).run(tmp_path_factory.mktemp("run") / "no-index", progress=False)


def test_the_index_is_read_from_tickers_is_index(small: Dataset, no_index: Dataset, lake_root: Path) -> None:
    assert small.index_ticker == "SPY"
    assert no_index.index_ticker is None
    unflagged = rewritten(small, lake_root, "small-spy-unflagged", tickers=lambda t: t.assign(is_index=False))
    assert unflagged.index_ticker is None
    two = rewritten(small, lake_root, "small-two-indexes",
                    tickers=lambda t: t.assign(is_index=t["ticker"].isin(["SPY", t["ticker"].iloc[1]])))
    with pytest.raises(DataValidationError, match=r"flags 2 index instruments .*keep one"):
        _ = two.index_ticker


def test_a_run_without_an_index_skips_its_features_and_the_benchmark_and_says_so(no_index_run: RunResult,
                                                                                 no_index: Dataset) -> None:
    metrics = no_index_run.metrics
    assert metrics["index"]["ticker"] is None and metrics["index"]["benchmark"] is None
    assert metrics["index"]["skipped_features"] == INDEX_COLUMNS
    assert not any(name.startswith("buy and hold") for name in metrics["backtests"])
    assert {"lightgbm top-3 long", "lightgbm top/bottom-3 long-short"} <= set(metrics["backtests"])
    # every stock is an event (none is mistaken for the index) and no model saw an index feature
    assert set(no_index_run.predictions["ticker"]) == set(no_index.tickers["ticker"])
    model_text = (no_index_run.path / "models" / "fold_0.txt").read_text()
    names = next(line for line in model_text.splitlines() if line.startswith("feature_names=")).split("=")[1].split()
    assert names and not set(names) & set(INDEX_COLUMNS)
    report = no_index_run.report.read_text()
    assert "has no index instrument" in report and "buy-and-hold benchmark" in report and "beta_60" in report


def test_an_unflagged_index_runs_without_it_and_the_note_says_how_to_flag_it(small: Dataset,
                                                                              lake_root: Path) -> None:
    unflagged = rewritten(small, lake_root, "small-spy-unflagged", tickers=lambda t: t.assign(is_index=False))
    fit = check_fit(_config(unflagged.name), unflagged)
    assert fit.index_ticker is None and list(fit.skipped_index_features) == INDEX_COLUMNS
    assert "SPY" in fit.names  # without the flag it is one more name to rank
    assert not set(fit.spec.columns) & set(INDEX_COLUMNS)
    assert "--index SPY" in (fit.index_note or "")


def test_a_spec_naming_an_index_the_dataset_lacks_fails_before_any_work(small: Dataset, tmp_path: Path) -> None:
    out = tmp_path / "run"
    with pytest.raises(ConfigFitError, match=r"features.index_ticker is 'QQQ' but dataset 'small' has index 'SPY'"
                                             r".*set features.index_ticker to 'SPY'") as caught:
        Pipeline(_config(small.name, index_ticker="QQQ")).run(out, progress=False)
    assert "\n" not in str(caught.value)
    assert not out.exists()  # nothing was written, let alone computed


def test_compute_dataset_refuses_another_index_too(small: Dataset) -> None:
    from workbench.features import compute_dataset

    with pytest.raises(ValueError, match="has index 'SPY'"):
        compute_dataset(small, FeatureSpec.of("rsi", index_ticker="QQQ"), tickers=list(small.tickers["ticker"][:2]))
    features = compute_dataset(small, FeatureSpec.of("rsi"), tickers=[small.tickers["ticker"].iloc[1]],
                               start=small.dates[0], end=small.dates[0])
    assert set(features.index.get_level_values("ticker")) == {"SPY", small.tickers["ticker"].iloc[1]}
    assert isinstance(features.index, pd.MultiIndex)
