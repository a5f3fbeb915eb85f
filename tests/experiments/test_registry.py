"""The run registry: a real DuckDB file with one row per run; upserts by run id, partial rows, sorting against a
plain sorted() of the rows, 4 spawned writer processes that never lose or corrupt a row, headline metrics read
by hand from a metrics dict, and reindex rebuilding the rows from run folders alone."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from workbench.experiments._registry import COLUMNS, RegistryError, RunRegistry
from workbench.experiments._rows import headline_metrics, reindex

N_WORKERS, N_ROWS = 4, 25


def _row(worker: int, k: int) -> dict[str, Any]:
    """The row worker ``worker`` writes as its ``k``-th: every value derived from (worker, k)."""
    return {"run_id": f"w{worker}-{k:02d}", "kind": "sweep", "sweep_id": f"s{worker}",
            "parameters": json.dumps({"worker": worker, "k": k}), "net_sharpe": worker + k / 100,
            "rank_ic": k / 1000, "status": "complete", "started_at": f"2024-11-25T14:{k:02d}:0{worker}+00:00",
            "git_dirty": k % 2 == 0, "path": f"/runs/w{worker}-{k:02d}"}


def _write_rows(path: str, worker: int) -> int:
    registry = RunRegistry(path)
    for k in range(N_ROWS):
        registry.record(_row(worker, k))
        if k % 5 == 0:
            registry.runs()  # readers in between the writers
    return worker


def test_four_concurrent_writers_leave_exactly_every_row_intact(tmp_path: Path) -> None:
    path = str(tmp_path / "registry.duckdb")
    with multiprocessing.get_context("spawn").Pool(N_WORKERS) as pool:
        assert sorted(pool.starmap(_write_rows, [(path, w) for w in range(N_WORKERS)])) == list(range(N_WORKERS))
    connection = duckdb.connect(path, read_only=True)
    stored = connection.execute("SELECT run_id, sweep_id, parameters, net_sharpe, rank_ic, status, git_dirty "
                                "FROM runs").fetchall()
    connection.close()
    assert len(stored) == N_WORKERS * N_ROWS
    expected = {(r["run_id"], r["sweep_id"], r["parameters"], r["net_sharpe"], r["rank_ic"], r["status"],
                 r["git_dirty"]) for r in (_row(w, k) for w in range(N_WORKERS) for k in range(N_ROWS))}
    assert set(stored) == expected


def test_record_upserts_and_leaves_unset_columns_null(tmp_path: Path) -> None:
    registry = RunRegistry(tmp_path / "registry.duckdb")
    registry.record({"run_id": "a", "kind": "cli", "status": "running", "started_at": "2024-11-25T14:30:00Z"})
    registry.record({**registry.get("a"), "status": "complete", "net_sharpe": 1.25})
    rows = registry.runs()
    assert len(rows) == 1 and list(rows.columns) == list(COLUMNS)
    row = registry.get("a")
    assert row["status"] == "complete" and row["net_sharpe"] == 1.25 and pd.isna(row["rank_ic"])
    assert row["started_at"] == pd.Timestamp("2024-11-25 14:30", tz="UTC") and row["path"] is None


def test_get_takes_a_unique_prefix_and_refuses_unknown_ids_in_one_line(tmp_path: Path) -> None:
    registry = RunRegistry(tmp_path / "registry.duckdb")
    for run_id in ("20241125T143000Z-aa", "20241125T143000Z-ab", "20241126T090000Z-cc"):
        registry.record({"run_id": run_id, "status": "complete"})
    assert registry.get("20241126")["run_id"] == "20241126T090000Z-cc"
    for ref, words in (("nope", "no run 'nope'"), ("20241125", "2 runs match")):
        with pytest.raises(RegistryError) as caught:
            registry.get(ref)
        assert words in str(caught.value) and "wb runs list" in str(caught.value)
    with pytest.raises(RegistryError, match="unknown registry column"):
        registry.record({"run_id": "x", "sharpe": 1.0})
    with pytest.raises(RegistryError, match="status 'done' is not one of running, complete"):
        registry.record({"run_id": "x", "status": "done"})


def test_runs_filter_by_sweep_and_sort_best_first(tmp_path: Path) -> None:
    registry = RunRegistry(tmp_path / "registry.duckdb")
    rows = [_row(w, k) for w in range(2) for k in range(5)]
    rows.append({"run_id": "failed", "sweep_id": "s0", "status": "failed"})
    for row in rows:
        registry.record(row)
    swept = registry.runs(sweep_id="s0")
    assert set(swept["run_id"]) == {r["run_id"] for r in rows if r.get("sweep_id") == "s0"}
    by_sharpe = registry.runs(sort="net_sharpe")
    expected = sorted((r for r in rows if "net_sharpe" in r), key=lambda r: -r["net_sharpe"])
    assert list(by_sharpe["run_id"]) == [r["run_id"] for r in expected] + ["failed"]  # missing values last
    by_loss = registry.runs(sort="log_loss")  # smaller is better: ascending
    assert by_loss["run_id"].iloc[-1] == "failed" or by_loss["log_loss"].isna().all()
    oldest_first = registry.runs()
    assert list(oldest_first["run_id"][:-1]) == [r["run_id"] for r in sorted(rows[:-1], key=lambda r: r["started_at"])]
    with pytest.raises(RegistryError, match="net_sharpe"):
        registry.runs(sort="sharpe")


def test_an_absent_registry_reads_as_empty(tmp_path: Path) -> None:
    rows = RunRegistry(tmp_path / "none" / "registry.duckdb").runs()
    assert len(rows) == 0 and list(rows.columns) == list(COLUMNS)


METRICS = {
    "models": [{"name": "lightgbm", "kind": "lightgbm"}, {"name": "baseline", "kind": "logistic"}],
    "classification": {"lightgbm": {"log_loss": 0.61, "roc_auc": 0.66}, "baseline": {"log_loss": 0.69}},
    "cross_section": {"lightgbm": {"ic": {"mean": 0.05, "t_stat_nw": 3.2}, "precision_at_k": {"precision": 0.57}}},
    "backtests": {"lightgbm top-5 long": {"sharpe": 9.0},
                  "lightgbm top/bottom-5 long-short": {"sharpe": 1.5, "max_drawdown": -0.02, "turnover": 0.3}},
    "primary_backtest": "lightgbm top/bottom-5 long-short", "fingerprint": "cfg123",
    "identity": {"dataset_fingerprint": "data456"},
}


def test_headline_metrics_are_the_primary_model_and_backtest() -> None:
    assert headline_metrics(METRICS) == {"log_loss": 0.61, "roc_auc": 0.66, "rank_ic": 0.05, "rank_ic_t": 3.2,
                                         "precision_at_k": 0.57, "net_sharpe": 1.5, "max_drawdown": -0.02,
                                         "turnover": 0.3}


def test_reindex_rebuilds_rows_from_the_run_folders(tmp_path: Path) -> None:
    pipeline = tmp_path / "demo-abc"
    pipeline.mkdir()
    (pipeline / "status.json").write_text(json.dumps({
        "state": "complete", "started_at": "2024-11-25T14:30:00+00:00", "updated_at": "2024-11-25T14:31:40+00:00",
        "kind": "demo", "dataset": "default", "dataset_fingerprint": "data456", "config_hash": "cfg123",
        "git_commit": "abc123+dirty"}))
    (pipeline / "config.json").write_text(json.dumps({"name": "demo", "data": {"dataset": "default"}}))
    (pipeline / "metrics.json").write_text(json.dumps(METRICS))
    papermill = tmp_path / "20241125T150000Z-0badc0de"
    (papermill / "run").mkdir(parents=True)
    (papermill / "params.json").write_text(json.dumps({"top_k": 5}))
    (papermill / "papermill.json").write_text(json.dumps({
        "kind": "sweep", "sweep_id": "grid", "status": "failed", "error": "Traceback ...",
        "started_at": "2024-11-25T15:00:00+00:00", "finished_at": "2024-11-25T15:00:09+00:00"}))
    (tmp_path / "not-a-run").mkdir()
    registry = RunRegistry(tmp_path / "registry.duckdb")
    registry.record({"run_id": "gone", "path": str(tmp_path / "gone"), "status": "complete"})
    assert reindex(tmp_path, registry) == 2
    rows = registry.runs().set_index("run_id")
    assert set(rows.index) == {"demo-abc", "20241125T150000Z-0badc0de"}
    demo = rows.loc["demo-abc"]
    assert (demo["kind"], demo["status"], demo["net_sharpe"], demo["git_commit"], bool(demo["git_dirty"])) == (
        "demo", "complete", 1.5, "abc123", True)
    assert demo["duration_s"] == 100.0 and demo["dataset_fingerprint"] == "data456"
    run = rows.loc["20241125T150000Z-0badc0de"]
    assert (run["kind"], run["sweep_id"], run["status"], run["duration_s"]) == ("sweep", "grid", "failed", 9.0)
    assert json.loads(run["parameters"]) == {"top_k": 5}
