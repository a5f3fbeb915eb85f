"""The rolling-window state step shared by the kernels: a ring of the last ``window`` values with their
running sum and sum of squares, re-summed exactly once per turn so rounding never accumulates. The
re-sum happens at a ticker-dependent ring position (``phase``), so a cross-section of tickers moving in
lockstep spreads that O(window) work over the minutes instead of paying it all in one update.

Kernels keep a ticker's scalar state in local variables while consecutive rows belong to that ticker
(rows come ticker by ticker in batch): the step takes and returns the scalars, so the running sums stay
in registers instead of making a memory round trip per bar.
"""

from __future__ import annotations

import numba as nb


@nb.njit(cache=True, nogil=True, error_model="numpy", inline="always")  # inlined: a call per row costs ~15 ns
def push_with_squares_nb(ring, i, total, squares, count, pos, x, phase):  # pragma: no cover - numba
    """Add ``x`` to ticker ``i``'s window (dropping the oldest once full); returns the new
    (sum, sum of squares, count, position). Unfilled slots hold zeros, so a re-sum is exact any time."""
    window = ring.shape[1]
    if count >= window:
        old = ring[i, pos]
        total -= old
        squares -= old * old
    ring[i, pos] = x
    total += x
    squares += x * x
    pos = pos + 1 if pos + 1 < window else 0
    count += 1
    if pos == phase:  # once per turn: re-sum exactly
        total = 0.0
        squares = 0.0
        for k in range(window):
            total += ring[i, k]
            squares += ring[i, k] * ring[i, k]
    return total, squares, count, pos
