"""The walk-forward stage: purged, embargoed folds over the research table; every configured model fitted on
each fold's training window and scored on its test window (optionally after Optuna tuning of the first
LightGBM model on the first training window)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench._progress import progress as progress_bar
from workbench.models import MODEL_KINDS, LightGBMModel, tune_lightgbm
from workbench.models._tuning import default_storage
from workbench.pipeline._config import ModelSpec, PipelineConfig
from workbench.pipeline._dataset import ResearchData
from workbench.validation import PurgedKFold, WalkForward

PREDICTION_COLUMNS = ("ts", "ticker", "y", "ret", "t1", "entry_ts", "weight", "barrier")


@dataclass(frozen=True)
class WalkForwardResult:
    """Out-of-sample predictions (``p_<model>`` per configured model, ``fold``), the folds' windows and sizes,
    the fitted models per fold (``models[k][name]``), each fold's test rows (positions in the research table)
    and the tuning result (None: no tuning)."""

    predictions: pd.DataFrame
    folds: list[dict[str, Any]]
    models: list[dict[str, Any]]
    test_rows: list[np.ndarray]
    specs: tuple[ModelSpec, ...]
    tuning: dict[str, Any] | None = None

    @property
    def last_fold(self) -> int:
        """The most recent fold: the one whose primary model the run explains."""
        return len(self.folds) - 1


def splits(config: PipelineConfig, data: ResearchData) -> list[tuple[np.ndarray, np.ndarray]]:
    """The walk-forward (train, test) row positions of the configured cv section on ``data``."""
    cv = config.cv
    splitter = WalkForward(train_days=cv.train_days, test_days=cv.test_days, step=cv.step_days,
                           embargo=cv.embargo_bars, expanding=cv.expanding, t1=data.t1)
    found = list(splitter.split(data.X))
    if not found:
        raise ValueError("the walk-forward configuration yields no folds on this data; shorten cv.train_days or add "
                         "sessions")
    return found


def tune(config: PipelineConfig, data: ResearchData, train: np.ndarray, folder: Path | None) -> dict[str, Any]:
    """Optuna on the first LightGBM model over ``train`` (purged k-fold inside it); the study is stored in
    ``model.storage`` or a SQLite file in ``folder`` (in memory without one)."""
    spec = next(spec for spec in config.model.specs if spec.kind == "lightgbm")
    X, t1 = data.X.iloc[train], data.t1.iloc[train]
    storage = config.model.storage or (default_storage(folder) if folder is not None else "sqlite:///:memory:")
    result = tune_lightgbm(X, data.frame["y"].to_numpy()[train],
                           cv=PurgedKFold(config.model.tuning_folds, t1=t1, embargo_pct=0.01), t1=t1,
                           sample_weight=data.frame["weight"].to_numpy()[train], n_trials=config.model.n_trials,
                           storage=storage, study_name=f"{config.name}-{config.fingerprint}", seed=config.seed,
                           model_params=spec.params)
    return {"model": spec.name, "best_params": result.best_params, "best_log_loss": result.best_value,
            "n_trials": len(result.study.trials)}


def walk_forward(config: PipelineConfig, data: ResearchData, folder: str | Path | None = None, *,
                 progress: bool = False) -> WalkForwardResult:
    """Fit every configured model on each fold's training rows and predict its test rows.

    With ``folder``, each fold's LightGBM models are saved under ``folder/models`` as LightGBM text
    (``fold_<k>.txt`` for the first, ``<name>_fold_<k>.txt`` for others) and a tuning study beside them.
    """
    folder = None if folder is None else Path(folder)
    found = splits(config, data)
    specs = config.model.specs
    tuning = tune(config, data, found[0][0], folder) if config.model.n_trials > 0 else None
    params = {spec.name: dict(spec.params) for spec in specs}
    if tuning is not None:
        params[tuning["model"]].update(tuning["best_params"])
    frame, X, t1 = data.frame, data.X, data.t1
    y, weight = frame["y"].to_numpy(), frame["weight"].to_numpy()
    pieces, folds, fitted, tests = [], [], [], []
    for k, (train, test) in enumerate(progress_bar(found, desc="walk-forward folds", unit="folds", enabled=progress)):
        piece = frame.iloc[test][list(PREDICTION_COLUMNS)].copy()
        piece["fold"] = k
        models: dict[str, Any] = {}
        for spec in specs:
            kind = MODEL_KINDS[spec.kind]
            model = kind.fit(kind.build(params[spec.name], config.seed), X.iloc[train], y[train], weight[train],
                             t1.iloc[train])
            piece[f"p_{spec.name}"] = model.predict_proba(X.iloc[test])[:, 1]
            models[spec.name] = model
        if folder is not None:
            _save_lightgbm(models, specs, folder / "models", k)
        first = models[specs[0].name]
        folds.append({"fold": k, "train_start": str(frame["ts"].iloc[train].min()),
                      "train_end": str(frame["ts"].iloc[train].max()), "test_start": str(piece["ts"].min()),
                      "test_end": str(piece["ts"].max()), "n_train": len(train), "n_test": len(test),
                      "best_iteration": getattr(first, "best_iteration_", None)})
        pieces.append(piece)
        fitted.append(models)
        tests.append(test)
    predictions = pd.concat(pieces, ignore_index=True)
    predictions["ticker"] = predictions["ticker"].astype(str)
    return WalkForwardResult(predictions=predictions, folds=folds, models=fitted, test_rows=tests, specs=specs,
                             tuning=tuning)


def _save_lightgbm(models: dict[str, Any], specs: tuple[ModelSpec, ...], folder: Path, fold: int) -> None:
    """LightGBM's text format for every LightGBM model of one fold (never pickle)."""
    for position, spec in enumerate(specs):
        model = models[spec.name]
        if isinstance(model, LightGBMModel):
            stem = f"fold_{fold}" if position == 0 else f"{spec.name}_fold_{fold}"
            model.save(folder / f"{stem}.txt")
