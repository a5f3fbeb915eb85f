"""Triple-barrier labels (AFML ch. 3): the first of a profit-taking, a stop-loss and a vertical barrier touched.

Forward-looking by design: a label at t0 reads closes after t0. Use labels as targets only, never as features.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numba as nb
import numpy as np
import pandas as pd

from workbench.errors import DataValidationError
from workbench.labels._validate import close_series, non_negative, positive_int, pt_sl_pair

BARRIERS: tuple[str, ...] = ("pt", "sl", "vertical")
"""Categories of the ``barrier`` column; a barrier code k means ``BARRIERS[k]`` and -1 means no label."""
PT, SL, VERTICAL, NO_LABEL = 0, 1, 2, -1


@nb.njit(cache=True, nogil=True, error_model="numpy")
def first_touch_nb(close, rows, ends, finished, upper, lower, upper_code, lower_code):  # pragma: no cover - numba
    """For each event e, scan close[rows[e]] ... close[ends[e]] (both included) for the first close strictly
    above ``upper[e]`` or strictly below ``lower[e]``; returns (touch row, barrier code) per event.

    With no touch the event ends at ``ends[e]`` as VERTICAL if ``finished[e]``, else it has NO_LABEL
    (touch row -1): an unfinished window never labels. Forward-looking: reads closes after each event row.
    Shared by :func:`triple_barrier` and :func:`triple_barrier_panel`.
    """
    n_events = rows.shape[0]
    touch = np.full(n_events, -1, dtype=np.int64)
    code = np.full(n_events, NO_LABEL, dtype=np.int8)
    for e in range(n_events):
        hi = upper[e]
        lo = lower[e]
        for j in range(rows[e], ends[e] + 1):
            price = close[j]
            if price > hi:
                touch[e] = j
                code[e] = upper_code[e]
                break
            if price < lo:
                touch[e] = j
                code[e] = lower_code[e]
                break
        if touch[e] < 0 and finished[e]:
            touch[e] = ends[e]
            code[e] = VERTICAL
    return touch, code


@dataclass(frozen=True)
class EventLabels:
    """Per-event outcome arrays (events without a label have touch -1 and code NO_LABEL)."""

    touch: np.ndarray  # row of t1, int64
    code: np.ndarray  # barrier code, int8
    ret: np.ndarray  # side * (close[t1] / entry - 1), NaN without a label
    bin: np.ndarray  # int8: sign of ret, or the meta-label 1{ret > 0} when a side is given
    y: np.ndarray  # int8: 1 iff the profit-taking barrier (the upper one without side) was touched first


def label_events(
    close: np.ndarray,
    rows: np.ndarray,
    ends: np.ndarray,
    finished: np.ndarray,
    target: np.ndarray,
    side: np.ndarray | None,
    pt: float,
    sl: float,
    min_ret: float,
    entry: np.ndarray | None = None,
) -> EventLabels:
    """Set each event's barriers from its entry price and target, find the first touch, and derive ret, bin, y.

    The path scanned is close[rows[e]] ... close[ends[e]]. The entry price defaults to close[rows[e]] (AFML:
    enter at the close of t0); ``entry`` gives another one per event (e.g. the open of the fill bar, whose own
    close is then the first point of the path). Events with ``target <= min_ret`` (or NaN target) get no label.
    Upper barrier entry * (1 + m * target), lower entry * (1 - m * target) with m the pt or sl multiplier (pt
    in the side's favour); m = 0 disables.
    """
    live = target > min_ret
    long = np.ones(rows.size, dtype=bool) if side is None else side > 0
    c0 = close[rows] if entry is None else entry
    up_mult = np.where(long, pt, sl)
    lo_mult = np.where(long, sl, pt)
    with np.errstate(invalid="ignore"):  # NaN targets: those events are dropped just below
        upper = np.where(up_mult > 0, c0 * (1.0 + up_mult * target), np.inf)
        lower = np.where(lo_mult > 0, c0 * (1.0 - lo_mult * target), -np.inf)
    upper_code = np.where(long, PT, SL).astype(np.int8)
    lower_code = np.where(long, SL, PT).astype(np.int8)
    touch = np.full(rows.size, -1, dtype=np.int64)
    code = np.full(rows.size, NO_LABEL, dtype=np.int8)
    if live.any():
        touch[live], code[live] = first_touch_nb(
            close, rows[live], ends[live], finished[live], upper[live], lower[live], upper_code[live], lower_code[live]
        )
    labelled = touch >= 0
    ret = np.full(rows.size, np.nan)
    ret[labelled] = close[touch[labelled]] / c0[labelled] - 1.0
    if side is not None:
        ret *= side
    bin_ = np.sign(ret) if side is None else (ret > 0).astype(np.float64)
    bin_ = np.where(labelled, bin_, 0).astype(np.int8)
    y = (code == PT).astype(np.int8)
    return EventLabels(touch=touch, code=code, ret=ret, bin=bin_, y=y)


def _event_rows(index: pd.DatetimeIndex, t_events: object) -> np.ndarray:
    """Sorted positions of ``t_events`` in ``index``; every event must be a bar time, each at most once."""
    try:
        events = pd.DatetimeIndex(t_events)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(f"t_events must be bar timestamps (a DatetimeIndex): {exc}") from None
    rows = index.get_indexer(events)
    missing = np.flatnonzero(rows < 0)
    if missing.size:
        raise DataValidationError(
            f"t_events holds {events[missing[0]]}, which is not a bar time of close ({missing.size} such event(s)); "
            "events must be taken from close.index (same timezone)"
        )
    rows = np.sort(rows)
    repeated = np.flatnonzero(np.diff(rows) == 0)
    if repeated.size:
        raise DataValidationError(f"t_events repeats {index[rows[repeated[0]]]}; pass each event once")
    return rows.astype(np.int64)


def _per_event(values: object, index: pd.DatetimeIndex, rows: np.ndarray, what: str) -> np.ndarray:
    """A Series (looked up at the event times) or a scalar, as float64 values per event."""
    if isinstance(values, pd.Series):
        if not values.index.is_unique:
            raise DataValidationError(f"{what} has duplicate index labels; index it by unique bar times")
        at = values.index.get_indexer(index[rows])
        missing = np.flatnonzero(at < 0)
        if missing.size:
            raise DataValidationError(
                f"{what} has no value for event {index[rows[missing[0]]]} ({missing.size} event(s) missing); "
                f"index {what} by the bar times of close"
            )
        picked = values.iloc[at]
        if not (pd.api.types.is_float_dtype(picked.dtype) or pd.api.types.is_integer_dtype(picked.dtype)):
            raise DataValidationError(f"{what} must hold numbers, got dtype {picked.dtype}")
        return picked.to_numpy(dtype=np.float64, na_value=np.nan)
    if isinstance(values, int | float | np.number) and not isinstance(values, bool):
        return np.full(rows.size, float(values))
    raise TypeError(f"{what} must be a pandas Series indexed by bar time or a number, got {type(values).__name__}")


def check_target(target: np.ndarray, where: Callable[[int], str]) -> None:
    """Targets may be NaN (no volatility estimate yet: the event is dropped) but never infinite."""
    bad = np.flatnonzero(np.isinf(target))
    if bad.size:
        raise DataValidationError(f"target is infinite at {where(bad[0])}; pass a finite volatility (NaN skips)")


def check_side(side: np.ndarray, where: Callable[[int], str]) -> None:
    """A side is the primary model's bet at each event: +1 (long) or -1 (short), nothing else."""
    bad = np.flatnonzero((side != 1) & (side != -1))
    if bad.size:
        raise DataValidationError(
            f"side must be +1 or -1 at every event, got {side[bad[0]]} at {where(bad[0])}; "
            "pass only the events where the primary model takes a position"
        )


def triple_barrier(
    close: pd.Series,
    t_events: pd.DatetimeIndex,
    target: pd.Series | float,
    pt_sl: tuple[float, float] = (1.0, 1.0),
    *,
    vertical_bars: int,
    min_ret: float = 0.0,
    side: pd.Series | None = None,
) -> pd.DataFrame:
    """Triple-barrier labels of one instrument at ``t_events`` (AFML snippets 3.2-3.7, meta-labels 3.6-3.7).

    Barriers of an event at t0: upper close[t0] * (1 + pt * target[t0]), lower close[t0] * (1 - sl * target[t0])
    (a multiplier of 0 disables its barrier), vertical ``vertical_bars`` bars after t0. The first close from t0
    to the vertical bar (both included) STRICTLY beyond a horizontal barrier is the touch; a horizontal touch on
    the vertical bar wins over the vertical barrier. With no touch the vertical bar labels the event, or, if it
    lies beyond the data, the event is dropped (an unfinished window never labels). Events need
    ``target > min_ret`` (NaN targets are dropped too).

    ``side`` (a Series of +1/-1 at every event, the primary model's bet) turns this into meta-labelling: pt is
    the barrier in the side's favour (below t0 for a short), ``ret`` is multiplied by side and ``bin`` becomes
    1 if side * ret > 0 else 0. This ``side=`` argument is the meta-labelling API.

    Returns a frame indexed by ``t0`` (sorted) with ``t1`` (time of the first touch), ``ret`` (simple
    close-to-close return t0 -> t1, times side), ``barrier`` ("pt" | "sl" | "vertical", categorical), ``bin``
    (AFML: sign of ret in {-1, 0, 1}; the meta-label with side), ``y`` (1 iff the upper barrier - with side,
    the profit-taking barrier - was touched first, else 0) and ``target``.
    """
    index, values = close_series(close)
    pt, sl = pt_sl_pair(pt_sl)
    vertical_bars = positive_int(vertical_bars, "vertical_bars")
    min_ret = non_negative(min_ret, "min_ret")
    rows = _event_rows(index, t_events)
    event_times = index[rows]
    target_values = _per_event(target, index, rows, "target")
    def where(e: int) -> str:
        return str(event_times[e])

    check_target(target_values, where)
    side_values = None
    if side is not None:
        if not isinstance(side, pd.Series):
            raise TypeError(f"side must be a pandas Series of +1/-1 indexed by event time, got {type(side).__name__}")
        side_values = _per_event(side, index, rows, "side")
        check_side(side_values, where)
    vertical = rows + vertical_bars
    ends = np.minimum(vertical, values.size - 1)
    labels = label_events(values, rows, ends, vertical < values.size, target_values, side_values, pt, sl, min_ret)
    keep = labels.touch >= 0
    return pd.DataFrame(
        {
            "t1": index[labels.touch[keep]],
            "ret": labels.ret[keep],
            "barrier": pd.Categorical.from_codes(labels.code[keep], categories=list(BARRIERS)),
            "bin": labels.bin[keep],
            "y": labels.y[keep],
            "target": target_values[keep],
        },
        index=pd.DatetimeIndex(event_times[keep], name="t0"),
    )
