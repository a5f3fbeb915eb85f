"""Batch features over history: the online engine's kernels run over all bars in one pass."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.features._engine import OnlineFeatureEngine
from workbench.features._spec import FeatureSpec
from workbench.features._universe import FeatureUniverse
from workbench.pit import asof_join


def compute(bars: pd.DataFrame, spec: FeatureSpec | None = None, *,
            tickers: pd.DataFrame | list[str] | FeatureUniverse | None = None,
            corporate_actions: pd.DataFrame | None = None, vix: pd.DataFrame | None = None,
            ref_close: pd.Series | None = None, ref_date: object = None, threads: int | None = None) -> pd.DataFrame:
    """One row per input bar (same index), one column per feature of ``spec`` (default: the catalog).

    ``bars`` are raw, as traded (``Dataset.bars(adjust="raw")``); ``corporate_actions`` make the
    features adjust on ex-dates exactly as the live engine does. ``vix`` (``available_at``, ``vix``) is
    joined point-in-time with :func:`workbench.pit.asof_join`. Without ``tickers``, the universe is
    the tickers present in ``bars`` (no sectors or sizes). ``threads``: see :class:`OnlineFeatureEngine`.
    """
    spec = spec or FeatureSpec.default()
    if tickers is None:
        if "ticker" not in bars:
            raise ValueError("bars have no 'ticker' column")
        tickers = sorted(bars["ticker"].astype(str).unique())
    engine = OnlineFeatureEngine(spec, tickers, corporate_actions=corporate_actions, ref_close=ref_close,
                                 ref_date=ref_date, threads=threads)
    return engine._frame(bars, _asof_vix(vix))


def _asof_vix(vix: pd.DataFrame | None):
    def lookup(ts: np.ndarray) -> np.ndarray:
        if vix is None:
            return np.full(len(ts), np.nan)
        stamps = pd.DataFrame({"ts": pd.DatetimeIndex(ts.astype("datetime64[ns]")).tz_localize("UTC")})
        return asof_join(stamps, vix, on="available_at", columns=["vix"])["vix"].to_numpy(dtype=float)

    return lookup
