"""The run registry: ``papermill_runs/registry.duckdb``, one row per run (whether ``wb run``, ``wb demo``, a
notebook, papermill or a sweep made it) with its parameters, headline metrics, status, timing, code version,
dataset fingerprint and folder.

DuckDB allows one writer process per file, so every access is a short connection under a lock file beside the
database (``registry.duckdb.lock``): writers take it exclusively (``fcntl.flock``) and readers shared, so parallel
workers queue instead of failing, and a row is either written whole or not at all (one transaction). The run
folders stay the ground truth: :func:`reindex` rebuilds every row from their ``status.json`` / ``metrics.json`` /
``params.json``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from workbench._paths import runs_home
from workbench.errors import WorkbenchError

#: the registry's columns and their DuckDB types, in table order
COLUMNS: dict[str, str] = {
    "run_id": "VARCHAR PRIMARY KEY", "kind": "VARCHAR", "sweep_id": "VARCHAR", "parameters": "VARCHAR",
    "log_loss": "DOUBLE", "roc_auc": "DOUBLE", "rank_ic": "DOUBLE", "rank_ic_t": "DOUBLE",
    "precision_at_k": "DOUBLE", "net_sharpe": "DOUBLE", "max_drawdown": "DOUBLE", "turnover": "DOUBLE",
    "status": "VARCHAR", "error": "VARCHAR", "started_at": "TIMESTAMPTZ", "finished_at": "TIMESTAMPTZ",
    "duration_s": "DOUBLE", "git_commit": "VARCHAR", "git_dirty": "BOOLEAN", "dataset": "VARCHAR",
    "dataset_fingerprint": "VARCHAR", "config_hash": "VARCHAR", "path": "VARCHAR", "notebook": "VARCHAR",
    "html": "VARCHAR",
}
#: the headline metrics (of the primary model and the primary backtest), sortable with ``wb runs list --sort``
METRICS = ("log_loss", "roc_auc", "rank_ic", "rank_ic_t", "precision_at_k", "net_sharpe", "max_drawdown", "turnover")
KINDS = ("cli", "demo", "notebook", "papermill", "sweep")
STATUSES = ("running", "complete", "failed", "interrupted", "timeout")
#: metrics where smaller is better: ``--sort`` puts them ascending, the others descending
ASCENDING = ("log_loss", "turnover")


class RegistryError(WorkbenchError, KeyError):
    """A run the registry does not hold, or a row it cannot take."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def registry_path() -> Path:
    """``registry.duckdb`` in the runs home (``papermill_runs/``, or ``$WB_RUNS``)."""
    return runs_home() / "registry.duckdb"


def _timestamp(value: Any) -> dt.datetime | None:
    """A tz-aware UTC datetime from an ISO string, a pandas Timestamp or a datetime (None/NaT: None)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()


def _cell(name: str, value: Any) -> Any:
    """``value`` as the column's DuckDB parameter: NaN/NaT/None → NULL, dicts/lists as JSON text."""
    kind = COLUMNS[name].split()[0]
    if kind == "TIMESTAMPTZ":
        return _timestamp(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if not isinstance(value, str | dict | list | tuple | bool) and pd.isna(value):
        return None
    if kind == "DOUBLE":
        return float(value)
    if kind == "BOOLEAN":
        return bool(value)
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


class RunRegistry:
    """The runs registry in ``path`` (default ``papermill_runs/registry.duckdb``), made on first write.

    Examples
    --------
    >>> registry = RunRegistry()                     # doctest: +SKIP
    >>> registry.record({"run_id": "x", "kind": "cli", "status": "running"})  # doctest: +SKIP
    >>> registry.runs(sort="net_sharpe")             # doctest: +SKIP
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else registry_path()
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    @contextlib.contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _create(self, connection: duckdb.DuckDBPyConnection) -> None:
        columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
        connection.execute(f"CREATE TABLE IF NOT EXISTS runs ({columns})")

    def record(self, row: dict[str, Any]) -> None:
        """Insert or replace the row of ``row["run_id"]`` (columns left out are NULL; unknown ones, kinds and
        statuses refused).
        Safe with concurrent writer processes: one short transaction under the exclusive lock."""
        if not row.get("run_id"):
            raise RegistryError("a registry row needs a run_id")
        unknown = sorted(set(row) - set(COLUMNS))
        if unknown:
            raise RegistryError(f"unknown registry column(s) {unknown}; the columns: {', '.join(COLUMNS)}")
        for column, allowed in (("kind", KINDS), ("status", STATUSES)):
            if row.get(column) is not None and row[column] not in allowed:
                raise RegistryError(f"{column} {row[column]!r} is not one of {', '.join(allowed)}")
        values = [_cell(name, row.get(name)) for name in COLUMNS]
        placeholders = ", ".join("?" for _ in COLUMNS)
        with self._locked(exclusive=True):
            connection = duckdb.connect(str(self.path))
            try:
                self._create(connection)
                connection.execute(f"INSERT OR REPLACE INTO runs VALUES ({placeholders})", values)
            finally:
                connection.close()

    def _read(self, where: str = "", values: list[Any] | None = None) -> pd.DataFrame:
        if not self.path.exists():
            return pd.DataFrame({name: pd.Series(dtype=_dtype(kind)) for name, kind in COLUMNS.items()})
        connection = duckdb.connect(str(self.path), read_only=True)
        try:
            frame = connection.execute(f"SELECT * FROM runs {where}", values or []).df()
        finally:
            connection.close()
        for name in ("started_at", "finished_at"):
            frame[name] = pd.to_datetime(frame[name], utc=True)
        return frame

    def runs(self, sweep_id: str | None = None, sort: str | None = None) -> pd.DataFrame:
        """Every row (of ``sweep_id`` only, when given), oldest first, or by the metric ``sort`` (best first:
        ascending for log-loss and turnover, descending otherwise; missing values last)."""
        if sort is not None and sort not in COLUMNS:
            raise RegistryError(f"cannot sort by {sort!r}; metrics: {', '.join(METRICS)} (or any column: "
                                f"{', '.join(COLUMNS)})")
        with self._locked(exclusive=False):
            frame = self._read(*(("WHERE sweep_id = ?", [sweep_id]) if sweep_id is not None else ()))
        frame = frame.sort_values(["started_at", "run_id"], kind="stable", na_position="last")
        if sort is not None:
            frame = frame.sort_values(sort, ascending=sort in ASCENDING or sort not in METRICS, kind="stable",
                                      na_position="last")
        return frame.reset_index(drop=True)

    def get(self, run_id: str) -> dict[str, Any]:
        """The row of ``run_id`` (a unique prefix will do), as a dict."""
        with self._locked(exclusive=False):
            frame = self._read("WHERE starts_with(run_id, ?)", [str(run_id)])
        exact = frame[frame["run_id"] == str(run_id)]
        frame = exact if len(exact) else frame
        if len(frame) != 1:
            problem = "no run" if not len(frame) else f"{len(frame)} runs match"
            raise RegistryError(f"{problem} {run_id!r} in {self.path}; `wb runs list` shows the runs")
        return frame.to_dict("records")[0]

    def delete(self, run_ids: list[str]) -> None:
        """Remove the rows of ``run_ids`` (their folders are gone)."""
        if not run_ids or not self.path.exists():
            return
        with self._locked(exclusive=True):
            connection = duckdb.connect(str(self.path))
            try:
                connection.execute("DELETE FROM runs WHERE list_contains(?, run_id)", [list(run_ids)])
            finally:
                connection.close()


def _dtype(kind: str) -> str:
    kind = kind.split()[0]
    return {"DOUBLE": "float64", "BOOLEAN": "boolean", "TIMESTAMPTZ": "datetime64[ns, UTC]"}.get(kind, "object")
