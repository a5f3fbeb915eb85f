"""WalkForward: against sklearn's TimeSeriesSplit and a pure-Python reference, invariants, real panel, errors."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import optuna
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import TimeSeriesSplit, cross_val_score

from tests.validation.test_purged_kfold import panels, times_ns
from workbench.data import Dataset
from workbench.errors import DataValidationError
from workbench.validation import WalkForward

NEW_YORK = ZoneInfo("America/New_York")


def rows_of_bars(t0: np.ndarray, bars: np.ndarray, chosen: np.ndarray) -> list[int]:
    """Ascending positions of the rows whose t0 is one of the ``chosen`` bar positions of ``bars``."""
    return np.flatnonzero(np.isin(t0, bars[chosen])).tolist()


@settings(max_examples=60, deadline=None)
@given(
    t1=panels(max_bars=40),
    train=st.integers(1, 8),
    test=st.integers(1, 5),
    embargo=st.integers(0, 3),
    expanding=st.booleans(),
)
def test_bars_mode_matches_sklearn_time_series_split(
    t1: pd.Series, train: int, test: int, embargo: int, expanding: bool
) -> None:
    t0 = t1.index.as_unit("ns").asi8
    bars = np.unique(t0)
    cv = WalkForward(train_bars=train, test_bars=test, embargo=embargo, expanding=expanding)
    X = pd.DataFrame({"x": np.zeros(len(t1))}, index=pd.MultiIndex.from_arrays([t1.index, np.arange(len(t1))]))
    n_folds = (len(bars) - train - embargo) // test
    if n_folds < 1:
        with pytest.raises(DataValidationError, match="not enough data for one walk-forward fold"):
            cv.get_n_splits(X)
        return
    if n_folds == 1:  # TimeSeriesSplit needs two folds; the reference test below covers one
        assert cv.get_n_splits(X) == 1
        return
    # sklearn aligns its last test window with the end of the data: give it exactly the bars we test
    used = train + embargo + n_folds * test
    reference = TimeSeriesSplit(n_folds, test_size=test, gap=embargo, max_train_size=None if expanding else train)
    expected = [
        (rows_of_bars(t0, bars, train_bars), rows_of_bars(t0, bars, test_bars))
        for train_bars, test_bars in reference.split(np.zeros(used))
    ]
    assert [(a.tolist(), b.tolist()) for a, b in cv.split(X)] == expected
    assert cv.get_n_splits(X) == n_folds


def reference_walk_forward(
    t1: pd.Series, train: int, train_days: bool, test: int, test_days: bool, step: int, embargo: int,
    expanding: bool, purge: bool,
) -> list[tuple[list[int], list[int]]]:
    """Walk-forward by hand: units are bars or New York dates (zoneinfo), windows found by scanning."""
    t0, ends = times_ns(t1)
    bars = sorted(set(t0))

    def units(days: bool) -> list[list[int]]:
        if not days:
            return [[b] for b in range(len(bars))]
        grouped: dict[object, list[int]] = {}
        for b, ns in enumerate(bars):
            grouped.setdefault(pd.Timestamp(ns, tz="UTC").to_pydatetime().astimezone(NEW_YORK).date(), []).append(b)
        return [grouped[day] for day in sorted(grouped)]

    train_units, test_units = units(train_days), units(test_days)
    train_unit_of = {b: u for u, members in enumerate(train_units) for b in members}
    folds: list[tuple[list[int], list[int]]] = []
    q = 0
    while q + test <= len(test_units):
        first_test = test_units[q][0]
        stop = first_test - embargo
        start = None
        if stop >= 1:
            if train_days:
                first_unit = train_unit_of[stop - 1] - train + 1
                start = train_units[first_unit][0] if first_unit >= 0 else None
            elif stop - train >= 0:
                start = stop - train
        if start is None:
            q += 1
            continue
        train_bars = set(bars[(0 if expanding else start) : stop])
        test_bars = {bars[b] for u in test_units[q : q + test] for b in u}
        train_rows = [i for i in range(len(t0)) if t0[i] in train_bars and not (purge and ends[i] >= bars[first_test])]
        folds.append((train_rows, [i for i in range(len(t0)) if t0[i] in test_bars]))
        q += step
    return folds


@settings(max_examples=60, deadline=None)
@given(
    t1=panels(max_bars=40, max_gap_minutes=700, max_span_minutes=2000),
    train=st.integers(1, 4),
    train_days=st.booleans(),
    test=st.integers(1, 3),
    test_days=st.booleans(),
    step=st.none() | st.integers(1, 3),
    embargo=st.integers(0, 3),
    expanding=st.booleans(),
    purge=st.booleans(),
)
def test_sessions_steps_and_purge_match_a_reference(
    t1: pd.Series, train: int, train_days: bool, test: int, test_days: bool, step: int | None, embargo: int,
    expanding: bool, purge: bool,
) -> None:
    cv = WalkForward(
        **{("train_days" if train_days else "train_bars"): train, ("test_days" if test_days else "test_bars"): test},
        step=step, embargo=embargo, expanding=expanding, t1=t1 if purge else None,
    )
    X = pd.DataFrame({"x": np.zeros(len(t1))}, index=t1.index)
    expected = reference_walk_forward(t1, train, train_days, test, test_days, step or test, embargo, expanding, purge)
    if not expected:
        with pytest.raises(DataValidationError, match="not enough data for one walk-forward fold"):
            list(cv.split(X))
    elif any(not train_rows for train_rows, _ in expected):
        with pytest.raises(DataValidationError, match="no training row left"):
            list(cv.split(X))
    else:
        assert [(a.tolist(), b.tolist()) for a, b in cv.split(X)] == expected
        assert cv.get_n_splits(X) == len(expected)


def n_sessions(ns: np.ndarray) -> int:
    """Number of distinct New York dates among UTC nanosecond times."""
    return len({pd.Timestamp(int(x), tz="UTC").tz_convert("America/New_York").date() for x in ns})


@settings(max_examples=60, deadline=None)
@given(
    t1=panels(max_bars=40, max_gap_minutes=700, max_span_minutes=900),
    train=st.integers(1, 4),
    test=st.integers(1, 3),
    step=st.integers(1, 3),
    embargo=st.integers(0, 3),
    expanding=st.booleans(),
    days=st.booleans(),
)
def test_folds_move_forward_with_train_strictly_before_test(
    t1: pd.Series, train: int, test: int, step: int, embargo: int, expanding: bool, days: bool
) -> None:
    unit = "days" if days else "bars"
    params = {f"train_{unit}": train, f"test_{unit}": test, "step": step, "embargo": embargo, "expanding": expanding}
    t0 = t1.index.as_unit("ns").asi8
    end = pd.DatetimeIndex(t1).as_unit("ns").asi8
    bars = np.unique(t0)
    X = pd.DataFrame({"x": np.zeros(len(t1))}, index=t1.index)
    try:
        folds = list(WalkForward(**params).split(X))
    except DataValidationError as exc:
        assert "not enough data" in str(exc)
        return
    assert len(folds) == WalkForward(**params).get_n_splits(X)
    try:
        purged = list(WalkForward(**params, t1=t1).split(X))
    except DataValidationError as exc:
        assert "no training row left" in str(exc)
        purged = None
    count = n_sessions if days else len
    previous = None
    for fold, (train_rows, test_rows) in enumerate(folds):
        train_bars = np.searchsorted(bars, np.unique(t0[train_rows]))
        test_bars = np.searchsorted(bars, np.unique(t0[test_rows]))
        assert np.array_equal(train_bars, np.arange(train_bars[0], train_bars[-1] + 1))  # contiguous windows
        assert np.array_equal(test_bars, np.arange(test_bars[0], test_bars[-1] + 1))
        assert test_bars[0] - train_bars[-1] - 1 == embargo  # train strictly before test, embargo bars between
        assert count(bars[test_bars]) == test
        assert count(bars[train_bars]) == train if not expanding else train_bars[0] == 0
        if previous is not None:
            assert train_bars[0] >= previous[0][0] and test_bars[0] > previous[1][0]  # forward in time
        previous = (train_bars, test_bars)
        if purged is not None:
            kept, purged_test = purged[fold]
            assert np.array_equal(purged_test, test_rows)
            assert np.array_equal(kept, train_rows[end[train_rows] < bars[test_bars[0]]])


def test_sessions_of_a_real_panel(market: Dataset) -> None:
    bars = market.bars()
    t0 = pd.DatetimeIndex(bars["ts"])
    t1 = pd.Series(t0 + pd.Timedelta(hours=20), index=t0)  # an overnight label: late bars reach the next open
    X = bars.set_index(["ts", "ticker"])[["close", "volume"]]
    t0_ns, t1_ns = t0.as_unit("ns").asi8, pd.DatetimeIndex(t1).as_unit("ns").asi8
    sessions = t0.tz_convert("America/New_York").tz_localize(None).normalize().to_numpy()  # New York date
    dates = np.unique(sessions)
    assert len(dates) == 6  # 2024-11-25 .. 2024-12-03, Thanksgiving closed, 11-29 a half day
    cv = WalkForward(train_days=2, test_days=1, t1=t1)
    assert cv.get_n_splits(X) == 4
    purged = []
    for fold, (train, test) in enumerate(cv.split(X)):
        assert np.array_equal(test, np.flatnonzero(sessions == dates[fold + 2]))
        window = np.flatnonzero(np.isin(sessions, dates[fold : fold + 2]))
        assert np.array_equal(train, window[t1_ns[window] < t0_ns[test].min()])
        purged.append(len(window) - len(train))
    # the afternoon of the last train session is purged, except before Thanksgiving and over the weekend
    assert purged[0] > 0 and purged[1] == purged[2] == 0 and purged[3] > 0
    folds = list(WalkForward(train_days=2, test_days=1, step=2, embargo=30, expanding=True).split(X))
    assert len(folds) == 2
    assert len(np.unique(t0_ns[sessions == dates[3]])) == 210  # the half day
    train, test = folds[1]
    assert np.array_equal(test, np.flatnonzero(sessions == dates[4]))
    assert np.array_equal(np.unique(t0_ns[train]), np.unique(t0_ns[np.isin(sessions, dates[:4])])[:-30])


def test_cross_val_score_and_an_optuna_objective() -> None:
    rng = np.random.default_rng(1)
    t0 = pd.date_range("2024-11-25 14:31", periods=80, freq="1min", tz="UTC").repeat(4)
    index = pd.MultiIndex.from_arrays([t0, np.tile(range(4), 80)])
    X = pd.DataFrame(rng.normal(size=(320, 2)), columns=["a", "b"], index=index)
    y = (X["a"] > 0).astype(int)
    cv = WalkForward(train_bars=30, test_bars=10, embargo=2, t1=pd.Series(t0 + pd.Timedelta(minutes=3), index=t0))
    scores = cross_val_score(LogisticRegression(), X, y, cv=cv)
    assert len(scores) == cv.get_n_splits(X) == 4 and scores.min() > 0.8

    def objective(trial: optuna.Trial) -> float:
        c = trial.suggest_float("C", 1e-3, 10.0, log=True)
        return float(cross_val_score(LogisticRegression(C=c), X, y, cv=cv).mean())

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=3)
    assert len(study.trials) == 3 and study.best_value > 0.8


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"train_bars": 5, "train_days": 2, "test_bars": 1}, "exactly one of train_bars and train_days"),
        ({"test_bars": 1}, "exactly one of train_bars and train_days"),
        ({"train_bars": 5, "test_bars": 1, "test_days": 1}, "exactly one of test_bars and test_days"),
        ({"train_bars": 0, "test_bars": 1}, "train_bars must be an integer >= 1"),
        ({"train_bars": 5, "test_days": 1.5}, "test_days must be an integer >= 1"),
        ({"train_bars": 5, "test_bars": 1, "step": 0}, "step must be an integer >= 1"),
        ({"train_bars": 5, "test_bars": 1, "embargo": -1}, "embargo must be an integer >= 0"),
        ({"train_bars": 5, "test_bars": 1, "expanding": "yes"}, "expanding must be True or False"),
    ],
)
def test_bad_parameters(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WalkForward(**kwargs)


def test_bad_data() -> None:
    t0 = pd.date_range("2024-11-25 14:31", periods=10, freq="1min", tz="UTC")
    cv = WalkForward(train_bars=3, test_bars=2)
    with pytest.raises(DataValidationError, match="cannot tell the samples' event times"):
        list(cv.split(np.zeros((10, 1))))
    with pytest.raises(DataValidationError, match="timezone-naive"):
        list(cv.split(pd.DataFrame({"x": range(10)}, index=t0.tz_localize(None))))
    with pytest.raises(ValueError, match="X is needed"):
        cv.get_n_splits()
    needs = r"10 bars in 1 session\(s\), but a fold needs 8 train bars \+ 2 embargo bars \+ 1 test bars"
    with pytest.raises(DataValidationError, match=needs):
        WalkForward(train_bars=8, test_bars=1, embargo=2).get_n_splits(pd.DataFrame({"x": range(10)}, index=t0))
    long_labels = pd.Series(t0 + pd.Timedelta(hours=1), index=t0)
    with pytest.raises(DataValidationError, match="fold 0 .* no training row left"):
        list(WalkForward(train_bars=3, test_bars=2, t1=long_labels).split(np.zeros((10, 1))))
    with pytest.raises(DataValidationError, match="t1 has 10 rows but X has 4"):
        list(WalkForward(train_bars=3, test_bars=2, t1=long_labels).split(np.zeros((4, 1))))
    assert WalkForward(train_bars=3, test_bars=2, t1=long_labels).get_n_splits() == 3  # t1 alone tells the times
    text = repr(WalkForward(train_days=3, test_days=1))
    assert text == "WalkForward(train_days=3, test_days=1, embargo=0, expanding=False)"
