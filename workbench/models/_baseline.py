"""The baseline every model must beat: logistic regression on standardized numeric features."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from workbench.models._frame import check_features, check_labels, check_weights


class LogisticBaseline(ClassifierMixin, BaseEstimator):
    """Median-imputed, standardized logistic regression on the numeric columns of ``X`` (categoricals such
    as ticker and sector are left out: a linear model would need thousands of dummies for them).

    Parameters
    ----------
    C
        Inverse L2 regularization strength.
    max_iter
        lbfgs iterations.
    """

    def __init__(self, C: float = 1.0, max_iter: int = 1000) -> None:
        self.C = C
        self.max_iter = max_iter

    def fit(self, X: pd.DataFrame, y: object, sample_weight: object = None) -> LogisticBaseline:
        """Fit on the numeric columns; ``sample_weight`` (e.g. average uniqueness) weights the loss."""
        check_features(X)
        labels = check_labels(y, len(X))
        weights = check_weights(sample_weight, len(X))
        self.numeric_columns_ = [c for c in X.columns if not isinstance(X[c].dtype, pd.CategoricalDtype)]
        if not self.numeric_columns_:
            raise ValueError("LogisticBaseline needs at least one numeric column")
        self.pipeline_ = Pipeline([
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("model", LogisticRegression(C=self.C, max_iter=self.max_iter)),
        ])
        self.pipeline_.fit(X[self.numeric_columns_].to_numpy(dtype=float), labels, model__sample_weight=weights)
        self.classes_ = self.pipeline_.classes_
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """(n, 2) class probabilities."""
        check_features(X)
        missing = sorted(set(self.numeric_columns_) - set(X.columns))
        if missing:
            raise ValueError(f"X lacks the columns the model was fitted on: {missing}")
        return self.pipeline_.predict_proba(X[self.numeric_columns_].to_numpy(dtype=float))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """0/1 at probability 0.5."""
        return (self.predict_proba(X)[:, 1] > 0.5).astype(np.int64)
