"""triple_barrier against a slow event-by-event loop, each tie rule spelled out, causality and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.labels._data import random_close
from tests.labels._reference import slow_triple_barrier
from workbench.errors import DataValidationError
from workbench.labels import BARRIERS, ewm_volatility, triple_barrier

multiplier = st.one_of(st.sampled_from([0.0, 0.5, 1.0, 2.0]), st.floats(0.0, 3.0))


def assert_same_labels(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Exact equality of every label column (want is the slow loop's frame with a t0 column)."""
    assert list(got.index) == list(want["t0"])
    assert list(got["t1"]) == list(want["t1"])
    assert got["ret"].tolist() == want["ret"].tolist()
    assert got["barrier"].astype(str).tolist() == want["barrier"].tolist()
    assert got["bin"].tolist() == want["bin"].tolist()
    assert got["y"].tolist() == want["y"].tolist()
    assert got["target"].tolist() == want["target"].tolist()


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 60),
    pt=multiplier,
    sl=multiplier,
    vertical_bars=st.integers(1, 25),
    min_ret=st.sampled_from([0.0, 0.004, 0.01]),
    with_side=st.booleans(),
    tick=st.booleans(),
    event_share=st.floats(0.1, 1.0),
)
def test_matches_slow_loop(seed, n, pt, sl, vertical_bars, min_ret, with_side, tick, event_share):
    close = random_close(seed, n, vol=0.002 if tick else 0.01, tick=tick)
    rng = np.random.default_rng(seed + 1)
    target = pd.Series(rng.uniform(0.0, 0.03, n), index=close.index)
    target[rng.random(n) < 0.1] = np.nan
    events = close.index[rng.random(n) < event_share]
    side = pd.Series(rng.choice([-1, 1], n), index=close.index) if with_side else None
    got = triple_barrier(close, events, target, (pt, sl), vertical_bars=vertical_bars, min_ret=min_ret, side=side)
    want = slow_triple_barrier(close, events, target, pt, sl, vertical_bars, min_ret, side)
    assert_same_labels(got, want)
    assert set(got["barrier"].cat.categories) == set(BARRIERS)
    if with_side:
        assert set(got["bin"]) <= {0, 1}
    assert (got["y"] == (got["barrier"] == "pt")).all()


def _flat(values: list[float]) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2024-11-25 14:31", periods=len(values), freq="min", tz="UTC"))


def test_touch_exactly_at_the_barrier_is_not_a_touch():
    c0, tg = 100.0, 0.01
    upper, lower = c0 * (1 + 1.0 * tg), c0 * (1 - 1.0 * tg)
    close = _flat([c0, upper, lower, upper, c0])
    out = triple_barrier(close, close.index[:1], tg, (1.0, 1.0), vertical_bars=4)
    assert out["barrier"].iat[0] == "vertical"
    assert out["t1"].iat[0] == close.index[4]
    assert (out["ret"].iat[0], out["bin"].iat[0], out["y"].iat[0]) == (0.0, 0, 0)
    beyond = _flat([c0, upper, np.nextafter(upper, np.inf), c0])
    out = triple_barrier(beyond, beyond.index[:1], tg, (1.0, 1.0), vertical_bars=3)
    assert (out["barrier"].iat[0], out["t1"].iat[0], out["y"].iat[0]) == ("pt", beyond.index[2], 1)


def test_horizontal_touch_on_the_vertical_bar_wins():
    close = _flat([100.0, 100.3, 99.0])
    out = triple_barrier(close, close.index[:1], 0.005, vertical_bars=2)
    assert out["barrier"].iat[0] == "sl"
    assert out["t1"].iat[0] == close.index[2]
    assert (out["bin"].iat[0], out["y"].iat[0]) == (-1, 0)
    up = triple_barrier(_flat([100.0, 100.0, 101.0]), close.index[:1], 0.005, vertical_bars=2)
    assert (up["barrier"].iat[0], up["bin"].iat[0], up["y"].iat[0]) == ("pt", 1, 1)


def test_unfinished_window_is_dropped_unless_touched():
    close = _flat([100.0, 100.1, 100.2, 102.0, 101.5, 101.6])
    out = triple_barrier(close, close.index, 0.01, vertical_bars=3)
    # bars 0..2 touch pt at bar 3; bars 3..5 touch nothing and their vertical bar lies past the data
    assert list(out.index) == list(close.index[:3])
    assert list(out["barrier"]) == ["pt", "pt", "pt"]
    touched = triple_barrier(_flat([100.0, 100.1, 98.0]), close.index[:1], 0.01, vertical_bars=5)
    assert (touched["barrier"].tolist(), touched["t1"].tolist()) == (["sl"], [close.index[2]])


def test_vertical_label_is_the_sign_of_its_return():
    close = _flat([100.0, 100.2, 99.7, 100.3])
    out = triple_barrier(close, close.index[:3], 0.05, vertical_bars=1)
    assert out["barrier"].astype(str).tolist() == ["vertical"] * 3
    assert out["bin"].tolist() == [1, -1, 1]
    assert out["y"].tolist() == [0, 0, 0]


def test_zero_multiplier_disables_a_barrier():
    close = _flat([100.0, 120.0, 80.0, 100.0])
    only_sl = triple_barrier(close, close.index[:1], 0.01, (0.0, 1.0), vertical_bars=3)
    assert (only_sl["barrier"].iat[0], only_sl["t1"].iat[0]) == ("sl", close.index[2])
    only_pt = triple_barrier(_flat([100.0, 80.0, 120.0, 100.0]), close.index[:1], 0.01, (1.0, 0.0), vertical_bars=3)
    assert (only_pt["barrier"].iat[0], only_pt["t1"].iat[0]) == ("pt", close.index[2])
    neither = triple_barrier(close, close.index[:1], 0.01, (0.0, 0.0), vertical_bars=3)
    assert (neither["barrier"].iat[0], neither["t1"].iat[0]) == ("vertical", close.index[3])


def test_side_puts_profit_taking_in_the_bets_direction():
    close = _flat([100.0, 100.5, 98.0, 100.0])
    short = pd.Series(-1, index=close.index)
    out = triple_barrier(close, close.index[:1], 0.01, (1.0, 3.0), vertical_bars=3, side=short)
    assert (out["barrier"].iat[0], out["y"].iat[0], out["bin"].iat[0]) == ("pt", 1, 1)
    assert out["ret"].iat[0] == pytest.approx(0.02)
    stopped = triple_barrier(_flat([100.0, 102.0]), close.index[:1], 0.01, vertical_bars=1, side=short)
    assert (stopped["barrier"].iat[0], stopped["y"].iat[0], stopped["bin"].iat[0]) == ("sl", 0, 0)
    assert stopped["ret"].iat[0] == pytest.approx(-0.02)


def test_min_ret_and_missing_target_drop_events():
    close = _flat([100.0, 101.0, 102.0, 103.0])
    target = pd.Series([0.001, np.nan, 0.02, 0.02], index=close.index)
    out = triple_barrier(close, close.index, target, vertical_bars=1, min_ret=0.005)
    assert list(out.index) == [close.index[2]]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(5, 50), vertical_bars=st.integers(1, 10), data=st.data())
def test_label_reads_only_closes_from_t0_to_t1(seed, n, vertical_bars, data):
    close = random_close(seed, n)
    target = pd.Series(0.01, index=close.index)
    base = triple_barrier(close, close.index, target, vertical_bars=vertical_bars)
    if base.empty:
        return
    t0 = data.draw(st.sampled_from(list(base.index)))
    i, j = close.index.get_loc(t0), close.index.get_loc(base.at[t0, "t1"])
    rng = np.random.default_rng(seed + 7)
    shaken = close.copy()
    shaken.iloc[j + 1 :] *= rng.uniform(0.5, 1.5, n - j - 1)  # strictly after t1
    shaken.iloc[:i] *= rng.uniform(0.5, 1.5, i)  # strictly before t0
    again = triple_barrier(shaken, [t0], target, vertical_bars=vertical_bars)
    pd.testing.assert_frame_equal(again, base.loc[[t0]])


def test_label_changes_with_the_future():
    close = _flat([100.0, 100.1, 100.2, 100.1])
    before = triple_barrier(close, close.index[:1], 0.01, vertical_bars=3)
    close.iloc[2] = 102.0
    after = triple_barrier(close, close.index[:1], 0.01, vertical_bars=3)
    assert (before["barrier"].iat[0], after["barrier"].iat[0]) == ("vertical", "pt")


def test_ewm_target_end_to_end():
    close = random_close(3, 300)
    target = ewm_volatility(close, span=20)
    out = triple_barrier(close, close.index, target, vertical_bars=10)
    want = slow_triple_barrier(close, close.index, target, 1.0, 1.0, 10, 0.0, None)
    assert_same_labels(out, want)
    assert len(out) > 250


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"vertical_bars": 0}, ValueError, "vertical_bars"),
        ({"vertical_bars": 2.5}, ValueError, "vertical_bars"),
        ({"pt_sl": (1.0, -1.0)}, ValueError, "stop-loss"),
        ({"pt_sl": (np.nan, 1.0)}, ValueError, "profit-taking"),
        ({"pt_sl": (1.0,)}, ValueError, "pair"),
        ({"min_ret": -0.1}, ValueError, "min_ret"),
        ({"target": np.inf}, DataValidationError, "infinite"),
        ({"target": "wide"}, TypeError, "target"),
        ({"t_events": pd.DatetimeIndex(["2030-01-01"], tz="UTC")}, DataValidationError, "not a bar time"),
        ({"side": pd.Series(0, index=_flat([1.0] * 5).index)}, DataValidationError, "side must be"),
    ],
)
def test_bad_parameters(kwargs, error, match):
    close = _flat([100.0, 101.0, 99.0, 100.0, 100.5])
    call = {"t_events": close.index[:2], "target": 0.01, "vertical_bars": 2, **kwargs}
    with pytest.raises(error, match=match):
        triple_barrier(close, call.pop("t_events"), call.pop("target"), **call)


def test_bad_data():
    close = _flat([100.0, 101.0, 99.0, 100.0])
    with pytest.raises(DataValidationError, match="strictly increasing"):
        triple_barrier(close.iloc[[0, 2, 1, 3]], close.index, 0.01, vertical_bars=1)
    with pytest.raises(DataValidationError, match="repeats"):
        triple_barrier(close.iloc[[0, 1, 1, 2]], close.index[:1], 0.01, vertical_bars=1)
    with pytest.raises(DataValidationError, match="nan"):
        triple_barrier(close.replace(99.0, np.nan), close.index, 0.01, vertical_bars=1)
    with pytest.raises(DataValidationError, match="DatetimeIndex"):
        triple_barrier(close.reset_index(drop=True), [0], 0.01, vertical_bars=1)
    with pytest.raises(DataValidationError, match="repeats"):
        triple_barrier(close, close.index[[0, 0]], 0.01, vertical_bars=1)
    with pytest.raises(DataValidationError, match="no value for event"):
        triple_barrier(close, close.index, pd.Series(0.01, index=close.index[:2]), vertical_bars=1)
