"""The baseline and LightGBM models: reproducible, honest early stopping, text persistence, Optuna tuning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from workbench.errors import DataValidationError
from workbench.models import LightGBMModel, LogisticBaseline, tune_lightgbm


def _panel(n_minutes: int = 1500, n_names: int = 8, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, pd.Series]:
    """Features with a linear signal in ``a``, a per-ticker effect, noise in ``b``; labels end 3 minutes on."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2024-11-25 14:31", periods=n_minutes, freq="min", tz="UTC").repeat(n_names)
    names = np.tile([f"T{k}" for k in range(n_names)], n_minutes)
    X = pd.DataFrame({"a": rng.normal(size=len(ts)), "b": rng.normal(size=len(ts)),
                      "ticker": pd.Categorical(names)}, index=pd.MultiIndex.from_arrays([ts, names],
                                                                                          names=["ts", "ticker"]))
    X.loc[X.index[::17], "b"] = np.nan
    effect = (X["ticker"].cat.codes.to_numpy() % 2) * 0.8 - 0.4
    y = (0.6 * X["a"].to_numpy() + effect + rng.normal(size=len(ts)) > 0).astype(int)
    t1 = pd.Series(ts + pd.Timedelta(minutes=3), index=ts)
    return X, y, t1


def test_baseline_is_a_standardized_logistic_regression_on_numeric_columns() -> None:
    X, y, _ = _panel(400)
    ours = LogisticBaseline(C=0.5).fit(X, y).predict_proba(X)[:, 1]
    reference = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(C=0.5))
    expected = reference.fit(X[["a", "b"]], y).predict_proba(X[["a", "b"]])[:, 1]
    np.testing.assert_allclose(ours, expected, rtol=1e-9)


def test_lightgbm_learns_numeric_and_categorical_effects_reproducibly() -> None:
    X, y, t1 = _panel()
    first = LightGBMModel(n_estimators=200, seed=3).fit(X, y, t1=t1)
    second = LightGBMModel(n_estimators=200, seed=3).fit(X, y, t1=t1)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    assert roc_auc_score(y, first.predict_proba(X)[:, 1]) > 0.7
    assert set(first.feature_importance().index[:2]) == {"a", "ticker"}
    baseline = LogisticBaseline().fit(X, y)
    assert roc_auc_score(y, first.predict_proba(X)[:, 1]) > roc_auc_score(y, baseline.predict_proba(X)[:, 1])


def test_early_stopping_slice_is_the_end_of_the_window_and_labels_reaching_it_are_purged() -> None:
    X, y, t1 = _panel(300, 4)
    model = LightGBMModel(n_estimators=50, validation_fraction=0.2).fit(X, y, t1=t1)
    times = np.unique(X.index.get_level_values("ts"))
    first_stop = times[int(np.floor(len(times) * 0.8))]
    expected_stop = int((X.index.get_level_values("ts") >= first_stop).sum())
    expected_fit = sum(1 for start, end in zip(t1.index, t1, strict=True) if start < first_stop and end < first_stop)
    assert (model.n_stop_rows_, model.n_fit_rows_) == (expected_stop, expected_fit)
    assert model.n_fit_rows_ + model.n_stop_rows_ < len(X)  # the 3-minute labels before the slice were purged


def test_sample_weights_reach_the_booster() -> None:
    X, y, _ = _panel(400, 4)
    weights = np.where(np.arange(len(X)) % 2 == 0, 1.0, 0.0)
    weighted = LightGBMModel(n_estimators=30, early_stopping_rounds=None, min_child_samples=20).fit(
        X, y, sample_weight=weights)
    unweighted = LightGBMModel(n_estimators=30, early_stopping_rounds=None, min_child_samples=20).fit(X, y)
    assert not np.allclose(weighted.predict_proba(X), unweighted.predict_proba(X))


def test_model_saves_as_lightgbm_text_and_loads_identically(tmp_path: Path) -> None:
    X, y, t1 = _panel(300, 4)
    model = LightGBMModel(n_estimators=60).fit(X, y, t1=t1)
    path = model.save(tmp_path / "model.txt")
    assert path.read_text().startswith("tree")  # LightGBM's text format, not a pickle
    loaded = LightGBMModel.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_optuna_study_lives_in_the_storage_and_is_reproducible(tmp_path: Path) -> None:
    X, y, t1 = _panel(300, 4)
    kwargs = {"cv": KFold(3), "t1": t1, "n_trials": 4, "seed": 7, "model_params": {"n_estimators": 40}}
    first = tune_lightgbm(X, y, storage=f"sqlite:///{tmp_path / 'a.db'}", **kwargs)
    second = tune_lightgbm(X, y, storage=f"sqlite:///{tmp_path / 'b.db'}", **kwargs)
    assert first.best_params == second.best_params and first.best_value == pytest.approx(second.best_value)
    reopened = optuna.load_study(study_name="lightgbm", storage=f"sqlite:///{tmp_path / 'a.db'}")
    assert len(reopened.trials) == 4 and reopened.best_value == pytest.approx(first.best_value)
    more = tune_lightgbm(X, y, storage=f"sqlite:///{tmp_path / 'a.db'}", **{**kwargs, "n_trials": 2})
    assert len(more.study.trials) == 6  # a second worker adds to the same study


def test_bad_inputs_are_named() -> None:
    X, y, _ = _panel(50, 2)
    with pytest.raises(DataValidationError, match="neither numeric nor categorical"):
        LightGBMModel().fit(X.assign(name="x"), y)
    with pytest.raises(DataValidationError, match="binary"):
        LogisticBaseline().fit(X, y * 2)
    with pytest.raises(DataValidationError, match="sample_weight"):
        LightGBMModel().fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(DataValidationError, match="row-aligned"):
        LightGBMModel().fit(X, y, t1=pd.Series([], dtype="datetime64[ns, UTC]"))
