"""Polygon (Massive) minute aggregates: REST responses and stream ``AM`` messages -> lake bars.

REST (``GET /v2/aggs/ticker/{ticker}/range/1/minute/{from}/{to}``), as documented::

    {"ticker": "AAPL", "status": "OK", "adjusted": false, "queryCount": .., "resultsCount": ..,
     "results": [{"t": 1732545000000, "o": .., "h": .., "l": .., "c": .., "v": .., "vw": .., "n": ..}, ...],
     "next_url": "..."}

``t`` is Unix milliseconds at the START of the window. Stream (``wss://socket.polygon.io/stocks``),
arrays of events; a minute aggregate is ``{"ev": "AM", "sym": "AAPL", "v", "av", "op", "vw", "o", "c",
"h", "l", "a", "z", "s": <ms start>, "e": <ms end>}``. The flat files (``window_start`` in ns) are read
by the importer's CSV path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from workbench.data.vendors._bars import BarMessageError, VendorPayloadError, bar_row, rows_frame

#: lake column -> REST aggregate field (``ticker`` is copied from the response's ``ticker``)
REST_FIELDS = {"ts": "t", "ticker": "ticker", "open": "o", "high": "h", "low": "l", "close": "c", "volume": "v",
               "vwap": "vw", "trades": "n"}
#: lake column -> stream AM field (AM carries no trade count)
STREAM_FIELDS = {"ts": "s", "ticker": "sym", "open": "o", "high": "h", "low": "l", "close": "c", "volume": "v",
                 "vwap": "vw"}
MINUTE_EVENT = "AM"
#: ``status`` events that only acknowledge the connection; other statuses (auth_failed, ...) are problems
CONTROL_STATUSES = ("connected", "auth_success", "success")
_MINUTE_MS = 60_000


def is_rest_response(payload: object) -> bool:
    """Whether ``payload`` is an aggregates response (a ``results`` list, or an error/empty one)."""
    return isinstance(payload, Mapping) and "ticker" in payload and (
        "results" in payload or "resultsCount" in payload)


def rest_records(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every aggregate of a REST response as a flat record carrying the response's ``ticker``."""
    if str(payload.get("status", "OK")).upper() == "ERROR":
        raise VendorPayloadError(f"Polygon error response: {payload.get('error') or payload.get('message')!r}")
    results = payload.get("results") or []
    if not isinstance(results, list) or not all(isinstance(bar, Mapping) for bar in results):
        raise VendorPayloadError("Polygon aggregates 'results' is not a list of bar objects")
    return [{**bar, "ticker": payload["ticker"]} for bar in results]


def polygon_aggregates(payload: Mapping[str, Any]) -> pd.DataFrame:
    """A minute aggregates REST response as a lake bars frame (bar ends, UTC)."""
    if not is_rest_response(payload):
        raise VendorPayloadError("not a Polygon aggregates response (no 'ticker'/'results'); "
                                 f"keys {sorted(payload)[:8]}")
    rows = []
    for k, record in enumerate(rest_records(payload)):
        try:
            rows.append(bar_row(record, REST_FIELDS, "ms"))
        except ValueError as exc:
            raise VendorPayloadError(f"Polygon aggregate {k + 1} of {record['ticker']!r}: {exc}") from exc
    return rows_frame(rows)


def message_problem(message: Mapping[str, Any]) -> str:
    """Why a stream event is not a one-minute aggregate ("" when it is one)."""
    kind = message.get("ev")
    if kind != MINUTE_EVENT:
        return f"not a minute-aggregate event (ev={kind!r}; minute aggregates have ev='AM')"
    start, end = message.get("s"), message.get("e")
    if isinstance(start, int) and isinstance(end, int) and end - start != _MINUTE_MS:
        return f"not a one-minute window (e - s = {end - start} ms)"
    return ""


def is_control(message: Mapping[str, Any]) -> bool:
    """Whether a stream event is a connection/subscription acknowledgement."""
    return message.get("ev") == "status" and message.get("status") in CONTROL_STATUSES


def polygon_bar_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """One stream ``AM`` event as a lake row; :class:`BarMessageError` names what is wrong."""
    if not isinstance(message, Mapping):
        raise BarMessageError(f"Polygon stream event is not a JSON object: {message!r:.80}")
    problem = message_problem(message)
    if problem:
        raise BarMessageError(f"Polygon stream event: {problem}")
    try:
        return bar_row(message, STREAM_FIELDS, "ms")
    except ValueError as exc:
        raise BarMessageError(f"Polygon AM event for {message.get('sym')!r}: {exc}") from exc
