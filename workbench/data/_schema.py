"""The bar schema of the lake: column names, Arrow types and the per-row validity rules.

One row per (ticker, minute). ``ts`` is the moment the bar is complete (the end of its minute), UTC.
"""

from __future__ import annotations

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


def bar_problems(bars: pd.DataFrame) -> pd.Series:
    """Return, per row, the first rule the bar breaks ("" when the row is valid).

    Rules: prices finite and positive, high >= low, open and close inside [low, high], volume finite
    and non-negative, quotes (when present) positive with bid <= ask, one row per (ticker, ts).
    Vectorized so a million-row import is validated in well under a second.
    """
    require_columns(bars, REQUIRED_COLUMNS, "bars")
    problems = np.full(len(bars), "", dtype=object)

    def flag(mask: np.ndarray, reason: str) -> None:
        fresh = mask & (problems == "")
        problems[fresh] = reason

    prices = {c: bars[c].to_numpy(dtype="float64", na_value=np.nan) for c in PRICE_COLUMNS}
    for name, values in prices.items():
        flag(np.isnan(values), f"NaN {name} price")
        flag(np.isinf(values), f"infinite {name} price")
        flag(values <= 0, f"non-positive {name} price")
    high, low = prices["high"], prices["low"]
    flag(high < low, "high < low")
    flag((prices["close"] < low) | (prices["close"] > high), "close outside [low, high]")
    flag((prices["open"] < low) | (prices["open"] > high), "open outside [low, high]")
    volume = bars["volume"].to_numpy(dtype="float64", na_value=np.nan)
    flag(~np.isfinite(volume), "NaN or infinite volume")
    flag(volume < 0, "negative volume")
    if "bid" in bars and "ask" in bars:
        bid = bars["bid"].to_numpy(dtype="float64", na_value=np.nan)
        ask = bars["ask"].to_numpy(dtype="float64", na_value=np.nan)
        flag(bid <= 0, "non-positive bid")
        flag(ask <= 0, "non-positive ask")
        flag(bid > ask, "crossed quote (bid > ask)")
    for size in ("bid_size", "ask_size"):
        if size in bars:
            flag(bars[size].to_numpy(dtype="float64", na_value=np.nan) < 0, f"negative {size}")
    flag(bars["ts"].isna().to_numpy(), "missing timestamp")
    duplicated = bars.duplicated(subset=["ticker", "ts"], keep="first").to_numpy()
    flag(duplicated, "duplicate (ticker, ts)")
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
