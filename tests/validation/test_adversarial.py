"""Adversarial validation: AUC and its bootstrap against sklearn, null and shifted samples, categories, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp, norm
from sklearn.metrics import roc_auc_score

from workbench.errors import DataValidationError
from workbench.validation._adversarial import (
    AdversarialReport,
    adversarial_validation,
    bootstrap_auc,
    roc_auc,
    weighted_auc_nb,
)

FAST = settings(max_examples=25, deadline=None)
COLUMNS = ["x0", "x1", "x2", "x3"]


def normal_frame(seed: int, n: int, shift: dict[str, float] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(np.random.default_rng(seed).standard_normal((n, len(COLUMNS))), columns=COLUMNS)
    for column, amount in (shift or {}).items():
        frame[column] += amount
    return frame


def replayed_draws(y: np.ndarray, scores: np.ndarray, groups: np.ndarray | None, n_bootstrap: int, seed: int) -> list:
    """The documented resampling by a plain loop: draw whole groups per class, concatenate rows, ask sklearn."""
    y = y.astype(bool)
    labels = np.arange(y.size) if groups is None else np.asarray(groups)
    members = []  # per class: list of row-position arrays, one per group in order of first appearance
    for cls in (False, True):
        rows = np.flatnonzero(y == cls)
        order = list(dict.fromkeys(labels[rows].tolist()))
        members.append([rows[labels[rows] == g] for g in order])
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_bootstrap):
        picked = []
        for groups_of_class in members:
            for g in rng.integers(0, len(groups_of_class), len(groups_of_class)):
                picked.append(groups_of_class[g])
        rows = np.concatenate(picked)
        draws.append(roc_auc_score(y[rows], scores[rows]))
    return draws


@pytest.fixture(scope="module")
def null_report() -> AdversarialReport:
    return adversarial_validation(normal_frame(101, 2000), normal_frame(201, 2000), seed=0)


@pytest.fixture(scope="module")
def shifted_report() -> AdversarialReport:
    return adversarial_validation(normal_frame(101, 2000), normal_frame(201, 2000, {"x2": 1.0}), seed=0)


# --- AUC and bootstrap against sklearn ----------------------------------------------------------------------------

labelled_scores = st.lists(
    st.tuples(st.booleans(), st.integers(0, 6), st.integers(0, 3)), min_size=2, max_size=60
).filter(lambda rows: {r[0] for r in rows if r[2] > 0} == {False, True})


@FAST
@given(rows=labelled_scores)
def test_weighted_auc_equals_sklearn_on_rows_repeated_by_weight(rows: list[tuple[bool, int, int]]) -> None:
    y, s, w = (np.array(col) for col in zip(*rows, strict=True))
    order = np.argsort(s, kind="stable")
    got = weighted_auc_nb(s[order].astype(float), y[order], w[order].astype(float))
    assert got == pytest.approx(roc_auc_score(np.repeat(y, w), np.repeat(s, w)), abs=1e-12)
    assert roc_auc(y.astype(int), s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


@FAST
@given(
    data=st.data(),
    n_neg=st.integers(2, 30),
    n_pos=st.integers(2, 30),
    seed=st.integers(0, 2**32 - 1),
    grouped=st.booleans(),
)
def test_bootstrap_replays_a_plain_sklearn_loop(data: st.DataObject, n_neg: int, n_pos: int, seed: int,
                                                grouped: bool) -> None:
    y = np.array(data.draw(st.permutations([0] * n_neg + [1] * n_pos)))
    scores = np.array(data.draw(st.lists(st.integers(0, 8), min_size=y.size, max_size=y.size)), dtype=float)
    groups = np.array(data.draw(st.lists(st.integers(0, 4), min_size=y.size, max_size=y.size))) if grouped else None
    got = bootstrap_auc(y, scores, groups=groups, n_bootstrap=15, seed=seed)
    np.testing.assert_allclose(got, replayed_draws(y, scores, groups, 15, seed), rtol=0, atol=1e-12)


def test_report_ci_is_the_percentile_interval_of_the_replayed_loop(shifted_report: AdversarialReport) -> None:
    scores = shifted_report.scores
    y = (scores.index.get_level_values("side") == "b").astype(int)
    assert shifted_report.auc == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    draws = replayed_draws(y, scores.to_numpy(), None, shifted_report.n_bootstrap, seed=0)
    np.testing.assert_allclose(shifted_report.auc_ci, np.quantile(draws, [0.025, 0.975]), rtol=0, atol=1e-12)


def test_bootstrap_rejects_one_class_and_bad_scores() -> None:
    with pytest.raises(ValueError, match="both classes"):
        bootstrap_auc(np.zeros(5), np.arange(5.0))
    with pytest.raises(ValueError, match="finite"):
        roc_auc(np.array([0, 1, 1]), np.array([0.1, np.nan, 0.3]))
    with pytest.raises(ValueError, match="only 0 and 1"):
        roc_auc(np.array([0, 2, 1]), np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="one group label per row"):
        bootstrap_auc(np.array([0, 1, 1]), np.array([0.1, 0.2, 0.3]), groups=np.array([1, 2]))


# --- null and shift -----------------------------------------------------------------------------------------------


def test_same_distribution_scores_near_half_with_a_ci_covering_it(null_report: AdversarialReport) -> None:
    """One fixed null draw. The CI is conditional on the fitted out-of-fold scores: over 30 null draws of this size
    the AUC's spread was ~1.3x the bootstrap's, so such a CI covers 0.5 in ~85-90% of draws, not 95%."""
    low, high = null_report.auc_ci
    assert abs(null_report.auc - 0.5) < 0.03
    assert low < 0.5 < high
    assert high - low < 0.06
    assert not null_report.drift
    assert (null_report.n_a, null_report.n_b) == (2000, 2000)


def test_one_std_shift_is_found_ranked_first_with_its_direction(shifted_report: AdversarialReport) -> None:
    assert shifted_report.auc > 0.7
    assert shifted_report.auc_ci[0] > 0.6 and shifted_report.drift
    top = shifted_report.features.iloc[0]
    assert shifted_report.features.index[0] == "x2"
    assert top["direction"] == "higher in B"
    assert top["importance_share"] > 0.4
    assert top["auc"] == pytest.approx(norm.cdf(1 / np.sqrt(2)), abs=0.03)  # AUC of N(1,1) vs N(0,1)
    assert top["mean_b"] - top["mean_a"] == pytest.approx(1.0, abs=0.1)
    assert shifted_report.features["importance"].is_monotonic_decreasing


def test_feature_statistics_match_sklearn_and_scipy(shifted_report: AdversarialReport) -> None:
    a, b = normal_frame(101, 2000), normal_frame(201, 2000, {"x2": 1.0})
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    for column in COLUMNS:
        row = shifted_report.features.loc[column]
        assert row["auc"] == pytest.approx(roc_auc_score(y, np.r_[a[column], b[column]]), abs=1e-12)
        assert row["ks"] == pytest.approx(ks_2samp(a[column], b[column]).statistic, abs=1e-12)
    assert shifted_report.features["importance_share"].sum() == pytest.approx(1.0)


def test_a_downward_shift_reads_lower_in_b() -> None:
    report = adversarial_validation(normal_frame(5, 800), normal_frame(6, 800, {"x0": -1.5}), n_bootstrap=50)
    assert report.features.index[0] == "x0"
    assert report.features.iloc[0]["direction"] == "lower in B"
    assert report.drift


def test_same_seed_same_report_and_column_order_does_not_matter() -> None:
    a, b = normal_frame(7, 600), normal_frame(8, 600, {"x1": 0.5})
    first = adversarial_validation(a, b, seed=11, n_bootstrap=50)
    again = adversarial_validation(a, b[COLUMNS[::-1]], seed=11, n_bootstrap=50)
    assert (first.auc, first.auc_ci) == (again.auc, again.auc_ci)
    pd.testing.assert_frame_equal(first.features, again.features)
    pd.testing.assert_series_equal(first.scores, again.scores)
    other = adversarial_validation(a, b, seed=12, n_bootstrap=50)
    assert other.auc_ci != first.auc_ci


def test_max_rows_subsamples_each_side_with_the_seed() -> None:
    a, b = normal_frame(9, 1500), normal_frame(10, 700)
    report = adversarial_validation(a, b, max_rows=500, n_bootstrap=20)
    assert (report.n_a, report.n_b, report.n_a_input, report.n_b_input) == (500, 500, 1500, 700)
    assert report.scores.loc["a"].index.isin(a.index).all() and report.scores.loc["a"].index.is_unique
    assert "500 rows of 1,500" in report.summary()
    again = adversarial_validation(a, b, max_rows=500, n_bootstrap=20)
    pd.testing.assert_series_equal(report.scores, again.scores)


def test_groups_stop_group_constant_features_from_leaking_across_folds() -> None:
    """Both sides draw day-level values from one distribution; only row-level folds let the model memorise days."""
    rng = np.random.default_rng(0)
    days = np.repeat(np.arange(80), 40)  # 80 days of 40 rows: days 0-39 in A, 40-79 in B
    frame = pd.DataFrame({"day_level": np.repeat(rng.standard_normal(80), 40), "noise": rng.standard_normal(3200)})
    a, b = frame[days < 40], frame[days >= 40]
    leaky = adversarial_validation(a, b, n_bootstrap=50)
    grouped = adversarial_validation(a, b, groups_a=days[days < 40], groups_b=days[days >= 40], n_bootstrap=50)
    assert leaky.auc > 0.9 and leaky.drift
    assert grouped.auc_ci[0] < 0.5 < grouped.auc_ci[1] and not grouped.drift
    assert grouped.grouped and "group bootstrap" in grouped.summary()


# --- categories and missing values --------------------------------------------------------------------------------


def test_category_columns_are_compared_as_categories() -> None:
    rng = np.random.default_rng(4)
    a, b = normal_frame(11, 1000), normal_frame(12, 1000)
    a["sector"] = pd.Categorical(rng.choice(["tech", "energy", "banks"], 1000))
    b["sector"] = pd.Categorical(rng.choice(["tech", "energy", "banks", "retail"], 1000, p=[0.2, 0.1, 0.1, 0.6]))
    report = adversarial_validation(a, b, n_bootstrap=50)
    assert report.drift and report.features.index[0] == "sector"
    row = report.features.loc["sector"]
    freq_a = a["sector"].value_counts(normalize=True)
    freq_b = b["sector"].value_counts(normalize=True)
    tvd = 0.5 * freq_b.sub(freq_a, fill_value=0).abs().sum()
    assert row["ks"] == pytest.approx(tvd, abs=1e-12)
    assert row["direction"] == "more 'retail' in B" and np.isnan(row["auc"])


def test_category_in_one_frame_only_is_refused() -> None:
    a, b = normal_frame(13, 100), normal_frame(14, 100)
    a["sector"] = pd.Categorical(["x"] * 100)
    b["sector"] = 1.0
    with pytest.raises(DataValidationError, match="'sector' is category in X_a"):
        adversarial_validation(a, b)


def test_nan_is_allowed_and_a_missingness_shift_is_found() -> None:
    a, b = normal_frame(15, 1000), normal_frame(16, 1000)
    b.loc[b.index[::2], "x3"] = np.nan
    report = adversarial_validation(a, b, n_bootstrap=50)
    assert report.drift and report.features.index[0] == "x3"
    assert (report.features.loc["x3", "nan_a"], report.features.loc["x3", "nan_b"]) == (0.0, 0.5)
    assert abs(report.features.loc["x3", "auc"] - 0.5) < 0.05  # the values left are not shifted


# --- summary and figure -------------------------------------------------------------------------------------------


def test_summary_and_figure_show_the_verdict_and_top_feature(shifted_report: AdversarialReport) -> None:
    text = shifted_report.summary()
    assert f"{shifted_report.auc:.3f}" in text and "Drift: YES" in text
    assert text.splitlines()[4].split()[0] == "x2"
    fig = shifted_report.figure(top_n=3)
    assert len(fig.data) == 1 and len(fig.data[0].y) == 3
    assert fig.data[0].y[-1] == "x2"  # plotly draws the last bar on top
    assert "drift" in fig.layout.title.text


# --- bad input ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        (normal_frame(0, 50), normal_frame(0, 50).rename(columns={"x0": "y0"}), r"lacks \['x0'\].*extra \['y0'\]"),
        (normal_frame(0, 50), normal_frame(0, 0), "X_b has no rows"),
        (normal_frame(0, 50).iloc[:, :0], normal_frame(0, 50).iloc[:, :0], "X_a has no columns"),
        (normal_frame(0, 50).assign(ticker="AAA"), normal_frame(0, 50).assign(ticker="AAA"), "'ticker'.*category"),
        (
            normal_frame(0, 50).assign(ts=pd.Timestamp("2024-01-02", tz="UTC")),
            normal_frame(0, 50).assign(ts=pd.Timestamp("2024-01-03", tz="UTC")),
            "'ts'.*is a time",
        ),
        (normal_frame(0, 50).assign(x1=np.inf), normal_frame(0, 50), "'x1' of X_a holds 50 infinite"),
        (normal_frame(0, 3), normal_frame(0, 50), "each side needs at least n_splits=5 rows"),
    ],
)
def test_bad_frames_get_a_clear_error(a: pd.DataFrame, b: pd.DataFrame, match: str) -> None:
    with pytest.raises(DataValidationError, match=match):
        adversarial_validation(a, b)


def test_duplicate_columns_and_non_frames_are_refused() -> None:
    a = normal_frame(0, 50)
    with pytest.raises(DataValidationError, match="duplicate columns"):
        adversarial_validation(pd.concat([a, a["x0"]], axis=1), pd.concat([a, a["x0"]], axis=1))
    with pytest.raises(TypeError, match="X_b must be a pandas DataFrame"):
        adversarial_validation(a, a.to_numpy())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_splits": 1}, "n_splits must be an integer >= 2"),
        ({"threshold": 1.5}, "threshold must be a number in"),
        ({"n_bootstrap": 5}, "n_bootstrap must be an integer >= 10"),
        ({"confidence": 0.0}, "confidence"),
        ({"seed": -1}, "seed"),
        ({"max_rows": 2}, "max_rows"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"groups_a": np.zeros(50)}, "both groups_a and groups_b"),
    ],
)
def test_bad_parameters_get_a_clear_error(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        adversarial_validation(normal_frame(0, 50), normal_frame(1, 50), **kwargs)


def test_too_few_groups_is_refused() -> None:
    a, b = normal_frame(0, 60), normal_frame(1, 60)
    with pytest.raises(DataValidationError, match="3 groups, fewer than n_splits=5"):
        adversarial_validation(a, b, groups_a=np.repeat([0, 1], 30), groups_b=np.repeat([2], 60))
