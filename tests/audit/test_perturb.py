"""Each perturbation leaves everything at or before the cut exactly as it was, changes the channel it
owns after the cut, and keeps the data valid (properties over random cuts and seeds)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.features._histories import random_history
from workbench.audit import (
    check_causality,
    perturb_bar_existence,
    perturb_context,
    perturb_corporate_actions,
    perturb_quotes,
)
from workbench.data import EXCHANGE_TZ, bar_problems, regular_session_mask
from workbench.errors import DataValidationError

HISTORY = random_history(3, n_stocks=3, n_sessions=3, coverage=0.4)
QUOTES = ["bid", "ask", "bid_size", "ask_size"]


def _bars() -> pd.DataFrame:
    return HISTORY[0].reset_index(drop=True)


def _cut(bars: pd.DataFrame, where: float) -> pd.Timestamp:
    times = pd.DatetimeIndex(bars["ts"].unique()).sort_values()
    return times[int(where * (len(times) - 1))]


def _vix(bars: pd.DataFrame) -> pd.DataFrame:
    minutes = pd.DatetimeIndex(bars["ts"].unique()).sort_values()
    level = 15 + np.sin(np.arange(len(minutes)) / 30)
    return pd.DataFrame({"ts": minutes, "vix": level, "available_at": minutes + pd.Timedelta(seconds=9)})


@settings(max_examples=25, deadline=None)
@given(where=st.floats(0.0, 0.95), seed=st.integers(0, 2**32 - 1), time_major=st.booleans())
def test_bar_existence_changes_only_future_bars_and_keeps_them_valid(where: float, seed: int,
                                                                     time_major: bool) -> None:
    bars = _bars()
    if time_major:
        bars = bars.sort_values(["ts", "ticker"], ignore_index=True)
    cut = _cut(bars, where)
    out = perturb_bar_existence(bars, cut, np.random.default_rng(seed))
    past = bars[bars["ts"] <= cut]
    pd.testing.assert_frame_equal(out.loc[past.index], past)
    assert out.dtypes.equals(bars.dtypes) and out.index.is_unique
    new = out.loc[out.index.difference(bars.index)]
    gone = bars.index.difference(out.index)
    assert (new["ts"] > cut).all() and (bars.loc[gone, "ts"] > cut).all()
    assert not out.duplicated(["ticker", "ts"]).any()
    assert (bar_problems(out) == "").all() and regular_session_mask(out["ts"]).all()
    assert set(new["ticker"]) <= set(bars["ticker"])
    if time_major:  # the input's order is kept: by time, or by ticker then time
        assert out["ts"].is_monotonic_increasing
    else:
        assert out[["ticker", "ts"]].equals(out[["ticker", "ts"]].sort_values(["ticker", "ts"]))
    after = int((bars["ts"] > cut).sum())
    if after > 40:  # about a fifth of future bars dropped, and bars inserted
        assert 0 < len(gone) < after and len(new) > 0


def test_bars_are_inserted_into_halts_and_the_rest_of_the_session() -> None:
    bars = _bars()
    cut = _cut(bars, 0.3)
    out = perturb_bar_existence(bars, cut, np.random.default_rng(1))
    new = out.loc[out.index.difference(bars.index)]
    first, last = bars["ts"].min(), bars["ts"].max()
    assert new["ts"].between(first, last).any()
    morning = bars[bars["ts"] <= _cut(bars, 0.1)].reset_index(drop=True)  # the data stops mid-session
    out = perturb_bar_existence(morning, _cut(morning, 0.5), np.random.default_rng(1))
    assert (out["ts"] > morning["ts"].max()).any() and regular_session_mask(out["ts"]).all()
    with pytest.raises(DataValidationError, match="integer index"):
        perturb_bar_existence(bars.set_index("ts", drop=False), cut, np.random.default_rng(1))


@settings(max_examples=25, deadline=None)
@given(where=st.floats(0.0, 0.95), seed=st.integers(0, 2**32 - 1))
def test_quotes_are_blanked_and_filled_only_after_the_cut(where: float, seed: int) -> None:
    bars = _bars()
    cut = _cut(bars, where)
    out = perturb_quotes(bars, cut, np.random.default_rng(seed))
    past, future = (bars["ts"] <= cut).to_numpy(), (bars["ts"] > cut).to_numpy()
    pd.testing.assert_frame_equal(out[past], bars[past])
    assert out.dtypes.equals(bars.dtypes) and (bar_problems(out) == "").all()
    before = bars[QUOTES].notna().all(axis=1).to_numpy()
    now = out[QUOTES].notna().all(axis=1).to_numpy()
    assert (out[QUOTES].notna().all(axis=1) | out[QUOTES].isna().all(axis=1) | ~future).all()
    kept = future & (before == now)
    pd.testing.assert_frame_equal(out[kept], bars[kept])
    others = [c for c in bars.columns if c not in QUOTES]
    pd.testing.assert_frame_equal(out[others], bars[others])
    if (future & before).sum() > 40:
        assert (future & before & ~now).any()
    if (future & ~before).sum() > 40:
        assert (future & ~before & now).any()


def test_half_present_quotes_are_filled_whole_and_stay_uncrossed() -> None:
    bars = _bars()
    bars.loc[bars.index % 3 == 0, "ask"] = np.nan  # a bid without an ask
    bars.loc[bars.index % 3 == 1, "bid"] = bars["ask"] * 1.5  # would cross any ask filled near the close
    bars.loc[bars.index % 3 == 1, "ask"] = np.nan
    out = perturb_quotes(bars, _cut(bars, 0.2), np.random.default_rng(0))
    assert (bar_problems(out) == "").all()
    changed = (out["ask"].notna() & bars["ask"].isna()).to_numpy()
    assert changed.any() and (out.loc[changed, "bid"] < out.loc[changed, "ask"]).all()


@settings(max_examples=25, deadline=None)
@given(where=st.floats(0.0, 0.95), seed=st.integers(0, 2**32 - 1))
def test_context_changes_only_rows_published_after_the_cut(where: float, seed: int) -> None:
    bars = _bars()
    vix = _vix(bars)
    cut = _cut(bars, where)
    out = perturb_context(vix, cut, np.random.default_rng(seed), until=bars["ts"].max(), name="vix")
    known = vix[vix["available_at"] <= cut]
    pd.testing.assert_frame_equal(out[out["available_at"] <= cut], known.reset_index(drop=True))
    later = out[out["available_at"] > cut]
    assert later["available_at"].max() <= max(bars["ts"].max(), vix["available_at"].max())
    assert out["available_at"].is_monotonic_increasing and out.dtypes.equals(vix.dtypes)
    assert (out["vix"] > 0).all()
    original_later = vix[vix["available_at"] > cut]
    assert not later.merge(original_later, how="inner").shape[0]  # no later row is left as it was
    assert len(later) > 0


@settings(max_examples=25, deadline=None)
@given(where=st.floats(0.0, 0.95), seed=st.integers(0, 2**32 - 1))
def test_corporate_actions_change_only_after_the_cut_session(where: float, seed: int) -> None:
    bars = _bars()
    actions = HISTORY[2]
    cut = _cut(bars, where)
    out = perturb_corporate_actions(actions, cut, np.random.default_rng(seed), bars)
    today = cut.tz_convert(EXCHANGE_TZ).date()
    effective = np.array([pd.Timestamp(d).date() <= today for d in out["ex_date"]], dtype=bool)
    known = np.array([pd.Timestamp(d).date() <= today for d in actions["ex_date"]], dtype=bool)
    pd.testing.assert_frame_equal(out[effective].reset_index(drop=True), actions[known].reset_index(drop=True))
    assert out.dtypes.equals(actions.dtypes)
    assert (out["split_ratio"] > 0).all() and (out["cash_dividend"] >= 0).all()
    last_close = bars[bars["ts"] <= cut].groupby("ticker")["close"].last()
    later = out[~effective]
    assert (later["cash_dividend"] < np.array([last_close.get(t, np.inf) for t in later["ticker"]])).all()
    assert (later["ticker"].isin(bars["ticker"])).all()
    assert all(isinstance(d, dt.date) for d in out["ex_date"])


def test_the_catalog_reads_every_perturbed_channel_without_error() -> None:
    from workbench.features import FeatureSpec, compute

    bars, tickers, actions = HISTORY
    vix = _vix(bars)
    def catalog(b: pd.DataFrame, vix: pd.DataFrame, corporate_actions: pd.DataFrame) -> pd.DataFrame:
        return compute(b, FeatureSpec.default(), universe=tickers, corporate_actions=corporate_actions,
                       context={"vix": vix})

    report = check_causality(catalog, bars, n_cuts=4, context={"vix": vix}, corporate_actions=actions)
    assert report.ok and report.channels == ("values", "bars", "quotes", "context", "corporate_actions")


def test_bad_context_and_actions_are_refused() -> None:
    bars = _bars()
    vix = _vix(bars)
    cut = _cut(bars, 0.5)
    rng = np.random.default_rng(0)
    with pytest.raises(DataValidationError, match=r"table 'vix' is missing required column\(s\) \['available_at'\]"):
        perturb_context(vix.drop(columns="available_at"), cut, rng, until=cut, name="vix")
    with pytest.raises(DataValidationError, match="'available_at' must hold tz-aware"):
        perturb_context(vix.assign(available_at=vix["available_at"].dt.tz_localize(None)), cut, rng, until=cut,
                        name="vix")
    with pytest.raises(DataValidationError, match=r"corporate_actions is missing required column\(s\) \['split_"):
        perturb_corporate_actions(HISTORY[2].drop(columns="split_ratio"), cut, rng, bars)
    with pytest.raises(DataValidationError, match="clash with fn's own arguments"):
        check_causality(lambda b, **kw: b[["close"]], bars, context={"corporate_actions": HISTORY[2]})
    with pytest.raises(DataValidationError, match="context must map keyword names"):
        check_causality(lambda b, **kw: b[["close"]], bars, context=[vix])  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match="no timezone"):
        perturb_quotes(bars, "2024-11-26 15:00", rng)
