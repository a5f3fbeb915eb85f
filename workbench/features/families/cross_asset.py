"""Cross-asset lead-lag: the index's intraday one-bar return of this minute and the 1-3 before it, the
sector's of the 1-3 minutes before, and a rolling beta with the residual return against the index.

The kernels visit rows in time order with the index instrument first within a minute
(``rows.time_order``); the sector return of a minute is the equal-weighted mean over the members that
traded in it, final once a later minute starts. Lags are clock minutes within the session (lag 0: the
index's bar ending at t, which the engine processes before the stocks' bars of that minute): the minute
t-k must exist, so the first bars of a session (and the bars after a market-wide gap) get NaN — never a
value from the previous session. Halts: a halted stock simply does not count in its sector that minute.
Splits: only returns are stored (previous log closes are shifted on the ex-date).
"""

from __future__ import annotations

from typing import ClassVar

import numba as nb
import numpy as np

from workbench.features._rows import Rows
from workbench.features._universe import FeatureUniverse
from workbench.features.families._base import Family, State
from workbench.features.families.volatility import intraday_return_nb


def _lags(family: Family, smallest: int) -> tuple[int, ...]:
    lags = family.params["lags"]
    if not lags or any(not isinstance(k, int) or k < smallest for k in lags):
        why = ("" if smallest == 0 else "; lag 0 (this minute) exists for the index only: a sector's mean of "
               "the minute is final only once every member's bar of that minute has arrived")
        raise ValueError(f"feature {family.kind!r}: lags must be integers >= {smallest}, got {lags!r}{why}")
    return tuple(lags)


@nb.njit(cache=True, nogil=True, error_model="numpy", inline="always")  # inlined: a call per row costs ~15 ns
def _lookup_nb(minutes, values, g, wanted):  # pragma: no cover - numba
    """Value stored for ``wanted`` minute in group ``g``'s ring, NaN if that minute is not there."""
    for k in range(minutes.shape[1]):
        if minutes[g, k] == wanted:
            return values[g, k]
    return np.nan


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _group_lags_nb(seq, ticker, minute, new_session, log_open, log_close, pf, group_of_ticker, lags, prev, current,
                   acc, ring_minute, ring_value, ring_pos, out, index_only):  # pragma: no cover - numba
    """Per-minute group (sector, or the index as group 0) mean intraday return, read back at t - lag.

    Rows are visited in time order ``seq``; current[0] = the minute being accumulated; acc[g] = (sum,
    count) of that minute. A group's lagged values are looked up once per minute (``looked``) and shared
    by all its rows of that minute: the ring only changes when a minute is published.
    """
    depth = ring_minute.shape[1]
    looked_minute = np.full(ring_minute.shape[0], -1, dtype=np.int64)
    looked = np.empty((ring_minute.shape[0], len(lags)))
    for q in range(len(seq)):
        r = seq[q]
        i = ticker[r]
        m = minute[r]
        if m != current[0]:  # the accumulated minute is complete: publish it
            if current[0] >= 0:
                for g in range(acc.shape[0]):
                    if acc[g, 1] > 0:
                        ring_minute[g, ring_pos[g]] = current[0]
                        ring_value[g, ring_pos[g]] = acc[g, 0] / acc[g, 1]
                        ring_pos[g] = ring_pos[g] + 1 if ring_pos[g] + 1 < depth else 0
                    acc[g, 0] = 0.0
                    acc[g, 1] = 0.0
            current[0] = m
        if group_of_ticker[i] >= 0:  # only a group's members need their return (the index, or sector stocks)
            if pf[r] != 1.0:
                prev[i] += np.log(pf[r])
            ret = intraday_return_nb(r, new_session, log_open, log_close, prev[i])
            prev[i] = log_close[r]
            acc[group_of_ticker[i], 0] += ret
            acc[group_of_ticker[i], 1] += 1.0
        g = 0 if index_only else group_of_ticker[i]
        for j in range(len(lags)):
            if g < 0:
                out[r, j] = np.nan
            elif lags[j] == 0:  # the index's bar of this minute (processed first): its return so far
                out[r, j] = acc[g, 0] / acc[g, 1] if acc[g, 1] > 0 else np.nan
            else:
                if looked_minute[g] != m:
                    for h in range(len(lags)):
                        looked[g, h] = _lookup_nb(ring_minute, ring_value, g, m - lags[h])
                    looked_minute[g] = m
                out[r, j] = looked[g, j]


class _GroupLags(Family):
    """Shared machinery of index and sector lags."""

    cross_sectional = True
    param_defaults = {"lags": (1, 2, 3)}
    index_only: ClassVar[bool] = False
    prefix: ClassVar[str] = ""

    def validate(self) -> None:
        _lags(self, 0 if self.index_only else 1)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f"{self.prefix}_ret_lag{k}" for k in self.params["lags"])

    def _groups(self, universe: FeatureUniverse) -> np.ndarray:
        if self.index_only:
            groups = np.full(universe.n, -1, dtype=np.int64)
            if universe.index_row >= 0:
                groups[universe.index_row] = 0
            return groups
        return universe.sector_code.copy()

    def new_state(self, universe: FeatureUniverse) -> State:
        n_groups = 1 if self.index_only else max(universe.n_sectors, 1)
        depth = max(self.params["lags"]) + 1
        return {"groups": self._groups(universe), "prev": np.full(universe.n, np.nan),
                "current": np.full(1, -1, dtype=np.int64), "acc": np.zeros((n_groups, 2)),
                "ring_minute": np.full((n_groups, depth), -1, dtype=np.int64),
                "ring_value": np.full((n_groups, depth), np.nan), "ring_pos": np.zeros(n_groups, dtype=np.int64)}

    def run(self, rows: Rows, state: State, out: np.ndarray) -> None:
        _group_lags_nb(rows.time_order, rows.ticker, rows.minute, rows.new_session, rows.log_open, rows.log_close,
                       rows.price_factor, state["groups"], np.asarray(self.params["lags"], dtype=np.int64),
                       state["prev"], state["current"], state["acc"], state["ring_minute"], state["ring_value"],
                       state["ring_pos"], out, self.index_only)


class IndexLags(_GroupLags):
    """``idx_ret_lagk``: the index's intraday one-minute log return k minutes ago (k = 0: the bar ending now)."""

    kind: ClassVar[str] = "index_lags"
    index_only = True
    prefix = "idx"


class SectorLags(_GroupLags):
    """``sector_ret_lagk``: the equal-weighted mean one-minute return of the ticker's sector k minutes ago."""

    kind: ClassVar[str] = "sector_lags"
    prefix = "sector"


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _beta_nb(seq, ticker, minute, new_session, log_open, log_close, pf, index_row, window, prev, index_now, ring, count,
             pos, sums, out):  # pragma: no cover - numba
    """OLS beta of the stock's intraday returns on the index's over the last ``window`` paired minutes,
    and the residual return ``r - beta * r_index`` of this bar, visiting rows in time order ``seq``.
    index_now = (minute, return) of the index. sums = (sx, sy, sxx, sxy); ring[i, k] = (x, y)."""
    for q in range(len(seq)):
        r = seq[q]
        i = ticker[r]
        if pf[r] != 1.0:
            prev[i] += np.log(pf[r])
        y = intraday_return_nb(r, new_session, log_open, log_close, prev[i])
        prev[i] = log_close[r]
        if i == index_row:
            index_now[0] = minute[r]
            index_now[1] = y
        x = index_now[1] if index_now[0] == minute[r] else np.nan
        out[r, 0] = np.nan
        out[r, 1] = np.nan
        if np.isnan(x):
            continue
        p = pos[i]
        if count[i] >= window:
            ox = ring[i, p, 0]
            oy = ring[i, p, 1]
            sums[i, 0] -= ox
            sums[i, 1] -= oy
            sums[i, 2] -= ox * ox
            sums[i, 3] -= ox * oy
        ring[i, p, 0] = x
        ring[i, p, 1] = y
        sums[i, 0] += x
        sums[i, 1] += y
        sums[i, 2] += x * x
        sums[i, 3] += x * y
        pos[i] = p + 1 if p + 1 < window else 0
        count[i] += 1
        if pos[i] == i % window:  # once per turn, at a ticker-dependent position: re-sum exactly
            for c in range(4):
                sums[i, c] = 0.0
            for k in range(window):
                kx = ring[i, k, 0]
                ky = ring[i, k, 1]
                sums[i, 0] += kx
                sums[i, 1] += ky
                sums[i, 2] += kx * kx
                sums[i, 3] += kx * ky
        if count[i] < window:
            continue
        var_x = window * sums[i, 2] - sums[i, 0] * sums[i, 0]
        if var_x <= 1e-12 * window * sums[i, 2]:
            continue
        beta = (window * sums[i, 3] - sums[i, 0] * sums[i, 1]) / var_x
        out[r, 0] = beta
        out[r, 1] = y - beta * x


class Beta(Family):
    """``beta_w`` (rolling OLS beta on the index over ``window`` paired minutes) and ``resid_ret``."""

    kind: ClassVar[str] = "beta"
    param_defaults = {"window": 60}
    cross_sectional = True

    def validate(self) -> None:
        self._positive_int("window", 3)

    @property
    def columns(self) -> tuple[str, ...]:
        return (f"beta_{self.params['window']}", "resid_ret")

    def new_state(self, universe: FeatureUniverse) -> State:
        n, w = universe.n, self.params["window"]
        return {"prev": np.full(n, np.nan), "index_now": np.array([-1.0, np.nan]), "ring": np.zeros((n, w, 2)),
                "count": np.zeros(n, dtype=np.int64), "pos": np.zeros(n, dtype=np.int64), "sums": np.zeros((n, 4)),
                "index_row": np.array([universe.index_row], dtype=np.int64)}

    def run(self, rows: Rows, state: State, out: np.ndarray) -> None:
        _beta_nb(rows.time_order, rows.ticker, rows.minute, rows.new_session, rows.log_open, rows.log_close,
                 rows.price_factor, int(state["index_row"][0]), self.params["window"], state["prev"],
                 state["index_now"], state["ring"], state["count"], state["pos"], state["sums"], out)
