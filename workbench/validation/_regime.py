"""Regime monitor: each New York calendar week of features against the weeks before it, by adversarial validation.

A week a classifier tells apart from its lookback beyond the threshold has drifted; the first such week after a
quiet spell triggers a retrain. :meth:`RegimeMonitor.run` replays history through the same step as the live
:meth:`RegimeMonitor.check`, so the batch result is what the live monitor would have said.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from workbench.data import EXCHANGE_TZ
from workbench.errors import DataValidationError
from workbench.validation._adversarial import (
    AdversarialReport,
    _check_count,
    _check_fraction,
    _check_seed,
    _subsample,
    adversarial_validation,
)

RESULT_COLUMNS = ("n_new", "n_history", "auc", "ci_low", "ci_high", "drift", "top_feature", "top_direction", "retrain")
"""Columns of :meth:`RegimeMonitor.run` (index: ``week``, the Monday of the New York week, a ``datetime.date``)."""

_NOT_FEATURES = ("ts", "ticker")
_EPOCH = np.datetime64("1970-01-01", "D")


def ny_days(frame: pd.DataFrame, name: str = "features") -> np.ndarray:
    """New York calendar date of every row (days since 1970-01-01) from its tz-aware ``ts`` column or DatetimeIndex."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    if "ts" in frame.columns:
        stamps = frame["ts"]
        if not isinstance(stamps.dtype, pd.DatetimeTZDtype):
            raise DataValidationError(
                f"{name}['ts'] has dtype {stamps.dtype}; it must be tz-aware timestamps (e.g. "
                "pd.to_datetime(ts, utc=True))"
            )
        index = pd.DatetimeIndex(stamps)
    elif isinstance(frame.index, pd.DatetimeIndex):
        index = frame.index
        if index.tz is None:
            raise DataValidationError(f"{name} has a timezone-naive DatetimeIndex; localize it (.tz_localize('UTC'))")
    else:
        raise DataValidationError(
            f"{name} needs a tz-aware 'ts' column or a tz-aware DatetimeIndex to place its rows in weeks"
        )
    if index.hasnans:
        raise DataValidationError(f"{name} has {int(index.isna().sum())} missing timestamp(s); drop those rows")
    local = index.tz_convert(EXCHANGE_TZ).tz_localize(None).to_numpy().astype("datetime64[D]")
    return (local - _EPOCH).astype(np.int64)


def week_of(days: np.ndarray) -> np.ndarray:
    """Week number of each day (days since 1970-01-01): weeks start on Monday, as ISO weeks do."""
    return (np.asarray(days, dtype=np.int64) + 3) // 7  # 1970-01-01 was a Thursday


def week_start(week: int) -> dt.date:
    """The Monday that starts week number ``week`` (see :func:`week_of`)."""
    return (_EPOCH + np.timedelta64(int(week) * 7 - 3, "D")).astype(dt.date)


class RegimeMonitor:
    """Compares each New York calendar week of features with the ``lookback_weeks`` weeks before it.

    A week is compared only once the data reach back ``lookback_weeks`` full weeks and when both the week and its
    lookback hold ``min_rows`` rows on at least two sessions each; folds and bootstrap resamples keep each session
    whole. ``drift``: the AUC's CI lower bound exceeds ``threshold``. ``retrain``: drift with no retrain triggered in
    the previous ``lookback_weeks`` weeks — a change already acted on keeps showing as drift until it leaves the
    lookback, without re-triggering. ``features`` names the columns to compare (default: all but ``ts`` and
    ``ticker``); other arguments go to :func:`adversarial_validation`, with ``max_rows`` per side.
    """

    def __init__(
        self,
        threshold: float = 0.65,
        lookback_weeks: int = 4,
        min_rows: int = 200,
        *,
        max_rows: int = 20_000,
        features: Sequence[str] | None = None,
        n_splits: int = 5,
        n_bootstrap: int = 200,
        seed: int = 0,
        n_jobs: int = 1,
    ) -> None:
        self.threshold = threshold
        self.lookback_weeks = lookback_weeks
        self.min_rows = min_rows
        self.max_rows = max_rows
        self.features = features
        self.n_splits = n_splits
        self.n_bootstrap = n_bootstrap
        self.seed = seed
        self.n_jobs = n_jobs
        self.reset()

    def reset(self) -> RegimeMonitor:
        """Forget the checked weeks and the last retrain trigger."""
        self.last_week_: int | None = None
        self.last_retrain_week_: int | None = None
        self.last_report_: AdversarialReport | None = None
        return self

    # -- public API ------------------------------------------------------------------------------------------------

    def run(self, features: pd.DataFrame) -> pd.DataFrame:
        """One row per week present in ``features`` (columns :data:`RESULT_COLUMNS`), replaying :meth:`check`."""
        self._check_params()
        days = ny_days(features, "features")
        if days.size == 0:
            raise DataValidationError("features has no rows")
        columns = self._columns(features, "features")
        self.reset()
        weeks = week_of(days)
        order = np.argsort(weeks, kind="stable")
        sorted_weeks = weeks[order]
        first = int(sorted_weeks[0])
        rows = []
        for week in np.unique(sorted_weeks):
            start, stop = np.searchsorted(sorted_weeks, [week, week + 1])
            history_start = np.searchsorted(sorted_weeks, week - self.lookback_weeks)
            rows.append(
                self._step(
                    int(week),
                    (features, order[start:stop], days),
                    (features, order[history_start:start], days),
                    columns,
                    covered=first <= week - self.lookback_weeks,
                )
            )
        return pd.DataFrame(rows, columns=["week", *RESULT_COLUMNS]).set_index("week")

    def check(self, new_week: pd.DataFrame, history: pd.DataFrame) -> pd.Series:
        """The live step: one week of new rows against ``history`` (earlier rows) — a row of :meth:`run`'s result.

        Uses history rows of the ``lookback_weeks`` weeks before the new week (older ones are ignored) and compares
        only if ``history`` reaches back that far. Weeks must be checked in time order (:meth:`reset` starts over);
        ``last_report_`` holds the week's full :class:`AdversarialReport` (None when not compared).
        """
        self._check_params()
        new_days = ny_days(new_week, "new_week")
        history_days = ny_days(history, "history")
        columns = self._columns(new_week, "new_week")
        self._columns(history, "history", columns)
        new_weeks = np.unique(week_of(new_days))
        if new_weeks.size != 1:
            found = ", ".join(str(week_start(w)) for w in new_weeks[:5]) or "none"
            raise DataValidationError(f"new_week must hold rows of exactly one New York week; weeks found: {found}")
        week = int(new_weeks[0])
        history_weeks = week_of(history_days)
        if (history_weeks >= week).any():
            raise DataValidationError(
                f"history holds rows of the week of {week_start(history_weeks.max())}, not before the new week of "
                f"{week_start(week)}; pass only earlier rows as history"
            )
        return pd.Series(
            self._step(
                week,
                (new_week, np.arange(new_days.size), new_days),
                (history, np.flatnonzero(history_weeks >= week - self.lookback_weeks), history_days),
                columns,
                covered=history_weeks.size > 0 and int(history_weeks.min()) <= week - self.lookback_weeks,
            )
        )

    def figure(self, result: pd.DataFrame) -> go.Figure:
        """AUC per week with its CI, the threshold line, and the drifted and retrain weeks marked."""
        missing = [c for c in ("auc", "ci_low", "ci_high", "drift", "retrain", "top_feature") if c not in result]
        if missing:
            raise ValueError(f"result lacks columns {missing}; pass the frame RegimeMonitor.run returned")
        weeks = list(result.index)
        fig = go.Figure(
            go.Scatter(
                x=weeks,
                y=result["auc"],
                mode="lines+markers",
                name="out-of-fold AUC",
                error_y={
                    "type": "data",
                    "array": result["ci_high"] - result["auc"],
                    "arrayminus": result["auc"] - result["ci_low"],
                },
                hovertext=[f"top feature: {f} ({d})" if isinstance(f, str) else "not compared"
                           for f, d in zip(result["top_feature"], result["top_direction"], strict=True)],
            )
        )
        for flag, label, color, symbol in (
            (result["drift"] & ~result["retrain"], "drift", "orange", "circle-open"),
            (result["retrain"], "retrain", "red", "x"),
        ):
            flagged = result[flag.astype(bool)]
            fig.add_trace(
                go.Scatter(
                    x=list(flagged.index),
                    y=flagged["auc"],
                    mode="markers",
                    name=label,
                    marker={"color": color, "size": 14, "symbol": symbol},
                )
            )
        fig.add_hline(y=self.threshold, line_dash="dash", line_color="red", annotation_text="threshold")
        fig.add_hline(y=0.5, line_dash="dot", line_color="gray")
        fig.update_layout(
            title=f"Regime monitor: each week vs the previous {self.lookback_weeks} (adversarial validation)",
            xaxis_title="week (Monday, New York)",
            yaxis_title="ROC-AUC",
        )
        return fig

    # -- internals -------------------------------------------------------------------------------------------------

    def _check_params(self) -> None:
        _check_fraction("threshold", self.threshold)
        _check_count("lookback_weeks", self.lookback_weeks, 1)
        _check_count("n_splits", self.n_splits, 2)
        _check_count("min_rows", self.min_rows, self.n_splits)
        _check_count("max_rows", self.max_rows, self.min_rows)
        _check_count("n_bootstrap", self.n_bootstrap, 10)
        _check_seed(self.seed)

    def _columns(self, frame: pd.DataFrame, name: str, expected: list[str] | None = None) -> list[str]:
        """The feature columns to compare, checked to exist in ``frame`` (and to equal ``expected`` when given)."""
        if self.features is not None:
            columns = list(self.features)
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                raise DataValidationError(f"{name} lacks the feature columns {missing} given as features=")
        else:
            columns = [c for c in frame.columns if c not in _NOT_FEATURES]
        if not columns:
            raise DataValidationError(f"{name} has no feature columns besides {list(_NOT_FEATURES)}")
        if expected is not None and sorted(map(str, columns)) != sorted(map(str, expected)):
            raise DataValidationError(
                f"{name} has feature columns {columns} but new_week has {expected}; pass the same features"
            )
        return columns

    def _step(
        self,
        week: int,
        new: tuple[pd.DataFrame, np.ndarray, np.ndarray],
        history: tuple[pd.DataFrame, np.ndarray, np.ndarray],
        columns: list[str],
        *,
        covered: bool,
    ) -> dict[str, object]:
        """Compare week ``week`` (frame, row positions, NY days of all rows) with its history and update the state."""
        if self.last_week_ is not None and week <= self.last_week_:
            raise ValueError(
                f"the week of {week_start(week)} comes at or before the last checked week of "
                f"{week_start(self.last_week_)}; check weeks in time order, or call reset() to start over"
            )
        (new_frame, new_pos, new_days), (history_frame, history_pos, history_days) = new, history
        row: dict[str, object] = {
            "week": week_start(week),
            "n_new": int(new_pos.size),
            "n_history": int(history_pos.size),
            "auc": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "drift": False,
            "top_feature": None,
            "top_direction": None,
            "retrain": False,
        }
        report = None
        enough = min(new_pos.size, history_pos.size) >= self.min_rows and all(
            np.unique(days[pos]).size >= 2 for days, pos in ((new_days, new_pos), (history_days, history_pos))
        )
        if covered and enough:
            rng = np.random.default_rng([self.seed, week])
            history_pos = history_pos[_subsample(history_pos.size, self.max_rows, rng)]
            new_pos = new_pos[_subsample(new_pos.size, self.max_rows, rng)]
            report = adversarial_validation(
                history_frame.iloc[history_pos, history_frame.columns.get_indexer(columns)],
                new_frame.iloc[new_pos, new_frame.columns.get_indexer(columns)],
                n_splits=self.n_splits,
                seed=self.seed,
                threshold=self.threshold,
                n_bootstrap=self.n_bootstrap,
                max_rows=self.max_rows,
                groups_a=history_days[history_pos],
                groups_b=new_days[new_pos],
                n_jobs=self.n_jobs,
            )
            top = report.features.iloc[0]
            quiet = self.last_retrain_week_ is None or week - self.last_retrain_week_ > self.lookback_weeks
            row.update(
                auc=report.auc,
                ci_low=report.auc_ci[0],
                ci_high=report.auc_ci[1],
                drift=report.drift,
                top_feature=str(report.features.index[0]),
                top_direction=top["direction"],
                retrain=report.drift and quiet,
            )
            if row["retrain"]:
                self.last_retrain_week_ = week
        self.last_week_ = week
        self.last_report_ = report
        return row
