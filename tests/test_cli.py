"""The ``wb`` command line: help everywhere, real work on a private lake, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from workbench.cli import main


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("path", _commands(main), ids=lambda p: " ".join(p) or "wb")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output and len(result.output.splitlines()) > 3


def test_synth_summary_list_and_sql(lake_root: Path) -> None:
    runner = CliRunner()
    built = runner.invoke(main, ["data", "synth", "--tickers", "15", "--days", "2", "--name", "cli", "--quiet"])
    assert built.exit_code == 0, built.output
    assert (lake_root / "cli" / "bars").is_dir()
    listed = runner.invoke(main, ["data", "list"])
    assert "cli" in listed.output.split()
    summary = runner.invoke(main, ["data", "summary", "cli"])
    assert summary.exit_code == 0, summary.output
    report = json.loads(summary.output)
    assert report["tickers"] == 16 and report["sessions"] == 2
    assert {"abs_return_autocorr_lag1", "imbalance_rank_ic_5m", "index_lead_lag_corr"} <= set(report["stylized_facts"])
    sql = runner.invoke(main, ["data", "sql", "cli", "SELECT count(DISTINCT ticker) AS n FROM bars"])
    assert sql.exit_code == 0 and "16" in sql.output


def test_building_over_an_existing_dataset_is_a_clear_error(lake_root: Path) -> None:
    runner = CliRunner()
    args = ["data", "synth", "--tickers", "5", "--days", "1", "--name", "twice", "--quiet"]
    assert runner.invoke(main, args).exit_code == 0
    again = runner.invoke(main, args)
    assert again.exit_code == 1
    assert "already exists" in again.output and "--overwrite" in again.output
    assert "Traceback" not in again.output
    assert runner.invoke(main, [*args, "--overwrite"]).exit_code == 0


@pytest.mark.parametrize(("args", "message"), [
    (["data", "summary", "nowhere"], "no dataset at"),
    (["data", "synth", "--tickers", "0", "--name", "zero", "--quiet"], "n_tickers must be in"),
    (["data", "sql", "nowhere", "SELECT 1"], "no dataset at"),
])
def test_bad_input_gets_one_clear_line(lake_root: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_demo_builds_the_market_then_runs_the_research_job_and_reruns_in_place(
        lake_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WB_RUNS", str(tmp_path / "runs"))
    runner = CliRunner()
    args = ["demo", "--name", "demo", "--tickers", "30", "--days", "3", "--train-days", "2", "--test-days", "1",
            "--quiet"]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "building synthetic dataset 'demo'" in first.output and "stylized facts" in first.output
    assert "purged walk-forward folds" in first.output and "backtest lightgbm" in first.output
    assert first.stderr == ""  # --quiet: no progress of the build or the run
    (folder,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]  # beside it: the registry
    assert (folder / "report.html").exists()
    second = runner.invoke(main, args)  # make demo twice: the same run replaces its own folder
    assert second.exit_code == 0 and "exists; reusing it" in second.output, second.output
    assert [p for p in (tmp_path / "runs").iterdir() if p.is_dir()] == [folder]
    assert f"report: {folder / 'report.html'}" in second.output


@pytest.mark.parametrize("section, message", [
    ({"labels": {"vertical": 5}}, "unknown labels setting(s) ['vertical']"),
    ({"execution": {"fill_price": "mid"}}, "fill_price"),
    ({"execution": {"delay_bars": 0, "fill_price": "open"}}, "delay_bars"),
    ({"execution": {"slippage_bps": 1}}, "unknown execution setting(s) ['slippage_bps']"),
    ({"labels": {"entry_delay_bars": -1}}, "labels.entry_delay_bars must be an integer >= 0"),
    ({"evaluation": {"fees_bps": 1.0}}, "evaluation.fees_bps is now execution.fees_bps"),
])
def test_run_command_reads_a_json_config_and_refuses_bad_settings(lake_root: Path, tmp_path: Path, section: dict,
                                                                   message: str) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"data": {"dataset": "demo"}, "cv": {"train_days": 2, "test_days": 1}, **section}))
    result = CliRunner().invoke(main, ["run", str(config)])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output, result.output


def test_bench_synth_prints_a_json_line(lake_root: Path) -> None:
    result = CliRunner().invoke(main, ["bench", "synth", "--tickers", "20", "--days", "1", "--json"])
    assert result.exit_code == 0, result.output
    numbers = json.loads(result.output.strip().splitlines()[-1])
    assert numbers["rows"] > 20 * 380 and numbers["rows_per_s"] > 0 and numbers["peak_rss_mb"] > 0
    assert not any(p.name.startswith("bench-synth") for p in lake_root.iterdir())
