"""Silent damage made loud: wrong timezone, wrong label, bars that are not 1-minute, nothing to write,
a file imported twice; tickers normalized by case and whitespace; the index instrument set at import."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from workbench.cli import main
from workbench.data import Dataset
from workbench.data.importers import import_files
from workbench.errors import DataValidationError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "vendor"
NEW_YORK = "America/New_York"
UTC_SESSION = FIXTURES / "utc_naive_session.csv"
END_STAMPED = FIXTURES / "end_stamped_session.csv"


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "lake"
    monkeypatch.setenv("WB_DATASETS", str(root))
    return root


def outside_share(path: Path, tz: str, shift_minutes: int) -> float:
    """Share of a file's naive stamps whose bar end falls outside 09:30-16:00 New York, computed by hand."""
    local = pd.to_datetime(pd.read_csv(path)["ts"]).dt.tz_localize(tz).dt.tz_convert(NEW_YORK)
    ends = local + pd.Timedelta(minutes=shift_minutes)
    minutes = ends.dt.hour * 60 + ends.dt.minute
    return float(((minutes <= 9 * 60 + 30) | (minutes > 16 * 60)).mean())


def test_utc_stamps_read_as_new_york_are_refused_naming_utc(lake: Path) -> None:
    share = outside_share(UTC_SESSION, NEW_YORK, 1)
    assert share > 0.6  # the finding: UTC stamps read as New York look like "extended hours"
    with pytest.raises(DataValidationError) as caught:
        import_files([UTC_SESSION], "csv", "tz", tz=NEW_YORK)
    message = str(caught.value)
    assert f"{share:.0%} of the bars fall outside" in message and "pass --tz UTC" in message
    assert "read as UTC, 100% fall inside" in message and "\n" not in message
    assert not (lake / "tz").exists()
    assert import_files([UTC_SESSION], "csv", "tz", tz="UTC").rows_written == 390


def test_new_york_stamps_read_as_utc_are_refused_naming_new_york(lake: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(UTC_SESSION)
    frame["ts"] = (pd.to_datetime(frame["ts"]).dt.tz_localize("UTC").dt.tz_convert(NEW_YORK)
                   .dt.strftime("%Y-%m-%d %H:%M"))
    path = tmp_path / "ny.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataValidationError, match=f"pass --tz {NEW_YORK}"):
        import_files([path], "csv", "tz", tz="UTC")
    assert import_files([path], "csv", "tz", tz=NEW_YORK).rows_written == 390


def test_genuine_extended_hours_file_is_not_second_guessed(lake: Path, tmp_path: Path) -> None:
    """04:00-20:00 New York: 60 % of the bars are outside the session, but the session holds the volume."""
    starts = pd.date_range("2024-11-25 04:00", "2024-11-25 19:59", freq="1min")
    in_session = (starts >= "2024-11-25 09:30") & (starts < "2024-11-25 16:00")
    volume = [5000 if inside else 20 for inside in in_session]
    lines = [f"{s:%Y-%m-%d %H:%M},XYZ,10,10.5,9.5,10,{v}" for s, v in zip(starts, volume, strict=True)]
    path = tmp_path / "extended.csv"
    path.write_text("ts,ticker,open,high,low,close,volume\n" + "\n".join(lines) + "\n")
    report = import_files([path], "csv", "ext", tz=NEW_YORK)
    assert (report.rows_written, report.extended_hours_skipped) == (390, len(starts) - 390)


def test_naive_stamps_without_a_timezone_suggest_the_one_that_fits(lake: Path) -> None:
    with pytest.raises(DataValidationError, match=r"no timezone .* e\.g\. --tz UTC \(read as UTC, 100%"):
        import_files([UTC_SESSION], "csv", "tz")


def test_end_stamped_file_read_as_starts_is_refused(lake: Path) -> None:
    with pytest.raises(DataValidationError) as caught:
        import_files([END_STAMPED], "csv", "label", tz=NEW_YORK, label="start")
    message = str(caught.value)
    assert "end one minute late (first 09:32, last 16:01)" in message and "pass --label end" in message
    report = import_files([END_STAMPED], "csv", "label", tz=NEW_YORK, label="end")
    ends = Dataset("label").bars()["ts"].dt.tz_convert(NEW_YORK).dt.strftime("%H:%M")
    assert report.rows_written == 390 and (ends.iloc[0], ends.iloc[-1]) == ("09:31", "16:00")


def test_start_stamped_file_read_as_ends_is_refused(lake: Path) -> None:
    with pytest.raises(DataValidationError, match=r"one minute early \(first 09:30, last 15:59\).*--label start"):
        import_files([UTC_SESSION], "csv", "label", tz="UTC", label="end")


@pytest.mark.parametrize(("fixture", "size", "step"), [("alpaca_bars_5min.json", "5-minute bars", "5 minutes"),
                                                       ("alpaca_bars_daily.json", "daily bars", "1 day")])
def test_bars_that_are_not_one_minute_are_refused(lake: Path, fixture: str, size: str, step: str) -> None:
    with pytest.raises(DataValidationError, match=f"these are {size} \\(the most common step between a ticker's "
                                                  f"bars is {step}\\)"):
        import_files([FIXTURES / fixture], "alpaca", "size")
    assert not (lake / "size").exists()


@pytest.mark.parametrize(("step", "size"), [("1h", "1-hour bars"), ("15min", "15-minute bars"),
                                            ("30s", "30-second bars")])
def test_bar_size_is_named(lake: Path, tmp_path: Path, step: str, size: str) -> None:
    starts = pd.date_range("2024-11-25 14:30", periods=6, freq=step, tz="UTC")
    path = tmp_path / "spy.csv"
    path.write_text("ts,open,high,low,close,volume\n" + "".join(f"{s.isoformat()},10,11,9,10,5\n" for s in starts))
    with pytest.raises(DataValidationError, match=f"these are {size}"):
        import_files([path], "csv", "size")


def test_sparse_one_minute_bars_are_accepted(lake: Path, tmp_path: Path) -> None:
    """An illiquid name trading in some minutes only is still 1-minute data."""
    minutes = [0, 1, 4, 9, 10, 17, 30, 31, 45]
    path = tmp_path / "thin.csv"
    path.write_text("ts,open,high,low,close,volume\n" + "".join(
        f"{(pd.Timestamp('2024-11-25 14:30', tz='UTC') + pd.Timedelta(minutes=m)).isoformat()},10,11,9,10,5\n"
        for m in minutes))
    assert import_files([path], "csv", "thin").rows_written == len(minutes)


def test_an_import_that_writes_nothing_is_an_error(lake: Path, tmp_path: Path) -> None:
    path = tmp_path / "night.csv"
    path.write_text("ts,ticker,open,high,low,close,volume\n2024-11-25T02:00:00Z,SPY,10,11,9,10,5\n"
                    "2024-11-25T02:01:00Z,SPY,10,11,9,10,5\n")
    with pytest.raises(DataValidationError, match="all 2 bars fall outside the regular session"):
        import_files([path], "csv", "night")
    assert not (lake / "night").exists()
    result = CliRunner().invoke(main, ["data", "import", "--format", "csv", str(path), "--name", "night"])
    assert result.exit_code != 0 and "nothing to import" in result.output


def test_all_bad_rows_in_quarantine_mode_writes_nothing(lake: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("ts,ticker,open,high,low,close,volume\n2024-11-25T14:30:00Z,SPY,10,1,9,10,5\n")
    with pytest.raises(DataValidationError, match="of 1 rows, 1 are bad"):
        import_files([path], "csv", "bad", on_bad="quarantine")
    assert not (lake / "bad").exists()


def test_reimporting_a_file_says_so(lake: Path) -> None:
    path = FIXTURES / "alpaca_bars_multi.json"
    import_files([path], "alpaca", "again")
    with pytest.raises(DataValidationError) as caught:
        import_files([path], "alpaca", "again")
    message = str(caught.value)
    assert f"every row of {path} (12 session bars) is already in dataset 'again' (imported before?)" in message
    assert "line" not in message and "bar 1" not in message  # not a list of duplicates
    with pytest.raises(DataValidationError, match="imported before"):
        import_files([path], "alpaca", "again", on_bad="quarantine")
    assert len(Dataset("again").bars()) == 12


def test_tickers_differing_by_case_or_space_are_one_series(lake: Path) -> None:
    report = import_files([FIXTURES / "mixed_case_tickers.csv"], "csv", "case")
    assert report.tickers == ("AGQ",)
    assert report.respelled == ((" agq ", "AGQ"), ("agq", "AGQ"))
    assert "normalized 2 ticker spelling(s): ' agq ' -> AGQ, agq -> AGQ" in str(report)
    bars = Dataset("case").bars()
    assert bars["ticker"].unique().tolist() == ["AGQ"] and len(bars) == 4
    assert Dataset("case").tickers["ticker"].tolist() == ["AGQ"]


def test_index_symbol_is_recorded_keeping_other_metadata(lake: Path) -> None:
    import_files([FIXTURES / "alpaca_bars_multi.json"], "alpaca", "idx")
    tickers = Dataset("idx").tickers
    tickers.loc[tickers["ticker"] == "AAPL", "sector"] = "Information Technology"
    from workbench.data._writer import write_tickers
    write_tickers(lake / "idx", tickers)

    report = import_files([FIXTURES / "alpaca_bars_single.json"], "alpaca", "idx", index="spy")
    assert report.index == "SPY" and "index instrument:       SPY" in str(report)
    table = Dataset("idx").tickers.set_index("ticker")
    assert table["is_index"].to_dict() == {"AAPL": False, "MSFT": False, "SPY": True}
    assert table.loc["AAPL", "sector"] == "Information Technology"


def test_index_can_name_a_stored_ticker_and_must_exist(lake: Path) -> None:
    import_files([FIXTURES / "alpaca_bars_single.json"], "alpaca", "idx")
    with pytest.raises(DataValidationError, match="--index QQQ: no bars of QQQ"):
        import_files([FIXTURES / "alpaca_bars_multi.json"], "alpaca", "idx", index="QQQ")
    report = import_files([FIXTURES / "alpaca_bars_multi.json"], "alpaca", "idx", index="SPY")
    assert report.index == "SPY"
    assert Dataset("idx").tickers.set_index("ticker")["is_index"].to_dict() == {
        "AAPL": False, "MSFT": False, "SPY": True}


def test_cli_index_option(lake: Path) -> None:
    path = FIXTURES / "alpaca_bars_single.json"
    result = CliRunner().invoke(main, ["data", "import", "--format", "alpaca", str(path), "--name", "cli",
                                       "--index", "SPY"])
    assert result.exit_code == 0, result.output
    assert Dataset("cli").tickers["is_index"].tolist() == [True]
