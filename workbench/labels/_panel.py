"""Triple-barrier labels for many tickers at once, row-aligned with the lake's bar frame."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.data._calendar import session_index
from workbench.errors import DataValidationError
from workbench.labels._layout import PanelLayout, panel_layout
from workbench.labels._triple_barrier import BARRIERS, check_side, label_events
from workbench.labels._validate import non_negative, non_negative_int, positive_int, price_values, pt_sl_pair
from workbench.labels._volatility import ewm_return_std_nb, span_com


def _row_mask(mask: object, n: int) -> np.ndarray:
    """A row-aligned boolean event mask (length ``n``)."""
    values = np.asarray(mask)
    if values.dtype != np.bool_ or values.shape != (n,):
        raise ValueError(
            f"events must be a boolean array with one entry per bar row ({n}), got dtype {values.dtype} "
            f"and shape {values.shape}"
        )
    return values


def _session_ends(layout: PanelLayout, rows: np.ndarray, vertical: np.ndarray, first: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Vertical barrier rows capped at the last bar of the session of each event row, whether each window is
    finished, and whether its first scanned row ``first`` still lies in that session.

    A window cut by the session close is finished once the session is over for that ticker: it has a bar at
    or after the session's close, or bars in a later session. Otherwise (data ends mid-session) it is not.
    A window needs a bar to scan after its entry (``ends >= first``, and ``first`` inside the session): an
    event whose fill would come after its session's last bar is never finished.
    """
    calendar = session_index()
    session = calendar.locate(layout.ts_ns)
    outside = np.flatnonzero(session < 0)
    if outside.size:
        raise DataValidationError(
            f"{layout.where(outside[0])} is outside every NYSE regular session ({outside.size} such row(s)); "
            "drop extended-hours bars or pass clip_to_session=False"
        )
    n = session.size
    breaks = np.zeros(n, dtype=bool)
    breaks[layout.bounds[:-1]] = True
    breaks[1:] |= session[1:] != session[:-1]
    run_last = np.append(np.flatnonzero(breaks)[1:], n) - 1
    session_last = run_last[np.cumsum(breaks) - 1][rows]
    over = (layout.ts_ns[session_last] >= calendar.close_ns[session[rows]]) | (
        session_last < layout.block_last[rows]
    )
    capped = vertical > session_last  # also covers a vertical bar past the ticker's data
    ends = np.minimum(vertical, session_last)
    finished = (~capped | over) & (ends >= first) & (first <= session_last)
    return ends, finished


ENTRY_PRICES = ("close", "open", "vwap")
"""Prices an event can enter at: of the fill bar ``entry_delay_bars`` after the event bar."""


def entry_rows(layout: PanelLayout, rows: np.ndarray, delay: int) -> np.ndarray:
    """The fill row ``delay`` bars of the same ticker after each event row (-1 past the ticker's data)."""
    fill = rows + delay
    return np.where(fill <= layout.block_last[rows], fill, -1)


def triple_barrier_panel(
    bars: pd.DataFrame,
    *,
    pt_sl: tuple[float, float] = (1.0, 1.0),
    vertical_bars: int,
    min_ret: float = 0.0,
    span: int = 100,
    events: np.ndarray | None = None,
    side: np.ndarray | None = None,
    clip_to_session: bool = True,
    entry_delay_bars: int = 0,
    entry_price: str = "close",
) -> pd.DataFrame:
    """:func:`triple_barrier` for every ticker of ``bars`` (columns ts, ticker, close; sorted by ticker, ts).

    Each ticker is labelled on its own bars with ``target = ewm_volatility(close, span)`` of that ticker, by the
    same kernel as :func:`triple_barrier`. ``events`` is a row-aligned boolean mask of event bars (default:
    every bar); ``side`` a row-aligned array of +1/-1 (read at event rows only) for meta-labelling.
    With ``clip_to_session`` the vertical barrier is also capped at the last bar of the event's NYSE session (no
    overnight holding); a window so capped is finished, and labels from that bar, once the session is over
    for the ticker (it has a bar at/after the close or in a later session). An event on the last bar of its
    session has nothing left to label it and is dropped.

    Entry (what a backtest of the event can trade): the defaults (``entry_delay_bars=0``,
    ``entry_price="close"``) enter at the event bar's close, as in AFML. With ``entry_delay_bars = d`` the
    position is entered at the fill bar f, the ticker's d-th bar after the event (in the same session when
    clipped, else no label), at its ``entry_price``: ``"close"`` scans close[f+1] ... close[f+H];
    ``"open"`` / ``"vwap"`` (which need d >= 1: that price came before the event bar's close) scan close[f] ...
    close[f+H-1], so the window always spans H bars of returns. Barriers are set on the entry price with the
    target known at the event bar; ``ret`` runs from the entry price to the touching close.

    Returns a frame on ``bars.index`` with ``t1``, ``ret``, ``barrier`` (categorical), ``bin`` and ``y``
    (nullable Int8) - missing on rows without a label - and ``target`` (on every row where it is defined),
    and ``entry_ts`` (the fill bar's time, on labelled rows).
    Forward-looking: labels are targets, never features.
    """
    layout = panel_layout(bars)
    pt, sl = pt_sl_pair(pt_sl)
    vertical_bars = positive_int(vertical_bars, "vertical_bars")
    min_ret = non_negative(min_ret, "min_ret")
    com = span_com(span)
    if not isinstance(clip_to_session, bool):
        raise ValueError(f"clip_to_session must be True or False, got {clip_to_session!r}")
    delay = non_negative_int(entry_delay_bars, "entry_delay_bars")
    if entry_price not in ENTRY_PRICES:
        raise ValueError(f"entry_price must be one of {ENTRY_PRICES}, got {entry_price!r}")
    if entry_price != "close" and delay == 0:
        raise ValueError(f"entry_price={entry_price!r} needs entry_delay_bars >= 1: the event bar's "
                         f"{entry_price} came before its close, when the signal did not exist yet")
    if entry_price not in bars.columns:
        raise DataValidationError(f"bars has no {entry_price!r} column to enter at; pass it or use "
                                  "entry_price='close'")
    close = price_values(bars["close"], "bars.close", layout.where)
    entry_values = close if entry_price == "close" else price_values(bars[entry_price], f"bars.{entry_price}",
                                                                     layout.where)
    n = close.size
    target = ewm_return_std_nb(close, layout.bounds, com)
    rows = np.arange(n, dtype=np.int64) if events is None else np.flatnonzero(_row_mask(events, n)).astype(np.int64)
    side_values = None
    if side is not None:
        side_all = np.asarray(side, dtype=np.float64)
        if side_all.shape != (n,):
            raise ValueError(f"side must have one entry per bar row ({n}), got shape {side_all.shape}")
        side_values = side_all[rows]
        check_side(side_values, lambda e: layout.where(int(rows[e])))
    fill = entry_rows(layout, rows, delay)
    first = np.where(fill >= 0, fill, layout.block_last[rows] + 1)  # past the data: never finished
    window = vertical_bars if entry_price == "close" else vertical_bars - 1
    vertical = first + window
    if entry_price == "close":
        first = first + 1  # the entry close itself is not a move
    if clip_to_session:
        ends, finished = _session_ends(layout, rows, vertical, first)
    else:
        last = layout.block_last[rows]
        ends, finished = np.minimum(vertical, last), (vertical <= last) & (first <= last)
    scan = np.maximum(fill, 0)
    event_target = np.where(fill >= 0, target[rows], np.nan)  # no bar to fill at: no label
    labels = label_events(close, scan, ends, finished, event_target, side_values, pt, sl, min_ret,
                          entry=entry_values[scan])
    touch = np.full(n, -1, dtype=np.int64)
    touch[rows] = labels.touch
    code = np.full(n, -1, dtype=np.int8)
    code[rows] = labels.code
    missing = touch < 0
    ret = np.full(n, np.nan)
    ret[rows] = labels.ret
    entry_at = np.full(n, -1, dtype=np.int64)
    entry_at[rows] = np.where(labels.touch >= 0, scan, -1)
    return pd.DataFrame(
        {
            "t1": bars["ts"].array.take(touch, allow_fill=True),
            "ret": ret,
            "barrier": pd.Categorical.from_codes(code, categories=list(BARRIERS)),
            "bin": pd.arrays.IntegerArray(_scatter(labels.bin, rows, n), missing),
            "y": pd.arrays.IntegerArray(_scatter(labels.y, rows, n), missing),
            "target": target,
            "entry_ts": bars["ts"].array.take(entry_at, allow_fill=True),
        },
        index=bars.index,
    )


def _scatter(values: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    """Per-event int8 values placed at their rows of an ``n``-row zero array."""
    out = np.zeros(n, dtype=np.int8)
    out[rows] = values
    return out

