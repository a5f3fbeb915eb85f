"""Vendor payload parsers (workbench.data.vendors) against a slow reference, on the documented shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import given, settings

from workbench.data import BAR_COLUMNS
from workbench.data.vendors import (
    BarMessageError,
    VendorPayloadError,
    alpaca_bar_message,
    alpaca_bars,
    detect_shape,
    polygon_aggregates,
    polygon_bar_message,
    stream_bars,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "vendor"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def reference(rows: list[tuple[str, pd.Timestamp, dict[str, Any]]], keys: dict[str, str]) -> pd.DataFrame:
    """The lake frame a payload should give, row by row: the stamp plus one minute, fields renamed."""
    out = []
    for ticker, start, bar in rows:
        out.append({"ts": start + pd.Timedelta(minutes=1), "ticker": ticker,
                    **{lake: float(bar[key]) for lake, key in keys.items() if key in bar}})
        out[-1]["trades"] = bar.get("n")
    frame = pd.DataFrame(out).reindex(columns=list(BAR_COLUMNS))
    return frame.sort_values(["ticker", "ts"], ignore_index=True)


OHLCV = {"open": "o", "high": "h", "low": "l", "close": "c", "volume": "v", "vwap": "vw"}


def assert_same(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(actual.columns) == list(BAR_COLUMNS)
    assert str(actual["ts"].dt.tz) == "UTC"
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False)


def test_alpaca_multi_symbol_response() -> None:
    payload = load("alpaca_bars_multi.json")
    rows = [(sym, pd.Timestamp(bar["t"]), bar) for sym, bars in payload["bars"].items() for bar in bars]
    assert_same(alpaca_bars(payload), reference(rows, OHLCV))
    assert detect_shape(payload).name == "alpaca-bars"


def test_alpaca_single_symbol_response() -> None:
    payload = load("alpaca_bars_single.json")
    rows = [("SPY", pd.Timestamp(bar["t"]), bar) for bar in payload["bars"]]
    frame = alpaca_bars(payload)
    assert_same(frame, reference(rows, OHLCV))
    assert frame["ts"].iloc[0] == pd.Timestamp("2024-11-25 14:31", tz="UTC")  # 09:30 bar ends 09:31 New York


def test_alpaca_empty_page_has_no_bars() -> None:
    assert alpaca_bars({"bars": None, "next_page_token": None}).empty
    assert alpaca_bars({"bars": {}, "next_page_token": None}).empty


def test_polygon_aggregates_response_is_in_milliseconds() -> None:
    payload = load("polygon_aggs.json")
    rows = [("AAPL", pd.Timestamp(bar["t"], unit="ms", tz="UTC"), bar) for bar in payload["results"]]
    assert_same(polygon_aggregates(payload), reference(rows, OHLCV))
    assert detect_shape(payload).name == "polygon-aggs"


def test_polygon_error_response_names_the_error() -> None:
    with pytest.raises(VendorPayloadError, match="Unknown API Key"):
        polygon_aggregates({"ticker": "AAPL", "status": "ERROR", "resultsCount": 0, "error": "Unknown API Key"})


def test_stream_messages_match_the_rest_bars() -> None:
    frames = [json.loads(line) for line in (FIXTURES / "alpaca_stream.jsonl").read_text().splitlines()]
    alpaca = pd.DataFrame([alpaca_bar_message(m) for frame in frames for m in frame])
    polygon = pd.DataFrame([polygon_bar_message(m) for m in load("polygon_stream.json")])
    rest = alpaca_bars(load("alpaca_bars_multi.json")).groupby("ticker").head(2).reset_index(drop=True)
    for frame in (alpaca, polygon):
        frame = frame.sort_values(["ticker", "ts"], ignore_index=True)
        assert frame["ts"].tolist() == rest["ts"].tolist()
        assert frame[["ticker", "open", "high", "low", "close", "volume", "vwap"]].equals(
            rest[["ticker", "open", "high", "low", "close", "volume", "vwap"]])
    assert polygon["trades"].isna().all()  # AM events carry no trade count


GOOD_ALPACA = {"T": "b", "S": "SPY", "o": 388.985, "h": 389.13, "c": 389.12, "l": 388.975, "v": 49378,
               "t": "2021-02-22T19:15:00Z", "n": 461, "vw": 389.062639}
GOOD_POLYGON = {"ev": "AM", "sym": "GTE", "v": 4110, "av": 9470157, "op": 0.4372, "vw": 0.4488, "o": 0.4488,
                "c": 0.4486, "h": 0.4489, "l": 0.4486, "a": 0.4352, "z": 685, "s": 1610144640000,
                "e": 1610144700000}


def test_documented_stream_examples_parse() -> None:
    assert alpaca_bar_message(GOOD_ALPACA)["ts"] == pd.Timestamp("2021-02-22 19:16", tz="UTC")
    row = polygon_bar_message(GOOD_POLYGON)
    assert row["ts"] == pd.Timestamp(1610144700000, unit="ms", tz="UTC")  # the window's end
    assert (row["ticker"], row["open"], row["volume"]) == ("GTE", 0.4488, 4110.0)


@pytest.mark.parametrize(("parser", "message", "needle"), [
    pytest.param(alpaca_bar_message, {**GOOD_ALPACA, "T": "q"}, "not a minute-bar message", id="alpaca-quote"),
    pytest.param(alpaca_bar_message, {**GOOD_ALPACA, "T": "success", "msg": "authenticated"},
                 "not a minute-bar message", id="alpaca-control"),
    pytest.param(alpaca_bar_message, {k: v for k, v in GOOD_ALPACA.items() if k != "o"}, "missing field 'o'",
                 id="alpaca-missing-open"),
    pytest.param(alpaca_bar_message, {**GOOD_ALPACA, "c": "389.12"}, "field 'c' is not a finite number",
                 id="alpaca-text-price"),
    pytest.param(alpaca_bar_message, {**GOOD_ALPACA, "t": "2021-02-22T19:15:30Z"}, "not on a whole minute",
                 id="alpaca-off-grid"),
    pytest.param(alpaca_bar_message, {**GOOD_ALPACA, "t": "2021-02-22 19:15"}, "has no timezone",
                 id="alpaca-naive"),
    pytest.param(alpaca_bar_message, {**GOOD_ALPACA, "S": ""}, "is not a ticker", id="alpaca-blank-symbol"),
    pytest.param(alpaca_bar_message, "not an object", "not a JSON object", id="alpaca-not-object"),
    pytest.param(polygon_bar_message, {**GOOD_POLYGON, "ev": "A"}, "not a minute-aggregate event",
                 id="polygon-second-aggregate"),
    pytest.param(polygon_bar_message, {**GOOD_POLYGON, "e": GOOD_POLYGON["s"] + 300_000},
                 "not a one-minute window", id="polygon-five-minutes"),
    pytest.param(polygon_bar_message, {**GOOD_POLYGON, "s": "1610144640000"}, "is not integer ms",
                 id="polygon-text-stamp"),
    pytest.param(polygon_bar_message, {**GOOD_POLYGON, "h": float("nan")}, "field 'h' is not a finite number",
                 id="polygon-nan-high"),
])
def test_malformed_message_is_one_clear_error(parser: Any, message: Any, needle: str) -> None:
    with pytest.raises(BarMessageError, match=needle) as caught:
        parser(message)
    assert "\n" not in str(caught.value)


def test_malformed_rest_bar_names_symbol_and_position() -> None:
    payload = load("alpaca_bars_multi.json")
    del payload["bars"]["MSFT"][2]["h"]
    with pytest.raises(VendorPayloadError, match=r"bar 9 \(MSFT\): missing field 'h'"):
        alpaca_bars(payload)


bar_values = st.tuples(st.integers(1, 10_000), st.integers(0, 500), st.integers(0, 500), st.integers(0, 10**7))


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["AAPL", "MSFT", "SPY", "brk.b"]),
                       st.lists(st.tuples(st.integers(0, 10**6), bar_values), min_size=0, max_size=5,
                                unique_by=lambda x: x[0]), max_size=3))
def test_alpaca_and_polygon_parsers_agree_with_the_reference(bars: dict[str, list[Any]]) -> None:
    """Any bars, written both ways (Alpaca RFC 3339, Polygon ms), give the same lake frame as the reference."""
    base = pd.Timestamp("2020-01-01", tz="UTC")
    alpaca: dict[str, list[dict[str, Any]]] = {}
    rows = []
    for symbol, items in bars.items():
        for minute, (low, up, down, volume) in items:
            start = base + pd.Timedelta(minutes=minute)
            bar = {"t": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "o": low + up / 2, "h": low + up, "l": float(low),
                   "c": low + up / 3, "v": volume, "n": down, "vw": low + up / 4}
            alpaca.setdefault(symbol, []).append(bar)
            rows.append((symbol.upper(), start, bar))
    expected = reference(rows, OHLCV)
    assert_same(alpaca_bars({"bars": alpaca, "next_page_token": None}), expected)
    for symbol, items in alpaca.items():
        results = [{**bar, "t": int(pd.Timestamp(bar["t"]).value // 10**6)} for bar in items]
        mine = expected[expected["ticker"] == symbol.upper()].reset_index(drop=True)
        assert_same(polygon_aggregates({"ticker": symbol, "results": results, "status": "OK"}), mine)


@pytest.mark.parametrize(("vendor", "good", "ack", "bad"), [
    ("alpaca", GOOD_ALPACA, {"T": "subscription", "bars": ["SPY"]}, {**GOOD_ALPACA, "T": "t"}),
    ("polygon", GOOD_POLYGON, {"ev": "status", "status": "success", "message": "subscribed to: AM.GTE"},
     {**GOOD_POLYGON, "o": None}),
])
def test_stream_frame_splits_bars_dead_letters_and_acks(vendor: str, good: dict, ack: dict, bad: dict) -> None:
    parse = alpaca_bar_message if vendor == "alpaca" else polygon_bar_message
    out = stream_bars([ack, good, bad, 42, good], vendor)
    assert out.rows == [parse(good), parse(good)] and out.control == 1
    assert [message for message, _ in out.dead_letters] == [bad, 42]
    for message, reason in out.dead_letters:
        with pytest.raises(BarMessageError) as caught:
            parse(message)
        assert reason == str(caught.value)
    assert stream_bars(good, vendor).rows == [parse(good)]  # a single message, not in an array


def test_stream_frame_unknown_vendor() -> None:
    with pytest.raises(ValueError, match="unknown stream vendor"):
        stream_bars([], "iex")
