"""Honest sweep summaries: for the best run of a set of trials (by the sweep's objective), the Deflated Sharpe
Ratio given every trial (Bailey & López de Prado, 2014), and the Probability of Backtest Overfitting by CSCV
(Bailey, Borwein, López de Prado & Zhu, 2015) over the trials' out-of-sample return series — the per-minute
net returns of their primary backtests on the minutes all of them traded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workbench.experiments._compare import RunComparison

#: CSCV's default number of blocks (Bailey et al. use 16); fewer when the series is short
N_SPLITS = 16
#: a DSR at or above this says the best run beats the best of as many noise strategies (95 % confidence)
DSR_CONFIDENCE = 0.95


@dataclass(frozen=True)
class SweepStatistics:
    """The overfitting statistics of ``n_trials`` complete runs: the best run (``best_run``, by ``objective``),
    its ``dsr``, the ``pbo`` over all trials from ``n_splits`` CSCV blocks of ``n_observations`` common
    minutes, the logits λ and out-of-sample relative ranks of the in-sample best per split combination, and a
    ``verdict`` sentence. With fewer than 2 complete runs only ``verdict`` (saying so) is set."""

    n_trials: int
    verdict: str
    best_run: str | None = None
    objective: str | None = None
    dsr: float | None = None
    pbo: float | None = None
    n_observations: int = 0
    n_splits: int = 0
    logits: np.ndarray | None = None
    oos_ranks: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        """The numbers (no arrays) as JSON-able values, e.g. for ``--json`` output."""
        return {"n_trials": self.n_trials, "best_run": self.best_run, "objective": self.objective, "dsr": self.dsr,
                "pbo": self.pbo, "n_observations": self.n_observations, "n_splits": self.n_splits,
                "verdict": self.verdict}


def best_run(table: pd.DataFrame, objective: str = "net_sharpe", direction: str = "maximize") -> str | None:
    """The complete run with the best ``objective`` (ties: the first listed); None without one."""
    complete = table[(table["status"] == "complete") & table[objective].notna()]
    if not len(complete):
        return None
    values = complete[objective].astype(float)
    position = values.to_numpy().argmax() if direction == "maximize" else values.to_numpy().argmin()
    return str(complete["run_id"].iloc[int(position)])


def cscv_splits(n_observations: int, n_splits: int = N_SPLITS) -> int:
    """The even number of CSCV blocks ``≤ n_splits`` a series of ``n_observations`` supports (each block needs
    at least 2 observations for a Sharpe ratio); 0 when it supports fewer than 2 blocks."""
    blocks = min(n_splits, n_observations // 2)
    blocks -= blocks % 2
    return blocks if blocks >= 2 else 0


def sweep_statistics(comparison: RunComparison, objective: str = "net_sharpe", direction: str = "maximize"
                     ) -> SweepStatistics:
    """DSR of the best run and PBO over all complete runs of ``comparison`` (see the module's docstring)."""
    from workbench.evaluation import deflated_sharpe_ratio, probability_of_backtest_overfitting

    matrix = comparison.common_returns
    n_trials = matrix.shape[1]
    if n_trials < 2:
        return SweepStatistics(n_trials=n_trials, verdict=(
            f"the overfitting statistics (DSR, PBO) need ≥ 2 complete runs; this has {n_trials}"))
    table = comparison.table[comparison.table["run_id"].isin(matrix.columns)]
    best = best_run(table, objective, direction)
    if best is None:
        return SweepStatistics(n_trials=n_trials, verdict=f"no complete run has a value of {objective}; the "
                                                          "overfitting statistics need it to pick the best run")
    blocks = cscv_splits(len(matrix))
    if blocks == 0:
        return SweepStatistics(n_trials=n_trials, best_run=best, objective=objective, verdict=(
            f"the runs share only {len(matrix)} minutes of returns; DSR and PBO need at least 4"))
    flat = [str(run_id) for run_id, column in matrix.items() if column.std(ddof=1) == 0.0]
    if flat:
        return SweepStatistics(n_trials=n_trials, best_run=best, objective=objective, verdict=(
            f"run(s) {', '.join(flat)} never moved (constant returns: no trades?), so their Sharpe ratios and "
            "the DSR are undefined; compare the others"))
    sharpes = matrix.mean() / matrix.std(ddof=1)
    dsr = float(deflated_sharpe_ratio(matrix[best].to_numpy(), trial_sharpe_ratios=sharpes.to_numpy()))
    pbo = probability_of_backtest_overfitting(matrix.to_numpy(), n_splits=blocks)
    statistics = SweepStatistics(n_trials=n_trials, best_run=best, objective=objective, dsr=dsr,
                                 pbo=float(pbo.pbo), n_observations=len(matrix), n_splits=blocks,
                                 logits=np.asarray(pbo.logits, dtype=float),
                                 oos_ranks=np.asarray(pbo.oos_ranks, dtype=float), verdict="")
    return SweepStatistics(**{**statistics.__dict__, "verdict": verdict(statistics)})


def verdict(statistics: SweepStatistics) -> str:
    """One sentence a reader can act on: ``the best of 8 runs (by net_sharpe): DSR 0.41 — not distinguishable
    from the best of 8 noise strategies; PBO 0.55 — the in-sample best ranks below the median out of sample
    more often than not``."""
    n = statistics.n_trials
    dsr, pbo = statistics.dsr, statistics.pbo
    if dsr is None or pbo is None:
        return statistics.verdict
    skill = (f"distinguishable from the best of {n} noise strategies at {DSR_CONFIDENCE:.0%}" if dsr >= DSR_CONFIDENCE
             else f"not distinguishable from the best of {n} noise strategies")
    overfit = ("the in-sample best ranks below the median out of sample more often than not" if pbo > 0.5
               else "the in-sample best usually stays in the top half out of sample")
    return (f"the best of {n} runs ({statistics.best_run}, by {statistics.objective}): DSR {dsr:.2f} — {skill}; "
            f"PBO {pbo:.2f} — {overfit}")
