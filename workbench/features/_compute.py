"""Batch features over history: the online engine's kernels run over all bars in one pass.

The dataset inputs — corporate actions, the universe (sectors, sizes, the index flag) and the context
tables — are required arguments: without corporate actions a split shows up as a return, without a
universe the sector and size features are NaN, without context the VIX, rate and macro-calendar features
are. A caller passes them (``**dataset_inputs(dataset)``), or passes ``None`` on purpose, or uses
``compute_dataset(dataset)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from workbench.features._context import check_context_names
from workbench.features._engine import OnlineFeatureEngine
from workbench.features._spec import FeatureSpec
from workbench.features._universe import FeatureUniverse

DATASET_INPUTS = ("corporate_actions", "universe", "context")


class _Required:
    """The default of an input that must be passed (``None`` included) rather than forgotten."""

    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Required()


def compute(bars: pd.DataFrame, spec: FeatureSpec | None = None, *,
            corporate_actions: pd.DataFrame | None = REQUIRED,
            universe: pd.DataFrame | list[str] | FeatureUniverse | None = REQUIRED,
            context: Mapping[str, pd.DataFrame] | None = REQUIRED,
            ref_close: pd.Series | None = None, ref_date: object = None, threads: int | None = None) -> pd.DataFrame:
    """One row per input bar (same index), one column per feature of ``spec`` (default: the catalog).

    ``bars`` are raw, as traded (``Dataset.bars(adjust="raw")``). ``corporate_actions`` make the features
    adjust on ex-dates exactly as the live engine does (None: no actions, raw prices are taken as continuous).
    ``universe`` is a ``tickers.parquet``-like frame, a list of symbols or a :class:`FeatureUniverse` (None:
    the tickers present in ``bars``, with no sectors or sizes). ``context`` maps context table names
    (``vix``, ``rates``, ``macro_events``: see :data:`~workbench.features._context.CONTEXTS`) to their rows
    (None: no context); each row is visible to a bar from its ``available_at`` on, exactly as in
    :func:`workbench.pit.asof_join`. ``ref_close``/``ref_date``: the close the universe's ``market_cap`` was
    measured at. ``threads``: see :class:`OnlineFeatureEngine`.

    This is the online engine run over all of history through its public API: a fresh engine is given
    every context table with :meth:`~OnlineFeatureEngine.update_context`, then every bar with one
    :meth:`~OnlineFeatureEngine.update`, so batch and online share each lookup and kernel.

    Raises
    ------
    TypeError
        When ``corporate_actions``, ``universe`` or ``context`` is not passed at all.
    """
    missing = [name for name, value in zip(DATASET_INPUTS, (corporate_actions, universe, context), strict=True)
               if value is REQUIRED]
    if missing:
        raise TypeError(f"compute() needs {', '.join(missing)}: pass them (None on purpose for none), e.g. "
                        "compute(bars, spec, **dataset_inputs(dataset)), or use compute_dataset(dataset)")
    spec = spec or FeatureSpec.default()
    if universe is None:
        if "ticker" not in bars:
            raise ValueError("bars have no 'ticker' column")
        universe = sorted(bars["ticker"].astype(str).unique())
    tables = _context_tables(context)
    engine = OnlineFeatureEngine(spec, universe, corporate_actions=corporate_actions, ref_close=ref_close,
                                 ref_date=ref_date, threads=threads)
    for name, table in tables.items():
        engine.update_context(name, table)
    return engine.update(bars)


def _context_tables(context: Mapping[str, pd.DataFrame] | None) -> Mapping[str, pd.DataFrame]:
    """The ``context`` tables by name; names the features do not know are refused rather than ignored."""
    if context is None:
        return {}
    if not isinstance(context, Mapping):
        raise TypeError(f"context must map a table name to its rows, e.g. {{'vix': vix}}, or be None; got "
                        f"{type(context).__name__}")
    check_context_names(context)
    return context
