"""Vendor payloads as the vendors return them, parsed into lake bars: pure functions, no I/O, no click.

One module per vendor (:mod:`.alpaca`, :mod:`.polygon`), each knowing where its bars sit in a REST
response or a stream message, what its fields are called and how it stamps time. Vendors stamp a bar
by the start of its minute; the lake by its end (UTC), so every parser adds a minute. The importer and
the live feed adapters share these parsers; a malformed stream message raises :class:`BarMessageError`
(the live path dead-letters it; :func:`stream_bars` splits a whole frame), a malformed REST payload
:class:`VendorPayloadError`.
"""

from workbench.data.vendors._bars import BarMessageError, VendorPayloadError
from workbench.data.vendors._shapes import SHAPES, Shape, detect_shape
from workbench.data.vendors._stream import StreamBars, stream_bars
from workbench.data.vendors.alpaca import alpaca_bar_message, alpaca_bars
from workbench.data.vendors.polygon import polygon_aggregates, polygon_bar_message

__all__ = [
    "SHAPES",
    "BarMessageError",
    "Shape",
    "StreamBars",
    "VendorPayloadError",
    "alpaca_bar_message",
    "alpaca_bars",
    "detect_shape",
    "polygon_aggregates",
    "polygon_bar_message",
    "stream_bars",
]
