"""Adversarial validation through time (notebook 03_adversarial_validation): each period of features against the
periods before it, the AUC timeline with its confidence band, the threshold and the retrain triggers, and the
features that separate one period from its lookback."""

from __future__ import annotations

import datetime as dt
import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from workbench.data import EXCHANGE_TZ
from workbench.errors import DataValidationError
from workbench.validation import AdversarialReport, RegimeMonitor, adversarial_validation

TIMELINE_COLUMNS = ("n_new", "n_history", "auc", "ci_low", "ci_high", "drift", "top_feature", "top_direction",
                    "retrain")
"""Columns of :attr:`AdversarialTimeline.timeline_` (index ``period``: the session date, or the week's Monday),
those of :meth:`workbench.validation.RegimeMonitor.run`."""

NOT_COMPARED = ("ts", "ticker", "day_of_week")
"""Columns left out by default: the row keys, and the weekday, which alone tells one session from the others."""

PERIODS = ("session", "week")


class AdversarialTimeline:
    """Each period of a feature panel (a New York session, or a New York week) against the ``lookback`` periods
    before it, by :func:`workbench.validation.adversarial_validation`.

    ``period="week"`` replays :class:`workbench.validation.RegimeMonitor` week by week through its live step
    :meth:`~workbench.validation.RegimeMonitor.check` (so the timeline is the monitor's, triggers included).
    ``period="session"`` compares each session with the ``lookback`` sessions before it, grouping rows into
    ``block_minutes`` blocks of time (every ticker's rows of a block stay in one fold and are resampled together:
    market-wide features are shared by all tickers at a minute and rolling features remember their recent past,
    so rows near in time are near-copies that would leak across folds), and fires the monitor's retrain rule per
    session: drift with no trigger in the previous ``lookback`` sessions. A period is compared once ``lookback``
    whole periods precede it and both sides hold ``min_rows`` rows.

    ``columns``: the features to compare (default: every column but :data:`NOT_COMPARED`). Other arguments go to
    :func:`adversarial_validation` (``max_rows`` per side). After :meth:`fit`: ``timeline_`` (one row per period,
    :data:`TIMELINE_COLUMNS`) and ``reports_`` (period → :class:`AdversarialReport` of each compared period).
    """

    def __init__(self, period: str = "session", lookback: int = 4, threshold: float = 0.65, min_rows: int = 200, *,
                 max_rows: int = 5_000, columns: Sequence[str] | None = None, block_minutes: int = 30,
                 n_splits: int = 5,
                 n_bootstrap: int = 200, seed: int = 0, n_jobs: int = 1) -> None:
        self.period = period
        self.lookback = lookback
        self.threshold = threshold
        self.min_rows = min_rows
        self.max_rows = max_rows
        self.columns = columns
        self.block_minutes = block_minutes
        self.n_splits = n_splits
        self.n_bootstrap = n_bootstrap
        self.seed = seed
        self.n_jobs = n_jobs

    def fit(self, features: pd.DataFrame) -> AdversarialTimeline:
        """Compare every period of ``features`` (indexed by ``(ts, ticker)`` as :func:`workbench.features.
        compute_dataset` returns them, or with ``ts`` and ``ticker`` columns) with its lookback."""
        if self.period not in PERIODS:
            raise ValueError(f"period must be one of {PERIODS}, got {self.period!r}")
        for name, value, minimum in (("lookback", self.lookback, 1), ("min_rows", self.min_rows, self.n_splits),
                                     ("block_minutes", self.block_minutes, 1)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        frame = _panel(features)
        columns = self._feature_columns(frame)
        self.reports_: dict[dt.date, AdversarialReport] = {}
        if self.period == "week":
            self.timeline_ = self._weeks(frame, columns)
        else:
            self.timeline_ = self._sessions(frame, columns)
        return self

    def _feature_columns(self, frame: pd.DataFrame) -> list[str]:
        if self.columns is None:
            return [c for c in frame.columns if c not in NOT_COMPARED]
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise DataValidationError(f"features lacks the columns {missing} given as columns=; "
                                      f"it has {list(frame.columns)}")
        return list(self.columns)

    def _monitor(self, columns: list[str]) -> RegimeMonitor:
        return RegimeMonitor(self.threshold, self.lookback, self.min_rows, max_rows=self.max_rows, features=columns,
                             n_splits=self.n_splits, n_bootstrap=self.n_bootstrap, seed=self.seed,
                             n_jobs=self.n_jobs)

    def _weeks(self, frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
        """The regime monitor's live step, week after week: each week against all rows before it."""
        monitor = self._monitor(columns)
        days = ny_dates(frame["ts"])
        mondays = days - ((days.astype(np.int64) + 3) % 7).astype("timedelta64[D]")  # 1970-01-01: a Thursday
        rows = []
        for monday in np.unique(mondays):
            new = mondays == monday
            history = mondays < monday
            if not history.any():  # the monitor's check needs a history; the first week is never compared
                rows.append({"period": pd.Timestamp(monday).date(), "n_new": int(new.sum()), "n_history": 0,
                             **_uncompared()})
                continue
            row = monitor.check(frame.loc[new], frame.loc[history])
            if monitor.last_report_ is not None:
                self.reports_[row["week"]] = monitor.last_report_
            rows.append({"period": row["week"], **row.drop("week").to_dict()})
        return _timeline(rows)

    def _sessions(self, frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
        """Each session against the ``lookback`` sessions before it, rows grouped by blocks of time."""
        days = ny_dates(frame["ts"])
        sessions = np.unique(days)
        blocks = time_blocks(frame["ts"], self.block_minutes)
        rows, last_retrain = [], None
        for i, session in enumerate(sessions):
            new = days == session
            history = (days >= sessions[max(0, i - self.lookback)]) & (days < session)
            row = {"period": pd.Timestamp(session).date(), "n_new": int(new.sum()),
                   "n_history": int(history.sum()), **_uncompared()}
            if i >= self.lookback and min(row["n_new"], row["n_history"]) >= self.min_rows:
                report = adversarial_validation(
                    frame.loc[history, columns], frame.loc[new, columns], n_splits=self.n_splits, seed=self.seed,
                    threshold=self.threshold, n_bootstrap=self.n_bootstrap, max_rows=self.max_rows,
                    groups_a=blocks[history], groups_b=blocks[new], n_jobs=self.n_jobs)
                quiet = last_retrain is None or i - last_retrain > self.lookback
                row.update(_report_row(report), retrain=report.drift and quiet)
                if row["retrain"]:
                    last_retrain = i
                self.reports_[row["period"]] = report
            rows.append(row)
        return _timeline(rows)

    def report(self, period: dt.date | str | None = None) -> tuple[dt.date, AdversarialReport]:
        """The compared period ``period`` (a date or 'YYYY-MM-DD'; None: the one with the highest AUC) and its
        report, for :func:`separating_features_figure`."""
        if not getattr(self, "reports_", None):
            raise DataValidationError("no period was compared: fit first, with more periods than lookback and "
                                      "at least min_rows rows per side (lower lookback or min_rows)")
        if period is None:
            return max(self.reports_.items(), key=lambda item: item[1].auc)
        key = pd.Timestamp(period).date()
        if key not in self.reports_:
            known = ", ".join(str(p) for p in self.reports_)
            raise DataValidationError(f"period {key} was not compared; the compared periods: {known}")
        return key, self.reports_[key]


def ny_dates(ts: pd.Series) -> np.ndarray:
    """The New York calendar date of every timestamp, as ``datetime64[D]``."""
    index = pd.DatetimeIndex(ts)
    if index.tz is None:
        raise DataValidationError("features' ts is timezone-naive; localize it to UTC (.tz_localize('UTC'))")
    return index.tz_convert(EXCHANGE_TZ).tz_localize(None).to_numpy().astype("datetime64[D]")


def time_blocks(ts: pd.Series, minutes: int) -> np.ndarray:
    """The ``minutes``-long block of time (numbered from the epoch) every timestamp falls in."""
    return pd.DatetimeIndex(ts).as_unit("ns").asi8 // (minutes * 60_000_000_000)


def _panel(features: pd.DataFrame) -> pd.DataFrame:
    """``features`` with ``ts`` and ``ticker`` as columns (taken from the index when they are levels of it)."""
    if not isinstance(features, pd.DataFrame):
        raise TypeError(f"features must be a pandas DataFrame, got {type(features).__name__}")
    frame = features
    levels = [name for name in ("ts", "ticker") if name in (frame.index.names or []) and name not in frame.columns]
    if levels:
        frame = frame.reset_index(level=levels)
    missing = [name for name in ("ts", "ticker") if name not in frame.columns]
    if missing:
        raise DataValidationError(f"features lacks {missing}: pass compute_dataset's frame (indexed by ts, ticker) "
                                  "or one with ts and ticker columns")
    if len(frame) == 0:
        raise DataValidationError("features has no rows; widen the dates or the tickers")
    return frame.reset_index(drop=True)


def _uncompared() -> dict[str, object]:
    return {"auc": np.nan, "ci_low": np.nan, "ci_high": np.nan, "drift": False, "top_feature": None,
            "top_direction": None, "retrain": False}


def _report_row(report: AdversarialReport) -> dict[str, object]:
    return {"auc": report.auc, "ci_low": report.auc_ci[0], "ci_high": report.auc_ci[1], "drift": report.drift,
            "top_feature": str(report.features.index[0]), "top_direction": report.features["direction"].iat[0]}


def _timeline(rows: list[dict[str, object]]) -> pd.DataFrame:
    timeline = pd.DataFrame(rows, columns=["period", *TIMELINE_COLUMNS]).set_index("period")
    return timeline.astype({"drift": bool, "retrain": bool, "auc": float, "ci_low": float, "ci_high": float})


def auc_timeline_figure(timeline: pd.DataFrame, threshold: float, *, period: str = "session") -> go.Figure:
    """Out-of-fold AUC per period with its CI as a band, the drift threshold, chance (0.5), and a marker on every
    period where the retrain trigger fires (drifted periods without a trigger get an open circle)."""
    missing = [c for c in TIMELINE_COLUMNS if c not in timeline]
    if missing:
        raise ValueError(f"timeline lacks columns {missing}; pass AdversarialTimeline(...).fit(...).timeline_")
    x = [str(p) for p in timeline.index]
    hover = [f"top feature: {f} ({d})" if isinstance(f, str) else "not compared"
             for f, d in zip(timeline["top_feature"], timeline["top_direction"], strict=True)]
    figure = go.Figure([
        go.Scatter(x=x, y=timeline["ci_high"], mode="lines", line={"width": 0}, name="CI high", showlegend=False,
                   hoverinfo="skip"),
        go.Scatter(x=x, y=timeline["ci_low"], mode="lines", line={"width": 0}, fill="tonexty",
                   fillcolor="rgba(31, 119, 180, 0.2)", name="95% CI"),
        go.Scatter(x=x, y=timeline["auc"], mode="lines+markers", name="out-of-fold AUC", line={"color": "#1f77b4"},
                   hovertext=hover),
    ])
    for flag, name, marker in (
        (timeline["drift"] & ~timeline["retrain"], "drift", {"color": "orange", "size": 14, "symbol": "circle-open"}),
        (timeline["retrain"], "retrain trigger", {"color": "red", "size": 16, "symbol": "x"}),
    ):
        flagged = timeline[flag.to_numpy(bool)]
        figure.add_trace(go.Scatter(x=[str(p) for p in flagged.index], y=flagged["auc"], mode="markers", name=name,
                                    marker=marker))
    figure.add_hline(y=threshold, line_dash="dash", line_color="red", annotation_text=f"threshold {threshold:g}")
    figure.add_hline(y=0.5, line_dash="dot", line_color="gray")
    figure.update_layout(title=f"Adversarial validation by {period}: each {period} vs the ones before it",
                         xaxis={"title": period, "type": "category"}, yaxis_title="ROC-AUC (train vs next)")
    return figure


def separating_features_figure(report: AdversarialReport, period: dt.date | str | None = None,
                               top_n: int = 15) -> go.Figure:
    """The features that tell a period from its lookback (:meth:`AdversarialReport.figure`), titled by period."""
    figure = report.figure(top_n)
    if period is not None:
        figure.update_layout(title=f"{period} vs its lookback — {figure.layout.title.text}")
    return figure
