"""Running a sweep: every point of a grid, or the trials of an Optuna (TPE) search, as one
``execute_walk_forward(parameters, kind="sweep", sweep_id=...)`` papermill run each, on worker processes.

The parent process owns the plan (and an Optuna search's ask/tell, on a SQLite study in the sweep folder, so a
rerun continues it); workers only execute runs. A point that fails is recorded failed with its traceback by
the run itself and the others go on. Rerunning a sweep skips the parameter sets that already finished
(complete, failed or timed out: rerunning would repeat them; ``retry_failed`` runs failed and timed-out ones
again). Only one invocation of a sweep runs at a time (a lock file holds the parent's pid); it starts by marking
rows a dead invocation left ``running`` as ``interrupted``; Ctrl-C (or SIGTERM) stops the workers and their
kernels and marks their rows ``interrupted`` before the parent exits, and workers whose parent died end
themselves, so the registry never keeps a half-finished row past the next invocation.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from workbench._paths import runs_home
from workbench._progress import progress as progress_bar
from workbench.errors import WorkbenchError
from workbench.experiments._sweep_spec import SweepSpec

#: outcomes a rerun does not repeat (``retry_failed`` repeats the last two)
FINISHED = ("complete", "failed", "timeout")
_STOP_GRACE_S = 60.0


class SweepBusyError(WorkbenchError):
    """Another invocation of the same sweep is running, or this one lost a worker process."""


@dataclass(frozen=True)
class SweepResult:
    """A sweep after one invocation: its rows in the registry (every point so far, from this and earlier
    invocations), how many runs this invocation executed and skipped, and the summary it wrote with the
    overfitting statistics in it."""

    sweep_id: str
    folder: Path
    rows: pd.DataFrame
    executed: int
    skipped: int
    summary: Path | None = None
    statistics: Any = None

    @property
    def counts(self) -> dict[str, int]:
        """Rows per status (``{"complete": 3, "failed": 1}``)."""
        return {str(k): int(v) for k, v in self.rows["status"].value_counts().items()} if len(self.rows) else {}


def sweep_folder(sweep_id: str) -> Path:
    """``<runs home>/sweeps/<sweep_id>/``: the sweep file as run (``sweep.json``), an Optuna search's study
    (``optuna.db``), the lock, and ``summary.html``."""
    return runs_home() / "sweeps" / sweep_id


def _canonical(value: Any) -> Any:
    """A value as the registry's JSON text round-trips it (tuples become lists)."""
    return json.loads(json.dumps(value, default=str))


def finished_row(parameters: dict[str, Any], done: list[tuple[dict[str, Any], dict[str, Any]]]
                 ) -> dict[str, Any] | None:
    """The finished row run with ``parameters`` — every name the sweep sets has that value in the row's
    recorded parameters (which may add the notebook's defaults) — or None."""
    wanted = _canonical(parameters)
    return next((row for recorded, row in done
                 if all(name in recorded and recorded[name] == value for name, value in wanted.items())), None)


def run_sweep(spec: SweepSpec, *, workers: int | None = None, timeout: float | None = None,
              retry_failed: bool = False, progress: bool = True, summary: bool = True) -> SweepResult:
    """Run (or continue) ``spec``: ``workers`` processes (default: the file's, else one per core), each run
    bounded by ``timeout`` seconds (default: the file's). Writes the sweep's summary (``summary.html``, with
    its best run's Deflated Sharpe Ratio and the PBO over all trials) at the end unless ``summary=False``."""
    from workbench.experiments._registry import RunRegistry

    workers = workers or spec.workers or os.cpu_count() or 1
    timeout = timeout if timeout is not None else spec.timeout
    folder = sweep_folder(spec.sweep_id)
    folder.mkdir(parents=True, exist_ok=True)
    registry = RunRegistry()
    with _sweep_lock(folder):
        (folder / "sweep.json").write_text(json.dumps(spec.to_dict(), indent=2, default=str))
        mark_interrupted(registry, spec.sweep_id)
        done = _finished(registry, spec.sweep_id, retry_failed)
        plan = _GridPlan(spec, done) if spec.method == "grid" else _OptunaPlan(spec, folder, done)
        executed = _execute(plan, spec.sweep_id, workers, timeout, progress, registry)
    rows = registry.runs(sweep_id=spec.sweep_id)
    result = SweepResult(sweep_id=spec.sweep_id, folder=folder, rows=rows, executed=executed, skipped=plan.skipped)
    if not summary:
        return result
    from workbench.experiments._sweep_report import write_sweep_summary

    written, statistics = write_sweep_summary(spec.sweep_id, folder / "summary.html", objective=spec.objective,
                                              direction=spec.direction, registry=registry)
    return replace(result, summary=written, statistics=statistics)


def repair_sweep(sweep_id: str, *, wait: float = 0.0) -> int:
    """The consistency check every invocation runs first, on its own: once the sweep's last invocation is gone
    (waiting up to ``wait`` seconds for it to exit), mark its rows still ``running`` as ``interrupted``;
    returns how many there were. Refuses while an invocation is alive."""
    from workbench.experiments._registry import RunRegistry

    folder = sweep_folder(sweep_id)
    deadline = time.monotonic() + wait
    while _lock_owner(folder) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    folder.mkdir(parents=True, exist_ok=True)
    with _sweep_lock(folder):
        return mark_interrupted(RunRegistry(), sweep_id)


def mark_interrupted(registry: Any, sweep_id: str) -> int:
    """Mark the sweep's rows still ``running`` as ``interrupted`` (their invocation is gone: the caller holds the
    sweep's lock); returns how many there were."""
    rows = registry.runs(sweep_id=sweep_id)
    stale = rows[rows["status"] == "running"] if len(rows) else rows
    for row in stale.to_dict("records"):
        error = row.get("error") if isinstance(row.get("error"), str) else None
        registry.record({**row, "status": "interrupted", "error": error or "the sweep invocation running it stopped"})
    return len(stale)


class _GridPlan:
    """The grid's points not finished yet, in order."""

    def __init__(self, spec: SweepSpec, done: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        points = spec.points()
        self.todo = [p for p in points if finished_row(p, done) is None]
        self.skipped = len(points) - len(self.todo)
        self.total = len(points)

    def ask(self) -> tuple[Any, dict[str, Any]] | None:
        return (None, self.todo.pop(0)) if self.todo else None

    def tell(self, _: Any, row: dict[str, Any] | None) -> None:
        """Grid points need no feedback."""


class _OptunaPlan:
    """TPE ask/tell on the study ``optuna.db`` holds; trials asked by a dead invocation are told from their
    registry row if it finished, else run again; the budget counts every finished trial."""

    def __init__(self, spec: SweepSpec, folder: Path, done: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.spec = spec
        self.study = optuna.create_study(study_name=spec.sweep_id, storage=f"sqlite:///{folder / 'optuna.db'}",
                                         load_if_exists=True, direction=spec.direction)
        # seeded, yet not the same draws again when resumed: the seed moves on with the trials already asked
        self.study.sampler = optuna.samplers.TPESampler(seed=spec.seed + len(self.study.trials))
        self.distributions = {space.name: space.distribution() for space in spec.space}
        self.pending: list[tuple[int, dict[str, Any]]] = []
        state = optuna.trial.TrialState
        for trial in self.study.get_trials(deepcopy=False, states=(state.RUNNING, state.WAITING)):
            parameters = {**spec.base, **trial.params}
            row = finished_row(parameters, done)
            if row is not None:
                self.tell(trial.number, row)
            else:
                self.pending.append((trial.number, parameters))
        finished = len(self.study.get_trials(deepcopy=False, states=(state.COMPLETE, state.FAIL, state.PRUNED)))
        self.skipped = finished
        self.total = spec.n_trials
        self.budget = max(spec.n_trials - finished - len(self.pending), 0)

    def ask(self) -> tuple[Any, dict[str, Any]] | None:
        if self.pending:
            return self.pending.pop(0)
        if self.budget <= 0:
            return None
        self.budget -= 1
        trial = self.study.ask(self.distributions)
        return trial.number, {**self.spec.base, **trial.params}

    def tell(self, number: int, row: dict[str, Any] | None) -> None:
        import optuna

        value = None if row is None or row.get("status") != "complete" else row.get(self.spec.objective)
        if value is None or pd.isna(value):
            self.study.tell(number, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(number, float(value))


def _finished(registry: Any, sweep_id: str, retry_failed: bool) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(recorded parameters, row) of the sweep's rows a rerun does not repeat."""
    rows = registry.runs(sweep_id=sweep_id)
    keep = ("complete",) if retry_failed else FINISHED
    return [(json.loads(row["parameters"]) if isinstance(row["parameters"], str) else dict(row["parameters"]), row)
            for row in (rows[rows["status"].isin(keep)].to_dict("records") if len(rows) else [])]


def _execute(plan: Any, sweep_id: str, workers: int, timeout: float | None, progress: bool, registry: Any) -> int:
    """Keep ``workers`` runs in flight until the plan is exhausted; on Ctrl-C stop the workers' runs and mark
    what is left running as interrupted, then re-raise."""
    executed, counts = 0, {"complete": 0, "failed": 0, "timeout": 0}
    bar = progress_bar(total=plan.total, desc=f"sweep {sweep_id}", unit="runs", enabled=progress)
    if plan.skipped:
        bar.update(plan.skipped)
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=_worker_started, initargs=(os.getpid(),))
    running: dict[cf.Future[dict[str, Any]], Any] = {}
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)  # `kill` stops a sweep as Ctrl-C does
    try:
        while True:
            while len(running) < workers and (item := plan.ask()) is not None:
                handle, parameters = item
                running[pool.submit(_run_point, parameters, sweep_id, timeout)] = handle
            if not running:
                break
            finished, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for future in finished:
                handle = running.pop(future)
                row = _outcome(future)
                plan.tell(handle, row)
                executed += 1
                status = (row or {}).get("status", "failed")
                counts[status] = counts.get(status, 0) + 1
                bar.set_postfix(**{k: v for k, v in counts.items() if v})
                bar.update()
    except KeyboardInterrupt:
        _stop_workers(pool)
        mark_interrupted(registry, sweep_id)
        raise
    except BrokenProcessPool as error:
        _stop_workers(pool)
        mark_interrupted(registry, sweep_id)
        raise SweepBusyError(f"a worker process of sweep {sweep_id} died ({error}); rerun the sweep to continue "
                             "(finished points are skipped)") from error
    finally:
        signal.signal(signal.SIGTERM, previous)
        bar.close()
        pool.shutdown(wait=True, cancel_futures=True)
    return executed


def _outcome(future: cf.Future[dict[str, Any]]) -> dict[str, Any] | None:
    """The run's registry row; a run that raised instead of recording itself (it could not even start) counts
    as failed and its error is printed, without stopping the sweep."""
    try:
        return future.result()
    except Exception as error:  # one point's failure must not stop the others
        import sys

        print(f"sweep point failed before it was recorded: {type(error).__name__}: {error}", file=sys.stderr)
        return None


def _run_point(parameters: dict[str, Any], sweep_id: str, timeout: float | None) -> dict[str, Any]:
    """One sweep point on a worker: the papermill run, whose row records its own outcome."""
    from workbench.experiments._papermill import execute_walk_forward

    return execute_walk_forward(parameters, kind="sweep", sweep_id=sweep_id, timeout=timeout)


def _worker_started(parent_pid: int) -> None:
    """A worker leaves the terminal's process group (Ctrl-C reaches the parent only, which then stops the
    workers), ends itself and its kernel on SIGTERM, and does the same as soon as the parent is gone, however
    it went (a watcher thread; the parent's invocation, or the next one, marks the rows interrupted)."""
    import threading

    os.setsid()
    signal.signal(signal.SIGTERM, lambda signum, _: _end_worker(128 + signum))

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        _end_worker(1)

    threading.Thread(target=watch, name="sweep-parent-watch", daemon=True).start()


def _end_worker(code: int) -> None:
    """Kill the worker's descendants (its kernel starts in a session of its own, so a process group would miss
    it) and exit at once."""
    for pid in _descendants(os.getpid()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    os._exit(code)


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid``, from ``/proc``."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        children = [child for child, parent in parents.items() if parent == current]
        found.extend(children)
        frontier.extend(children)
    return found


def _stop_workers(pool: cf.ProcessPoolExecutor) -> None:
    """SIGTERM every worker (its run records itself interrupted) and wait for them to exit."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
    for process in processes:
        process.join(_STOP_GRACE_S)


@contextlib.contextmanager
def _sweep_lock(folder: Path) -> Iterator[None]:
    """One invocation per sweep: ``lock`` holds the running parent's pid; a lock whose process is gone is
    taken over."""
    lock = folder / "lock"
    other = _lock_owner(folder)
    if other is not None:
        raise SweepBusyError(f"sweep {folder.name} is already running (pid {other}); wait for it, or stop it with "
                             f"Ctrl-C / kill {other}")
    lock.write_text(str(os.getpid()))
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()


def _lock_owner(folder: Path) -> int | None:
    """The pid of the live process (not this one) holding the sweep's lock, if any."""
    try:
        pid = int((folder / "lock").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid != os.getpid() and _alive(pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
