"""Vendor layouts: which file column feeds each lake column, and how the file stamps its bars."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from workbench.data._schema import BAR_COLUMNS, REQUIRED_COLUMNS
from workbench.errors import DataValidationError

FORMATS: tuple[str, ...] = ("polygon", "alpaca", "csv")

# Polygon flat-file minute aggregates: window_start is integer nanoseconds since the epoch (bar start).
_POLYGON = {"ts": "window_start", "ticker": "ticker", "open": "open", "high": "high", "low": "low",
            "close": "close", "volume": "volume", "vwap": "vwap", "trades": "transactions"}
# Alpaca bars: t is an RFC 3339 string (bar start).
_ALPACA = {"ts": "t", "ticker": "symbol", "open": "o", "high": "h", "low": "l", "close": "c", "volume": "v",
           "vwap": "vw", "trades": "n"}


@dataclass(frozen=True)
class Layout:
    """Lake column -> file column for one file, plus how its timestamps are written."""

    columns: dict[str, str]
    epoch_ns: bool
    label: str


def check_mapping(mapping: Mapping[str, str]) -> None:
    """Reject a csv mapping that names a column the lake does not have (before any file is read)."""
    unknown = sorted(set(mapping) - set(BAR_COLUMNS))
    if unknown:
        raise ValueError(f"mapping names unknown lake column(s) {unknown}; lake columns are {list(BAR_COLUMNS)}")


def layout_for(fmt: str, path: Path, header: list[str], *, mapping: Mapping[str, str] | None,
               label: str) -> Layout:
    """The layout of ``path`` in format ``fmt``; a missing required (or explicitly mapped) column is an error."""
    if fmt == "polygon":
        wanted, insisted, epoch_ns = _POLYGON, set(REQUIRED_COLUMNS), True
    elif fmt == "alpaca":
        wanted, insisted, epoch_ns = _ALPACA, set(REQUIRED_COLUMNS), False
    else:
        explicit = dict(mapping or {})
        wanted = {column: column for column in BAR_COLUMNS} | explicit
        insisted, epoch_ns = set(REQUIRED_COLUMNS) | set(explicit), False
    missing = [source if source == lake else f"{source} (for {lake})"
               for lake, source in wanted.items() if lake in insisted and source not in header]
    if missing:
        raise DataValidationError(f"{path}: missing required column(s) {', '.join(missing)} for {fmt} bars; "
                                  f"the file has {header}")
    present = {lake: source for lake, source in wanted.items() if source in header}
    return Layout(columns=present, epoch_ns=epoch_ns, label=label)
