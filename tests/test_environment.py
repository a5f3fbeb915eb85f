"""pip (pyproject.toml) and conda (environment.yml) describe the same environment."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
CONDA_TO_PYPI = {"redis-py": "redis"}  # conda-forge names that differ from PyPI's
CONDA_ONLY = {"python", "pip"}


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]
    return {_normalize(r.name): str(r.specifier) for r in requirements}


def _conda() -> dict[str, str]:
    spec = yaml.safe_load((ROOT / "environment.yml").read_text())
    entries: list[str] = []
    for item in spec["dependencies"]:
        entries += item["pip"] if isinstance(item, dict) else [item]
    packages = {}
    for entry in entries:
        name, _, version = re.match(r"^([A-Za-z0-9_.\-]+)\s*(=*)?(.*)$", entry).groups()
        name = CONDA_TO_PYPI.get(name, name)
        if name not in CONDA_ONLY:
            packages[_normalize(name)] = str(Requirement(f"x{version}").specifier) if version else ""
    return packages


def test_same_packages_and_versions() -> None:
    pip, conda = _pyproject(), _conda()
    assert sorted(pip) == sorted(conda), {"only in pyproject": set(pip) - set(conda),
                                          "only in environment.yml": set(conda) - set(pip)}
    assert pip == conda


def test_conda_environment_pins_python_311() -> None:
    spec = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in spec["dependencies"]
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"] == ">=3.11,<3.12"


def test_project_layout() -> None:
    for item in ("notebooks", "workbench", "datasets", "papermill_runs", "live", "tests", "environment.yml",
                 "README.md", "pyproject.toml", "Makefile", ".ci/run"):
        assert (ROOT / item).exists(), item
