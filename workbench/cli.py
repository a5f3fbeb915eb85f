"""The ``wb`` command line: thin commands over library functions (``wb --help``)."""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import click

import workbench
from workbench.cli_config import config, load_config_text
from workbench.cli_errors import FriendlyGroup, QueryError, check_writable, sql_error
from workbench.cli_metadata import actions, lake_folder, tickers
from workbench.cli_runs import runs
from workbench.cli_sweep import bench_experiments, sweep

PACKAGE = "quant-workbench"


def code_version() -> str:
    """The installed package version and, in a git checkout, the commit (``+dirty`` with uncommitted changes
    to tracked files): what ``wb --version`` prints."""
    try:
        version = metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        version = "unknown (not installed; pip install -e .)"
    root = Path(workbench.__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return version
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "diff", "--quiet", "HEAD", "--"], capture_output=True,
                               timeout=5).returncode != 0
    except (OSError, subprocess.SubprocessError):
        return version
    return f"{version} (git {commit}{'+dirty' if dirty else ''})"


def _print_version(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"wb {code_version()}")
        ctx.exit()


@click.group(cls=FriendlyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Print the package version and git commit, then exit.")
def main() -> None:
    """Quant research workbench: build and query the data lake, run research jobs and benchmarks."""


main.add_command(config)  # wb config template
main.add_command(sweep)  # wb sweep SWEEP.yaml
main.add_command(runs)  # wb runs list / show / reproduce / reindex


@main.group(cls=FriendlyGroup)
def data() -> None:
    """Build, import, list and inspect datasets of the Parquet lake."""


data.add_command(actions)  # wb data actions import FILE --name NAME
data.add_command(tickers)  # wb data tickers import FILE --name NAME


@data.command("synth")
@click.option("--tickers", "n_tickers", type=int, default=200, show_default=True, help="Number of stocks (SPY on top).")
@click.option("--days", "n_days", type=int, default=20, show_default=True, help="Number of NYSE sessions.")
@click.option("--seed", type=int, default=7, show_default=True, help="Root of every random draw.")
@click.option("--name", default="default", show_default=True, help="Dataset name under datasets/.")
@click.option("--start", default=None, help="First session date (default: 2024-11-25, before Thanksgiving).")
@click.option("--no-signal", is_flag=True, help="Control market: no planted imbalance signal, no lead-lag.")
@click.option("--signal-strength", type=float, default=None, help="Planted imbalance drift (vol units).")
@click.option("--lead-lag-strength", type=float, default=None, help="Share of factor moves followers take late.")
@click.option("--overwrite", is_flag=True, help="Replace an existing dataset of that name.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def data_synth(n_tickers: int, n_days: int, seed: int, name: str, start: str | None, no_signal: bool,
               signal_strength: float | None, lead_lag_strength: float | None, overwrite: bool, quiet: bool) -> None:
    """Simulate a realistic synthetic market (deterministic by seed) and write it to the lake."""
    from workbench.data.synth import SynthConfig, build_synthetic_market

    overrides = {k: v for k, v in {"start": start, "signal_strength": signal_strength,
                                   "lead_lag_strength": lead_lag_strength}.items() if v is not None}
    config = SynthConfig(n_tickers=n_tickers, n_days=n_days, seed=seed, signal=not no_signal, **overrides)
    lake_folder(write=True)
    started = time.perf_counter()
    path = build_synthetic_market(config, name, overwrite=overwrite, progress=not quiet)
    click.echo(f"built {name!r} at {path} in {time.perf_counter() - started:.1f}s")


@data.command("import")
@click.option("--format", "fmt", type=click.Choice(["polygon", "alpaca", "csv"]), required=True,
              help="Vendor of the files; the shape (CSV, JSON lines, REST response, stream messages) is detected.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--name", required=True, help="Dataset to create or append to.")
@click.option("--on-bad", type=click.Choice(["refuse", "quarantine"]), default="refuse", show_default=True,
              help="refuse: stop and name the first bad rows; quarantine: write them to quarantine.parquet.")
@click.option("--map", "mapping", default=None,
              help="csv only: lake_column=csv_column pairs, comma separated (e.g. ts=Date,ticker=Symbol,...); "
                   "date=COL,time=COL for separate date and time columns.")
@click.option("--tz", default=None, help="Timezone of naive timestamps (e.g. America/New_York).")
@click.option("--label", type=click.Choice(["start", "end"]), default="start", show_default=True,
              help="csv only: whether the file stamps a bar by the start or the end of its minute.")
@click.option("--ticker", default=None,
              help="csv only: the symbol of per-symbol files without a ticker column (default: from the file "
                   "name, up to the first '_': aapl_1min.csv -> AAPL).")
@click.option("--ts-format", default=None, help="csv only: strptime format of the stamps (e.g. '%m/%d/%Y %H:%M').")
@click.option("--epoch-unit", type=click.Choice(["s", "ms", "us", "ns"]), default=None,
              help="csv only: unit of integer epoch stamps (default: told from their magnitude).")
@click.option("--index", "index", default=None, help="Record this symbol as the dataset's index instrument.")
def data_import(fmt: str, paths: tuple[Path, ...], name: str, on_bad: str, mapping: str | None, tz: str | None,
                label: str, ticker: str | None, ts_format: str | None, epoch_unit: str | None,
                index: str | None) -> None:
    """Import vendor minute bars (files, or folders of them, e.g. paged responses), validating every row.

    alpaca: bars CSV / JSON lines, v2 bars REST responses (multi- or single-symbol), stream bar messages.
    polygon: flat files, aggregates REST responses, stream AM events. csv: any columns, mapped.
    """
    from workbench.data.importers import import_files

    lake_folder(write=True, name=name)
    column_map = None
    if mapping:
        pairs = [item.split("=", 1) for item in mapping.split(",") if item.strip()]
        bad = [p for p in pairs if len(p) != 2 or not p[0].strip() or not p[1].strip()]
        if bad:
            raise click.BadParameter(f"expected lake_column=csv_column pairs, got {mapping!r}", param_hint="--map")
        column_map = {k.strip(): v.strip() for k, v in pairs}
    report = import_files(list(paths), fmt, name, on_bad=on_bad, mapping=column_map, tz=tz, label=label,
                          ticker=ticker, ts_format=ts_format, epoch_unit=epoch_unit, index=index)
    click.echo(str(report))


@data.command("summary")
@click.argument("name", default="default")
@click.option("--no-facts", is_flag=True, help="Skip the stylized-facts statistics (faster on big lakes).")
def data_summary(name: str, no_facts: bool) -> None:
    """Print a dataset's coverage, corporate actions, context tables and stylized facts (JSON)."""
    from workbench.data import Dataset
    from workbench.data._summary import format_summary, summarize

    lake_folder(write=False)
    click.echo(format_summary(summarize(Dataset(name), facts=not no_facts)))


@data.command("list")
def data_list() -> None:
    """List the datasets of the lake: sessions (first..last), tickers, rows and fingerprint of each."""
    from workbench.data._catalog import catalog, format_catalog

    root = lake_folder(write=False)
    entries = catalog(root)
    click.echo(format_catalog(entries) if entries else f"no datasets under {root}")


@data.command("sql")
@click.argument("name")
@click.argument("query")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
              help="table: aligned text (first and last 30 rows of long results); csv: every row; json: an array "
                   "of row objects. The row count goes to stderr, so csv/json output stays clean.")
def data_sql(name: str, query: str, fmt: str) -> None:
    """Run ad-hoc SQL on a dataset (views: bars, tickers, corporate_actions, vix, rates, macro_events)."""
    import duckdb

    from workbench.data import Dataset

    lake_folder(write=False)
    ds = Dataset(name)
    tables = [row[0] for row in ds.connection.execute(
        "SELECT table_name FROM information_schema.tables ORDER BY table_name").fetchall()]
    try:
        if not duckdb.extract_statements(query):
            raise QueryError(f"empty query (nothing but whitespace or comments); pass a statement such as \"SELECT "
                             f"count(*) FROM bars\" (tables: {', '.join(tables)})")
        frame = ds.sql(query)
    except duckdb.Error as exc:
        raise sql_error(exc, ds.name, tables) from exc
    click.echo(_format_frame(frame, fmt), nl=fmt == "table")
    click.echo(f"{len(frame):,} row{'' if len(frame) == 1 else 's'}", err=True)


def _format_frame(frame: Any, fmt: str) -> str:
    """A query result as text: an aligned table, CSV, or a JSON array of records (dates ISO, NaN as null)."""
    import pandas as pd

    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "json":
        frame = frame.copy()
        for column in frame.columns:  # DATE columns as ISO dates, not as midnights
            values = frame[column]
            if values.dtype == object:
                frame[column] = [v.isoformat() if isinstance(v, dt.date) else v for v in values]
            elif pd.api.types.is_datetime64_dtype(values) and (values.dropna() == values.dropna().dt.normalize()).all():
                frame[column] = values.dt.strftime("%Y-%m-%d")
        return frame.to_json(orient="records", date_format="iso") + "\n"
    if frame.empty:  # pandas would print "Empty DataFrame ..."; the header says which columns came back
        return "  ".join(map(str, frame.columns)) or "(no columns)"
    return frame.to_string(max_rows=60, index=False)


@main.command("demo")
@click.option("--name", default="default", show_default=True, help="Dataset to use (built when absent).")
@click.option("--tickers", "n_tickers", type=int, default=200, show_default=True)
@click.option("--days", "n_days", type=int, default=20, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--train-days", type=int, default=10, show_default=True, help="Walk-forward training sessions.")
@click.option("--test-days", type=int, default=2, show_default=True, help="Walk-forward test sessions per fold.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Run folder (default: papermill_runs/<name>-<run id> under the workbench home, or $WB_RUNS).")
@click.option("--overwrite", is_flag=True, help="Replace the run an --out folder already holds.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def demo(name: str, n_tickers: int, n_days: int, seed: int, train_days: int, test_days: int,
         out: Path | None, overwrite: bool, quiet: bool) -> None:
    """The main job on the embedded defaults: synthetic market -> features -> triple-barrier labels ->
    purged walk-forward LightGBM vs baseline -> metrics, backtests, SHAP -> an HTML report.

    Re-running replaces the demo's own run folder (papermill_runs/<name>-<run id>: the same config, data and code,
    so the same run); an --out folder that holds a run needs --overwrite."""
    from workbench.data import Dataset, dataset_path
    from workbench.data._summary import summarize
    from workbench.data.synth import SynthConfig, build_synthetic_market
    from workbench.pipeline import CVConfig, DataConfig, Pipeline, PipelineConfig

    building = not (dataset_path(name, must_exist=False) / "bars").is_dir()
    lake_folder(write=building)
    _check_run_folder(out)
    if building:
        click.echo(f"building synthetic dataset {name!r} ({n_tickers} stocks x {n_days} sessions, seed {seed})")
        build_synthetic_market(SynthConfig(n_tickers=n_tickers, n_days=n_days, seed=seed), name,
                               progress=not quiet)
    else:
        click.echo(f"dataset {name!r} exists; reusing it (delete datasets/{name} to rebuild)")
    facts = summarize(Dataset(name))
    click.echo(f"market: {facts['rows']:,} bars, {facts['tickers']} tickers, {facts['sessions']} sessions; "
               f"stylized facts: {json.dumps(facts.get('stylized_facts', {}), default=str)}")
    config = PipelineConfig(name=f"demo-{name}", seed=seed, data=DataConfig(dataset=name),
                            cv=CVConfig(train_days=train_days, test_days=test_days))
    result = Pipeline(config).run(out, progress=not quiet, overwrite=overwrite or out is None, kind="demo")
    click.echo(result.run_metrics.render_text())
    click.echo(f"report: {result.report}")


@main.command("run")
@click.argument("target", metavar="walk-forward|CONFIG.json")
@click.option("-p", "--parameter", "parameters", nargs=2, multiple=True, metavar="NAME VALUE",
              help="walk-forward: set a parameter of 05_walk_forward (VALUE read as YAML: 5, 0.5, true, null, [3, 5]).")
@click.option("-f", "--parameters-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="walk-forward: a YAML (or JSON) mapping of parameters; -p values override it.")
@click.option("--timeout", type=float, default=None, help="walk-forward: seconds a notebook cell may run.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Run folder (default: papermill_runs/<name>-<run id> under the workbench home, or $WB_RUNS).")
@click.option("--overwrite", is_flag=True, help="Replace the run the folder already holds (it is cleared first).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def run(target: str, parameters: tuple[tuple[str, str], ...], parameters_file: Path | None, timeout: float | None,
        out: Path | None, overwrite: bool, quiet: bool) -> None:
    """Run a research pipeline: `wb run walk-forward [-p NAME VALUE]... [-f params.yaml]` executes the
    05_walk_forward notebook with papermill into papermill_runs/<run_id>/ (recorded in the registry); `wb run
    CONFIG.json` runs a JSON config (PipelineConfig.to_json, or `wb config template` with its // comments);
    unknown keys or parameters are refused before any work."""
    if target == "walk-forward":
        if out is not None or overwrite:
            raise click.UsageError("--out and --overwrite apply to a config run; a walk-forward run gets its own "
                                   "papermill_runs/<run_id>/ folder")
        _run_walk_forward(parameters, parameters_file, timeout)
        return
    from workbench.pipeline import Pipeline, PipelineConfig

    config_path = Path(target)
    if not config_path.is_file():
        raise click.BadParameter(f"no config file {target!r}; pass a JSON config or `walk-forward`",
                                 param_hint="'walk-forward|CONFIG.json'")
    if parameters or parameters_file is not None or timeout is not None:
        raise click.UsageError("-p, -f and --timeout apply to `wb run walk-forward`; a config file sets everything")
    config = PipelineConfig.from_dict(load_config_text(config_path.read_text(), str(config_path)))
    lake_folder(write=False)
    _check_run_folder(out)
    result = Pipeline(config).run(out, progress=not quiet, overwrite=overwrite, kind="cli")
    click.echo(result.run_metrics.render_text())
    click.echo(f"report: {result.report}")


def _run_walk_forward(pairs: tuple[tuple[str, str], ...], parameters_file: Path | None, timeout: float | None) -> None:
    """``wb run walk-forward``: the parameters from the file and ``-p`` pairs, one papermill run, its summary;
    exits non-zero unless the run completed."""
    import yaml

    from workbench.experiments._papermill import execute_walk_forward

    values: dict[str, Any] = {}
    if parameters_file is not None:
        loaded = yaml.safe_load(parameters_file.read_text())
        if not isinstance(loaded, dict):
            raise click.BadParameter(f"{parameters_file} must hold a mapping of parameter names to values",
                                     param_hint="'-f'")
        values.update(loaded)
    for name, text in pairs:
        try:
            values[name] = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise click.BadParameter(f"{name} {text!r} is not a YAML value ({error.__class__.__name__})",
                                     param_hint="'-p'") from error
    _check_run_folder(None)
    row = execute_walk_forward(values, timeout=timeout)
    click.echo(f"run {row['run_id']}: {row['status']}")
    if row["status"] == "complete":
        click.echo(f"net Sharpe {row['net_sharpe']:.2f}, rank IC {row['rank_ic']:+.4f} (t {row['rank_ic_t']:.1f}), "
                   f"ROC-AUC {row['roc_auc']:.3f}, log-loss {row['log_loss']:.4f}, precision@K "
                   f"{row['precision_at_k']:.3f}, max drawdown {row['max_drawdown']:.2%}")
    click.echo(f"notebook: {row['html']}")
    click.echo(f"folder: {row['path']}")
    if row["status"] != "complete":
        error = (row.get("error") or "").strip().splitlines()
        raise click.ClickException(f"the walk-forward run {row['status']}: {error[0] if error else 'no error text'} "
                                   f"(`wb runs show {row['run_id']}` has the traceback)")


def _check_run_folder(out: Path | None) -> None:
    """Refuse before any work a run folder (``--out``, else ``$WB_RUNS``) that cannot be written."""
    from workbench.pipeline import runs_root

    if out is not None:
        check_writable(out, "--out")
    else:
        check_writable(runs_root(), "WB_RUNS" if os.environ.get("WB_RUNS") else "the runs folder")


@main.group(cls=FriendlyGroup)
def bench() -> None:
    """Benchmarks that print numbers (use --json for one machine-readable line)."""


bench.add_command(bench_experiments)  # wb bench experiments


@bench.command("synth")
@click.option("--tickers", "n_tickers", type=int, default=5000, show_default=True)
@click.option("--days", "n_days", type=int, default=1, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on the last line.")
def bench_synth(n_tickers: int, n_days: int, seed: int, as_json: bool) -> None:
    """Time a synthetic build and report wall time, rows/s and peak memory."""
    from workbench.data import Dataset, datasets_root
    from workbench.data.synth import SynthConfig, build_synthetic_market

    name = f"bench-synth-{n_tickers}x{n_days}"
    lake_folder(write=True)
    started = time.perf_counter()
    path = build_synthetic_market(SynthConfig(n_tickers=n_tickers, n_days=n_days, seed=seed), name,
                                  overwrite=True, progress=False)
    seconds = time.perf_counter() - started
    rows = int(Dataset(path).sql("SELECT count(*) FROM bars").iloc[0, 0])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    disk_mb = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20
    shutil.rmtree(path)
    result = {"tickers": n_tickers, "days": n_days, "seconds": round(seconds, 2), "rows": rows,
              "rows_per_s": round(rows / seconds), "peak_rss_mb": round(peak_mb), "disk_mb": round(disk_mb, 1)}
    click.echo(f"synth {n_tickers} tickers x {n_days} sessions: {seconds:.2f}s, {rows:,} rows "
               f"({rows / seconds:,.0f} rows/s), peak RSS {peak_mb:,.0f} MB, {disk_mb:.1f} MB on disk "
               f"(under {datasets_root()})")
    if as_json:
        click.echo(json.dumps(result))


@bench.command("features")
@click.option("--tickers", "n_tickers", type=int, default=500, show_default=True, help="Stocks in the batch market.")
@click.option("--days", "n_days", type=int, default=5, show_default=True, help="Sessions in the batch market.")
@click.option("--online-tickers", type=int, default=5000, show_default=True, help="Cross-section size online.")
@click.option("--online-minutes", type=int, default=300, show_default=True,
              help="Timed online updates (minutes of the second session, after a full first session).")
@click.option("--repeats", type=int, default=3, show_default=True, help="Batch timings keep the best of this many.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on the last line.")
def bench_features(n_tickers: int, n_days: int, online_tickers: int, online_minutes: int, repeats: int, seed: int,
                   as_json: bool) -> None:
    """Batch rows/s of the catalog vs pandas and TA-Lib baselines; online update p50/p99 latency."""
    from workbench.bench.features import format_feature_benchmark, run_feature_benchmark

    result = run_feature_benchmark(n_tickers, n_days, online_tickers=online_tickers, online_minutes=online_minutes,
                                   repeats=repeats, seed=seed, report=lambda line: click.echo(line, err=True))
    click.echo(format_feature_benchmark(result))
    if as_json:
        click.echo(json.dumps(result))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
