"""Alpaca Market Data v2 bars: REST responses and stream minute-bar messages -> lake bars.

REST (``GET /v2/stocks/bars`` and ``/v2/stocks/{symbol}/bars``), as documented::

    {"bars": {"AAPL": [{"t": "2022-02-28T14:31:00Z", "o": .., "h": .., "l": .., "c": .., "v": ..,
                        "n": .., "vw": ..}, ...]}, "next_page_token": "..." | null}      # multi-symbol
    {"bars": [{"t": .., "o": .., ...}, ...], "symbol": "AAPL", "next_page_token": ...}  # single symbol

Stream (``wss://stream.data.alpaca.markets/v2/{feed}``), arrays of messages; a minute bar is
``{"T": "b", "S": "AAPL", "o", "h", "l", "c", "v", "t": "2021-02-22T19:15:00Z", "n", "vw"}``.
``t`` is RFC 3339, the START of the bar's minute; the lake row is stamped a minute later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from workbench.data.vendors._bars import BarMessageError, VendorPayloadError, bar_row, rows_frame

#: lake column -> REST bar field (``symbol`` is added from the response's key or ``symbol`` field)
REST_FIELDS = {"ts": "t", "ticker": "symbol", "open": "o", "high": "h", "low": "l", "close": "c", "volume": "v",
               "vwap": "vw", "trades": "n"}
#: lake column -> stream bar message field
STREAM_FIELDS = {**REST_FIELDS, "ticker": "S"}
BAR_MESSAGE = "b"
#: stream messages about the connection, not data: a capture holds them, the importer skips (and counts) them
CONTROL_MESSAGES = ("success", "subscription")


def is_rest_response(payload: object) -> bool:
    """Whether ``payload`` is a v2 bars response (``bars`` a symbol -> list mapping, a list, or null)."""
    return isinstance(payload, Mapping) and "bars" in payload and (
        payload["bars"] is None or isinstance(payload["bars"], Mapping | list))


def rest_records(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every bar of a REST response as a flat record carrying its ``symbol``, in the response's order."""
    bars = payload.get("bars")
    if bars is None:
        return []
    if isinstance(bars, Mapping):
        return [_with_symbol(bar, symbol) for symbol, items in bars.items() for bar in _bar_list(items, symbol)]
    symbol = payload.get("symbol")
    if not isinstance(symbol, str):
        raise VendorPayloadError("Alpaca single-symbol bars response without a 'symbol' field")
    return [_with_symbol(bar, symbol) for bar in _bar_list(bars, symbol)]


def alpaca_bars(payload: Mapping[str, Any]) -> pd.DataFrame:
    """A v2 bars REST response (multi- or single-symbol) as a lake bars frame (bar ends, UTC)."""
    if not is_rest_response(payload):
        raise VendorPayloadError(f"not an Alpaca v2 bars response (no 'bars' field); keys {sorted(payload)[:8]}")
    rows = []
    for k, record in enumerate(rest_records(payload)):
        try:
            rows.append(bar_row(record, REST_FIELDS, None))
        except ValueError as exc:
            raise VendorPayloadError(f"Alpaca bar {k + 1} ({record.get('symbol')}): {exc}") from exc
    return rows_frame(rows)


def message_problem(message: Mapping[str, Any]) -> str:
    """Why a stream message is not a minute bar ("" when it is one)."""
    kind = message.get("T")
    if kind != BAR_MESSAGE:
        return f"not a minute-bar message (T={kind!r}; minute bars have T='b')"
    return ""


def is_control(message: Mapping[str, Any]) -> bool:
    """Whether a stream message is a connection/subscription acknowledgement (errors are not)."""
    return message.get("T") in CONTROL_MESSAGES


def alpaca_bar_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """One stream minute-bar message as a lake row; :class:`BarMessageError` names what is wrong."""
    if not isinstance(message, Mapping):
        raise BarMessageError(f"Alpaca stream message is not a JSON object: {message!r:.80}")
    problem = message_problem(message)
    if problem:
        raise BarMessageError(f"Alpaca stream message: {problem}")
    try:
        return bar_row(message, STREAM_FIELDS, None)
    except ValueError as exc:
        raise BarMessageError(f"Alpaca bar message for {message.get('S')!r}: {exc}") from exc


def _bar_list(items: object, symbol: object) -> list[Mapping[str, Any]]:
    if not isinstance(items, list) or not all(isinstance(bar, Mapping) for bar in items):
        raise VendorPayloadError(f"Alpaca bars of {symbol!r} are not a list of bar objects")
    return items


def _with_symbol(bar: Mapping[str, Any], symbol: str) -> dict[str, Any]:
    return {**bar, "symbol": symbol}
