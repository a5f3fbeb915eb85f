"""Vendor layouts: which file field feeds each lake column, and how the file stamps its bars.

``--format alpaca`` reads Alpaca bars as CSV or JSON lines (``symbol, t, o, h, l, c, v, n, vw``), a v2
bars REST response (multi- or single-symbol, or a folder of paged responses) and stream minute-bar
messages; ``--format polygon`` reads the flat files (``window_start`` in ns), an aggregates REST response
and stream ``AM`` events; the shape is told from the content. ``--format csv`` maps any columns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from workbench.data._schema import BAR_COLUMNS, REQUIRED_COLUMNS
from workbench.data.vendors import SHAPES
from workbench.errors import DataValidationError

FORMATS: tuple[str, ...] = ("polygon", "alpaca", "csv")
EPOCH_UNITS: tuple[str, ...] = ("s", "ms", "us", "ns")
#: csv-only pseudo columns: a date column and a time-of-day column that together make ``ts``
SPLIT_TS: tuple[str, ...] = ("date", "time")

# Polygon flat-file minute aggregates: window_start is integer nanoseconds since the epoch (bar start).
_POLYGON = {"ts": "window_start", "ticker": "ticker", "open": "open", "high": "high", "low": "low",
            "close": "close", "volume": "volume", "vwap": "vwap", "trades": "transactions"}
# Alpaca bars as CSV or JSON lines: t is an RFC 3339 string (bar start).
_ALPACA = {"ts": "t", "ticker": "symbol", "open": "o", "high": "h", "low": "l", "close": "c", "volume": "v",
           "vwap": "vw", "trades": "n"}
_SHAPES = {shape.name: shape for shape in SHAPES}
_TICKER = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")
_TABLE_SUFFIXES = (".gz", ".csv", ".txt", ".tsv")


@dataclass(frozen=True)
class Layout:
    """Lake column -> file column for one file, plus how its timestamps are written.

    ``epoch_unit`` is the unit of integer stamps (``"auto"``: told from their magnitude; ``None``: text),
    ``ts_format`` a strptime format for text stamps, ``ticker`` the one ticker of a file without a ticker
    column, ``split_ts`` whether ``ts`` comes from a ``date`` and a ``time`` column.
    """

    columns: dict[str, str]
    epoch_unit: str | None
    label: str
    ts_format: str | None = None
    ticker: str | None = None

    @property
    def split_ts(self) -> bool:
        """Whether the stamp is a date column plus a time column."""
        return "date" in self.columns


def check_mapping(mapping: Mapping[str, str]) -> None:
    """Reject a csv mapping that names a column the lake does not have (before any file is read)."""
    unknown = sorted(set(mapping) - set(BAR_COLUMNS) - set(SPLIT_TS))
    if unknown:
        raise ValueError(f"mapping names unknown lake column(s) {unknown}; lake columns are {list(BAR_COLUMNS)} "
                         "(or date= and time= for separate date and time columns)")
    split = set(SPLIT_TS) & set(mapping)
    if split and split != set(SPLIT_TS):
        raise ValueError("map both date= and time= (a date column and a time-of-day column), or ts= alone")
    if split and "ts" in mapping:
        raise ValueError("map either ts= (one timestamp column) or date= and time=, not both")


def ticker_from_filename(path: Path) -> str:
    """The ticker of a per-symbol file: its name without ``.gz``/``.csv``/``.txt``/``.tsv``, up to the first
    ``_``, upper-cased (``AAPL.csv`` -> AAPL, ``aapl_1min.csv.gz`` -> AAPL, ``BRK.B.csv`` -> BRK.B)."""
    name = path.name
    while name.lower().endswith(_TABLE_SUFFIXES):
        name = name[: name.rindex(".")]
    ticker = name.split("_")[0].strip().upper()
    if not _TICKER.match(ticker):
        raise DataValidationError(f"{path}: the file has no ticker column and its name does not start with a "
                                  f"ticker ({ticker!r}); pass --ticker SYMBOL or map one (--map ticker=COLUMN)")
    return ticker


def layout_for(fmt: str, path: Path, header: list[str], shape: str, *, mapping: Mapping[str, str] | None,
               label: str, ticker: str | None = None, ts_format: str | None = None,
               epoch_unit: str | None = None) -> Layout:
    """The layout of ``path`` in format ``fmt``; a missing required (or explicitly mapped) column is an error."""
    constant = None
    if shape != "table":
        vendor = _SHAPES[shape]
        if vendor.vendor != fmt:
            raise DataValidationError(f"{path} is {vendor.what}; import it with --format {vendor.vendor}")
        wanted, insisted, unit = dict(vendor.fields), set(REQUIRED_COLUMNS), vendor.ts_unit
    elif fmt == "polygon":
        wanted, insisted, unit = _POLYGON, set(REQUIRED_COLUMNS), "ns"
    elif fmt == "alpaca":
        wanted, insisted, unit = _ALPACA, set(REQUIRED_COLUMNS), None
    else:
        explicit = dict(mapping or {})
        wanted = {column: column for column in BAR_COLUMNS if not (column == "ts" and "date" in explicit)} | explicit
        insisted, unit = set(REQUIRED_COLUMNS) - {"ts"} | ({"date", "time"} if "date" in explicit else {"ts"}), (
            epoch_unit or ("auto" if ts_format is None else None))
        has_ticker = wanted["ticker"] in header
        if ticker is not None and (has_ticker or "ticker" in explicit):
            raise DataValidationError(f"{path} has a ticker column ({wanted['ticker']!r}); --ticker is for "
                                      "per-symbol files without one: drop --ticker (or the column)")
        if "ticker" not in explicit and not has_ticker:
            constant = ticker if ticker is not None else ticker_from_filename(path)
            insisted -= {"ticker"}
            wanted.pop("ticker")
    missing = [source if source == lake else f"{source} (for {lake})"
               for lake, source in wanted.items() if lake in insisted and source not in header]
    if missing:
        raise DataValidationError(f"{path}: missing required column(s) {', '.join(missing)} for {fmt} bars; "
                                  f"the file has {header}")
    present = {lake: source for lake, source in wanted.items() if source in header}
    return Layout(columns=present, epoch_unit=unit, label=label, ts_format=ts_format, ticker=constant)
