"""File-level checks that turn silent damage into one loud line before any row is judged.

Each check looks at a whole file's stamps, where one row alone cannot tell: bars that are not 1-minute
bars, wall-clock times read in the wrong timezone (most bars land outside the session), and stamps read
with the wrong label (every bar a minute off, the first or last bar of each session falling outside it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data._calendar import EXCHANGE_TZ, regular_session_mask, session_date, sessions
from workbench.data.importers._formats import Layout
from workbench.data.importers._parse import ParsedBars
from workbench.data.importers._read import RawTable
from workbench.data.importers._timestamps import MINUTE_NS, localize
from workbench.errors import DataValidationError

#: timezones tried on wall-clock stamps besides the one given
CANDIDATE_ZONES: tuple[str, ...] = (EXCHANGE_TZ, "UTC")
#: a file whose bars are mostly inside the session is never second-guessed
INSIDE_ENOUGH = 0.5
#: below this share of 1-minute steps between a ticker's bars, the most common step is the bar size
MIN_ONE_MINUTE_SHARE = 0.1
#: fewer steps than this say too little about the bar size to refuse a file
MIN_STEPS = 3
_SESSION = "the regular session (09:30-16:00 New York)"
_DAY_NS = 20 * 3_600_000_000_000


@dataclass(frozen=True)
class _Fit:
    """How well a timezone reads a file's wall-clock stamps: shares of rows and of volume in the session."""

    zone: str
    rows: float
    volume: float


def check_file(raw: RawTable, parsed: ParsedBars, layout: Layout, fmt: str, tz: str | None) -> None:
    """Refuse the file with one line when its stamps do not parse at all, lack a timezone, are not 1-minute
    bars, fit another timezone far better than ``tz``, or sit a minute off their label."""
    if not len(raw):
        return
    _check_some_stamps_parse(raw, parsed, layout, fmt)
    _check_zone_given(raw, parsed, layout, tz)
    _check_bar_size(raw.path, parsed)
    if tz is not None:
        _check_zone_fits(raw.path, parsed, layout, tz)
    _check_label(raw.path, parsed, layout, fmt)


def _check_some_stamps_parse(raw: RawTable, parsed: ParsedBars, layout: Layout, fmt: str) -> None:
    stamped = parsed.stamps.utc.notna() | parsed.stamps.naive
    if fmt != "csv" or stamped.any() or not (raw.problems == "").any():
        return
    first = int(np.flatnonzero(raw.problems == "")[0])
    column = "date and time" if layout.split_ts else repr(layout.columns["ts"])
    hint = ("check it (strptime codes, e.g. '%m/%d/%Y %H:%M')" if layout.ts_format
            else "give their format with --ts-format, e.g. '%m/%d/%Y %H:%M'")
    raise DataValidationError(f"{raw.path}: none of the {len(raw)} timestamps in {column} parse ({raw.item} "
                              f"{raw.lines[first]}: {parsed.problems[first]}); {hint}")


def _check_zone_given(raw: RawTable, parsed: ParsedBars, layout: Layout, tz: str | None) -> None:
    naive = parsed.stamps.naive
    if tz is not None or not naive.any():
        return
    first = int(np.flatnonzero(naive)[0])
    fits = sorted((_fit(parsed, layout, zone) for zone in CANDIDATE_ZONES), key=lambda f: -f.volume)
    shares = "; ".join(f"read as {f.zone}, {f.rows:.0%} of the bars fall inside the session" for f in fits)
    raise DataValidationError(
        f"{raw.path}: timestamps have no timezone ({raw.item} {raw.lines[first]}: "
        f"{parsed.stamps.local.iloc[first]}); say which one they are in with tz (CLI --tz), e.g. --tz "
        f"{fits[0].zone} ({shares})")


def _check_zone_fits(path: Path, parsed: ParsedBars, layout: Layout, tz: str) -> None:
    if not parsed.stamps.naive.any():
        return
    given = _fit(parsed, layout, tz)
    if given.rows >= INSIDE_ENOUGH:
        return
    others = [_fit(parsed, layout, zone) for zone in CANDIDATE_ZONES if zone != tz]
    best = max(others, key=lambda f: (f.volume, f.rows))
    if best.volume > given.volume and best.rows > given.rows:
        raise DataValidationError(
            f"{path}: read as {tz}, {1 - given.rows:.0%} of the bars fall outside {_SESSION}; read as "
            f"{best.zone}, {best.rows:.0%} fall inside: the stamps are {best.zone} times, pass --tz {best.zone}")


def _fit(parsed: ParsedBars, layout: Layout, zone: str) -> _Fit:
    """The session shares of the wall-clock rows read in ``zone`` (bar ends per the layout's label)."""
    naive = parsed.stamps.naive
    ends = localize(parsed.stamps.local[naive], zone)
    if layout.label == "start":
        ends = ends + pd.Timedelta(minutes=1)
    known = ends.notna().to_numpy()
    inside = np.zeros(len(ends), dtype=bool)
    inside[known] = regular_session_mask(ends[known])
    volume = np.nan_to_num(parsed.bars["volume"].to_numpy(dtype="float64")[naive], nan=0.0).clip(min=0)
    weighted = float((volume * inside).sum() / volume.sum()) if volume.sum() > 0 else float(inside.mean())
    return _Fit(zone=zone, rows=float(inside.mean()), volume=weighted)


def _check_bar_size(path: Path, parsed: ParsedBars) -> None:
    stamps = pd.DataFrame({"ticker": parsed.bars["ticker"], "ts": parsed.stamps.utc}).dropna()
    if len(stamps) < 2:
        return
    stamps["ns"] = pd.DatetimeIndex(stamps["ts"]).as_unit("ns").asi8
    ordered = stamps.drop_duplicates(["ticker", "ns"]).sort_values(["ticker", "ns"])
    same = ordered["ticker"].to_numpy()[1:] == ordered["ticker"].to_numpy()[:-1]
    steps = np.diff(ordered["ns"].to_numpy())[same]
    if steps.size < MIN_STEPS or (steps == MINUTE_NS).mean() >= MIN_ONE_MINUTE_SHARE:
        return
    values, counts = np.unique(steps, return_counts=True)
    step = int(values[np.argmax(counts)])
    if step == MINUTE_NS:
        return
    raise DataValidationError(
        f"{path}: these are {_bar_size(step)} (the most common step between a ticker's bars is "
        f"{_duration(step)}); the lake holds 1-minute bars: export 1-minute bars "
        "(Alpaca timeframe=1Min, Polygon range/1/minute)")


def _duration(step_ns: int) -> str:
    """A step in the largest whole unit: '5 minutes', '1 day', '30 seconds'."""
    for unit, ns in (("day", 86_400 * 10**9), ("hour", 3_600 * 10**9), ("minute", MINUTE_NS)):
        if step_ns % ns == 0:
            count = step_ns // ns
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{step_ns / 1e9:g} seconds"


def _bar_size(step_ns: int) -> str:
    """A bar size in words: daily, k-hour, k-minute or k-second bars."""
    if step_ns >= _DAY_NS:
        return "daily bars"
    if step_ns % (60 * MINUTE_NS) == 0:
        return f"{step_ns // (60 * MINUTE_NS)}-hour bars"
    if step_ns % MINUTE_NS == 0:
        return f"{step_ns // MINUTE_NS}-minute bars"
    return f"{step_ns / 1e9:g}-second bars"


def _check_label(path: Path, parsed: ParsedBars, layout: Layout, fmt: str) -> None:
    """Per (ticker, session): first and last bar end one minute early (09:30 and 15:59) or late (09:32 and
    16:01) rather than at 09:31 and 16:00 -- the signature of stamps read with the wrong label."""
    ends = parsed.bars[["ticker", "ts"]].dropna()
    if ends.empty:
        return
    ends = ends.assign(date=session_date(ends["ts"]))
    spans = ends.groupby(["ticker", "date"])["ts"].agg(["min", "max"]).reset_index()
    calendar = sessions(spans["date"].min(), spans["date"].max())
    spans = spans.merge(calendar, on="date")
    if spans.empty:
        return
    minute = pd.Timedelta(minutes=1)
    first, last = spans["min"] - spans["open"], spans["max"] - spans["close"]
    right = int(((first == minute) & (last == pd.Timedelta(0))).sum())
    early = int(((first == pd.Timedelta(0)) & (last == -minute)).sum())
    late = int(((first == 2 * minute) & (last == minute)).sum())
    fix = f"--label {'end' if layout.label == 'start' else 'start'}" if fmt == "csv" else (
        "this format stamps bars by their start, so check how the file was written")
    count, how, stamped, dropped = ((late, "late (first 09:32, last 16:01)", "end", "last") if layout.label == "start"
                                    else (early, "early (first 09:30, last 15:59)", "start", "first"))
    if count > right:
        raise DataValidationError(
            f"{path}: read with --label {layout.label}, the bars of {count} of {len(spans)} ticker-sessions end "
            f"one minute {how}: the file stamps bars by their {stamped}, so every bar would shift a minute and "
            f"each session's {dropped} bar would be dropped; pass {fix}")
