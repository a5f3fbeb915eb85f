"""Walk-forward splits over a panel: train on a window of bars or sessions, test on the next, step forward."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from workbench.data import EXCHANGE_TZ
from workbench.errors import DataValidationError
from workbench.validation._split_params import check_count
from workbench.validation._split_times import SampleTimes, check_t1, sample_times, splitter_repr

_NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True)
class _Windows:
    """Bar ranges ``[start, stop)`` of every fold's train and test window (one entry per fold)."""

    train_start: np.ndarray
    train_stop: np.ndarray
    test_start: np.ndarray
    test_stop: np.ndarray


def _pick_one(bars: int | None, days: int | None, what: str) -> tuple[int, bool]:
    """The window length and whether it counts sessions, from the ``{what}_bars`` / ``{what}_days`` pair."""
    if (bars is None) == (days is None):
        raise ValueError(
            f"pass exactly one of {what}_bars and {what}_days, got {what}_bars={bars!r}, {what}_days={days!r}"
        )
    if bars is not None:
        return check_count(bars, f"{what}_bars", 1), False
    return check_count(days, f"{what}_days", 1), True


def _unit_starts(times: SampleTimes, days: bool) -> np.ndarray:
    """First bar of every unit (a bar, or a session = New York date of t0) followed by ``n_bars``."""
    if not days:
        return np.arange(times.n_bars + 1)
    local = pd.DatetimeIndex(times.bar_ns.view("datetime64[ns]")).tz_localize("UTC").tz_convert(EXCHANGE_TZ)
    day = local.tz_localize(None).as_unit("ns").asi8 // _NS_PER_DAY
    return np.concatenate(([0], np.flatnonzero(np.diff(day)) + 1, [times.n_bars]))


class WalkForward(BaseCrossValidator):
    """Rolling or expanding walk-forward: train on a window, test on the next one, step forward in time.

    Windows are counted in bars (distinct event times t0) or in NYSE sessions (``*_days``: the New York date
    of t0; a session without rows does not count). The first fold is the earliest test window with a full
    train window before it; then test windows start every ``step`` test units until no full test window is
    left (trailing bars that cannot fill one are not tested). For a test window starting at bar ``b``:

    * the train window ends ``embargo`` bars before ``b`` (those bars are skipped);
    * rolling: it holds ``train_bars`` bars, or the ``train_days`` sessions ending with the session of its
      last bar (that session may be cut short by the embargo); expanding: it starts at the first bar;
    * with ``t1``, training rows whose label end reaches the test start (``t1 >= t0 of bar b``) are purged:
      their labels would overlap the test period.

    Train is always strictly before test and folds move forward in time. A fold whose training rows are all
    purged raises a ``DataValidationError``. ``y`` and ``groups`` are ignored; train and test indices are
    ascending row positions in X.

    Parameters
    ----------
    train_bars, train_days : int
        Train window length; pass exactly one. With ``expanding=True``, the length of the first window.
    test_bars, test_days : int
        Test window length; pass exactly one.
    step : int, optional
        Distance between consecutive test starts, in test units (bars or sessions); default the test length.
    embargo : int, default 0
        Bars skipped between the end of the train window and the test start.
    expanding : bool, default False
        Grow the train window from the first bar instead of rolling a fixed-length one.
    t1 : pd.Series, optional
        Label end of every row of X (tz-aware), indexed by the row's event start t0, in X's row order. Without
        it, the event times come from X's tz-aware time index (e.g. a (ts, ticker) MultiIndex) and nothing is
        purged.
    """

    def __init__(
        self,
        train_bars: int | None = None,
        train_days: int | None = None,
        test_bars: int | None = None,
        test_days: int | None = None,
        step: int | None = None,
        embargo: int = 0,
        expanding: bool = False,
        t1: pd.Series | None = None,
    ) -> None:
        self.train_bars = train_bars
        self.train_days = train_days
        self.test_bars = test_bars
        self.test_days = test_days
        self.step = step
        self.embargo = embargo
        self.expanding = expanding
        self.t1 = t1
        self._train_len, self._train_in_days = _pick_one(train_bars, train_days, "train")
        self._test_len, self._test_in_days = _pick_one(test_bars, test_days, "test")
        self._step = self._test_len if step is None else check_count(step, "step", 1)
        self._embargo = check_count(embargo, "embargo", 0)
        if not isinstance(expanding, bool | np.bool_):
            raise ValueError(f"expanding must be True or False, got {expanding!r}")
        if t1 is not None:
            check_t1(t1)

    def _windows(self, times: SampleTimes) -> _Windows:
        """Every fold's bar ranges; error when the data cannot hold a single fold."""
        train_units = _unit_starts(times, self._train_in_days)
        test_units = _unit_starts(times, self._test_in_days)
        n_candidates = max(len(test_units) - self._test_len, 0)  # test windows of full length
        test_start = test_units[:n_candidates]
        train_stop = test_start - self._embargo
        if self._train_in_days:
            last_day = np.searchsorted(train_units, np.maximum(train_stop - 1, 0), side="right") - 1
            first_day = last_day - self._train_len + 1
            train_start = np.where(first_day >= 0, train_units[np.maximum(first_day, 0)], -1)
        else:
            train_start = train_stop - self._train_len
        feasible = np.flatnonzero((train_stop >= 1) & (train_start >= 0))
        if feasible.size == 0:
            units = {False: "bars", True: "sessions"}
            raise DataValidationError(
                f"not enough data for one walk-forward fold: the data has {times.n_bars} bars in "
                f"{len(_unit_starts(times, True)) - 1} session(s), but a fold needs {self._train_len} train "
                f"{units[self._train_in_days]} + {self._embargo} embargo bars + {self._test_len} test "
                f"{units[self._test_in_days]} (a bar here is one distinct bar time across tickers, i.e. a minute); "
                "shorten the windows (train_days/train_bars, test_days/test_bars, embargo) or pass more sessions"
            )
        folds = np.arange(feasible[0], n_candidates, self._step)
        return _Windows(
            train_start=np.zeros(folds.size, dtype=np.int64) if self.expanding else train_start[folds],
            train_stop=train_stop[folds],
            test_start=test_start[folds],
            test_stop=test_units[folds + self._test_len],
        )

    def split(self, X: object, y: object = None, groups: object = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (train, test) row positions for each fold, oldest test window first."""
        times = sample_times(X, self.t1)
        windows = self._windows(times)
        order, starts = times.bar_rows()
        for fold in range(len(windows.test_start)):
            b = windows.test_start[fold]
            train = np.sort(order[starts[windows.train_start[fold]] : starts[windows.train_stop[fold]]])
            if times.t1_ns is not None:
                train = train[times.t1_ns[train] < times.bar_ns[b]]
                if train.size == 0:
                    raise DataValidationError(
                        f"walk-forward fold {fold} (test from {pd.Timestamp(int(times.bar_ns[b]), tz='UTC')}) has "
                        "no training row left: every label in its train window reaches the test start; use a "
                        "longer train window (train_days/train_bars), a larger embargo or shorter labels"
                    )
            yield train, np.sort(order[starts[b] : starts[windows.test_stop[fold]]])

    def get_n_splits(self, X: object = None, y: object = None, groups: object = None) -> int:
        """Exact number of folds on X (or on t1's rows when X is None)."""
        return len(self._windows(sample_times(X, self.t1)).test_start)

    def __repr__(self) -> str:
        params = {
            "train_bars": self.train_bars,
            "train_days": self.train_days,
            "test_bars": self.test_bars,
            "test_days": self.test_days,
            "step": self.step,
            "embargo": self.embargo,
            "expanding": self.expanding,
            "t1": self.t1,
        }
        return splitter_repr(self, {k: v for k, v in params.items() if v is not None})
