"""IC and precision@k against a per-minute loop over scipy / plain Python, Newey-West against statsmodels."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from workbench.errors import DataValidationError
from workbench.evaluation import information_coefficient, newey_west_lags, newey_west_t_stat, precision_at_k

FAST = settings(max_examples=30, deadline=None)
START = pd.Timestamp("2024-11-25 14:31", tz="UTC")


def random_panel(seed: int, n_minutes: int, max_names: int, *, ties: bool, nan_share: float) -> pd.DataFrame:
    """A ragged panel: each minute has its own set of names; ``ties`` draws signals and returns from few values
    (so ties and constant minutes occur); a share of returns and labels is NaN (not yet known)."""
    rng = np.random.default_rng(seed)
    rows = []
    for m in range(n_minutes):
        names = rng.choice(max_names, size=rng.integers(1, max_names + 1), replace=False)
        for name in names:
            p = rng.integers(0, 4) / 4 if ties else rng.random()
            ret = rng.integers(-2, 3) / 100 if ties else rng.normal(0, 0.01) + 0.005 * p
            rows.append((START + pd.Timedelta(minutes=m), f"T{name:03d}", p, ret))
    frame = pd.DataFrame(rows, columns=["ts", "ticker", "p", "ret"])
    frame["y"] = (frame["ret"] > 0).astype(float)
    unknown = rng.random(len(frame)) < nan_share
    frame.loc[unknown, ["ret", "y"]] = np.nan
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # row order must not matter


def loop_ic(frame: pd.DataFrame, method: str, min_names: int) -> pd.Series:
    """IC per minute by scipy, one minute at a time; minutes with too few names or an undefined IC dropped."""
    corr = stats.spearmanr if method == "spearman" else stats.pearsonr
    out = {}
    for ts, minute in frame.groupby("ts"):
        valid = minute.dropna(subset=["ret"])
        if len(valid) < min_names or valid["p"].nunique() < 2 or valid["ret"].nunique() < 2:
            continue
        out[ts] = corr(valid["p"], valid["ret"])[0]
    return pd.Series(out, dtype=float)


@FAST
@given(seed=st.integers(0, 100_000), n_minutes=st.integers(1, 30), max_names=st.integers(2, 15),
       ties=st.booleans(), method=st.sampled_from(["spearman", "pearson"]), min_names=st.integers(2, 6))
def test_ic_equals_scipy_per_minute(seed: int, n_minutes: int, max_names: int, ties: bool, method: str,
                                    min_names: int) -> None:
    frame = random_panel(seed, n_minutes, max_names, ties=ties, nan_share=0.1)
    expected = loop_ic(frame, method, min_names)
    if expected.empty:
        with pytest.raises(DataValidationError, match="no ts has"):
            information_coefficient(frame, method=method, min_names=min_names)
        return
    result = information_coefficient(frame, method=method, min_names=min_names, nw_lags=2)
    np.testing.assert_array_equal(result.series.index, expected.index)
    np.testing.assert_allclose(result.series.to_numpy(), expected.to_numpy(), atol=1e-12)
    assert result.n_periods == len(expected)
    assert result.n_skipped == frame["ts"].nunique() - len(expected)
    assert result.mean == pytest.approx(expected.mean())
    clear = np.abs(expected.to_numpy()) > 1e-9  # an exact-zero IC may come out as +-1e-17 on either side
    np.testing.assert_array_equal(result.series.to_numpy()[clear] > 0, expected.to_numpy()[clear] > 0)
    assert result.positive_share == pytest.approx((result.series > 0).mean())
    if len(expected) > 1 and expected.std() > 1e-12:
        assert result.std == pytest.approx(expected.std(ddof=1))
        assert result.t_stat == pytest.approx(expected.mean() / (expected.std(ddof=1) / math.sqrt(len(expected))))
    names = frame.dropna(subset=["ret"]).groupby("ts").size()
    assert (result.n_names == names.loc[result.n_names.index]).all()


@pytest.mark.parametrize("lags", [0, 1, 4, 10])
def test_newey_west_t_equals_statsmodels_hac(lags: int) -> None:
    rng = np.random.default_rng(lags)
    x = np.empty(300)
    x[0] = 0.0
    for t in range(1, len(x)):  # AR(1): the autocorrelation HAC exists for
        x[t] = 0.6 * x[t - 1] + rng.standard_normal()
    x += 0.2
    fit = sm.OLS(x, np.ones(len(x))).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True})
    assert newey_west_t_stat(x, lags) == pytest.approx(fit.tvalues[0], rel=1e-10)
    iid = x.mean() / (x.std(ddof=1) / math.sqrt(len(x)))
    if lags == 0:
        assert newey_west_t_stat(x, lags) == pytest.approx(iid)
    else:  # positive autocorrelation: the honest t is smaller
        assert abs(newey_west_t_stat(x, lags)) < abs(iid)


def test_ic_result_reports_hac_t_of_its_series() -> None:
    frame = random_panel(7, 120, 12, ties=False, nan_share=0.0)
    result = information_coefficient(frame, nw_lags=5)
    fit = sm.OLS(result.series.to_numpy(), np.ones(result.n_periods)).fit(
        cov_type="HAC", cov_kwds={"maxlags": 5, "use_correction": True})
    assert result.t_stat_nw == pytest.approx(fit.tvalues[0])
    assert result.nw_lags == 5
    default = information_coefficient(frame)
    assert default.nw_lags == newey_west_lags(default.n_periods)
    assert [newey_west_lags(n) for n in (50, 100, 1000)] == [3, 4, 6]  # floor(4 (n/100)^(2/9))
    summary = result.summary()
    assert summary["t_stat"] == result.t_stat and summary["t_stat_nw"] == result.t_stat_nw
    assert summary["ir"] == pytest.approx(result.mean / result.std)
    assert result.mean > 0.05 and result.t_stat > 2  # the planted 0.005 * p drift is found


def test_ic_of_a_constant_minute_is_skipped_without_warnings() -> None:
    frame = random_panel(1, 3, 8, ties=False, nan_share=0.0)
    frame.loc[frame["ts"] == START, "p"] = 0.1  # constant signal: correlation undefined
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = information_coefficient(frame, min_names=2, method="pearson")
    assert START not in result.series.index and result.n_skipped >= 1


def loop_precision(frame: pd.DataFrame, k: int) -> tuple[pd.Series, pd.Series]:
    """Top-k share of label 1 by sorting each minute (continuous signals, so no ties)."""
    precision, base = {}, {}
    for ts, minute in frame.dropna(subset=["y"]).groupby("ts"):
        if len(minute) >= k:
            precision[ts] = minute.nlargest(k, "p")["y"].mean()
            base[ts] = minute["y"].mean()
    return pd.Series(precision, dtype=float), pd.Series(base, dtype=float)


@FAST
@given(seed=st.integers(0, 100_000), n_minutes=st.integers(1, 25), max_names=st.integers(3, 15),
       k=st.integers(1, 5))
def test_precision_at_k_equals_loop(seed: int, n_minutes: int, max_names: int, k: int) -> None:
    frame = random_panel(seed, n_minutes, max_names, ties=False, nan_share=0.1)
    precision, base = loop_precision(frame, k)
    if precision.empty:
        with pytest.raises(DataValidationError, match=f"k={k} exceeds"):
            precision_at_k(frame, k)
        return
    result = precision_at_k(frame, k)
    np.testing.assert_array_equal(result.series.index, precision.index)
    np.testing.assert_allclose(result.series.to_numpy(), precision.to_numpy())
    np.testing.assert_allclose(result.base_rates.to_numpy(), base.to_numpy())
    assert result.precision == pytest.approx(precision.mean())
    assert result.base_rate == pytest.approx(base.mean())
    assert result.n_skipped == frame["ts"].nunique() - len(precision)


@FAST
@given(seed=st.integers(0, 100_000), k=st.integers(1, 5))
def test_precision_at_k_with_ties_is_the_mean_over_tie_breaks(seed: int, k: int) -> None:
    """Brute force: the average top-k precision over every ordering of the names consistent with the signal."""
    frame = random_panel(seed, 3, 6, ties=True, nan_share=0.0)
    if frame.groupby("ts").size().max() < k:
        return
    result = precision_at_k(frame, k)
    for ts, minute in frame.groupby("ts"):
        if len(minute) < k:
            assert ts not in result.series.index
            continue
        rows = list(zip(minute["p"], minute["y"], strict=True))
        orders = [o for o in itertools.permutations(rows) if all(a[0] >= b[0] for a, b in itertools.pairwise(o))]
        expected = np.mean([np.mean([y for _, y in order[:k]]) for order in orders])
        assert result.series[ts] == pytest.approx(expected)


def test_precision_at_k_beats_base_rate_on_a_planted_signal() -> None:
    frame = random_panel(3, 200, 15, ties=False, nan_share=0.0)
    result = precision_at_k(frame, 3)
    assert result.lift > 1.05
    assert result.summary()["lift"] == result.lift


@pytest.mark.parametrize("call", [information_coefficient, lambda f, **kw: precision_at_k(f, 2, **kw)])
def test_panel_errors_are_clear(call) -> None:
    frame = random_panel(0, 5, 8, ties=False, nan_share=0.0)
    with pytest.raises(DataValidationError, match=r"missing required column\(s\) \['p'\]"):
        call(frame.drop(columns="p"))
    with pytest.raises(DataValidationError, match="'p' has 1 NaN value.*first at ts="):
        call(frame.assign(p=frame["p"].where(frame.index != 3)))
    with pytest.raises(DataValidationError, match="duplicate"):
        call(pd.concat([frame, frame.iloc[:1]]))
    with pytest.raises(DataValidationError, match="numeric"):
        call(frame.assign(p="high"))
    with pytest.raises(DataValidationError, match="missing value"):
        call(frame.assign(ts=frame["ts"].where(frame.index != 0)))
    with pytest.raises(TypeError, match="DataFrame"):
        call(frame.to_numpy())


def test_parameter_errors() -> None:
    frame = random_panel(0, 5, 8, ties=False, nan_share=0.0)
    with pytest.raises(ValueError, match="method"):
        information_coefficient(frame, method="kendall")
    with pytest.raises(ValueError, match="min_names"):
        information_coefficient(frame, min_names=1)
    with pytest.raises(ValueError, match="nw_lags"):
        information_coefficient(frame, nw_lags=-1)
    with pytest.raises(ValueError, match="k must be"):
        precision_at_k(frame, 0)
    with pytest.raises(DataValidationError, match="k=99 exceeds"):
        precision_at_k(frame, 99)
    with pytest.raises(DataValidationError, match="binary"):
        precision_at_k(frame.assign(y=frame["ret"]), 2)
    with pytest.raises(DataValidationError, match="no ts has 50 or more names"):
        information_coefficient(frame, min_names=50)
