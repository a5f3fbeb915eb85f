"""04_shap executes on the suite's small run and shows the global importance (mean |SHAP| of the run's
shap_values.parquet), the importance by volatility regime, the dependence and interaction views, and a waterfall
that ends at the model's log-odds for the explained row."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pandas as pd

from tests.notebooks.conftest import ExecutedNotebook, cell_outputs
from workbench.pipeline import RunResult

PLOTLY = "application/vnd.plotly.v1+json"


def values(array: Any) -> np.ndarray:
    """A plotly JSON array: a list, or a typed array ({"dtype", "bdata"} base64) as plotly 6+ writes numpy data."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])
    return np.asarray(array)


def test_shap_shows_importance_regimes_dependence_interactions_and_a_waterfall(run_notebook: ExecutedNotebook,
                                                                                small_run: RunResult) -> None:
    notebook = run_notebook("04_shap", run=str(small_run.path), top_n=8)
    figures = cell_outputs(notebook, PLOTLY)
    titles = [figure["layout"]["title"]["text"] for figure in figures]
    assert len(figures) == 5
    importance, regimes, dependence, interactions, waterfall = figures
    assert titles[:2] == ["Global feature importance (mean |SHAP|, log-odds)", "Mean |SHAP| by volatility regime"]
    assert titles[3].startswith("Approximate SHAP interaction strength")

    expected = pd.read_parquet(small_run.path / "shap_values.parquet").abs().mean().sort_values(ascending=False)
    bars = importance["data"][0]
    assert list(bars["y"]) == list(expected.index[:8][::-1])
    np.testing.assert_allclose(values(bars["x"]), expected.to_numpy()[:8][::-1], rtol=1e-12)
    assert [trace["name"] for trace in regimes["data"]] == ["calm", "normal", "stressed"]
    assert titles[2].startswith(f"SHAP dependence of {expected.index[0]}, colored by ")
    assert len(interactions["data"][0]["x"]) == 8

    fold = small_run.run_metrics.explained_fold
    assert titles[4].startswith("SHAP waterfall: ") and titles[4].endswith(f"fold {fold} lightgbm")
    steps = values(waterfall["data"][0]["x"])
    predictions = small_run.predictions[small_run.predictions["fold"] == fold]
    confident = predictions.loc[(predictions["p_lightgbm"] - 0.5).abs().idxmax()]
    log_odds = np.log(confident["p_lightgbm"] / (1 - confident["p_lightgbm"]))
    assert titles[4].startswith(f"SHAP waterfall: {confident['ticker']} at ")
    assert abs(steps[:-1].sum() - log_odds) < 1e-6 and abs(steps[-1] - log_odds) < 1e-6
    assert any("explained rows of" in text for text in cell_outputs(notebook, "stream"))
