"""The context families (vix, short_rate, macro_event): equal to slow obvious references, batch = online
minute by minute and across a snapshot, causal under the audit (which catches a leaky variant), and on
the synthetic market's own tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.features._histories import random_history, random_vix
from tests.features.test_parity import assert_same_features
from workbench.audit import check_causality
from workbench.data import EXCHANGE_TZ, Dataset, bar_times, sessions
from workbench.features import FeatureSpec, OnlineFeatureEngine, compute, compute_dataset
from workbench.pit import asof_join

HORIZON_DAYS = 2
SPEC = FeatureSpec.of("vix", "short_rate", ("macro_event", {"horizon_days": HORIZON_DAYS}),
                      ("log_return", {"periods": [1]}))


def random_rates(bars: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A rate printed at 08:00 New York each session, sometimes revised during the session (at the same
    second as another print now and then)."""
    rng = np.random.default_rng(seed)
    days = pd.DatetimeIndex(bars["ts"]).tz_convert(EXCHANGE_TZ).normalize().unique()
    stamps = [day + pd.Timedelta(hours=8) for day in days]
    stamps += [day + pd.Timedelta(hours=9, minutes=30) + pd.Timedelta(seconds=int(rng.integers(0, 6 * 3600)))
               for day in days if rng.random() < 0.6]
    stamps += list(rng.choice(stamps, 1))  # a tie: the later row of a publication time wins
    table = pd.DataFrame({"available_at": pd.DatetimeIndex(stamps).tz_convert("UTC"),
                          "rate": 0.05 + rng.normal(0, 0.001, len(stamps))})
    return table.sort_values("available_at", kind="stable", ignore_index=True)


def random_macro(bars: pd.DataFrame, seed: int, n: int = 12) -> pd.DataFrame:
    """Releases scheduled at whole seconds around the history, announced up to a few hours ahead (some
    recorded only after the fact), in publication order."""
    rng = np.random.default_rng(seed)
    start, stop = bars["ts"].min() - pd.Timedelta(days=3), bars["ts"].max() + pd.Timedelta(days=3)
    scheduled = start + pd.to_timedelta(rng.integers(0, int((stop - start).total_seconds()), n), unit="s")
    lead = pd.to_timedelta(rng.integers(-1800, 4 * 3600, n), unit="s")
    table = pd.DataFrame({"event": [f"E{k}" for k in range(n)], "scheduled_at": scheduled,
                          "available_at": scheduled - lead})
    return table.sort_values("available_at", kind="stable", ignore_index=True)


def tables_for(bars: pd.DataFrame, seed: int) -> dict[str, pd.DataFrame]:
    return {"vix": random_vix(bars, seed).sort_values("available_at", ignore_index=True),
            "rates": random_rates(bars, seed), "macro_events": random_macro(bars, seed)}


def macro_reference(ts: pd.Series, macro: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """Per bar, a loop over every event: the published ones, the nearest ahead (at or after the bar's
    end) and behind (before it), within the horizon."""
    horizon = pd.Timedelta(days=horizon_days)
    to, since = [], []
    for t in ts:
        known = macro[macro["available_at"] <= t]["scheduled_at"]
        ahead = [(s - t) / pd.Timedelta(minutes=1) for s in known if t <= s <= t + horizon]
        behind = [(t - s) / pd.Timedelta(minutes=1) for s in known if t - horizon <= s < t]
        to.append(min(ahead) if ahead else np.nan)
        since.append(min(behind) if behind else np.nan)
    return pd.DataFrame({"minutes_to_macro_event": to, "minutes_since_macro_event": since}, index=ts.index)


def feed_online(engine: OnlineFeatureEngine, bars: pd.DataFrame, tables: dict[str, pd.DataFrame],
                restore_at: int | None = None, **engine_kwargs) -> pd.DataFrame:
    """Minute by minute, publishing each table's rows as they become available; optionally crash and
    restore from a snapshot at minute ``restore_at``."""
    published = dict.fromkeys(tables, 0)
    pieces = []
    for step, (ts, minute) in enumerate(bars.groupby("ts", sort=True)):
        for name, table in tables.items():
            due = int(table["available_at"].searchsorted(ts, side="right"))
            if due > published[name]:
                engine.update_context(name, table.iloc[published[name]:due])
                published[name] = due
        if step == restore_at:
            blob = engine.snapshot()
            engine = OnlineFeatureEngine(engine.spec, **engine_kwargs)
            engine.restore(blob)
        pieces.append(engine.update(minute))
    return pd.concat(pieces).loc[bars.index]


def test_short_rate_and_vix_equal_asof_join_and_macro_the_loop_reference() -> None:
    bars, tickers, _ = random_history(4, 2, 3, 0.1)
    tables = tables_for(bars, 4)
    out = compute(bars, SPEC, universe=tickers, corporate_actions=None, context=tables)
    for column, (name, value) in {"vix": ("vix", "vix"), "short_rate": ("rates", "rate")}.items():
        expected = asof_join(bars[["ts"]], tables[name], columns=[value])[value]
        np.testing.assert_array_equal(out[column].to_numpy(), expected.to_numpy(dtype=float), err_msg=column)
    expected = macro_reference(bars["ts"], tables["macro_events"], HORIZON_DAYS)
    for column in expected:
        np.testing.assert_allclose(out[column].to_numpy(), expected[column].to_numpy(), rtol=1e-12, atol=1e-9,
                                   equal_nan=True, err_msg=column)
    assert out["minutes_to_macro_event"].notna().any() and out["minutes_since_macro_event"].notna().any()
    assert out["minutes_to_macro_event"].isna().any()  # announced too late, or beyond the horizon


def test_an_event_counts_only_once_published_and_zero_minutes_at_its_time() -> None:
    bars, tickers, _ = random_history(6, 1, 1, 0.2)
    spy = bars[bars["ticker"] == "SPY"].reset_index(drop=True)
    at = spy["ts"].iloc[10]
    macro = pd.DataFrame({"scheduled_at": [at, at + pd.Timedelta(minutes=30)],
                          "available_at": [at - pd.Timedelta(hours=1), spy["ts"].iloc[5] + pd.Timedelta(seconds=1)]})
    out = compute(spy, FeatureSpec.of("macro_event"), universe=tickers, corporate_actions=None,
                  context={"macro_events": macro})
    to = out["minutes_to_macro_event"]
    assert to.iloc[10] == 0.0  # scheduled at the bar's end: zero minutes away, not yet "since"
    assert out["minutes_since_macro_event"].iloc[10] != 0.0
    assert out["minutes_since_macro_event"].iloc[11] == (spy["ts"].iloc[11] - at) / pd.Timedelta(minutes=1)
    # the second event was published a second after bar 5's end: bar 5 cannot know it, bar 6 does
    assert to.iloc[5] == (at - spy["ts"].iloc[5]) / pd.Timedelta(minutes=1)
    later = spy["ts"].iloc[11:] <= at + pd.Timedelta(minutes=30)
    assert (to.iloc[11:][later] == (at + pd.Timedelta(minutes=30) - spy["ts"].iloc[11:][later])
            / pd.Timedelta(minutes=1)).all()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), n_stocks=st.integers(1, 4), n_sessions=st.integers(1, 3),
       coverage=st.floats(0.05, 0.25), restore=st.booleans())
def test_online_equals_batch_for_every_context_family(seed: int, n_stocks: int, n_sessions: int, coverage: float,
                                                      restore: bool) -> None:
    bars, tickers, actions = random_history(seed, n_stocks, n_sessions, coverage)
    tables = tables_for(bars, seed)
    kwargs = {"tickers": tickers, "corporate_actions": actions}
    batch = compute(bars, SPEC, universe=tickers, corporate_actions=actions, context=tables)
    restore_at = bars["ts"].nunique() // 2 if restore else None
    online = feed_online(OnlineFeatureEngine(SPEC, **kwargs), bars, tables, restore_at, **kwargs)
    assert_same_features(online, batch)


def test_threads_do_not_change_the_context_features() -> None:
    bars, tickers, _ = random_history(8, 5, 3, 0.3)
    assert len(bars) >= 1000  # the threaded path splits rows by ticker range from 1,000 rows on
    tables = tables_for(bars, 8)
    one = compute(bars, SPEC, universe=tickers, corporate_actions=None, context=tables, threads=1)
    two = compute(bars, SPEC, universe=tickers, corporate_actions=None, context=tables, threads=2)
    assert_same_features(two, one)


def _honest(tickers: pd.DataFrame):
    def fn(b: pd.DataFrame, vix: pd.DataFrame, rates: pd.DataFrame, macro_events: pd.DataFrame) -> pd.DataFrame:
        return compute(b, SPEC, universe=tickers, corporate_actions=None,
                       context={"vix": vix, "rates": rates, "macro_events": macro_events})

    return fn


def test_the_context_families_pass_the_causality_audit_and_a_leaky_variant_fails() -> None:
    bars, tickers, _ = random_history(11, 2, 2, 0.1)
    tables = tables_for(bars, 11)
    report = check_causality(_honest(tickers), bars, context=tables)
    assert report.ok and "context" in report.channels

    def known_from_the_start(table: pd.DataFrame) -> pd.DataFrame:  # ignores when rows were published
        return table.assign(available_at=table["available_at"].min())

    def leaky(b: pd.DataFrame, vix: pd.DataFrame, rates: pd.DataFrame, macro_events: pd.DataFrame) -> pd.DataFrame:
        return _honest(tickers)(b, vix, known_from_the_start(rates), known_from_the_start(macro_events))

    leaks = check_causality(leaky, bars, context=tables, raise_on_leak=False).leaky_columns
    assert {"short_rate", "minutes_to_macro_event"} <= set(leaks)
    assert all(leaks[c].channel == "context" for c in ("short_rate", "minutes_to_macro_event"))
    assert "vix" not in leaks and "ret_1" not in leaks


@pytest.fixture(scope="module")
def market_features(market: Dataset) -> tuple[pd.DataFrame, pd.DataFrame]:
    spec = FeatureSpec.of("short_rate", "macro_event")
    stock = market.tickers.loc[~market.tickers["is_index"], "ticker"].iloc[0]
    features = compute_dataset(market, spec, tickers=[stock])
    return features, features.index.to_frame(index=False)


def test_on_the_synthetic_market_every_bar_sees_that_mornings_rate(market: Dataset, market_features) -> None:
    features, keys = market_features
    rates = market.context("rates")
    session = keys["ts"].dt.tz_convert(EXCHANGE_TZ).dt.date
    expected = session.map(dict(zip(rates["session_date"], rates["rate"], strict=True)))
    np.testing.assert_array_equal(features["short_rate"].to_numpy(), expected.to_numpy(dtype=float))


def test_on_the_synthetic_market_macro_proximity_equals_the_reference(market: Dataset, market_features) -> None:
    features, keys = market_features
    macro = market.context("macro_events")
    assert len(macro) > 0
    sample = keys.iloc[::37]
    expected = macro_reference(sample["ts"], macro, 7)
    for column in expected:
        np.testing.assert_allclose(features[column].to_numpy()[sample.index], expected[column].to_numpy(),
                                   rtol=1e-12, atol=1e-9, equal_nan=True, err_msg=column)
    assert features["minutes_to_macro_event"].notna().mean() > 0.3


FIXTURES = Path(__file__).parents[1] / "fixtures" / "context"


def read_context_csv(name: str, *times: str) -> pd.DataFrame:
    """A context table from CSV, as the README shows: timestamp columns parsed tz-aware."""
    table = pd.read_csv(FIXTURES / f"{name}.csv")
    for column in ("available_at", *times):
        table[column] = pd.to_datetime(table[column], utc=True)
    return table


def test_sample_context_files_give_the_hand_counted_values() -> None:
    """tests/fixtures/context: a daily rate shaped like the New York Fed's EFFR release (the previous business
    day's rate, published 09:00 New York; illustrative values) and the Nov-Dec 2024 release calendar."""
    days = sessions("2024-11-26", "2024-12-02")
    stamps = pd.DatetimeIndex(np.concatenate([bar_times(o, c) for o, c in zip(days["open"], days["close"],
                                                                              strict=True)]))
    spy = pd.DataFrame({"ts": stamps, "ticker": "SPY", "open": 100.0, "high": 100.0, "low": 100.0, "close": 100.0,
                        "volume": 1000.0})
    context = {"rates": read_context_csv("rates"), "macro_events": read_context_csv("macro_events", "scheduled_at")}
    out = compute(spy, FeatureSpec.of("short_rate", "macro_event"), universe=["SPY"], corporate_actions=None,
                  context=context).set_index(stamps.tz_convert(EXCHANGE_TZ).tz_localize(None))
    assert (out.loc["2024-11-26", "short_rate"] == 0.0458).all()  # the 11-25 rate, printed 11-26 09:00
    assert (out.loc["2024-12-02", "short_rate"] == 0.0459).all()
    assert out.at[pd.Timestamp("2024-11-26 09:31"), "minutes_to_macro_event"] == 269  # FOMC minutes at 14:00
    assert out.at[pd.Timestamp("2024-11-26 14:00"), "minutes_to_macro_event"] == 0
    assert out.at[pd.Timestamp("2024-11-26 14:01"), "minutes_since_macro_event"] == 1
    assert out.at[pd.Timestamp("2024-11-29 13:00"), "minutes_to_macro_event"] == 69 * 60  # ISM, Monday 10:00
    at = pd.Timestamp("2024-12-02 09:31")
    assert out.at[at, "minutes_to_macro_event"] == 29
    assert out.at[at, "minutes_since_macro_event"] == 5 * 24 * 60 + 61  # GDP and PCE, Wednesday 08:30
