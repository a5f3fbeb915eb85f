"""05_walk_forward through papermill as a recorded run: bad parameters refused before any folder or kernel
exists; one complete run's folder (executed notebook, HTML with its figures, params.json, the pipeline folder
with returns.parquet) and its single registry row against metrics.json read by hand; reproducing it matches every
metric; a failing run and a run over its timeout are rows, not exceptions."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from workbench.data import Dataset
from workbench.experiments._papermill import claim_run_folder, execute_walk_forward
from workbench.experiments._parameters import ParameterError
from workbench.experiments._registry import RunRegistry
from workbench.experiments._reproduce import reproduce_run

SMALL = {"train_days": 3, "test_days": 1, "top_k": 5, "min_names": 20, "shap_rows": 200}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("papermill-runs")


@pytest.fixture(scope="module")
def parameters(market: Dataset) -> dict[str, Any]:
    return {"dataset": market.name, **SMALL}


@pytest.fixture(scope="module")
def complete(parameters: dict[str, Any], root: Path) -> dict[str, Any]:
    return execute_walk_forward(parameters, root=root)


@pytest.mark.parametrize(("bad", "words"), [
    ({"top_kk": 5}, "unknown parameter(s) top_kk"), ({"top_k": "5"}, "top_k must be int"),
    ({"loss_test": "t"}, "loss_test"), ({"run_folder": "/tmp/x"}, "set by the papermill run itself"),
])
def test_bad_parameters_are_refused_before_any_folder_or_kernel(bad: dict[str, Any], words: str,
                                                                 tmp_path: Path) -> None:
    with pytest.raises(ParameterError) as caught:
        execute_walk_forward(bad, root=tmp_path / "runs")
    assert words in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "runs").exists()


def test_run_folders_are_utc_time_and_parameters_hash_and_never_shared(tmp_path: Path) -> None:
    first, second = claim_run_folder({"top_k": 5}, tmp_path), claim_run_folder({"top_k": 5}, tmp_path)
    other = claim_run_folder({"top_k": 6}, tmp_path)
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", first.name)
    assert first != second and second.name.startswith(first.name[:16])
    assert other.name.split("-")[1] != first.name.split("-")[1]


@pytest.mark.slow  # a papermill run of the small walk-forward (reproduced: two)
def test_a_complete_run_folder_holds_notebook_html_params_and_the_pipeline_run(complete: dict[str, Any],
                                                                               parameters: dict[str, Any]) -> None:
    folder = Path(complete["path"])
    assert complete["status"] == "complete" and complete["kind"] == "papermill" and complete["error"] is None
    assert json.loads((folder / "params.json").read_text()) == parameters
    assert json.loads(complete["parameters"]) == parameters
    notebook = json.loads((folder / "05_walk_forward.ipynb").read_text())
    assert any(out.get("output_type") == "error" for c in notebook["cells"] for out in c.get("outputs", [])) is False
    html = (folder / "05_walk_forward.html").read_text()
    assert html.count("Plotly.newPlot") == 3 and complete["html"] == str(folder / "05_walk_forward.html")
    for name in ("config.json", "metrics.json", "predictions.parquet", "returns.parquet", "report.html"):
        assert (folder / "run" / name).is_file(), name
    assert list((folder / "run" / "models").glob("*.txt"))


@pytest.mark.slow  # a papermill run of the small walk-forward (reproduced: two)
def test_the_row_is_the_run_s_metrics_and_identity(complete: dict[str, Any], market: Dataset, root: Path) -> None:
    metrics = json.loads((Path(complete["path"]) / "run" / "metrics.json").read_text())
    primary = metrics["primary_backtest"]
    assert primary == f"lightgbm top/bottom-{SMALL['top_k']}-long-short".replace("-long-short", " long-short")
    assert complete["net_sharpe"] == metrics["backtests"][primary]["sharpe"]
    assert complete["max_drawdown"] == metrics["backtests"][primary]["max_drawdown"]
    assert complete["turnover"] == metrics["backtests"][primary]["turnover"]
    assert complete["rank_ic"] == metrics["cross_section"]["lightgbm"]["ic"]["mean"]
    assert complete["rank_ic_t"] == metrics["cross_section"]["lightgbm"]["ic"]["t_stat_nw"]
    assert complete["precision_at_k"] == metrics["cross_section"]["lightgbm"]["precision_at_k"]["precision"]
    assert complete["log_loss"] == metrics["classification"]["lightgbm"]["log_loss"]
    assert complete["roc_auc"] == metrics["classification"]["lightgbm"]["roc_auc"]
    assert complete["dataset_fingerprint"] == market.fingerprint and complete["config_hash"] == metrics["fingerprint"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                          cwd=Path(__file__).parent).stdout.strip()
    assert complete["git_commit"] == head or complete["git_commit"] is not None
    assert complete["finished_at"] > complete["started_at"] and complete["duration_s"] > 0
    rows = RunRegistry(root / "registry.duckdb").runs()
    assert (rows["path"] == complete["path"]).sum() == 1  # the notebook's pipeline did not record a second row


@pytest.mark.slow  # a papermill run of the small walk-forward (reproduced: two)
def test_returns_parquet_compounds_to_the_backtests_total_return(complete: dict[str, Any]) -> None:
    run = Path(complete["path"]) / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    returns = pd.read_parquet(run / "returns.parquet")
    assert list(returns.columns) == ["ts", "backtest", "net_return", "gross_return"]
    assert str(returns["ts"].dt.tz) == "UTC" and set(returns["backtest"]) == set(metrics["backtests"])
    for name, summary in metrics["backtests"].items():
        piece = returns.loc[returns["backtest"] == name].sort_values("ts")
        assert np.prod(1.0 + piece["net_return"].to_numpy()) - 1.0 == pytest.approx(summary["total_return"],
                                                                                      rel=1e-9, abs=1e-12)
        assert np.prod(1.0 + piece["gross_return"].to_numpy()) - 1.0 == pytest.approx(
            summary["gross_total_return"], rel=1e-9, abs=1e-12)


@pytest.mark.slow  # a papermill run of the small walk-forward (reproduced: two)
def test_reproducing_the_run_matches_every_metric(complete: dict[str, Any], root: Path) -> None:
    registry = RunRegistry(root / "registry.duckdb")
    result = reproduce_run(complete["run_id"], force=True, registry=registry)  # force: others commit meanwhile
    assert result.matches and result.differences == [] and result.row["run_id"] != complete["run_id"]
    assert json.loads(result.row["parameters"]) == json.loads(complete["parameters"])


def test_a_failing_run_is_a_failed_row_with_its_traceback(market: Dataset, root: Path) -> None:
    # 500 names long and 500 short on an 80-name market: a valid int, refused by check_fit inside the kernel
    row = execute_walk_forward({"dataset": market.name, **SMALL, "top_k": 500}, kind="sweep", sweep_id="x",
                               root=root)
    assert row["status"] == "failed" and row["kind"] == "sweep" and row["sweep_id"] == "x"
    assert "Traceback" in row["error"] and "top_k" in row["error"] and "\x1b[" not in row["error"]
    assert Path(row["html"]).is_file()


def test_a_run_past_its_timeout_is_a_timeout_row(market: Dataset, root: Path) -> None:
    row = execute_walk_forward({"dataset": market.name, **SMALL}, timeout=1, root=root)
    assert row["status"] == "timeout" and "timeout" in row["error"]
