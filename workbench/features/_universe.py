"""The instruments a feature engine knows (ticker → row, sector, index flag, size) and their
corporate actions, indexed so the kernels can adjust state on ex-dates without pandas."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from workbench.data._schema import require_columns
from workbench.errors import UnknownTickerError


@dataclass(frozen=True)
class FeatureUniverse:
    """Static per-ticker inputs, aligned with ``tickers`` (row ``i`` of every engine state is ticker ``i``;
    rows are in symbol order).

    ``log_shares`` is log(market_cap / ref_close): with the split ratios since the reference session it
    gives the market cap as of any bar; NaN when the market cap is unknown.
    """

    tickers: np.ndarray
    sector_code: np.ndarray  # -1: no sector (the index, or unknown)
    sector_names: tuple[str, ...]
    is_index: np.ndarray
    index_row: int  # row of the spec's index instrument, -1 when absent
    log_shares: np.ndarray
    ref_session: np.ndarray  # proleptic ordinal of the session whose close ``log_shares`` refers to

    @classmethod
    def build(cls, tickers: pd.DataFrame | list[str], index_ticker: str = "SPY",
              ref_close: pd.Series | None = None, ref_date: dt.date | None = None) -> FeatureUniverse:
        """From a ``tickers.parquet``-like frame (or a bare list of symbols: no sectors, no sizes).

        ``ref_close`` (indexed by ticker) is the raw close at which ``market_cap`` was measured, on
        ``ref_date``; without it the log market cap feature is NaN.
        """
        frame = pd.DataFrame({"ticker": list(tickers)}) if isinstance(tickers, list) else tickers.copy()
        require_columns(frame, ["ticker"], "tickers")
        # rows in symbol order: the lake's (ticker, ts) bars then arrive already in engine order
        frame = frame.assign(ticker=frame["ticker"].astype(str)).sort_values("ticker", kind="stable")
        symbols = frame["ticker"].to_numpy(dtype=object)
        if len(set(symbols)) != len(symbols):
            raise ValueError("tickers contains duplicate symbols")
        sectors = frame["sector"] if "sector" in frame else pd.Series([None] * len(frame))
        is_index = (frame["is_index"].fillna(False).to_numpy(dtype=bool) if "is_index" in frame
                    else symbols == index_ticker)
        sector_names = tuple(sorted({str(s) for s, ix in zip(sectors, is_index, strict=True)
                                     if isinstance(s, str) and not ix}))
        lookup = {name: code for code, name in enumerate(sector_names)}
        sector_code = np.array([-1 if ix or not isinstance(s, str) else lookup[s]
                                for s, ix in zip(sectors, is_index, strict=True)], dtype=np.int64)
        log_shares = np.full(len(frame), np.nan)
        if ref_close is not None and "market_cap" in frame:
            closes = ref_close.reindex(symbols).to_numpy(dtype=float)
            caps = frame["market_cap"].to_numpy(dtype=float)
            with np.errstate(invalid="ignore", divide="ignore"):
                log_shares = np.log(caps / closes)
        ordinal = ref_date.toordinal() if ref_date is not None else 0
        rows = np.flatnonzero(symbols == index_ticker)
        return cls(
            tickers=symbols,
            sector_code=sector_code,
            sector_names=sector_names,
            is_index=is_index,
            index_row=int(rows[0]) if len(rows) else -1,
            log_shares=log_shares,
            ref_session=np.full(len(frame), ordinal, dtype=np.int64),
        )

    @property
    def n(self) -> int:
        """Number of tickers."""
        return len(self.tickers)

    @property
    def n_sectors(self) -> int:
        """Number of distinct sectors."""
        return len(self.sector_names)

    @cached_property
    def _symbol_set(self) -> pa.Array:
        """The symbols as an Arrow array, built once: Arrow's hash lookup runs on every engine update."""
        return pa.array(self.tickers, type=pa.string())

    def _codes(self, tickers: object) -> np.ndarray:
        symbols = tickers.__arrow_array__() if hasattr(tickers, "__arrow_array__") else None  # zero-copy
        if symbols is None or not pa.types.is_string(symbols.type):
            try:
                symbols = pa.array(tickers, type=pa.string(), from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
                return pd.Index(self.tickers).get_indexer(pd.Index(tickers, dtype=object))
        return pc.index_in(symbols, value_set=self._symbol_set).to_numpy(zero_copy_only=False)

    def rows_of(self, tickers: np.ndarray, stamps: np.ndarray | None = None) -> np.ndarray:
        """Engine row of each ticker; an unknown one raises, naming it (and its first timestamp)."""
        codes = self._codes(tickers)
        codes = np.where(np.isnan(codes), -1, codes) if codes.dtype.kind == "f" else codes
        if (codes < 0).any():
            bad = int(np.flatnonzero(codes < 0)[0])
            when = f" at {pd.Timestamp(stamps[bad], tz='UTC')}" if stamps is not None else ""
            unknown = sorted({str(t) for t in np.asarray(tickers)[codes < 0]})
            raise UnknownTickerError(f"unknown ticker {tickers[bad]!r}{when}: not in this engine's universe "
                                     f"of {self.n} tickers (all unknown: {unknown[:10]})")
        return codes.astype(np.int64)


@dataclass(frozen=True)
class AdjustmentBook:
    """Splits and cash dividends per ticker row, as CSR arrays sorted by ex-date (session ordinals)."""

    offsets: np.ndarray  # actions of row i are [offsets[i], offsets[i+1])
    ex_session: np.ndarray
    split_ratio: np.ndarray
    cash_dividend: np.ndarray

    @classmethod
    def build(cls, actions: pd.DataFrame | None, universe: FeatureUniverse) -> AdjustmentBook:
        """From a ``corporate_actions.parquet``-like frame; actions of tickers outside the universe are ignored."""
        if actions is None or actions.empty:
            empty = np.zeros(0)
            return cls(np.zeros(universe.n + 1, dtype=np.int64), empty.astype(np.int64), empty, empty)
        require_columns(actions, ["ticker", "ex_date", "split_ratio", "cash_dividend"], "corporate actions")
        rows = pd.Index(universe.tickers).get_indexer(actions["ticker"].astype(str))
        keep = rows >= 0
        ex = np.array([pd.Timestamp(d).date().toordinal() for d in actions["ex_date"]], dtype=np.int64)
        ratio = actions["split_ratio"].to_numpy(dtype=float)
        cash = actions["cash_dividend"].to_numpy(dtype=float)
        if (~np.isfinite(ratio[keep]) | (ratio[keep] <= 0)).any():
            raise ValueError("corporate actions hold a non-positive or NaN split_ratio")
        order = np.lexsort((ex[keep], rows[keep]))
        kept_rows = rows[keep][order]
        offsets = np.zeros(universe.n + 1, dtype=np.int64)
        np.add.at(offsets, kept_rows + 1, 1)
        return cls(np.cumsum(offsets), ex[keep][order], ratio[keep][order], np.nan_to_num(cash[keep][order]))
