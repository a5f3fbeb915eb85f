"""A dataset's health report: coverage, corporate actions, overnight jumps that look like unrecorded splits,
context, and its stylized facts."""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from workbench.data import stylized_facts as sf
from workbench.data._calendar import sessions as session_table
from workbench.data._lake import Dataset


def summarize(ds: Dataset, *, facts: bool = True) -> dict[str, Any]:
    """Coverage and quality numbers of ``ds``; with ``facts``, the stylized facts of its market too."""
    coverage = ds.sql(
        "SELECT count(*) AS rows, count(DISTINCT ticker) AS tickers, min(ts) AS first_bar, max(ts) AS last_bar, "
        "count(*) FILTER (WHERE bid IS NULL) AS rows_without_quotes FROM bars"
    ).iloc[0]
    out: dict[str, Any] = {
        "dataset": ds.name,
        "path": str(ds.path),
        "rows": int(coverage["rows"]),
        "tickers": int(coverage["tickers"]),
        "sessions": len(ds.dates),
        "first_bar": str(coverage["first_bar"]),
        "last_bar": str(coverage["last_bar"]),
        "rows_without_quotes": int(coverage["rows_without_quotes"]),
    }
    if ds.dates:
        calendar = session_table(ds.dates[0], ds.dates[-1])
        calendar = calendar[calendar["date"].isin(ds.dates)]
        expected = int(calendar["minutes"].sum()) * out["tickers"]
        out["half_days"] = [str(d) for d in calendar.loc[calendar["minutes"] < 390, "date"]]
        out["missing_bar_share"] = round(1.0 - out["rows"] / expected, 5) if expected else None
    actions = ds.corporate_actions
    out["splits"] = int((actions["split_ratio"] != 1.0).sum())
    out["cash_dividends"] = int((actions["cash_dividend"] > 0).sum())
    out["unrecorded_splits"] = unrecorded_splits(ds)
    out["context_tables"] = sorted(p.stem for p in (ds.path / "context").glob("*.parquet"))
    quarantine = ds.path / "quarantine.parquet"
    out["quarantined_rows"] = int(ds.sql(f"SELECT count(*) FROM read_parquet('{quarantine.as_posix()}')").iloc[0, 0]) \
        if quarantine.exists() else 0
    if facts and out["rows"]:
        out["stylized_facts"] = stylized_facts_report(ds)
    return out


#: split ratios (new shares per old share) a raw overnight jump is compared with: price after / before = 1 / r
SPLIT_RATIOS: tuple[float, ...] = (2.0, 3.0, 1.5, 4.0, 5.0, 7.0, 10.0, 1 / 2, 1 / 3, 1 / 4, 1 / 5, 1 / 10)
#: how far (in log units) an overnight jump may sit from 1 / r and still look like an r:1 split. A real split
#: gap is 1 / r times the ordinary overnight move (NVDA 10:1 on 2024-06-10: x0.996 after the 1/10; AAPL 4:1 on
#: 2020-08-31: x1.022), so the window must hold a few percent of ordinary move; 0.05 does, and it stays under
#: half the closest spacing of two candidates (4 vs 5: log 1.25 = 0.22), so a jump matches one ratio at most.
#: The candidate nearest to no jump is 3:2, a 33 % overnight drop: ordinary gaps are a few percent and an
#: earnings gap of 28-37 % is rare, so a flag is a thing to check, never recorded without looking.
SPLIT_TOLERANCE = 0.05
ACTIONS_HEADER = "ticker,ex_date,split_ratio,cash_dividend"


def overnight_gaps(ds: Dataset, tickers: list[str] | None = None) -> pd.DataFrame:
    """Per ticker (all, or ``tickers``) and session after its first: the session's first raw open against the
    last raw close of the ticker's previous session in the lake (``ticker, date, previous_date,
    previous_close, open, ratio``)."""
    where = "" if tickers is None else "WHERE ticker IN (SELECT unnest(?::VARCHAR[])) "
    gaps = ds.sql(
        "WITH days AS (SELECT ticker, date, arg_min(open, ts) AS open, arg_max(close, ts) AS close FROM bars "
        f"{where}GROUP BY ticker, date) "
        "SELECT * FROM (SELECT ticker, date, lag(date) OVER w AS previous_date, lag(close) OVER w AS previous_close, "
        "open FROM days WINDOW w AS (PARTITION BY ticker ORDER BY date)) WHERE previous_close IS NOT NULL "
        "ORDER BY ticker, date", None if tickers is None else [sorted(tickers)]
    )
    gaps["ticker"] = gaps["ticker"].astype(str)
    for column in ("date", "previous_date"):
        gaps[column] = pd.to_datetime(gaps[column]).dt.date
    gaps["ratio"] = gaps["open"] / gaps["previous_close"]
    return gaps


def split_like(ratio: np.ndarray) -> np.ndarray:
    """The split ratio ``r`` of :data:`SPLIT_RATIOS` each overnight price ratio is within
    :data:`SPLIT_TOLERANCE` of ``1 / r``, NaN where it looks like none."""
    implied = -np.log(np.asarray(ratio, dtype=float))
    candidates = np.log(np.asarray(SPLIT_RATIOS))
    distance = np.abs(implied[:, None] - candidates[None, :])
    nearest = np.argmin(distance, axis=1) if len(implied) else np.zeros(0, dtype=int)
    close = distance[np.arange(len(implied)), nearest] <= SPLIT_TOLERANCE
    return np.where(close, np.asarray(SPLIT_RATIOS)[nearest], np.nan)


def split_label(ratio: float) -> str:
    """``7.0`` -> ``"7:1"``, ``1.5`` -> ``"3:2"``, ``0.1`` -> ``"1:10"`` (new shares : old shares)."""
    fraction = Fraction(ratio).limit_denominator(10)
    return f"{fraction.numerator}:{fraction.denominator}"


def split_fraction(ratio: float) -> str:
    """A split ratio as the importer reads it exactly: ``7.0`` -> ``"7"``, ``1 / 3`` -> ``"1/3"``."""
    fraction = Fraction(ratio).limit_denominator(10)
    return str(fraction.numerator) if fraction.denominator == 1 else f"{fraction.numerator}/{fraction.denominator}"


def unrecorded_splits(ds: Dataset) -> list[dict[str, Any]]:
    """Overnight jumps that look like a split with no split recorded between the two sessions, each with
    the CSV line and the command that would record it."""
    gaps = overnight_gaps(ds)
    gaps["split"] = split_like(gaps["ratio"].to_numpy())
    jumps = gaps[gaps["split"].notna()]
    actions = ds.corporate_actions
    splits = actions[actions["split_ratio"] != 1.0]
    recorded = {(str(t), pd.Timestamp(d).date()) for t, d in zip(splits["ticker"], splits["ex_date"], strict=True)}
    flagged = []
    for row in jumps.itertuples(index=False):
        between = pd.date_range(row.previous_date, row.date, inclusive="right").date
        if any((row.ticker, day) in recorded for day in between):
            continue
        line = f"{row.ticker},{row.date},{split_fraction(row.split)},0"
        flagged.append({
            "ticker": row.ticker, "date": str(row.date), "previous_close": float(row.previous_close),
            "open": float(row.open), "overnight_ratio": round(float(row.ratio), 6),
            "looks_like": split_label(row.split), "csv_line": line,
            "command": f"wb data actions import actions.csv --name {ds.name}",
            "how": f"if it is a split, add the line {line} to actions.csv (header: {ACTIONS_HEADER}) and run the "
                   "command; if it is a real price move, leave it",
        })
    return flagged


def stylized_facts_report(ds: Dataset) -> dict[str, Any]:
    """Volatility clustering, intraday volume U-shape, index lead-lag and the imbalance signal."""
    tickers = ds.tickers
    bars = ds.bars(adjust="backward")
    stocks = bars[~bars["ticker"].isin(tickers.loc[tickers["is_index"], "ticker"])]
    profile = sf.intraday_volume_profile(stocks)
    report: dict[str, Any] = {
        "abs_return_autocorr_lag1": round(sf.abs_return_autocorrelation(stocks), 4),
        "return_autocorr_lag1": round(sf.return_autocorrelation(stocks), 4),
        "volume_open_to_midday": round(float(profile.loc[:30].mean() / profile.loc[150:240].mean()), 3),
        "volume_close_to_midday": round(float(profile.loc[361:].mean() / profile.loc[150:240].mean()), 3)
        if len(profile) >= 360 else None,
    }
    if len(stocks):
        ic, t_stat = sf.imbalance_rank_ic(stocks, horizon=5)
        report["imbalance_rank_ic_5m"] = None if np.isnan(ic) else round(ic, 4)
        report["imbalance_rank_ic_5m_t"] = None if np.isnan(t_stat) else round(t_stat, 2)
    index = tickers.loc[tickers["is_index"], "ticker"].tolist()
    if index:
        followers = stocks["ticker"].unique().tolist()[:100]
        lead = sf.lead_lag_profile(bars[bars["ticker"].isin([index[0], *followers])], index[0], followers, 3)
        report["index_lead_lag_corr"] = {int(k): round(v, 4) for k, v in lead.items()}
    return report


def format_summary(summary: dict[str, Any]) -> str:
    """Human-readable text of :func:`summarize`'s output."""
    return json.dumps(summary, indent=2, default=str)
