"""Classification report and reliability table against scikit-learn and against plain formulas."""

from __future__ import annotations

import warnings

import numpy as np
import plotly.graph_objects as go
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics
from sklearn.calibration import calibration_curve

from workbench.errors import DataValidationError
from workbench.evaluation import calibration_figure, calibration_table, classification_report

FAST = settings(max_examples=25, deadline=None)


def sample(seed: int, n: int, skill: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Labels and probabilities that are informative (``skill`` > 0) but noisy, both classes present."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)
    y = (z + rng.standard_normal(n) > 0).astype(int)
    y[:2] = [0, 1]
    return y, 1.0 / (1.0 + np.exp(-skill * z))


@FAST
@given(seed=st.integers(0, 10_000), n=st.integers(10, 300), threshold=st.sampled_from([0.3, 0.5, 0.62]),
       weighted=st.booleans())
def test_report_equals_sklearn(seed: int, n: int, threshold: float, weighted: bool) -> None:
    y, p = sample(seed, n)
    w = np.random.default_rng(seed + 1).uniform(0.1, 2.0, n) if weighted else None
    report = classification_report(y, p, threshold=threshold, sample_weight=w)
    yhat = (p >= threshold).astype(int)
    assert report["n"] == n
    assert report["log_loss"] == pytest.approx(metrics.log_loss(y, p, sample_weight=w))
    assert report["brier"] == pytest.approx(metrics.brier_score_loss(y, p, sample_weight=w))
    assert report["roc_auc"] == pytest.approx(metrics.roc_auc_score(y, p, sample_weight=w))
    assert report["pr_auc"] == pytest.approx(metrics.average_precision_score(y, p, sample_weight=w))
    assert report["recall"] == pytest.approx(metrics.recall_score(y, yhat, sample_weight=w))
    assert report["base_rate"] == pytest.approx(np.average(y, weights=w))
    if yhat.any():
        assert report["precision"] == pytest.approx(metrics.precision_score(y, yhat, sample_weight=w))
        assert report["f1"] == pytest.approx(metrics.f1_score(y, yhat, sample_weight=w))
        assert report["note"] == ""


def test_report_equals_plain_formulas() -> None:
    """Unweighted metrics by their definitions: AUC as the share of correctly ordered (positive, negative) pairs."""
    y, p = sample(3, 60)
    report = classification_report(y, p, threshold=0.5)
    pos, neg = p[y == 1], p[y == 0]
    pairs = [(a > b) + 0.5 * (a == b) for a in pos for b in neg]
    yhat = p >= 0.5
    tp = int((yhat & (y == 1)).sum())
    precision, recall = tp / yhat.sum(), tp / (y == 1).sum()
    assert report["roc_auc"] == pytest.approx(np.mean(pairs))
    assert report["log_loss"] == pytest.approx(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    assert report["brier"] == pytest.approx(np.mean((p - y) ** 2))
    assert report["precision"] == pytest.approx(precision)
    assert report["recall"] == pytest.approx(recall)
    assert report["f1"] == pytest.approx(2 * precision * recall / (precision + recall))
    assert report["mean_p"] == pytest.approx(p.mean())


@pytest.mark.parametrize("label", [0, 1])
def test_single_class_gives_nan_aucs_with_a_note(label: int) -> None:
    y, p = np.full(20, label), np.linspace(0.05, 0.95, 20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = classification_report(y, p)
    assert np.isnan(report["roc_auc"]) and np.isnan(report["pr_auc"])
    assert "only class" in report["note"]
    assert report["log_loss"] == pytest.approx(metrics.log_loss(y, p, labels=[0, 1]))
    assert report["base_rate"] == label


def test_no_predicted_positive_gives_nan_precision_with_a_note() -> None:
    y, p = np.array([0, 1, 0, 1]), np.array([0.1, 0.2, 0.3, 0.4])
    report = classification_report(y, p, threshold=0.5)
    assert np.isnan(report["precision"])
    assert report["recall"] == 0.0 and report["f1"] == 0.0
    assert "precision is undefined" in report["note"]


@pytest.mark.parametrize(("y", "p", "message"), [
    ([0, 1, 1], [0.2, np.nan, 0.7], "p has 1 NaN"),
    ([0, np.nan, 1], [0.2, 0.4, 0.7], "y has 1 NaN"),
    ([0, 1], [0.2, 0.4, 0.7], "differ in length"),
    ([0, 2, 1], [0.2, 0.4, 0.7], "binary"),
    ([0, 1, 1], [0.2, 1.4, 0.7], r"\[0, 1\]"),
    ([], [], "empty"),
    ([0, 1, 1], ["a", "b", "c"], "numeric"),
])
def test_bad_input_is_a_clear_error(y: list, p: list, message: str) -> None:
    with pytest.raises(DataValidationError, match=message):
        classification_report(y, p)


def test_bad_parameters_are_value_errors() -> None:
    y, p = sample(0, 20)
    with pytest.raises(ValueError, match="threshold"):
        classification_report(y, p, threshold=1.0)
    with pytest.raises(DataValidationError, match="sample_weight"):
        classification_report(y, p, sample_weight=-np.ones(20))
    with pytest.raises(ValueError, match="n_bins"):
        calibration_table(y, p, n_bins=0)
    with pytest.raises(ValueError, match="strategy"):
        calibration_table(y, p, strategy="kmeans")


@FAST
@given(seed=st.integers(0, 10_000), n=st.integers(5, 400), n_bins=st.integers(1, 12),
       strategy=st.sampled_from(["uniform", "quantile"]))
def test_calibration_table_equals_sklearn_curve(seed: int, n: int, n_bins: int, strategy: str) -> None:
    y, p = sample(seed, n, skill=2.0)
    p = np.round(p, 2)  # ties on bin edges exercise the right-closed bins
    table = calibration_table(y, p, n_bins=n_bins, strategy=strategy)
    observed, predicted = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    filled = table[table["count"] > 0]
    assert len(table) == n_bins and table["count"].sum() == n
    np.testing.assert_allclose(filled["observed"], observed)
    np.testing.assert_allclose(filled["mean_p"], predicted)
    assert table.loc[table["count"] == 0, ["mean_p", "observed", "ci_low"]].isna().all().all()
    assert (filled["ci_low"] <= filled["observed"] + 1e-12).all()
    assert (filled["observed"] <= filled["ci_high"] + 1e-12).all()


def test_calibration_interval_is_wilson() -> None:
    """Bin with 3 of 10 positives: the 95% Wilson interval by its closed form."""
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    row = calibration_table(y, np.full(10, 0.35), n_bins=10).iloc[3]
    z, n, share = 1.959963984540054, 10, 0.3
    centre = (share + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(share * (1 - share) / n + z**2 / (4 * n**2))
    assert row["count"] == 10 and row["observed"] == pytest.approx(0.3)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((centre - half, centre + half))


def test_calibration_figure() -> None:
    y, p = sample(5, 500)
    table = calibration_table(y, p, n_bins=5)
    fig = calibration_figure(table)
    assert isinstance(fig, go.Figure)
    observed = next(t for t in fig.data if t.name == "observed")
    np.testing.assert_allclose(observed.y, table.loc[table["count"] > 0, "observed"])
    counts = next(t for t in fig.data if t.name == "count")
    np.testing.assert_array_equal(counts.y, table.loc[table["count"] > 0, "count"])
    with pytest.raises(DataValidationError, match="calibration_table"):
        calibration_figure(table.drop(columns="ci_low"))
