"""Notebook fixtures: every notebook executes top to bottom through papermill on the project kernel, against
the suite's small synthetic market (``$WB_DATASETS``) and a private runs folder (``$WB_RUNS``), which the
kernel inherits from this process's environment."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from workbench.data import Dataset
from workbench.notebooks import execute_notebook
from workbench.pipeline import CVConfig, DataConfig, EvalConfig, Pipeline, PipelineConfig, RunResult

#: a run small enough for notebook tests: the suite's market, 3 training sessions, 1-session folds
SMALL_RUN = {"cv": {"train_days": 3, "test_days": 1}, "evaluation": {"top_k": 5, "shap_rows": 400, "min_names": 20}}

ExecutedNotebook = Callable[..., nbformat.NotebookNode]


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A runs folder of the notebook tests' own (``$WB_RUNS``)."""
    root = tmp_path_factory.mktemp("notebook-runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WB_RUNS", str(root))
        yield root


@pytest.fixture(scope="session")
def small_run(market: Dataset, runs_root: Path) -> RunResult:
    """One finished pipeline run on the suite's market, under ``$WB_RUNS`` (for the notebooks that read runs)."""
    config = PipelineConfig(name="notebook-small", data=DataConfig(dataset=market.name),
                            cv=CVConfig(**SMALL_RUN["cv"]), evaluation=EvalConfig(**SMALL_RUN["evaluation"]))
    return Pipeline(config).run(progress=False)


@pytest.fixture
def run_notebook(market: Dataset, runs_root: Path, tmp_path: Path) -> ExecutedNotebook:
    """``run_notebook("01_explore", dataset=..., ...)`` executes the notebook with those parameters and returns
    the executed notebook (a failing cell fails the test with the cell's error)."""

    def run(name: str, **parameters: Any) -> nbformat.NotebookNode:
        output = execute_notebook(name, tmp_path / f"{name}.ipynb", parameters)
        return nbformat.read(output, as_version=4)

    return run


def cell_outputs(notebook: nbformat.NotebookNode, mime: str) -> list[Any]:
    """Every output of ``mime`` type (``application/vnd.plotly.v1+json``, ``text/plain``, ...) in cell order."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if mime in data:
                found.append(data[mime])
            elif mime == "stream" and output.get("output_type") == "stream":
                found.append(output.get("text", ""))
    return found
