"""``import_actions``: splits and cash dividends into ``corporate_actions.parquet``, every record validated.

Accepted files: a table (CSV or Parquet: ``ticker, ex_date`` and ``split_ratio`` and/or ``cash_dividend``), or a
vendor's corporate-action response as saved from its REST API — Polygon ``/v3/reference/splits``
(``results[]: ticker, execution_date, split_from, split_to``) and ``/v3/reference/dividends`` (``results[]:
ticker, ex_dividend_date, cash_amount``), Alpaca ``/v1/corporate-actions`` (``corporate_actions:
forward_splits / reverse_splits[]: symbol, ex_date, old_rate, new_rate; cash_dividends[]: symbol, ex_date,
rate``). A split ``r`` is new shares per old share (7-for-1: 7; 1-for-10 reverse: 1/10), as the lake stores it.

The lake keeps raw bars and adjusts when read (``Dataset.adjust``; the features point-in-time from this
table), so recording an action after the bars were imported corrects features and labels from then on.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data._calendar import sessions
from workbench.data._lake import Dataset
from workbench.data._schema import CORPORATE_ACTION_SCHEMA
from workbench.data._summary import SPLIT_TOLERANCE, overnight_gaps, split_label
from workbench.data._writer import write_corporate_actions
from workbench.data.importers._records import (
    Records,
    check_on_bad,
    match_tickers,
    note,
    quarantined,
    read_table,
    refusal,
    require,
    text,
    unknown_tickers_warning,
)
from workbench.data.importers._store import append_quarantine
from workbench.errors import DataValidationError

COMPONENTS = ("split_ratio", "cash_dividend")
DEFAULTS = {"split_ratio": 1.0, "cash_dividend": 0.0}
_ALPACA_SPLITS = ("forward_splits", "reverse_splits")
_DAY = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[ T]00:00(?::00(?:\.0+)?)?)?")
_CALENDAR = (dt.date(2000, 1, 1), dt.date(2035, 12, 31))  # the span workbench.data._calendar knows


@dataclass(frozen=True)
class ActionsReport:
    """What one corporate-action import did: every record is added, already present, skipped or bad."""

    dataset: Path
    file: Path
    shape: str
    records_read: int
    splits_added: int
    dividends_added: int
    already_present: int
    skipped: int
    quarantined: int
    warnings: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        quarantine = f" (in {self.dataset / 'quarantine.parquet'})" if self.quarantined else ""
        return "\n".join([
            f"imported corporate actions from {self.file} ({self.shape}) into dataset {self.dataset.name!r}",
            f"  records read:        {self.records_read:,}",
            f"  splits added:        {self.splits_added:,}",
            f"  dividends added:     {self.dividends_added:,}",
            f"  already present:     {self.already_present:,}",
            f"  skipped (no bars):   {self.skipped:,}",
            f"  quarantined:         {self.quarantined:,}{quarantine}",
            *(f"  warning: {w}" for w in self.warnings),
        ])


@dataclass
class _Parsed:
    """A file's records in canonical text fields (blank = not stated), each record's problem so far."""

    records: Records
    shape: str
    problems: np.ndarray
    warnings: list[str]


def import_actions(path: str | os.PathLike[str], name: str, *, on_bad: str = "refuse") -> ActionsReport:
    """Record the splits and cash dividends of ``path`` in dataset ``name`` (whose bars must be imported first).

    Bad records (unparseable or non-session ex_date, split ratio <= 0 or NaN, negative dividend, a record
    stating nothing, the same (ticker, ex_date) twice in the file, or one that contradicts an action the
    dataset holds) refuse the whole file, writing nothing, or with ``on_bad="quarantine"`` go to
    ``quarantine.parquet``. Warnings, written anyway: ex-dates outside the bars, and a split the bars do not
    show. Records of tickers the dataset has no bars for are counted and skipped (vendor files cover the
    whole market). A record equal to a stored action is reported as already present.
    """
    check_on_bad(on_bad)
    dataset = Dataset(name)
    parsed = _parse(Path(path))
    known = dataset.tickers["ticker"].astype(str)
    frame, skipped, renames = _judge(parsed, known)
    gaps = overnight_gaps(dataset, sorted(set(frame.loc[~skipped & (parsed.problems == ""), "ticker"])))
    _dividends_below_the_close(frame, parsed.problems, skipped, gaps)
    stored = dataset.corporate_actions.copy()
    stored["ticker"] = stored["ticker"].astype(str)
    stored["ex_date"] = pd.to_datetime(stored["ex_date"]).dt.date
    merged, added, present = _merge(frame, parsed.problems, skipped, stored)
    bad = parsed.problems != ""
    if bad.any() and on_bad == "refuse":
        raise DataValidationError(refusal(parsed.records, parsed.problems, dataset.path))
    warnings = list(parsed.warnings)
    if renames:
        warnings.append("tickers matched to the dataset's by case: "
                        + ", ".join(f"{a!r} -> {b!r}" for a, b in sorted(renames.items())))
    if skipped.any():
        warnings.append(unknown_tickers_warning(text(parsed.records.fields["ticker"])[skipped], known, "record(s)"))
    warnings += _outside_the_bars(added, dataset) + _unseen_splits(added, gaps)
    if len(added):
        write_corporate_actions(dataset.path, merged)
    if bad.any():
        append_quarantine(dataset.path, quarantined(parsed.records, parsed.problems))
    return ActionsReport(
        dataset=dataset.path, file=parsed.records.path, shape=parsed.shape, records_read=len(parsed.records),
        splits_added=int((added["column"] == "split_ratio").sum()),
        dividends_added=int((added["column"] == "cash_dividend").sum()),
        already_present=present, skipped=int(skipped.sum()), quarantined=int(bad.sum()), warnings=tuple(warnings),
    )


# -- reading: one canonical record per action --------------------------------------------------------------


def _parse(path: Path) -> _Parsed:
    """A table as it is, or a vendor JSON response turned into canonical records."""
    if path.suffix.lower() in (".csv", ".parquet", ".txt"):
        records = read_table(path)
        require(records, ["ticker", "ex_date"], "corporate actions")
        if not any(c in records.fields for c in COMPONENTS):
            raise DataValidationError(f"{path}: needs a split_ratio or a cash_dividend column (or both); the file "
                                      f"has {list(records.fields.columns)}")
        fields = records.fields.reindex(columns=["ticker", "ex_date", *COMPONENTS]).fillna("")
        return _Parsed(Records(path, fields, records.lines, records.where, records.texts), "table",
                       np.full(len(records), "", dtype=object), [])
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataValidationError(f"{path}: not a CSV, Parquet or JSON file ({exc})") from exc
    if isinstance(document, dict) and isinstance(document.get("results"), list):
        return _from_polygon(path, document)
    if isinstance(document, dict) and isinstance(document.get("corporate_actions"), dict):
        return _from_alpaca(path, document)
    raise DataValidationError(
        f"{path}: not a corporate-action response this importer knows: expected Polygon's {{\"results\": [...]}} "
        "(/v3/reference/splits or /v3/reference/dividends) or Alpaca's {\"corporate_actions\": {...}} "
        "(/v1/corporate-actions); a table goes in as CSV or Parquet with ticker, ex_date, split_ratio, cash_dividend"
    )


def _from_polygon(path: Path, document: dict) -> _Parsed:
    rows, problems, where, texts = [], [], [], []
    for i, item in enumerate(document["results"]):
        item = item if isinstance(item, dict) else {}
        where.append(f"results[{i}]")
        texts.append(json.dumps(item))
        if "split_from" in item or "split_to" in item:
            ratio, problem = _ratio_text(item.get("split_to"), item.get("split_from"), "split_to", "split_from")
            rows.append(_row(item.get("ticker"), item.get("execution_date"), ratio, ""))
            problems.append(problem)
        elif "cash_amount" in item:
            rows.append(_row(item.get("ticker"), item.get("ex_dividend_date"), "", item.get("cash_amount")))
            problems.append("")
        else:
            rows.append(_row(item.get("ticker"), item.get("execution_date") or item.get("ex_dividend_date"), "", ""))
            problems.append("neither a split (split_from, split_to) nor a dividend (cash_amount)")
    kinds = sorted({"splits" if r["split_ratio"] else "dividends" for r in rows})
    warnings = _more_pages(document.get("next_url"), "next_url")
    return _parsed(path, rows, problems, where, texts, "polygon " + " and ".join(kinds), warnings)


def _from_alpaca(path: Path, document: dict) -> _Parsed:
    rows, problems, where, texts, ignored = [], [], [], [], {}
    for group, items in document["corporate_actions"].items():
        if group not in (*_ALPACA_SPLITS, "cash_dividends"):
            if items:
                ignored[group] = len(items)
            continue
        for i, item in enumerate(items or []):
            item = item if isinstance(item, dict) else {}
            where.append(f"corporate_actions.{group}[{i}]")
            texts.append(json.dumps(item))
            if group in _ALPACA_SPLITS:
                ratio, problem = _ratio_text(item.get("new_rate"), item.get("old_rate"), "new_rate", "old_rate")
                rows.append(_row(item.get("symbol"), item.get("ex_date"), ratio, ""))
                problems.append(problem)
            else:
                rows.append(_row(item.get("symbol"), item.get("ex_date"), "", item.get("rate")))
                problems.append("" if "rate" in item else "cash dividend without a rate")
    warnings = _more_pages(document.get("next_page_token"), "next_page_token")
    if ignored:
        listed = ", ".join(f"{n} {group}" for group, n in sorted(ignored.items()))
        warnings.append(f"ignored {listed}: only splits and cash dividends are recorded, so prices are not adjusted "
                        "for these (a stock dividend of k %, in shares, can go in a CSV as split_ratio 1 + k/100)")
    return _parsed(path, rows, problems, where, texts, "alpaca corporate actions", warnings)


def _row(ticker: object, ex_date: object, split: object, cash: object) -> dict[str, str]:
    return {"ticker": _str(ticker), "ex_date": _str(ex_date), "split_ratio": _str(split), "cash_dividend": _str(cash)}


def _str(value: object) -> str:
    return "" if value is None else str(value).strip()


def _ratio_text(new: object, old: object, new_name: str, old_name: str) -> tuple[str, str]:
    """``new/old`` as text the ratio parser reads exactly, or the problem when one is missing."""
    missing = [n for n, v in ((new_name, new), (old_name, old)) if v is None or _str(v) == ""]
    return ("", f"split without {' and '.join(missing)}") if missing else (f"{_str(new)}/{_str(old)}", "")


def _more_pages(token: object, name: str) -> list[str]:
    return [f"the response has a {name}: the vendor holds more pages; import each page"] if token else []


def _parsed(path: Path, rows: list[dict[str, str]], problems: list[str], where: list[str], texts: list[str],
            shape: str, warnings: list[str]) -> _Parsed:
    if not rows:
        raise DataValidationError(f"{path}: the response holds no splits or cash dividends")
    fields = pd.DataFrame(rows, columns=["ticker", "ex_date", *COMPONENTS], dtype=object)
    lines = np.arange(1, len(rows) + 1)
    records = Records(path, fields, lines, np.asarray(where, dtype=object), np.asarray(texts, dtype=object))
    return _Parsed(records, shape, np.asarray(problems, dtype=object), warnings)


# -- judging ------------------------------------------------------------------------------------------------


def _judge(parsed: _Parsed, known: pd.Series) -> tuple[pd.DataFrame, np.ndarray, dict[str, str]]:
    """Typed actions (``ticker, ex_date``, the two components and whether each is stated), problems noted
    in ``parsed.problems``; records of tickers without bars are skipped, whatever else is wrong with them."""
    fields, problems = parsed.records.fields, parsed.problems
    written = text(fields["ticker"])
    note(problems, (written == "").to_numpy(), "missing ticker")
    tickers, renames, unknown = match_tickers(written, known)
    days = text(fields["ex_date"]).map(_day)
    note(problems, days.isna().to_numpy(), "unparseable ex_date", fields["ex_date"])
    note(problems, days.map(_not_a_session).to_numpy(dtype=bool), "ex_date is not an NYSE session",
         fields["ex_date"])
    frame = pd.DataFrame({"ticker": tickers, "ex_date": days})
    for column in COMPONENTS:
        raw = text(fields[column])
        frame[f"{column}_stated"] = (raw != "").to_numpy()
        values = [DEFAULTS[column] if v == "" else _number(v) for v in raw]
        failed = np.array([v is None for v in values], dtype=bool)
        frame[column] = np.array([DEFAULTS[column] if v is None else v for v in values], dtype=float)
        note(problems, failed, f"unparseable {column}", fields[column])
    split, cash = frame["split_ratio"].to_numpy(dtype=float), frame["cash_dividend"].to_numpy(dtype=float)
    note(problems, np.isnan(split) | np.isinf(split), "NaN or infinite split_ratio", fields["split_ratio"])
    note(problems, split <= 0, "non-positive split_ratio", fields["split_ratio"])
    note(problems, np.isnan(cash) | np.isinf(cash), "NaN or infinite cash_dividend", fields["cash_dividend"])
    note(problems, cash < 0, "negative cash_dividend", fields["cash_dividend"])
    note(problems, (split == 1.0) & (cash == 0.0), "records no action (split_ratio 1 and cash_dividend 0)")
    skipped = unknown & (written != "").to_numpy()
    problems[skipped] = ""
    _duplicates(frame, problems, skipped, parsed.records.where)
    return frame, skipped, renames


def _day(value: str) -> dt.date | None:
    match = _DAY.fullmatch(value)
    try:
        return dt.date.fromisoformat(match[1]) if match else None
    except ValueError:
        return None


def _not_a_session(day: object) -> bool:
    if not isinstance(day, dt.date) or not _CALENDAR[0] <= day <= _CALENDAR[1]:
        return False
    return day not in _session_set(day.year)


_SESSIONS: dict[int, frozenset[dt.date]] = {}


def _session_set(year: int) -> frozenset[dt.date]:
    if year not in _SESSIONS:
        _SESSIONS[year] = frozenset(sessions(dt.date(year, 1, 1), dt.date(year, 12, 31))["date"])
    return _SESSIONS[year]


def _number(value: str) -> float | None:
    """A number, or an exact ratio ``a/b`` (``1/3``); None when it is neither."""
    parts = value.split("/")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return None
    if len(numbers) == 1:
        return numbers[0]
    if len(numbers) != 2 or numbers[1] == 0:
        return None
    return numbers[0] / numbers[1]


def _duplicates(frame: pd.DataFrame, problems: np.ndarray, skipped: np.ndarray, where: np.ndarray) -> None:
    """A second record of a (ticker, ex_date) that states a component an earlier one stated is a duplicate;
    a split and a dividend of the same day in two records (vendor responses list them apart) combine."""
    seen: dict[tuple[str, dt.date, str], int] = {}
    for i in np.flatnonzero((problems == "") & ~skipped):
        for column in COMPONENTS:
            if not frame.at[i, f"{column}_stated"]:
                continue
            key = (frame.at[i, "ticker"], frame.at[i, "ex_date"], column)
            if key in seen:
                problems[i] = f"duplicate (ticker, ex_date) in the file: {where[seen[key]]} already gives its {column}"
                break
            seen[key] = i


def _merge(frame: pd.DataFrame, problems: np.ndarray, skipped: np.ndarray,
           stored: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The table to write, the components it adds (``ticker, ex_date, column, value``), and how many records
    were already present. A stated component that differs from a stored one (other than the stored no-op 1
    or 0) is a conflict."""
    index = {(t, d): k for k, (t, d) in enumerate(zip(stored["ticker"], stored["ex_date"], strict=True))}
    table = stored[list(CORPORATE_ACTION_SCHEMA.names)].copy().reset_index(drop=True)
    added: list[tuple[str, dt.date, str, float]] = []
    present = 0
    keys: dict[tuple[str, dt.date], list[int]] = {}
    for i in np.flatnonzero((problems == "") & ~skipped):
        keys.setdefault((frame.at[i, "ticker"], frame.at[i, "ex_date"]), []).append(i)
    for key, rows in keys.items():
        k = index.get(key)
        conflicts, fills = [], {}
        for i in rows:
            for column in COMPONENTS:
                if not frame.at[i, f"{column}_stated"]:
                    continue
                new = float(frame.at[i, column])
                old = DEFAULTS[column] if k is None else float(table.at[k, column])
                if np.isclose(new, old, rtol=1e-12, atol=0):
                    continue
                if k is not None and old != DEFAULTS[column]:
                    conflicts.append(f"{column} {old:g} stored, {new:g} here")
                fills[column] = new
        if conflicts:
            reason = (f"conflicts with the dataset's action of {key[0]} on {key[1]} ({'; '.join(conflicts)}); "
                      "if the stored one is wrong, remove it from corporate_actions.parquet first")
            for i in rows:
                problems[i] = reason
        elif not fills:
            present += len(rows)
        else:
            if k is None:
                k = len(table)
                table.loc[k] = [key[0], key[1], DEFAULTS["split_ratio"], DEFAULTS["cash_dividend"]]
                index[key] = k
            for column, value in fills.items():
                table.at[k, column] = value
                added.append((*key, column, value))
    table = table.sort_values(["ticker", "ex_date"], kind="stable").reset_index(drop=True)
    return table, pd.DataFrame(added, columns=["ticker", "ex_date", "column", "value"]), present


def _across(gaps: pd.DataFrame, ticker: str, ex_date: dt.date) -> pd.Series | None:
    """The overnight gap of ``ticker`` that spans ``ex_date`` (previous session before it, next on or after)."""
    span = gaps[(gaps["ticker"] == ticker) & (gaps["previous_date"] < ex_date) & (gaps["date"] >= ex_date)]
    return None if span.empty else span.iloc[0]


def _dividends_below_the_close(frame: pd.DataFrame, problems: np.ndarray, skipped: np.ndarray,
                               gaps: pd.DataFrame) -> None:
    """A cash dividend at or above the last raw close before its ex-date is bad: it would back-adjust prices
    to zero or below (the factor is 1 - D / close), and it is a dividend in the wrong unit or share count."""
    for i in np.flatnonzero((problems == "") & ~skipped & (frame["cash_dividend"] > 0).to_numpy()):
        span = _across(gaps, frame.at[i, "ticker"], frame.at[i, "ex_date"])
        if span is not None and frame.at[i, "cash_dividend"] >= span["previous_close"]:
            problems[i] = (f"cash_dividend {frame.at[i, 'cash_dividend']:g} is not below the last close before the "
                           f"ex-date ({span['previous_close']:g} on {span['previous_date']})")


# -- warnings -----------------------------------------------------------------------------------------------


def _outside_the_bars(added: pd.DataFrame, dataset: Dataset) -> list[str]:
    if not len(added) or not dataset.dates:
        return []
    first, last = dataset.dates[0], dataset.dates[-1]
    keys = added.drop_duplicates(["ticker", "ex_date"])
    outside = keys[(keys["ex_date"] <= first) | (keys["ex_date"] > last)]
    if outside.empty:
        return []
    return [f"{len(outside)} action(s) with an ex-date outside the bars' sessions after the first ({first} .. "
            f"{last}): recorded, they move no return until bars on both sides of them are imported"]


def _unseen_splits(added: pd.DataFrame, gaps: pd.DataFrame) -> list[str]:
    """Splits whose ex-date the bars span but whose overnight jump is not about 1 / r (wrong ratio or
    direction, wrong date, or bars the vendor already split-adjusted)."""
    splits = added[added["column"] == "split_ratio"]
    out = []
    for action in splits.itertuples(index=False):
        span = _across(gaps, action.ticker, action.ex_date)
        if span is None:
            continue
        ratio = float(span["ratio"])
        if abs(np.log(ratio * action.value)) > SPLIT_TOLERANCE:
            out.append(f"{action.ticker}'s {split_label(action.value)} split on {action.ex_date} does not show "
                       f"in the bars: first open / previous close = {ratio:.4g}, a split expects "
                       f"{1 / action.value:.4g}; check the ratio and the date, and that the bars are raw (not "
                       "split-adjusted by the vendor)")
    return out
