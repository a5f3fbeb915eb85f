"""Is the best of a sweep's trials skilled, or only the luckiest of N? Selection-bias statistics for backtests.

A sweep that keeps the best of N configurations reports a Sharpe ratio biased upwards: among N strategies with
no skill the best one's Sharpe grows like ``sqrt(2 ln N)`` standard errors. The statistics here correct for it:

* :func:`probabilistic_sharpe_ratio` (PSR): the probability that the true Sharpe ratio exceeds a benchmark,
  given the estimate, the sample length, and the skew and kurtosis of the returns (Bailey & López de Prado
  2012);
* :func:`expected_maximum_sharpe`: the Sharpe ratio the best of N no-skill trials reaches on average, given
  the dispersion of the trials' Sharpe ratios (Bailey & López de Prado 2014);
* :func:`deflated_sharpe_ratio` (DSR): the PSR of the best trial against that expected maximum;
* :func:`probability_of_backtest_overfitting` (PBO): by combinatorially symmetric cross-validation (CSCV), how
  often the in-sample best of the N trials ranks in the bottom half out of sample (Bailey, Borwein, López de
  Prado & Zhu 2015).

Sharpe ratios are per period (``mean / std`` of the returns as given, ``std`` with ddof 1, risk-free 0), not
annualised: the formulas need the per-period value and the number of periods.

References
----------
.. [1] D. H. Bailey, M. López de Prado, "The Sharpe ratio efficient frontier", Journal of Risk 15(2), 2012.
.. [2] D. H. Bailey, M. López de Prado, "The deflated Sharpe ratio: correcting for selection bias, backtest
   overfitting and non-normality", Journal of Portfolio Management 40(5), 2014.
.. [3] D. H. Bailey, J. M. Borwein, M. López de Prado, Q. J. Zhu, "The probability of backtest overfitting",
   Journal of Computational Finance 20(4), 2017 (working paper 2015).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from workbench.errors import DataValidationError

#: more blocks than this make C(S, S/2) explode (C(20, 10) = 184,756 combinations; C(24, 12) = 2.7 million)
MAX_SPLITS = 20
#: each CSCV block needs this many rows, so every in- and out-of-sample set has a standard deviation
MIN_BLOCK_ROWS = 2
_COMBINATION_CHUNK = 4096  # combinations evaluated at once: bounds memory at 2 x chunk x n_trials floats

SharpeMetric = Callable[[np.ndarray], np.ndarray]


def probabilistic_sharpe_ratio(returns: np.ndarray | pd.Series, benchmark_sharpe: float = 0.0) -> float:
    """PSR [1]_: the probability that the true per-period Sharpe ratio of ``returns`` exceeds ``benchmark_sharpe``.

    The estimate's standard error grows with skew against it and with fat tails, so a short, negatively skewed
    record earns less confidence than a normal one of the same Sharpe. NaN returns are dropped; the moments are
    those :func:`probabilistic_sharpe_ratio_from_moments` takes (sample skew and non-excess kurtosis).
    """
    sharpe, n_obs, skew, kurtosis = _sharpe_moments(returns)
    return probabilistic_sharpe_ratio_from_moments(sharpe, n_obs, skew, kurtosis, benchmark_sharpe)


def probabilistic_sharpe_ratio_from_moments(sharpe: float, n_obs: int, skew: float = 0.0, kurtosis: float = 3.0,
                                            benchmark_sharpe: float = 0.0) -> float:
    """PSR [1]_ from a per-period Sharpe ratio estimated on ``n_obs`` returns of the given skew and kurtosis.

    ``Φ((SR - SR*) sqrt(T - 1) / sqrt(1 - γ3 SR + (γ4 - 1) / 4 SR²))`` with ``γ3 = skew`` and ``γ4 = kurtosis``
    (non-excess: 3 for normal returns, whose denominator is ``sqrt(1 + SR² / 2)``). Any distribution has
    ``γ4 ≥ 1 + γ3²``, which keeps the denominator real; moments that break it are refused.
    """
    if not isinstance(n_obs, int | np.integer) or n_obs < 2:
        raise ValueError(f"n_obs must be an integer >= 2 (the Sharpe ratio needs a standard deviation), got {n_obs!r}")
    values = {"sharpe": sharpe, "skew": skew, "kurtosis": kurtosis, "benchmark_sharpe": benchmark_sharpe}
    for name, value in values.items():
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
    if kurtosis < (1.0 + skew**2) * (1.0 - 1e-9):
        raise ValueError(f"kurtosis {kurtosis} is below 1 + skew² = {1.0 + skew**2}, which no distribution has; "
                         "pass the non-excess kurtosis (3 for normal returns)")
    spread = math.sqrt(1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2)
    return float(stats.norm.cdf((sharpe - benchmark_sharpe) * math.sqrt(n_obs - 1.0) / spread))


def expected_maximum_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """The expected maximum of ``n_trials`` per-period Sharpe ratios under the null of no skill [2]_.

    ``sqrt(V) ((1 - γ) Φ⁻¹(1 - 1/N) + γ Φ⁻¹(1 - 1/(N e)))`` with ``γ`` the Euler-Mascheroni constant and
    ``V = sharpe_variance`` the variance of the trials' Sharpe ratios: the extreme-value approximation of the
    mean of the largest of N independent normal draws with mean 0 and variance V (within 2.5 % of the exact
    value for N ≥ 10, below it by 8 % at N = 2). One trial's expected maximum is its mean, 0.
    """
    if not isinstance(n_trials, int | np.integer) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")
    if not (math.isfinite(sharpe_variance) and sharpe_variance >= 0.0):
        raise ValueError(f"sharpe_variance must be finite and >= 0, got {sharpe_variance}")
    if n_trials == 1:
        return 0.0
    quantiles = stats.norm.ppf([1.0 - 1.0 / n_trials, 1.0 - 1.0 / (n_trials * math.e)])
    return float(math.sqrt(sharpe_variance) * ((1.0 - np.euler_gamma) * quantiles[0] + np.euler_gamma * quantiles[1]))


@dataclass(frozen=True)
class DeflatedSharpeResult:
    """The DSR [2]_ of a sweep's best trial: ``dsr`` is the probability that its true Sharpe ratio exceeds
    ``sr0``, the expected maximum Sharpe ratio of ``n_trials`` trials without skill whose Sharpe ratios vary
    with ``sharpe_variance``. ``sharpe``, ``skew``, ``kurtosis`` (non-excess) and ``n_obs`` describe the best
    trial's returns; Sharpe ratios are per period. ``float(result)`` is ``dsr``."""

    dsr: float
    sharpe: float
    sr0: float
    n_trials: int
    sharpe_variance: float
    skew: float
    kurtosis: float
    n_obs: int

    def significant(self, alpha: float = 0.05) -> bool:
        """Whether the best trial beats the best of ``n_trials`` no-skill trials at level ``alpha``
        (``dsr >= 1 - alpha``)."""
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")
        return bool(self.dsr >= 1.0 - alpha)

    def to_dict(self) -> dict[str, float | int]:
        """The fields as JSON-able numbers."""
        return asdict(self)

    def __float__(self) -> float:
        return self.dsr


def deflated_sharpe_ratio(best_returns: np.ndarray | pd.Series, trial_sharpe_ratios: np.ndarray | None = None, *,
                          trial_returns: np.ndarray | pd.DataFrame | None = None) -> DeflatedSharpeResult:
    """The Deflated Sharpe Ratio [2]_ of the best of a sweep's trials: its PSR against the Sharpe ratio the best
    of as many no-skill trials would reach.

    Parameters
    ----------
    best_returns
        The per-period returns of the chosen trial (NaN dropped); its Sharpe ratio, skew, kurtosis and length
        enter the PSR.
    trial_sharpe_ratios
        The per-period Sharpe ratios of every trial of the sweep, the best one included: their number is N and
        their variance V of :func:`expected_maximum_sharpe`.
    trial_returns
        Instead of ``trial_sharpe_ratios``: the trials' returns, one column per trial (rows as in
        :func:`probability_of_backtest_overfitting`: all-NaN rows dropped, other NaN counted as a zero return).

    Returns
    -------
    DeflatedSharpeResult
        ``dsr`` with the numbers behind it; ``significant(alpha)`` reads it at a level.

    Notes
    -----
    N counts the trials as independent. Correlated trials (neighbouring grid points) behave like fewer: N is
    then an upper bound and the DSR conservative.
    """
    if (trial_sharpe_ratios is None) == (trial_returns is None):
        raise ValueError("pass exactly one of trial_sharpe_ratios and trial_returns")
    if trial_returns is not None:
        matrix = _returns_matrix(trial_returns)
        sharpes = _sharpe(matrix.mean(axis=0), matrix.var(axis=0, ddof=1))
    else:
        sharpes = np.asarray(trial_sharpe_ratios, dtype=np.float64)
        if sharpes.ndim != 1 or not np.isfinite(sharpes).all():
            raise ValueError(f"trial_sharpe_ratios must be a 1-D array of finite numbers, got shape {sharpes.shape} "
                             f"with {int((~np.isfinite(sharpes)).sum())} non-finite value(s)")
    if len(sharpes) < 2:
        raise ValueError(f"the DSR needs the Sharpe ratios of at least 2 trials (their variance), got {len(sharpes)}")
    sharpe, n_obs, skew, kurtosis = _sharpe_moments(best_returns)
    variance = float(sharpes.var(ddof=1))
    sr0 = expected_maximum_sharpe(len(sharpes), variance)
    return DeflatedSharpeResult(dsr=probabilistic_sharpe_ratio_from_moments(sharpe, n_obs, skew, kurtosis, sr0),
                                sharpe=sharpe, sr0=sr0, n_trials=len(sharpes), sharpe_variance=variance, skew=skew,
                                kurtosis=kurtosis, n_obs=n_obs)


@dataclass(frozen=True, eq=False)
class BacktestOverfittingResult:
    """CSCV [3]_ over ``n_trials`` trials, ``n_obs`` rows cut into ``n_splits`` blocks: one entry per each of the
    ``n_combinations`` = C(n_splits, n_splits / 2) choices of in-sample blocks.

    ``best_trials`` is the column position of the in-sample best trial, ``is_metric`` its in-sample and
    ``oos_metric`` its out-of-sample ``metric``: the pairs of the performance-degradation plot. ``oos_ranks``
    is that trial's relative out-of-sample rank ``ω = rank / (N + 1)`` (1 the worst, N the best; ties share the
    average rank) and ``logits`` its ``λ = ln(ω / (1 - ω))``, whose histogram shows how far out-of-sample
    selection lands from the median (λ = 0).
    """

    logits: np.ndarray = field(repr=False)
    oos_ranks: np.ndarray = field(repr=False)
    best_trials: np.ndarray = field(repr=False)
    is_metric: np.ndarray = field(repr=False)
    oos_metric: np.ndarray = field(repr=False)
    n_combinations: int
    n_splits: int
    n_trials: int
    n_obs: int
    metric: str

    @property
    def pbo(self) -> float:
        """The probability of backtest overfitting: the share of combinations whose in-sample best ranks at or
        below the out-of-sample median (``λ ≤ 0``). About 0.5 when no trial has skill, near 0 when one does."""
        return float(np.mean(self.logits <= 0.0))

    @property
    def probability_of_loss(self) -> float:
        """The share of combinations whose in-sample best has a negative out-of-sample ``metric``."""
        return float(np.mean(self.oos_metric < 0.0))

    def to_dict(self) -> dict[str, Any]:
        """The scalars (no arrays) as JSON-able values."""
        return {"pbo": self.pbo, "probability_of_loss": self.probability_of_loss,
                "n_combinations": self.n_combinations, "n_splits": self.n_splits, "n_trials": self.n_trials,
                "n_obs": self.n_obs, "metric": self.metric}


def probability_of_backtest_overfitting(returns: np.ndarray | pd.DataFrame, n_splits: int = 16,
                                        metric: Literal["sharpe"] | SharpeMetric = "sharpe"
                                        ) -> BacktestOverfittingResult:
    """The probability that choosing the best of the trials in-sample picks one below the median out of sample,
    by combinatorially symmetric cross-validation (CSCV) [3]_.

    The rows are cut into ``n_splits`` contiguous blocks (sizes differ by at most one row, as
    ``numpy.array_split``). Each of the C(S, S/2) ways to pick half the blocks gives an in-sample set and its
    complement, the out-of-sample set; the trial with the best in-sample ``metric`` (ties: the first column)
    gets its relative out-of-sample rank ω among the trials and the logit ``λ = ln(ω / (1 - ω))``. The PBO is
    the share of combinations with ``λ ≤ 0``.

    Parameters
    ----------
    returns
        Per-period returns, rows in time order, one column per trial (T × N, DataFrame or array, N ≥ 2). Rows
        where every trial is NaN are dropped (no trial traded); any other NaN counts as a zero return (that
        trial was flat), so every trial is judged on the same rows.
    n_splits
        The number of blocks S: even, from 2 to 20, and at most T / 2 (each block needs 2 rows). Bailey et
        al. use 16.
    metric
        ``"sharpe"`` (per-period ``mean / std``, ddof 1; a trial that does not vary on a set scores 0 there),
        computed from per-block sums so all combinations cost a few matrix products; or a function from a
        (rows × N) array to N scores (higher is better), called once per in- and out-of-sample set.

    Returns
    -------
    BacktestOverfittingResult
        ``pbo``, the λ distribution, the in- vs out-of-sample metric pairs and ``probability_of_loss``.
    """
    matrix = _returns_matrix(returns)
    n_obs, n_trials = matrix.shape
    if n_trials < 2:
        raise ValueError(f"PBO compares trials: returns needs at least 2 columns, got {n_trials}")
    _check_splits(n_splits, n_obs)
    chosen_blocks = np.array(list(itertools.combinations(range(n_splits), n_splits // 2)))
    masks = np.zeros((len(chosen_blocks), n_splits), dtype=bool)
    masks[np.arange(len(chosen_blocks))[:, None], chosen_blocks] = True
    bounds = np.cumsum([0, *(len(b) for b in np.array_split(np.arange(n_obs), n_splits))])
    if callable(metric):
        is_scores, oos_scores = _metric_by_set(matrix, bounds, masks, metric)
        name = getattr(metric, "__name__", "custom")
    elif metric == "sharpe":
        is_scores, oos_scores = _sharpe_by_set(matrix, bounds, masks)
        name = "sharpe"
    else:
        raise ValueError(f"metric must be 'sharpe' or a function of a (rows x trials) array, got {metric!r}")
    best = is_scores.argmax(axis=1)
    rows = np.arange(len(masks))
    chosen = oos_scores[rows, best]
    rank = ((oos_scores < chosen[:, None]).sum(axis=1) + 1.0
            + ((oos_scores == chosen[:, None]).sum(axis=1) - 1.0) / 2.0)
    ranks = rank / (n_trials + 1.0)
    return BacktestOverfittingResult(logits=np.log(ranks / (1.0 - ranks)), oos_ranks=ranks, best_trials=best,
                                     is_metric=is_scores[rows, best], oos_metric=chosen, n_combinations=len(masks),
                                     n_splits=n_splits, n_trials=n_trials, n_obs=n_obs, metric=name)


def _check_splits(n_splits: object, n_obs: int) -> None:
    """Raise unless ``n_splits`` is an even block count from 2 to :data:`MAX_SPLITS` that ``n_obs`` rows fill."""
    if not isinstance(n_splits, int | np.integer) or isinstance(n_splits, bool) or n_splits < 2:
        raise ValueError(f"n_splits must be an even integer >= 2, got {n_splits!r}")
    if n_splits % 2:
        raise ValueError(f"n_splits must be even (half the blocks go in-sample), got {n_splits}; "
                         f"use {n_splits - 1} or {n_splits + 1}")
    if n_splits > MAX_SPLITS:
        raise ValueError(f"n_splits={n_splits} gives C({n_splits}, {n_splits // 2}) = "
                         f"{math.comb(n_splits, n_splits // 2):,} combinations; use at most {MAX_SPLITS}")
    if n_obs < MIN_BLOCK_ROWS * n_splits:
        most = 2 * (n_obs // (2 * MIN_BLOCK_ROWS))
        fix = f"use n_splits <= {most}" if most >= 2 else f"it needs at least {2 * MIN_BLOCK_ROWS} rows"
        raise DataValidationError(f"returns has {n_obs} usable row(s), too few for n_splits={n_splits} blocks of "
                                  f"at least {MIN_BLOCK_ROWS} rows; {fix}")


def _sharpe_by_set(matrix: np.ndarray, bounds: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(in-sample, out-of-sample) Sharpe ratios per combination (rows of ``masks``) and trial, from block sums.

    Columns are centred first (mean and variance of a set are then sums of well-scaled block moments), and
    the combinations are taken a chunk at a time so memory stays bounded at C(20, 10) combinations.
    """
    offset = matrix.mean(axis=0)
    centred = matrix - offset
    starts = bounds[:-1]
    sums = np.add.reduceat(centred, starts, axis=0)
    squares = np.add.reduceat(centred**2, starts, axis=0)
    counts = np.diff(bounds).astype(np.float64)
    totals = (sums.sum(axis=0), squares.sum(axis=0), counts.sum())
    is_parts, oos_parts = [], []
    for start in range(0, len(masks), _COMBINATION_CHUNK):
        chosen = masks[start:start + _COMBINATION_CHUNK].astype(np.float64)
        inside = (chosen @ sums, chosen @ squares, chosen @ counts)
        outside = (totals[0] - inside[0], totals[1] - inside[1], totals[2] - inside[2])
        is_parts.append(_set_sharpe(*inside, offset))
        oos_parts.append(_set_sharpe(*outside, offset))
    return np.concatenate(is_parts), np.concatenate(oos_parts)


def _set_sharpe(sums: np.ndarray, squares: np.ndarray, counts: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Sharpe ratios from centred sums and sums of squares over ``counts`` rows (one per combination)."""
    n = counts[:, None]
    mean = sums / n
    variance = np.maximum(squares - sums * mean, 0.0) / (n - 1.0)
    return _sharpe(mean + offset, variance)


def _metric_by_set(matrix: np.ndarray, bounds: np.ndarray, masks: np.ndarray,
                   metric: SharpeMetric) -> tuple[np.ndarray, np.ndarray]:
    """(in-sample, out-of-sample) scores of ``metric`` per combination and trial, one call per set."""
    blocks = [np.arange(lo, hi) for lo, hi in itertools.pairwise(bounds)]
    scores = []
    for mask in masks:
        for side in (mask, ~mask):
            values = np.asarray(metric(matrix[np.concatenate([b for b, keep in zip(blocks, side, strict=True)
                                                              if keep])]), dtype=np.float64)
            if values.shape != (matrix.shape[1],) or np.isnan(values).any():
                raise ValueError(f"metric must return one non-NaN score per trial ({matrix.shape[1]}), got shape "
                                 f"{values.shape} with {int(np.isnan(values).sum())} NaN")
            scores.append(values)
    paired = np.array(scores).reshape(len(masks), 2, matrix.shape[1])
    return paired[:, 0], paired[:, 1]


def _sharpe(mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """``mean / sqrt(variance)``, and 0 where the variance is 0 (a trial that does not vary has no Sharpe)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(variance > 0.0, mean / np.sqrt(variance), 0.0)


def _returns_matrix(returns: np.ndarray | pd.DataFrame) -> np.ndarray:
    """``returns`` as a float (T × N) array without its all-NaN rows, other NaN set to 0; infinities refused."""
    matrix = np.asarray(returns, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"returns must be 2-D (rows = periods, columns = trials), got shape {matrix.shape}")
    if np.isinf(matrix).any():
        raise DataValidationError(f"returns has {int(np.isinf(matrix).sum())} infinite value(s); fix or drop them")
    matrix = matrix[~np.isnan(matrix).all(axis=1)]
    return np.nan_to_num(matrix, nan=0.0)


def _sharpe_moments(returns: np.ndarray | pd.Series) -> tuple[float, int, float, float]:
    """(per-period Sharpe ratio with ddof 1, count, skew, non-excess kurtosis) of the non-NaN ``returns``.

    Skew and kurtosis are the sample's own moments (``m3 / m2^1.5``, ``m4 / m2²``: scipy's biased defaults),
    which always satisfy ``kurtosis ≥ 1 + skew²``.
    """
    values = np.asarray(returns, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"returns must be 1-D, got shape {values.shape}")
    values = values[~np.isnan(values)]
    if np.isinf(values).any():
        raise DataValidationError(f"returns has {int(np.isinf(values).sum())} infinite value(s); fix or drop them")
    if len(values) < 2:
        raise DataValidationError(f"returns has {len(values)} non-NaN value(s); a Sharpe ratio needs at least 2")
    if values.min() == values.max():
        raise DataValidationError("returns are constant: the Sharpe ratio (mean / std) is undefined")
    deviations = values - values.mean()
    m2 = float(np.mean(deviations**2))
    sharpe = float(values.mean() / values.std(ddof=1))
    return sharpe, len(values), float(np.mean(deviations**3)) / m2**1.5, float(np.mean(deviations**4)) / m2**2
