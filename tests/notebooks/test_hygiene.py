"""Every committed notebook is clean and thin: no outputs or execution counts, a markdown cell first saying
what it shows and how to run it, one cell tagged ``parameters`` (papermill's convention), the project kernel,
and imports only from ``workbench`` (logic lives in the library, where it is tested)."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from workbench.notebooks import KERNEL_NAME, notebooks_folder

NOTEBOOKS = sorted(notebooks_folder().glob("*.ipynb"))
#: the research notebooks of the product (06_promote arrives with the live scorer)
EXPECTED = ("01_explore", "02_triple_barrier", "03_adversarial_validation", "04_shap", "05_walk_forward",
            "07_compare_runs")


def test_every_research_notebook_is_there_and_each_has_its_execution_test() -> None:
    assert {path.stem for path in NOTEBOOKS} >= set(EXPECTED)
    tests = Path(__file__).parent
    assert all((tests / f"test_{name}.py").is_file() for name in {path.stem for path in NOTEBOOKS})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs_and_opens_with_what_it_shows(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code), f"{path.name} has outputs"
    assert notebook.cells[0].cell_type == "markdown" and len(notebook.cells[0].source) > 80
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code", f"{path.name}: one code cell tagged 'parameters'"
    assert notebook.metadata.kernelspec.name == KERNEL_NAME


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_imports_only_from_workbench(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    imported = set()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                imported.add((node.module or "").split(".")[0])
    assert imported <= {"workbench"}, f"{path.name} imports {sorted(imported - {'workbench'})}"
