"""``wb bench experiments``: what papermill costs on top of a pipeline run, and how well a sweep uses its
workers. Times one walk-forward run through ``wb run``'s path (``Pipeline`` on the config the parameters map
to), the same parameters through papermill (``execute_walk_forward``: kernel, notebook, HTML export, registry),
and a sweep of ``points`` such runs (differing only in their seed) on ``workers`` processes, all under a
temporary runs folder; the goals are an overhead of at most ~10 s and a sweep within 1.2 × points / workers ×
one papermill run."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: the goals the numbers are read against
OVERHEAD_GOAL_S = 10.0
SWEEP_RATIO_GOAL = 1.2


@contextmanager
def _runs_folder(folder: Path) -> Iterator[None]:
    """``$WB_RUNS`` pointed at ``folder`` (workers and kernels inherit it), restored afterwards."""
    previous = os.environ.get("WB_RUNS")
    os.environ["WB_RUNS"] = str(folder)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("WB_RUNS", None)
        else:
            os.environ["WB_RUNS"] = previous


def run_experiments_benchmark(parameters: dict[str, Any] | None = None, *, points: int = 8, workers: int = 2,
                              report: Callable[[str], None] = print) -> dict[str, Any]:
    """Measure and return the numbers (seconds, the overhead, and the sweep's ratio to ``points / workers`` ×
    one papermill run). ``parameters`` are ``05_walk_forward``'s, shared by every timed run."""
    from workbench.experiments._papermill import execute_walk_forward
    from workbench.experiments._parameters import config_from_parameters
    from workbench.experiments._sweep import run_sweep
    from workbench.experiments._sweep_spec import SweepSpec
    from workbench.pipeline import Pipeline

    parameters = dict(parameters or {})
    spec = SweepSpec.from_dict({"sweep_id": "bench-experiments", "base": parameters,
                                "grid": {"seed": list(range(1, points + 1))}, "workers": workers},
                               where="benchmark sweep")
    with tempfile.TemporaryDirectory(prefix="wb-bench-experiments-") as folder, _runs_folder(Path(folder)):
        config = config_from_parameters(parameters)
        report(f"one run through wb run's path (Pipeline, dataset {config.data.dataset}) ...")
        started = time.perf_counter()
        Pipeline(config).run(Path(folder) / "pipeline-run", progress=False)
        pipeline_s = time.perf_counter() - started
        report("the same run through papermill (execute_walk_forward) ...")
        started = time.perf_counter()
        row = execute_walk_forward(parameters)
        papermill_s = time.perf_counter() - started
        if row.get("status") != "complete":
            raise RuntimeError(f"the papermill run did not complete ({row.get('status')}): {row.get('error')}")
        report(f"a {points}-point sweep on {workers} workers ...")
        started = time.perf_counter()
        result = run_sweep(spec, progress=False)
        sweep_s = time.perf_counter() - started
    ideal = points / workers * papermill_s
    return {"dataset": config.data.dataset, "pipeline_seconds": round(pipeline_s, 2),
            "papermill_seconds": round(papermill_s, 2), "overhead_seconds": round(papermill_s - pipeline_s, 2),
            "points": points, "workers": workers, "sweep_seconds": round(sweep_s, 2),
            "sweep_ideal_seconds": round(ideal, 2), "sweep_ratio": round(sweep_s / ideal, 3),
            "sweep_complete": int(result.counts.get("complete", 0)), "cores": os.cpu_count()}


def format_experiments_benchmark(result: dict[str, Any]) -> str:
    """Human-readable lines of :func:`run_experiments_benchmark`'s result, against the goals."""
    return "\n".join([
        f"run       wb run path (Pipeline) {result['pipeline_seconds']:.1f}s; papermill "
        f"{result['papermill_seconds']:.1f}s -> overhead {result['overhead_seconds']:+.1f}s "
        f"(goal <= {OVERHEAD_GOAL_S:.0f}s) on dataset {result['dataset']}",
        f"sweep     {result['points']} points on {result['workers']} workers: {result['sweep_seconds']:.1f}s vs "
        f"{result['points']}/{result['workers']} x one run = {result['sweep_ideal_seconds']:.1f}s -> ratio "
        f"{result['sweep_ratio']:.2f} (goal <= {SWEEP_RATIO_GOAL}); {result['sweep_complete']}/{result['points']} "
        f"complete, {result['cores']} cores",
    ])
