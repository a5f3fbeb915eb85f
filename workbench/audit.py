"""Causality audit: prove a feature function does not peek at bars from after the time it is stamped.

The test is a perturbation: change every bar after a cut time, recompute, and require every output
row at or before the cut to be unchanged. A row that moves depended on the future.

>>> report = check_causality(lambda b: b.groupby("ticker")["close"].shift(1), bars)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from workbench.data._schema import PRICE_COLUMNS, require_columns
from workbench.errors import LookAheadError

_PRICE_SIGMA = 0.02  # log-scale of the random price moves: large enough to flip signs and ranks
_SIZE_SIGMA = 0.5


@dataclass(frozen=True)
class LeakDetail:
    """The first output row (earliest bar) that changed when only bars after ``cut`` were changed."""

    ticker: Any
    ts: pd.Timestamp
    cut: pd.Timestamp
    base_value: Any
    perturbed_value: Any


@dataclass(frozen=True)
class CausalityReport:
    """What the audit checked (cut times, row comparisons) and which output columns leaked."""

    cuts: list[pd.Timestamp]
    checked_rows: int
    leaky_columns: dict[str, LeakDetail] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no output column changed at or before any cut."""
        return not self.leaky_columns

    def __str__(self) -> str:
        head = f"causality audit: {len(self.cuts)} cut(s), {self.checked_rows} rows compared"
        if self.ok:
            return f"{head}: no look-ahead found"
        lines = [f"{head}: LOOK-AHEAD in {len(self.leaky_columns)} column(s)"]
        for name, leak in self.leaky_columns.items():
            lines.append(
                f"  {name!r}: ticker {leak.ticker} at {leak.ts} went {leak.base_value!r} -> "
                f"{leak.perturbed_value!r} when only bars after the cut {leak.cut} were changed"
            )
        lines.append("  (a column also fails this way if fn is not deterministic)")
        return "\n".join(lines)


def check_causality(
    fn: Callable[[pd.DataFrame], pd.DataFrame | pd.Series],
    bars: pd.DataFrame,
    n_cuts: int = 5,
    *,
    seed: int = 0,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    raise_on_leak: bool = True,
) -> CausalityReport:
    """Audit ``fn`` (bars → one output row per bar, same index) for look-ahead at ``n_cuts`` random cuts.

    For each cut, every bar after it (all tickers) is perturbed with :func:`perturb_after` and
    ``fn``'s rows at or before the cut must stay equal within ``rtol``/``atol`` (NaN equals NaN;
    non-numeric columns exactly). Raises :class:`~workbench.errors.LookAheadError` on a leak unless
    ``raise_on_leak`` is False; the returned report says what was checked and what leaked.
    """
    _check_bars(bars, "bars")
    if isinstance(n_cuts, bool) or not isinstance(n_cuts, int | np.integer) or n_cuts < 1:
        raise ValueError(f"n_cuts must be a positive integer, got {n_cuts!r}")
    times = pd.DatetimeIndex(bars["ts"].dropna().unique()).sort_values()
    if len(times) < 2:
        raise ValueError("bars must span at least two distinct timestamps to place a cut between them")
    rng = np.random.default_rng(seed)
    candidates = times[:-1]  # a cut at the last bar would perturb nothing
    cuts = list(candidates[np.sort(rng.choice(len(candidates), min(n_cuts, len(candidates)), replace=False))])

    base = _as_frame(fn(bars.copy()), bars, None)
    stamps = bars["ts"].dt.tz_convert(None).to_numpy()
    leaks: dict[str, LeakDetail] = {}
    checked = 0
    for cut in cuts:
        out = _as_frame(fn(perturb_after(bars, cut, rng)), bars, base.columns)
        rows = np.flatnonzero((bars["ts"] <= cut).to_numpy())
        checked += len(rows)
        for j, name in enumerate(base.columns):
            if str(name) in leaks:
                continue
            before, after = base.iloc[rows, j], out.iloc[rows, j]
            bad = rows[_differs(before, after, rtol, atol)]
            if len(bad):
                first = bad[np.argmin(stamps[bad])]
                leaks[str(name)] = LeakDetail(
                    ticker=bars["ticker"].iloc[first],
                    ts=bars["ts"].iloc[first],
                    cut=cut,
                    base_value=_plain(base.iloc[first, j]),
                    perturbed_value=_plain(out.iloc[first, j]),
                )
    report = CausalityReport(cuts=cuts, checked_rows=checked, leaky_columns=leaks)
    if raise_on_leak and not report.ok:
        raise LookAheadError(str(report))
    return report


def perturb_after(bars: pd.DataFrame, cut: Any, rng: np.random.Generator) -> pd.DataFrame:
    """A copy of ``bars`` in which every bar with ``ts > cut`` is randomly changed yet stays a valid bar.

    Prices move by random factors with high >= max(open, close) >= min(open, close) >= low > 0 and
    vwap inside [low, high]; volume, trades and quote sizes are rescaled; bid and ask move together
    with the spread kept positive. Missing values stay missing; other columns are left as they are.
    """
    _check_bars(bars, "bars")
    cut = pd.Timestamp(cut)
    if cut.tzinfo is None:
        raise ValueError(f"cut {cut} has no timezone: pass a tz-aware timestamp")
    out = bars.copy()
    after = (bars["ts"] > cut).to_numpy()
    n = int(after.sum())

    def moved(column: str, sigma: float) -> np.ndarray:
        return bars[column].to_numpy(dtype="float64", na_value=np.nan)[after] * np.exp(rng.normal(0.0, sigma, n))

    new = {"open": moved("open", _PRICE_SIGMA), "close": moved("close", _PRICE_SIGMA)}
    new["high"] = np.fmax(moved("high", _PRICE_SIGMA), np.fmax(new["open"], new["close"]))
    new["low"] = np.fmin(moved("low", _PRICE_SIGMA), np.fmin(new["open"], new["close"]))
    if "vwap" in bars:
        new["vwap"] = np.clip(moved("vwap", _PRICE_SIGMA), new["low"], new["high"])
    for column in ("volume", "trades", "bid_size", "ask_size"):
        if column in bars:
            new[column] = moved(column, _SIZE_SIGMA)
    if "bid" in bars and "ask" in bars:
        quote_move = np.exp(rng.normal(0.0, _PRICE_SIGMA, n))
        widen = 1.0 + rng.uniform(1e-4, 1e-2, n)  # ask/bid grows strictly, so bid < ask stays true
        new["bid"] = bars["bid"].to_numpy(dtype="float64", na_value=np.nan)[after] * quote_move
        new["ask"] = bars["ask"].to_numpy(dtype="float64", na_value=np.nan)[after] * quote_move * widen
    for column, values in new.items():
        original = bars[column]
        full = original.to_numpy(dtype="float64", na_value=np.nan, copy=True)
        full[after] = values
        full[original.isna().to_numpy()] = np.nan
        if pd.api.types.is_integer_dtype(original.dtype):
            full = np.ceil(full)  # a positive count stays positive
        out[column] = pd.Series(full, index=out.index).astype(original.dtype)
    return out


def _check_bars(bars: pd.DataFrame, what: str) -> None:
    if not isinstance(bars, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(bars).__name__}")
    require_columns(bars, ("ts", "ticker", *PRICE_COLUMNS), what)
    if not isinstance(bars["ts"].dtype, pd.DatetimeTZDtype):
        raise ValueError(f"{what} column 'ts' must hold tz-aware timestamps, got dtype {bars['ts'].dtype}")


def _as_frame(result: Any, bars: pd.DataFrame, columns: pd.Index | None) -> pd.DataFrame:
    """``fn``'s output as a frame, after checking it is aligned on ``bars.index`` (and has ``columns``)."""
    if isinstance(result, pd.Series):
        result = result.to_frame(name="output" if result.name is None else result.name)
    if not isinstance(result, pd.DataFrame):
        raise TypeError(f"fn must return a DataFrame or Series, got {type(result).__name__}")
    if not result.index.equals(bars.index):
        raise ValueError(
            f"fn must return one row per bar aligned on bars.index (same labels, same order); got {len(result)} "
            f"rows for {len(bars)} bars (groupby().rolling() adds a level: drop it with .droplevel(0))"
        )
    if columns is not None and not result.columns.equals(columns):
        raise ValueError(
            f"fn returned columns {list(result.columns)} on perturbed bars but {list(columns)} on the originals"
        )
    return result


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python scalar it holds, so reports read ``1.5`` rather than ``np.float64(1.5)``."""
    return value.item() if isinstance(value, np.generic) else value


def _differs(base: pd.Series, other: pd.Series, rtol: float, atol: float) -> np.ndarray:
    """Per row, whether two output columns disagree (numbers within tolerance, NaN == NaN)."""
    if pd.api.types.is_numeric_dtype(base.dtype) and pd.api.types.is_numeric_dtype(other.dtype):
        x = base.to_numpy(dtype="float64", na_value=np.nan)
        y = other.to_numpy(dtype="float64", na_value=np.nan)
        return ~np.isclose(x, y, rtol=rtol, atol=atol, equal_nan=True)
    x, y = base.astype(object).to_numpy(), other.astype(object).to_numpy()
    x_missing, y_missing = pd.isna(x), pd.isna(y)
    differs = x_missing != y_missing
    present = ~(x_missing | y_missing)
    differs[present] = x[present] != y[present]
    return differs
