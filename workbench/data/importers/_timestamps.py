"""Timestamp parsing where a bad stamp becomes that row's problem, never a crash.

Parsers return UTC stamps (NaT where a row failed) and a per-row reason ("" when the stamp is fine).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from workbench.data._calendar import EXCHANGE_TZ, _xnys
from workbench.data.importers._problems import no_problems, note

MINUTE_NS = 60_000_000_000
_UTC_NAMES = ("Z", "z", "UTC", "GMT")
_MAX_OFFSET_MINUTES = 18 * 60
# Up to 18 digits, or 19 below 9e18: every value fits an int64 (9e18 ns is in the year 2255).
_INTEGER = r"-?(?:[0-9]{1,18}|[1-8][0-9]{18})"
_TEXT = (r"^\s*(?P<local>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)"
         r"\s*(?P<zone>\S*)\s*$")
_OFFSET = r"^(?P<sign>[+-])(?P<hours>\d{2}):?(?P<minutes>\d{2})?$"
EPOCH_FACTOR_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_EPOCH_BOUNDS = (("s", 1e11), ("ms", 1e14), ("us", 1e17))


@dataclass(frozen=True)
class Stamps:
    """Parsed timestamps: UTC values (NaT on failure), per-row reasons, which rows had no timezone, and
    those rows' wall-clock values (``local``, NaT elsewhere) so another timezone can be tried on them."""

    utc: pd.Series
    problems: np.ndarray
    naive: np.ndarray
    local: pd.Series | None = None


def check_timezone(tz: str) -> None:
    """Fail up front, with the reason, when ``tz`` is not an IANA timezone name."""
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {tz!r}: use an IANA name such as 'America/New_York' or 'UTC'") from exc


def parse_epoch(values: pd.Series, unit: str) -> Stamps:
    """Integer seconds / ms / µs / ns since the epoch, UTC (Polygon: ``window_start`` ns, REST ``t`` ms).

    ``unit="auto"`` tells the unit from the median magnitude (see :func:`epoch_unit_of`)."""
    problems = _missing(values)
    text = _whole(values)
    integer = text.str.fullmatch(_INTEGER).fillna(False).to_numpy(dtype=bool)
    note(problems, ~integer, "unparseable timestamp", values)
    raw = np.zeros(len(values), dtype=np.int64)
    raw[integer] = text[integer].astype("int64").to_numpy()
    if unit == "auto":
        unit = epoch_unit_of(raw[integer & (problems == "")])
    factor = EPOCH_FACTOR_NS[unit]
    note(problems, np.abs(raw) > np.iinfo(np.int64).max // factor, f"timestamp out of range for epoch {unit}", values)
    ns = np.where(problems == "", raw, 0) * factor
    utc = pd.Series(pd.to_datetime(ns, unit="ns", utc=True), index=values.index).where(problems == "")
    return Stamps(utc=utc, problems=problems, naive=np.zeros(len(values), dtype=bool))


def epoch_unit_of(values: np.ndarray) -> str:
    """The epoch unit whose range holds the median of ``values``: below 1e11 seconds (to the year 5138),
    below 1e14 milliseconds, below 1e17 microseconds, else nanoseconds (1e9 s = 2001; 1e12 ms = 2001)."""
    if values.size == 0:
        return "ns"
    magnitude = float(np.median(np.abs(values)))
    return next((unit for unit, bound in _EPOCH_BOUNDS if magnitude < bound), "ns")


def is_epoch(values: pd.Series) -> bool:
    """Whether every stated value of ``values`` is an integer (so the column holds epoch stamps)."""
    text = _whole(values)
    stated = text.notna() & (text != "")
    return bool(stated.any()) and bool(text[stated].str.fullmatch(_INTEGER).all())


def _whole(values: pd.Series) -> pd.Series:
    """Stamps as stripped text, a zero fraction dropped (``1732545000.0`` is the integer a writer floated)."""
    return values.astype("str").str.strip().str.replace(r"^(-?\d+)\.0*$", r"\1", regex=True)


def parse_formatted(values: pd.Series, ts_format: str, tz: str | None) -> Stamps:
    """Date-times in the strptime ``ts_format`` (e.g. ``%m/%d/%Y %H:%M``); without ``%z`` they are wall-clock
    times in ``tz``."""
    problems = _missing(values)
    text = values.astype("str").str.strip()
    parsed = pd.to_datetime(text, format=ts_format, errors="coerce")
    note(problems, parsed.isna().to_numpy(), f"timestamp not in the format {ts_format!r}", values)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        utc = parsed.dt.tz_convert("UTC").where(problems == "")
        return Stamps(utc=utc, problems=problems, naive=np.zeros(len(values), dtype=bool))
    local = parsed.astype("datetime64[ns]").where(problems == "")
    return _localized(values, local, problems, problems == "", tz)


def parse_text(values: pd.Series, tz: str | None) -> Stamps:
    """ISO 8601 / RFC 3339 date-times: a ``Z``, ``UTC`` or ``±HH:MM`` suffix wins, else ``tz`` applies."""
    problems = _missing(values)
    parts = values.astype("str").str.extract(_TEXT)
    local = pd.to_datetime(parts["local"], format="ISO8601", errors="coerce").astype("datetime64[ns]")
    note(problems, local.isna().to_numpy(), "unparseable timestamp", values)
    zone = parts["zone"].fillna("")
    offset = zone.str.extract(_OFFSET)
    minutes = (pd.to_numeric(offset["hours"]) * 60 + pd.to_numeric(offset["minutes"]).fillna(0)).fillna(0)
    minutes = minutes.where(offset["sign"] != "-", -minutes)
    has_offset = offset["sign"].notna().to_numpy()
    naive = (zone == "").to_numpy() & (problems == "")
    too_far = has_offset & (minutes.abs() > _MAX_OFFSET_MINUTES).to_numpy()
    note(problems, too_far, "unknown timezone offset", values)
    note(problems, ~(zone.isin(_UTC_NAMES).to_numpy() | has_offset | naive), "unknown timezone", values)
    utc = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    aware = (problems == "") & ~naive
    utc[aware] = (local[aware] - pd.to_timedelta(minutes[aware], unit="min")).dt.tz_localize("UTC")
    return _localized(values, local, problems, naive, tz, utc)


def _localized(values: pd.Series, local: pd.Series, problems: np.ndarray, naive: np.ndarray, tz: str | None,
               utc: pd.Series | None = None) -> Stamps:
    """Wall-clock rows (``naive``) read in ``tz`` (left NaT without one), the other rows' ``utc`` kept."""
    if utc is None:
        utc = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    if tz is not None and naive.any():
        utc[naive] = localize(local[naive], tz)
        note(problems, naive & utc.isna().to_numpy(), f"ambiguous or nonexistent local time in {tz}", values)
    return Stamps(utc=utc, problems=problems, naive=naive, local=local.where(naive))


def localize(local: pd.Series, tz: str) -> pd.Series:
    """Wall-clock times read in ``tz``, as UTC (NaT for times a DST change makes ambiguous or skips)."""
    return local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")


def bar_ends(stamps: Stamps, label: str) -> Stamps:
    """Stamps moved to the end of their minute (the lake's convention), checked against the calendar."""
    problems = stamps.problems.copy()
    ends = stamps.utc + pd.Timedelta(minutes=1) if label == "start" else stamps.utc
    ns = pd.DatetimeIndex(ends).as_unit("ns").asi8
    valid = ends.notna().to_numpy()
    low, high = _calendar_bounds_ns()
    note(problems, valid & ((ns < low) | (ns >= high)), "timestamp outside the exchange calendar")
    note(problems, valid & (ns % MINUTE_NS != 0), "timestamp not on a whole minute")
    return Stamps(utc=ends.where(problems == ""), problems=problems, naive=stamps.naive, local=stamps.local)


@lru_cache(maxsize=1)
def _calendar_bounds_ns() -> tuple[int, int]:
    """The UTC span the exchange calendar covers, in nanoseconds: bars outside it cannot be placed."""
    cal = _xnys()
    first = pd.Timestamp(cal.first_session.date()).tz_localize(EXCHANGE_TZ)
    last = pd.Timestamp(cal.last_session.date()).tz_localize(EXCHANGE_TZ) + pd.Timedelta(days=1)
    return first.value, last.value


def _missing(values: pd.Series) -> np.ndarray:
    """Reasons with "missing timestamp" where a value is null or blank, "" elsewhere."""
    problems = no_problems(len(values))
    text = values.astype("str")
    blank = text.isna() | (text.str.strip() == "")
    note(problems, blank.to_numpy(dtype=bool), "missing timestamp")
    return problems
