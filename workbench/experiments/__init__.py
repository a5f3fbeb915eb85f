"""Experiments: every run in one registry (``papermill_runs/registry.duckdb``), the walk-forward notebook
``05_walk_forward`` executed through papermill with validated parameters, and reproducing a recorded run.

::

    row = execute_walk_forward({"train_days": 3, "test_days": 1})   # papermill_runs/<run_id>/, recorded
    RunRegistry().runs(sort="net_sharpe")                            # one row per run
    reproduce_run(row["run_id"])                                     # re-execute, compare every metric
"""

from workbench.experiments._compare import (
    CompareError,
    RunComparison,
    compare_runs,
    compare_selection,
    metric_table,
    primary_returns,
)
from workbench.experiments._papermill import execute_walk_forward
from workbench.experiments._parameters import (
    ParameterError,
    config_from_parameters,
    run_walk_forward,
    validate_parameters,
    walk_forward_parameters,
)
from workbench.experiments._registry import COLUMNS, METRICS, RegistryError, RunRegistry, registry_path
from workbench.experiments._reproduce import ReproduceError, Reproduction, metric_differences, reproduce_run
from workbench.experiments._rows import headline_metrics, reindex
from workbench.experiments._sweep import SweepBusyError, SweepResult, repair_sweep, run_sweep, sweep_folder
from workbench.experiments._sweep_report import write_comparison_html, write_sweep_summary
from workbench.experiments._sweep_spec import SweepFileError, SweepSpec
from workbench.experiments._sweep_stats import SweepStatistics, sweep_statistics

__all__ = [
    "COLUMNS",
    "METRICS",
    "ParameterError",
    "RegistryError",
    "ReproduceError",
    "Reproduction",
    "RunRegistry",
    "config_from_parameters",
    "execute_walk_forward",
    "headline_metrics",
    "metric_differences",
    "registry_path",
    "reindex",
    "reproduce_run",
    "run_walk_forward",
    "validate_parameters",
    "walk_forward_parameters",
    # sweeps and comparisons
    "CompareError",
    "RunComparison",
    "SweepBusyError",
    "SweepFileError",
    "SweepResult",
    "SweepSpec",
    "SweepStatistics",
    "compare_runs",
    "compare_selection",
    "metric_table",
    "primary_returns",
    "repair_sweep",
    "run_sweep",
    "sweep_folder",
    "sweep_statistics",
    "write_comparison_html",
    "write_sweep_summary",
]
