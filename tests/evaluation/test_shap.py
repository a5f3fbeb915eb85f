"""SHAP explanations agree with LightGBM's own TreeSHAP, add up to the model's log-odds, and rank the
informative feature first; the figures build."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.models.test_models import _panel
from workbench.evaluation._shap import (
    dependence_figure,
    explain,
    importance_by_regime_figure,
    importance_figure,
    interaction_figure,
    strongest_interaction,
    volatility_regimes,
)
from workbench.models import LightGBMModel


@pytest.fixture(scope="module")
def fitted() -> tuple[LightGBMModel, pd.DataFrame]:
    X, y, t1 = _panel(600, 6)
    return LightGBMModel(n_estimators=80).fit(X, y, t1=t1), X


def test_shap_values_equal_lightgbm_tree_shap_and_add_up_to_the_log_odds(fitted) -> None:
    model, X = fitted
    result = explain(model, X, max_rows=500, seed=1)
    contrib = model.booster_.predict(result.data, pred_contrib=True, num_iteration=model.best_iteration_)
    np.testing.assert_allclose(result.values.to_numpy(), contrib[:, :-1], atol=1e-9)
    p = model.predict_proba(result.data)[:, 1]
    np.testing.assert_allclose(result.values.sum(axis=1) + result.base_value, np.log(p / (1 - p)), atol=1e-6)
    assert len(result.values) == 500 and result.values.index.equals(result.data.index)


def test_importance_ranks_the_signal_and_splits_by_regime(fitted) -> None:
    model, X = fitted
    result = explain(model, X, max_rows=1000)
    assert result.global_importance().index[-1] == "b"  # pure noise explains least
    regimes = volatility_regimes(result.data["b"].abs())
    table = result.importance_by(regimes)
    assert list(table.columns) == ["calm", "normal", "stressed"]
    assert list(table.index) == list(result.global_importance().index)
    np.testing.assert_allclose(table.loc["a", "calm"],
                               result.values["a"][regimes == "calm"].abs().mean())


def test_figures_build(fitted) -> None:
    model, X = fitted
    result = explain(model, X, max_rows=400)
    assert len(importance_figure(result).data) == 1
    assert len(importance_by_regime_figure(result.importance_by(volatility_regimes(result.data["a"]))).data) == 3
    assert strongest_interaction(result, "a") in {"b", "ticker"}
    assert dependence_figure(result, "a").layout.title.text.startswith("SHAP dependence of a")
    assert np.asarray(interaction_figure(result).data[0].z).shape == (3, 3)
    with pytest.raises(ValueError, match="unknown feature"):
        dependence_figure(result, "nope")
