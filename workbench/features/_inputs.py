"""What a lake dataset contributes to the features beyond bars: the universe, corporate actions, the
point-in-time context tables and the reference close of ``market_cap`` — gathered once for ``compute`` and the
online engine alike."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from workbench.data import Dataset
from workbench.errors import DatasetNotFoundError
from workbench.features._compute import compute
from workbench.features._context import CONTEXTS
from workbench.features._spec import FeatureSpec


def dataset_inputs(dataset: Dataset | str) -> dict[str, Any]:
    """Keyword arguments for :func:`compute` from ``dataset``: ``corporate_actions``, ``universe`` (the ticker
    table), ``context`` (each context table the features read that the dataset has — ``vix``, ``rates``,
    ``macro_events`` — or None when it has none), ``ref_close`` and
    ``ref_date``. :class:`OnlineFeatureEngine` takes the same but ``context`` (it is fed with
    ``update_context``), with ``universe`` as its ``tickers``.

    ``market_cap`` in ``tickers.parquet`` is taken as measured at the first session's first close
    (``ref_close``/``ref_date``): that fixes each ticker's share count, so ``log_mcap`` at a bar is the
    share count (split-adjusted from then on) times that bar's own close — nothing from later bars.
    """
    dataset = dataset if isinstance(dataset, Dataset) else Dataset(dataset)
    if not dataset.dates:
        raise DatasetNotFoundError(f"dataset {dataset.name!r} holds no bars")
    first: dt.date = dataset.dates[0]
    ref = dataset.sql("SELECT ticker, arg_min(close, ts) AS close FROM bars WHERE date = ? GROUP BY ticker",
                      [first])
    context = {}
    for name in CONTEXTS:
        try:
            context[name] = dataset.context(name)
        except DatasetNotFoundError:
            continue
    return {"universe": dataset.tickers, "corporate_actions": dataset.corporate_actions,
            "context": context or None,
            "ref_close": ref.set_index("ticker")["close"], "ref_date": first}


def compute_dataset(dataset: Dataset | str, spec: FeatureSpec | None = None, *, tickers: list[str] | None = None,
                    start: Any = None, end: Any = None) -> pd.DataFrame:
    """Features of ``dataset``'s raw bars (optionally a ticker subset and time range), indexed by the
    bars' (ts, ticker). The dataset's index instrument is always included, since the cross-asset features read
    it; a spec naming another index is refused (without an index, the cross-asset features are NaN)."""
    dataset = dataset if isinstance(dataset, Dataset) else Dataset(dataset)
    spec = spec or FeatureSpec.default()
    index = dataset.index_ticker
    if index is not None and index != spec.index_ticker:
        raise ValueError(f"the feature spec's index_ticker is {spec.index_ticker!r} but dataset {dataset.name!r} "
                         f"has index {index!r} (tickers.parquet is_index); use index_ticker={index!r}")
    wanted = None if tickers is None else sorted({*tickers, *([index] if index else [])})
    bars = dataset.bars(wanted, start, end, adjust="raw")
    features = compute(bars, spec, **dataset_inputs(dataset))
    features.index = pd.MultiIndex.from_frame(bars[["ts", "ticker"]])
    return features
