"""07_compare_runs executes on a sweep in the registry and shows its metric table, the metric-vs-parameter
plot, one equity curve per complete run (the compounded returns.parquet) and the overfitting verdict and
figure computed from those returns."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.notebooks.conftest import ExecutedNotebook, cell_outputs
from workbench.experiments._registry import RunRegistry

PLOTLY = "application/vnd.plotly.v1+json"
PRIMARY = "lightgbm top/bottom-5 long-short"


def _array(value: Any) -> np.ndarray:
    """A trace's array from the notebook's plotly JSON (plotly 6 writes numeric arrays as base64 ``bdata``)."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value)


@pytest.fixture
def recorded_sweep(runs_root: Path) -> list[str]:
    """Four complete runs and a failed one of sweep ``nb-sweep``, recorded in the notebook tests' registry with
    run folders holding returns.parquet and metrics.json as the pipeline writes them."""
    registry, rng, ids = RunRegistry(), np.random.default_rng(2), []
    ts = pd.date_range("2024-11-25 14:30", periods=120, freq="min", tz="UTC")
    for k, top_k in enumerate((3, 5, 8, 10)):
        run_id = f"20241125T1500{k:02d}Z-nb{k:04d}"
        folder = runs_root / "nb-sweep" / run_id
        folder.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"ts": ts, "backtest": PRIMARY, "net_return": rng.normal(5e-5, 1e-3, len(ts)),
                      "gross_return": 0.0}).to_parquet(folder / "returns.parquet", index=False)
        (folder / "metrics.json").write_text(json.dumps({"primary_backtest": PRIMARY}))
        registry.record({"run_id": run_id, "kind": "sweep", "sweep_id": "nb-sweep", "status": "complete",
                         "parameters": json.dumps({"top_k": top_k, "dataset": "market"}), "path": str(folder),
                         "net_sharpe": float(k) / 10, "rank_ic": 0.01 * k, "dataset": "market"})
        ids.append(run_id)
    registry.record({"run_id": "20241125T150099Z-nbfail", "kind": "sweep", "sweep_id": "nb-sweep",
                     "status": "failed", "parameters": json.dumps({"top_k": 500, "dataset": "market"}),
                     "error": "Traceback ...", "dataset": "market"})
    return ids


def test_07_compares_the_sweep_and_reports_its_overfitting(run_notebook: ExecutedNotebook,
                                                         recorded_sweep: list[str]) -> None:
    notebook = run_notebook("07_compare_runs", sweep_id="nb-sweep")
    html = "".join(cell_outputs(notebook, "text/html"))
    assert all(run_id in html for run_id in recorded_sweep) and "20241125T150099Z-nbfail" in html
    figures = cell_outputs(notebook, PLOTLY)
    by_title = {figure["layout"]["title"]["text"]: figure for figure in figures}
    scatter = by_title["net_sharpe vs parameters (4 complete runs)"]
    assert list(_array(scatter["data"][0]["x"])) == [3, 5, 8, 10]
    np.testing.assert_allclose(_array(scatter["data"][0]["y"]), [0.0, 0.1, 0.2, 0.3])
    equity = by_title["Equity of 4 runs (primary backtest, net)"]
    assert [trace["name"] for trace in equity["data"]] == recorded_sweep
    returns = pd.read_parquet(Path(RunRegistry().get(recorded_sweep[0])["path"]) / "returns.parquet")
    np.testing.assert_allclose(_array(equity["data"][0]["y"]), np.cumprod(1.0 + returns["net_return"].to_numpy()),
                               rtol=1e-9)
    printed = "".join(cell_outputs(notebook, "stream"))
    assert f"the best of 4 runs ({recorded_sweep[-1]}, by net_sharpe): DSR" in printed
    assert any(title.startswith("Probability of backtest overfitting over 4 trials") for title in by_title)
