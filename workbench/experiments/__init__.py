"""Experiments: every run in one registry (``papermill_runs/registry.duckdb``), the walk-forward notebook
``05_walk_forward`` executed through papermill with validated parameters, and reproducing a recorded run.

::

    row = execute_walk_forward({"train_days": 3, "test_days": 1})   # papermill_runs/<run_id>/, recorded
    RunRegistry().runs(sort="net_sharpe")                            # one row per run
    reproduce_run(row["run_id"])                                     # re-execute, compare every metric
"""

from workbench.experiments._parameters import (
    ParameterError,
    config_from_parameters,
    validate_parameters,
    walk_forward_parameters,
)
from workbench.experiments._registry import COLUMNS, METRICS, RegistryError, RunRegistry, registry_path
from workbench.experiments._rows import headline_metrics, reindex

__all__ = [
    "COLUMNS",
    "METRICS",
    "ParameterError",
    "RegistryError",
    "RunRegistry",
    "config_from_parameters",
    "headline_metrics",
    "registry_path",
    "reindex",
    "validate_parameters",
    "walk_forward_parameters",
]
