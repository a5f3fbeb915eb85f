"""Purging and embargo around contiguous test groups of bars (López de Prado, *AFML*, sections 7.4 and 12.4).

Shared by :class:`PurgedKFold` (one test group per split) and :class:`CombinatorialPurgedCV` (k test groups).

Definitions, with B the ascending distinct t0s ("bars") and a test group covering bars ``[a, b)``:

* test span of the group: ``[B[a], end]`` where ``end`` is the latest label end t1 of the group's rows;
* purge: a training row is dropped when its closed span ``[t0, t1]`` intersects the test span, i.e.
  ``t0 <= end and t1 >= B[a]`` (a label ending exactly at the test start is dropped too);
* embargo (AFML 7.4.2, after the test span): with ``h = floor(embargo_pct * n_bars)`` bars, a training row is
  dropped when its t0 is one of the first ``h`` distinct t0s strictly after ``end``. Rows before the test
  group are never embargoed, only purged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from workbench.errors import DataValidationError
from workbench.validation._split_times import SampleTimes


def embargo_size(embargo_pct: float, n_bars: int) -> int:
    """Embargo length in bars, ``floor(embargo_pct * n_bars)`` (AFML), robust to 0.29 * 100 = 28.999..."""
    return math.floor(embargo_pct * n_bars + 1e-9)


def group_bounds(n_bars: int, n_groups: int) -> np.ndarray:
    """Bar boundaries of ``n_groups`` contiguous groups, sizes as equal as possible (the first
    ``n_bars % n_groups`` groups one bar longer), as ``n_groups + 1`` ascending positions."""
    sizes = np.full(n_groups, n_bars // n_groups, dtype=np.int64)
    sizes[: n_bars % n_groups] += 1
    return np.concatenate(([0], np.cumsum(sizes)))


def sample_groups(times: SampleTimes, n_groups: int, what: str) -> np.ndarray:
    """Group of every row (its bar's contiguous group); error when there are fewer bars than groups."""
    if times.n_bars < n_groups:
        raise DataValidationError(
            f"{what} needs at least {n_groups} distinct event times (bars) but the data has {times.n_bars}; "
            "use fewer groups or more data"
        )
    bounds = group_bounds(times.n_bars, n_groups)
    return np.searchsorted(bounds, times.bar, side="right") - 1


def purged_splits(
    times: SampleTimes,
    n_groups: int,
    test_sets: Iterable[Sequence[int]],
    embargo_pct: float,
    what: str,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(train, test) row positions for each set of test groups, purged and embargoed around every test group."""
    group = sample_groups(times, n_groups, what)
    bounds = group_bounds(times.n_bars, n_groups)
    assert times.t1_ns is not None  # the purged splitters require t1
    bar_end = times.bar_label_end()
    embargo = embargo_size(embargo_pct, times.n_bars)
    starts_ns = times.bar_ns[bounds[:-1]]
    ends_ns = np.array([bar_end[bounds[g] : bounds[g + 1]].max() for g in range(n_groups)], dtype=np.int64)
    # Training is allowed again from bar ``resume[g]``: h bars past the first bar strictly after the span's end.
    resume = np.searchsorted(times.bar_ns, ends_ns, side="right") + embargo
    for split, test_groups in enumerate(test_sets):
        test = np.isin(group, test_groups)
        blocked = np.zeros(times.n_samples, dtype=bool)
        for g in test_groups:
            blocked |= (times.bar < resume[g]) & ((times.bar >= bounds[g]) | (times.t1_ns >= starts_ns[g]))
        train = np.flatnonzero(~blocked)
        if train.size == 0:
            raise DataValidationError(
                f"{what} split {split} (test groups {tuple(int(g) for g in test_groups)}) has no training row left "
                f"after purging and a {embargo}-bar embargo: the labels span too much of the {times.n_bars} bars; "
                "use fewer test groups, a smaller embargo_pct or shorter labels"
            )
        yield train, np.flatnonzero(test)
