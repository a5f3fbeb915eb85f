"""Ticker metadata in: CSV/Parquet -> import_tickers / `wb data tickers import` -> tickers.parquet, merged with
what the dataset holds, at most one index instrument."""

from __future__ import annotations

import shutil
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.cli import FriendlyGroup
from workbench.cli_metadata import tickers
from workbench.data import Dataset
from workbench.data.importers import import_files, import_tickers
from workbench.errors import DataValidationError

FIXTURES = Path(__file__).parents[1] / "fixtures"
TICKERS_CSV = FIXTURES / "tickers" / "tickers.csv"


@pytest.fixture(scope="module")
def base_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample bars (AAPL and SPY) imported once, with no metadata yet; tests work on copies."""
    root = tmp_path_factory.mktemp("tickers-lake")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WB_DATASETS", str(root))
        import_files([FIXTURES / "actions" / "aapl_split_bars.csv"], "csv", "split")
    return root


@pytest.fixture
def lake(base_lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "lake"
    shutil.copytree(base_lake, root)
    monkeypatch.setenv("WB_DATASETS", str(root))
    return root


def table() -> pd.DataFrame:
    return Dataset("split").tickers.set_index("ticker")


def write(tmp_path: Path, text: str, name: str = "tickers.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_the_sample_file_sets_metadata_and_the_index(lake: Path, tmp_path: Path, suffix: str) -> None:
    path = TICKERS_CSV
    if suffix == "parquet":
        path = tmp_path / "tickers.parquet"
        pd.read_csv(TICKERS_CSV).to_parquet(path)
    report = import_tickers(path, "split")
    got = table()
    assert got.loc["AAPL", "sector"] == "Information Technology" and got.loc["AAPL", "market_cap"] == 5.55e11
    assert got.loc["SPY", "is_index"] and not got.loc["AAPL", "is_index"]
    assert pd.isna(got.loc["SPY", "sector"]) and pd.isna(got.loc["SPY", "market_cap"])
    assert report.index == "SPY" and report.updated == 2 and sorted(got.index) == ["AAPL", "SPY"]
    assert "'spy' -> 'SPY'" in str(report)  # a case slip is matched to the dataset's ticker, never a new one


def test_columns_the_file_lacks_keep_their_stored_values(lake: Path, tmp_path: Path) -> None:
    import_tickers(TICKERS_CSV, "split")
    report = import_tickers(write(tmp_path, "ticker,sector\nAAPL,Technology\n"), "split")
    got = table()
    assert got.loc["AAPL", "sector"] == "Technology" and got.loc["AAPL", "market_cap"] == 5.55e11
    assert got.loc["SPY", "is_index"] and report.columns == ("sector",) and report.updated == 1


def test_the_same_file_again_changes_nothing(lake: Path) -> None:
    import_tickers(TICKERS_CSV, "split")
    path = lake / "split" / "tickers.parquet"
    before = path.read_bytes()
    report = import_tickers(TICKERS_CSV, "split")
    assert report.updated == 0 and report.unchanged == 2 and path.read_bytes() == before


def test_a_second_index_is_refused_and_nothing_written(lake: Path, tmp_path: Path) -> None:
    import_tickers(TICKERS_CSV, "split")
    with pytest.raises(DataValidationError, match=r"would have 2 index instruments \(AAPL, SPY\), at most one"):
        import_tickers(write(tmp_path, "ticker,is_index\nAAPL,true\n"), "split")
    assert not table().loc["AAPL", "is_index"]
    moved = import_tickers(write(tmp_path, "ticker,is_index\nAAPL,yes\nSPY,no\n", "moved.csv"), "split")
    assert moved.index == "AAPL"


def test_tickers_without_bars_are_skipped_with_a_warning(lake: Path, tmp_path: Path) -> None:
    report = import_tickers(write(tmp_path, "ticker,sector\nAAPL,Tech\nAAPLL,Tech\nMSFT,Tech\n"), "split")
    assert report.skipped == 2 and sorted(table().index) == ["AAPL", "SPY"]
    assert "2 record(s) for 2 ticker(s) the dataset has no bars for (AAPLL, MSFT), skipped" in str(report)
    assert "'AAPLL': did you mean ['AAPL']" in str(report)


@pytest.mark.parametrize(("line", "reason"), [
    ("AAPL,Tech,-5", "market_cap not a positive number '-5'"),
    ("AAPL,Tech,0", "market_cap not a positive number '0'"),
    ("AAPL,Tech,inf", "market_cap not a positive number 'inf'"),
    ("AAPL,Tech,big", "unparseable market_cap 'big'"),
    (",Tech,1e9", "missing ticker"),
    ("SPY,,1e9", "duplicate ticker 'SPY' in the file (line 2 gives it first)"),
])
def test_a_bad_record_refuses_the_file(lake: Path, tmp_path: Path, line: str, reason: str) -> None:
    path = write(tmp_path, f"ticker,sector,market_cap\nSPY,,\n{line}\n")
    with pytest.raises(DataValidationError) as error:
        import_tickers(path, "split")
    assert f"{path} line 3: {reason}" in str(error.value) and "nothing written" in str(error.value)
    assert table()["sector"].isna().all()


def test_an_unreadable_index_flag_is_bad_and_quarantine_keeps_the_rest(lake: Path, tmp_path: Path) -> None:
    path = write(tmp_path, "ticker,sector,is_index\nAAPL,Tech,maybe\nSPY,,true\n")
    with pytest.raises(DataValidationError, match="line 2: is_index not true/false 'maybe'"):
        import_tickers(path, "split")
    report = import_tickers(path, "split", on_bad="quarantine")
    assert report.quarantined == 1 and report.index == "SPY" and pd.isna(table().loc["AAPL", "sector"])
    quarantine = pd.read_parquet(lake / "split" / "quarantine.parquet")
    assert quarantine[["line", "reason"]].values.tolist() == [[2, "is_index not true/false 'maybe'"]]


def test_file_level_errors(lake: Path, tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match=r"missing column\(s\) \['ticker'\]"):
        import_tickers(write(tmp_path, "symbol,sector\nAAPL,Tech\n"), "split")
    with pytest.raises(DataValidationError, match="no metadata column besides ticker"):
        import_tickers(write(tmp_path, "ticker,name\nAAPL,Apple\n"), "split")
    with pytest.raises(DataValidationError, match="line 3: expected 2 fields like the header, found 3"):
        import_tickers(write(tmp_path, "ticker,sector\nAAPL,Tech\nSPY,a,b\n"), "split")


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["AAPL", "SPY"]), st.sampled_from(["", "Tech", "Energy"]),
                          st.one_of(st.just(""), st.floats(1e6, 1e12).map(lambda x: f"{x:.6g}"))),
                min_size=1, max_size=3, unique_by=lambda r: r[0]))
def test_the_stored_table_is_the_last_value_written_per_column(lake: Path, tmp_path: Path,
                                                               rows: list[tuple[str, str, str]]) -> None:
    """Reference: a dict updated row by row, column by column, from every import in turn."""
    expected = {t: {"sector": table().loc[t, "sector"], "market_cap": table().loc[t, "market_cap"]}
                for t in ["AAPL", "SPY"]}
    body = "".join(f"{t},{s},{c}\n" for t, s, c in rows)
    import_tickers(write(tmp_path, "ticker,sector,market_cap\n" + body), "split")
    for t, s, c in rows:
        expected[t] = {"sector": s or None, "market_cap": float(c) if c else np.nan}
    got = table()
    for t, values in expected.items():
        assert (got.loc[t, "sector"] if not pd.isna(got.loc[t, "sector"]) else None) == (
            values["sector"] if not pd.isna(values["sector"]) else None)
        assert np.isclose(got.loc[t, "market_cap"], values["market_cap"], equal_nan=True, rtol=0)


@click.group(cls=FriendlyGroup)
def data() -> None:
    """A throwaway `wb data` with the tickers command attached, as workbench.cli attaches it."""


data.add_command(tickers)


def test_cli_imports_tickers_and_reports_errors_in_one_line(lake: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(data, ["tickers", "import", str(TICKERS_CSV), "--name", "split"])
    assert result.exit_code == 0, result.output
    assert "index instrument:    SPY" in result.output
    bad = CliRunner().invoke(data, ["tickers", "import", str(write(tmp_path, "ticker,is_index\nAAPL,1\n")),
                                    "--name", "split"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output and bad.output.strip().count("\n") == 0
    assert "DataValidationError:" in bad.output and "index instruments (AAPL, SPY)" in bad.output
