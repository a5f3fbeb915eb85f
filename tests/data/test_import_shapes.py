"""Vendor shapes through `wb data import`: REST responses, paged folders, stream captures -> Dataset.bars."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from workbench.cli import main
from workbench.data import Dataset
from workbench.data.importers import import_files
from workbench.data.vendors import alpaca_bar_message, alpaca_bars, polygon_aggregates, polygon_bar_message
from workbench.errors import DataValidationError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "vendor"
COLUMNS = ["ts", "ticker", "open", "high", "low", "close", "volume", "vwap", "trades"]


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "lake"
    monkeypatch.setenv("WB_DATASETS", str(root))
    return root


def load(name: str) -> object:
    return json.loads((FIXTURES / name).read_text())


def stored(name: str) -> pd.DataFrame:
    bars = Dataset(name).bars()
    assert str(bars["ts"].dt.tz) == "UTC"
    return bars[COLUMNS].reset_index(drop=True)


def same(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(actual[COLUMNS].reset_index(drop=True), expected[COLUMNS].reset_index(drop=True),
                                  check_dtype=False)


def by_hand(payload: dict) -> pd.DataFrame:
    """The payload's bars written out by hand: RFC 3339 or ms start plus one minute, fields renamed."""
    rows = []
    if isinstance(payload.get("bars"), dict):
        items = [(s, b) for s, bars in payload["bars"].items() for b in bars]
    else:
        symbol = payload.get("symbol") or payload.get("ticker")
        items = [(symbol, b) for b in payload.get("bars") or payload["results"]]
    for symbol, bar in items:
        start = pd.Timestamp(bar["t"], unit="ms", tz="UTC") if isinstance(bar["t"], int) else pd.Timestamp(bar["t"])
        rows.append({"ts": start + pd.Timedelta(minutes=1), "ticker": symbol, "open": bar["o"], "high": bar["h"],
                     "low": bar["l"], "close": bar["c"], "volume": bar["v"], "vwap": bar["vw"], "trades": bar["n"]})
    return pd.DataFrame(rows).sort_values(["ticker", "ts"], ignore_index=True)


@pytest.mark.parametrize(("fixture", "fmt", "parser"), [
    ("alpaca_bars_multi.json", "alpaca", alpaca_bars),
    ("alpaca_bars_single.json", "alpaca", alpaca_bars),
    ("polygon_aggs.json", "polygon", polygon_aggregates),
])
def test_rest_response_round_trip(lake: Path, fixture: str, fmt: str, parser: object) -> None:
    report = import_files([FIXTURES / fixture], fmt, "rest")
    payload = load(fixture)
    same(stored("rest"), by_hand(payload))
    same(stored("rest"), parser(payload))  # the importer and the live parser agree
    assert report.rows_written == report.rows_read == len(by_hand(payload))


def test_folder_of_paged_responses_equals_one_response(lake: Path) -> None:
    report = import_files([FIXTURES / "alpaca_pages"], "alpaca", "paged")
    assert [p.name for p in report.files] == ["page-001.json", "page-002.json", "page-003.json"]
    same(stored("paged"), by_hand(load("alpaca_bars_multi.json")))


def test_a_repeated_page_is_a_duplicate(lake: Path, tmp_path: Path) -> None:
    folder = tmp_path / "pages"
    shutil.copytree(FIXTURES / "alpaca_pages", folder)
    shutil.copy(folder / "page-002.json", folder / "page-004.json")
    with pytest.raises(DataValidationError, match=r"page-004\.json bar 1: duplicate \(ticker, ts\)"):
        import_files([folder], "alpaca", "paged")


def test_stream_captures_round_trip(lake: Path) -> None:
    frames = [json.loads(line) for line in (FIXTURES / "alpaca_stream.jsonl").read_text().splitlines()]
    import_files([FIXTURES / "alpaca_stream.jsonl"], "alpaca", "alp")
    same(stored("alp"), pd.DataFrame([alpaca_bar_message(m) for f in frames for m in f]).sort_values(
        ["ticker", "ts"], ignore_index=True))
    import_files([FIXTURES / "polygon_stream.json"], "polygon", "poly")
    expected = pd.DataFrame([polygon_bar_message(m) for m in load("polygon_stream.json")])
    same(stored("poly"), expected.sort_values(["ticker", "ts"], ignore_index=True))
    assert stored("poly")["trades"].isna().all()


def test_a_non_bar_stream_message_is_a_row_problem(lake: Path, tmp_path: Path) -> None:
    trade = {"ev": "T", "sym": "AAPL", "x": 4, "i": "12345", "p": 230.1, "s": 100, "c": [12], "t": 1732545001234}
    path = tmp_path / "capture.json"
    path.write_text(json.dumps([*load("polygon_stream.json"), trade]))
    with pytest.raises(DataValidationError, match=r"capture\.json message 5: not a minute-aggregate event"):
        import_files([path], "polygon", "poly")
    report = import_files([path], "polygon", "poly", on_bad="quarantine")
    assert (report.rows_written, report.rows_quarantined) == (4, 1)


@pytest.mark.parametrize(("fmt", "control", "failure"), [
    ("alpaca", [{"T": "success", "msg": "connected"}, {"T": "success", "msg": "authenticated"},
                {"T": "subscription", "trades": [], "quotes": [], "bars": ["AAPL", "MSFT"]}],
     {"T": "error", "code": 406, "msg": "connection limit exceeded"}),
    ("polygon", [{"ev": "status", "status": "connected", "message": "Connected Successfully"},
                 {"ev": "status", "status": "auth_success", "message": "authenticated"},
                 {"ev": "status", "status": "success", "message": "subscribed to: AM.*"}],
     {"ev": "status", "status": "auth_failed", "message": "authentication failed"}),
])
def test_stream_control_messages_are_counted_not_imported(lake: Path, tmp_path: Path, fmt: str,
                                                          control: list[dict], failure: dict) -> None:
    """A capture as recorded: one JSON array per line, control frames first (the docs' message format)."""
    bars = ([json.loads(line) for line in (FIXTURES / "alpaca_stream.jsonl").read_text().splitlines()]
            if fmt == "alpaca" else [load("polygon_stream.json")])
    path = tmp_path / "capture.jsonl"
    path.write_text("".join(json.dumps([m]) + "\n" for m in control) + "".join(json.dumps(f) + "\n" for f in bars))
    report = import_files([path], fmt, fmt)
    assert (report.rows_read, report.rows_written, report.control_skipped) == (4, 4, 3)
    assert "stream control messages skipped: 3" in str(report)
    path.write_text(path.read_text() + json.dumps([failure]) + "\n")
    with pytest.raises(DataValidationError, match=r"capture\.jsonl line \d: not a minute-"):
        import_files([path], fmt, f"{fmt}-failed")


def test_bad_bar_in_a_response_names_the_bar(lake: Path, tmp_path: Path) -> None:
    payload = load("alpaca_bars_multi.json")
    payload["bars"]["MSFT"][1]["l"] = 1e6
    path = tmp_path / "page.json"
    path.write_text(json.dumps(payload))
    with pytest.raises(DataValidationError, match=r"page\.json bar 8: high < low"):
        import_files([path], "alpaca", "bad")


@pytest.mark.parametrize(("fixture", "fmt", "other"), [
    ("alpaca_bars_multi.json", "polygon", "alpaca"),
    ("polygon_aggs.json", "alpaca", "polygon"),
    ("polygon_stream.json", "alpaca", "polygon"),
])
def test_wrong_vendor_names_the_right_one(lake: Path, fixture: str, fmt: str, other: str) -> None:
    with pytest.raises(DataValidationError, match=f"import it with --format {other}"):
        import_files([FIXTURES / fixture], fmt, "wrong")


def test_unknown_json_document_is_refused(lake: Path, tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps([1, 2, 3]))
    with pytest.raises(DataValidationError, match="no vendor shape this importer knows"):
        import_files([path], "alpaca", "other")


def test_empty_folder_is_refused(lake: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("not bars")
    with pytest.raises(DataValidationError, match="a folder with no .*json"):
        import_files([tmp_path], "alpaca", "none")


def test_cli_imports_a_folder_of_pages(lake: Path) -> None:
    result = CliRunner().invoke(main, ["data", "import", "--format", "alpaca", str(FIXTURES / "alpaca_pages"),
                                       "--name", "cli"])
    assert result.exit_code == 0, result.output
    assert "imported 3 file(s)" in result.output and "rows written:           12" in result.output
