"""Where the causality audit cuts time: stratified across each session, dense near its open and close.

A leak that lives only near a session boundary (the last minutes before the close, the opening range)
is caught only by a cut that falls inside that stretch, which uniform cuts almost never do (3 of a
session's 390 bar ends catch a leak confined to its last 4 minutes). So each cut measures its
distance ``d`` (in bars) from its session's close or open on a log scale: stratum ``j`` of ``c`` draws
``v`` uniformly in ``[j/c, (j+1)/c)`` and takes ``d = floor((L + 2) ** v) - 1`` for a session of
``L + 1`` bar ends. Half the strata count from the close, half from the open, each with a session of
its own (a random permutation, cycled), so the first and last minutes get as many cuts as the middle
hours, and every scale of distance to a boundary gets one.

Why 16 cuts by default: a leak confined to the last 4 minutes (rows 15:57-16:00 reading a later bar
of their session) is caught by a cut at ``d`` in {1, 2, 3}, i.e. ``v`` in ``[ln 2, ln 5) / ln(L + 2)``,
which is ``[0.116, 0.270)`` for a full session. With 8 close strata one stratum, ``[0.125, 0.25)``, lies
inside it, so the catch is certain on full sessions and 97.9 % likely when that cut lands on a half
day; with 7 close strata it is 91 % (``tests/audit/test_cuts.py`` computes both and measures them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.data import EXCHANGE_TZ
from workbench.errors import DataValidationError

#: the default number of cuts: the smallest even count that catches a last-4-minutes leak >= 95 %
DEFAULT_N_CUTS = 16


def cut_times(bars: pd.DataFrame, n_cuts: int = DEFAULT_N_CUTS, *, seed: int = 0) -> list[pd.Timestamp]:
    """The cut times :func:`~workbench.audit.check_causality` uses for ``bars`` with ``n_cuts`` and ``seed``.

    Cuts are distinct bar times of ``bars``, never its last one (that would perturb nothing); when
    there are no more usable times than ``n_cuts``, every usable time is a cut.
    """
    return place_cuts(bar_times_of(bars), n_cuts, np.random.default_rng(seed))


def bar_times_of(bars: pd.DataFrame) -> pd.DatetimeIndex:
    """The distinct bar times of ``bars``, sorted, after checking there are two to cut between."""
    times = pd.DatetimeIndex(bars["ts"].dropna().unique()).sort_values()
    if len(times) < 2:
        raise DataValidationError(
            "bars must span at least two distinct timestamps to place a cut between them; pass more bars"
        )
    return times


def check_n_cuts(n_cuts: object) -> None:
    """Refuse an ``n_cuts`` that is not a positive integer."""
    if isinstance(n_cuts, bool) or not isinstance(n_cuts, int | np.integer) or n_cuts < 1:
        raise DataValidationError(f"n_cuts must be a positive integer, got {n_cuts!r}")


def place_cuts(times: pd.DatetimeIndex, n_cuts: int, rng: np.random.Generator) -> list[pd.Timestamp]:
    """``n_cuts`` distinct cuts among ``times[:-1]`` (sorted unique bar times), stratified as the module says."""
    check_n_cuts(n_cuts)
    usable = len(times) - 1
    if usable <= n_cuts:
        return list(times[:-1])
    day = np.asarray(times.tz_convert(EXCHANGE_TZ).date)
    starts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])
    stops = np.r_[starts[1:], len(times)]
    chosen: set[int] = set()
    for from_close, count in ((True, (n_cuts + 1) // 2), (False, n_cuts // 2)):
        if count == 0:
            continue
        session = np.resize(rng.permutation(len(starts)), count)
        v = (np.arange(count) + rng.random(count)) / count
        for k in range(count):
            start, stop = starts[session[k]], stops[session[k]]
            last = stop - start - 1  # L: the session's bar ends are start .. start + L
            d = min(int(np.floor((last + 2) ** v[k])) - 1, last)
            position = stop - 1 - d if from_close else start + d
            if position < usable:
                chosen.add(int(position))
    missing = n_cuts - len(chosen)  # collisions on short sessions, or the data's very last bar
    if missing:
        free = np.setdiff1d(np.arange(usable), np.fromiter(chosen, dtype=np.int64, count=len(chosen)))
        chosen.update(int(p) for p in rng.choice(free, missing, replace=False))
    return list(times[np.sort(np.fromiter(chosen, dtype=np.int64, count=len(chosen)))])
