"""Market data: the Parquet lake (queried with DuckDB), the synthetic market and vendor importers."""

from workbench.data._calendar import EXCHANGE_TZ, bar_times, first_sessions, regular_session_mask, sessions
from workbench.data._lake import ADJUST_MODES, Dataset
from workbench.data._paths import dataset_path, datasets_root
from workbench.data._schema import BAR_COLUMNS, BAR_SCHEMA, bar_problems

__all__ = [
    "ADJUST_MODES",
    "BAR_COLUMNS",
    "BAR_SCHEMA",
    "EXCHANGE_TZ",
    "Dataset",
    "bar_problems",
    "bar_times",
    "dataset_path",
    "datasets_root",
    "first_sessions",
    "regular_session_mask",
    "sessions",
]
