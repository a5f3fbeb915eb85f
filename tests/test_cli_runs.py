"""``wb runs`` and ``wb run walk-forward`` on the command line: a config run is recorded (kind cli) and listed,
shown, reproduced to the last digit and rebuilt by reindex; walk-forward parameters are read as YAML and bad
ones refused in one line before any run folder exists."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.cli import main
from workbench.data import Dataset
from workbench.experiments._registry import RunRegistry


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("cli-runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WB_RUNS", str(root))
        yield root


@pytest.fixture(scope="module")
def config_run(market: Dataset, runs: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    config = tmp_path_factory.mktemp("cli-config") / "small.json"
    config.write_text(json.dumps({"name": "cli-small", "data": {"dataset": market.name},
                                  "cv": {"train_days": 3, "test_days": 1},
                                  "evaluation": {"top_k": 5, "shap_rows": 200, "min_names": 20}}))
    result = CliRunner().invoke(main, ["run", str(config), "--quiet"])
    assert result.exit_code == 0, result.output
    (folder,) = [p for p in runs.iterdir() if p.is_dir()]
    return folder.name


@pytest.mark.slow  # a small pipeline run (reproduced: two)
def test_a_config_run_is_recorded_and_listed(config_run: str, runs: Path) -> None:
    row = RunRegistry().get(config_run)
    metrics = json.loads((runs / config_run / "metrics.json").read_text())
    assert (row["kind"], row["status"]) == ("cli", "complete")
    assert row["net_sharpe"] == metrics["backtests"][metrics["primary_backtest"]]["sharpe"]
    assert json.loads(row["parameters"])["cv"]["train_days"] == 3
    listed = CliRunner().invoke(main, ["runs", "list", "--sort", "net_sharpe"])
    assert listed.exit_code == 0 and config_run in listed.output and "complete" in listed.output
    shown = CliRunner().invoke(main, ["runs", "show", config_run])
    assert shown.exit_code == 0 and str(runs / config_run) in shown.output and '"train_days": 3' in shown.output


@pytest.mark.slow  # a small pipeline run (reproduced: two)
def test_reproduce_re_runs_the_config_and_every_metric_matches(config_run: str) -> None:
    result = CliRunner().invoke(main, ["runs", "reproduce", config_run, "--force", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "every metric matches to the last digit" in result.output


def test_reindex_rebuilds_the_registry_from_the_folders(config_run: str, runs: Path) -> None:
    before = RunRegistry().runs().drop(columns=["error"]).set_index("run_id").sort_index()
    (runs / "registry.duckdb").unlink()
    result = CliRunner().invoke(main, ["runs", "reindex"])
    assert result.exit_code == 0 and f"{len(before)} run(s) indexed" in result.output
    after = RunRegistry().runs().drop(columns=["error"]).set_index("run_id").sort_index()
    assert list(after.index) == list(before.index)
    assert after.loc[config_run, "net_sharpe"] == before.loc[config_run, "net_sharpe"]


@pytest.mark.parametrize(("arguments", "words"), [
    (["-p", "top_kk", "5"], "unknown parameter(s) top_kk"),
    (["-p", "train_days", "[3, 4]"], "train_days must be int, got [3, 4] (list)"),  # YAML: a list
    (["-p", "top_k", "5.5"], "top_k must be int, got 5.5 (float)"),
])
def test_walk_forward_parameters_are_yaml_and_refused_in_one_line(arguments: list[str], words: str,
                                                                  tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WB_RUNS", str(tmp_path / "runs"))
        result = CliRunner().invoke(main, ["run", "walk-forward", *arguments])
    assert result.exit_code != 0 and words in result.output
    assert result.output.count("\n") == 1 and not (tmp_path / "runs").exists()


def test_a_parameters_file_is_read_and_p_overrides_it(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("top_k: 5\ntrain_dayz: 3\n")
    result = CliRunner().invoke(main, ["run", "walk-forward", "-f", str(tmp_path / "params.yaml")])
    assert result.exit_code != 0 and "train_dayz" in result.output
    (tmp_path / "list.yaml").write_text("- 1\n")
    result = CliRunner().invoke(main, ["run", "walk-forward", "-f", str(tmp_path / "list.yaml")])
    assert result.exit_code != 0 and "mapping" in result.output


def test_a_missing_config_and_a_missing_run_are_one_line(runs: Path) -> None:
    result = CliRunner().invoke(main, ["run", "nowhere.json"])
    assert result.exit_code == 2 and "no config file 'nowhere.json'" in result.output
    result = CliRunner().invoke(main, ["runs", "show", "nope"])
    assert result.exit_code == 1 and "wb runs list" in result.output and result.output.count("\n") == 1
