"""Every documented error path of ``wb`` is one line naming the problem and the fix, never a traceback: SQL on a
dataset (bad table, bad SQL, empty query, unknown column), unwritable output folders, paths under a file."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner, Result

from workbench.cli import main
from workbench.cli_errors import check_writable, one_line, sql_error
from workbench.data import Dataset


def _one_line_error(result: Result) -> str:
    """The error line of a failed command, after checking it is the only thing printed and no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


@pytest.fixture(scope="module")
def small(lake_root: Path) -> Dataset:
    """A two-session synthetic dataset of 4 stocks and SPY."""
    result = CliRunner().invoke(main, ["data", "synth", "--tickers", "4", "--days", "2", "--name", "errors-small",
                                       "--quiet"])
    assert result.exit_code == 0, result.output
    return Dataset("errors-small")


@pytest.mark.parametrize(("query", "expected"), [
    ("SELECT * FROM barz", "QueryError: no table 'barz' in dataset 'errors-small'; tables: bars, corporate_actions, "
                           "macro_events, rates, tickers, vix (Did you mean \"bars\"?)"),
    ("SELEC count(*) FROM bars", "QueryError: bad SQL on dataset 'errors-small': syntax error at or near \"SELEC\""),
    ("", "QueryError: empty query"),
    ("  ;  -- only a comment", "QueryError: empty query"),
    ("SELECT nope FROM bars", "QueryError: query failed on dataset 'errors-small': Referenced column \"nope\" not "
                              "found in FROM clause!; Candidate bindings:"),
])
def test_sql_errors_are_one_line_naming_what_exists(small: Dataset, query: str, expected: str) -> None:
    line = _one_line_error(CliRunner().invoke(main, ["data", "sql", "errors-small", query]))
    assert line.startswith(f"Error: {expected}"), line


def test_the_sql_error_wording_against_duckdbs_own_exceptions(small: Dataset) -> None:
    tables = ["bars", "tickers"]
    for query, kind in [("SELECT * FROM nowhere", duckdb.CatalogException), ("SELECT (", duckdb.ParserException),
                        ("SELECT missing FROM bars", duckdb.BinderException)]:
        with pytest.raises(kind) as caught:
            small.sql(query)
        message = str(sql_error(caught.value, "errors-small", tables))
        assert "\n" not in message and "LINE 1" not in message and "^" not in message
    assert str(sql_error(duckdb.CatalogException("Catalog Error: Table with name nowhere does not exist!"), "d",
                         tables)) == "no table 'nowhere' in dataset 'd'; tables: bars, tickers"


@pytest.mark.parametrize("args", [
    ["run", "{config}", "--out", "{file}/run"],
    ["run", "{config}", "--out", "{file}"],
    ["demo", "--name", "errors-small", "--out", "{file}/deeper/run"],
])
def test_an_out_folder_under_or_at_a_file_is_refused_before_any_work(small: Dataset, tmp_path: Path,
                                                                      args: list[str]) -> None:
    file = tmp_path / "a-file"
    file.write_text("not a folder")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"data": {"dataset": "errors-small"}}))
    filled = [a.format(config=config, file=file) for a in args]
    line = _one_line_error(CliRunner().invoke(main, filled))
    assert line.startswith("Error: NotADirectoryError: --out ") and "a file, not a folder" in line, line
    assert "point --out at a folder" in line and file.read_text() == "not a folder"


@pytest.mark.parametrize("command", [["data", "list"], ["data", "summary", "x"], ["data", "sql", "x", "SELECT 1"],
                                     ["data", "synth", "--name", "x", "--quiet"],
                                     ["data", "actions", "import", "{actions}", "--name", "x"],
                                     ["data", "tickers", "import", "{tickers}", "--name", "x"]])
def test_wb_datasets_under_a_file_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              command: list[str]) -> None:
    file = tmp_path / "a-file"
    file.write_text("")
    monkeypatch.setenv("WB_DATASETS", str(file / "lake"))
    fixtures = Path(__file__).parent / "fixtures"
    filled = [a.format(actions=fixtures / "actions" / "actions.csv", tickers=fixtures / "tickers" / "tickers.csv")
              for a in command]
    line = _one_line_error(CliRunner().invoke(main, filled))
    assert line == (f"Error: NotADirectoryError: WB_DATASETS {file / 'lake'} is under {file}, which is a file, "
                    "not a folder; point WB_DATASETS at a folder")


def test_wb_runs_under_a_file_is_one_line(small: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "a-file"
    file.write_text("")
    monkeypatch.setenv("WB_RUNS", str(file / "runs"))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"data": {"dataset": "errors-small"}}))
    line = _one_line_error(CliRunner().invoke(main, ["run", str(config)]))
    assert line.startswith("Error: NotADirectoryError: WB_RUNS ") and f"is under {file}" in line


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process may not write in: a chmod 555 one, or for root (whom permissions do not stop) the
    kernel's read-only /proc/sys."""
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        return locked
    if not os.access("/proc/sys", os.W_OK) and Path("/proc/sys").is_dir():
        return Path("/proc/sys")
    pytest.skip("running as root without a read-only folder to test permission checks on")


def test_an_unwritable_out_folder_is_refused_before_any_work(small: Dataset, tmp_path: Path) -> None:
    locked = _unwritable_folder(tmp_path)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"data": {"dataset": "errors-small"}}))
    line = _one_line_error(CliRunner().invoke(main, ["run", str(config), "--out", str(locked / "wb-run")]))
    assert line == (f"Error: PermissionError: --out {locked / 'wb-run'}: cannot write in {locked} (no write "
                    "permission, or a read-only file system); point --out at a folder you can write to")
    assert not (locked / "wb-run").exists()


def test_check_writable_accepts_new_and_existing_folders(tmp_path: Path) -> None:
    check_writable(tmp_path, "--out")
    check_writable(tmp_path / "new" / "deeper", "--out")
    assert not (tmp_path / "new").exists()  # checking creates nothing


@pytest.mark.parametrize(("exc", "expected"), [
    (PermissionError(errno.EACCES, "Permission denied", "/x/y"), "permission denied: /x/y (choose a folder you can "
                                                                  "write to)"),
    (NotADirectoryError(errno.ENOTDIR, "Not a directory", "/f/x"), "not a directory: /f/x (part of the path is a "
                                                                    "file, not a folder)"),
    (FileExistsError("dataset 'x' already exists"), "dataset 'x' already exists"),
    (KeyError("SPY"), "SPY"),
    (ValueError("first\n  second\n\n"), "first second"),
])
def test_one_line_wording(exc: BaseException, expected: str) -> None:
    assert one_line(exc) == expected
