"""triple_barrier_panel: per-ticker single-series calls, session clipping vs a slow loop, the lake fixture."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.labels._data import random_panel
from tests.labels._reference import slow_panel_clipped
from workbench.data import EXCHANGE_TZ
from workbench.errors import DataValidationError
from workbench.labels import average_uniqueness, average_uniqueness_panel, ewm_volatility, triple_barrier
from workbench.labels import triple_barrier_panel as panel

multiplier = st.sampled_from([0.0, 0.5, 1.0, 2.0])
LABEL_COLUMNS = ["t1", "ret", "barrier", "bin", "y"]


def _draw(seed: int, n_tickers: int, event_share: float, with_side: bool):
    bars = random_panel(seed, n_tickers)
    rng = np.random.default_rng(seed + 3)
    events = rng.random(len(bars)) < event_share
    side = rng.choice([-1.0, 1.0], len(bars)) if with_side else None
    return bars, events, side


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_tickers=st.integers(1, 4),
    pt=multiplier,
    sl=multiplier,
    vertical_bars=st.integers(1, 12),
    min_ret=st.sampled_from([0.0, 0.002]),
    span=st.sampled_from([2, 5, 30]),
    event_share=st.floats(0.2, 1.0),
    with_side=st.booleans(),
)
def test_unclipped_panel_equals_per_ticker_calls(seed, n_tickers, pt, sl, vertical_bars, min_ret, span, event_share,
                                                 with_side):
    bars, events, side = _draw(seed, n_tickers, event_share, with_side)
    out = panel(bars, pt_sl=(pt, sl), vertical_bars=vertical_bars, min_ret=min_ret, span=span, events=events,
                side=side, clip_to_session=False)
    assert out.index.equals(bars.index)
    for _, block in bars.groupby("ticker"):
        close = pd.Series(block["close"].to_numpy(), index=pd.DatetimeIndex(block["ts"]))
        target = ewm_volatility(close, span)
        mask = events[block.index]
        side_series = None if side is None else pd.Series(side[block.index], index=close.index)
        want = triple_barrier(close, close.index[mask], target, (pt, sl), vertical_bars=vertical_bars,
                              min_ret=min_ret, side=side_series)
        got = out.loc[block.index]
        np.testing.assert_array_equal(got["target"].to_numpy(), target.to_numpy())
        labelled = got[got["y"].notna()]
        assert list(block.loc[labelled.index, "ts"]) == list(want.index)
        assert list(labelled["t1"]) == list(want["t1"])
        assert labelled["ret"].tolist() == want["ret"].tolist()
        assert labelled["barrier"].astype(str).tolist() == want["barrier"].astype(str).tolist()
        assert labelled["bin"].astype(int).tolist() == want["bin"].tolist()
        assert labelled["y"].astype(int).tolist() == want["y"].tolist()
    unlabelled = out[out["y"].isna()]
    assert unlabelled[["t1", "ret", "barrier", "bin"]].isna().all().all()


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_tickers=st.integers(1, 4),
    pt=multiplier,
    sl=multiplier,
    vertical_bars=st.integers(1, 12),
    min_ret=st.sampled_from([0.0, 0.002]),
    event_share=st.floats(0.2, 1.0),
    with_side=st.booleans(),
)
def test_clipped_panel_matches_slow_session_loop(seed, n_tickers, pt, sl, vertical_bars, min_ret, event_share,
                                                 with_side):
    bars, events, side = _draw(seed, n_tickers, event_share, with_side)
    out = panel(bars, pt_sl=(pt, sl), vertical_bars=vertical_bars, min_ret=min_ret, span=5, events=events,
                side=side)
    want = slow_panel_clipped(bars, events, pt, sl, vertical_bars, min_ret, 5, side)
    got = out[out["y"].notna()]
    assert got.index.tolist() == want["row"].tolist()
    assert list(got["t1"]) == list(want["t1"])
    assert got["ret"].tolist() == want["ret"].tolist()
    assert got["barrier"].astype(str).tolist() == want["barrier"].tolist()
    assert got["bin"].astype(int).tolist() == want["bin"].tolist()
    assert got["y"].astype(int).tolist() == want["y"].tolist()


def test_session_cap_labels_from_the_last_bar_and_never_holds_overnight():
    bars = random_panel(5, 1, n_sessions=2)
    bars = bars[bars["ts"] < bars["ts"].iloc[-1]]  # keep the first session whole, cut the second short
    out = panel(bars, pt_sl=(0.0, 0.0), vertical_bars=1000, span=2)
    day = pd.DatetimeIndex(bars["ts"]).tz_convert(EXCHANGE_TZ).date
    first = day == day[0]
    labelled = out["y"].notna().to_numpy()
    # first session: every bar but its last is labelled from the session's last bar; the cut one: nothing
    assert labelled[first][2:-1].all() and not labelled[first][-1] and not labelled[~first].any()
    assert (out.loc[labelled, "t1"] == bars.loc[first, "ts"].iloc[-1]).all()
    assert (out.loc[labelled, "barrier"] == "vertical").all()
    unclipped = panel(bars, pt_sl=(0.0, 0.0), vertical_bars=1000, span=2, clip_to_session=False)
    assert unclipped["y"].isna().all()  # no vertical bar inside the data: nothing is finished


def test_uniqueness_panel_equals_per_ticker_uniqueness():
    bars = random_panel(9, 3)
    out = panel(bars, vertical_bars=6, span=5)
    weights = average_uniqueness_panel(bars, out)
    assert weights.index.equals(bars.index)
    assert weights.isna().equals(out["t1"].isna())
    for _, block in bars.groupby("ticker"):
        labels = out.loc[block.index]
        want = average_uniqueness(pd.DatetimeIndex(block["ts"]), labels["t1"], pd.DatetimeIndex(block["ts"]))
        np.testing.assert_allclose(weights.loc[block.index].to_numpy(), want.to_numpy(), rtol=1e-12)


def test_market_fixture_all_tickers(market):
    bars = market.bars(columns=["close"])
    out = panel(bars, vertical_bars=15)
    assert out.index.equals(bars.index)
    labelled = out["y"].notna()
    assert labelled.mean() > 0.9
    t0 = bars.loc[labelled, "ts"]
    t1 = out.loc[labelled, "t1"]
    assert (t1 > t0).all()
    same_day = pd.DatetimeIndex(t0).tz_convert(EXCHANGE_TZ).date == pd.DatetimeIndex(t1).tz_convert(EXCHANGE_TZ).date
    assert same_day.all()
    assert set(out["barrier"].dropna().unique()) == {"pt", "sl", "vertical"}
    assert 0.2 < out.loc[labelled, "y"].astype(float).mean() < 0.8
    weights = average_uniqueness_panel(bars, out)
    assert ((weights[labelled] > 0) & (weights[labelled] <= 1)).all()


def _bars() -> pd.DataFrame:
    return random_panel(2, 2)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda b: b.drop(columns="close"), "missing required column"),
        (lambda b: b.iloc[::-1].reset_index(drop=True), "sorted by"),
        (lambda b: b.sort_values(["ts", "ticker"]).reset_index(drop=True), "sorted by"),
        (lambda b: pd.concat([b[b.ticker == "T01"], b[b.ticker == "T00"]], ignore_index=True), "comes after"),
        (lambda b: pd.concat([b.iloc[:3], b.iloc[2:]], ignore_index=True), "repeats"),
        (lambda b: b.assign(close=b["close"].where(b.index != 4)), "nan"),
        (lambda b: b.assign(close=-b["close"]), "> 0"),
        (lambda b: b.assign(ts=b["ts"].dt.tz_localize(None)), "tz-aware"),
        (lambda b: b.assign(ts=b["ts"] + pd.Timedelta(hours=3)), "outside every NYSE"),
        (lambda b: pd.concat([b, b.iloc[:1]]), "duplicated index"),
    ],
)
def test_bad_bars(mutate, match):
    with pytest.raises(DataValidationError, match=match):
        panel(mutate(_bars()), vertical_bars=3)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"vertical_bars": 0}, ValueError, "vertical_bars"),
        ({"span": 1}, ValueError, "span"),
        ({"pt_sl": (-1.0, 1.0)}, ValueError, "profit-taking"),
        ({"min_ret": np.nan}, ValueError, "min_ret"),
        ({"events": np.ones(3, dtype=bool)}, ValueError, "events"),
        ({"events": "all"}, ValueError, "events"),
        ({"side": np.zeros(3)}, ValueError, "side"),
        ({"side": "zeros"}, DataValidationError, "side must be"),
        ({"clip_to_session": "yes"}, ValueError, "clip_to_session"),
    ],
)
def test_bad_parameters(kwargs, error, match):
    bars = _bars()
    if isinstance(kwargs.get("side"), str):
        kwargs = {"side": np.zeros(len(bars))}
    with pytest.raises(error, match=match):
        panel(bars, **{"vertical_bars": 3, **kwargs})


def test_empty_bars():
    bars = _bars().iloc[:0]
    out = panel(bars, vertical_bars=3)
    assert out.empty and list(out.columns) == [*LABEL_COLUMNS, "target", "entry_ts"]
