"""The rolling-window state step shared by the kernels: a ring of the last ``window`` values with their
running sum and sum of squares, re-summed exactly at each full turn so rounding never accumulates."""

from __future__ import annotations

import numba as nb


@nb.njit(cache=True, inline="always")  # inlined into the kernels: a call per row costs ~15 ns
def push_with_squares_nb(ring, sums, count, pos, i, x):  # pragma: no cover - numba
    """Add ``x`` to ticker ``i``'s window (dropping the oldest once full); sums[i] = (sum, sum of squares)."""
    window = ring.shape[1]
    if count[i] >= window:
        old = ring[i, pos[i]]
        sums[i, 0] -= old
        sums[i, 1] -= old * old
    ring[i, pos[i]] = x
    sums[i, 0] += x
    sums[i, 1] += x * x
    pos[i] = pos[i] + 1 if pos[i] + 1 < window else 0
    count[i] += 1
    if pos[i] == 0:  # a full turn: re-sum exactly
        total = 0.0
        squares = 0.0
        for k in range(window):  # a loop, not array expressions: no temporary allocated per wrap
            total += ring[i, k]
            squares += ring[i, k] * ring[i, k]
        sums[i, 0] = total
        sums[i, 1] = squares
