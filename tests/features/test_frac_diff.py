"""Fixed-width fractional differentiation: the weights, the transform against a slow reference, and the min order."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.tsa.stattools import adfuller

from workbench.features.frac_diff import MAX_WEIGHTS, ffd_weights, frac_diff_ffd, min_ffd_order

FAST = settings(max_examples=40, deadline=None)
orders = st.floats(min_value=0.0, max_value=1.5)
thresholds = st.sampled_from([1e-1, 1e-2, 1e-3])
values = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False)


def expanding_weights(d: float, n: int) -> list[float]:
    """The first ``n`` weights by the recursion, no threshold: the expanding-window definition.

    ``d - (k - 1)`` rather than ``d - k + 1``: the latter rounds ``d - k`` first and loses the digits of a small d.
    """
    weights = [1.0]
    for k in range(1, n):
        weights.append(-weights[-1] * (d - (k - 1)) / k)
    return weights


def loop_sum(x: list[float], weights: list[float], t: int) -> float:
    """sum_k w_k x[t-k] by a plain loop."""
    return sum(w * x[t - k] for k, w in enumerate(weights))


def random_walk(seed: int, n: int = 3000) -> pd.Series:
    return pd.Series(np.random.default_rng(seed).standard_normal(n).cumsum(), name="walk")


# --- weights ---------------------------------------------------------------------------------------------------------


def test_d_04_keeps_282_weights_and_stops_at_the_first_small_one() -> None:
    weights = ffd_weights(0.4, 1e-4)
    assert weights.size == 282
    assert abs(weights[-1]) >= 1e-4
    assert abs(-weights[-1] * (0.4 - 282 + 1) / 282) < 1e-4


@pytest.mark.parametrize(("d", "expected"), [(0, [1.0]), (1, [1.0, -1.0]), (2, [1.0, -2.0, 1.0]), (3, [1, -3, 3, -1])])
def test_integer_d_stops_where_the_weights_become_zero(d: int, expected: list[float]) -> None:
    np.testing.assert_array_equal(ffd_weights(d), expected)


@FAST
@given(d=orders, threshold=st.sampled_from([1e-2, 1e-4, 1e-6]))
def test_weights_follow_the_recursion_and_stay_above_threshold(d: float, threshold: float) -> None:
    weights = ffd_weights(d, threshold)
    reference = expanding_weights(d, weights.size + 1)
    np.testing.assert_allclose(weights, reference[:-1], rtol=1e-12, atol=0)
    assert np.all(np.abs(weights) >= threshold)
    assert abs(reference[-1]) < threshold


@FAST
@given(d=st.floats(min_value=1e-3, max_value=1.0, exclude_max=True))
def test_weights_after_w0_are_negative_for_d_between_0_and_1(d: float) -> None:
    weights = ffd_weights(d)
    assert weights[0] == 1.0
    assert weights[1] == -d
    assert np.all(weights[1:] < 0)


# --- the transform against the expanding-window definition -----------------------------------------------------------


@FAST
@given(x=st.lists(values, min_size=1, max_size=250), d=orders, threshold=thresholds)
def test_ffd_matches_a_double_loop_and_the_expanding_window_within_the_truncation_bound(
    x: list[float], d: float, threshold: float
) -> None:
    n = len(x)
    width = ffd_weights(d, threshold).size
    full = expanding_weights(d, n)  # every weight up to k = n - 1, no threshold
    out = frac_diff_ffd(pd.Series(x), d, threshold).to_numpy()

    truncated = full[:width]
    reference = [loop_sum(x, truncated, t) if t >= width - 1 else math.nan for t in range(n)]
    scale = sum(abs(w) for w in truncated) * max(abs(v) for v in x)
    np.testing.assert_allclose(out, reference, rtol=1e-12, atol=1e-12 * scale)

    for t in range(width - 1, n):
        dropped = sum(abs(w) for w in full[width : t + 1])
        gap = abs(out[t] - loop_sum(x, full[: t + 1], t))
        assert gap <= dropped * max(abs(v) for v in x) + 1e-9 * (scale + 1)


def test_d_0_is_the_identity_exactly() -> None:
    x = pd.Series(np.random.default_rng(1).standard_normal(500), name="x")
    out = frac_diff_ffd(x, 0.0)
    assert np.array_equal(out.to_numpy(), x.to_numpy())
    assert out.name == "x_ffd"


def test_d_1_is_the_first_difference() -> None:
    x = pd.Series(np.random.default_rng(2).standard_normal(500))
    out = frac_diff_ffd(x, 1.0)
    assert np.isnan(out.iloc[0])
    assert np.array_equal(out.to_numpy()[1:], np.diff(x.to_numpy()))


def test_d_2_is_the_second_difference() -> None:
    x = pd.Series(np.random.default_rng(3).standard_normal(500))
    out = frac_diff_ffd(x, 2.0).to_numpy()
    assert np.isnan(out[:2]).all()
    np.testing.assert_allclose(out[2:], np.diff(x.to_numpy(), n=2), rtol=1e-12, atol=1e-12)


# --- warm-up, NaN and causality ---------------------------------------------------------------------------------------


def test_nan_until_the_window_is_full_and_index_kept() -> None:
    index = pd.date_range("2024-01-02", periods=1000, freq="min", tz="UTC")
    x = pd.Series(np.random.default_rng(4).standard_normal(1000).cumsum(), index=index, name="close")
    out = frac_diff_ffd(x, 0.4)
    assert out.index.equals(index)
    assert out.name == "close_ffd"
    assert out.iloc[:281].isna().all()
    assert out.iloc[281:].notna().all()


def test_shorter_than_the_window_is_all_nan() -> None:
    assert frac_diff_ffd(pd.Series(np.arange(100.0)), 0.4).isna().all()


def test_a_nan_poisons_exactly_the_windows_that_hold_it() -> None:
    x = np.random.default_rng(5).standard_normal(1000)
    x[500] = np.nan
    out = frac_diff_ffd(pd.Series(x), 0.4).to_numpy()
    poisoned = np.zeros(1000, dtype=bool)
    poisoned[:281] = True  # warm-up
    poisoned[500 : 500 + 282] = True  # the 282 windows that contain position 500
    np.testing.assert_array_equal(np.isnan(out), poisoned)


@FAST
@given(
    x=st.lists(values, min_size=2, max_size=300),
    tail=st.lists(values, min_size=300, max_size=300),
    cut=st.integers(min_value=0),
    d=orders,
    threshold=thresholds,
)
def test_changing_the_future_never_changes_the_past(
    x: list[float], tail: list[float], cut: int, d: float, threshold: float
) -> None:
    t = cut % (len(x) - 1)
    changed = x[: t + 1] + tail[: len(x) - t - 1]
    before = frac_diff_ffd(pd.Series(x), d, threshold).to_numpy()[: t + 1]
    after = frac_diff_ffd(pd.Series(changed), d, threshold).to_numpy()[: t + 1]
    np.testing.assert_array_equal(before, after)


# --- minimum order ----------------------------------------------------------------------------------------------------


def test_min_order_of_a_random_walk_is_the_smallest_stationary_grid_d() -> None:
    walk = random_walk(0)
    result = min_ffd_order(walk)
    table = result.table.set_index("d")
    assert table.at[0.0, "p_value"] > 0.05
    assert 0 < result.d <= 1
    assert result.p_value < 0.05
    assert result.adf_stat < result.critical_value_5pct

    grid = np.round(np.arange(0, 1.01, 0.05), 2)
    below = grid[grid < result.d].max()
    again = adfuller(frac_diff_ffd(walk, below).dropna(), maxlag=1, autolag=None, regression="c", result_object=True)
    assert again.pvalue >= 0.05
    assert (table.loc[table.index < result.d, "p_value"] >= 0.05).all()

    assert list(result.table.columns) == ["d", "adf_stat", "p_value", "n_obs", "n_weights", "corr_with_original"]
    assert len(result.table) == grid.size
    assert table.at[0.0, "corr_with_original"] == pytest.approx(1.0)
    assert table.at[0.4, "n_weights"] == 282
    assert table.at[0.4, "n_obs"] == 3000 - 281


def test_min_order_of_white_noise_is_zero() -> None:
    noise = pd.Series(np.random.default_rng(6).standard_normal(3000))
    assert min_ffd_order(noise).d == 0.0


def test_min_order_reports_the_best_p_value_when_no_d_passes() -> None:
    with pytest.raises(ValueError, match="best p-value"):
        min_ffd_order(random_walk(0), d_grid=[0.0])


def test_min_order_rejects_a_series_too_short_for_the_window() -> None:
    with pytest.raises(ValueError, match="valid points"):
        min_ffd_order(random_walk(0, n=300))


# --- bad input --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("d", [-0.1, math.nan, math.inf, "0.5"])
def test_bad_d_is_rejected(d: object) -> None:
    with pytest.raises(ValueError, match="d must be"):
        ffd_weights(d)  # type: ignore[arg-type]


@pytest.mark.parametrize("threshold", [0.0, 1.0, -1e-4, math.nan])
def test_bad_threshold_is_rejected(threshold: float) -> None:
    with pytest.raises(ValueError, match="threshold must be"):
        ffd_weights(0.4, threshold)


def test_absurd_windows_are_refused() -> None:
    with pytest.raises(ValueError, match=f"exceed {MAX_WEIGHTS}"):
        ffd_weights(0.4, 1e-12)
    with pytest.raises(ValueError, match="overflow"):
        ffd_weights(5000.0)


@pytest.mark.parametrize("series", [np.arange(10.0), [1.0, 2.0], pd.DataFrame({"x": [1.0]})])
def test_non_series_is_rejected(series: object) -> None:
    with pytest.raises(TypeError, match="pandas Series"):
        frac_diff_ffd(series, 0.4)  # type: ignore[arg-type]


@pytest.mark.parametrize("series", [pd.Series(["a", "b"]), pd.Series([True, False]), pd.Series([1 + 1j])])
def test_non_numeric_series_is_rejected(series: pd.Series) -> None:
    with pytest.raises(TypeError, match="must hold numbers"):
        frac_diff_ffd(series, 0.4)


def test_inf_is_rejected_naming_its_position_and_label() -> None:
    series = pd.Series([1.0, 2.0, -np.inf, np.inf], index=list("abcd"), name="px")
    with pytest.raises(ValueError, match=r"-inf at position 2 \(index label 'c'\)"):
        frac_diff_ffd(series, 0.4)


@pytest.mark.parametrize(
    "kwargs",
    [{"significance": 0.0}, {"max_lag": -1}, {"max_lag": 1.5}, {"regression": "x"}, {"d_grid": []}, {"d_grid": [-1]}],
)
def test_min_order_rejects_bad_settings(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"must be|must hold"):
        min_ffd_order(random_walk(0, n=500), **kwargs)  # type: ignore[arg-type]
