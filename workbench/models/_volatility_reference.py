"""A reference predictor that sees only direction-free inputs: how much apparent skill is volatility timing?

A triple-barrier label ``y = 1{upper barrier first}`` is 0 on both the lower and the vertical barrier, so a
forecast that *some* barrier will be hit (high short-term volatility against the barrier width, the open,
heavy volume) raises P(y = 1) without knowing the direction. A model can beat a base rate that way on
log-loss, ROC-AUC and precision@k with no directional skill at all. This predictor is that volatility timer,
on purpose: a logistic model on unsigned volatility and activity features only, never a signed one. Whatever
a model scores above it is the part a volatility timer cannot fake.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from workbench.errors import DataValidationError
from workbench.models._baseline import LogisticBaseline
from workbench.models._frame import check_features

#: catalog features that carry no direction (volatility, range, liquidity, activity, clock, size), used as is
DIRECTION_FREE_FEATURES: tuple[str, ...] = ("rv_15", "rv_60", "atr_n_14", "bb_width_20", "spread_bps",
                                            "volume_z_tod", "minute_of_session", "minutes_to_close", "vix",
                                            "log_mcap")
#: signed returns that enter only as their absolute value, named ``abs_<column>``
ABSOLUTE_RETURNS: tuple[str, ...] = ("ret_1", "ret_5")
#: ``rv_15 / rv_60``: short- against longer-term volatility, what decides whether a barrier set on a slow
#: volatility estimate is reached
VOLATILITY_RATIO = "rv_ratio_15_60"


def direction_free_inputs(X: pd.DataFrame) -> pd.DataFrame:
    """The direction-free inputs derivable from ``X``: the :data:`DIRECTION_FREE_FEATURES` present,
    ``abs_ret_1`` and ``abs_ret_5`` from the signed returns present, and ``rv_ratio_15_60`` when both
    volatilities are (NaN where ``rv_60`` is zero). Every other column of ``X`` is ignored."""
    columns = {name: X[name].to_numpy(dtype=np.float64) for name in DIRECTION_FREE_FEATURES if name in X}
    for name in ABSOLUTE_RETURNS:
        if name in X:
            columns[f"abs_{name}"] = np.abs(X[name].to_numpy(dtype=np.float64))
    if "rv_15" in columns and "rv_60" in columns:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = columns["rv_15"] / columns["rv_60"]
        columns[VOLATILITY_RATIO] = np.where(np.isfinite(ratio), ratio, np.nan)
    return pd.DataFrame(columns, index=X.index)


class VolatilityReference(ClassifierMixin, BaseEstimator):
    """:class:`LogisticBaseline` on :func:`direction_free_inputs` only: the volatility-timing reference.

    Flipping the sign of any return, or any signed feature (imbalance, MACD, residual returns, index lags),
    leaves its predictions unchanged; it answers "how much of a model's skill would a volatility timer have
    had". Score it with the same metrics as the models, and compare on the events that touched a horizontal
    barrier too, where ``y`` is pure direction and it should score no better than chance.

    Parameters
    ----------
    C
        Inverse L2 regularization strength of the logistic regression.
    max_iter
        lbfgs iterations.

    Attributes
    ----------
    feature_names_in_
        The derived inputs it was fitted on (e.g. ``rv_15``, ``abs_ret_1``, ``rv_ratio_15_60``).
    model_
        The fitted :class:`LogisticBaseline` (median imputation, standardization, logistic regression).
    """

    def __init__(self, C: float = 1.0, max_iter: int = 1000) -> None:
        self.C = C
        self.max_iter = max_iter

    def fit(self, X: pd.DataFrame, y: object, sample_weight: object = None) -> VolatilityReference:
        """Fit on the direction-free inputs of ``X``; ``sample_weight`` (e.g. average uniqueness) weights the
        loss. Refuses a frame holding none of them."""
        check_features(X)
        inputs = direction_free_inputs(X)
        if not len(inputs.columns):
            wanted = list(DIRECTION_FREE_FEATURES) + list(ABSOLUTE_RETURNS)
            raise DataValidationError(f"X holds none of VolatilityReference's direction-free inputs {wanted}; "
                                      f"add at least one (e.g. the catalog's rv_15) to X")
        self.model_ = LogisticBaseline(C=self.C, max_iter=self.max_iter).fit(inputs, y, sample_weight)
        self.classes_ = self.model_.classes_
        self.feature_names_in_ = np.asarray(inputs.columns, dtype=object)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """(n, 2) class probabilities from the same direction-free inputs as in :meth:`fit`."""
        check_features(X)
        inputs = direction_free_inputs(X)
        missing = [name for name in self.feature_names_in_ if name not in inputs.columns]
        if missing:
            raise DataValidationError(f"X lacks what VolatilityReference was fitted on: {missing} (derived from "
                                      f"the columns of the same name, abs_ret_k from ret_k, {VOLATILITY_RATIO} "
                                      f"from rv_15 and rv_60)")
        return self.model_.predict_proba(inputs[list(self.feature_names_in_)])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """0/1 at probability 0.5."""
        return (self.predict_proba(X)[:, 1] > 0.5).astype(np.int64)
