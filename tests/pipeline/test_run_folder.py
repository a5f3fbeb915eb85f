"""Run folders: one root for datasets and runs (``WB_HOME``, else the project root found from the current
folder), an earlier run refused unless ``overwrite`` (which clears it, so no stale fold model survives), a
run's identity following its dataset's fingerprint, and ``status.json`` saying running, complete, failed or
interrupted."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

import workbench
from tests.pipeline._real_data import small_market
from workbench._paths import _project_above, datasets_home, runs_home, workbench_home
from workbench.data import Dataset, datasets_root
from workbench.pipeline import (
    CVConfig,
    DataConfig,
    EvalConfig,
    ModelConfig,
    Pipeline,
    PipelineConfig,
    RunFolderError,
    dataset_fingerprint,
    read_status,
    run_identity,
    runs_root,
)


def _config(dataset: str, **overrides: object) -> PipelineConfig:
    return PipelineConfig(name="folder", data=DataConfig(dataset=dataset), cv=CVConfig(train_days=2, test_days=1),
                          evaluation=EvalConfig(top_k=3, shap_rows=100, min_names=10), **overrides)


@pytest.fixture(scope="module")
def small(lake_root: Path) -> Dataset:
    return small_market(lake_root)


def test_one_root_resolves_datasets_and_runs_from_any_subfolder(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    checkout = Path(workbench.__file__).resolve().parents[1]  # the checkout this package runs from
    project = tmp_path / "project"
    (project / "notebooks" / "deep").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    for variable in ("WB_HOME", "WB_RUNS", "WB_DATASETS"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(project / "notebooks" / "deep")  # a kernel started in some notebooks/ folder ...
    assert workbench_home() == checkout  # ... reads and writes the checkout's folders, not notebooks/runs
    assert runs_home() == runs_root() == checkout / "papermill_runs"
    assert datasets_home() == datasets_root() == checkout / "datasets"
    assert _project_above(Path.cwd()) == project.resolve()  # outside a checkout: the project above the cwd
    monkeypatch.setenv("WB_HOME", str(tmp_path / "home"))
    assert runs_root() == (tmp_path / "home" / "papermill_runs").resolve()
    assert datasets_home() == datasets_root() == (tmp_path / "home" / "datasets").resolve()
    monkeypatch.setenv("WB_RUNS", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("WB_DATASETS", str(tmp_path / "lake"))
    assert runs_root() == (tmp_path / "elsewhere").resolve() and datasets_root() == (tmp_path / "lake").resolve()


def test_an_existing_run_folder_is_refused_before_any_work(small: Dataset, tmp_path: Path) -> None:
    out = tmp_path / "run"
    (out / "models").mkdir(parents=True)
    (out / "models" / "fold_9.txt").write_text("an earlier run's model")
    started = time.perf_counter()
    with pytest.raises(RunFolderError) as caught:
        Pipeline(_config(small.name)).run(out, progress=False)
    assert "already holds a run; pass --overwrite (overwrite=True)" in str(caught.value)
    assert time.perf_counter() - started < 5 and (out / "models" / "fold_9.txt").exists()
    file = tmp_path / "a-file"
    file.write_text("")
    with pytest.raises(RunFolderError, match="is a file"):
        Pipeline(_config(small.name)).run(file, progress=False)


def test_overwrite_clears_the_folder_and_the_status_says_complete(small: Dataset, tmp_path: Path) -> None:
    out = tmp_path / "run"
    (out / "models").mkdir(parents=True)
    (out / "models" / "fold_9.txt").write_text("an earlier run's model")
    (out / "stale.txt").write_text("")
    run = Pipeline(_config(small.name)).run(out, progress=False, overwrite=True)
    assert not (out / "stale.txt").exists() and not (out / "models" / "fold_9.txt").exists()
    assert sorted(p.name for p in (out / "models").glob("fold_*.txt")) == [
        f"fold_{k}.txt" for k in range(len(run.metrics["folds"]))]
    status = read_status(out)
    assert status["state"] == "complete" and status["run_id"] == run.metrics["identity"]["run_id"]
    assert status["started_at"] <= status["updated_at"]


def test_a_run_that_fails_is_marked_failed_with_the_error(small: Dataset, tmp_path: Path) -> None:
    models = ({"kind": "lightgbm"}, {"kind": "logistic", "params": {"C": -1.0}})  # sklearn refuses C < 0 at fit
    out = tmp_path / "run"
    with pytest.raises(ValueError, match="C"):
        Pipeline(_config(small.name, model=ModelConfig(models=models))).run(out, progress=False)
    status = read_status(out)
    assert status["state"] == "failed" and "'C' parameter" in status["error"]


def test_an_interrupted_run_is_marked_interrupted(small: Dataset, tmp_path: Path) -> None:
    out = tmp_path / "run"

    def interrupt_once_running() -> None:
        for _ in range(600):
            if (out / "status.json").exists() and json.loads((out / "status.json").read_text())["state"] == "running":
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: KeyboardInterrupt in the main thread
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=interrupt_once_running)
    watcher.start()
    with pytest.raises(KeyboardInterrupt):
        Pipeline(_config(small.name)).run(out, progress=False)
    watcher.join()
    assert read_status(out)["state"] == "interrupted"


def test_the_run_id_follows_the_datasets_fingerprint(small: Dataset, lake_root: Path) -> None:
    copy = lake_root / "small-touched"
    if not copy.exists():
        shutil.copytree(small.path, copy)
    dataset = Dataset(copy.name)
    config = _config(copy.name)
    before = run_identity(config, dataset)
    assert before == run_identity(config, Dataset(copy.name))  # the same data, the same identity
    assert before.dataset_fingerprint == dataset_fingerprint(dataset) == getattr(dataset, "fingerprint",
                                                                                 before.dataset_fingerprint)
    bar_file = next((copy / "bars").rglob("*.parquet"))
    content = bytearray(bar_file.read_bytes())
    content[4] ^= 0xFF  # the bars changed (one byte of the first page; the footer stays readable)
    bar_file.write_bytes(bytes(content))
    after = run_identity(config, Dataset(copy.name))
    assert after.dataset_fingerprint != before.dataset_fingerprint and after.run_id != before.run_id
    assert after.config_fingerprint == before.config_fingerprint
    other = run_identity(_config(copy.name, seed=8), Dataset(copy.name))
    assert other.run_id != after.run_id
