"""A run's folder and identity: where it goes (``papermill_runs/`` under the workbench home, :mod:`workbench._paths`),
what names it (the config's content hash, the dataset's fingerprint and the code version), refusing to write
over an earlier run unless told to (then clearing it, so no stale fold model survives), and ``status.json``
saying whether the run is running, complete, failed (with the error) or interrupted."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import platform
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench import __version__
from workbench._paths import runs_home
from workbench.data import Dataset
from workbench.errors import WorkbenchError
from workbench.pipeline._config import PipelineConfig

#: the packages whose versions a run records (the report's header)
VERSIONED_PACKAGES = ("pandas", "numpy", "lightgbm", "vectorbt", "scikit-learn", "shap")
STATUS_FILE = "status.json"


class RunFolderError(WorkbenchError, FileExistsError):
    """The run folder holds an earlier run (pass ``overwrite=True`` / ``--overwrite`` to replace it)."""


def runs_root() -> Path:
    """Where runs are written: ``$WB_RUNS``, else ``papermill_runs/`` under the workbench home (``$WB_HOME`` or the
    project root), wherever the process was started."""
    return runs_home()


def dataset_fingerprint(dataset: Dataset) -> str:
    """The dataset's content fingerprint: ``Dataset.fingerprint`` when the lake provides one, else a hash of
    its bar files' names, sizes and modification times."""
    provided = getattr(dataset, "fingerprint", None)
    if isinstance(provided, str):
        return provided
    digest = hashlib.sha256()
    for path in sorted((dataset.path / "bars").rglob("*.parquet")):
        stat = path.stat()
        digest.update(f"{path.relative_to(dataset.path)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]


def git_commit(folder: Path | None = None) -> str | None:
    """The checkout's HEAD commit (``+dirty`` when tracked files changed), or None outside a git checkout."""
    where = folder or Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def package_versions() -> dict[str, str | None]:
    """Python's and the recorded packages' versions (None: not installed), with the workbench's own."""
    versions: dict[str, str | None] = {"python": platform.python_version(), "workbench": __version__}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@dataclass(frozen=True)
class RunIdentity:
    """What a run's results depend on: the config (its hash), the dataset (its fingerprint) and the code (the
    workbench version and git commit). ``run_id`` hashes the three; equal ids mean the same run."""

    config_fingerprint: str
    dataset: str
    dataset_fingerprint: str
    code_version: str
    git_commit: str | None

    @property
    def run_id(self) -> str:
        """12 hex digits over config, dataset and code."""
        text = f"{self.config_fingerprint}|{self.dataset_fingerprint}|{self.code_version}|{self.git_commit}"
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the run id."""
        return {"run_id": self.run_id, "config_fingerprint": self.config_fingerprint, "dataset": self.dataset,
                "dataset_fingerprint": self.dataset_fingerprint, "code_version": self.code_version,
                "git_commit": self.git_commit}


def run_identity(config: PipelineConfig, dataset: Dataset) -> RunIdentity:
    """The identity of running ``config`` on ``dataset`` with this code."""
    return RunIdentity(config_fingerprint=config.fingerprint, dataset=dataset.name,
                       dataset_fingerprint=dataset_fingerprint(dataset), code_version=__version__,
                       git_commit=git_commit())


def default_run_folder(config: PipelineConfig, identity: RunIdentity) -> Path:
    """``<runs root>/<config name>-<run id>``."""
    return runs_root() / f"{config.name}-{identity.run_id}"


def prepare_run_folder(path: str | Path, *, overwrite: bool = False) -> Path:
    """An empty run folder at ``path``: a folder holding anything is refused unless ``overwrite``, which
    deletes its contents first (an earlier run's fold models must not survive into this one)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RunFolderError(f"run folder {path} is a file; choose another --out")
    if path.is_dir() and any(path.iterdir()):
        if not overwrite:
            raise RunFolderError(f"run folder {path} already holds a run; pass --overwrite (overwrite=True) to "
                                 "replace it, or choose another --out")
        shutil.rmtree(path)
    (path / "models").mkdir(parents=True, exist_ok=True)
    (path / "figures").mkdir(exist_ok=True)
    return path


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def write_status(path: Path, state: str, **details: Any) -> dict[str, Any]:
    """Write ``status.json`` = ``{"state": state, "updated_at": now, **details}`` (keeping ``started_at``);
    states: running, complete, failed, interrupted."""
    file = Path(path) / STATUS_FILE
    previous = json.loads(file.read_text()) if file.exists() else {}
    status = {"state": state, "started_at": previous.get("started_at", _now()), "updated_at": _now(), **details}
    file.write_text(json.dumps(status, indent=2, default=str))
    return status


def read_status(path: str | Path) -> dict[str, Any]:
    """A run folder's ``status.json``."""
    file = Path(path) / STATUS_FILE
    if not file.exists():
        raise RunFolderError(f"{path} has no {STATUS_FILE}: not a run folder written by this workbench")
    return json.loads(file.read_text())
