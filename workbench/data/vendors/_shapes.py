"""Which vendor shape a JSON payload is, and how to flatten it into one record per bar."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from workbench.data.vendors import alpaca, polygon
from workbench.data.vendors._bars import message_records


@dataclass(frozen=True)
class Shape:
    """A vendor JSON shape: its vendor, field names (lake -> vendor), stamp unit and how to flatten it.

    ``record_problem`` says why one flattened record is no bar ("" when it is one) and ``is_control``
    whether it is a connection acknowledgement to skip; REST shapes have neither.
    """

    name: str
    vendor: str
    what: str
    fields: Mapping[str, str]
    ts_unit: str | None
    item: str
    records: Callable[[Any], list[dict[str, Any]]]
    record_problem: Callable[[Mapping[str, Any]], str] | None = None
    is_control: Callable[[Mapping[str, Any]], bool] | None = None


ALPACA_BARS = Shape("alpaca-bars", "alpaca", "an Alpaca v2 bars response", alpaca.REST_FIELDS, None, "bar",
                    alpaca.rest_records)
ALPACA_STREAM = Shape("alpaca-stream", "alpaca", "Alpaca stream messages", alpaca.STREAM_FIELDS, None, "message",
                      message_records, alpaca.message_problem, alpaca.is_control)
POLYGON_AGGS = Shape("polygon-aggs", "polygon", "a Polygon aggregates response", polygon.REST_FIELDS, "ms", "bar",
                     polygon.rest_records)
POLYGON_STREAM = Shape("polygon-stream", "polygon", "Polygon stream events", polygon.STREAM_FIELDS, "ms",
                       "message", message_records, polygon.message_problem, polygon.is_control)
SHAPES: tuple[Shape, ...] = (ALPACA_BARS, ALPACA_STREAM, POLYGON_AGGS, POLYGON_STREAM)


def detect_shape(payload: object) -> Shape | None:
    """The shape of a parsed JSON document or stream frame, ``None`` when it is none of :data:`SHAPES`."""
    if alpaca.is_rest_response(payload):
        return ALPACA_BARS
    if polygon.is_rest_response(payload):
        return POLYGON_AGGS
    messages = payload if isinstance(payload, list) else [payload]
    first = next((m for m in messages if isinstance(m, Mapping)), None)
    if first is None:
        return None
    if "T" in first:
        return ALPACA_STREAM
    if "ev" in first:
        return POLYGON_STREAM
    return None
