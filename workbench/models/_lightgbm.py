"""LightGBM for the direction label: ticker and sector as native categoricals, sample weights, and early
stopping on a purged slice at the end of the training window; saved as LightGBM's text format, never pickle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from workbench.models._frame import check_features, check_labels, check_weights
from workbench.validation._split_times import sample_times

META_SUFFIX = ".meta.json"


class LightGBMModel(ClassifierMixin, BaseEstimator):
    """Gradient-boosted trees (binary log-loss), reproducible by ``seed``.

    Early stopping watches the last ``validation_fraction`` of the training window's distinct times;
    training rows whose label ends at or after that slice starts are purged from the fit (their labels
    would overlap it), so the stopping point is chosen out of sample. Categorical columns (pandas
    ``category``, e.g. ``ticker`` and ``sector``) are split natively.
    """

    def __init__(self, n_estimators: int = 1000, learning_rate: float = 0.03, num_leaves: int = 15,
                 min_child_samples: int = 1000, subsample: float = 0.8, colsample_bytree: float = 0.8,
                 reg_lambda: float = 1.0, cat_smooth: float = 50.0, min_data_per_group: int = 500,
                 cat_l2: float = 10.0, early_stopping_rounds: int | None = 100,
                 validation_fraction: float = 0.15, seed: int = 0, n_jobs: int = 2) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.cat_smooth = cat_smooth
        self.min_data_per_group = min_data_per_group
        self.cat_l2 = cat_l2
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.n_jobs = n_jobs

    def _params(self) -> dict[str, Any]:
        return {"objective": "binary", "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
                "min_child_samples": self.min_child_samples, "subsample": self.subsample, "subsample_freq": 1,
                "colsample_bytree": self.colsample_bytree, "reg_lambda": self.reg_lambda,
                "cat_smooth": self.cat_smooth, "min_data_per_group": self.min_data_per_group,
                "cat_l2": self.cat_l2, "seed": self.seed, "deterministic": True, "force_col_wise": True,
                "num_threads": self.n_jobs, "verbosity": -1}

    def fit(self, X: pd.DataFrame, y: object, sample_weight: object = None, t1: pd.Series | None = None
            ) -> LightGBMModel:
        """Fit; ``t1`` (label end times indexed by event time, row-aligned) enables the purge, else the
        times come from ``X``'s ``ts`` index level and labels are taken to end at their own time."""
        check_features(X)
        labels = check_labels(y, len(X))
        weights = check_weights(sample_weight, len(X))
        if len(np.unique(labels)) < 2:
            raise ValueError("y holds a single class; LightGBM needs both 0 and 1 to learn a direction")
        fit_rows, stop_rows = self._early_stopping_split(X, t1)
        dataset = lgb.Dataset(X.iloc[fit_rows], labels[fit_rows],
                              weight=None if weights is None else weights[fit_rows], free_raw_data=True)
        callbacks, valid_sets = [], []
        if stop_rows is not None:
            valid_sets = [lgb.Dataset(X.iloc[stop_rows], labels[stop_rows], reference=dataset,
                                      weight=None if weights is None else weights[stop_rows])]
            callbacks = [lgb.early_stopping(self.early_stopping_rounds, verbose=False)]
        self.booster_ = lgb.train(self._params(), dataset, num_boost_round=self.n_estimators, valid_sets=valid_sets,
                                  callbacks=callbacks)
        self.best_iteration_ = int(self.booster_.best_iteration or self.n_estimators)
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_fit_rows_ = len(fit_rows)
        self.n_stop_rows_ = 0 if stop_rows is None else len(stop_rows)
        return self

    def _early_stopping_split(self, X: pd.DataFrame, t1: pd.Series | None) -> tuple[np.ndarray, np.ndarray | None]:
        everything = np.arange(len(X))
        if not self.early_stopping_rounds or not 0 < self.validation_fraction < 1:
            return everything, None
        times = sample_times(X, t1)
        t0 = times.t0_ns
        ends = t0 if times.t1_ns is None else times.t1_ns  # without t1, labels end at their own time
        distinct = times.bar_ns
        if len(distinct) < 4:
            return everything, None
        first_stop = distinct[int(np.floor(len(distinct) * (1 - self.validation_fraction)))]
        stop_rows = np.flatnonzero(t0 >= first_stop)
        fit_rows = np.flatnonzero((t0 < first_stop) & (ends < first_stop))  # purge labels reaching the slice
        if len(fit_rows) == 0 or len(stop_rows) == 0:
            return everything, None
        return fit_rows, stop_rows

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """(n, 2) class probabilities from the early-stopped model."""
        check_features(X)
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise ValueError(f"X lacks the columns the model was fitted on: {missing}")
        p = self.booster_.predict(X[list(self.feature_names_in_)], num_iteration=self.best_iteration_)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """0/1 at probability 0.5."""
        return (self.predict_proba(X)[:, 1] > 0.5).astype(np.int64)

    def feature_importance(self, kind: str = "gain") -> pd.Series:
        """Total gain (or split count) per feature, sorted."""
        values = self.booster_.feature_importance(importance_type=kind, iteration=self.best_iteration_)
        return pd.Series(values, index=self.feature_names_in_, name=kind).sort_values(ascending=False)

    def save(self, path: str | Path) -> Path:
        """Write LightGBM's text model (with its categorical mappings) and a JSON sidecar of parameters."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.booster_.save_model(str(path), num_iteration=self.best_iteration_)
        meta = {"params": self.get_params(), "best_iteration": self.best_iteration_,
                "features": [str(c) for c in self.feature_names_in_]}
        path.with_name(path.name + META_SUFFIX).write_text(json.dumps(meta, indent=2))
        return path

    @classmethod
    def load(cls, path: str | Path) -> LightGBMModel:
        """Read a model written by :meth:`save`; predictions equal the saved model's."""
        path = Path(path)
        meta = json.loads(path.with_name(path.name + META_SUFFIX).read_text())
        model = cls(**meta["params"])
        model.booster_ = lgb.Booster(model_file=str(path))
        model.best_iteration_ = int(meta["best_iteration"])
        model.classes_ = np.array([0, 1])
        model.feature_names_in_ = np.asarray(meta["features"], dtype=object)
        return model
