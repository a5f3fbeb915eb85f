"""Generic CSV import options: ticker from --ticker or the file name, date + time columns, --ts-format,
delimiter detection, epoch stamps in s / ms / µs / ns (told from the magnitude or given)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings

from workbench.cli import main
from workbench.data import Dataset
from workbench.data.importers import import_files
from workbench.data.importers._formats import ticker_from_filename
from workbench.data.importers._timestamps import epoch_unit_of
from workbench.errors import DataValidationError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "vendor"
NEW_YORK = "America/New_York"
OPEN_UTC = pd.Timestamp("2024-11-25 14:30", tz="UTC")  # 09:30 New York, a bar start
SPLIT_MAP = {"date": "Date", "time": "Time", "open": "Open", "high": "High", "low": "Low", "close": "Close",
             "volume": "Volume"}


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "lake"
    monkeypatch.setenv("WB_DATASETS", str(root))
    return root


def expected_ends(n: int) -> list[pd.Timestamp]:
    return [OPEN_UTC + pd.Timedelta(minutes=k + 1) for k in range(n)]


def test_us_dates_in_separate_columns_semicolons_and_ticker_from_name(lake: Path) -> None:
    path = FIXTURES / "aapl_1min.csv"
    report = import_files([path], "csv", "split", mapping=SPLIT_MAP, ts_format="%m/%d/%Y %H:%M", tz=NEW_YORK)
    bars = Dataset("split").bars()
    raw = pd.read_csv(path, sep=";")
    assert report.tickers == ("AAPL",)
    assert bars["ts"].tolist() == expected_ends(len(raw))
    np.testing.assert_array_equal(bars[["open", "high", "low", "close", "volume"]].to_numpy(),
                                  raw[["Open", "High", "Low", "Close", "Volume"]].to_numpy())


def test_epoch_seconds_pipes_and_ticker_from_name(lake: Path) -> None:
    path = FIXTURES / "msft_epoch.csv"
    import_files([path], "csv", "epoch", mapping={"ts": "timestamp"})
    bars = Dataset("epoch").bars()
    raw = pd.read_csv(path, sep="|")
    assert bars["ticker"].unique().tolist() == ["MSFT"]
    assert bars["ts"].tolist() == [pd.Timestamp(s, unit="s", tz="UTC") + pd.Timedelta(minutes=1)
                                   for s in raw["timestamp"]]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("given_unit", [False, True])
def test_epoch_units_detected_or_given(lake: Path, tmp_path: Path, unit: str, given_unit: bool) -> None:
    factor = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit]
    stamps = [(OPEN_UTC + pd.Timedelta(minutes=k)).value // factor for k in range(3)]
    path = tmp_path / "spy.csv"
    path.write_text("ts,open,high,low,close,volume\n" + "".join(f"{s},10,11,9,10.5,100\n" for s in stamps))
    import_files([path], "csv", "units", epoch_unit=unit if given_unit else None)
    assert Dataset("units").bars()["ts"].tolist() == expected_ends(3)


def test_epoch_written_as_floats(lake: Path, tmp_path: Path) -> None:
    """pandas writes an integer column with a NaN in it as floats: 1732545000.0 is still epoch seconds."""
    path = tmp_path / "spy.csv"
    path.write_text("ts,open,high,low,close,volume\n" + "".join(
        f"{float((OPEN_UTC + pd.Timedelta(minutes=k)).value // 10**9)},10,11,9,10.5,100\n" for k in range(3)))
    import_files([path], "csv", "floats")
    assert Dataset("floats").bars()["ts"].tolist() == expected_ends(3)


def test_a_wrong_epoch_unit_is_caught(lake: Path, tmp_path: Path) -> None:
    stamps = [(OPEN_UTC + pd.Timedelta(minutes=k)).value // 10**6 for k in range(3)]
    path = tmp_path / "spy.csv"
    path.write_text("ts,open,high,low,close,volume\n" + "".join(f"{s},10,11,9,10.5,100\n" for s in stamps))
    with pytest.raises(DataValidationError, match="out of range for epoch s"):
        import_files([path], "csv", "units", epoch_unit="s")


@given(st.integers(int(pd.Timestamp("1990-01-01").value), int(pd.Timestamp("2100-01-01").value)))
def test_epoch_unit_of_any_time_from_1990_to_2100(ns: int) -> None:
    for unit, factor in {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}.items():
        assert epoch_unit_of(np.array([ns // factor])) == unit


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_detected(lake: Path, tmp_path: Path, delimiter: str) -> None:
    rows = [["ts", "ticker", "open", "high", "low", "close", "volume"]]
    rows += [[f"2024-11-25T14:3{k}:00Z", "SPY", "10.5", "11", "9", "10", "100"] for k in range(3)]
    path = tmp_path / "bars.txt"
    path.write_text("".join(delimiter.join(r) + "\n" for r in rows))
    report = import_files([path], "csv", "delim")
    assert report.rows_written == 3 and report.tickers == ("SPY",)


def test_folder_of_per_symbol_files(lake: Path, tmp_path: Path) -> None:
    folder = tmp_path / "per_symbol"
    folder.mkdir()
    for name in ("AAPL.csv", "msft_1min.csv", "spy.txt"):
        (folder / name).write_text("ts,open,high,low,close,volume\n2024-11-25T14:30:00Z,10,11,9,10.5,100\n"
                                   "2024-11-25T14:31:00Z,10,11,9,10.5,100\n")
    (folder / "README.md").write_text("not bars\n")
    report = import_files([folder], "csv", "folder")
    assert report.tickers == ("AAPL", "MSFT", "SPY") and report.rows_written == 6


def test_ticker_option_names_a_per_symbol_file(lake: Path, tmp_path: Path) -> None:
    path = tmp_path / "2024-11-25.csv"
    path.write_text("ts,open,high,low,close,volume\n2024-11-25T14:30:00Z,10,11,9,10.5,100\n")
    with pytest.raises(DataValidationError, match="pass --ticker SYMBOL"):
        import_files([path], "csv", "named")
    assert import_files([path], "csv", "named", ticker=" qqq ").tickers == ("QQQ",)


def test_ticker_option_with_a_ticker_column_is_refused(lake: Path) -> None:
    with pytest.raises(DataValidationError, match="has a ticker column"):
        import_files([FIXTURES / "mixed_case_tickers.csv"], "csv", "both", ticker="AGQ")


@pytest.mark.parametrize(("name", "ticker"), [("AAPL.csv", "AAPL"), ("aapl_1min.csv", "AAPL"),
                                              ("msft_2024.csv.gz", "MSFT"), ("BRK.B.csv", "BRK.B"),
                                              ("spy.txt", "SPY")])
def test_ticker_from_file_name(name: str, ticker: str) -> None:
    assert ticker_from_filename(Path(name)) == ticker


def test_timestamps_that_do_not_parse_ask_for_a_format(lake: Path) -> None:
    with pytest.raises(DataValidationError, match=r"none of the 6 timestamps in date and time parse .*--ts-format"):
        import_files([FIXTURES / "aapl_1min.csv"], "csv", "split", mapping=SPLIT_MAP, tz=NEW_YORK)


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"mapping": {"date": "Date"}}, "map both date= and time="),
    ({"mapping": {"ts": "t", "date": "Date", "time": "Time"}}, "not both"),
    ({"epoch_unit": "min"}, "epoch_unit must be one of"),
    ({"epoch_unit": "s", "ts_format": "%Y"}, "not both"),
    ({"ticker": "  "}, "ticker is blank"),
])
def test_bad_options_are_refused_before_reading(lake: Path, kwargs: dict, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        import_files([FIXTURES / "aapl_1min.csv"], "csv", "opts", **kwargs)


def test_csv_only_options_refused_for_vendor_formats(lake: Path) -> None:
    with pytest.raises(ValueError, match="apply to csv files only"):
        import_files([FIXTURES / "polygon_aggs.json"], "polygon", "opts", ticker="AAPL")


def test_cli_with_split_columns_and_format(lake: Path) -> None:
    mapping = ",".join(f"{k}={v}" for k, v in SPLIT_MAP.items())
    result = CliRunner().invoke(main, ["data", "import", "--format", "csv", str(FIXTURES / "aapl_1min.csv"),
                                       "--name", "cli", "--map", mapping, "--ts-format", "%m/%d/%Y %H:%M",
                                       "--tz", NEW_YORK])
    assert result.exit_code == 0, result.output
    assert "tickers:                1 (AAPL)" in result.output


STAMP_FORMS = ["iso_z", "epoch_s", "epoch_ms", "epoch_us", "epoch_ns", "new_york", "us_format", "split"]


def _written(start: pd.Timestamp, form: str) -> list[str]:
    """A bar start as each form writes it (one field, or date and time for ``split``)."""
    ny = start.tz_convert(NEW_YORK)
    factor = {"epoch_s": 10**9, "epoch_ms": 10**6, "epoch_us": 10**3, "epoch_ns": 1}
    if form in factor:
        return [str(start.value // factor[form])]
    return {"iso_z": [start.strftime("%Y-%m-%dT%H:%M:%SZ")], "new_york": [ny.strftime("%Y-%m-%d %H:%M:%S")],
            "us_format": [ny.strftime("%m/%d/%Y %I:%M %p")],
            "split": [ny.strftime("%Y-%m-%d"), ny.strftime("%H:%M")]}[form]


@settings(max_examples=25, deadline=None)
@given(form=st.sampled_from(STAMP_FORMS), delimiter=st.sampled_from([",", ";", "\t", "|"]),
       first=st.integers(0, 380), length=st.integers(1, 8),
       spellings=st.lists(st.sampled_from(["spy", "SPY", " Spy", "SPY "]), min_size=1, max_size=8))
def test_any_stamp_form_and_delimiter_round_trip(form: str, delimiter: str, first: int, length: int,
                                                 spellings: list[str]) -> None:
    """Whatever the stamp form, delimiter and ticker spelling, the lake holds the same bars: ends, UTC, SPY."""
    starts = [OPEN_UTC + pd.Timedelta(minutes=first + k) for k in range(length)]
    header = ["date", "time"] if form == "split" else ["ts"]
    lines = [delimiter.join([*header, "ticker", "open", "high", "low", "close", "volume"])]
    for k, start in enumerate(starts):
        lines.append(delimiter.join([*_written(start, form), spellings[k % len(spellings)], str(10 + k), str(11 + k),
                                     str(9 + k), str(10.5 + k), str(100 * (k + 1))]))
    options: dict = {"tz": NEW_YORK} if form in ("new_york", "us_format", "split") else {}
    if form == "us_format":
        options["ts_format"] = "%m/%d/%Y %I:%M %p"
    if form == "split":
        options["mapping"] = {"date": "date", "time": "time"}
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        patch.setenv("WB_DATASETS", folder)
        path = Path(folder) / "bars.csv"
        path.write_text("\n".join(lines) + "\n")
        import_files([path], "csv", "any", **options)
        bars = Dataset("any").bars()
    assert bars["ticker"].unique().tolist() == ["SPY"]
    assert bars["ts"].tolist() == [s + pd.Timedelta(minutes=1) for s in starts]
    assert bars["close"].tolist() == [10.5 + k for k in range(length)]
