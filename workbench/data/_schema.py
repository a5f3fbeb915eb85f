"""The bar schema of the lake: column names, Arrow types and the per-row validity rules.

One row per (ticker, minute). ``ts`` is the moment the bar is complete (the end of its minute), UTC.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import pandas as pd
import pyarrow as pa

from workbench.errors import DataValidationError

TS_TYPE = pa.timestamp("us", tz="UTC")

BAR_SCHEMA = pa.schema(
    [
        pa.field("ts", TS_TYPE, nullable=False),
        pa.field("ticker", pa.string(), nullable=False),
        pa.field("open", pa.float64(), nullable=False),
        pa.field("high", pa.float64(), nullable=False),
        pa.field("low", pa.float64(), nullable=False),
        pa.field("close", pa.float64(), nullable=False),
        pa.field("volume", pa.float64(), nullable=False),
        pa.field("vwap", pa.float64()),
        pa.field("trades", pa.int64()),
        pa.field("bid", pa.float64()),
        pa.field("ask", pa.float64()),
        pa.field("bid_size", pa.float64()),
        pa.field("ask_size", pa.float64()),
    ]
)
BAR_COLUMNS: tuple[str, ...] = tuple(BAR_SCHEMA.names)
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
REQUIRED_COLUMNS: tuple[str, ...] = ("ts", "ticker", *PRICE_COLUMNS, "volume")
OPTIONAL_COLUMNS: tuple[str, ...] = tuple(c for c in BAR_COLUMNS if c not in REQUIRED_COLUMNS)

TICKER_SCHEMA = pa.schema(
    [
        pa.field("ticker", pa.string(), nullable=False),
        pa.field("sector", pa.string()),
        pa.field("industry", pa.string()),
        pa.field("market_cap", pa.float64()),
        pa.field("is_index", pa.bool_(), nullable=False),
    ]
)

CORPORATE_ACTION_SCHEMA = pa.schema(
    [
        pa.field("ticker", pa.string(), nullable=False),
        pa.field("ex_date", pa.date32(), nullable=False),
        pa.field("split_ratio", pa.float64(), nullable=False),
        pa.field("cash_dividend", pa.float64(), nullable=False),
    ]
)


def require_columns(frame: pd.DataFrame, columns: tuple[str, ...] | list[str], what: str) -> None:
    """Raise a clear error when ``frame`` lacks any of ``columns``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{what} is missing required column(s) {missing}; it has {list(frame.columns)}"
        )


#: the numeric bar columns, in the order of :func:`bar_value_columns` (absent optional columns are NaN)
BAR_VALUE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume", "vwap", "bid", "ask",
                                      "bid_size", "ask_size")

#: the per-row rules in the order they are checked; code k (>0) is ``PROBLEM_REASONS[k]``
PROBLEM_REASONS: tuple[str, ...] = (
    "",
    *(f"{kind} {name} price" for name in PRICE_COLUMNS for kind in ("NaN", "infinite", "non-positive")),
    "high < low", "close outside [low, high]", "open outside [low, high]",
    "NaN or infinite volume", "negative volume",
    "infinite vwap", "infinite bid", "infinite ask", "infinite bid_size", "infinite ask_size",
    "non-positive bid", "non-positive ask", "crossed quote (bid > ask)", "negative bid_size", "negative ask_size",
)


@nb.njit(cache=True)
def _problem_codes_nb(columns, codes):  # pragma: no cover - numba
    """codes[r] = the first rule (index into PROBLEM_REASONS) row r breaks, 0 when it breaks none."""
    o, h, lo, c, v, vwap, bid, ask, bid_size, ask_size = columns
    inf = np.inf
    for r in range(len(codes)):
        # fast path, branch-free: every rule holds (NaN compares false, so NaN prices fail here)
        valid = ((o[r] > 0.0) & (o[r] < inf) & (h[r] < inf) & (lo[r] > 0.0) & (h[r] >= lo[r])
                 & (c[r] >= lo[r]) & (c[r] <= h[r]) & (o[r] >= lo[r]) & (o[r] <= h[r])
                 & (v[r] >= 0.0) & (v[r] < inf) & (abs(vwap[r]) != inf) & (abs(bid[r]) != inf)
                 & (abs(ask[r]) != inf) & (abs(bid_size[r]) != inf) & (abs(ask_size[r]) != inf)
                 & ~(bid[r] <= 0.0) & ~(ask[r] <= 0.0) & ~(bid[r] > ask[r]) & ~(bid_size[r] < 0.0)
                 & ~(ask_size[r] < 0.0))
        if valid:
            codes[r] = 0
            continue
        code = 0
        prices = (o[r], h[r], lo[r], c[r])
        for p in range(4):  # prices: NaN, infinite, non-positive
            x = prices[p]
            if np.isnan(x):
                code = 1 + 3 * p
            elif np.isinf(x):
                code = 2 + 3 * p
            elif x <= 0.0:
                code = 3 + 3 * p
            if code:
                break
        if code == 0:
            if h[r] < lo[r]:
                code = 13
            elif c[r] < lo[r] or c[r] > h[r]:
                code = 14
            elif o[r] < lo[r] or o[r] > h[r]:
                code = 15
            elif not np.isfinite(v[r]):
                code = 16
            elif v[r] < 0.0:
                code = 17
        if code == 0:
            optional = (vwap[r], bid[r], ask[r], bid_size[r], ask_size[r])
            for k in range(5):  # optional columns may be missing (NaN) but never infinite
                if np.isinf(optional[k]):
                    code = 18 + k
                    break
        if code == 0:
            if bid[r] <= 0.0:
                code = 23
            elif ask[r] <= 0.0:
                code = 24
            elif bid[r] > ask[r]:
                code = 25
            elif bid_size[r] < 0.0:
                code = 26
            elif ask_size[r] < 0.0:
                code = 27
        codes[r] = code


def problem_codes(columns: tuple[np.ndarray, ...]) -> np.ndarray:
    """Per row of :func:`bar_value_columns` output, the first rule it breaks (0: none), as int8 codes."""
    codes = np.zeros(len(columns[0]), dtype=np.int8)
    _problem_codes_nb(columns, codes)
    return codes


def bar_value_columns(bars: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """The numeric columns (:data:`BAR_VALUE_COLUMNS` order) as read-only float64 arrays, zero-copy
    where the frame already holds float64; absent optional columns are NaN."""
    columns = []
    for name in BAR_VALUE_COLUMNS:
        if name not in bars:
            values = np.full(len(bars), np.nan)
        else:
            try:
                values = bars[name].to_numpy(dtype="float64", na_value=np.nan)
            except (TypeError, ValueError) as exc:
                raise DataValidationError(f"bars column {name!r} is not numeric (dtype {bars[name].dtype})") from exc
        columns.append(read_only(values))
    return tuple(columns)


def read_only(values: np.ndarray) -> np.ndarray:
    """``values`` flagged read-only (a view when it is writable): the kernels see one array type."""
    if values.flags.writeable:
        values = values.view()
        values.flags.writeable = False
    return values


def bar_problems(bars: pd.DataFrame) -> pd.Series:
    """Return, per row, the first rule the bar breaks ("" when the row is valid).

    Rules (:data:`PROBLEM_REASONS`): prices finite and positive, high >= low, open and close inside
    [low, high], volume finite and non-negative, optional columns never infinite, quotes (when
    present) positive with bid <= ask, sizes non-negative, a timestamp, one row per (ticker, ts).
    One numba pass, shared with the feature engine's validation.
    """
    require_columns(bars, REQUIRED_COLUMNS, "bars")
    problems = np.asarray(PROBLEM_REASONS, dtype=object)[problem_codes(bar_value_columns(bars))]
    missing_ts = bars["ts"].isna().to_numpy() & (problems == "")
    problems[missing_ts] = "missing timestamp"
    duplicated = bars.duplicated(subset=["ticker", "ts"], keep="first").to_numpy() & (problems == "")
    problems[duplicated] = "duplicate (ticker, ts)"
    return pd.Series(problems, index=bars.index, name="reason")


def to_bar_table(bars: pd.DataFrame) -> pa.Table:
    """Convert a bar frame to the lake's Arrow schema; absent optional columns become nulls."""
    require_columns(bars, REQUIRED_COLUMNS, "bars")
    columns = {}
    for field in BAR_SCHEMA:
        if field.name in bars:
            columns[field.name] = pa.array(bars[field.name], type=field.type, from_pandas=True)
        else:
            columns[field.name] = pa.nulls(len(bars), type=field.type)
    return pa.table(columns, schema=BAR_SCHEMA)
