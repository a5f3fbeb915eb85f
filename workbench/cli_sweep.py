"""``wb sweep SWEEP.yaml`` (a grid or an Optuna search of ``05_walk_forward`` runs on worker processes),
``wb runs compare RUN... [--sweep ID] [--html F]`` (the metric table and the sweep's overfitting statistics) and
``wb bench experiments`` (papermill's overhead over ``wb run`` and a sweep's parallel speed-up)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from workbench.cli_errors import check_writable


@click.command("sweep")
@click.argument("sweep_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: the file's workers, else one per core).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds one run may take before it is stopped and recorded timeout (default: the file's).")
@click.option("--retry-failed", is_flag=True, help="Run failed and timed-out points again (a rerun skips them).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def sweep(sweep_file: Path, workers: int | None, timeout: float | None, retry_failed: bool, quiet: bool) -> None:
    """Run every point of the sweep file's grid, or its Optuna search's trials, as papermill runs of
    05_walk_forward recorded in the registry (kind sweep); rerunning continues where it stopped. The whole
    file is checked before any run. Exit code 1 when a point failed or timed out."""
    from workbench._paths import runs_home
    from workbench.experiments._sweep import run_sweep
    from workbench.experiments._sweep_spec import SweepSpec

    spec = SweepSpec.from_file(sweep_file)
    check_writable(runs_home(), "the runs folder")
    result = run_sweep(spec, workers=workers, timeout=timeout, retry_failed=retry_failed, progress=not quiet)
    counts = ", ".join(f"{n} {status}" for status, n in sorted(result.counts.items()))
    click.echo(f"sweep {result.sweep_id}: {result.executed} run(s) executed, {result.skipped} already finished; "
               f"{counts or 'no runs'}")
    click.echo(f"overfitting: {result.statistics.verdict}")
    click.echo(f"summary: {result.summary}")
    if any(result.counts.get(status) for status in ("failed", "timeout")):
        raise SystemExit(1)


@click.command("compare")
@click.argument("run_ids", nargs=-1)
@click.option("--sweep", "sweep_id", default=None, help="Compare every run of this sweep (with RUN ids too).")
@click.option("--objective", default="net_sharpe", show_default=True, help="Metric that picks the best run.")
@click.option("--direction", type=click.Choice(["maximize", "minimize"]), default="maximize", show_default=True)
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the table, metric-vs-parameter plots and equity curves to this HTML file.")
@click.option("--json", "as_json", is_flag=True, help="Print the table and statistics as one JSON object.")
def compare(run_ids: tuple[str, ...], sweep_id: str | None, objective: str, direction: str, html_path: Path | None,
            as_json: bool) -> None:
    """Compare runs side by side: their metrics and varied parameters, and for the best run (by --objective) the
    Deflated Sharpe Ratio given all of them and the Probability of Backtest Overfitting over their returns."""
    from workbench.experiments._compare import compare_runs, metric_table
    from workbench.experiments._sweep_spec import OBJECTIVES
    from workbench.experiments._sweep_stats import sweep_statistics

    if objective not in OBJECTIVES:
        raise click.BadParameter(f"{objective!r} is not a run metric; choose one of {', '.join(OBJECTIVES)}",
                                 param_hint="--objective")
    comparison = compare_runs(list(run_ids), sweep_id=sweep_id)
    if html_path is not None:
        from workbench.experiments._sweep_report import write_comparison_html

        check_writable(html_path.parent.resolve(), "--html")
        _, statistics = write_comparison_html(comparison, html_path, title=_title(run_ids, sweep_id),
                                              objective=objective, direction=direction)
    else:
        statistics = sweep_statistics(comparison, objective, direction)
    table = metric_table(comparison)
    if as_json:
        click.echo(json.dumps({"runs": json.loads(table.reset_index().to_json(orient="records")),
                               "overfitting": statistics.to_dict()}))
        return
    click.echo(table.to_string(float_format=lambda x: f"{x:.4g}", na_rep="-"))
    click.echo(f"overfitting: {statistics.verdict}")
    if html_path is not None:
        click.echo(f"html: {html_path}")


def _title(run_ids: tuple[str, ...], sweep_id: str | None) -> str:
    what = [f"sweep {sweep_id}"] if sweep_id else []
    return "Runs compared: " + ", ".join(what + ([f"{len(run_ids)} run(s)"] if run_ids else []))


@click.command("experiments")
@click.option("--dataset", default="default", show_default=True, help="Dataset the runs use (`make demo` builds it).")
@click.option("--points", type=click.IntRange(min=1), default=8, show_default=True, help="Sweep points.")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True, help="Sweep workers.")
@click.option("-p", "--parameter", "parameters", type=(str, str), multiple=True,
              help="A 05_walk_forward parameter for every timed run (YAML value), e.g. -p train_days 3.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on the last line.")
def bench_experiments(dataset: str, points: int, workers: int, parameters: tuple[tuple[str, str], ...],
                      as_json: bool) -> None:
    """Time one walk-forward run through `wb run`'s path (Pipeline on a config) and through papermill, and a
    sweep of --points runs on --workers workers: papermill's overhead in seconds and the sweep's time against
    points / workers x one run."""
    import yaml

    from workbench.bench.experiments import format_experiments_benchmark, run_experiments_benchmark

    chosen = {name: yaml.safe_load(value) for name, value in parameters}
    result = run_experiments_benchmark({"dataset": dataset, **chosen}, points=points, workers=workers,
                                       report=lambda line: click.echo(line, err=True))
    click.echo(format_experiments_benchmark(result))
    if as_json:
        click.echo(json.dumps(result))
