"""One stream frame (the JSON array a websocket delivers) -> bar rows, dead letters and skipped acks.

The live feed adapters call :func:`stream_bars` per frame: good minute bars go on as lake rows,
connection acknowledgements are counted, and every other message is a dead letter with its reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from workbench.data.vendors import alpaca, polygon
from workbench.data.vendors._bars import BarMessageError

_VENDORS: dict[str, tuple[Callable[[Mapping[str, Any]], dict[str, Any]], Callable[[Mapping[str, Any]], bool]]] = {
    "alpaca": (alpaca.alpaca_bar_message, alpaca.is_control),
    "polygon": (polygon.polygon_bar_message, polygon.is_control),
}


@dataclass(frozen=True)
class StreamBars:
    """What one frame held: lake rows (bar ends, UTC), (message, reason) dead letters, acks skipped."""

    rows: list[dict[str, Any]]
    dead_letters: list[tuple[object, str]]
    control: int


def stream_bars(frame: object, vendor: str) -> StreamBars:
    """Split a stream frame of ``vendor`` ("alpaca" or "polygon") into bar rows and dead letters; never raises
    on a bad message (a frame that is not a JSON array or object is one dead letter)."""
    if vendor not in _VENDORS:
        raise ValueError(f"unknown stream vendor {vendor!r}; choose one of {sorted(_VENDORS)}")
    parse, is_control = _VENDORS[vendor]
    rows: list[dict[str, Any]] = []
    dead: list[tuple[object, str]] = []
    control = 0
    for message in frame if isinstance(frame, list) else [frame]:
        if isinstance(message, Mapping) and is_control(message):
            control += 1
            continue
        try:
            rows.append(parse(message))
        except BarMessageError as exc:
            dead.append((message, str(exc)))
    return StreamBars(rows=rows, dead_letters=dead, control=control)
