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


@dataclass(frozen=True)
class Stamps:
    """Parsed timestamps: UTC values (NaT on failure), per-row reasons, and which rows had no timezone."""

    utc: pd.Series
    problems: np.ndarray
    naive: np.ndarray


def check_timezone(tz: str) -> None:
    """Fail up front, with the reason, when ``tz`` is not an IANA timezone name."""
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {tz!r}: use an IANA name such as 'America/New_York' or 'UTC'") from exc


def parse_epoch_ns(values: pd.Series) -> Stamps:
    """Integer nanoseconds since the epoch, UTC (Polygon's ``window_start``)."""
    problems = _missing(values)
    text = values.astype("str").str.strip()
    integer = text.str.fullmatch(_INTEGER).fillna(False).to_numpy(dtype=bool)
    note(problems, ~integer, "unparseable timestamp", values)
    ns = np.zeros(len(values), dtype=np.int64)
    ns[integer] = text[integer].astype("int64").to_numpy()
    utc = pd.Series(pd.to_datetime(ns, unit="ns", utc=True), index=values.index).where(problems == "")
    return Stamps(utc=utc, problems=problems, naive=np.zeros(len(values), dtype=bool))


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
    if tz is not None and naive.any():
        utc[naive] = local[naive].dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
        note(problems, naive & utc.isna().to_numpy(), f"ambiguous or nonexistent local time in {tz}", values)
    return Stamps(utc=utc, problems=problems, naive=naive)


def bar_ends(stamps: Stamps, label: str) -> Stamps:
    """Stamps moved to the end of their minute (the lake's convention), checked against the calendar."""
    problems = stamps.problems.copy()
    ends = stamps.utc + pd.Timedelta(minutes=1) if label == "start" else stamps.utc
    ns = pd.DatetimeIndex(ends).as_unit("ns").asi8
    valid = ends.notna().to_numpy()
    low, high = _calendar_bounds_ns()
    note(problems, valid & ((ns < low) | (ns >= high)), "timestamp outside the exchange calendar")
    note(problems, valid & (ns % MINUTE_NS != 0), "timestamp not on a whole minute")
    return Stamps(utc=ends.where(problems == ""), problems=problems, naive=stamps.naive)


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
