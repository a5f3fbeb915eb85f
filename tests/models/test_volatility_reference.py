"""The volatility-only reference: a logistic model on direction-free inputs, blind to every sign, and the
mechanism it exposes (volatility predicts "upper barrier first" on all events, not on barrier-touching ones)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from workbench.data import bar_times, first_sessions
from workbench.errors import DataValidationError
from workbench.labels import triple_barrier_panel
from workbench.models import VolatilityReference
from workbench.models._volatility_reference import direction_free_inputs

SIGNED = ("ret_1", "ret_5", "ret_15", "imbalance", "macd_n", "resid_ret", "idx_ret_lag1", "vwap_dev")
UNSIGNED = ("rv_15", "rv_60", "atr_n_14", "bb_width_20", "spread_bps", "volume_z_tod", "minute_of_session",
            "minutes_to_close", "vix", "log_mcap")


def feature_frame(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Catalog-named features, signed and unsigned, some NaN; labels that depend on both kinds."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({name: rng.normal(size=n) for name in SIGNED})
    for name in UNSIGNED:
        X[name] = rng.lognormal(size=n)
    X["sector"] = pd.Categorical(rng.choice(["Energy", "Utilities"], size=n))
    X.loc[::13, "rv_60"] = np.nan
    X.loc[::29, "rv_60"] = 0.0  # a ratio with a zero denominator is missing, not infinite
    logit = 0.8 * X["imbalance"] + 0.5 * np.log(X["rv_15"]) + 0.3 * np.abs(X["ret_1"])
    y = (logit + rng.logistic(size=n) > 0).astype(int).to_numpy()
    return X, y


def test_it_is_the_standardized_logistic_baseline_on_the_direction_free_inputs() -> None:
    X, y = feature_frame()
    reference = VolatilityReference(C=0.5).fit(X, y)
    manual = X[list(UNSIGNED)].assign(abs_ret_1=X["ret_1"].abs(), abs_ret_5=X["ret_5"].abs(),
                                      rv_ratio_15_60=(X["rv_15"] / X["rv_60"]).replace(np.inf, np.nan))
    assert list(reference.feature_names_in_) == list(manual.columns)
    expected = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(C=0.5))
    np.testing.assert_allclose(reference.predict_proba(X)[:, 1],
                               expected.fit(manual, y).predict_proba(manual)[:, 1], rtol=1e-9)
    weights = np.random.default_rng(1).uniform(0.2, 1.0, size=len(y))
    weighted = VolatilityReference().fit(X, y, sample_weight=weights).predict_proba(X)
    assert not np.allclose(weighted, VolatilityReference().fit(X, y).predict_proba(X))
    np.testing.assert_array_equal(clone(reference).fit(X, y).predict(X), reference.predict(X))


def test_signs_and_signed_columns_never_reach_it() -> None:
    X, y = feature_frame()
    rng = np.random.default_rng(2)
    flipped = X.copy()
    flipped["ret_1"] *= rng.choice([-1.0, 1.0], size=len(X))  # signs flipped at random
    flipped["ret_5"] = -flipped["ret_5"]
    for name in ("imbalance", "macd_n", "resid_ret", "ret_15", "idx_ret_lag1", "vwap_dev"):
        flipped[name] = rng.permutation(flipped[name].to_numpy())
    original = VolatilityReference().fit(X, y)
    np.testing.assert_array_equal(VolatilityReference().fit(flipped, y).predict_proba(flipped),
                                  original.predict_proba(X))
    np.testing.assert_array_equal(original.predict_proba(flipped), original.predict_proba(X))
    assert not set(original.feature_names_in_) & set(SIGNED)
    without_signed = X.drop(columns=[c for c in SIGNED if c not in ("ret_1", "ret_5")])
    np.testing.assert_array_equal(VolatilityReference().fit(without_signed, y).predict_proba(without_signed),
                                  original.predict_proba(X))


def test_it_uses_what_is_present_and_refuses_a_frame_with_none_of_its_inputs() -> None:
    X, y = feature_frame(500)
    only_returns = VolatilityReference().fit(X[["ret_1", "imbalance"]], y)
    assert list(only_returns.feature_names_in_) == ["abs_ret_1"]
    assert list(VolatilityReference().fit(X[["rv_15", "macd_n"]], y).feature_names_in_) == ["rv_15"]
    with pytest.raises(DataValidationError, match=r"none of VolatilityReference's direction-free inputs"):
        VolatilityReference().fit(X[["imbalance", "macd_n", "sector"]], y)
    fitted = VolatilityReference().fit(X, y)
    with pytest.raises(DataValidationError, match=r"lacks what VolatilityReference was fitted on: \['rv_60', "):
        fitted.predict_proba(X.drop(columns="rv_60"))
    with pytest.raises(DataValidationError, match="y must be binary"):
        VolatilityReference().fit(X, y * 2)


def test_direction_free_inputs_never_hold_an_infinity() -> None:
    X, _ = feature_frame(200)
    X["rv_60"] = 0.0
    inputs = direction_free_inputs(X)
    assert inputs["rv_ratio_15_60"].isna().all() and np.isfinite(inputs.drop(columns="rv_ratio_15_60")).all().all()


def stochastic_volatility_market(n_tickers: int, n_sessions: int, seed: int) -> pd.DataFrame:
    """Random-walk log prices (no drift, so no direction to predict) whose volatility follows a persistent
    AR(1) in logs, on NYSE bar times; with ``rv_15``, ``rv_60``, ``ret_1``, ``ret_5`` computed as in the catalog
    (realized volatility from intraday one-bar log returns, reset each session)."""
    rng = np.random.default_rng(seed)
    times = pd.DatetimeIndex(np.concatenate([bar_times(row.open, row.close) for row in
                                             first_sessions("2024-12-02", n_sessions).itertuples()]))
    n = len(times)
    shocks = rng.normal(size=(n_tickers, n))
    log_vol = np.zeros((n_tickers, n))
    for t in range(1, n):
        log_vol[:, t] = 0.97 * log_vol[:, t - 1] + 0.2 * shocks[:, t]
    returns = 0.001 * np.exp(log_vol) * rng.standard_t(5, size=(n_tickers, n)) / np.sqrt(5 / 3)
    frames = []
    for k in range(n_tickers):
        close = 100.0 * np.exp(np.cumsum(returns[k]))
        bars = pd.DataFrame({"ts": times, "ticker": f"T{k:02d}", "close": close})
        intraday = pd.Series(np.log(close)).diff()
        day = pd.Series(times.tz_convert("America/New_York").date)
        intraday[day.ne(day.shift())] = 0.0  # a session's first bar: no overnight gap in realized volatility
        squared = intraday**2
        for window in (15, 60):
            bars[f"rv_{window}"] = np.sqrt(squared.groupby(day).rolling(window).sum().to_numpy())
        bars["ret_1"] = np.log(close) - np.log(pd.Series(close).shift(1)).to_numpy()
        bars["ret_5"] = np.log(close) - np.log(pd.Series(close).shift(5)).to_numpy()
        frames.append(bars)
    return pd.concat(frames, ignore_index=True)


def test_volatility_predicts_upper_first_on_all_events_but_not_on_barrier_touching_ones() -> None:
    """The issue's mechanism: y = 1{upper first} is 0 on the vertical barrier too, so high volatility (a
    barrier is reached) raises P(y = 1) with no direction known. On events that touched a horizontal barrier
    y is pure direction, and the volatility timer is back to chance."""
    bars = stochastic_volatility_market(n_tickers=40, n_sessions=4, seed=3)
    minute = (bars["ts"].dt.tz_convert("America/New_York") - bars["ts"].dt.tz_convert("America/New_York")
              .dt.normalize()).dt.total_seconds() // 60
    events = (minute % 5 == 0).to_numpy() & bars["rv_60"].notna().to_numpy()
    labels = triple_barrier_panel(bars[["ts", "ticker", "close"]], vertical_bars=5, events=events)
    frame = bars.join(labels[["y", "barrier"]]).dropna(subset=["y"])
    frame = frame.assign(y=frame["y"].astype(int))
    train = frame["ts"] < frame["ts"].min().normalize() + pd.Timedelta(days=2)
    features = ["rv_15", "rv_60", "ret_1", "ret_5"]
    reference = VolatilityReference().fit(frame.loc[train, features], frame.loc[train, "y"])
    test = frame[~train]
    p = reference.predict_proba(test[features])[:, 1]
    touched = test["barrier"].isin(["pt", "sl"]).to_numpy()
    assert 0.2 < touched.mean() < 0.8
    auc_all = roc_auc_score(test["y"], p)
    auc_touched = roc_auc_score(test["y"][touched], p[touched])
    assert auc_all > 0.56, auc_all
    assert abs(auc_touched - 0.5) < 0.03, auc_touched  # about 3 standard errors on ~3,300 touched events
