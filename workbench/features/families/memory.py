"""Memory: fixed-width fractional differentiation of the log close (AFML ch. 5), which keeps long
memory while making the series close to stationary.

Session boundaries: carried (a window of bars). Halts and missing minutes: the window counts bars.
Splits/dividends: the stored log closes are shifted by log(price factor) on the ex-date, so the
window always holds prices in today's units. NaN until the window is full.
"""

from __future__ import annotations

from typing import ClassVar

import numba as nb
import numpy as np

from workbench.features._rows import Rows
from workbench.features._universe import FeatureUniverse
from workbench.features.families._base import Family, State
from workbench.features.frac_diff import ffd_weights


@nb.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _ffd_nb(ticker, pf, log_close, reversed_weights, ring, count, pos, out):  # pragma: no cover - numba
    """sum_k w_k log(close_{t-k}); the ring is written twice (at p and p + W) so the window
    [p+1, p+W] is one contiguous, oldest-first slice: a forward dot product the compiler vectorizes."""
    width = len(reversed_weights)
    for r in range(len(ticker)):
        i = ticker[r]
        if pf[r] != 1.0:
            ring[i, :] += np.log(pf[r])
        x = log_close[r]
        p = pos[i]
        ring[i, p] = x
        ring[i, p + width] = x
        pos[i] = p + 1 if p + 1 < width else 0
        count[i] += 1
        if count[i] < width:
            out[r, 0] = np.nan
            continue
        window = ring[i, p + 1:p + 1 + width]
        acc = 0.0
        for j in range(width):
            acc += reversed_weights[j] * window[j]
        out[r, 0] = acc


class FracDiff(Family):
    """``ffd_close``: FFD of log close with order ``d`` and weight cut-off ``threshold``."""

    kind: ClassVar[str] = "ffd"
    param_defaults = {"d": 0.4, "threshold": 1e-4}

    def validate(self) -> None:
        self.weights = ffd_weights(float(self.params["d"]), float(self.params["threshold"]))
        self.reversed_weights = self.weights[::-1].copy()  # oldest first, as the ring is read

    @property
    def columns(self) -> tuple[str, ...]:
        return ("ffd_close",)

    def new_state(self, universe: FeatureUniverse) -> State:
        n = universe.n
        return {"ring": np.zeros((n, 2 * len(self.weights))), "count": np.zeros(n, dtype=np.int64),
                "pos": np.zeros(n, dtype=np.int64)}

    def run(self, rows: Rows, state: State, out: np.ndarray) -> None:
        _ffd_nb(rows.ticker, rows.price_factor, rows.log_close, self.reversed_weights, state["ring"],
                state["count"], state["pos"], out)
