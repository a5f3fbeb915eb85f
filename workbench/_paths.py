"""One root for a workbench's files: ``$WB_HOME`` (default: the project root, found by walking up to a
``pyproject.toml`` from this package, else from the current folder, else the current folder) holds
``datasets/`` and ``papermill_runs/`` (every run — CLI, notebook, papermill, sweep — and their registry);
``$WB_DATASETS`` and ``$WB_RUNS`` point either elsewhere. A kernel started in ``notebooks/`` therefore
reads and writes the same folders as ``wb`` run from the project root."""

from __future__ import annotations

import os
from pathlib import Path


def _project_above(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding a ``pyproject.toml``."""
    return next((folder for folder in (start, *start.parents) if (folder / "pyproject.toml").is_file()), None)


def workbench_home() -> Path:
    """``$WB_HOME``, else the project root: the checkout this package runs from (an editable install, whatever
    the current folder), else the nearest folder at or above the current one holding ``pyproject.toml``, else
    the current folder."""
    explicit = os.environ.get("WB_HOME")
    if explicit:
        return Path(explicit).expanduser().resolve()
    here = Path.cwd().resolve()
    return _project_above(Path(__file__).resolve().parent) or _project_above(here) or here


def _under_home(variable: str, folder: str) -> Path:
    explicit = os.environ.get(variable)
    return Path(explicit).expanduser().resolve() if explicit else workbench_home() / folder


def datasets_home() -> Path:
    """Where datasets live: ``$WB_DATASETS``, else ``datasets/`` under :func:`workbench_home`."""
    return _under_home("WB_DATASETS", "datasets")


def runs_home() -> Path:
    """Where run folders are written: ``$WB_RUNS``, else ``papermill_runs/`` under :func:`workbench_home`."""
    return _under_home("WB_RUNS", "papermill_runs")
