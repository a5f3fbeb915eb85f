"""CombinatorialPurgedCV: splits against the double-loop reference, counts, backtest paths, sklearn use."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict, cross_val_score

from tests.validation.test_purged_kfold import panels, reference_split, times_ns
from workbench.errors import DataValidationError
from workbench.validation import CombinatorialPurgedCV, PurgedKFold


@st.composite
def group_counts(draw: st.DrawFn) -> tuple[int, int]:
    n_groups = draw(st.integers(2, 6))
    return n_groups, draw(st.integers(1, n_groups - 1))


@settings(max_examples=50, deadline=None)
@given(t1=panels(), nk=group_counts(), embargo_pct=st.sampled_from([0.0, 0.05, 0.2]))
def test_splits_match_a_double_loop(t1: pd.Series, nk: tuple[int, int], embargo_pct: float) -> None:
    n_groups, k = nk
    cv = CombinatorialPurgedCV(n_groups, k, t1=t1, embargo_pct=embargo_pct)
    t0_ns, t1_ns = times_ns(t1)
    X = np.zeros((len(t1), 1))
    if len(set(t0_ns)) < n_groups:
        with pytest.raises(DataValidationError, match="at least"):
            list(cv.split(X))
        return
    combos = itertools.combinations(range(n_groups), k)
    expected = [reference_split(t0_ns, t1_ns, n_groups, c, embargo_pct) for c in combos]
    if any(not train for train, _ in expected):
        with pytest.raises(DataValidationError, match="no training row left"):
            list(cv.split(X))
        return
    got = [(train.tolist(), test.tolist()) for train, test in cv.split(X)]
    assert got == expected


@settings(max_examples=50, deadline=None)
@given(t1=panels(max_bars=30, max_span_minutes=3), nk=group_counts())
def test_counts_and_paths_cover_every_row_once(t1: pd.Series, nk: tuple[int, int]) -> None:
    n_groups, k = nk
    cv = CombinatorialPurgedCV(n_groups, k, t1=t1)
    if t1.index.nunique() < n_groups:
        return
    try:
        splits = list(cv.split(np.zeros((len(t1), 1))))
    except DataValidationError as exc:
        assert "no training row left" in str(exc)
        return
    assert len(splits) == cv.get_n_splits() == math.comb(n_groups, k)
    assert cv.get_n_paths() == math.comb(n_groups, k) * k // n_groups == math.comb(n_groups - 1, k - 1)
    tested = np.zeros(len(t1), dtype=int)
    for train, test in splits:
        assert not np.intersect1d(train, test).size
        tested[test] += 1
    assert np.all(tested == math.comb(n_groups - 1, k - 1))  # every row (so every group) tested C(N-1, k-1) times

    # each path takes every group once, from a split that tests it, and uses each (split, group) pair once
    paths = cv.paths()
    assert len(paths) == cv.get_n_paths()
    assert all([g for _, g in path] == list(range(n_groups)) for path in paths)
    pairs = [pair for path in paths for pair in path]
    assert sorted(pairs) == sorted((s, g) for s, groups in enumerate(cv.test_groups()) for g in groups)

    # predictions that name their split and row: each path gets every row once, from the split paths() says
    predictions = [1000 * s + test.astype(float) for s, (_, test) in enumerate(splits)]
    assembled = cv.assemble_paths(predictions)
    assert assembled.shape == (len(t1), cv.get_n_paths())
    distinct = np.unique(t1.index)
    group_times = np.array_split(distinct, n_groups)
    rows = np.arange(len(t1))
    for p, path in enumerate(paths):
        column = assembled[p].to_numpy()
        assert np.array_equal(column % 1000, rows)
        for s, g in path:
            assert np.all(column[np.isin(t1.index, group_times[g])] // 1000 == s)


def test_paths_of_six_groups_two_tests() -> None:
    t0 = pd.date_range("2024-11-25 14:31", periods=12, freq="1min", tz="UTC")
    cv = CombinatorialPurgedCV(6, 2, t1=pd.Series(t0, index=t0))
    assert cv.get_n_splits() == 15 and cv.get_n_paths() == 5
    assert cv.test_groups()[:3] == [(0, 1), (0, 2), (0, 3)]
    # AFML figure 12.1: path p takes each group from the p-th split that tests it
    assert cv.paths()[0] == [(0, 0), (0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    assert cv.paths()[1] == [(1, 0), (5, 1), (5, 2), (6, 3), (7, 4), (8, 5)]
    assert cv.paths()[4] == [(4, 0), (8, 1), (11, 2), (13, 3), (14, 4), (14, 5)]


def test_assembles_many_splits_and_keeps_the_prediction_dtype() -> None:
    t0 = pd.date_range("2024-11-25 14:31", periods=16, freq="1min", tz="UTC").repeat(2)
    cv = CombinatorialPurgedCV(8, 4, t1=pd.Series(t0, index=t0))
    splits = list(cv.split(np.zeros((32, 1))))
    assert len(splits) == 70 and cv.get_n_paths() == 35
    assembled = cv.assemble_paths([test.astype(np.int32) for _, test in splits])
    assert assembled.shape == (32, 35) and (assembled.dtypes == np.int32).all()
    assert (assembled.to_numpy() == np.arange(32)[:, None]).all()


def test_one_test_group_is_purged_kfold() -> None:
    rng = np.random.default_rng(5)
    t0 = pd.date_range("2024-11-25 14:31", periods=50, freq="1min", tz="UTC").repeat(3)
    t1 = pd.Series(t0 + pd.to_timedelta(rng.integers(0, 6, len(t0)), unit="min"), index=t0)
    X = np.zeros((len(t0), 1))
    combinatorial = list(CombinatorialPurgedCV(5, 1, t1=t1, embargo_pct=0.04).split(X))
    kfold = list(PurgedKFold(5, t1=t1, embargo_pct=0.04).split(X))
    for (a, b), (c, d) in zip(combinatorial, kfold, strict=True):
        assert np.array_equal(a, c) and np.array_equal(b, d)
    assert CombinatorialPurgedCV(5, 1, t1=t1).get_n_paths() == 1


def test_sklearn_scores_every_split_and_cross_val_predict_refuses() -> None:
    rng = np.random.default_rng(8)
    t0 = pd.date_range("2024-11-25 14:31", periods=60, freq="1min", tz="UTC").repeat(4)
    X = pd.DataFrame(rng.normal(size=(240, 2)), columns=["a", "b"])
    y = (X["a"] > 0).astype(int)
    cv = CombinatorialPurgedCV(5, 2, t1=pd.Series(t0 + pd.Timedelta(minutes=2), index=t0), embargo_pct=0.02)
    scores = cross_val_score(LogisticRegression(), X, y, cv=cv)
    assert scores.shape == (10,) and scores.min() > 0.8
    with pytest.raises(ValueError, match="partition"):
        cross_val_predict(LogisticRegression(), X, y, cv=cv)
    predictions = [
        LogisticRegression().fit(X.iloc[tr], y.iloc[tr]).predict_proba(X.iloc[te])[:, 1] for tr, te in cv.split(X)
    ]
    paths = cv.assemble_paths(predictions, index=X.index)
    assert paths.shape == (240, 4) and paths.columns.name == "path"
    assert ((paths > 0.5).astype(int).to_numpy() == y.to_numpy()[:, None]).mean() > 0.8


def test_bad_parameters_and_predictions() -> None:
    t0 = pd.date_range("2024-11-25 14:31", periods=8, freq="1min", tz="UTC")
    t1 = pd.Series(t0, index=t0)
    with pytest.raises(ValueError, match="n_test_groups must be smaller than n_groups"):
        CombinatorialPurgedCV(4, 4, t1=t1)
    with pytest.raises(ValueError, match="n_groups must be an integer >= 2"):
        CombinatorialPurgedCV(1, 1, t1=t1)
    with pytest.raises(ValueError, match="n_test_groups must be an integer >= 1"):
        CombinatorialPurgedCV(4, 0, t1=t1)
    with pytest.raises(DataValidationError, match="needs at least 9 distinct event times"):
        list(CombinatorialPurgedCV(9, 2, t1=t1).split(np.zeros((8, 1))))
    cv = CombinatorialPurgedCV(4, 2, t1=t1)
    splits = list(cv.split(np.zeros((8, 1))))
    with pytest.raises(ValueError, match="split_predictions has 5 entries but the splitter makes 6 splits"):
        cv.assemble_paths([np.zeros(4)] * 5)
    with pytest.raises(ValueError, match=r"split 0 predictions have shape \(3,\) but its test set has 4 rows"):
        cv.assemble_paths([np.zeros(3)] + [np.zeros(len(te)) for _, te in splits[1:]])
    with pytest.raises(ValueError, match=r"shape \(4, 2\)"):
        cv.assemble_paths([np.zeros((len(te), 2)) for _, te in splits])
    with pytest.raises(ValueError, match="index has 3 labels but t1 has 8 rows"):
        cv.assemble_paths([np.zeros(len(te)) for _, te in splits], index=pd.RangeIndex(3))
