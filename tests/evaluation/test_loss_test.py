"""The paired loss-difference test: HAC against statsmodels, the session bootstrap against a slow loop, its
false-positive rate on a correlated null (and the naive per-event test's, which it replaces), and its power."""

from __future__ import annotations

import math
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal, stats
from sklearn.metrics import brier_score_loss, log_loss

from workbench.errors import DataValidationError
from workbench.evaluation import LossTestResult, newey_west_t_stat, paired_loss_test
from workbench.evaluation._loss_test import (
    default_hac_lags,
    event_losses,
    fixed_b_t_approximation,
    label_overlap_lags,
)

FAST = settings(max_examples=25, deadline=None)
NEW_YORK = ZoneInfo("America/New_York")


@cache
def _event_times(n_sessions: int, n_minutes: int, n_names: int) -> np.ndarray:
    """Event times: ``n_minutes`` five-minute steps from 09:35 New York on consecutive business days."""
    days = pd.bdate_range("2024-11-04", periods=n_sessions)
    minutes = np.concatenate([pd.date_range(day + pd.Timedelta(hours=14, minutes=35), periods=n_minutes,
                                            freq="5min", tz="UTC") for day in days])
    return np.repeat(minutes, n_names)


def correlated_panel(rng: np.random.Generator, *, n_sessions: int = 8, n_minutes: int = 60, n_names: int = 20,
                     phi: float = 0.5, overlap: int = 2, edge: float = 0.0) -> pd.DataFrame:
    """A prediction panel whose loss differences are correlated within minutes and across them.

    The outcome shares an AR(1) factor (coefficient ``phi`` per minute, restarting each session) across names,
    its idiosyncratic part is a moving sum over ``overlap + 1`` minutes (overlapping labels), and each
    predictor's error has an AR(1) factor of its own. With ``edge = 0`` the two predictors are exchangeable,
    so their expected losses are equal: the null. With ``edge > 0`` the outcome also loads on a signal that
    only ``model`` sees.
    """
    n_rows = n_sessions * n_minutes
    shocks = rng.normal(size=(3, n_sessions, n_minutes))
    factors = signal.lfilter([math.sqrt(1.0 - phi**2)], [1.0, -phi], shocks, axis=-1).reshape(3, n_rows, 1)
    raw = rng.normal(size=(n_rows + overlap, n_names))
    idiosyncratic = np.lib.stride_tricks.sliding_window_view(raw, overlap + 1, axis=0).sum(axis=-1)
    idiosyncratic /= math.sqrt(overlap + 1)
    hidden = rng.normal(size=(n_rows, n_names))
    y = (factors[0] + idiosyncratic + edge * hidden > 0).astype(np.float64)
    model = 0.5 * (factors[1] + rng.normal(size=(n_rows, n_names))) + edge * hidden
    reference = 0.5 * (factors[2] + rng.normal(size=(n_rows, n_names)))
    return pd.DataFrame({"ts": _event_times(n_sessions, n_minutes, n_names),
                         "ticker": np.tile([f"T{k:02d}" for k in range(n_names)], n_rows), "y": y.ravel(),
                         "model": stats.logistic.cdf(model).ravel(),
                         "reference": stats.logistic.cdf(reference).ravel()})


def small_panel(seed: int, n_minutes: int = 40, n_names: int = 6, n_sessions: int = 4) -> pd.DataFrame:
    """An unbalanced panel (each minute keeps a random subset of names) over several sessions."""
    rng = np.random.default_rng(seed)
    frame = correlated_panel(rng, n_sessions=n_sessions, n_minutes=n_minutes // n_sessions, n_names=n_names,
                             edge=0.3)
    keep = rng.random(len(frame)) < 0.7
    keep[:: n_names] = True  # every minute keeps at least one name
    return frame[keep].sample(frac=1.0, random_state=seed).reset_index(drop=True)


def _minute_series(frame: pd.DataFrame, loss: str = "log_loss") -> tuple[np.ndarray, np.ndarray]:
    """(mean loss difference, events) per minute, sorted by time, by a plain groupby."""
    d = event_losses(frame["y"].to_numpy(), frame["model"].to_numpy(), loss) - event_losses(
        frame["y"].to_numpy(), frame["reference"].to_numpy(), loss)
    grouped = pd.Series(d).groupby(frame["ts"].to_numpy()).agg(["mean", "size"]).sort_index()
    return grouped["mean"].to_numpy(), grouped["size"].to_numpy()


@pytest.mark.parametrize("loss", ["log_loss", "brier"])
def test_per_event_losses_average_to_sklearns(loss: str) -> None:
    frame = small_panel(1)
    y = frame["y"].to_numpy()
    for column in ("model", "reference"):
        p = frame[column].to_numpy()
        expected = log_loss(y, p) if loss == "log_loss" else brier_score_loss(y, p)
        assert event_losses(y, p, loss).mean() == pytest.approx(expected, rel=1e-12)
    result = paired_loss_test(frame, "model", "reference", loss=loss)
    difference = (log_loss(y, frame["model"]) - log_loss(y, frame["reference"]) if loss == "log_loss"
                  else brier_score_loss(y, frame["model"]) - brier_score_loss(y, frame["reference"]))
    assert result.mean == pytest.approx(difference, rel=1e-10)


def test_certain_wrong_forecasts_cost_a_finite_clipped_loss() -> None:
    losses = event_losses(np.array([1.0, 0.0]), np.array([0.0, 1.0]), "log_loss")
    np.testing.assert_allclose(losses, -math.log(1e-15), rtol=1e-4)  # 1 - 1e-15 rounds in float64


def test_hac_standard_error_equals_statsmodels_ols_on_a_balanced_minute_series() -> None:
    frame = correlated_panel(np.random.default_rng(2), n_sessions=3, n_minutes=50, n_names=10, edge=0.2)
    means, sizes = _minute_series(frame)
    assert (sizes == 10).all()
    for lags in (0, 3, 17):
        result = paired_loss_test(frame, "model", "reference", nw_lags=lags)
        fit = sm.OLS(means, np.ones((len(means), 1))).fit(cov_type="HAC", cov_kwds={"maxlags": lags,
                                                                                     "use_correction": True})
        assert result.mean == pytest.approx(float(fit.params[0]), rel=1e-10)
        assert result.std_error == pytest.approx(float(fit.bse[0]), rel=1e-10)
        assert result.mean / result.std_error == pytest.approx(newey_west_t_stat(means, lags), rel=1e-10)
        np.testing.assert_allclose(result.series.to_numpy(), means, rtol=1e-12)


def test_hac_on_an_unbalanced_panel_equals_statsmodels_wls_weighted_by_events() -> None:
    frame = small_panel(3, n_minutes=60)
    means, sizes = _minute_series(frame, "brier")
    assert len(set(sizes.tolist())) > 1
    result = paired_loss_test(frame, "model", "reference", loss="brier", nw_lags=4)
    fit = sm.WLS(means, np.ones((len(means), 1)), weights=sizes).fit(
        cov_type="HAC", cov_kwds={"maxlags": 4, "use_correction": True})
    assert result.mean == pytest.approx(float(fit.params[0]), rel=1e-10)
    assert result.std_error == pytest.approx(float(fit.bse[0]), rel=1e-10)
    df, scale = fixed_b_t_approximation(result.n_minutes, 4)
    half_width = stats.t.ppf(0.975, df) / scale * result.std_error
    assert (result.ci_low, result.ci_high) == pytest.approx((result.mean - half_width, result.mean + half_width))
    assert result.p_value == pytest.approx(2 * stats.t.sf(abs(result.mean / result.std_error) * scale, df))


@pytest.mark.parametrize(("b", "kv_975", "kv_95"), [(0.02, 2.0196, 1.6888), (0.1, 2.2606, 1.8663),
                                                    (0.2, 2.5663, 2.0919)])
def test_fixed_b_critical_values_match_kiefer_vogelsang(b: float, kv_975: float, kv_95: float) -> None:
    """Their cubic fits (Bartlett kernel): 1.96 + 2.9694 b + 0.4160 b^2 - 0.5324 b^3 at 97.5 %,
    1.6449 + 2.1859 b + 0.3142 b^2 - 0.3427 b^3 at 95 %."""
    n = 10_000
    df, scale = fixed_b_t_approximation(n, round(b * n) - 1)
    assert stats.t.ppf(0.975, df) / scale == pytest.approx(kv_975, rel=0.01)
    assert stats.t.ppf(0.95, df) / scale == pytest.approx(kv_95, rel=0.015)
    assert fixed_b_t_approximation(n, 0) == pytest.approx((n - 1, 1.0), rel=1e-3)


def test_default_lags_cover_the_label_overlap_read_from_t1() -> None:
    frame = correlated_panel(np.random.default_rng(4), n_sessions=2, n_minutes=200, n_names=3)
    assert default_hac_lags(400) == 26 == paired_loss_test(frame, "model", "reference").nw_lags
    frame["t1"] = frame["ts"] + pd.Timedelta(minutes=5 * 40 + 1)  # reaches 40 later event minutes
    assert paired_loss_test(frame, "model", "reference", t1="t1").nw_lags == 40
    assert paired_loss_test(frame, "model", "reference", t1="t1", nw_lags=3).nw_lags == 3


@given(st.lists(st.integers(0, 30), min_size=1, max_size=30), st.data())
@FAST
def test_label_overlap_lags_equals_a_slow_count(gaps: list[int], data: st.DataObject) -> None:
    minutes = np.cumsum(np.asarray(gaps) + 1).astype(np.int64)
    ends = np.asarray([m + data.draw(st.integers(0, 60)) for m in minutes], dtype=np.int64)
    slow = max(sum(1 for later in minutes[i + 1:] if later < ends[i]) for i in range(len(minutes)))
    assert label_overlap_lags(minutes, ends) == slow


def _slow_bootstrap(frame: pd.DataFrame, n_boot: int, seed: int, alpha: float) -> tuple[float, float, float]:
    """The session bootstrap-t written as a loop over replicates and events: (low, high, p)."""
    per_session: dict[object, list[float]] = {}
    for row in frame.sort_values("ts").itertuples():
        y, pm, pr = row.y, row.model, row.reference
        d = -(y * math.log(pm) + (1 - y) * math.log(1 - pm)) + (y * math.log(pr) + (1 - y) * math.log(1 - pr))
        per_session.setdefault(row.ts.astimezone(NEW_YORK).date(), []).append(d)
    clusters = [per_session[day] for day in sorted(per_session)]
    g = len(clusters)

    def mean_and_se(chosen: list[list[float]]) -> tuple[float, float]:
        n = sum(len(c) for c in chosen)
        mean = sum(sum(c) for c in chosen) / n
        return mean, math.sqrt(g / (g - 1) * sum((sum(c) - mean * len(c)) ** 2 for c in chosen)) / n

    mean, se = mean_and_se(clusters)
    draws = np.random.default_rng(seed).integers(0, g, size=(n_boot, g))
    t_star = []
    for draw in draws:
        boot_mean, boot_se = mean_and_se([clusters[j] for j in draw])
        if boot_se > 0:
            t_star.append((boot_mean - mean) / boot_se)
        else:  # one session drawn g times: no spread
            t_star.append(0.0 if boot_mean == mean else math.copysign(math.inf, boot_mean - mean))
    ordered = sorted(t_star)

    def quantile(q: float) -> float:  # the smallest t* whose empirical CDF reaches q
        return ordered[math.ceil(q * n_boot) - 1]

    t_obs = mean / se
    p = min(1.0, 2 * min(sum(t >= t_obs for t in t_star), sum(t <= t_obs for t in t_star)) / n_boot)
    return mean - quantile(1 - alpha / 2) * se, mean - quantile(alpha / 2) * se, p


@pytest.mark.parametrize(("seed", "alpha", "n_sessions"), [(0, 0.05, 6), (7, 0.1, 6), (1, 0.05, 4)])
def test_session_bootstrap_equals_a_slow_loop_with_the_same_rng(seed: int, alpha: float, n_sessions: int) -> None:
    """With 4 sessions about 1/64 of the 2,000 replicates draw one session 4 times (t* = +/-inf); the
    95 % interval stays finite."""
    frame = small_panel(5, n_minutes=60, n_sessions=n_sessions)
    result = paired_loss_test(frame, "model", "reference", method="block_bootstrap", n_boot=2000, seed=seed,
                              alpha=alpha)
    low, high, p = _slow_bootstrap(frame, 2000, seed, alpha)
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high), rel=1e-9)
    assert result.p_value == pytest.approx(p)
    assert (result.n_sessions, result.n_boot, result.nw_lags) == (n_sessions, 2000, None)
    assert np.isfinite(result.ci_low) and result.ci_low < result.mean < result.ci_high < np.inf


def _rejections(method: str, n_repetitions: int, seed: int, **panel: float) -> int:
    rng = np.random.default_rng(seed)
    return sum(paired_loss_test(correlated_panel(rng, **panel), "model", "reference", method=method,
                                n_boot=499).model_better for _ in range(n_repetitions))


# Under the null "model better" is a one-sided test at alpha / 2 = 2.5 %. With 600 repetitions a procedure
# whose true rate is 2.5 % exceeds this count with probability 0.07 %; one at 5 % would exceed it 60 % of times.
N_NULL = 600
NULL_BOUND = int(stats.binom.ppf(0.999, N_NULL, 0.025))


@pytest.mark.parametrize("method", ["hac", "block_bootstrap"])
def test_calibration_no_more_false_skill_than_alpha_over_two_on_a_correlated_null(method: str) -> None:
    rejected = _rejections(method, N_NULL, seed=10)
    assert rejected <= NULL_BOUND, f"{method}: {rejected}/{N_NULL} false verdicts of skill (bound {NULL_BOUND})"


def test_the_naive_per_event_test_over_rejects_on_the_same_null() -> None:
    """The test this module replaces: every event an independent draw. Same null, many false verdicts."""
    rng = np.random.default_rng(10)
    rejected = 0
    for _ in range(200):
        frame = correlated_panel(rng)
        y = frame["y"].to_numpy()
        d = event_losses(y, frame["model"].to_numpy(), "log_loss") - event_losses(
            y, frame["reference"].to_numpy(), "log_loss")
        rejected += d.mean() + stats.norm.ppf(0.975) * d.std(ddof=1) / math.sqrt(len(d)) < 0
    assert rejected >= 20 > stats.binom.ppf(0.999, 200, 0.025), f"naive test: {rejected}/200"


@pytest.mark.parametrize("method", ["hac", "block_bootstrap"])
def test_power_a_genuinely_better_predictor_is_detected(method: str) -> None:
    assert _rejections(method, 40, seed=20, edge=0.6) >= 38  # a log-loss edge of about 0.05


def test_a_worse_model_is_called_worse_and_the_summary_names_the_interval() -> None:
    frame = correlated_panel(np.random.default_rng(6), edge=0.5)
    better = paired_loss_test(frame, "model", "reference")
    worse = paired_loss_test(frame, "reference", "model")
    assert better.model_better and better.verdict == "better"
    assert worse.reference_better and not worse.model_better and worse.verdict == "worse"
    assert str(better).startswith("log-loss model \u2212 reference = \u22120.")
    assert f"(95 % HAC CI, 480 minutes, {better.nw_lags} lags): better" in str(better)
    boot = paired_loss_test(frame, "model", "reference", loss="brier", method="block_bootstrap", alpha=0.1)
    assert "(90 % session-bootstrap CI, 8 sessions, 480 minutes): better" in str(boot)
    summary = better.summary()
    assert summary["model_better"] and summary["verdict"] == "better" and summary["n_events"] == len(frame)
    assert isinstance(better, LossTestResult)


@pytest.mark.parametrize("method", ["hac", "block_bootstrap"])
def test_identical_predictors_differ_by_exactly_nothing(method: str) -> None:
    frame = small_panel(8, n_sessions=4).assign(reference=lambda f: f["model"])
    result = paired_loss_test(frame, "model", "reference", method=method)
    assert (result.mean, result.ci_low, result.ci_high, result.p_value) == (0.0, 0.0, 0.0, 1.0)
    assert result.verdict == "no significant difference"


@given(st.integers(0, 10_000), st.sampled_from(["log_loss", "brier"]))
@FAST
def test_hac_is_antisymmetric_in_the_pair_and_blind_to_row_order(seed: int, loss: str) -> None:
    frame = small_panel(seed)
    forward = paired_loss_test(frame, "model", "reference", loss=loss)
    backward = paired_loss_test(frame, "reference", "model", loss=loss)
    shuffled = paired_loss_test(frame.sample(frac=1.0, random_state=seed + 1), "model", "reference", loss=loss)
    assert backward.mean == pytest.approx(-forward.mean, abs=1e-12)
    assert (backward.ci_low, backward.ci_high) == pytest.approx((-forward.ci_high, -forward.ci_low), abs=1e-12)
    assert backward.p_value == pytest.approx(forward.p_value, abs=1e-12)
    for name in ("mean", "std_error", "ci_low", "ci_high", "p_value"):
        assert getattr(shuffled, name) == pytest.approx(getattr(forward, name), abs=1e-12)


def _bad(frame: pd.DataFrame, column: str, value: object, row: int = 0) -> pd.DataFrame:
    out = frame.copy()
    out[column] = out[column].astype(object) if not isinstance(value, float) else out[column]
    out.loc[row, column] = value
    return out


@pytest.mark.parametrize(("change", "kwargs", "match"), [
    (lambda f: f.drop(columns="reference"), {}, r"missing required column\(s\) \['reference'\]"),
    (lambda f: f.assign(model=f["model"] * 2), {}, r"'model' must hold probabilities in \[0, 1\]"),
    (lambda f: _bad(f, "reference", float("nan")), {}, r"'reference' has 1 NaN value\(s\)"),
    (lambda f: f.assign(y=f["y"] * 2), {}, r"'y' must be binary 0/1"),
    (lambda f: f.assign(ts=f["ts"].dt.tz_localize(None)), {}, r"'ts' is timezone-naive; localize it"),
    (lambda f: f.assign(ts=f["ts"].astype(str)), {}, r"'ts' must hold tz-aware timestamps"),
    (lambda f: pd.concat([f, f.iloc[:1]], ignore_index=True), {}, r"duplicate \(ts, ticker\) row"),
    (lambda f: f[f["ts"] < f["ts"].min() + pd.Timedelta(minutes=45)], {}, r"HAC test needs at least 10"),
    (lambda f: f[f["ts"] < f["ts"].min() + pd.Timedelta(days=1)], {"method": "block_bootstrap"},
     r"1 New York session\(s\); the session bootstrap needs at least 4"),
    (lambda f: f[f["ts"] < f["ts"].min() + pd.Timedelta(days=3)], {"method": "block_bootstrap"},
     r"3 New York session\(s\); the session bootstrap needs at least 4"),
    (lambda f: f.assign(t1=f["ts"] - pd.Timedelta(minutes=1)), {"t1": "t1"}, r"'t1' ends before 'ts'"),
    (lambda f: f.iloc[:0], {}, r"frame has no rows"),
])
def test_bad_input_gets_a_one_line_error(change: object, kwargs: dict[str, object], match: str) -> None:
    frame = correlated_panel(np.random.default_rng(9), n_sessions=4, n_minutes=20, n_names=4)
    with pytest.raises(DataValidationError, match=match) as error:
        paired_loss_test(change(frame), "model", "reference", **kwargs)  # type: ignore[operator]
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"method": "iid"}, "method must be one of"), ({"loss": "hinge"}, "loss must be one of"),
    ({"alpha": 1.5}, "alpha must lie strictly between 0 and 1"), ({"nw_lags": -1}, "nw_lags must be"),
    ({"n_boot": 10}, "n_boot must be an integer >= 100"), ({"reference": "model"}, "the same column 'model'"),
])
def test_bad_arguments_are_refused(kwargs: dict[str, object], match: str) -> None:
    frame = correlated_panel(np.random.default_rng(9), n_sessions=4, n_minutes=20, n_names=4)
    arguments = {"model": "model", "reference": "reference", **kwargs}
    with pytest.raises(ValueError, match=match):
        paired_loss_test(frame, **arguments)  # type: ignore[arg-type]
