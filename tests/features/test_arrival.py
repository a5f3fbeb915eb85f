"""The arrival contract: whatever order bars arrive in, what the engine accepts it computes exactly as
compute() does on the same accepted bars; what it refuses (late, off the minute grid, duplicate,
unknown, invalid) it refuses with a reason and without touching state."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.features._arrivals import ArrivalMix, arrival_stream, chunks
from tests.features._histories import random_history, random_vix
from tests.features.test_parity import SHORT, assert_same_features
from workbench.data import sessions
from workbench.data._schema import BAR_VALUE_COLUMNS
from workbench.errors import DataValidationError, WorkbenchError
from workbench.features import REFUSAL_REASONS, BarBatch, FeatureSpec, OnlineFeatureEngine, compute

STREAM_ONLY = ["arrival", "kind"]
FAR_FUTURE = pd.Timestamp("2030-01-01", tz="UTC")
OPEN_TIMES, CLOSE_TIMES = (sessions("2024-11-25", "2024-12-04")[c] for c in ("open", "close"))


def _in_session(ts: pd.Timestamp) -> bool:
    return bool(((ts > OPEN_TIMES) & (ts <= CLOSE_TIMES)).any())


def expected_reason(row: pd.Series, watermark: pd.Timestamp | None, universe: set[str],
                    claimed: set[tuple[str, pd.Timestamp]]) -> str:
    """The refusal rules, one row at a time in plain Python (the first broken rule wins; the first
    arrival of a (ticker, ts) claims it)."""
    ts = row["ts"]
    if row["ticker"] not in universe:
        return "unknown_ticker"
    if ts != ts.floor("min"):
        return "off_grid"
    if not _in_session(ts):
        return "outside_session"
    if watermark is not None and ts <= watermark:
        return "late"
    if not all(np.isfinite(row[c]) and row[c] > 0 for c in ("open", "high", "low", "close")):
        return "invalid_bar"
    if (row["ticker"], ts) in claimed:
        return "duplicate"
    claimed.add((row["ticker"], ts))
    return ""


def by_key(frame: pd.DataFrame) -> pd.DataFrame:
    """Features indexed by (ts, ticker), as advance_watermark returns them."""
    return frame.set_index(pd.MultiIndex.from_arrays([frame["ts"], frame["ticker"].astype(object)],
                                                     names=["ts", "ticker"]))


def batch_features(accepted: pd.DataFrame, spec: FeatureSpec, vix: pd.DataFrame | None, *, tickers: pd.DataFrame,
                   corporate_actions: pd.DataFrame | None = None) -> pd.DataFrame:
    """compute() on exactly the accepted bars, indexed by (ts, ticker)."""
    bars = accepted.drop(columns=STREAM_ONLY, errors="ignore").sort_values(["ticker", "ts"])
    features = compute(bars, spec, universe=tickers, corporate_actions=corporate_actions,
                       context=None if vix is None else {"vix": vix})
    return features.set_index(pd.MultiIndex.from_arrays([bars["ts"], bars["ticker"].astype(object)],
                                                        names=["ts", "ticker"]))


def drive_buffered(stream: pd.DataFrame, make: Callable[..., OnlineFeatureEngine], *, grace: pd.Timedelta,
                   close_when_complete: bool, max_chunk: int, restore_at: int | None,
                   seed: int) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """A live consumer: reads the stream in chunks, closes every minute a grace period after its end (and,
    optionally, as soon as all its bars are in), may crash and restore. Returns the features of every
    closed minute, each row's reason from the engine, and each row's reason from the plain-Python rules."""
    engine = make()
    expected = Counter(stream.loc[stream["kind"] == "bar", "ts"])
    history_minutes = sorted(expected)
    arrived: Counter = Counter()
    watermark: pd.Timestamp | None = None
    universe = set(engine.universe.tickers)
    claimed: set = set()
    outputs, got, wanted = [], {}, {}

    def close(target: pd.Timestamp) -> None:
        nonlocal watermark
        if watermark is None or target > watermark:
            outputs.append(engine.advance_watermark(target))
            watermark = target

    for k, chunk in enumerate(chunks(stream, seed, max_chunk)):
        if k == restore_at:  # crash: a new process resumes from the snapshot (mid-minute, buffer full)
            blob = engine.snapshot()
            engine = make(context=False)
            engine.restore(blob)
        close((chunk["arrival"].iloc[0] - grace).floor("min"))
        for label, row in chunk.iterrows():
            wanted[label] = expected_reason(row, watermark, universe, claimed)
        submission = engine.submit(chunk.drop(columns=STREAM_ONLY))
        assert submission.accepted + submission.n_refused == len(chunk)
        got.update(dict.fromkeys(chunk.index, ""))
        got.update(submission.refused["reason"].to_dict())
        arrived.update(chunk.loc[chunk["kind"] == "bar", "ts"])
        if close_when_complete:
            complete = None
            for minute in history_minutes:
                if arrived[minute] < expected[minute]:
                    break
                complete = minute
            if complete is not None:
                close(complete)
    close(FAR_FUTURE)
    assert len(engine.open_minutes()) == 0
    return pd.concat(outputs), pd.Series(got), pd.Series(wanted)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), n_stocks=st.integers(1, 4), n_sessions=st.integers(1, 2),
       coverage=st.floats(0.05, 0.2), grace=st.integers(0, 150), close_when_complete=st.booleans(),
       max_chunk=st.integers(1, 12), straggle=st.floats(0.0, 0.3), index_last=st.floats(0.0, 1.0),
       restore=st.floats(0.0, 1.0))
def test_buffered_path_equals_batch_on_the_accepted_bars(seed: int, n_stocks: int, n_sessions: int, coverage: float,
                                                         grace: int, close_when_complete: bool, max_chunk: int,
                                                         straggle: float, index_last: float, restore: float) -> None:
    bars, tickers, actions = random_history(seed, n_stocks, n_sessions, coverage)
    vix = random_vix(bars, seed).sort_values("available_at", ignore_index=True)
    kwargs = {"tickers": tickers, "corporate_actions": actions}

    def make(context: bool = True) -> OnlineFeatureEngine:
        engine = OnlineFeatureEngine(SHORT, **kwargs)
        if context:
            engine.update_context("vix", vix)
        return engine

    stream = arrival_stream(bars, seed, ArrivalMix(straggle=straggle, index_last=index_last))
    restore_at = int(restore * len(stream) / 4)  # chunks hold >= 1 row: sometimes past the end (no crash)
    online, got, wanted = drive_buffered(stream, make, grace=pd.Timedelta(seconds=grace),
                                         close_when_complete=close_when_complete, max_chunk=max_chunk,
                                         restore_at=restore_at, seed=seed)
    pd.testing.assert_series_equal(got.loc[wanted.index], wanted, check_names=False)
    assert set(got) <= set(REFUSAL_REASONS)
    accepted = stream.loc[wanted.index[wanted == ""]]
    assert (accepted["kind"] == "bar").all()  # a copy never displaces the bar it copies
    expected = batch_features(accepted, SHORT, vix, **kwargs)
    assert sorted(online.index) == sorted(expected.index)
    assert_same_features(online.loc[expected.index], expected)


def drive_direct(stream: pd.DataFrame, engine: OnlineFeatureEngine, max_chunk: int,
                 seed: int) -> tuple[pd.DataFrame, pd.Index]:
    """``update`` per chunk, as it arrives; a refused chunk (an error) is dropped whole."""
    outputs, accepted = [], []
    for chunk in chunks(stream, seed, max_chunk):
        try:
            outputs.append(engine.update(chunk.drop(columns=STREAM_ONLY)))
        except WorkbenchError:
            continue
        accepted.append(chunk.index)
    return (pd.concat(outputs) if outputs else pd.DataFrame()), (accepted[0].append(accepted[1:]) if accepted
                                                                 else pd.Index([]))


class DirectRules:
    """The direct path's rules, one bar at a time in plain Python: a bar is refused when it is bad, when a
    later minute was already processed, when its (ticker, ts) was, or when it is the index bar of a minute
    whose stocks were processed before it."""

    def __init__(self, universe: set[str]) -> None:
        self.universe = universe
        self.taken: set[tuple[str, pd.Timestamp]] = set()
        self.newest: pd.Timestamp | None = None
        self.stocks_at_newest = False

    def refuses(self, row: pd.Series) -> bool:
        ticker, ts = row["ticker"], row["ts"]
        if expected_reason(row, None, self.universe, set()) or (ticker, ts) in self.taken:
            return True
        if self.newest is not None and (ts < self.newest or (ts == self.newest and ticker == "SPY"
                                                              and self.stocks_at_newest)):
            return True
        self.stocks_at_newest = (ts == self.newest and self.stocks_at_newest) or ticker != "SPY"
        self.newest = ts
        self.taken.add((ticker, ts))
        return False


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), n_stocks=st.integers(1, 4), coverage=st.floats(0.05, 0.2),
       straggle=st.floats(0.0, 0.3), index_last=st.floats(0.0, 1.0))
def test_direct_path_bar_by_bar_refuses_what_would_diverge_and_equals_batch(seed: int, n_stocks: int, coverage: float,
                                                                            straggle: float, index_last: float) -> None:
    bars, tickers, actions = random_history(seed, n_stocks, 2, coverage)
    kwargs = {"tickers": tickers, "corporate_actions": actions}
    stream = arrival_stream(bars, seed, ArrivalMix(straggle=straggle, index_last=index_last))
    engine = OnlineFeatureEngine(SHORT, **kwargs)
    rules = DirectRules(set(engine.universe.tickers))
    outputs, taken = [], []
    for label, row in stream.iterrows():
        refuse = rules.refuses(row)
        try:
            outputs.append(engine.update(stream.loc[[label]].drop(columns=STREAM_ONLY)))
        except WorkbenchError:
            assert refuse, row
            continue
        assert not refuse, row
        taken.append(label)
    online = pd.concat(outputs)
    assert_same_features(online.loc[taken], compute(stream.loc[taken].drop(columns=STREAM_ONLY), SHORT,
                                                       universe=tickers, corporate_actions=actions, context=None))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), max_chunk=st.integers(2, 12), straggle=st.floats(0.0, 0.3),
       index_last=st.floats(0.0, 1.0))
def test_direct_path_in_chunks_equals_batch_on_the_accepted_bars(seed: int, max_chunk: int, straggle: float,
                                                                 index_last: float) -> None:
    bars, tickers, actions = random_history(seed, 3, 2, 0.15)
    kwargs = {"tickers": tickers, "corporate_actions": actions}
    # only disorder, no bad rows: a chunk is refused whole, so a bad row would take good ones with it
    mix = ArrivalMix(straggle=straggle, index_last=index_last, duplicate=0.05, off_grid=0, unknown=0, invalid=0)
    stream = arrival_stream(bars, seed, mix)
    online, accepted = drive_direct(stream, OnlineFeatureEngine(SHORT, **kwargs), max_chunk, seed)
    assert len(accepted) > 0
    taken = stream.loc[accepted]
    assert taken["kind"].isin(["bar", "duplicate"]).all()  # a re-sent bar counts when its chunk was refused
    assert_same_features(online.loc[accepted], compute(taken.drop(columns=STREAM_ONLY), SHORT, universe=tickers,
                                                                corporate_actions=actions, context=None))


# -- the cases, one by one ------------------------------------------------------------------


def _minutes(bars: pd.DataFrame) -> list[pd.DataFrame]:
    return [minute for _, minute in bars.groupby("ts", sort=True)]


def test_a_bar_sent_after_the_next_minute_is_refused_by_update_and_the_rest_stays_exact() -> None:
    bars, tickers, _ = random_history(11, 4, 1, 0.5, split_prob=0.0)
    spec = FeatureSpec.of("sector_lags", ("beta", {"window": 5}), "index_lags")
    engine = OnlineFeatureEngine(spec, tickers)
    minutes = _minutes(bars)
    m = next(k for k in range(len(minutes) // 2, len(minutes) - 2)  # a stock that skips the next minute
             if (~minutes[k]["ticker"].isin(["SPY", *minutes[k + 1]["ticker"]])).any())
    straggler = minutes[m][~minutes[m]["ticker"].isin(["SPY", *minutes[m + 1]["ticker"]])].iloc[[0]]
    outputs = [engine.update(minute) for minute in minutes[:m]]
    outputs.append(engine.update(minutes[m].drop(straggler.index)))
    outputs.append(engine.update(minutes[m + 1]))
    before = engine.snapshot()
    with pytest.raises(DataValidationError, match="already processed"):
        engine.update(straggler)
    assert engine.snapshot() == before
    outputs += [engine.update(minute) for minute in minutes[m + 2:]]
    kept = bars.drop(straggler.index)
    assert_same_features(pd.concat(outputs).loc[kept.index],
                         compute(kept, spec, universe=tickers, corporate_actions=None, context=None))


def test_the_index_bar_after_its_stocks_is_refused_by_update_and_later_betas_stay_exact() -> None:
    bars, tickers, _ = random_history(8, 3, 1, 0.6, split_prob=0.0)
    spec = FeatureSpec.of(("beta", {"window": 5}), ("index_lags", {"lags": [0, 1]}))
    engine = OnlineFeatureEngine(spec, tickers)
    minutes = _minutes(bars)
    m = len(minutes) // 2
    index_bar = minutes[m][minutes[m]["ticker"] == "SPY"]
    outputs = [engine.update(minute) for minute in minutes[:m]]
    stocks = engine.update(minutes[m].drop(index_bar.index))
    assert stocks[["beta_5", "resid_ret", "idx_ret_lag0"]].isna().all().all()  # the index return is unknown
    with pytest.raises(DataValidationError, match="index bar"):
        engine.update(index_bar)
    outputs += [stocks] + [engine.update(minute) for minute in minutes[m + 1:]]
    kept = bars.drop(index_bar.index)
    online = pd.concat(outputs).loc[kept.index]
    assert_same_features(online, compute(kept, spec, universe=tickers, corporate_actions=None, context=None))
    after = online.loc[kept["ts"] > minutes[m]["ts"].iloc[0]]
    assert after["beta_5"].notna().sum() > 0  # later betas exist, and are batch's on the bars it accepted


def test_the_index_bar_after_its_stocks_in_the_buffered_path_gives_batchs_betas() -> None:
    bars, tickers, _ = random_history(8, 3, 1, 0.6, split_prob=0.0)
    spec = FeatureSpec.of(("beta", {"window": 5}), ("index_lags", {"lags": [0, 1]}))
    engine = OnlineFeatureEngine(spec, tickers)
    outputs = []
    for minute in _minutes(bars):
        assert engine.submit(minute[minute["ticker"] != "SPY"]).n_refused == 0
        assert engine.submit(minute[minute["ticker"] == "SPY"]).n_refused == 0  # index last, before the close
        outputs.append(engine.advance_watermark(minute["ts"].iloc[0]))
    online = pd.concat(outputs)
    expected = batch_features(bars, spec, None, tickers=tickers)
    assert_same_features(online.loc[expected.index], expected)
    assert expected.loc[expected.index.get_level_values("ticker") != "SPY", "beta_5"].iloc[-20:].notna().all()


def test_a_bar_off_the_minute_grid_is_refused_everywhere() -> None:
    bars, tickers, _ = random_history(3, 2, 1, 0.2)
    engine = OnlineFeatureEngine(SHORT, tickers)
    first = _minutes(bars)[0]
    shifted = first.assign(ts=first["ts"] - pd.Timedelta(seconds=30))
    with pytest.raises(DataValidationError, match="off the minute grid"):
        engine.update(shifted)
    with pytest.raises(DataValidationError, match="off the minute grid"):
        compute(shifted, SHORT, universe=tickers, corporate_actions=None, context=None)
    submission = engine.submit(shifted)
    assert submission.accepted == 0 and (submission.refused["reason"] == "off_grid").all()
    assert engine.submit(first).accepted == len(first)  # the same bars on the grid are fine


def test_a_refused_bar_leaves_the_state_byte_for_byte_untouched() -> None:
    bars, tickers, actions = random_history(4, 3, 2, 0.2)
    engine = OnlineFeatureEngine(SHORT, tickers, corporate_actions=actions)
    minutes = _minutes(bars)
    for minute in minutes[:10]:
        engine.submit(minute)
    engine.advance_watermark(minutes[8]["ts"].iloc[0])  # minutes 9 stays open, in the buffer
    buffered = minutes[9].iloc[[0]]
    late = minutes[5].iloc[[0]]
    bad = pd.concat([
        late, buffered, buffered.assign(ts=buffered["ts"] + pd.Timedelta(seconds=30)),
        buffered.assign(ticker="ZZZZ"), minutes[11].iloc[[0]].assign(close=np.nan),
        minutes[11].iloc[[0]].assign(ts=pd.Timestamp("2024-11-30 15:00", tz="UTC")),  # a Saturday
    ], ignore_index=True)
    before = engine.snapshot()
    submission = engine.submit(bad)
    assert engine.snapshot() == before
    assert submission.accepted == 0
    assert submission.refused["reason"].tolist() == ["late", "duplicate", "off_grid", "unknown_ticker",
                                                     "invalid_bar", "outside_session"]
    assert submission.refused.index.tolist() == list(range(6))
    assert submission.refused["ticker"].tolist() == bad["ticker"].tolist()
    assert submission.refused["detail"].str.len().min() > 10
    assert "NaN close price" in submission.refused["detail"].iloc[4]


def test_restore_mid_minute_resumes_the_buffer_and_watermark_exactly() -> None:
    bars, tickers, actions = random_history(6, 3, 1, 0.3)
    kwargs = {"tickers": tickers, "corporate_actions": actions}
    engine = OnlineFeatureEngine(SHORT, **kwargs)
    minutes = _minutes(bars)
    outputs = []
    for minute in minutes[:6]:
        engine.submit(minute)
    engine.submit(minutes[6].iloc[:1])
    outputs.append(engine.advance_watermark(minutes[3]["ts"].iloc[0]))
    resumed = OnlineFeatureEngine(SHORT, **kwargs)
    resumed.restore(engine.snapshot())
    assert resumed.snapshot() == engine.snapshot()
    assert resumed.watermark == minutes[3]["ts"].iloc[0]
    pd.testing.assert_series_equal(resumed.open_minutes(), engine.open_minutes())
    assert resumed.submit(minutes[2].iloc[:1]).refused["reason"].tolist() == ["late"]
    assert resumed.submit(minutes[6].iloc[:1]).refused["reason"].tolist() == ["duplicate"]
    resumed.submit(minutes[6].iloc[1:])
    for minute in minutes[7:]:
        resumed.submit(minute)
    outputs.append(resumed.advance_watermark(FAR_FUTURE))
    expected = batch_features(bars, SHORT, None, **kwargs)
    assert_same_features(pd.concat(outputs).loc[expected.index], expected)


def test_submit_batch_of_arrays_equals_submit_of_a_frame() -> None:
    bars, tickers, actions = random_history(9, 3, 1, 0.2)
    by_frame = OnlineFeatureEngine(SHORT, tickers, corporate_actions=actions)
    by_arrays = OnlineFeatureEngine(SHORT, tickers, corporate_actions=actions)
    for minute in _minutes(bars):
        rows = by_arrays.universe.rows_of(minute["ticker"].to_numpy(dtype=object))
        rows[0] = -1  # one bar of an instrument the scorer could not map
        unknown = minute.assign(ticker=np.where(np.arange(len(minute)) == 0, "ZZZZ", minute["ticker"]))
        frame = by_frame.submit(unknown)
        values = {c: minute[c].to_numpy(float) for c in BAR_VALUE_COLUMNS}
        batch = by_arrays.submit_batch(BarBatch.from_arrays(minute["ts"].array.as_unit("ns").asi8, rows, **values))
        assert batch.accepted == frame.accepted == len(minute) - 1
        assert batch.refused["reason"].tolist() == ["unknown_ticker"] and batch.refused.index.tolist() == [0]
        assert batch.refused["ticker"].tolist() == [None]
        ts = minute["ts"].iloc[0]
        closed_frame = by_frame.advance_watermark(ts)
        closed, values = by_arrays.advance_watermark_batch(ts.value)
        np.testing.assert_array_equal(closed.ticker, by_arrays.universe.rows_of(
            closed_frame.index.get_level_values("ticker").to_numpy(dtype=object)))
        numeric = closed_frame.drop(columns=["sector", "ticker"])
        np.testing.assert_array_equal(values[:, : numeric.shape[1]], numeric.to_numpy(float))


def test_misuse_of_the_two_paths_and_the_watermark_is_refused_clearly() -> None:
    bars, tickers, _ = random_history(2, 2, 1, 0.2)
    engine = OnlineFeatureEngine(SHORT, tickers)
    minutes = _minutes(bars)
    engine.submit(minutes[0])
    with pytest.raises(DataValidationError, match="buffered"):
        engine.update(minutes[1])
    with pytest.raises(DataValidationError, match="timezone-aware"):
        engine.advance_watermark(pd.Timestamp("2024-11-25 15:00"))
    engine.advance_watermark(minutes[0]["ts"].iloc[0] + pd.Timedelta(seconds=59))  # floors to the minute
    assert engine.watermark == minutes[0]["ts"].iloc[0]
    with pytest.raises(ValueError, match="cannot move back"):
        engine.advance_watermark(minutes[0]["ts"].iloc[0] - pd.Timedelta(minutes=1))
    assert engine.advance_watermark(minutes[0]["ts"].iloc[0]).empty  # closing again closes nothing
    with pytest.raises(DataValidationError, match="closed minute"):
        engine.update(minutes[0])
    engine.update(minutes[1])  # the direct path resumes after the close
    assert engine.submit(minutes[1]).refused["reason"].unique().tolist() == ["late"]
