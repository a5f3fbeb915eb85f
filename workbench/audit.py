"""Causality audit: show a feature function does not read anything published after the time it is stamped.

The test is a perturbation: at each cut time, change one channel of everything after the cut —
bar values, which bars exist, which quotes are missing, context rows published after the cut,
corporate actions with ex-dates after the cut's session — recompute, and require every output row
at or before the cut to be unchanged. A row that moves depended on the future through that channel.

What it proves: for the cuts tried, no output at or before a cut depends on those channels after
it. What it cannot: a dependence on the future through an input the audit does not perturb (a
global, a file read inside ``fn``, a column it leaves alone such as ``ticker``), a leak at a time no
cut falls near, or one that a random perturbation happens not to move (a leak through a rare event).
Cut placement (:mod:`workbench._audit_cuts`) makes near-boundary leaks unlikely to slip through.

>>> report = check_causality(lambda b: b.groupby("ticker")["close"].shift(1), bars)  # doctest: +SKIP
>>> check_causality(lambda b, vix, corporate_actions: compute(b, universe=None, corporate_actions=corporate_actions,
...                 context={"vix": vix}), bars, context={"vix": vix}, corporate_actions=actions)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from workbench._audit_cuts import DEFAULT_N_CUTS, bar_times_of, check_n_cuts, cut_times, place_cuts
from workbench._audit_perturb import (
    QUOTE_COLUMNS,
    check_bars,
    perturb_after,
    perturb_bar_existence,
    perturb_context,
    perturb_corporate_actions,
    perturb_quotes,
)
from workbench.errors import DataValidationError, LookAheadError

__all__ = [
    "CHANNELS",
    "DEFAULT_N_CUTS",
    "CausalityReport",
    "LeakDetail",
    "check_causality",
    "cut_times",
    "perturb_after",
    "perturb_bar_existence",
    "perturb_context",
    "perturb_corporate_actions",
    "perturb_quotes",
]

#: each perturbed channel and what it changes after the cut (the words a leak report uses)
CHANNELS: dict[str, str] = {
    "values": "bar values (prices, volumes, quotes)",
    "bars": "which bars exist (bars dropped and inserted)",
    "quotes": "which quotes are missing",
    "context": "context rows published after the cut",
    "corporate_actions": "corporate actions with ex-dates after the cut's session",
}


@dataclass(frozen=True)
class LeakDetail:
    """The first output row (earliest bar) that changed when only ``channel`` after ``cut`` was changed."""

    ticker: Any
    ts: pd.Timestamp
    cut: pd.Timestamp
    base_value: Any
    perturbed_value: Any
    channel: str = "values"


@dataclass(frozen=True)
class CausalityReport:
    """What the audit checked (cut times, channels, row comparisons) and which output columns leaked."""

    cuts: list[pd.Timestamp]
    checked_rows: int
    leaky_columns: dict[str, LeakDetail] = field(default_factory=dict)
    channels: tuple[str, ...] = ("values",)

    @property
    def ok(self) -> bool:
        """True when no output column changed at or before any cut."""
        return not self.leaky_columns

    def __str__(self) -> str:
        head = (f"causality audit: {len(self.cuts)} cut(s) x {len(self.channels)} channel(s) "
                f"({', '.join(self.channels)}), {self.checked_rows} rows compared")
        if self.ok:
            return f"{head}: no look-ahead found"
        lines = [f"{head}: LOOK-AHEAD in {len(self.leaky_columns)} column(s)"]
        for name, leak in self.leaky_columns.items():
            lines.append(
                f"  {name!r}: ticker {leak.ticker} at {leak.ts} went {leak.base_value!r} -> "
                f"{leak.perturbed_value!r} when only {CHANNELS[leak.channel]} after the cut {leak.cut} changed"
            )
        lines.append("  (a column also fails this way if fn is not deterministic)")
        return "\n".join(lines)


def check_causality(
    fn: Callable[..., pd.DataFrame | pd.Series],
    bars: pd.DataFrame,
    n_cuts: int = DEFAULT_N_CUTS,
    *,
    context: Mapping[str, pd.DataFrame] | None = None,
    corporate_actions: pd.DataFrame | None = None,
    seed: int = 0,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    raise_on_leak: bool = True,
) -> CausalityReport:
    """Audit ``fn`` (bars → one output row per bar) for look-ahead through every channel at ``n_cuts`` cuts.

    ``fn`` is called as ``fn(bars, **context, corporate_actions=corporate_actions)``, each keyword only
    when given (``context={"vix": vix}`` arrives as ``vix=``). ``bars`` reach ``fn`` with a fresh
    RangeIndex (bars inserted by the audit get new labels), and ``fn`` must return rows aligned on the
    index it receives. Cuts come from
    :func:`cut_times`; at each, every channel of :data:`CHANNELS` that applies (quotes when bars carry
    them, context and corporate actions when given) is perturbed on its own, and ``fn``'s rows for the
    bars at or before the cut must stay equal within ``rtol``/``atol`` (NaN equals NaN; non-numeric
    columns exactly). Raises :class:`~workbench.errors.LookAheadError` on a leak unless
    ``raise_on_leak`` is False; the report says what was checked and what leaked, through which channel.
    """
    check_bars(bars, "bars")
    check_n_cuts(n_cuts)
    frame = bars.reset_index(drop=True)
    tables = _checked_context(context)
    rng = np.random.default_rng(seed)
    cuts = place_cuts(bar_times_of(frame), n_cuts, rng)
    channels = [c for c, applies in (("values", True), ("bars", True),
                                     ("quotes", any(q in frame for q in QUOTE_COLUMNS)),
                                     ("context", bool(tables)), ("corporate_actions", corporate_actions is not None))
                if applies]
    inputs = {**tables, **({} if corporate_actions is None else {"corporate_actions": corporate_actions})}

    base = _as_frame(fn(frame.copy(), **_copies(inputs)), frame, None)
    base_values = [_values(base.iloc[:, j]) for j in range(base.shape[1])]
    stamps = frame["ts"].to_numpy()
    until = frame["ts"].max()
    leaks: dict[str, LeakDetail] = {}
    checked = 0
    for cut in cuts:
        rows = np.flatnonzero((frame["ts"] <= cut).to_numpy())
        for channel in channels:
            perturbed, perturbed_inputs = _perturbed(channel, frame, inputs, cut, rng, until)
            out = _as_frame(fn(perturbed, **perturbed_inputs), perturbed, base.columns)
            at = perturbed.index.get_indexer(rows)  # the rows at or before the cut are in both versions
            checked += len(rows)
            for j, name in enumerate(base.columns):
                if str(name) in leaks:
                    continue
                after = _values(out.iloc[:, j])[at]
                bad = np.flatnonzero(_differs(base_values[j][rows], after, rtol, atol))
                if len(bad):
                    first = bad[np.argmin(stamps[rows[bad]])]
                    leaks[str(name)] = LeakDetail(
                        ticker=frame["ticker"].iloc[rows[first]],
                        ts=frame["ts"].iloc[rows[first]],
                        cut=cut,
                        base_value=_plain(base.iloc[rows[first], j]),
                        perturbed_value=_plain(out.iloc[at[first], j]),
                        channel=channel,
                    )
    report = CausalityReport(cuts=cuts, checked_rows=checked, leaky_columns=leaks, channels=tuple(channels))
    if raise_on_leak and not report.ok:
        raise LookAheadError(str(report))
    return report


def _checked_context(context: Mapping[str, pd.DataFrame] | None) -> dict[str, pd.DataFrame]:
    """The context tables by keyword, refusing names that clash with fn's other arguments."""
    if context is None:
        return {}
    if not isinstance(context, Mapping):
        raise DataValidationError(f"context must map keyword names to tables, e.g. {{'vix': vix}}; "
                                  f"got {type(context).__name__}")
    clashes = sorted({"bars", "corporate_actions"} & set(context))
    if clashes:
        raise DataValidationError(f"context names {clashes} clash with fn's own arguments; "
                                  f"pass corporate actions as corporate_actions=, not in context")
    return dict(context)


def _copies(inputs: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Fresh copies, so an ``fn`` that changes its inputs in place cannot change the next run's."""
    return {name: table.copy() for name, table in inputs.items()}


def _perturbed(channel: str, bars: pd.DataFrame, inputs: dict[str, pd.DataFrame], cut: pd.Timestamp,
               rng: np.random.Generator, until: pd.Timestamp) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The bars and inputs of one run: ``channel`` changed after ``cut``, everything else as it was."""
    others = _copies(inputs)
    if channel == "values":
        return perturb_after(bars, cut, rng), others
    if channel == "bars":
        return perturb_bar_existence(bars, cut, rng), others
    if channel == "quotes":
        return perturb_quotes(bars, cut, rng), others
    if channel == "context":
        for name in others:
            if name != "corporate_actions":
                others[name] = perturb_context(inputs[name], cut, rng, until=until, name=name)
        return bars.copy(), others
    others["corporate_actions"] = perturb_corporate_actions(inputs["corporate_actions"], cut, rng, bars)
    return bars.copy(), others


def _as_frame(result: Any, bars: pd.DataFrame, columns: pd.Index | None) -> pd.DataFrame:
    """``fn``'s output as a frame, after checking it is aligned on ``bars.index`` (and has ``columns``)."""
    if isinstance(result, pd.Series):
        result = result.to_frame(name="output" if result.name is None else result.name)
    if not isinstance(result, pd.DataFrame):
        raise TypeError(f"fn must return a DataFrame or Series, got {type(result).__name__}")
    if not result.index.equals(bars.index):
        raise ValueError(
            f"fn must return one row per bar aligned on the index of the bars it gets (same labels, same order); "
            f"got {len(result)} rows for {len(bars)} bars (groupby().rolling() adds a level: drop it with "
            f".droplevel(0))"
        )
    if columns is not None and not result.columns.equals(columns):
        raise ValueError(
            f"fn returned columns {list(result.columns)} on perturbed bars but {list(columns)} on the originals"
        )
    return result


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python scalar it holds, so reports read ``1.5`` rather than ``np.float64(1.5)``."""
    return value.item() if isinstance(value, np.generic) else value


def _values(column: pd.Series) -> np.ndarray:
    """An output column as float64 (numbers, NaN for missing) or as objects (anything else)."""
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        return column.to_numpy(dtype="float64", na_value=np.nan)
    return column.astype(object).to_numpy()


def _differs(base: np.ndarray, other: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """Per row, whether two output columns disagree (numbers within tolerance, NaN == NaN, else exactly)."""
    if base.dtype == np.float64 and other.dtype == np.float64:
        return ~np.isclose(base, other, rtol=rtol, atol=atol, equal_nan=True)
    x, y = base.astype(object), other.astype(object)
    x_missing, y_missing = pd.isna(x), pd.isna(y)
    differs = x_missing != y_missing
    present = ~(x_missing | y_missing)
    differs[present] = x[present] != y[present]
    return differs
