"""05_walk_forward executes on the suite's market with small cv settings and shows what the run wrote: the text
summary, the metric and backtest tables, the equity and drawdown (one curve per backtest in metrics.json), the
daily IC of every model, the primary model's calibration, the per-fold table and the config it ran."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.notebooks.conftest import ExecutedNotebook, cell_outputs
from workbench.data import Dataset
from workbench.experiments._registry import RunRegistry

PLOTLY = "application/vnd.plotly.v1+json"


@pytest.mark.slow  # the small walk-forward run itself, in the kernel
def test_walk_forward_shows_every_view_of_its_run(run_notebook: ExecutedNotebook, market: Dataset,
                                                  runs_root: Path) -> None:
    notebook = run_notebook("05_walk_forward", dataset=market.name, train_days=3, test_days=1, top_k=5,
                            min_names=20, shap_rows=200, seed=11)
    text = "".join(cell_outputs(notebook, "stream"))
    folder = Path(text.split("run folder: ")[1].split()[0])
    assert "purged walk-forward folds" in text and folder.parent == runs_root.resolve()
    metrics = json.loads((folder / "metrics.json").read_text())
    figures = cell_outputs(notebook, PLOTLY)
    titles = [figure["layout"]["title"]["text"] for figure in figures]
    assert len(figures) == 3 and titles[0].startswith("Equity and drawdown") and "Rank IC" in titles[1]
    assert "Reliability of lightgbm" in titles[2]
    curves = {trace["name"] for trace in figures[0]["data"]}
    assert set(metrics["backtests"]) <= curves and f"{metrics['primary_backtest']} (gross)" in curves
    daily = {trace["name"] for trace in figures[1]["data"] if trace["type"] == "bar"}
    assert daily == {f"{model['name']} daily IC" for model in metrics["models"]}
    tables = cell_outputs(notebook, "text/html")
    assert len(tables) >= 3 and all("<table" in table for table in tables[:3])
    assert "fold" in tables[2] and "log_loss lightgbm" in tables[2]
    config = cell_outputs(notebook, "text/plain")[-1]
    assert "'train_days': 3" in config and "'seed': 11" in config and "'name': 'walk_forward'" in config
    row = RunRegistry().get(folder.name)  # the pipeline in a kernel records itself as a notebook run
    assert (row["kind"], row["status"], row["path"]) == ("notebook", "complete", str(folder))
    assert row["net_sharpe"] == metrics["backtests"][metrics["primary_backtest"]]["sharpe"]
