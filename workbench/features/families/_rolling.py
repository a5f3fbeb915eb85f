"""The rolling-window variance step shared by the kernels: a ring of the last ``window`` values with
their running sum and sum of squares taken about a per-ticker ``center`` (a value of the window), so
the variance ``(s2 - s1² / n) / n`` never subtracts two huge, nearly equal numbers.

Why: the textbook running sums (TA-Lib's) of 5000 ± 0.0001 prices lose ~11 of 16 digits to
cancellation (Bollinger %B off by 3.5e-5). About a center that is one of the window's values the
deviations ``x - center`` are exact (Sterbenz) whenever prices are within a factor of two of it, and
``s2`` stays within a factor ``n`` of the centred sum of squares ``m2 = s2 - s1² / n``.

The running add/remove still rounds, and a variance that collapses (a jump rolling out of the window,
a constant stretch after a move) leaves that rounding behind, large next to what is left. So the
step keeps a ``budget``: the sum of the squared deviations added and removed since the last exact
re-sum, a bound on the scale of the rounding the sums carry. When ``budget + s2`` exceeds
``KAPPA / window`` times ``m2``, it re-sums afresh about the newest value; that also makes a constant
window's variance exactly zero. On ordinary data ``budget + s2`` stays within a small multiple of
``m2`` and only the periodic re-sum runs: once per turn, at a ticker-dependent ring
position (``phase``), so a cross-section of tickers moving in lockstep spreads that O(window) work
over the minutes instead of paying it all in one update.

Kernels keep a ticker's scalar state in local variables while consecutive rows belong to that ticker
(rows come ticker by ticker in batch): the step takes and returns the scalars, so the running sums stay
in registers instead of making a memory round trip per bar. The per-bar helpers take scalars only and
the kernel does the ring's read and write itself: an inlined helper that also takes the ring array
leaves numba reference-count calls in the loop, which push the sums out to memory (2x slower).

A kernel's bar, with ``ring[i, pos]`` the slot the new value ``x`` goes to::

    s1, s2, center, budget = step_nb(s1, s2, center, budget, count, window, ring[i, pos], x)
    ring[i, pos] = x
    pos = pos + 1 if pos + 1 < window else 0
    count += 1
    if pos == phase or stale_nb(s1, s2, budget, count, window):
        center = x
        s1, s2 = resum_nb(ring, i, count, center)
        budget = 0.0
"""

from __future__ import annotations

import numba as nb

# Re-sum once window * (budget + s2) exceeds KAPPA times the centred sum of squares m2. The running
# sums' rounding is at most ~2 * window * eps * (budget + s2), so m2 keeps a relative error below
# 2 * KAPPA * eps = 9e-11 whatever the window. A freshly re-summed window has s2 <= window * m2 and, on
# ordinary data, (budget + s2) / m2 stays near 2-4: below 447-bar windows (window² < KAPPA) a re-sum can
# never be needed two bars in a row, and above them only after the newest value sits far in its tail.
KAPPA = 2e5


@nb.njit(cache=True, nogil=True, error_model="numpy", inline="always")  # inlined: a call per row costs ~15 ns
def step_nb(s1, s2, center, budget, count, window, old, x):  # pragma: no cover - numba
    """Sums about ``center`` after adding ``x`` and, once ``count`` (values seen before ``x``) fills the
    window, dropping ``old`` (the value in ``x``'s slot); returns (s1, s2, center, budget). The first
    value of a ticker becomes its center."""
    if count == 0:
        center = x
    elif count >= window:
        d = old - center
        s1 -= d
        s2 -= d * d
        budget += d * d
    d = x - center
    s1 += d
    s2 += d * d
    budget += d * d
    return s1, s2, center, budget


@nb.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def stale_nb(s1, s2, budget, count, window):  # pragma: no cover - numba
    """Whether a full window's sums carry rounding too large for its variance (see ``KAPPA``)."""
    return count >= window and (budget + s2) * window * window > KAPPA * (window * s2 - s1 * s1)


@nb.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def resum_nb(ring, i, count, center):  # pragma: no cover - numba
    """(sum, sum of squares) of ticker ``i``'s filled ring slots about ``center``, summed afresh.

    The ring fills from slot 0, so while ``count < window`` the filled slots are ``0 .. count - 1``."""
    filled = min(count, ring.shape[1])
    s1 = 0.0
    s2 = 0.0
    for k in range(filled):
        d = ring[i, k] - center
        s1 += d
        s2 += d * d
    return s1, s2


@nb.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def rescale_nb(ring, i, count, pos, factor):  # pragma: no cover - numba
    """Multiply ticker ``i``'s window by ``factor`` (an ex-date) and re-sum it afresh about its newest
    value; returns the new (s1, s2, center, budget). Scaling the sums instead would carry the rounding
    of every scaled value into them, which a tiny variance cannot absorb."""
    for k in range(ring.shape[1]):
        ring[i, k] *= factor
    if count == 0:
        return 0.0, 0.0, 0.0, 0.0
    center = ring[i, pos - 1 if pos > 0 else ring.shape[1] - 1]
    s1, s2 = resum_nb(ring, i, count, center)
    return s1, s2, center, 0.0
