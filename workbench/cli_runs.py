"""``wb runs``: the run registry on the command line — list the runs (of a sweep, best first by a metric), show
one, reproduce one (re-execute and compare every metric), and rebuild the registry from the run folders."""

from __future__ import annotations

import json
import math
from typing import Any

import click
import pandas as pd

from workbench.cli_errors import FriendlyGroup
from workbench.cli_sweep import compare

#: the columns ``wb runs list`` prints, in order
LIST_COLUMNS = ("run_id", "kind", "status", "sweep_id", "net_sharpe", "rank_ic", "rank_ic_t", "roc_auc", "log_loss",
                "precision_at_k", "max_drawdown", "turnover", "duration_s", "started_at")


@click.group("runs", cls=FriendlyGroup)
def runs() -> None:
    """The run registry (papermill_runs/registry.duckdb): every wb run, wb demo, notebook, papermill and sweep run."""


runs.add_command(compare)  # wb runs compare RUN... [--sweep ID] [--html F]


def _format(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def runs_table(rows: pd.DataFrame) -> str:
    """The registry rows as ``wb runs list`` prints them: one line per run, the headline columns."""
    table = rows[list(LIST_COLUMNS)].map(_format)
    return table.to_string(index=False)


@runs.command("list")
@click.option("--sweep", "sweep_id", default=None, help="Only the runs of this sweep.")
@click.option("--sort", default=None,
              help="Best first by this metric (net_sharpe, rank_ic, roc_auc, ...; log_loss and turnover ascending).")
@click.option("--limit", type=int, default=None, help="Show at most this many runs.")
def list_runs(sweep_id: str | None, sort: str | None, limit: int | None) -> None:
    """List the recorded runs (oldest first, or best first with --sort)."""
    from workbench.experiments._registry import RunRegistry

    registry = RunRegistry()
    rows = registry.runs(sweep_id=sweep_id, sort=sort)
    if limit is not None:
        rows = rows.head(limit)
    if not len(rows):
        where = f"in sweep {sweep_id!r} " if sweep_id else ""
        click.echo(f"no runs {where}in {registry.path}; run one with `wb run walk-forward` or `wb demo`")
        return
    click.echo(runs_table(rows))


@runs.command("show")
@click.argument("run_id")
def show_run(run_id: str) -> None:
    """Everything the registry holds about one run (a unique prefix of its id will do)."""
    from workbench.experiments._registry import RunRegistry

    row = RunRegistry().get(run_id)
    for key, value in row.items():
        if key in ("parameters", "error"):
            continue
        click.echo(f"{key:20s} {_format(value)}")
    if isinstance(row.get("parameters"), str):
        click.echo("parameters:")
        click.echo(json.dumps(json.loads(row["parameters"]), indent=2, sort_keys=True))
    if row.get("error"):
        click.echo("error:")
        click.echo(row["error"])


@runs.command("reproduce")
@click.argument("run_id")
@click.option("--force", is_flag=True, help="Re-run even though the dataset or the code changed since.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def reproduce(run_id: str, force: bool, quiet: bool) -> None:
    """Re-execute a run with its recorded parameters and check that every metric matches to the last digit
    (refused when the dataset's fingerprint or the code version changed, unless --force)."""
    from workbench.experiments._reproduce import reproduce_run

    result = reproduce_run(run_id, force=force, progress=not quiet)
    click.echo(f"reproduced {result.run_id} as {result.row['run_id']} ({result.row['path']})")
    if result.matches:
        click.echo("every metric matches to the last digit")
        return
    click.echo(f"{len(result.differences)} metric(s) differ:")
    for key, original, reproduced in result.differences:
        click.echo(f"  {key}: {original!r} -> {reproduced!r}")
    raise SystemExit(1)


@runs.command("reindex")
def reindex_runs() -> None:
    """Rebuild the registry from the run folders (their status.json / papermill.json / metrics.json)."""
    from workbench.experiments._rows import reindex

    click.echo(f"{reindex()} run(s) indexed")
