"""Reproducing a recorded run: re-execute it with what it recorded (a papermill run's ``params.json``, a config
run's ``config.json``) after checking that the dataset's content fingerprint and the code version are the ones
it ran with (refused otherwise, unless forced), then compare every number of the two ``metrics.json`` exactly,
leaving out what cannot repeat (stage timings, the run's identity and time stamps)."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.experiments._registry import RunRegistry
from workbench.experiments._rows import PARAMS_FILE, PIPELINE_FOLDER, split_commit

#: metrics.json's top-level keys that differ between identical runs: seconds per stage, and the run's identity
#: (run id, start time, versions)
UNREPEATABLE = ("timings", "identity")


class ReproduceError(WorkbenchError, ValueError):
    """A run that cannot be reproduced as asked (its data or code changed, or its folder is gone)."""


@dataclass(frozen=True)
class Reproduction:
    """The original run, its re-execution (``row``: the new run's registry row) and every metric that differs
    (``differences``: ``(key path, original, reproduced)``; empty when reproduced to the last digit)."""

    run_id: str
    row: dict[str, Any]
    differences: list[tuple[str, Any, Any]]

    @property
    def matches(self) -> bool:
        """Whether every compared number is equal."""
        return not self.differences and self.row.get("status") == "complete"


def flat_numbers(value: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf of a ``metrics.json`` dict by its key path (``backtests.<name>.sharpe``, list items by index),
    without the :data:`UNREPEATABLE` sections."""
    if isinstance(value, dict):
        leaves: dict[str, Any] = {}
        for key, item in value.items():
            if not prefix and key in UNREPEATABLE:
                continue
            leaves.update(flat_numbers(item, f"{prefix}{key}."))
        return leaves
    if isinstance(value, list):
        leaves = {}
        for index, item in enumerate(value):
            leaves.update(flat_numbers(item, f"{prefix}{index}."))
        return leaves
    return {prefix.rstrip("."): value}


def metric_differences(original: dict[str, Any], reproduced: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """The key paths where two ``metrics.json`` dicts differ, exactly (NaN equals NaN; a key on one side only
    differs), in sorted order."""
    left, right = flat_numbers(original), flat_numbers(reproduced)

    def same(a: Any, b: Any) -> bool:
        both_nan = isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
        return both_nan or (type(a) is type(b) and a == b)

    missing = object()
    return [(key, left.get(key), right.get(key)) for key in sorted(set(left) | set(right))
            if not same(left.get(key, missing), right.get(key, missing))]


def _metrics_file(row: dict[str, Any]) -> Path:
    folder = Path(row["path"])
    inner = folder / PIPELINE_FOLDER / "metrics.json"
    return inner if inner.is_file() else folder / "metrics.json"


def _check_identity(row: dict[str, Any], metrics: dict[str, Any], force: bool) -> None:
    """Refuse (unless ``force``) when the dataset's fingerprint or the code version is not the recorded one."""
    from workbench import __version__
    from workbench.data import Dataset
    from workbench.pipeline._folder import dataset_fingerprint, git_commit

    identity = metrics.get("identity", {})
    problems = []
    name = identity.get("dataset") or row.get("dataset")
    try:
        now = dataset_fingerprint(Dataset(name))
    except (OSError, ValueError, WorkbenchError) as error:
        raise ReproduceError(f"run {row['run_id']}: its dataset {name!r} cannot be opened ({error})") from error
    recorded = identity.get("dataset_fingerprint") or row.get("dataset_fingerprint")
    if now != recorded:
        problems.append(f"dataset {name!r} changed (fingerprint {recorded} then, {now} now)")
    commit, _ = split_commit(git_commit())
    then = row.get("git_commit") or split_commit(identity.get("git_commit"))[0]
    if commit != then:
        problems.append(f"the code is at commit {commit}, the run was made at {then}")
    if identity.get("code_version") not in (None, __version__):
        problems.append(f"workbench {__version__} now, {identity['code_version']} then")
    if problems and not force:
        raise ReproduceError(f"run {row['run_id']} cannot be reproduced as is: {'; '.join(problems)}; pass --force "
                             "to re-run it anyway (its metrics may then differ)")


def reproduce_run(run_id: str, *, force: bool = False, registry: RunRegistry | None = None,
                  progress: bool = False) -> Reproduction:
    """Re-execute the recorded run ``run_id`` and compare its metrics to the original's. A papermill run
    executes ``05_walk_forward`` again with its ``params.json`` (a new run under the same root); a config run
    re-runs its ``config.json`` into ``<folder>-reproduced-<UTC time>`` beside it. The new run is recorded
    with the original's kind (a sweep's as ``papermill``, outside the sweep)."""
    registry = registry if registry is not None else RunRegistry()
    row = registry.get(run_id)
    if row.get("status") != "complete":
        raise ReproduceError(f"run {row['run_id']} is {row.get('status')}, not complete: nothing to compare with")
    metrics_file = _metrics_file(row)
    if not metrics_file.is_file():
        raise ReproduceError(f"run {row['run_id']}: no metrics.json under {row['path']} (folder moved or deleted?); "
                             "`wb runs reindex` resyncs the registry with the folders")
    original = json.loads(metrics_file.read_text())
    _check_identity(row, original, force)
    folder = Path(row["path"])
    kind = "papermill" if row.get("kind") == "sweep" else row.get("kind") or "cli"
    if (folder / PARAMS_FILE).is_file():
        from workbench.experiments._papermill import execute_walk_forward

        parameters = json.loads((folder / PARAMS_FILE).read_text())
        new = execute_walk_forward(parameters, kind=kind, root=folder.parent)
    else:
        from workbench.pipeline import Pipeline, PipelineConfig

        config = PipelineConfig.from_json((folder / "config.json").read_text())
        out = folder.with_name(f"{folder.name}-reproduced-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}")
        result = Pipeline(config).run(out, progress=progress, kind=kind)  # it records itself under the runs home
        new = registry.get(result.path.name) if _registered(registry, result.path.name) else {
            "run_id": result.path.name, "status": "complete", "path": str(result.path)}
    if new.get("status") != "complete":
        raise ReproduceError(f"the re-execution of {row['run_id']} ended {new.get('status')}: "
                             f"{(new.get('error') or '').splitlines()[0] if new.get('error') else ''} "
                             f"(run {new['run_id']})")
    reproduced = json.loads(_metrics_file(new).read_text())
    return Reproduction(run_id=row["run_id"], row=new, differences=metric_differences(original, reproduced))


def _registered(registry: RunRegistry, run_id: str) -> bool:
    try:
        registry.get(run_id)
    except KeyError:
        return False
    return True
