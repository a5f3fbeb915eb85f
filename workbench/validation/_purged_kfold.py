"""Purged k-fold cross-validation with an embargo (López de Prado, *AFML*, chapter 7)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from workbench.validation._split_params import check_count, check_embargo_pct
from workbench.validation._split_purge import purged_splits
from workbench.validation._split_times import check_t1, sample_times, splitter_repr


class PurgedKFold(BaseCrossValidator):
    """K contiguous folds of distinct event times; training drops rows whose label span touches the test fold.

    Plain k-fold leaks on financial labels: a training label that ends inside the test period was computed
    from test-period prices. The folds are contiguous, unshuffled blocks of distinct t0s ("bars"; the first
    ``n_bars % n_splits`` folds are one bar longer), so every row of a timestamp is on the same side and every
    row is tested exactly once. For each test fold covering bars ``B[a] .. B[b-1]`` with test span
    ``[B[a], end]``, ``end`` the latest t1 of the fold's rows:

    * purge: training rows whose closed span ``[t0, t1]`` intersects the test span are dropped
      (``t0 <= end and t1 >= B[a]``), on both sides of the fold;
    * embargo (AFML's, after the test span): rows whose t0 is among the first ``floor(embargo_pct * n_bars)``
      distinct t0s strictly after ``end`` are dropped too. It guards the training rows right after the test
      period against serial correlation with it; rows before the fold are only purged.

    Parameters
    ----------
    n_splits : int, default 5
        Number of folds, at least 2 and at most the number of distinct t0s.
    t1 : pd.Series
        Label end of every row of X (tz-aware), indexed by the row's event start t0, in X's row order (the
        index repeats across tickers). When X has a tz-aware time index, t1's index must equal it.
    embargo_pct : float, default 0.0
        Embargo length as a fraction of the number of distinct t0s, in [0, 1).

    A fold whose purge and embargo leave no training row raises a ``DataValidationError``. ``y`` and
    ``groups`` are ignored. Train and test indices are ascending row positions in X.
    """

    def __init__(self, n_splits: int = 5, *, t1: pd.Series, embargo_pct: float = 0.0) -> None:
        self.n_splits = check_count(n_splits, "n_splits", 2)
        self.t1 = t1
        self.embargo_pct = check_embargo_pct(embargo_pct)
        check_t1(t1)

    def split(self, X: object, y: object = None, groups: object = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (train, test) row positions for each fold, in time order of the test fold."""
        times = sample_times(X, self.t1)
        folds = [(g,) for g in range(self.n_splits)]
        name = f"PurgedKFold(n_splits={self.n_splits})"
        yield from purged_splits(times, self.n_splits, folds, self.embargo_pct, name)

    def get_n_splits(self, X: object = None, y: object = None, groups: object = None) -> int:
        """Number of folds (X, y and groups are ignored)."""
        return self.n_splits

    def __repr__(self) -> str:
        return splitter_repr(self, {"n_splits": self.n_splits, "t1": self.t1, "embargo_pct": self.embargo_pct})
