"""Microstructure from the L1 quote at the bar's close: spread in basis points and order-book imbalance
with its short mean.

Session boundaries: the imbalance mean carries across sessions (it counts bars). Halts and missing
minutes: windows count bars; a bar without a quote gives NaN and adds nothing to the mean (which
averages the valid values among the last ``mean_window`` bars). Splits: spreads and imbalances are
scale-free, no adjustment needed.
"""

from __future__ import annotations

from typing import ClassVar

import numba as nb
import numpy as np

from workbench.features._rows import Rows
from workbench.features._universe import FeatureUniverse
from workbench.features.families._base import Family, State


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _spread_bps_nb(bid, ask, out):  # pragma: no cover - numba
    for r in range(len(bid)):
        mid = 0.5 * (bid[r] + ask[r])
        out[r, 0] = (ask[r] - bid[r]) / mid * 1e4


class SpreadBps(Family):
    """``spread_bps``: (ask - bid) / mid in basis points."""

    kind: ClassVar[str] = "spread_bps"

    @property
    def columns(self) -> tuple[str, ...]:
        return ("spread_bps",)

    def new_state(self, universe: FeatureUniverse) -> State:
        return {}

    def run(self, rows: Rows, state: State, out: np.ndarray) -> None:
        _spread_bps_nb(rows.bid, rows.ask, out)


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _imbalance_nb(ticker, bid_size, ask_size, window, ring, count, pos, out):  # pragma: no cover - numba
    for r in range(len(ticker)):
        i = ticker[r]
        total = bid_size[r] + ask_size[r]
        value = (bid_size[r] - ask_size[r]) / total if total > 0.0 else np.nan
        out[r, 0] = value
        ring[i, pos[i]] = value
        pos[i] = pos[i] + 1 if pos[i] + 1 < window else 0
        count[i] += 1
        if count[i] < window:
            out[r, 1] = np.nan
            continue
        acc = 0.0
        valid = 0
        for k in range(window):
            v = ring[i, k]
            if not np.isnan(v):
                acc += v
                valid += 1
        out[r, 1] = acc / valid if valid > 0 else np.nan


class Imbalance(Family):
    """``imbalance`` = (bid_size - ask_size) / (bid_size + ask_size) and ``imbalance_mean_w``."""

    kind: ClassVar[str] = "imbalance"
    param_defaults = {"mean_window": 5}

    def validate(self) -> None:
        self._positive_int("mean_window", 2)

    @property
    def columns(self) -> tuple[str, ...]:
        return ("imbalance", f"imbalance_mean_{self.params['mean_window']}")

    def new_state(self, universe: FeatureUniverse) -> State:
        n = universe.n
        return {"ring": np.full((n, self.params["mean_window"]), np.nan), "count": np.zeros(n, dtype=np.int64),
                "pos": np.zeros(n, dtype=np.int64)}

    def run(self, rows: Rows, state: State, out: np.ndarray) -> None:
        _imbalance_nb(rows.ticker, rows.bid_size, rows.ask_size, self.params["mean_window"], state["ring"],
                      state["count"], state["pos"], out)
