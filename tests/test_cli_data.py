"""``wb data list`` (sessions, tickers, rows, fingerprint), ``wb data sql --format`` with its row count, the dataset
fingerprint, and ``wb --version``."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from workbench.cli import main
from workbench.data import Dataset
from workbench.data._catalog import catalog

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def listed(lake_root: Path) -> Dataset:
    """A three-session synthetic dataset of 6 stocks and SPY."""
    result = CliRunner().invoke(main, ["data", "synth", "--tickers", "6", "--days", "3", "--name", "listed", "--quiet"])
    assert result.exit_code == 0, result.output
    return Dataset("listed")


def test_list_shows_sessions_tickers_rows_and_fingerprint_against_duckdb(listed: Dataset) -> None:
    result = CliRunner().invoke(main, ["data", "list"])
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split() == ["name", "sessions", "tickers", "rows", "fingerprint"]
    row = next(line for line in rows if line.split()[0] == "listed").split()
    truth = listed.sql("SELECT min(date) AS first, max(date) AS last, count(DISTINCT date) AS n, "
                       "count(DISTINCT ticker) AS tickers, count(*) AS rows FROM bars").iloc[0]
    assert row[1] == f"{truth['first'].date()}..{truth['last'].date()}"
    assert row[2] == f"({truth['n']})" and truth["n"] == 3
    assert row[3] == str(truth["tickers"]) == "7"
    assert row[4] == f"{truth['rows']:,}"
    assert row[5] == listed.fingerprint and re.fullmatch(r"[0-9a-f]{16}", row[5])


def test_list_of_an_empty_lake_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WB_DATASETS", str(tmp_path))
    result = CliRunner().invoke(main, ["data", "list"])
    assert result.exit_code == 0 and result.output == f"no datasets under {tmp_path}\n"
    assert catalog(tmp_path) == []


def test_the_fingerprint_is_stable_across_reopens_and_changes_with_any_table(listed: Dataset, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(listed.path, copy, copy_function=shutil.copy2)  # copy2 keeps mtimes
    before = Dataset(copy).fingerprint
    assert Dataset(copy).fingerprint == before == listed.fingerprint
    (copy / "quarantine.parquet").write_bytes(b"")  # the quarantine is not research input
    assert Dataset(copy).fingerprint == before
    tickers = pd.read_parquet(copy / "tickers.parquet")
    tickers.loc[tickers["ticker"] != "SPY", "sector"] = "Energy"
    tickers.to_parquet(copy / "tickers.parquet", index=False)
    after_tickers = Dataset(copy).fingerprint
    assert after_tickers != before
    one_day = sorted((copy / "bars").glob("date=*"))[-1]
    shutil.rmtree(one_day)
    assert Dataset(copy).fingerprint not in (before, after_tickers)


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_sql_formats_match_the_query_and_count_rows_on_stderr(listed: Dataset, fmt: str) -> None:
    query = ("SELECT date, ts, ticker, close, bid FROM bars WHERE ticker = 'SPY' ORDER BY ts LIMIT 4")
    result = CliRunner().invoke(main, ["data", "sql", "listed", query, "--format", fmt])
    assert result.exit_code == 0, result.output
    assert result.stderr == "4 rows\n"
    expected = listed.sql(query)
    if fmt == "csv":
        frame = pd.read_csv(io.StringIO(result.stdout))
        assert list(frame.columns) == list(expected.columns)
        assert frame["date"].tolist() == [str(d.date()) for d in expected["date"]]
        assert frame["close"].tolist() == expected["close"].tolist()
    elif fmt == "json":
        records = json.loads(result.stdout)
        assert [r["date"] for r in records] == [str(d.date()) for d in expected["date"]]
        assert [pd.Timestamp(r["ts"]) for r in records] == list(expected["ts"])
        assert [r["close"] for r in records] == expected["close"].tolist()
    else:
        assert result.stdout.splitlines()[0].split() == list(expected.columns)
        assert len(result.stdout.splitlines()) == 5


def test_sql_json_turns_nan_into_null_and_one_row_is_singular(listed: Dataset) -> None:
    result = CliRunner().invoke(main, ["data", "sql", "listed", "SELECT 1 AS n, 'nan'::DOUBLE AS x", "--format",
                                       "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"n": 1, "x": None}] and result.stderr == "1 row\n"


def test_version_prints_the_package_version_and_commit() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    version = metadata.version("quant-workbench")
    root = Path(__file__).resolve().parents[1]
    commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    assert re.fullmatch(rf"wb {re.escape(version)} \(git {commit}(\+dirty)?\)\n", result.output), result.output


def test_sql_table_of_no_rows_shows_the_columns(listed: Dataset) -> None:
    result = CliRunner().invoke(main, ["data", "sql", "listed", "SELECT ticker, close FROM bars WHERE false"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "ticker  close\n" and result.stderr == "0 rows\n"
