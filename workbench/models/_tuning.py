"""Optuna tuning of the LightGBM model: TPE sampling, median pruning fold by fold, and a study kept in a
storage URL — a SQLite file by default, any SQLAlchemy RDB URL to share one study across processes or
machines (each worker calls ``tune_lightgbm`` with the same URL and study name)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.metrics import log_loss
from sklearn.model_selection import BaseCrossValidator

from workbench.models._frame import check_features, check_labels, check_weights
from workbench.models._lightgbm import LightGBMModel

SearchSpace = Callable[[optuna.Trial], dict[str, Any]]


def default_search_space(trial: optuna.Trial) -> dict[str, Any]:
    """The LightGBM parameters worth tuning on noisy minute data, in ranges that keep trees shallow."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 7, 63, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 50, 2000, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 30.0, log=True),
    }


def default_storage(folder: str | Path = ".") -> str:
    """A SQLite study file in ``folder``."""
    return f"sqlite:///{(Path(folder) / 'optuna.db').resolve()}"


@dataclass(frozen=True)
class TuningResult:
    """The best parameters, their cross-validated log-loss, and the study (with every trial)."""

    best_params: dict[str, Any]
    best_value: float
    study: optuna.Study

    def trials_frame(self) -> pd.DataFrame:
        """One row per trial (state, value, parameters)."""
        return self.study.trials_dataframe()


def tune_lightgbm(X: pd.DataFrame, y: object, *, cv: BaseCrossValidator, t1: pd.Series | None = None,
                  sample_weight: object = None, n_trials: int = 20, timeout: float | None = None,
                  storage: str | None = None, study_name: str = "lightgbm", seed: int = 0,
                  search_space: SearchSpace = default_search_space, model_params: dict[str, Any] | None = None
                  ) -> TuningResult:
    """Minimize the mean out-of-fold log-loss over ``cv``'s splits (a purged splitter); a trial whose
    running mean is worse than the median of earlier trials at the same fold is pruned.

    Reproducible by ``seed`` when trials run one at a time; with a shared ``storage`` several processes
    can add trials to the same study (``load_if_exists``).
    """
    check_features(X)
    labels = check_labels(y, len(X))
    weights = check_weights(sample_weight, len(X))
    splits = list(cv.split(X, labels))
    if not splits:
        raise ValueError("the splitter yields no folds")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=storage or default_storage(), study_name=study_name, direction="minimize",
                                load_if_exists=True, sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1))

    def objective(trial: optuna.Trial) -> float:
        params = {**(model_params or {}), **search_space(trial), "seed": seed}
        losses = []
        for step, (train, test) in enumerate(splits):
            model = LightGBMModel(**params).fit(X.iloc[train], labels[train],
                                                None if weights is None else weights[train],
                                                t1=None if t1 is None else t1.iloc[train])
            p = model.predict_proba(X.iloc[test])[:, 1]
            losses.append(log_loss(labels[test], p, labels=[0, 1],
                                   sample_weight=None if weights is None else weights[test]))
            trial.report(float(np.mean(losses)), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(np.mean(losses))

    study.optimize(objective, n_trials=n_trials, timeout=timeout)
    return TuningResult(best_params=dict(study.best_params), best_value=float(study.best_value), study=study)
