"""Running a research pipeline: the public stages composed — research data (:func:`build_research_data`),
purged walk-forward of every configured model (:func:`walk_forward`), evaluation (:func:`evaluate`), SHAP
(:func:`explain_fold`) and the run folder (:func:`write_run`) — with the run's identity and status recorded.
A notebook can call the same stages one by one."""

from __future__ import annotations

import datetime as dt
import sys
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from workbench._progress import progress as progress_bar
from workbench.pipeline._config import PipelineConfig
from workbench.pipeline._dataset import build_research_data, open_dataset
from workbench.pipeline._evaluate import evaluate
from workbench.pipeline._explain import explain_fold
from workbench.pipeline._fit import check_fit
from workbench.pipeline._folder import (
    default_run_folder,
    package_versions,
    prepare_run_folder,
    run_identity,
    runs_root,
    write_status,
)
from workbench.pipeline._metrics import RunMetrics
from workbench.pipeline._walk import walk_forward
from workbench.pipeline._write import write_run


@dataclass(frozen=True)
class RunResult:
    """A finished run: its folder, metrics (``metrics.json``'s dict; ``run_metrics`` typed) and out-of-sample
    predictions."""

    path: Path
    run_metrics: RunMetrics
    predictions: pd.DataFrame

    @property
    def metrics(self) -> dict[str, Any]:
        """The metrics as ``metrics.json`` holds them."""
        return self.run_metrics.to_dict()

    @property
    def report(self) -> Path:
        """The HTML report."""
        return self.path / "report.html"


class Pipeline:
    """``Pipeline(config).run()``: deterministic for a given config (the seed is part of it) and dataset.

    The whole config is validated when the pipeline is made (unknown keys, model kinds and parameters), and
    against the dataset (:func:`check_fit`) before any data is loaded.
    """

    def __init__(self, config: PipelineConfig | dict[str, Any]) -> None:
        self.config = config if isinstance(config, PipelineConfig) else PipelineConfig.from_dict(config)

    def run(self, out_dir: str | Path | None = None, *, progress: bool = True, overwrite: bool = False,
            kind: str | None = None, record: bool = True) -> RunResult:
        """Build the data, walk forward, evaluate, explain, and write the run folder (default:
        ``papermill_runs/<name>-<run id>`` under the workbench home). A folder holding an earlier run is refused
        unless ``overwrite``, which clears it; ``status.json`` says running, complete, failed or interrupted.
        With ``record``, a run folder under the runs home has its row in the registry there (``registry.duckdb``,
        id = the folder's name) follow the same states (a folder elsewhere is not registered); ``kind`` says who
        ran it (``cli``, ``demo``, ``notebook``; default: ``notebook`` inside a Jupyter kernel, else ``cli``)."""
        config = self.config
        dataset = open_dataset(config)
        fit = check_fit(config, dataset)  # a setting that cannot work on this data fails before any work
        identity = run_identity(config, dataset)
        path = prepare_run_folder(out_dir if out_dir is not None else default_run_folder(config, identity),
                                  overwrite=overwrite)
        started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        kind = kind or ("notebook" if "ipykernel" in sys.modules else "cli")
        details = {"run_id": identity.run_id, "kind": kind, "dataset": identity.dataset,
                   "dataset_fingerprint": identity.dataset_fingerprint, "config_hash": identity.config_fingerprint,
                   "git_commit": identity.git_commit}
        recorder = _recorder(path, record)
        try:
            write_status(path, "running", started_at=started_at, **details)
            recorder()
            result = self._stages(dataset, fit, path, progress,
                                  {**identity.to_dict(), "started_at": started_at, "versions": package_versions()})
        except BaseException as error:
            if _is_interrupt(error):
                write_status(path, "interrupted", **details)
                recorder()
                if isinstance(error, KeyboardInterrupt):
                    raise
                raise KeyboardInterrupt(f"run interrupted ({error})") from error
            write_status(path, "failed", **details, error=f"{type(error).__name__}: {error}")
            recorder(traceback.format_exc())
            raise
        write_status(path, "complete", **details)
        recorder()
        return result

    def _stages(self, dataset: Any, fit: Any, path: Path, progress: bool, identity: dict[str, Any]) -> RunResult:
        config = self.config
        timings: dict[str, float] = {}
        bar = progress_bar(total=5, desc=f"run {config.name}", unit="stages", enabled=progress)
        try:
            started = time.perf_counter()
            data = build_research_data(config, dataset, fit)
            timings["data"] = time.perf_counter() - started
            bar.update()
            started = time.perf_counter()
            folds = walk_forward(config, data, path, progress=progress)
            timings["walk_forward"] = time.perf_counter() - started
            bar.update()
            started = time.perf_counter()
            evaluation = evaluate(config, data, folds)
            timings["evaluation"] = time.perf_counter() - started
            bar.update()
            started = time.perf_counter()
            explanation = explain_fold(config, data, folds)
            timings["shap"] = time.perf_counter() - started
            bar.update()
            metrics = replace(evaluation.metrics, timings=timings, identity=identity,
                              explained_fold=None if explanation is None else explanation.fold)
            write_run(path, config, metrics, evaluation.figures, folds.predictions, explanation, evaluation.returns)
            bar.update()
        finally:
            bar.close()
        return RunResult(path=path, run_metrics=metrics, predictions=folds.predictions)


def _recorder(path: Path, record: bool) -> Any:
    """``recorder(error=None)``: the run folder's current state as its registry row (``error``: the traceback
    of a failure), or nothing when the run is not recorded."""

    home = runs_root().resolve()
    record = record and home in path.resolve().parents

    def recorder(error: str | None = None) -> None:
        if not record:
            return
        from workbench.experiments._registry import RunRegistry
        from workbench.experiments._rows import pipeline_row

        row = pipeline_row(path)
        RunRegistry().record({**row, "error": error or row.get("error")})

    return recorder


def _is_interrupt(error: BaseException) -> bool:
    """Ctrl-C: a KeyboardInterrupt, or DuckDB's form of it when it arrives during a query (DuckDB handles the
    signal itself and raises ``InterruptException`` or ``RuntimeError("Query interrupted")``)."""
    return isinstance(error, KeyboardInterrupt | duckdb.InterruptException) or (
        isinstance(error, RuntimeError) and str(error) == "Query interrupted")
