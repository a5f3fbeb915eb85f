"""ContextSeries, the one point-in-time lookup batch and online share: equal to workbench.pit.asof_join
however the rows arrive, append-only in publication order, and carried across a snapshot exactly."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.features._histories import random_history
from workbench.errors import DataValidationError
from workbench.features import CONTEXTS, ContextSeries, FeatureSpec, OnlineFeatureEngine, compute
from workbench.features.families import FAMILIES
from workbench.pit import asof_join

T0 = pd.Timestamp("2024-11-25 14:31Z").value
SECOND = 1_000_000_000


def _stamps(ns: list[int] | np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(np.asarray(ns, dtype=np.int64), utc=True))


def _vix(available_s: list[int], values: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"available_at": _stamps(T0 + np.asarray(available_s, dtype=np.int64) * SECOND),
                         "vix": values})


@settings(max_examples=60, deadline=None)
@given(available=st.lists(st.integers(0, 600), min_size=0, max_size=40),
       queries=st.lists(st.integers(-60, 700), min_size=1, max_size=30),
       n_chunks=st.integers(1, 5), data=st.data())
def test_as_of_equals_asof_join_however_the_rows_are_appended(available: list[int], queries: list[int],
                                                              n_chunks: int, data: st.DataObject) -> None:
    """Ties included (the later row of a publication time wins), before the first row (NaN), and the
    table fed whole and unsorted or in consecutive publication-order chunks."""
    values = data.draw(st.lists(st.floats(-1e3, 1e3) | st.just(np.nan), min_size=len(available),
                                max_size=len(available)))
    table = _vix(available, values)
    bars = pd.DataFrame({"ts": _stamps(T0 + np.asarray(queries, dtype=np.int64) * SECOND)})
    expected = asof_join(bars, table, columns=["vix"])["vix"].to_numpy(dtype=float)
    ts = bars["ts"].array.asi8

    whole = ContextSeries("vix")
    whole.append(table)
    np.testing.assert_array_equal(whole.as_of(ts), expected)

    ordered = table.sort_values("available_at", kind="stable", ignore_index=True)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(ordered)), min_size=n_chunks - 1, max_size=n_chunks - 1)))
    chunked = ContextSeries("vix")
    for start, stop in zip([0, *cuts], [*cuts, len(ordered)], strict=True):
        chunked.append(ordered.iloc[start:stop])
    np.testing.assert_array_equal(chunked.as_of(ts), expected)
    np.testing.assert_array_equal(chunked.published(ts), [(ordered["available_at"] <= t).sum()
                                                          for t in bars["ts"]])


def test_a_row_shows_from_its_publication_time_on_and_never_before() -> None:
    series = ContextSeries("vix")
    series.append(_vix([60], [14.0]))
    at = T0 + 60 * SECOND
    assert np.isnan(series.as_of(np.array([at - 1]))[0])  # one nanosecond early: unknown
    assert series.as_of(np.array([at, at + 1]))[0] == 14.0


def test_append_refuses_rows_older_than_the_last_one_and_changes_nothing() -> None:
    series = ContextSeries("vix")
    series.append(_vix([10, 20], [1.0, 2.0]))
    with pytest.raises(DataValidationError, match=r"context 'vix': a value published at 2024-11-25 14:31:15\+00:00 "
                                                  r"is older than the last one already received .*publication order"):
        series.append(_vix([15, 30], [3.0, 4.0]))
    assert len(series) == 2 and series.values().tolist() == [1.0, 2.0]
    series.append(_vix([20], [5.0]))  # the same publication time as the last: allowed, and it wins
    assert series.as_of(np.array([T0 + 25 * SECOND])).tolist() == [5.0]


@pytest.mark.parametrize(("name", "table", "error", "message"), [
    ("vix", pd.DataFrame({"vix": [1.0]}), DataValidationError, r"context 'vix'.*available_at"),
    ("vix", pd.DataFrame({"available_at": pd.to_datetime(["2024-11-25 14:31"]), "vix": [1.0]}),
     DataValidationError, r"context 'vix': available_at must be timezone-aware timestamps"),
    ("vix", pd.DataFrame({"available_at": pd.to_datetime([None, "2024-11-25 14:31Z"], utc=True), "vix": [1.0, 2.0]}),
     DataValidationError, r"context 'vix': 1 row\(s\) without available_at; drop them first"),
    ("rates", pd.DataFrame({"available_at": pd.to_datetime(["2024-11-25 14:31Z"]), "rate": ["5%"]}),
     DataValidationError, r"context 'rates': column 'rate' must be numeric, got dtype "),
    ("macro_events", pd.DataFrame({"available_at": pd.to_datetime(["2024-11-25 14:31Z"]), "scheduled_at": [1.0]}),
     DataValidationError, r"context 'macro_events': scheduled_at must be timezone-aware timestamps"),
    ("vix", [1.0], TypeError, r"context 'vix' must be a pandas DataFrame, got list"),
])
def test_bad_tables_are_refused_in_one_line(name: str, table: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        ContextSeries(name).append(table)


def test_unknown_context_names_are_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown context table\(s\) \['vx'\]; the features read \['vix', "):
        ContextSeries("vx")
    engine = OnlineFeatureEngine(FeatureSpec.of("vix"), ["SPY"])
    with pytest.raises(ValueError, match=r"unknown context table\(s\) \['rate'\]"):
        engine.update_context("rate", pd.DataFrame())


def test_state_round_trips_and_bad_state_is_refused() -> None:
    series = ContextSeries("macro_events")
    series.append(pd.DataFrame({"available_at": _stamps([T0, T0 + 5]),
                                "scheduled_at": _stamps([T0 + 3_600 * SECOND, T0 + 60 * SECOND])}))
    again = ContextSeries.from_state("macro_events", series.state())
    np.testing.assert_array_equal(again.available_at, series.available_at)
    assert again.values("scheduled_at").dtype == np.int64
    np.testing.assert_array_equal(again.values("scheduled_at"), series.values("scheduled_at"))
    with pytest.raises(ValueError, match=r"context 'rates' state holds .* expected \['available_at', 'values.rate'\]"):
        ContextSeries.from_state("rates", series.state())
    with pytest.raises(KeyError, match=r"context 'macro_events' has no column 'rate'"):
        series.values("rate")


def test_every_family_reads_only_registered_contexts() -> None:
    read = {name for cls in FAMILIES.values() for name in cls.reads_context}
    assert read <= set(CONTEXTS)
    assert read == set(CONTEXTS)  # each context table has a family that reads it


def _rewrite_meta(blob: bytes, **changes: object) -> bytes:
    """``blob`` with its ``__meta__`` entries changed (the arrays kept)."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    meta = {**json.loads(arrays["__meta__"].tobytes().decode()), **changes}
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, value in arrays.items():
            with archive.open(f"{name}.npy", "w") as member:
                np.lib.format.write_array(member, value, allow_pickle=False)
    return out.getvalue()


def test_snapshots_carry_every_context_and_refuse_the_old_format() -> None:
    tickers = ["SPY", "S0"]
    spec = FeatureSpec.of("vix", "short_rate", "macro_event")
    engine = OnlineFeatureEngine(spec, tickers)
    engine.update_context("vix", _vix([0, 90], [15.0, 16.0]))
    engine.update_context("rates", pd.DataFrame({"available_at": _stamps([T0]), "rate": [0.05]}))
    blob = engine.snapshot()
    restored = OnlineFeatureEngine(spec, tickers)
    restored.restore(blob)
    assert restored.snapshot() == blob
    assert {name: len(s) for name, s in restored.context.items()} == {"vix": 2, "rates": 1, "macro_events": 0}
    with pytest.raises(ValueError, match=r"snapshot version 3 is not supported \(this engine writes and reads "
                                         r"version 4\); rebuild the engine from history and take a new snapshot"):
        OnlineFeatureEngine(spec, tickers).restore(_rewrite_meta(blob, version=3))


def test_compute_feeds_the_engine_the_same_series(monkeypatch: pytest.MonkeyPatch) -> None:
    """compute() goes through update_context with each table, once, then update with every bar."""
    bars, tickers, _ = random_history(2, 1, 1, 0.05)
    calls: list[tuple[str, int]] = []
    original = OnlineFeatureEngine.update_context

    def record(self: OnlineFeatureEngine, name: str, table: pd.DataFrame) -> None:
        calls.append((name, len(table)))
        original(self, name, table)

    monkeypatch.setattr(OnlineFeatureEngine, "update_context", record)
    vix = _vix([0, 30], [15.0, 16.0])
    rates = pd.DataFrame({"available_at": _stamps([T0]), "rate": [0.05]})
    out = compute(bars, FeatureSpec.of("vix", "short_rate"), universe=tickers, corporate_actions=None,
                  context={"vix": vix, "rates": rates})
    assert calls == [("vix", 2), ("rates", 1)]
    assert out["short_rate"].notna().any() and out["vix"].notna().any()
