"""Combinatorial purged cross-validation and its backtest paths (López de Prado, *AFML*, chapter 12)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from workbench.validation._split_params import check_count, check_embargo_pct
from workbench.validation._split_purge import purged_splits, sample_groups
from workbench.validation._split_times import check_t1, sample_times, splitter_repr


class CombinatorialPurgedCV(BaseCrossValidator):
    """Every choice of k of N contiguous time groups is one test set: C(N, k) purged, embargoed splits.

    The distinct t0s ("bars") are cut into ``n_groups`` contiguous groups (the first ``n_bars % n_groups``
    one bar longer). Split ``s`` tests the ``s``-th k-combination of groups in lexicographic order (see
    :meth:`test_groups`) and trains on the rest, purged and embargoed around EVERY test group exactly as in
    :class:`PurgedKFold`: rows whose ``[t0, t1]`` intersects a group's span ``[first t0, latest t1]`` are
    dropped, and so are rows whose t0 is among the first ``floor(embargo_pct * n_bars)`` distinct t0s
    strictly after a test group's span.

    Each group is tested in C(N-1, k-1) splits, so the out-of-sample predictions can be reassembled into
    phi = C(N, k) k / N = C(N-1, k-1) full backtest paths, each covering every row exactly once
    (:meth:`paths`, :meth:`assemble_paths`): a distribution of backtest results instead of a single one.

    Departure from sklearn's contract: the test sets overlap (each row is tested C(N-1, k-1) times).
    ``cross_val_score``, ``cross_validate`` and grid searches work, but ``cross_val_predict`` refuses a
    splitter that is not a partition; collect each split's test predictions and call :meth:`assemble_paths`.

    Parameters
    ----------
    n_groups : int, default 6
        N, number of contiguous groups, at least 2 and at most the number of distinct t0s.
    n_test_groups : int, default 2
        k, test groups per split, 1 <= k < N.
    t1 : pd.Series
        Label end of every row of X (tz-aware), indexed by the row's event start t0, in X's row order.
    embargo_pct : float, default 0.0
        Embargo length as a fraction of the number of distinct t0s, in [0, 1).

    Examples
    --------
    >>> cv = CombinatorialPurgedCV(n_groups=6, n_test_groups=2, t1=t1)  # doctest: +SKIP
    >>> preds = [model.fit(X.iloc[tr], y.iloc[tr]).predict(X.iloc[te]) for tr, te in cv.split(X)]  # doctest: +SKIP
    >>> paths = cv.assemble_paths(preds, index=X.index)  # 5 columns, one full backtest each  # doctest: +SKIP

    References
    ----------
    M. López de Prado, *Advances in Financial Machine Learning*, Wiley 2018, sections 7.4 and 12.4.
    """

    def __init__(self, n_groups: int = 6, n_test_groups: int = 2, *, t1: pd.Series, embargo_pct: float = 0.0) -> None:
        self.n_groups = check_count(n_groups, "n_groups", 2)
        self.n_test_groups = check_count(n_test_groups, "n_test_groups", 1)
        if self.n_test_groups >= self.n_groups:
            raise ValueError(
                f"n_test_groups must be smaller than n_groups, got n_test_groups={n_test_groups} for "
                f"n_groups={n_groups}; at least one group must remain for training"
            )
        self.t1 = t1
        self.embargo_pct = check_embargo_pct(embargo_pct)
        check_t1(t1)

    def test_groups(self) -> list[tuple[int, ...]]:
        """Test groups of each split, in split order (lexicographic k-combinations of range(N))."""
        return list(itertools.combinations(range(self.n_groups), self.n_test_groups))

    def split(self, X: object, y: object = None, groups: object = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (train, test) row positions for each of the C(N, k) combinations of test groups."""
        times = sample_times(X, self.t1)
        yield from purged_splits(times, self.n_groups, self.test_groups(), self.embargo_pct, self._name())

    def get_n_splits(self, X: object = None, y: object = None, groups: object = None) -> int:
        """Number of splits, C(N, k) (X, y and groups are ignored)."""
        return math.comb(self.n_groups, self.n_test_groups)

    def get_n_paths(self) -> int:
        """Number of backtest paths, phi = C(N, k) k / N = C(N-1, k-1)."""
        return math.comb(self.n_groups - 1, self.n_test_groups - 1)

    def paths(self) -> list[list[tuple[int, int]]]:
        """For each backtest path, the (split index, group index) pairs it is assembled from, one per group.

        Path ``p`` takes group ``g`` from the ``p``-th split (in split order) that tests ``g``.
        """
        seen = np.zeros(self.n_groups, dtype=np.int64)
        paths: list[list[tuple[int, int]]] = [[] for _ in range(self.get_n_paths())]
        for split, test_groups in enumerate(self.test_groups()):
            for g in test_groups:
                paths[seen[g]].append((split, g))
                seen[g] += 1
        return [sorted(path, key=lambda pair: pair[1]) for path in paths]

    def assemble_paths(self, split_predictions: Sequence[object], index: pd.Index | None = None) -> pd.DataFrame:
        """One column per backtest path, each a full-length out-of-sample prediction (one value per row of X).

        ``split_predictions[s]`` holds split ``s``'s 1-D predictions aligned with its test indices as
        :meth:`split` yields them (ascending row positions). Rows are labelled by ``index`` (e.g. ``X.index``),
        else by position.
        """
        n_splits = self.get_n_splits()
        if len(split_predictions) != n_splits:
            raise ValueError(
                f"split_predictions has {len(split_predictions)} entries but the splitter makes {n_splits} splits; "
                "pass one prediction array per split, in split order"
            )
        times = sample_times(None, self.t1)
        group = sample_groups(times, self.n_groups, self._name())
        group_rows = [np.flatnonzero(group == g) for g in range(self.n_groups)]
        predictions = [np.asarray(p) for p in split_predictions]
        for s, (p, test_groups) in enumerate(zip(predictions, self.test_groups(), strict=True)):
            expected = sum(len(group_rows[g]) for g in test_groups)
            if p.ndim != 1 or len(p) != expected:
                raise ValueError(
                    f"split {s} predictions have shape {p.shape} but its test set has {expected} rows; pass 1-D "
                    "predictions aligned with that split's test indices (for predict_proba, one column)"
                )
        if index is not None and len(index) != times.n_samples:
            raise ValueError(f"index has {len(index)} labels but t1 has {times.n_samples} rows")
        path_of = {pair: p for p, path in enumerate(self.paths()) for pair in path}
        columns = np.empty((times.n_samples, self.get_n_paths()), dtype=np.result_type(*predictions))
        for s, test_groups in enumerate(self.test_groups()):
            test_group = group[np.isin(group, test_groups)]  # group of each test row, in the split's test order
            for g in test_groups:
                columns[group_rows[g], path_of[s, g]] = predictions[s][test_group == g]
        return pd.DataFrame(
            columns,
            index=index if index is not None else pd.RangeIndex(times.n_samples),
            columns=pd.RangeIndex(self.get_n_paths(), name="path"),
        )

    def _name(self) -> str:
        return f"CombinatorialPurgedCV(n_groups={self.n_groups}, n_test_groups={self.n_test_groups})"

    def __repr__(self) -> str:
        return splitter_repr(
            self,
            {
                "n_groups": self.n_groups,
                "n_test_groups": self.n_test_groups,
                "t1": self.t1,
                "embargo_pct": self.embargo_pct,
            },
        )
