"""Adversarial validation: can a classifier tell two feature sets apart, and by which features?

Rows of A are labelled 0 and rows of B 1; the out-of-fold ROC-AUC of a small LightGBM classifier measures how
separable the sets are (0.5: indistinguishable). Use it to check that a test period looks like the training period
(and week by week through :class:`workbench.validation._regime.RegimeMonitor`).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field

import lightgbm as lgb
import numba as nb
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy.stats import ks_2samp
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from workbench.errors import DataValidationError

MODEL_PARAMS: dict[str, object] = {
    "n_estimators": 100,
    "num_leaves": 15,
    "learning_rate": 0.05,
    "min_child_samples": 50,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
"""The LightGBM classifier's settings: small, fast and slow to fit noise (two sets from one distribution then score
an AUC near 0.5); no row or column subsampling, so a seed fixes the result."""

_DIRECTION_COLORS = {"higher in B": "#d62728", "lower in B": "#1f77b4", "composition": "#9467bd", "": "#7f7f7f"}


# --- ROC-AUC and its bootstrap ------------------------------------------------------------------------------------


@nb.njit(cache=True, nogil=True, error_model="numpy")
def weighted_auc_nb(scores: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> float:  # pragma: no cover - numba
    """ROC-AUC of ascending ``scores`` for the ``positive`` rows, row i counted ``weights[i]`` times; ties count 1/2.

    Equals ``sklearn.metrics.roc_auc_score`` on the rows repeated by their weights; NaN when a class weighs 0.
    """
    pairs = 0.0
    neg_below = 0.0
    pos_total = 0.0
    n = scores.size
    i = 0
    while i < n:
        block_neg = 0.0
        block_pos = 0.0
        j = i
        while j < n and scores[j] == scores[i]:
            if positive[j]:
                block_pos += weights[j]
            else:
                block_neg += weights[j]
            j += 1
        pairs += block_pos * (neg_below + 0.5 * block_neg)
        neg_below += block_neg
        pos_total += block_pos
        i = j
    if neg_below == 0.0 or pos_total == 0.0:
        return np.nan
    return pairs / (neg_below * pos_total)


def _binary_inputs(y_true: np.ndarray | pd.Series, scores: np.ndarray | pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``y_true`` as a bool array and ``scores`` as float64, checked: same length, 0/1 labels, finite scores."""
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=np.float64)
    if y.ndim != 1 or s.shape != y.shape:
        raise ValueError(f"y_true and scores must be 1-D and of equal length, got shapes {y.shape} and {s.shape}")
    if not np.isin(y, [0, 1]).all():
        raise ValueError(f"y_true must hold only 0 and 1, got values {np.unique(y)[:5]!r}")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite; drop or fill the NaN/inf scores first")
    y = y.astype(bool)
    if y.all() or not y.any():
        raise ValueError("y_true must hold both classes (0 and 1) for an AUC")
    return y, s


def roc_auc(y_true: np.ndarray | pd.Series, scores: np.ndarray | pd.Series) -> float:
    """ROC-AUC (Mann-Whitney form, ties 1/2): the chance a random class-1 row scores above a random class-0 row."""
    y, s = _binary_inputs(y_true, scores)
    order = np.argsort(s, kind="stable")
    return float(weighted_auc_nb(s[order], y[order], np.ones(s.size)))


def bootstrap_auc(
    y_true: np.ndarray | pd.Series,
    scores: np.ndarray | pd.Series,
    *,
    groups: np.ndarray | pd.Series | None = None,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> np.ndarray:
    """ROC-AUC of ``n_bootstrap`` stratified bootstrap resamples, for a percentile confidence interval.

    Each class is resampled with replacement on its own, keeping its size; with ``groups`` (e.g. session dates)
    whole groups are drawn, so serially correlated rows move together. Draw order, for replay: with
    ``rng = np.random.default_rng(seed)``, each resample draws ``rng.integers(0, G0, G0)`` class-0 groups then
    ``rng.integers(0, G1, G1)`` class-1 groups, groups numbered by first appearance within their class (without
    ``groups`` every row is its own group).
    """
    y, s = _binary_inputs(y_true, scores)
    _check_count("n_bootstrap", n_bootstrap, 1)
    _check_seed(seed)
    if groups is None:
        codes = np.empty(y.size, dtype=np.int64)
        codes[~y] = np.arange((~y).sum())
        codes[y] = np.arange(y.sum())
    else:
        codes = _group_codes_within_class(y, _group_labels(groups, y.size, "groups"))
    n_neg_groups = int(codes[~y].max()) + 1
    n_pos_groups = int(codes[y].max()) + 1
    order = np.argsort(s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    slot = np.where(y, n_neg_groups + codes, codes)[order]  # index into [neg group counts, pos group counts]
    rng = np.random.default_rng(seed)
    draws = np.empty(n_bootstrap)
    for b in range(n_bootstrap):
        neg = np.bincount(rng.integers(0, n_neg_groups, n_neg_groups), minlength=n_neg_groups)
        pos = np.bincount(rng.integers(0, n_pos_groups, n_pos_groups), minlength=n_pos_groups)
        weights = np.concatenate((neg, pos)).astype(np.float64)[slot]
        draws[b] = weighted_auc_nb(s_sorted, y_sorted, weights)
    return draws


def _group_labels(groups: np.ndarray | pd.Series | Sequence[object], n: int, name: str) -> pd.Index:
    """``groups`` as an Index of ``n`` labels without missing values."""
    labels = pd.Index(np.asarray(groups) if not isinstance(groups, pd.Series) else groups.to_numpy())
    if labels.size != n:
        raise ValueError(f"{name} has {labels.size} labels for {n} rows; give one group label per row")
    if labels.hasnans:
        raise DataValidationError(f"{name} holds missing labels; give every row a group (e.g. its session date)")
    return labels


def _group_codes_within_class(y: np.ndarray, labels: pd.Index) -> np.ndarray:
    """Group number of every row, counted 0, 1, ... by first appearance within the row's class."""
    codes = np.empty(y.size, dtype=np.int64)
    for cls in (False, True):
        codes[y == cls] = pd.factorize(labels[y == cls])[0]
    return codes


# --- parameters and frames ----------------------------------------------------------------------------------------


def _check_count(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_seed(seed: object) -> None:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")


def _check_fraction(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError(f"{name} must be a number in (0, 1), got {value!r}")


def _check_frames(X_a: pd.DataFrame, X_b: pd.DataFrame) -> list[str]:
    """The shared columns (in ``X_a``'s order) of two feature frames, after checking they can be compared."""
    for name, frame in (("X_a", X_a), ("X_b", X_b)):
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
        if frame.columns.has_duplicates:
            dupes = sorted(map(str, frame.columns[frame.columns.duplicated()].unique()))
            raise DataValidationError(f"{name} has duplicate columns {dupes}; give every feature a unique name")
        if frame.shape[1] == 0:
            raise DataValidationError(f"{name} has no columns; pass the feature columns to compare")
        if len(frame) == 0:
            raise DataValidationError(f"{name} has no rows; adversarial validation needs rows on both sides")
    columns = list(X_a.columns)
    missing = [c for c in columns if c not in X_b.columns]
    extra = [c for c in X_b.columns if c not in X_a.columns]
    if missing or extra:
        raise DataValidationError(
            f"X_a and X_b must have the same columns: X_b lacks {missing} and has extra {extra}; "
            "select the same feature columns on both sides"
        )
    for column in columns:
        categorical = [isinstance(f[column].dtype, pd.CategoricalDtype) for f in (X_a, X_b)]
        if any(categorical) and not all(categorical):
            raise DataValidationError(
                f"column {column!r} is {X_a[column].dtype} in X_a but {X_b[column].dtype} in X_b; "
                "give it the category dtype on both sides"
            )
        if all(categorical):
            continue
        for name, frame in (("X_a", X_a), ("X_b", X_b)):
            dtype = frame[column].dtype
            if pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
                raise DataValidationError(
                    f"column {column!r} of {name} is a time ({dtype}); drop it: time alone separates two periods"
                )
            if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_complex_dtype(dtype):
                raise DataValidationError(
                    f"column {column!r} of {name} has dtype {dtype}; only numeric or category columns can be "
                    f"compared: convert it with .astype('category') or drop it"
                )
    return columns


def _numeric_values(series: pd.Series, side: str) -> np.ndarray:
    """A numeric column as float64 with NaN for missing values; infinities are refused."""
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        raise DataValidationError(
            f"column {series.name!r} of {side} holds {int(infinite.sum())} infinite value(s) (first at index label "
            f"{series.index[np.argmax(infinite)]!r}); replace them with NaN or finite values"
        )
    return values


def _subsample(n: int, max_rows: int, rng: np.random.Generator) -> np.ndarray:
    """Positions of at most ``max_rows`` of ``n`` rows, drawn without replacement, in their original order."""
    if n <= max_rows:
        return np.arange(n)
    return np.sort(rng.choice(n, size=max_rows, replace=False))


# --- per-feature statistics ---------------------------------------------------------------------------------------


def _numeric_stats(a: np.ndarray, b: np.ndarray) -> dict[str, object]:
    """Univariate AUC (B vs A), KS, means and NaN rates of one numeric feature; NaN values left out."""
    a_ok, b_ok = a[~np.isnan(a)], b[~np.isnan(b)]
    stats: dict[str, object] = {"auc": np.nan, "ks": np.nan, "direction": "", "mean_a": np.nan, "mean_b": np.nan}
    if a_ok.size:
        stats["mean_a"] = float(a_ok.mean())
    if b_ok.size:
        stats["mean_b"] = float(b_ok.mean())
    if a_ok.size and b_ok.size:
        auc = roc_auc(np.r_[np.zeros(a_ok.size), np.ones(b_ok.size)], np.r_[a_ok, b_ok])
        stats["auc"] = auc
        stats["ks"] = float(ks_2samp(a_ok, b_ok).statistic)
        stats["direction"] = "higher in B" if auc > 0.5 else "lower in B" if auc < 0.5 else ""
    return stats


def _category_stats(a: pd.Categorical, b: pd.Categorical) -> dict[str, object]:
    """Total variation distance of the category frequencies (the KS analogue) and B's most over-represented value."""
    stats: dict[str, object] = {"auc": np.nan, "ks": np.nan, "direction": "", "mean_a": np.nan, "mean_b": np.nan}
    n_cat = len(a.categories)
    counts_a = np.bincount(a.codes[a.codes >= 0], minlength=n_cat)
    counts_b = np.bincount(b.codes[b.codes >= 0], minlength=n_cat)
    if counts_a.sum() and counts_b.sum():
        gap = counts_b / counts_b.sum() - counts_a / counts_a.sum()
        stats["ks"] = float(0.5 * np.abs(gap).sum())
        if stats["ks"] > 0:
            stats["direction"] = f"more {a.categories[int(np.argmax(gap))]!r} in B"
    return stats


# --- the report ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class AdversarialReport:
    """How well a classifier tells A from B (out-of-fold ROC-AUC with a bootstrap CI) and which features do it.

    ``drift`` is True when the CI's lower bound exceeds ``threshold``: separable beyond doubt, not by chance.
    ``features`` (index: feature, most important first): ``importance`` (mean gain over folds), ``importance_share``,
    ``auc`` (univariate AUC of the raw value for B vs A: > 0.5 means higher in B; NaN for categories), ``ks`` (two-
    sample KS statistic; for categories the total variation distance of the frequencies), ``direction``, ``mean_a``,
    ``mean_b``, ``nan_a``, ``nan_b`` (share of missing values). ``scores``: each used row's out-of-fold probability of
    being from B, indexed by (side "a"/"b", original index label) — the B rows least like A score highest.
    """

    auc: float
    auc_ci: tuple[float, float]
    drift: bool
    threshold: float
    confidence: float
    n_a: int
    n_b: int
    n_a_input: int
    n_b_input: int
    n_bootstrap: int
    grouped: bool
    features: pd.DataFrame = field(repr=False)
    scores: pd.Series = field(repr=False)

    def summary(self, top_n: int = 5) -> str:
        """A few lines for a notebook or a log: AUC and CI, the drift verdict and the top separating features."""
        sizes = []
        for side, used, given in (("A", self.n_a, self.n_a_input), ("B", self.n_b, self.n_b_input)):
            sizes.append(f"{side} ({used:,} rows" + (f" of {given:,})" if used < given else ")"))
        resampling = "group" if self.grouped else "row"
        low, high = self.auc_ci
        verdict = (
            f"YES: the CI's lower bound {low:.3f} exceeds the threshold {self.threshold:.3f}"
            if self.drift
            else f"no: the CI's lower bound {low:.3f} does not exceed the threshold {self.threshold:.3f}"
        )
        lines = [
            f"Adversarial validation, {sizes[0]} vs {sizes[1]}",
            f"Out-of-fold ROC-AUC {self.auc:.3f}, {self.confidence:.0%} CI [{low:.3f}, {high:.3f}] "
            f"(stratified {resampling} bootstrap, {self.n_bootstrap} resamples)",
            f"Drift: {verdict}",
            "Top separating features (share of gain; univariate AUC of B vs A; KS or category distance):",
        ]
        width = max(len(str(name)) for name in self.features.index[:top_n])
        for name, row in self.features.head(top_n).iterrows():
            auc = "   -  " if np.isnan(row["auc"]) else f"{row['auc']:.3f}"
            lines.append(
                f"  {str(name):<{width}}  {row['importance_share']:6.1%}  AUC {auc}  KS {row['ks']:.3f}  "
                f"{row['direction']}"
            )
        return "\n".join(lines)

    def figure(self, top_n: int = 15) -> go.Figure:
        """Bar chart of the top separating features' share of gain importance, coloured by the way B differs."""
        top = self.features.head(top_n).iloc[::-1]
        kinds = [d if d in _DIRECTION_COLORS else "composition" for d in top["direction"]]
        hover = [
            f"{name}<br>share {row['importance_share']:.1%}<br>univariate AUC {row['auc']:.3f}<br>KS {row['ks']:.3f}"
            f"<br>mean A {row['mean_a']:.4g}, B {row['mean_b']:.4g}<br>NaN A {row['nan_a']:.1%}, B {row['nan_b']:.1%}"
            f"<br>{row['direction']}"
            for name, row in top.iterrows()
        ]
        fig = go.Figure(
            go.Bar(
                x=top["importance_share"],
                y=[str(name) for name in top.index],
                orientation="h",
                marker_color=[_DIRECTION_COLORS[k] for k in kinds],
                hovertext=hover,
                hoverinfo="text",
            )
        )
        low, high = self.auc_ci
        fig.update_layout(
            title=f"Adversarial validation: AUC {self.auc:.3f} [{low:.3f}, {high:.3f}]"
            + (" — drift" if self.drift else " — no drift"),
            xaxis_title="share of gain importance (red: higher in B, blue: lower in B, purple: categories)",
            xaxis_tickformat=".0%",
            height=max(300, 40 + 25 * len(top)),
        )
        return fig


def adversarial_validation(
    X_a: pd.DataFrame,
    X_b: pd.DataFrame,
    *,
    n_splits: int = 5,
    seed: int = 0,
    threshold: float = 0.6,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    max_rows: int = 50_000,
    groups_a: np.ndarray | pd.Series | None = None,
    groups_b: np.ndarray | pd.Series | None = None,
    n_jobs: int = 1,
) -> AdversarialReport:
    """Train a classifier to tell rows of ``X_b`` (label 1) from rows of ``X_a`` (label 0) and report how well it can.

    Stratified K-fold out-of-fold probabilities of a LightGBM classifier (:data:`MODEL_PARAMS`; category columns as
    categoricals, NaN allowed) give the ROC-AUC; its CI is the percentile interval of :func:`bootstrap_auc`. The CI
    holds the fitted scores fixed, leaving out the refitting noise: with two samples of one distribution the AUC
    varied ~1.3x as much as the bootstrap says, so read it as slightly narrow. ``drift`` = CI lower bound >
    ``threshold`` (keep that well above 0.5). Each side is first subsampled to ``max_rows`` rows (seeded).
    ``groups_a``/``groups_b`` (e.g. session dates) keep a group in one fold and resample whole groups: use them when
    rows are serially correlated, else neighbouring rows leak across folds and the CI is too narrow. The same
    ``seed`` and ``n_jobs`` give the same report.
    """
    _check_count("n_splits", n_splits, 2)
    _check_seed(seed)
    _check_fraction("threshold", threshold)
    _check_count("n_bootstrap", n_bootstrap, 10)
    _check_fraction("confidence", confidence)
    _check_count("max_rows", max_rows, n_splits)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(f"n_jobs must be a non-zero integer (-1: all cores), got {n_jobs!r}")
    if (groups_a is None) != (groups_b is None):
        raise ValueError("pass both groups_a and groups_b, or neither")
    columns = _check_frames(X_a, X_b)
    X_b = X_b[columns]

    rng = np.random.default_rng(seed)
    pos_a, pos_b = _subsample(len(X_a), max_rows, rng), _subsample(len(X_b), max_rows, rng)
    n_a, n_b = pos_a.size, pos_b.size
    if min(n_a, n_b) < n_splits:
        raise DataValidationError(
            f"X_a has {n_a} and X_b has {n_b} rows; each side needs at least n_splits={n_splits} rows"
        )
    y = np.r_[np.zeros(n_a, dtype=np.int8), np.ones(n_b, dtype=np.int8)]
    groups = None
    if groups_a is not None and groups_b is not None:
        groups = _group_labels(groups_a, len(X_a), "groups_a")[pos_a].append(
            _group_labels(groups_b, len(X_b), "groups_b")[pos_b]
        )

    data: dict[str, object] = {}
    stats: list[dict[str, object]] = []
    for i, column in enumerate(columns):
        col_a, col_b = X_a[column].iloc[pos_a], X_b[column].iloc[pos_b]
        if isinstance(col_a.dtype, pd.CategoricalDtype):
            categories = col_a.cat.categories.union(col_b.cat.categories)
            cat_a = pd.Categorical(col_a.cat.set_categories(categories))
            cat_b = pd.Categorical(col_b.cat.set_categories(categories))
            data[f"f{i}"] = pd.Categorical.from_codes(np.r_[cat_a.codes, cat_b.codes], dtype=cat_a.dtype)
            row = _category_stats(cat_a, cat_b)
            row["nan_a"], row["nan_b"] = float((cat_a.codes < 0).mean()), float((cat_b.codes < 0).mean())
        else:
            values_a, values_b = _numeric_values(col_a, "X_a"), _numeric_values(col_b, "X_b")
            data[f"f{i}"] = np.r_[values_a, values_b]
            row = _numeric_stats(values_a, values_b)
            row["nan_a"], row["nan_b"] = float(np.isnan(values_a).mean()), float(np.isnan(values_b).mean())
        stats.append(row)
    X = pd.DataFrame(data)  # positional names: LightGBM refuses some characters in feature names

    oof, gain = _out_of_fold(X, y, groups, n_splits=n_splits, seed=seed, n_jobs=n_jobs)
    auc = roc_auc(y, oof)
    draws = bootstrap_auc(y, oof, groups=groups, n_bootstrap=n_bootstrap, seed=seed)
    low, high = (float(q) for q in np.quantile(draws, [(1 - confidence) / 2, (1 + confidence) / 2]))

    features = pd.DataFrame(stats, index=pd.Index(columns, name="feature"))
    features.insert(0, "importance", gain)
    features.insert(1, "importance_share", gain / gain.sum() if gain.sum() > 0 else np.zeros(gain.size))
    features["separation"] = np.abs(features["auc"].fillna(0.5) - 0.5) + features["ks"].fillna(0.0)
    features = features.sort_values(["importance", "separation"], ascending=False, kind="stable").drop(
        columns="separation"
    )
    scores = pd.concat(
        {"a": pd.Series(oof[:n_a], index=X_a.index[pos_a]), "b": pd.Series(oof[n_a:], index=X_b.index[pos_b])},
        names=["side"],
    ).rename("p_b")
    return AdversarialReport(
        auc=auc,
        auc_ci=(low, high),
        drift=bool(low > threshold),
        threshold=float(threshold),
        confidence=float(confidence),
        n_a=n_a,
        n_b=n_b,
        n_a_input=len(X_a),
        n_b_input=len(X_b),
        n_bootstrap=n_bootstrap,
        grouped=groups is not None,
        features=features,
        scores=scores,
    )


def _out_of_fold(
    X: pd.DataFrame, y: np.ndarray, groups: pd.Index | None, *, n_splits: int, seed: int, n_jobs: int
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold P(B) of every row and the mean gain importance of every column over the folds."""
    if groups is None:
        splits = StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(X, y)
    else:
        n_groups = groups.nunique()
        if n_groups < n_splits:
            raise DataValidationError(
                f"the rows fall in {n_groups} groups, fewer than n_splits={n_splits}; "
                "lower n_splits or use finer groups"
            )
        splits = StratifiedGroupKFold(n_splits, shuffle=True, random_state=seed).split(X, y, pd.factorize(groups)[0])
    oof = np.empty(y.size)
    gain = np.zeros(X.shape[1])
    for train, test in splits:
        if np.unique(y[train]).size < 2:
            raise DataValidationError(
                "a training fold holds rows of only one side: each side's rows fall in too few groups; "
                "lower n_splits or use finer groups"
            )
        model = lgb.LGBMClassifier(**MODEL_PARAMS, random_state=seed, n_jobs=n_jobs)
        model.fit(X.iloc[train], y[train])
        oof[test] = model.predict_proba(X.iloc[test])[:, 1]
        gain += model.booster_.feature_importance(importance_type="gain")
    return oof, gain / n_splits
