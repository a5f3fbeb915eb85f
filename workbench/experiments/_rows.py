"""Registry rows from what runs leave behind: the headline metrics of a ``metrics.json`` (primary model and
primary backtest), a pipeline run's row from its folder, a papermill run's row from its ``papermill.json``, and
:func:`reindex`, which rebuilds the registry from every run folder (the folders are the ground truth)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workbench._paths import runs_home
from workbench.experiments._registry import RunRegistry
from workbench.pipeline._folder import STATUS_FILE, read_status

#: the papermill run folder's own record: kind, sweep, status, times and error of the notebook execution
PAPERMILL_FILE = "papermill.json"
PARAMS_FILE = "params.json"
#: the pipeline run folder inside a papermill run folder
PIPELINE_FOLDER = "run"


def headline_metrics(metrics: dict[str, Any]) -> dict[str, float | None]:
    """The registry's metric columns from a ``metrics.json`` dict: the primary model's log-loss, ROC-AUC, rank
    IC (mean and Newey-West t) and precision@K, and the primary backtest's net Sharpe, max drawdown and
    turnover (None where the run has no such number)."""
    primary = metrics["models"][0]["name"]
    classification = metrics.get("classification", {}).get(primary, {})
    section = metrics.get("cross_section", {}).get(primary, {})
    backtest = metrics.get("backtests", {}).get(metrics.get("primary_backtest") or "", {})
    return {"log_loss": classification.get("log_loss"), "roc_auc": classification.get("roc_auc"),
            "rank_ic": section.get("ic", {}).get("mean"), "rank_ic_t": section.get("ic", {}).get("t_stat_nw"),
            "precision_at_k": section.get("precision_at_k", {}).get("precision"),
            "net_sharpe": backtest.get("sharpe"), "max_drawdown": backtest.get("max_drawdown"),
            "turnover": backtest.get("turnover")}


def split_commit(commit: str | None) -> tuple[str | None, bool | None]:
    """``git_commit()``'s ``sha[+dirty]`` as (sha, dirty)."""
    if commit is None:
        return None, None
    return commit.removesuffix("+dirty"), commit.endswith("+dirty")


def _duration(started: Any, finished: Any) -> float | None:
    import pandas as pd

    if not started or not finished:
        return None
    return (pd.Timestamp(finished) - pd.Timestamp(started)).total_seconds()


def pipeline_row(folder: str | Path) -> dict[str, Any]:
    """The registry row of a pipeline run folder, from its ``status.json``, ``config.json`` and (once complete)
    ``metrics.json``; run id = the folder's name."""
    folder = Path(folder)
    status = read_status(folder)
    row: dict[str, Any] = {"run_id": folder.name, "kind": status.get("kind", "cli"), "status": status["state"],
                           "error": status.get("error"), "started_at": status.get("started_at"),
                           "path": str(folder.resolve())}
    if (folder / "config.json").is_file():
        config = json.loads((folder / "config.json").read_text())
        row["parameters"] = json.dumps(config, sort_keys=True)
        row["dataset"] = config.get("data", {}).get("dataset")
    for key in ("dataset", "dataset_fingerprint", "config_hash"):
        row[key] = status.get(key, row.get(key))
    row["git_commit"], row["git_dirty"] = split_commit(status.get("git_commit"))
    if status["state"] != "running":
        row["finished_at"] = status.get("updated_at")
        row["duration_s"] = _duration(row["started_at"], row["finished_at"])
    if (folder / "metrics.json").is_file():
        metrics = json.loads((folder / "metrics.json").read_text())
        row.update(headline_metrics(metrics))
        identity = metrics.get("identity", {})
        row["dataset_fingerprint"] = identity.get("dataset_fingerprint", row["dataset_fingerprint"])
        row["config_hash"] = metrics.get("fingerprint", row["config_hash"])
    return row


def papermill_row(folder: str | Path) -> dict[str, Any]:
    """The registry row of a papermill run folder: ``papermill.json`` (kind, sweep, status, times, error,
    notebook paths), ``params.json`` and the pipeline run folder inside it."""
    folder = Path(folder)
    record = json.loads((folder / PAPERMILL_FILE).read_text())
    inner = folder / PIPELINE_FOLDER
    row: dict[str, Any] = {}
    if (inner / STATUS_FILE).is_file():
        row = {key: value for key, value in pipeline_row(inner).items()
               if key not in ("run_id", "kind", "status", "error", "started_at", "finished_at", "duration_s")}
    row.update(record)
    row["run_id"], row["path"] = folder.name, str(folder.resolve())
    row["parameters"] = json.dumps(json.loads((folder / PARAMS_FILE).read_text()), sort_keys=True)
    row["duration_s"] = _duration(row.get("started_at"), row.get("finished_at"))
    return row


def folder_row(folder: str | Path) -> dict[str, Any] | None:
    """The row of a run folder of either kind (None: not a run folder)."""
    folder = Path(folder)
    if (folder / PAPERMILL_FILE).is_file():
        return papermill_row(folder)
    if (folder / STATUS_FILE).is_file():
        return pipeline_row(folder)
    return None


def reindex(root: str | Path | None = None, registry: RunRegistry | None = None) -> int:
    """Rebuild the registry's rows from every run folder under ``root`` (default: the runs home) and drop the
    rows whose folder there is gone; returns how many rows were written. A run folder whose process died
    keeps its last status (e.g. ``running``)."""
    root = Path(root) if root is not None else runs_home()
    registry = registry if registry is not None else RunRegistry(root / "registry.duckdb")
    rows = [row for row in (folder_row(f) for f in sorted(root.iterdir()) if f.is_dir()) if row is not None] \
        if root.is_dir() else []
    for row in rows:
        registry.record(row)
    existing = registry.runs()
    here = str(root.resolve())
    gone = [r["run_id"] for r in existing.to_dict("records")
            if r["path"] and str(r["path"]).startswith(here) and not Path(r["path"]).is_dir()]
    registry.delete(gone)
    return len(rows)
