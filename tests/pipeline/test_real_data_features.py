"""Features a dataset leaves entirely NaN (no quotes → spread and imbalance; no sectors → sector lags and the
sector category; no VIX; no market caps; four sessions < volume_z_tod's five of warm-up) are reported before
training, listed with their reasons in the run's metrics and report, and left out of the model inputs; with
``data.features_all_nan = "error"`` they fail the run, naming the columns, before any model is fitted."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from tests.pipeline._real_data import rewritten, small_market
from workbench.data import Dataset
from workbench.pipeline import (
    ConfigFitError,
    CVConfig,
    DataConfig,
    EvalConfig,
    Pipeline,
    PipelineConfig,
    RunResult,
    build_research_data,
)

QUOTES = ["spread_bps", "imbalance", "imbalance_mean_5"]
SECTORS = ["sector_ret_lag1", "sector_ret_lag2", "sector_ret_lag3", "sector"]
EXPECTED = {**dict.fromkeys(QUOTES, "no quotes"), **dict.fromkeys(SECTORS, "no sectors"), "vix": "no vix",
            "log_mcap": "no market_cap", "volume_z_tod": "needs 5 sessions of history"}
"""The hand-made answer: what this copy lacks, column by column (the data has 4 sessions)."""


def _config(name: str, on_all_nan: str = "drop") -> PipelineConfig:
    return PipelineConfig(name=name, data=DataConfig(dataset=name, features_all_nan=on_all_nan),
                          cv=CVConfig(train_days=2, test_days=1),
                          evaluation=EvalConfig(top_k=3, shap_rows=200, min_names=10))


@pytest.fixture(scope="module")
def bare(lake_root: Path) -> Dataset:
    """Trades only: no quotes, no sectors or market caps in the ticker table, no VIX table."""
    def no_quotes(bars: pd.DataFrame) -> pd.DataFrame:
        return bars.assign(bid=None, ask=None, bid_size=None, ask_size=None)

    def no_reference(tickers: pd.DataFrame) -> pd.DataFrame:
        return tickers.assign(sector=None, industry=None, market_cap=None)

    return rewritten(small_market(lake_root), lake_root, "small-bare", bars=no_quotes, tickers=no_reference,
                     drop_context=("vix",))


@pytest.fixture(scope="module")
def bare_run(bare: Dataset, tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, list[str]]:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("workbench.pipeline")
    logger.addHandler(handler)
    try:
        run = Pipeline(_config(bare.name)).run(tmp_path_factory.mktemp("run") / "bare", progress=False)
    finally:
        logger.removeHandler(handler)
    return run, [record.getMessage() for record in records if record.levelno >= logging.WARNING]


def test_all_nan_features_are_listed_with_their_reasons(bare_run: tuple[RunResult, list[str]]) -> None:
    dropped = bare_run[0].metrics["dropped_features"]
    assert set(dropped) == set(EXPECTED)
    for column, reason in EXPECTED.items():
        assert reason in dropped[column], (column, dropped[column])


def test_they_are_reported_before_training_and_in_the_report(bare_run: tuple[RunResult, list[str]]) -> None:
    run, warnings = bare_run
    assert len(warnings) == 1 and "left out of the model inputs" in warnings[0]
    assert all(column in warnings[0] for column in EXPECTED)
    report = run.report.read_text()
    assert "Features left out (NaN on every event of this data)" in report
    assert all(column in report for column in EXPECTED)


def test_they_are_left_out_of_the_model_inputs(bare_run: tuple[RunResult, list[str]]) -> None:
    run = bare_run[0]
    for fold in range(len(run.metrics["folds"])):
        text = (run.path / "models" / f"fold_{fold}.txt").read_text()
        names = next(line for line in text.splitlines() if line.startswith("feature_names=")).split("=")[1].split()
        assert names and not set(names) & set(EXPECTED)
        assert {"ret_1", "rsi_14", "idx_ret_lag1"} <= set(names)  # the rest is still there


def test_a_dataset_that_fills_every_feature_drops_none(market: Dataset) -> None:
    """The full synthetic market over more sessions than volume_z_tod's warm-up leaves nothing out."""
    config = PipelineConfig(data=DataConfig(dataset="market", tickers=tuple(market.tickers["ticker"][:25])),
                            cv=CVConfig(train_days=3, test_days=1), evaluation=EvalConfig(top_k=3, min_names=10))
    data = build_research_data(config, market)
    assert data.dropped_features == {}
    assert data.frame[data.feature_columns].notna().any().all()


def test_the_error_switch_names_the_columns_before_any_model_is_fitted(bare: Dataset, tmp_path: Path) -> None:
    out = tmp_path / "run"
    with pytest.raises(ConfigFitError, match=r"are NaN on every event of dataset 'small-bare'") as caught:
        Pipeline(_config(bare.name, "error")).run(out, progress=False)
    message = str(caught.value)
    assert "\n" not in message and all(column in message for column in EXPECTED)
    assert "data.features_all_nan to 'drop'" in message
    assert not any((out / "models").iterdir())


def test_the_switch_takes_only_drop_or_error() -> None:
    with pytest.raises(ValueError, match="data.features_all_nan must be 'drop' or 'error', got 'keep'"):
        PipelineConfig.from_dict({"data": {"features_all_nan": "keep"}})
