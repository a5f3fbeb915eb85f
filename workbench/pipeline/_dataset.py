"""From a configuration to the research table: raw bars → features (the same engine as live, adjusting
point-in-time itself) → triple-barrier labels on adjusted prices, entering where the backtest fills, with
uniqueness weights, one row per labelled event of a stock; and the adjusted bars the backtests trade."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from workbench.data import Dataset, dataset_path
from workbench.data.synth import SynthConfig, build_synthetic_market
from workbench.evaluation import MarketPrices
from workbench.features import FeatureSpec, compute, dataset_inputs
from workbench.labels import average_uniqueness_panel, triple_barrier_panel
from workbench.pipeline._config import PipelineConfig
from workbench.pipeline._coverage import all_nan_features
from workbench.pipeline._fit import ConfigFitError, DatasetFit, check_fit

LABEL_COLUMNS = ("y", "t1", "ret", "barrier", "weight", "entry_ts")
_PRICE_INPUTS = ("ts", "ticker", "open", "close", "vwap", "volume", "bid", "ask")
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResearchData:
    """Events (rows) with their features, label, label end ``t1``, label return and weight, plus the
    back-adjusted bars (open, close, vwap, quotes, volume; ts × ticker) the backtests fill at.

    ``index_ticker`` is the dataset's index instrument (None: the run has no index features and no benchmark,
    ``index_note`` says so); ``dropped_features`` maps each feature the data left entirely NaN, and so left out
    of ``feature_columns``, to the reason."""

    frame: pd.DataFrame
    feature_columns: list[str]
    prices: MarketPrices
    index_ticker: str | None
    dropped_features: dict[str, str] = field(default_factory=dict)
    skipped_index_features: tuple[str, ...] = ()
    index_note: str | None = None

    @property
    def X(self) -> pd.DataFrame:
        """Features, row-aligned with ``frame``."""
        return self.frame[self.feature_columns]

    @property
    def t1(self) -> pd.Series:
        """Label end times indexed by event time, row-aligned: what the purged splitters read."""
        return pd.Series(self.frame["t1"].array, index=pd.DatetimeIndex(self.frame["ts"]), name="t1")


def open_dataset(config: PipelineConfig) -> Dataset:
    """The configured dataset, built from ``data.synth`` first when it is missing and synth is set."""
    data = config.data
    if not (dataset_path(data.dataset, must_exist=False) / "bars").is_dir() and data.synth is not None:
        build_synthetic_market(SynthConfig(**data.synth), data.dataset, progress=False)
    return Dataset(data.dataset)


def build_research_data(config: PipelineConfig, dataset: Dataset | None = None,
                        fit: DatasetFit | None = None) -> ResearchData:
    """Features and labels of the configured bars; the index instrument feeds features but is not an event.

    The configuration is checked against the dataset first (:func:`check_fit`, unless ``fit`` is its result).
    Features the data leaves entirely NaN on the events are logged and dropped, or refused when
    ``data.features_all_nan`` is ``"error"``.
    """
    dataset = dataset or open_dataset(config)
    fit = fit or check_fit(config, dataset)
    spec, index = fit.spec, fit.index_ticker
    if fit.index_note is not None:
        _log.warning("%s Left out: %s.", fit.index_note, ", ".join(fit.skipped_index_features))
    tickers = None if config.data.tickers is None else sorted({*config.data.tickers, *([index] if index else [])})
    bars = dataset.bars(tickers, config.data.start, config.data.end, adjust="raw")
    features = compute(bars, spec, **dataset_inputs(dataset))
    adjusted = dataset.adjust(bars[[c for c in _PRICE_INPUTS if c in bars]], "backward")
    labels_config = config.labels
    minute = bars["ts"].array.as_unit("ns").asi8 // 60_000_000_000
    events = (minute % labels_config.event_every == 0) & (bars["ticker"] != index).to_numpy()
    # adjusted prices: a split's or dividend's overnight jump is neither volatility nor a barrier touch; the
    # scale of a back-adjusted span is constant, so its returns are those of prices adjusted as of the event
    labels = triple_barrier_panel(adjusted, pt_sl=tuple(labels_config.pt_sl),
                                  vertical_bars=labels_config.vertical_bars, min_ret=labels_config.min_ret,
                                  span=labels_config.volatility_span, events=events,
                                  clip_to_session=labels_config.clip_to_session,
                                  entry_delay_bars=config.label_entry_delay, entry_price=config.label_entry_price)
    weight = average_uniqueness_panel(bars[["ts", "ticker"]], labels)
    labelled = labels["y"].notna().to_numpy()
    frame = features.loc[labelled].reset_index(drop=True)
    frame.insert(0, "ts", bars.loc[labelled, "ts"].array)
    if "ticker" not in frame:  # the spec has no categoricals: keep the symbol to group by, not as a feature
        frame.insert(1, "ticker", pd.Categorical(bars.loc[labelled, "ticker"].to_numpy()))
    frame["y"] = labels.loc[labelled, "y"].astype(np.int64).to_numpy()
    frame["t1"] = labels.loc[labelled, "t1"].array
    frame["ret"] = labels.loc[labelled, "ret"].to_numpy(dtype=float)
    frame["barrier"] = labels.loc[labelled, "barrier"].astype(str).to_numpy()
    frame["weight"] = weight[labelled].to_numpy()
    frame["entry_ts"] = labels.loc[labelled, "entry_ts"].array
    frame = frame.sort_values(["ts", "ticker"], kind="stable").reset_index(drop=True)
    dropped = _drop_all_nan(config, frame, spec, bars, dataset)
    feature_columns = [c for c in features.columns if c not in dropped]
    return ResearchData(frame=frame.drop(columns=list(dropped)), feature_columns=feature_columns,
                        prices=MarketPrices.from_bars(adjusted), index_ticker=index, dropped_features=dropped,
                        skipped_index_features=fit.skipped_index_features, index_note=fit.index_note)


def _drop_all_nan(config: PipelineConfig, frame: pd.DataFrame, spec: FeatureSpec, bars: pd.DataFrame,
                  dataset: Dataset) -> dict[str, str]:
    """The features the data leaves NaN on every event, reported (or refused) before any training."""
    dropped = all_nan_features(frame, spec, bars, dataset)
    if not dropped:
        return dropped
    listed = "; ".join(f"{column}: {reason}" for column, reason in dropped.items())
    if config.data.features_all_nan == "error":
        raise ConfigFitError(f"feature(s) {list(dropped)} are NaN on every event of dataset {dataset.name!r} "
                             f"({listed}); remove them from features or set data.features_all_nan to 'drop'")
    _log.warning("dataset %r leaves %d feature(s) entirely NaN, left out of the model inputs: %s", dataset.name,
                 len(dropped), listed)
    return dropped
