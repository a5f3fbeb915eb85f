"""Sweeps run real papermill executions of 05_walk_forward on worker processes: a grid with one failing point
records 3 complete runs and 1 failed with its traceback; a rerun executes nothing; an Optuna search records its
trials and continues its study; a run over its timeout is recorded ``timeout``; killing a sweep mid-run leaves
no ``running`` row once its invocation is gone; and a bad sweep file is refused, one line, before any run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pandas as pd
import pytest
import yaml

from workbench.data import Dataset
from workbench.evaluation import deflated_sharpe_ratio, probability_of_backtest_overfitting
from workbench.experiments._registry import RunRegistry
from workbench.experiments._sweep import SweepResult, repair_sweep, run_sweep, sweep_folder
from workbench.experiments._sweep_spec import SweepFileError, SweepSpec

#: tiny walk-forward runs on the suite's market: 3 training sessions, 1-session folds, 30 stocks, one quick
#: model (a logistic regression: LightGBM's threads crawl when the workers share two cores), one cost setting
TINY = {"train_days": 3, "test_days": 1, "top_k": 5, "min_names": 10, "models": [{"kind": "logistic"}],
        "decay_delays": [0], "cost_multipliers": [1.0]}


@pytest.fixture(scope="module")
def sweep_runs(market: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A runs folder (``$WB_RUNS``, inherited by the workers and their kernels) for this module's sweeps."""
    root = tmp_path_factory.mktemp("sweep-runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WB_RUNS", str(root))
        yield root


@pytest.fixture(scope="module")
def base(market: Dataset) -> dict[str, object]:
    """The tiny parameters on 30 of the market's stocks and its index."""
    stocks = [t for t in market.tickers["ticker"] if t != "SPY"][:30]
    return {"dataset": market.name, "tickers": [*stocks, "SPY"], **TINY}


def _spec(sweep_id: str, base: dict[str, object], **settings: object) -> SweepSpec:
    return SweepSpec.from_dict({"sweep_id": sweep_id, "base": base, "workers": 2, **settings})


@pytest.fixture(scope="module")
def grid_sweep(base: dict[str, object], sweep_runs: Path) -> SweepResult:
    # top_k = 500 needs 1,000 names for its long-short and the run has 31: a valid value of the right type,
    # so the sweep file passes and the kernel starts, then Pipeline.run's check_fit raises at once (before any
    # data is loaded) inside the notebook — a real failure of a run, fast
    spec = _spec("grid", base, grid={"top_k": [2, 3, 4, 500]})
    return run_sweep(spec, progress=False)


def test_grid_sweep_records_every_point_and_a_failure_without_stopping_the_others(grid_sweep: SweepResult) -> None:
    rows = RunRegistry().runs(sweep_id="grid")
    assert len(rows) == 4 and grid_sweep.executed == 4 and grid_sweep.skipped == 0
    by_top_k = {json.loads(row["parameters"])["top_k"]: row for row in rows.to_dict("records")}
    failed = by_top_k[500]
    assert failed["status"] == "failed" and failed["kind"] == "sweep"
    assert "Traceback" in failed["error"] and "top_k" in failed["error"]
    for top_k in (2, 3, 4):
        row = by_top_k[top_k]
        assert row["status"] == "complete" and row["kind"] == "sweep" and pd.isna(row["error"])
        assert row["net_sharpe"] == row["net_sharpe"] and row["rank_ic"] == row["rank_ic"]  # not NaN
        assert (Path(row["path"])).is_dir()
    assert grid_sweep.summary is not None and grid_sweep.summary.is_file()
    assert "DSR" in grid_sweep.summary.read_text()


def test_grid_summary_is_the_evaluation_functions_on_the_runs_returns(grid_sweep: SweepResult) -> None:
    rows = RunRegistry().runs(sweep_id="grid").query("status == 'complete'")
    series = {}
    for row in rows.to_dict("records"):
        run = Path(row["path"]) / "run"
        primary = json.loads((run / "metrics.json").read_text())["primary_backtest"]
        frame = pd.read_parquet(run / "returns.parquet")
        series[row["run_id"]] = frame[frame["backtest"] == primary].set_index("ts")["net_return"]
    common = pd.concat(series, axis=1, join="inner").sort_index()
    best = rows.loc[rows["net_sharpe"].idxmax(), "run_id"]
    sharpes = common.mean() / common.std(ddof=1)
    dsr = deflated_sharpe_ratio(common[best].to_numpy(), trial_sharpe_ratios=sharpes.to_numpy())
    pbo = probability_of_backtest_overfitting(common.to_numpy(), n_splits=16)
    statistics = grid_sweep.statistics
    assert statistics.best_run == best and statistics.n_trials == 3 and statistics.n_observations == len(common)
    assert statistics.dsr == pytest.approx(float(dsr), rel=1e-12)
    assert statistics.pbo == pytest.approx(pbo.pbo, rel=1e-12)
    text = grid_sweep.summary.read_text()
    assert f"DSR {float(dsr):.2f}" in text and f"PBO {pbo.pbo:.2f}" in text and "best of 3 runs" in text


def test_rerun_skips_finished_points(grid_sweep: SweepResult, base: dict[str, object]) -> None:
    before = RunRegistry().runs(sweep_id="grid")
    again = run_sweep(_spec("grid", base, grid={"top_k": [2, 3, 4, 500]}), progress=False, summary=False)
    assert again.executed == 0 and again.skipped == 4
    after = RunRegistry().runs(sweep_id="grid")
    assert sorted(after["run_id"]) == sorted(before["run_id"])


def test_optuna_search_records_its_trials_and_continues_the_study(base: dict[str, object], sweep_runs: Path) -> None:
    search = {"method": "optuna", "n_trials": 3, "objective": "rank_ic", "direction": "maximize", "seed": 1,
              "space": {"top_k": {"int": [2, 6]}}}
    result = run_sweep(_spec("search", base, search=search), progress=False, summary=False)
    rows = RunRegistry().runs(sweep_id="search")
    assert result.executed == 3 and len(rows) == 3 and set(rows["status"]) == {"complete"}
    study = optuna.load_study(study_name="search", storage=f"sqlite:///{sweep_folder('search') / 'optuna.db'}")
    trials = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(trials) == 3
    recorded = {json.loads(row["parameters"])["top_k"]: row["rank_ic"] for row in rows.to_dict("records")}
    for trial in trials:  # the study learned what the registry says each trial scored
        assert trial.value == pytest.approx(recorded[trial.params["top_k"]], abs=0, rel=1e-12)
    again = run_sweep(_spec("search", base, search=search), progress=False, summary=False)
    assert again.executed == 0 and len(RunRegistry().runs(sweep_id="search")) == 3


def test_a_run_over_its_timeout_is_recorded_timeout(base: dict[str, object], sweep_runs: Path) -> None:
    # the notebook's pipeline cell takes seconds; papermill's limit is per cell
    result = run_sweep(_spec("timeout", base, grid={"top_k": [5]}, timeout=1), progress=False, summary=False)
    rows = RunRegistry().runs(sweep_id="timeout")
    assert result.executed == 1 and list(rows["status"]) == ["timeout"]


def test_sweep_file_errors_are_one_line_and_nothing_runs(tmp_path: Path, market: Dataset, sweep_runs: Path) -> None:
    cases = {
        "unknown key": ({"grid": {"top_k": [5]}, "wokers": 2}, "unknown key(s) ['wokers']"),
        "unknown parameter": ({"grid": {"top_kk": [5]}}, "top_kk"),
        "unknown base parameter": ({"base": {"train_dayz": 3}, "grid": {"top_k": [5]}}, "train_dayz"),
        "wrong type": ({"grid": {"top_k": ["five"]}}, "top_k"),
        "empty grid": ({"grid": {"top_k": []}}, "non-empty list"),
        "grid and search": ({"grid": {"top_k": [5]}, "search": {"n_trials": 2}}, "exactly one of grid"),
        "bad range": ({"search": {"n_trials": 2, "space": {"top_k": {"int": [9, 3]}}}}, "low < high"),
        "no budget": ({"search": {"space": {"top_k": {"int": [3, 9]}}}}, "n_trials"),
        "bad objective": ({"grid": {"top_k": [5]}, "objective": "sharpe"}, "not a run metric"),
        "value the config refuses": ({"grid": {"features_all_nan": ["keep"]}}, "features_all_nan"),
    }
    for name, (settings, words) in cases.items():
        path = tmp_path / f"{name.replace(' ', '_')}.yaml"
        path.write_text(yaml.safe_dump({"base": {"dataset": market.name}, **settings}))
        with pytest.raises(SweepFileError) as caught:
            SweepSpec.from_file(path)
        message = str(caught.value)
        assert words in message and "\n" not in message and str(path) in message, name
    (tmp_path / "broken.yaml").write_text("grid: {top_k: [5\n")
    with pytest.raises(SweepFileError, match="not valid YAML"):
        SweepSpec.from_file(tmp_path / "broken.yaml")


def test_cli_refuses_a_bad_sweep_file_in_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from workbench.cli import main

    path = tmp_path / "bad.yaml"
    path.write_text("grid: {top_kk: [5]}\n")
    result = CliRunner().invoke(main, ["sweep", str(path)])
    assert result.exit_code != 0
    assert result.output.count("\n") == 1 and "top_kk" in result.output and "Traceback" not in result.output


def test_killed_sweep_leaves_no_running_rows(base: dict[str, object], sweep_runs: Path, tmp_path: Path) -> None:
    path = tmp_path / "killed.yaml"
    path.write_text(yaml.safe_dump({"sweep_id": "killed", "base": base,
                                    "grid": {"top_k": [4, 6]}, "workers": 2}))
    parent = subprocess.Popen([str(Path(sys.executable).with_name("wb")), "sweep", str(path), "--quiet"],
                              env={**os.environ}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # kill it once both runs are under way
            rows = RunRegistry().runs(sweep_id="killed")
            if len(rows) and (rows["status"] == "running").sum() == 2:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the sweep never had two runs under way")
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
    finally:
        if parent.poll() is None:
            parent.kill()
    fixed = repair_sweep("killed", wait=60)  # the consistency check the next invocation runs first
    rows = RunRegistry().runs(sweep_id="killed")
    assert len(rows) == 2 and "running" not in set(rows["status"]), (fixed, rows[["run_id", "status"]])
    assert set(rows["status"]) == {"interrupted"}
    deadline = time.monotonic() + 30
    while _processes_of(sweep_runs) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _processes_of(sweep_runs), "a worker or kernel of the killed sweep outlived it"


def _processes_of(runs_folder: Path) -> list[str]:
    """Command lines of the processes (other than this one) started with ``WB_RUNS=runs_folder``: the sweep's
    workers and their kernels (not multiprocessing's resource tracker, which exits on its own once they are
    gone)."""
    marker = f"WB_RUNS={runs_folder}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if int(environ.parent.name) != os.getpid() and marker in environ.read_bytes().split(b"\0"):
                command = (environ.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                if "resource_tracker" not in command:
                    found.append(command)
        except (OSError, ValueError):
            continue
    return found
