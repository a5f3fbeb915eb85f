"""Cross-sectional skill of a signal: the information coefficient per minute and precision among the top k.

A panel has one row per (ts, ticker). Both measures are computed within each ``by`` group (a minute) and then
summarised over minutes, vectorised over the whole panel (groupby ranks and bincount sums, no per-minute loop).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from workbench.errors import DataValidationError
from workbench.evaluation._inputs import check_binary, check_unique_keys, float_column, require_panel


def newey_west_lags(n_periods: int) -> int:
    """Newey & West (1994) plug-in lag count ``floor(4 (n/100)^(2/9))`` for a series of ``n_periods``."""
    return int(math.floor(4.0 * (n_periods / 100.0) ** (2.0 / 9.0)))


def newey_west_t_stat(values: np.ndarray, lags: int) -> float:
    """t-statistic of the mean of ``values`` with a Newey-West (Bartlett kernel) HAC standard error.

    Equal to statsmodels' OLS on a constant with ``cov_type="HAC"``, ``maxlags=lags`` and
    ``use_correction=True`` (the n/(n-1) small-sample factor), so ``lags=0`` gives the plain iid t-statistic.
    """
    if lags < 0:
        raise ValueError(f"lags must be >= 0, got {lags}")
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n < 2:
        return np.nan
    e = x - x.mean()
    s = float(e @ e)
    for lag in range(1, min(lags, n - 1) + 1):
        s += 2.0 * (1.0 - lag / (lags + 1.0)) * float(e[lag:] @ e[:-lag])
    variance = s / n**2 * n / (n - 1)
    return float(x.mean() / math.sqrt(variance)) if variance > 0 else np.nan


def _group_codes(keys: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer group codes (sorted by key) and the sorted unique keys; a missing key is an error."""
    codes, uniques = pd.factorize(keys, sort=True)
    if (codes < 0).any():
        raise DataValidationError(f"frame column {keys.name!r} has {int((codes < 0).sum())} missing value(s); "
                                  f"every row needs its {keys.name}")
    return codes, pd.Index(uniques, name=keys.name)


def _known_rows(frame: pd.DataFrame, by: str, signal: str, target: str
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Index, np.ndarray]:
    """(signal, target, group code, groups, rows per group) over the rows whose ``target`` is known; a NaN
    ``signal`` or a repeated (``by``, ticker) pair is an error."""
    panel = require_panel(frame, [by, signal, target], "frame")
    check_unique_keys(panel, by, "frame")
    keys = [by, "ticker"]
    x = float_column(panel, signal, "frame", keys=keys, allow_nan=False)
    y = float_column(panel, target, "frame", keys=keys, allow_nan=True)
    codes, groups = _group_codes(panel[by])
    valid = ~np.isnan(y)
    x, y, codes = x[valid], y[valid], codes[valid]
    return x, y, codes, groups, np.bincount(codes, minlength=len(groups))


@dataclass(frozen=True, eq=False)
class ICResult:
    """Information coefficient per minute and its summary.

    ``t_stat`` is the iid t-statistic ``mean / (std / sqrt(n_periods))`` (the textbook one); ``t_stat_nw`` uses
    a Newey-West HAC standard error with ``nw_lags`` lags and is the one to trust when the target spans several
    bars (overlapping horizons make consecutive ICs autocorrelated). :meth:`summary` reports both.
    """

    series: pd.Series = field(repr=False)  # IC per minute, indexed by the ``by`` key
    n_names: pd.Series = field(repr=False)  # valid names per kept minute
    method: str
    mean: float
    std: float
    t_stat: float
    t_stat_nw: float
    nw_lags: int
    positive_share: float
    n_periods: int
    n_skipped: int  # minutes dropped: fewer than ``min_names`` valid names, or a constant signal/target

    @property
    def ir(self) -> float:
        """Information ratio of the IC series, ``mean / std`` per minute (not annualised)."""
        return self.mean / self.std if self.std > 0 else np.nan

    def summary(self) -> pd.Series:
        """The scalar results as one Series (both the iid and the Newey-West t-statistic)."""
        return pd.Series({"method": self.method, "mean": self.mean, "std": self.std, "ir": self.ir,
                          "t_stat": self.t_stat, "t_stat_nw": self.t_stat_nw, "nw_lags": self.nw_lags,
                          "positive_share": self.positive_share, "n_periods": self.n_periods,
                          "n_skipped": self.n_skipped}, name="ic")


def information_coefficient(frame: pd.DataFrame, signal: str = "p", target: str = "ret", by: str = "ts",
                            method: Literal["spearman", "pearson"] = "spearman", min_names: int = 5,
                            nw_lags: int | None = None) -> ICResult:
    """Correlation between ``signal`` and ``target`` across names within each minute, summarised over minutes.

    Rows with a NaN ``target`` (a forward return not yet known) are left out; a NaN ``signal`` is an error.
    Minutes with fewer than ``min_names`` valid names, or where signal or target is constant (correlation
    undefined), are skipped and counted. ``method="spearman"`` correlates within-minute average ranks.
    ``nw_lags`` defaults to the Newey-West (1994) rule; with a label horizon of h bars pass at least h - 1.
    """
    if method not in ("spearman", "pearson"):
        raise ValueError(f"method must be 'spearman' or 'pearson', got {method!r}")
    if min_names < 2:
        raise ValueError(f"min_names must be >= 2 (a correlation needs two names), got {min_names}")
    if nw_lags is not None and nw_lags < 0:
        raise ValueError(f"nw_lags must be >= 0 or None, got {nw_lags}")
    x, y, codes, groups, counts = _known_rows(frame, by, signal, target)
    kept_rows = counts[codes] >= min_names
    if method == "spearman":
        ranks = pd.DataFrame({"g": codes[kept_rows], "x": x[kept_rows], "y": y[kept_rows]}).groupby(
            "g", sort=False)[["x", "y"]].rank(method="average")
        xs, ys = ranks["x"].to_numpy(), ranks["y"].to_numpy()
    else:
        xs, ys = x[kept_rows], y[kept_rows]
    g = codes[kept_rows]
    n = np.bincount(g, minlength=len(groups)).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        dx = xs - (np.bincount(g, weights=xs, minlength=len(groups)) / n)[g]
        dy = ys - (np.bincount(g, weights=ys, minlength=len(groups)) / n)[g]
        sxx = np.bincount(g, weights=dx * dx, minlength=len(groups))
        syy = np.bincount(g, weights=dy * dy, minlength=len(groups))
        sxy = np.bincount(g, weights=dx * dy, minlength=len(groups))
        ic = sxy / np.sqrt(sxx * syy)
    # a cross-section whose spread is lost in rounding is constant: its correlation is undefined
    scale_x = np.bincount(g, weights=xs * xs, minlength=len(groups))
    scale_y = np.bincount(g, weights=ys * ys, minlength=len(groups))
    tiny = (sxx <= 1e-24 * scale_x) | (syy <= 1e-24 * scale_y)
    ok = (n >= min_names) & ~tiny & np.isfinite(ic)
    if not ok.any():
        raise DataValidationError(
            f"no {by} has {min_names} or more names with a finite {target!r} and a non-constant {signal!r} "
            f"and {target!r} (the most names in one {by}: {int(counts.max(initial=0))}); lower min_names or "
            f"check the panel")
    series = pd.Series(np.clip(ic[ok], -1.0, 1.0), index=groups[ok], name="ic")
    values = series.to_numpy()
    lags = newey_west_lags(len(values)) if nw_lags is None else nw_lags
    std = float(values.std(ddof=1)) if len(values) > 1 else np.nan
    mean = float(values.mean())
    return ICResult(series=series, n_names=pd.Series(n[ok].astype(np.int64), index=groups[ok], name="n_names"),
                    method=method, mean=mean, std=std,
                    t_stat=mean / (std / math.sqrt(len(values))) if std > 0 else np.nan,
                    t_stat_nw=newey_west_t_stat(values, lags), nw_lags=lags,
                    positive_share=float((values > 0).mean()), n_periods=len(values),
                    n_skipped=len(groups) - len(values))


@dataclass(frozen=True, eq=False)
class PrecisionAtKResult:
    """Share of label-1 names among the top ``k`` by signal per minute, against the minute's base rate."""

    series: pd.Series = field(repr=False)  # precision@k per kept minute
    base_rates: pd.Series = field(repr=False)  # share of label 1 among all valid names, same minutes
    k: int
    precision: float  # mean of ``series``
    base_rate: float  # mean of ``base_rates``: what k names drawn at random would score
    n_periods: int
    n_skipped: int  # minutes with fewer than k labelled names

    @property
    def lift(self) -> float:
        """``precision / base_rate``: 1 means the ranking is no better than chance."""
        return self.precision / self.base_rate if self.base_rate > 0 else np.nan

    def summary(self) -> pd.Series:
        """The scalar results as one Series."""
        return pd.Series({"k": self.k, "precision": self.precision, "base_rate": self.base_rate,
                          "lift": self.lift, "n_periods": self.n_periods, "n_skipped": self.n_skipped},
                         name="precision_at_k")


def precision_at_k(frame: pd.DataFrame, k: int, signal: str = "p", label: str = "y",
                   by: str = "ts") -> PrecisionAtKResult:
    """Mean over minutes of the share of label 1 among the ``k`` names with the highest ``signal``.

    Rows with a NaN ``label`` (not yet known) are left out; a NaN ``signal`` is an error. Minutes with fewer
    than ``k`` labelled names are skipped and counted; ``k`` above every minute's count is an error. Names
    tied at the k-th place share the remaining slots equally: the expected precision under a random tie-break.
    """
    if not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    x, y, codes, groups, counts = _known_rows(frame, by, signal, label)
    check_binary(y, f"frame column {label!r}")
    if counts.max(initial=0) < k:
        raise DataValidationError(f"k={k} exceeds the number of labelled names in every {by} (at most "
                                  f"{int(counts.max(initial=0))}); choose k <= that")
    ranked = pd.DataFrame({"g": codes, "x": x}).groupby("g", sort=False)["x"]
    first = ranked.rank(method="min", ascending=False).to_numpy()  # 1 + names strictly above
    last = ranked.rank(method="max", ascending=False).to_numpy()  # names at or above
    share = np.clip((k - first + 1.0) / (last - first + 1.0), 0.0, 1.0)  # of each name's slot in the top k
    hits = np.bincount(codes, weights=share * y, minlength=len(groups))
    positives = np.bincount(codes, weights=y, minlength=len(groups))
    ok = counts >= k
    series = pd.Series(hits[ok] / k, index=groups[ok], name="precision_at_k")
    base_rates = pd.Series(positives[ok] / counts[ok], index=groups[ok], name="base_rate")
    return PrecisionAtKResult(series=series, base_rates=base_rates, k=int(k), precision=float(series.mean()),
                              base_rate=float(base_rates.mean()), n_periods=int(ok.sum()),
                              n_skipped=int((~ok).sum()))
