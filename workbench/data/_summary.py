"""A dataset's health report: coverage, corporate actions, context, and its stylized facts."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

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
    out["context_tables"] = sorted(p.stem for p in (ds.path / "context").glob("*.parquet"))
    quarantine = ds.path / "quarantine.parquet"
    out["quarantined_rows"] = int(ds.sql(f"SELECT count(*) FROM read_parquet('{quarantine.as_posix()}')").iloc[0, 0]) \
        if quarantine.exists() else 0
    if facts and out["rows"]:
        out["stylized_facts"] = stylized_facts_report(ds)
    return out


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
