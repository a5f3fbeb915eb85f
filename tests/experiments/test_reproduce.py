"""Reproducing compares every number of two metrics.json exactly (timings and identity left out) and refuses a
run whose dataset or code changed unless forced; the end-to-end reproductions are in test_papermill.py (a
papermill run) and tests/test_cli_runs.py (a config run)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from workbench.data import Dataset
from workbench.experiments._registry import RunRegistry
from workbench.experiments._reproduce import ReproduceError, flat_numbers, metric_differences, reproduce_run
from workbench.pipeline._folder import git_commit

METRICS: dict[str, Any] = {
    "n_events": 1200, "backtests": {"ls": {"sharpe": 1.25, "n_trades": 40}},
    "folds": [{"fold": 0, "n_test": 10}, {"fold": 1, "n_test": 12}], "tuning": None,
    "skill": {"lightgbm": {"skill": True, "ic": float("nan")}},
    "timings": {"data": 1.5}, "identity": {"run_id": "abc", "started_at": "2024-11-25T14:30:00+00:00"},
}


def test_flat_numbers_keys_every_leaf_by_its_path_without_timings_and_identity() -> None:
    flat = flat_numbers(METRICS)
    assert flat["backtests.ls.sharpe"] == 1.25 and flat["folds.1.n_test"] == 12 and flat["tuning"] is None
    assert not any(key.startswith(("timings", "identity")) for key in flat)
    assert len(flat) == 10


def test_identical_metrics_differ_nowhere_even_with_nan_and_other_timings() -> None:
    again = json.loads(json.dumps({**METRICS, "timings": {"data": 9.0}, "identity": {"run_id": "xyz"}}))
    again["skill"]["lightgbm"]["ic"] = float("nan")
    assert metric_differences(METRICS, again) == []


def test_every_changed_number_is_named_down_to_the_last_digit() -> None:
    changed = json.loads(json.dumps(METRICS))
    changed["backtests"]["ls"]["sharpe"] = math.nextafter(1.25, 2.0)  # one ulp
    changed["folds"][0]["n_test"] = 11
    changed["n_events"] = 1200.0  # same value, another type: not the same number on disk
    del changed["tuning"]
    changed["extra"] = 1
    differences = metric_differences(METRICS, changed)
    assert [key for key, _, _ in differences] == ["backtests.ls.sharpe", "extra", "folds.0.n_test", "n_events",
                                                   "tuning"]
    assert differences[0][1:] == (1.25, math.nextafter(1.25, 2.0))


def _recorded(tmp_path: Path, market: Dataset, **identity: Any) -> RunRegistry:
    folder = tmp_path / "cli-run"
    folder.mkdir()
    commit = git_commit()
    recorded = {"dataset": market.name, "dataset_fingerprint": market.fingerprint, "git_commit": commit, **identity}
    (folder / "metrics.json").write_text(json.dumps({**METRICS, "identity": recorded}))
    (folder / "config.json").write_text("{}")
    registry = RunRegistry(tmp_path / "registry.duckdb")
    registry.record({"run_id": "cli-run", "kind": "cli", "status": "complete", "path": str(folder),
                     "dataset": market.name, "git_commit": recorded["git_commit"].removesuffix("+dirty")})
    return registry


@pytest.mark.parametrize(("identity", "words"), [
    ({"dataset_fingerprint": "0123456789ab"}, "changed (fingerprint 0123456789ab then"),
    ({"code_version": "0.0.1"}, "0.0.1 then"),
])
def test_a_changed_dataset_or_code_is_refused_unless_forced(identity: dict[str, Any], words: str, tmp_path: Path,
                                                            market: Dataset) -> None:
    registry = _recorded(tmp_path, market, **identity)
    with pytest.raises(ReproduceError) as caught:
        reproduce_run("cli-run", registry=registry)
    assert words in str(caught.value) and "--force" in str(caught.value) and "\n" not in str(caught.value)


def test_another_commit_is_refused(tmp_path: Path, market: Dataset) -> None:
    registry = _recorded(tmp_path, market)
    registry.record({**registry.get("cli-run"), "git_commit": "0" * 40})
    with pytest.raises(ReproduceError, match="the run was made at 0000"):
        reproduce_run("cli-run", registry=registry)


def test_an_unfinished_run_has_nothing_to_compare(tmp_path: Path) -> None:
    registry = RunRegistry(tmp_path / "registry.duckdb")
    registry.record({"run_id": "r", "status": "failed", "path": str(tmp_path)})
    with pytest.raises(ReproduceError, match="is failed, not complete"):
        reproduce_run("r", registry=registry)
