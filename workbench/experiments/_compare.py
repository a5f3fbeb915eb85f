"""Comparing runs from the registry: their rows (the metric table), the parameters that vary between them, and
the per-minute net returns of each run's primary backtest (``returns.parquet``), whose compounding gives the
overlaid equity curves and whose common timestamps feed the sweep's overfitting statistics."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.errors import WorkbenchError


class CompareError(WorkbenchError, ValueError):
    """Runs that cannot be compared as asked (none given, unknown ids, an empty sweep)."""


@dataclass(frozen=True)
class RunComparison:
    """Runs side by side. ``table``: their registry rows, in the order asked; ``parameters``: one row per run,
    one column per parameter (``varied`` names those that differ between the runs); ``returns``: per-minute net
    returns of each complete run's primary backtest, one column per run id, on the union of their timestamps
    (NaN where a run has no bar)."""

    table: pd.DataFrame
    parameters: pd.DataFrame
    returns: pd.DataFrame

    @property
    def varied(self) -> list[str]:
        """The parameters whose values differ between the runs (what a metric-vs-parameter plot is about)."""
        return [name for name in self.parameters.columns
                if self.parameters[name].map(_hashable).nunique(dropna=False) > 1]

    @property
    def equity(self) -> pd.DataFrame:
        """Each run's equity per unit of starting capital: the compounded net returns over its own minutes."""
        return (1.0 + self.returns).cumprod().where(self.returns.notna())

    @property
    def common_returns(self) -> pd.DataFrame:
        """The returns on the minutes every run traded (the matrix the overfitting statistics read)."""
        return self.returns.dropna(how="any")


def primary_returns(run_path: str | Path) -> pd.Series:
    """A run folder's per-minute net returns of its primary backtest (``metrics.json``'s
    ``primary_backtest``), indexed by UTC timestamp."""
    folder = _pipeline_folder(Path(run_path))
    metrics = json.loads((folder / "metrics.json").read_text())
    primary = metrics.get("primary_backtest")
    frame = pd.read_parquet(folder / "returns.parquet")
    if primary is None or primary not in set(frame["backtest"]):
        raise CompareError(f"{folder}: no primary backtest {primary!r} in returns.parquet (backtests: "
                           f"{', '.join(sorted(set(frame['backtest'])))}); re-run it with this version")
    series = frame.loc[frame["backtest"] == primary].set_index("ts")["net_return"].sort_index()
    series.index = pd.DatetimeIndex(series.index).tz_convert("UTC")
    return series


def compare_runs(run_ids: list[str] | tuple[str, ...] | None = None, *, sweep_id: str | None = None,
                 registry: Any = None) -> RunComparison:
    """Compare the runs named (ids as ``wb runs list`` shows them), or every run of ``sweep_id``, or both."""
    from workbench.experiments._registry import RunRegistry

    registry = registry if registry is not None else RunRegistry()
    ids: list[str] = []
    if sweep_id is not None:
        swept = registry.runs(sweep_id=sweep_id)
        if not len(swept):
            raise CompareError(f"no runs in sweep {sweep_id!r}; `wb runs list` shows the sweeps and their runs")
        ids.extend(swept["run_id"])
    ids.extend(registry.get(run_id)["run_id"] for run_id in run_ids or ())  # a unique prefix will do
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise CompareError("name runs to compare (run ids from `wb runs list`) or a sweep (--sweep ID)")
    everything = registry.runs()
    table = everything.set_index("run_id").loc[ids].reset_index()[list(everything.columns)]
    rows = table.to_dict("records")
    parameters = pd.DataFrame([json.loads(text) if isinstance(text, str) else dict(text or {})
                               for text in table["parameters"]], index=table["run_id"])
    series = {row["run_id"]: primary_returns(row["path"]) for row in rows
              if row["status"] == "complete" and row.get("path")}
    returns = pd.DataFrame(series) if series else pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC"))
    return RunComparison(table=table, parameters=parameters, returns=returns.sort_index())


def _pipeline_folder(path: Path) -> Path:
    """The folder holding ``metrics.json``: the run folder itself, or the pipeline run folder a papermill run
    folder holds."""
    if (path / "metrics.json").is_file():
        return path
    inner = sorted(p.parent for p in path.glob("*/metrics.json"))
    if len(inner) == 1:
        return inner[0]
    raise CompareError(f"{path}: no run's metrics.json there (an unfinished or deleted run?); `wb runs show` "
                       "gives a run's folder")


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True, default=str) if isinstance(value, list | dict) else value


#: the registry's metric columns, in the order a comparison shows them
TABLE_METRICS = ("net_sharpe", "rank_ic", "rank_ic_t", "precision_at_k", "roc_auc", "log_loss", "max_drawdown",
                 "turnover")


def metric_table(comparison: RunComparison) -> pd.DataFrame:
    """One row per run: id, status, the varied parameters, the headline metrics and the duration — the table
    ``wb runs compare`` prints and the notebook shows."""
    table = comparison.table.set_index("run_id")
    varied = comparison.parameters[comparison.varied]
    metrics = [name for name in TABLE_METRICS if name in table.columns]
    return pd.concat([table[["status"]], varied, table[metrics + ["duration_s"]]], axis=1).rename_axis("run_id")


def default_selection(registry: Any = None, *, limit: int = 10) -> tuple[list[str], str | None]:
    """What to compare when nothing is named: the newest sweep's runs, else the ``limit`` newest complete runs
    (``([], None)`` for an empty registry)."""
    from workbench.experiments._registry import RunRegistry

    rows = (registry if registry is not None else RunRegistry()).runs()
    if not len(rows):
        return [], None
    rows = rows.sort_values("started_at", kind="stable") if "started_at" in rows else rows
    swept = rows[rows["sweep_id"].notna()]
    if len(swept):
        return [], str(swept["sweep_id"].iloc[-1])
    return [str(run_id) for run_id in rows.loc[rows["status"] == "complete", "run_id"].iloc[-limit:]], None


def compare_selection(run_ids: list[str] | tuple[str, ...] | None = None, sweep_id: str | None = None, *,
                      registry: Any = None) -> RunComparison:
    """:func:`compare_runs` of what is named, or when nothing is, of :func:`default_selection`."""
    if not run_ids and sweep_id is None:
        run_ids, sweep_id = default_selection(registry)
        if not run_ids and sweep_id is None:
            raise CompareError("the registry holds no runs yet; run some first (`make demo`, `wb run walk-forward`, "
                               "or `wb sweep sweeps/example_grid.yaml`)")
    return compare_runs(run_ids, sweep_id=sweep_id, registry=registry)
