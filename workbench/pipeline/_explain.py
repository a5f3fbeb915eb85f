"""The explanation stage: TreeSHAP of one fold's tree model on that fold's test rows (out of sample), with
the importance, importance-by-volatility-regime, dependence and interaction figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from workbench.evaluation._shap import (
    ShapResult,
    dependence_figure,
    explain,
    importance_by_regime_figure,
    importance_figure,
    interaction_figure,
    volatility_regimes,
)
from workbench.models import LightGBMModel
from workbench.pipeline._config import PipelineConfig
from workbench.pipeline._dataset import ResearchData
from workbench.pipeline._walk import WalkForwardResult


@dataclass(frozen=True)
class Explanation:
    """SHAP values of ``model_name``'s fold-``fold`` model on (a seeded sample of) that fold's test rows."""

    shap: ShapResult
    fold: int
    model_name: str
    n_test_rows: int
    figures: dict[str, go.Figure]

    @property
    def caption(self) -> str:
        """What the SHAP figures explain, for the report."""
        return (f"SHAP explains fold {self.fold}'s {self.model_name} model on its test rows "
                f"({len(self.shap.values):,} of {self.n_test_rows:,}, out of sample).")


def explain_model(config: PipelineConfig, model: Any, X: pd.DataFrame, *, fold: int,
                  model_name: str = "lightgbm") -> Explanation:
    """SHAP of ``model`` (a :class:`LightGBMModel`) on the rows ``X`` — pass the test rows of the fold it was
    fitted for, so the explanation is out of sample."""
    if not isinstance(model, LightGBMModel):
        raise TypeError(f"SHAP explains tree models: {model_name} is a {type(model).__name__}; list a lightgbm model "
                        "first in model.models")
    result = explain(model, X, max_rows=config.evaluation.shap_rows, seed=config.seed)
    suffix = f" (fold {fold}, {model_name})"
    figures = {f"SHAP importance{suffix}": importance_figure(result)}
    volatility = next((c for c in ("rv_60", "rv_15", "atr_n_14") if c in result.data), None)
    if volatility is not None:
        table = result.importance_by(volatility_regimes(result.data[volatility]))
        figures[f"SHAP importance by volatility regime{suffix}"] = importance_by_regime_figure(table)
    top = result.global_importance().index[0]
    figures[f"SHAP dependence {top}{suffix}"] = dependence_figure(result, top)
    figures[f"SHAP interactions{suffix}"] = interaction_figure(result)
    return Explanation(shap=result, fold=fold, model_name=model_name, n_test_rows=len(X), figures=figures)


def explain_fold(config: PipelineConfig, data: ResearchData, result: WalkForwardResult,
                 fold: int | None = None) -> Explanation | None:
    """SHAP of the first tree model of the run on fold ``fold``'s test rows (default: the last fold);
    None when the run fits no tree model."""
    fold = result.last_fold if fold is None else fold
    name = next((spec.name for spec in result.specs if spec.kind == "lightgbm"), None)
    if name is None:
        return None
    return explain_model(config, result.models[fold][name], data.X.iloc[result.test_rows[fold]], fold=fold,
                         model_name=name)
