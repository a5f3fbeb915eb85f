"""One vendor bar record -> one lake row (ts at the END of the minute, UTC), strictly: a bad field raises."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from workbench.data._schema import BAR_COLUMNS
from workbench.errors import DataValidationError

MINUTE = pd.Timedelta(minutes=1)
_EPOCH_FACTOR_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_PRICES = ("open", "high", "low", "close")


class VendorPayloadError(DataValidationError):
    """A vendor REST payload does not have the documented shape (or one of its bars is malformed)."""


class BarMessageError(VendorPayloadError):
    """One streaming message is not a well-formed minute bar; the live path dead-letters it."""


def bar_row(record: Mapping[str, Any], fields: Mapping[str, str], ts_unit: str | None) -> dict[str, Any]:
    """The lake row of one vendor bar ``record`` whose fields are named by ``fields`` (lake -> vendor).

    ``ts_unit`` is the epoch unit of the start stamp ("ms", ...) or ``None`` for RFC 3339 text. Raises
    ``ValueError`` naming the field on a missing or malformed value; callers wrap it with where it was.
    """
    row: dict[str, Any] = dict.fromkeys(BAR_COLUMNS)
    row["ts"] = bar_end(_field(record, fields["ts"]), ts_unit)
    ticker = _field(record, fields["ticker"])
    if not isinstance(ticker, str) or not ticker.strip():
        raise ValueError(f"field {fields['ticker']!r} is not a ticker: {ticker!r}")
    row["ticker"] = ticker.strip().upper()
    for lake in (*_PRICES, "volume"):
        row[lake] = _number(record, fields[lake])
    for lake in ("vwap", "trades"):
        if lake in fields and record.get(fields[lake]) is not None:
            row[lake] = _number(record, fields[lake])
    if row["trades"] is not None:
        if row["trades"] != int(row["trades"]):
            raise ValueError(f"field {fields['trades']!r} is not a whole number: {row['trades']!r}")
        row["trades"] = int(row["trades"])
    return row


def bar_end(start: Any, ts_unit: str | None) -> pd.Timestamp:
    """The UTC end of the minute bar starting at ``start`` (epoch number in ``ts_unit``, or RFC 3339 text)."""
    if ts_unit is None:
        if not isinstance(start, str):
            raise ValueError(f"timestamp {start!r} is not RFC 3339 text")
        try:
            stamp = pd.Timestamp(start)
        except ValueError as exc:
            raise ValueError(f"timestamp {start!r} is not RFC 3339 text") from exc
        if stamp.tzinfo is None:
            raise ValueError(f"timestamp {start!r} has no timezone (vendors stamp in UTC, e.g. ...Z)")
        stamp = stamp.tz_convert("UTC")
    else:
        if isinstance(start, bool) or not isinstance(start, int):
            raise ValueError(f"timestamp {start!r} is not integer {ts_unit} since the epoch")
        stamp = pd.Timestamp(start * _EPOCH_FACTOR_NS[ts_unit], unit="ns", tz="UTC")
    if stamp.value % MINUTE.value:
        raise ValueError(f"timestamp {start!r} is not on a whole minute")
    return (stamp + MINUTE).as_unit("us")


def rows_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Lake rows as a bars frame in :data:`BAR_COLUMNS` order (quotes null), sorted by ticker then ts."""
    frame = pd.DataFrame(rows, columns=list(BAR_COLUMNS))
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True).astype("datetime64[us, UTC]")
    frame["ticker"] = frame["ticker"].astype("str")
    for column in BAR_COLUMNS[2:]:
        if column != "trades":
            frame[column] = frame[column].astype("float64")
    frame["trades"] = frame["trades"].astype("Int64")
    return frame.sort_values(["ticker", "ts"], kind="stable", ignore_index=True)


def message_records(messages: object) -> list[dict[str, Any]]:
    """The messages of one stream frame (an array, or one message) as records; a non-object becomes an
    empty record (keeping its text under ``_raw``) so it is reported, never dropped."""
    items = messages if isinstance(messages, list) else [messages]
    return [dict(m) if isinstance(m, Mapping) else {"_raw": repr(m)} for m in items]


def _field(record: Mapping[str, Any], key: str) -> Any:
    if key not in record or record[key] is None:
        raise ValueError(f"missing field {key!r}")
    return record[key]


def _number(record: Mapping[str, Any], key: str) -> float:
    value = _field(record, key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"field {key!r} is not a finite number: {value!r}")
    return float(value)
