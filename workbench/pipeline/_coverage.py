"""Features a dataset leaves entirely NaN, each with the reason: no quotes (spread, imbalance), no sectors
(sector lags, the sector category), no VIX table, no market caps, or a warm-up longer than the data. The
pipeline reports them before training and leaves them out of the model inputs (or refuses, by config)."""

from __future__ import annotations

import pandas as pd

from workbench.data import EXCHANGE_TZ, Dataset
from workbench.errors import DatasetNotFoundError
from workbench.features import Feature, FeatureSpec
from workbench.features.families import family_for


def _has_values(frame: pd.DataFrame, column: str) -> bool:
    return column in frame and bool(frame[column].notna().any())


def _missing_input(kind: str, column: str, bars: pd.DataFrame, dataset: Dataset) -> str | None:
    """The dataset input a feature of family ``kind`` reads, when that input is absent; else None."""
    tickers = dataset.tickers
    if kind in ("spread_bps", "imbalance"):
        quoted = all(_has_values(bars, c) for c in (("bid", "ask") if kind == "spread_bps" else ("bid_size",
                                                                                                  "ask_size")))
        return None if quoted else "no quotes (bid/ask and their sizes) in the bars"
    if kind == "sector_lags" or (kind == "categories" and column == "sector"):
        return None if _has_values(tickers, "sector") else "no sectors in tickers.parquet"
    if kind == "log_mcap":
        return None if _has_values(tickers, "market_cap") else "no market_cap in tickers.parquet"
    if kind == "vix":
        try:
            dataset.context("vix")
        except DatasetNotFoundError:
            return "no vix context table in the dataset"
    return None


def _short_history(feature: Feature, bars: pd.DataFrame) -> str | None:
    """A feature that needs more sessions of history than the bars hold (``min_sessions``)."""
    needed = feature.params.get("min_sessions")
    n_sessions = pd.DatetimeIndex(bars["ts"]).tz_convert(EXCHANGE_TZ).normalize().nunique()
    if needed is None or n_sessions >= needed:
        return None
    return f"{feature.kind} needs {needed} sessions of history (min_sessions) and the data has {n_sessions}"


def all_nan_features(events: pd.DataFrame, spec: FeatureSpec, bars: pd.DataFrame,
                     dataset: Dataset) -> dict[str, str]:
    """``{column: reason}`` for every feature of ``spec`` that is NaN on every row of ``events`` (the model
    inputs), in spec order."""
    empty: dict[str, str] = {}
    for feature in spec.features:
        for column in family_for(feature, spec.index_ticker).columns:
            if column in events and events[column].notna().any():
                continue
            reason = _missing_input(feature.kind, column, bars, dataset) or _short_history(feature, bars)
            empty[column] = reason or (f"{feature.kind} has no value on any labelled event of these {len(bars):,} "
                                       "bars (e.g. a warm-up longer than the data)")
    return empty
