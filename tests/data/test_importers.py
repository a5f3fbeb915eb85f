"""Vendor importers end to end: vendor files on disk -> import_files / `wb data import` -> Dataset.bars()."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from workbench.cli import main
from workbench.data import Dataset
from workbench.data.importers import import_files
from workbench.errors import DataValidationError

# 2024-11-25 is a full NYSE session: 09:30 New York = 14:30 UTC. Vendors stamp bars by their start.
OPEN_UTC = pd.Timestamp("2024-11-25 14:30", tz="UTC")
NEW_YORK = "America/New_York"
QUOTES = ["bid", "ask", "bid_size", "ask_size"]
GENERIC_MAP = {"ts": "Date", "ticker": "Symbol", "open": "Open", "high": "High", "low": "Low", "close": "Close",
               "volume": "Volume", "vwap": "VWAP"}

Row = dict[str, object] | str  # a bar (canonical field names) or a verbatim line of the file


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private, empty lake for the test (``$WB_DATASETS``)."""
    root = tmp_path / "lake"
    monkeypatch.setenv("WB_DATASETS", str(root))
    return root


def good_rows(minutes: int = 3, start: pd.Timestamp = OPEN_UTC) -> list[Row]:
    """Valid bars for two tickers, one per minute from ``start`` (bar start, UTC)."""
    rows: list[Row] = []
    for k, (ticker, base) in enumerate([("AAPL", 230.0), ("MSFT", 420.0)]):
        for m in range(minutes):
            price = base + m * 0.25
            rows.append({"ticker": ticker, "start": start + pd.Timedelta(minutes=m), "open": price,
                         "high": price + 0.5, "low": price - 0.5, "close": price + 0.125,
                         "volume": 1000.0 + 10 * m + k, "vwap": price + 0.0625, "trades": 50 + m})
    return rows


def _stamp(value: object, fmt: str, label: str = "start") -> object:
    """A bar start as the vendor writes it (raw strings pass through untouched)."""
    if not isinstance(value, pd.Timestamp):
        return value
    if fmt == "polygon":
        return value.value
    if fmt == "alpaca":
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    stamped = value + pd.Timedelta(minutes=1) if label == "end" else value
    return stamped.tz_convert(NEW_YORK).strftime("%Y-%m-%d %H:%M:%S")


def _csv(header: list[str], rows: list[Row], cells: Callable[[dict[str, object]], list[object]]) -> str:
    lines = [",".join(header)]
    lines += [row if isinstance(row, str) else ",".join(str(v) for v in cells(row)) for row in rows]
    return "\n".join(lines) + "\n"


def write_polygon(path: Path, rows: list[Row], *, vwap: bool = False) -> Path:
    header = ["ticker", "volume", "open", "close", "high", "low", "window_start", "transactions"]
    text = _csv(header + ["vwap"] * vwap, rows, lambda r: [
        r["ticker"], r["volume"], r["open"], r["close"], r["high"], r["low"], _stamp(r["start"], "polygon"),
        r["trades"], *([r["vwap"]] * vwap)])
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def _alpaca(row: dict[str, object]) -> dict[str, object]:
    return {"symbol": row["ticker"], "t": _stamp(row["start"], "alpaca"), "o": row["open"], "h": row["high"],
            "l": row["low"], "c": row["close"], "v": row["volume"], "n": row["trades"], "vw": row["vwap"]}


def write_alpaca(path: Path, rows: list[Row]) -> Path:
    if path.suffix == ".jsonl":
        path.write_text("".join((r if isinstance(r, str) else json.dumps(_alpaca(r))) + "\n" for r in rows))
    else:
        path.write_text(_csv(["symbol", "t", "o", "h", "l", "c", "v", "n", "vw"], rows,
                             lambda r: list(_alpaca(r).values())))
    return path


def write_generic(path: Path, rows: list[Row], *, label: str = "start") -> Path:
    """Mapped column names, naive New York times, plus a same-name ``trades`` column left unmapped."""
    path.write_text(_csv(["Symbol", "Date", "Open", "High", "Low", "Close", "Volume", "VWAP", "trades"], rows,
                         lambda r: [r["ticker"], _stamp(r["start"], "csv", label), r["open"], r["high"], r["low"],
                                    r["close"], r["volume"], r["vwap"], r["trades"]]))
    return path


WRITERS: dict[str, Callable[[Path, list[Row]], Path]] = {
    "polygon": write_polygon, "alpaca": write_alpaca, "csv": write_generic,
}
OPTIONS: dict[str, dict[str, object]] = {
    "polygon": {}, "alpaca": {}, "csv": {"mapping": GENERIC_MAP, "tz": NEW_YORK},
}


def expected_bars(rows: list[Row], *, vwap: bool = True) -> pd.DataFrame:
    """What the lake should hold: ts at the END of each minute, quotes null."""
    frame = pd.DataFrame([r for r in rows if isinstance(r, dict)])
    frame["ts"] = frame.pop("start") + pd.Timedelta(minutes=1)
    if not vwap:
        frame["vwap"] = np.nan
    return frame.sort_values(["ticker", "ts"], ignore_index=True)


def assert_lake_holds(name: str, expected: pd.DataFrame) -> None:
    bars = Dataset(name).bars()
    assert str(bars["ts"].dt.tz) == "UTC"
    assert bars[QUOTES].isna().all().all()
    columns = ["ts", "ticker", "open", "high", "low", "close", "volume", "vwap", "trades"]
    pd.testing.assert_frame_equal(bars[columns], expected[columns], check_dtype=False)


# -- round trips ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("filename", "vwap"), [("minute_aggs.csv", False), ("minute_aggs.csv.gz", True)])
def test_polygon_round_trip(lake: Path, tmp_path: Path, filename: str, vwap: bool) -> None:
    rows = good_rows()
    path = write_polygon(tmp_path / filename, rows, vwap=vwap)
    report = import_files([path], "polygon", "poly")
    assert_lake_holds("poly", expected_bars(rows, vwap=vwap))
    assert (report.rows_read, report.rows_written, report.rows_quarantined) == (6, 6, 0)
    assert report.tickers == ("AAPL", "MSFT") and report.files == (path,) and report.dataset == lake / "poly"
    assert report.first_ts == OPEN_UTC + pd.Timedelta(minutes=1)
    assert report.last_ts == OPEN_UTC + pd.Timedelta(minutes=3)
    assert Dataset("poly").tickers["ticker"].tolist() == ["AAPL", "MSFT"]
    assert Dataset("poly").corporate_actions.empty


@pytest.mark.parametrize("filename", ["bars.jsonl", "bars.csv"])
def test_alpaca_round_trip(lake: Path, tmp_path: Path, filename: str) -> None:
    rows = good_rows()
    import_files([write_alpaca(tmp_path / filename, rows)], "alpaca", "alp")
    assert_lake_holds("alp", expected_bars(rows))


@pytest.mark.parametrize("label", ["start", "end"])
def test_generic_csv_round_trip_with_mapping_and_timezone(lake: Path, tmp_path: Path, label: str) -> None:
    rows = good_rows()
    path = write_generic(tmp_path / "vendor.csv", rows, label=label)
    import_files([path], "csv", "gen", mapping=GENERIC_MAP, tz=NEW_YORK, label=label)
    assert_lake_holds("gen", expected_bars(rows))


def test_appending_a_later_session_keeps_earlier_rows(lake: Path, tmp_path: Path) -> None:
    monday, tuesday = good_rows(2), good_rows(2, start=OPEN_UTC + pd.Timedelta(days=1))
    import_files([write_polygon(tmp_path / "mon.csv", monday)], "polygon", "poly")
    import_files([write_alpaca(tmp_path / "tue.jsonl", [*tuesday, {**tuesday[0], "ticker": "NVDA"}])],
                 "alpaca", "poly")
    assert len(Dataset("poly").bars()) == 9
    assert Dataset("poly").tickers["ticker"].tolist() == ["AAPL", "MSFT", "NVDA"]
    assert [str(d) for d in Dataset("poly").dates] == ["2024-11-25", "2024-11-26"]


# -- bad rows ------------------------------------------------------------------------------------------


def set_field(index: int, field: str, value: object) -> Callable[[list[Row]], int]:
    def mutate(rows: list[Row]) -> int:
        rows[index] = {**rows[index], field: value}
        return index
    return mutate


def repeat(index: int) -> Callable[[list[Row]], int]:
    def mutate(rows: list[Row]) -> int:
        rows.append(rows[index])
        return len(rows) - 1
    return mutate


def verbatim(index: int, line: str) -> Callable[[list[Row]], int]:
    def mutate(rows: list[Row]) -> int:
        rows[index] = line
        return index
    return mutate


BAD_ROWS = [
    pytest.param("csv", set_field(1, "open", "NaN"), "NaN open price", id="nan-price"),
    pytest.param("polygon", set_field(2, "low", -1), "non-positive low price", id="non-positive-price"),
    pytest.param("alpaca", set_field(3, "high", 200.0), "high < low", id="high-below-low"),
    pytest.param("csv", set_field(0, "close", 999.0), "close outside [low, high]", id="close-outside-range"),
    pytest.param("polygon", set_field(4, "volume", -5), "negative volume", id="negative-volume"),
    pytest.param("alpaca", repeat(1), "duplicate (ticker, ts)", id="duplicate-in-file"),
    pytest.param("alpaca", set_field(2, "start", "yesterday"), "unparseable timestamp", id="unparseable-ts"),
    pytest.param("csv", set_field(1, "start", "2024-11-25T09:31:00+25:00"), "unknown timezone offset",
                 id="unknown-offset"),
    pytest.param("alpaca", set_field(0, "start", "2024-11-25T14:30:00 XYZ"), "unknown timezone",
                 id="unknown-timezone"),
    pytest.param("polygon", set_field(1, "start", "1732545000000000000.5"), "unparseable timestamp",
                 id="unparseable-epoch"),
    pytest.param("csv", set_field(3, "volume", "lots"), "unparseable volume", id="unparseable-number"),
    pytest.param("alpaca", set_field(5, "trades", 2.5), "non-integer trades", id="non-integer-trades"),
    pytest.param("alpaca", verbatim(2, '{"symbol": "AAPL", "t": '), "malformed JSON", id="malformed-json"),
    pytest.param("polygon", verbatim(1, "AAPL,100,1.0"), "expected 8 fields, found 3", id="ragged-csv-row"),
]


@pytest.mark.parametrize(("fmt", "mutate", "reason"), BAD_ROWS)
def test_bad_row_is_refused_naming_file_line_and_reason(lake: Path, tmp_path: Path, fmt: str,
                                                       mutate: Callable[[list[Row]], int], reason: str) -> None:
    rows = good_rows()
    index = mutate(rows)
    path = WRITERS[fmt](tmp_path / ("bars.jsonl" if fmt == "alpaca" else "bars.csv"), rows)
    line = index + (1 if path.suffix == ".jsonl" else 2)  # CSV: the header is line 1
    with pytest.raises(DataValidationError) as caught:
        import_files([path], fmt, "bad", **OPTIONS[fmt])
    assert f"{path} line {line}: {reason}" in str(caught.value)
    assert "1 bad row" in str(caught.value)
    assert not (lake / "bad").exists()


def test_duplicate_of_stored_bar_is_refused_and_lake_unchanged(lake: Path, tmp_path: Path) -> None:
    rows = good_rows()
    import_files([write_polygon(tmp_path / "first.csv", rows)], "polygon", "poly")
    before = sorted(p.name for p in (lake / "poly").rglob("*"))
    later = good_rows(start=OPEN_UTC + pd.Timedelta(minutes=3))
    path = write_alpaca(tmp_path / "again.jsonl", [*later, rows[4]])
    with pytest.raises(DataValidationError, match=r"again\.jsonl line 7: duplicate \(ticker, ts\) already in"):
        import_files([path], "alpaca", "poly")
    assert sorted(p.name for p in (lake / "poly").rglob("*")) == before
    assert len(Dataset("poly").bars()) == 6


def test_refusal_lists_the_first_five_and_counts_the_rest(lake: Path, tmp_path: Path) -> None:
    rows = [{**r, "volume": -1.0} for r in good_rows(4)]
    path = write_polygon(tmp_path / "neg.csv", rows)
    with pytest.raises(DataValidationError) as caught:
        import_files([path], "polygon", "neg")
    message = str(caught.value)
    assert message.count("negative volume") == 5
    assert "8 bad row(s)" in message and "and 3 more" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("content", "kwargs", "error", "needle"),
    [
        pytest.param("ticker,volume,open,close,high,window_start\nAAPL,1,1,1,1,1\n", {}, DataValidationError,
                     "missing required column(s) low",
                     id="missing-column"),
        pytest.param("", {}, DataValidationError, "empty", id="empty-file"),
        pytest.param("ticker,volume,open,close,high,low,window_start\n", {}, DataValidationError, "no data rows",
                     id="header-only"),
        pytest.param("ts,ticker,open,high,low,close,volume\n2024-11-25 09:30,AAPL,1,1,1,1,1\n", {"fmt": "csv"},
                     DataValidationError, "no timezone (line 2", id="naive-without-tz"),
        pytest.param(None, {}, FileNotFoundError, "no such file", id="file-not-found"),
        pytest.param("x\n", {"fmt": "bloomberg"}, ValueError, "unknown format", id="unknown-format"),
        pytest.param("x\n", {"fmt": "csv", "tz": "Mars/Olympus"}, ValueError, "unknown timezone",
                     id="unknown-tz-name"),
        pytest.param("x\n", {"fmt": "csv", "mapping": {"price": "Close"}}, ValueError, "unknown lake column",
                     id="unknown-mapped-column"),
        pytest.param("x\n", {"mapping": {"ts": "Date"}}, ValueError, "csv files only", id="mapping-not-csv"),
    ],
)
def test_file_level_errors_are_clear(lake: Path, tmp_path: Path, content: str | None, kwargs: dict[str, object],
                                     error: type[Exception], needle: str) -> None:
    path = tmp_path / "vendor.csv"
    if content is not None:
        path.write_text(content)
    options = {"fmt": "polygon", **kwargs}
    fmt = str(options.pop("fmt"))
    with pytest.raises(error, match=re.escape(needle)) as caught:
        import_files([path], fmt, "broken", **options)
    if isinstance(caught.value, DataValidationError | FileNotFoundError):
        assert str(path) in str(caught.value)
    assert not (lake / "broken").exists()


# -- quarantine and extended hours ---------------------------------------------------------------------


def test_quarantine_writes_good_rows_and_sets_bad_ones_aside(lake: Path, tmp_path: Path) -> None:
    rows = good_rows()
    rows[1] = {**rows[1], "high": 1.0}
    rows[4] = "not json at all"
    premarket = {**rows[0], "start": OPEN_UTC - pd.Timedelta(hours=1)}
    path = write_alpaca(tmp_path / "mixed.jsonl", [*rows, premarket])
    report = import_files([path], "alpaca", "quar", on_bad="quarantine")

    assert (report.rows_read, report.rows_written, report.rows_quarantined, report.extended_hours_skipped) == (
        7, 4, 2, 1)
    assert report.rows_read == report.rows_written + report.rows_quarantined + report.extended_hours_skipped
    good = [r for i, r in enumerate(rows) if i not in (1, 4)]
    assert_lake_holds("quar", expected_bars(good))

    quarantine = pd.read_parquet(lake / "quar" / "quarantine.parquet")
    assert quarantine["line"].tolist() == [2, 5]
    assert quarantine["reason"].str.startswith("high < low").tolist()[0]
    assert quarantine["reason"].str.startswith("malformed JSON").tolist()[1]
    assert set(quarantine["source_file"]) == {str(path)}
    assert quarantine.loc[0, "h"] == "1.0" and quarantine.loc[0, "symbol"] == "AAPL"
    assert quarantine.loc[1, "record"] == "not json at all"
    assert "2 " in str(report).split("quarantined:")[1].splitlines()[0]

    later = {**rows[0], "start": OPEN_UTC + pd.Timedelta(minutes=1)}  # quarantined above, so not stored
    second = write_polygon(tmp_path / "again.csv", [rows[0], later])  # the first is already stored
    again = import_files([second], "polygon", "quar", on_bad="quarantine")
    assert (again.rows_written, again.rows_quarantined) == (1, 1)
    quarantine = pd.read_parquet(lake / "quar" / "quarantine.parquet")
    assert len(quarantine) == 3
    assert quarantine.loc[2, "reason"] == "duplicate (ticker, ts) already in dataset"
    assert quarantine.loc[2, "line"] == 2


def test_a_repeat_of_a_bad_row_is_kept_in_quarantine_mode(lake: Path, tmp_path: Path) -> None:
    rows = good_rows(1)
    path = write_polygon(tmp_path / "fix.csv", [{**rows[0], "open": "NaN"}, *rows])
    report = import_files([path], "polygon", "fix", on_bad="quarantine")
    assert (report.rows_written, report.rows_quarantined) == (2, 1)


def test_extended_hours_rows_are_counted_not_written(lake: Path, tmp_path: Path) -> None:
    session = good_rows(1)  # AAPL and MSFT at 09:30
    starts = {  # more AAPL bars: start (New York) -> inside the regular session (bar ends in (09:30, 16:00])?
        "2024-11-25 04:00": False, "2024-11-25 09:29": False, "2024-11-25 15:59": True,
        "2024-11-25 16:00": False, "2024-11-25 19:59": False, "2024-11-23 10:00": False,  # a Saturday
    }
    extra = [{**session[0], "start": pd.Timestamp(s, tz=NEW_YORK).tz_convert("UTC")} for s in starts]
    path = write_polygon(tmp_path / "ext.csv", [*session, *extra])
    report = import_files([path], "polygon", "ext")
    skipped = sum(not inside for inside in starts.values())
    assert report.extended_hours_skipped == skipped == 5
    assert (report.rows_read, report.rows_written) == (8, 3)
    assert f"extended-hours skipped: {skipped}" in str(report)
    ends = Dataset("ext").bars("AAPL")["ts"].dt.tz_convert(NEW_YORK).dt.strftime("%H:%M").tolist()
    assert ends == ["09:31", "16:00"]


# -- CLI -----------------------------------------------------------------------------------------------


def test_cli_imports_a_good_file(lake: Path, tmp_path: Path) -> None:
    path = write_generic(tmp_path / "vendor.csv", good_rows())
    mapping = ",".join(f"{k}={v}" for k, v in GENERIC_MAP.items())
    result = CliRunner().invoke(main, ["data", "import", "--format", "csv", str(path), "--name", "cli",
                                       "--map", mapping, "--tz", NEW_YORK])
    assert result.exit_code == 0, result.output
    assert "rows written:           6" in result.output
    assert len(Dataset("cli").bars()) == 6


def test_cli_reports_a_bad_file_in_one_line(lake: Path, tmp_path: Path) -> None:
    rows = good_rows()
    rows[2] = {**rows[2], "close": 1.0}
    path = write_polygon(tmp_path / "bad.csv", rows)
    result = CliRunner().invoke(main, ["data", "import", "--format", "polygon", str(path), "--name", "cli"])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert result.output.strip().count("\n") == 0
    assert "DataValidationError: refused" in result.output and f"{path} line 4: close outside" in result.output
    assert not (lake / "cli").exists()

