"""PurgedKFold: the purge and embargo against a slow double loop, invariants on random panels, sklearn use."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict, cross_val_score

from workbench.errors import DataValidationError
from workbench.validation import PurgedKFold

BASE = pd.Timestamp("2024-10-31 13:31", tz="UTC")  # random panels cross the 2024-11-03 DST change


@st.composite
def panels(draw: st.DrawFn, max_bars: int = 24, max_gap_minutes: int = 4, max_span_minutes: int = 12) -> pd.Series:
    """A label-end Series of a random panel: random gaps between bars, 1-3 tickers per bar, random label
    spans (0 allowed, ends often landing exactly on a later bar), rows shuffled."""
    n_bars = draw(st.integers(1, max_bars))
    gaps = draw(st.lists(st.integers(1, max_gap_minutes), min_size=n_bars, max_size=n_bars))
    rows = draw(st.lists(st.integers(1, 3), min_size=n_bars, max_size=n_bars))
    t0 = (BASE + pd.to_timedelta(np.cumsum(gaps), unit="min")).repeat(rows)
    spans = draw(st.lists(st.integers(0, max_span_minutes), min_size=len(t0), max_size=len(t0)))
    order = np.asarray(draw(st.permutations(range(len(t0)))))
    t0 = t0[order]
    return pd.Series(t0 + pd.to_timedelta(spans, unit="min"), index=t0)


def times_ns(t1: pd.Series) -> tuple[list[int], list[int]]:
    """(t0, t1) of every row as Python ints (UTC nanoseconds)."""
    return [int(x) for x in t1.index.as_unit("ns").asi8], [int(x) for x in pd.DatetimeIndex(t1).as_unit("ns").asi8]


def reference_split(
    t0: list[int], t1: list[int], n_groups: int, test_groups: tuple[int, ...], embargo_pct: float
) -> tuple[list[int], list[int]]:
    """Slow, obviously-right purged split: a row trains unless it is tested, its [t0, t1] meets the [t0, t1] of
    some row of a test group, or its t0 is among the first floor(pct * bars) distinct t0s after that group's
    latest t1."""
    distinct = sorted(set(t0))
    embargo = int(np.floor(embargo_pct * len(distinct) + 1e-9))
    group_times = [set(chunk.tolist()) for chunk in np.array_split(np.array(distinct, dtype=np.int64), n_groups)]
    members = {g: [j for j in range(len(t0)) if t0[j] in group_times[g]] for g in test_groups}
    test = sorted(j for g in test_groups for j in members[g])
    train = []
    for i in range(len(t0)):
        if i in test:
            continue
        keep = True
        for g in test_groups:
            if any(t0[i] <= t1[j] and t0[j] <= t1[i] for j in members[g]):
                keep = False
            end = max(t1[j] for j in members[g])
            if t0[i] > end and sum(1 for u in distinct if end < u <= t0[i]) <= embargo:
                keep = False
        if keep:
            train.append(i)
    return train, test


def design(t1: pd.Series, time_index: bool) -> pd.DataFrame | np.ndarray:
    """X for a label-end Series: a frame indexed by (ts, ticker) or a bare array, one row per label."""
    if not time_index:
        return np.zeros((len(t1), 1))
    index = pd.MultiIndex.from_arrays([t1.index, np.arange(len(t1))], names=["ts", "ticker"])
    return pd.DataFrame({"x": np.zeros(len(t1))}, index=index)


@settings(max_examples=60, deadline=None)
@given(t1=panels(), n_splits=st.integers(2, 6), embargo_pct=st.sampled_from([0.0, 0.05, 0.1, 0.25]), idx=st.booleans())
def test_purge_and_embargo_match_a_double_loop(t1: pd.Series, n_splits: int, embargo_pct: float, idx: bool) -> None:
    cv = PurgedKFold(n_splits, t1=t1, embargo_pct=embargo_pct)
    t0_ns, t1_ns = times_ns(t1)
    if len(set(t0_ns)) < n_splits:
        with pytest.raises(DataValidationError, match="at least"):
            list(cv.split(design(t1, idx)))
        return
    expected = [reference_split(t0_ns, t1_ns, n_splits, (g,), embargo_pct) for g in range(n_splits)]
    if any(not train for train, _ in expected):
        with pytest.raises(DataValidationError, match="no training row left"):
            list(cv.split(design(t1, idx)))
        return
    got = [(train.tolist(), test.tolist()) for train, test in cv.split(design(t1, idx))]
    assert got == expected


@settings(max_examples=60, deadline=None)
@given(t1=panels(max_bars=40, max_span_minutes=6), n_splits=st.integers(2, 5), embargo_pct=st.sampled_from([0.0, 0.1]))
def test_invariants_on_random_panels(t1: pd.Series, n_splits: int, embargo_pct: float) -> None:
    cv = PurgedKFold(n_splits, t1=t1, embargo_pct=embargo_pct)
    t0 = t1.index.as_unit("ns").asi8
    end = pd.DatetimeIndex(t1).as_unit("ns").asi8
    distinct = np.unique(t0)
    if len(distinct) < n_splits:
        return
    embargo = int(np.floor(embargo_pct * len(distinct) + 1e-9))
    try:
        splits = list(cv.split(np.zeros((len(t1), 2))))
    except DataValidationError as exc:
        assert "no training row left" in str(exc)
        return
    assert len(splits) == cv.get_n_splits()
    tested = np.zeros(len(t1), dtype=int)
    previous_test_end = -np.inf
    for train, test in splits:
        assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
        assert not np.intersect1d(train, test).size
        tested[test] += 1
        # the test fold is whole timestamps, contiguous, and folds advance in time
        fold_times = np.unique(t0[test])
        assert set(np.flatnonzero(np.isin(t0, fold_times))) == set(test)
        assert np.array_equal(fold_times, distinct[np.searchsorted(distinct, fold_times[0]) :][: len(fold_times)])
        assert fold_times[0] > previous_test_end
        previous_test_end = fold_times[-1]
        span_start, span_end = t0[test].min(), end[test].max()
        assert not np.any((t0[train] <= span_end) & (end[train] >= span_start))  # purged
        after = distinct[distinct > span_end][:embargo]
        assert not np.isin(t0[train], after).any()  # embargoed
    assert np.all(tested == 1)


def test_known_fold_boundaries() -> None:
    # 10 one-minute bars x 2 tickers, every label ends 2 bars later; 2 folds, embargo floor(0.1 x 10) = 1 bar
    bars = pd.date_range("2024-11-25 14:31", periods=10, freq="1min", tz="UTC")
    t0 = bars.repeat(2)
    t1 = pd.Series(t0 + pd.Timedelta(minutes=2), index=t0)
    cv = PurgedKFold(2, t1=t1, embargo_pct=0.1)
    (train_a, test_a), (train_b, test_b) = cv.split(np.zeros((20, 1)))
    assert np.array_equal(np.unique(test_a // 2), [0, 1, 2, 3, 4])
    # test span [bar 0, bar 6]: bars 5, 6 overlap it (bar 6 starts exactly at its end), bar 7 is the embargo
    assert np.array_equal(np.unique(train_a // 2), [8, 9])
    # test span [bar 5, bar 11]: bars 3 and 4 end at bars 5 and 6, inside it; nothing is after it
    assert np.array_equal(np.unique(test_b // 2), [5, 6, 7, 8, 9])
    assert np.array_equal(np.unique(train_b // 2), [0, 1, 2])


def test_cross_val_score_and_predict_with_sklearn() -> None:
    rng = np.random.default_rng(3)
    bars = pd.date_range("2024-11-25 14:31", periods=60, freq="1min", tz="UTC")
    t0 = bars.repeat(5)
    X = pd.DataFrame(
        rng.normal(size=(300, 3)),
        columns=["a", "b", "c"],
        index=pd.MultiIndex.from_arrays([t0, np.tile(list("VWXYZ"), 60)], names=["ts", "ticker"]),
    )
    y = (X["a"] + 0.5 * rng.normal(size=300) > 0).astype(int)
    t1 = pd.Series(t0 + pd.Timedelta(minutes=3), index=t0)
    cv = PurgedKFold(5, t1=t1, embargo_pct=0.02)
    scores = cross_val_score(LogisticRegression(), X, y, cv=cv)
    manual = [
        LogisticRegression().fit(X.iloc[train], y.iloc[train]).score(X.iloc[test], y.iloc[test])
        for train, test in cv.split(X)
    ]
    assert np.allclose(scores, manual)
    assert scores.mean() > 0.7  # the label is learnable, so the folds are real train/test splits
    predicted = cross_val_predict(LogisticRegression(), X, y, cv=cv)  # a partition: every row predicted once
    assert predicted.shape == (300,)
    for train, test in cv.split(X):
        model = LogisticRegression().fit(X.iloc[train], y.iloc[train])
        assert np.array_equal(predicted[test], model.predict(X.iloc[test]))


def _t1(n: int = 10) -> pd.Series:
    t0 = pd.date_range("2024-11-25 14:31", periods=n, freq="1min", tz="UTC")
    return pd.Series(t0 + pd.Timedelta(minutes=1), index=t0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_splits": 1}, "n_splits must be an integer >= 2"),
        ({"n_splits": 2.5}, "n_splits must be an integer >= 2"),
        ({"embargo_pct": 1.0}, "embargo_pct must be a fraction"),
        ({"embargo_pct": -0.1}, "embargo_pct must be a fraction"),
    ],
)
def test_bad_parameters(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PurgedKFold(**{"t1": _t1(), **kwargs})


def test_bad_label_ends() -> None:
    t1 = _t1()
    with pytest.raises(TypeError, match="must be a pd.Series"):
        PurgedKFold(t1=t1.to_numpy())
    with pytest.raises(DataValidationError, match="timezone-naive"):
        PurgedKFold(t1=t1.dt.tz_localize(None))
    with pytest.raises(DataValidationError, match="timezone-naive"):
        PurgedKFold(t1=pd.Series(t1.to_numpy(), index=t1.index.tz_localize(None)))
    with pytest.raises(DataValidationError, match="not datetime"):
        PurgedKFold(t1=t1.reset_index(drop=True))
    missing = t1.copy()
    missing.iloc[3] = pd.NaT
    with pytest.raises(DataValidationError, match=r"1 missing time\(s\) \(NaT\), first at row 3"):
        PurgedKFold(t1=missing)
    early = pd.Series(t1.index - pd.Timedelta(minutes=1), index=t1.index)
    with pytest.raises(DataValidationError, match="t1 ends before t0 at 10 row"):
        PurgedKFold(t1=early)


def test_t1_must_match_x() -> None:
    t1 = _t1()
    cv = PurgedKFold(2, t1=t1)
    with pytest.raises(DataValidationError, match="t1 has 10 rows but X has 9"):
        list(cv.split(np.zeros((9, 1))))
    shuffled = pd.DataFrame({"x": np.arange(10)}, index=t1.index[::-1])
    with pytest.raises(DataValidationError, match="t1 is not aligned with X: at row 0"):
        list(cv.split(shuffled))
    aligned = pd.DataFrame({"x": np.arange(10)}, index=t1.index)
    assert len(list(cv.split(aligned))) == 2


def test_not_enough_data_and_nothing_left_to_train() -> None:
    with pytest.raises(DataValidationError, match="needs at least 6 distinct event times .* has 5"):
        list(PurgedKFold(6, t1=_t1(5)).split(np.zeros((5, 1))))
    t0 = pd.date_range("2024-11-25 14:31", periods=4, freq="1min", tz="UTC")
    long_labels = pd.Series(t0 + pd.Timedelta(hours=1), index=t0)  # every label spans every other one
    with pytest.raises(DataValidationError, match="split 0 .* no training row left"):
        list(PurgedKFold(2, t1=long_labels).split(np.zeros((4, 1))))


def test_repr_summarizes_t1() -> None:
    text = repr(PurgedKFold(3, t1=_t1(), embargo_pct=0.01))
    assert text.startswith("PurgedKFold(n_splits=3, t1=<t1: 10 rows, t0 2024-11-25 14:31:00+00:00")
    assert text.endswith("embargo_pct=0.01)")
